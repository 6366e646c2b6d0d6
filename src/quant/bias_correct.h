/* Empirical bias correction (issue 8; NNCF's FastBiasCorrection, measured on calibration data).
 *
 * Quantizing a layer's weights and input shifts the mean of its output: rounding errors do not average to zero
 * per output channel (a depthwise 3x3 filter has 9 weights). For every quantized Conv and Gemm
 * with a float bias, the mean per output channel of FP32 output - QDQ output over the calibration batches is
 * added to the bias, which the QDQ writer then quantizes to int32 as usual. Means are linear, so the two models
 * run one after the other and only per-channel sums are kept: memory is O(channels), not O(activations).
 *
 * All layers are measured in one pass of both models. A layer's output error also carries the error of its input
 * (the layers before it), which their own corrections remove: correcting it again here would count it twice
 * and, over a deep network, blow up (rec: character accuracy 0.95 -> 0). So the input's part, W times the
 * difference of the input's per-channel means in the two models before the Q/DQ in front of the layer (linear;
 * zero padding ignored), is taken out: each bias absorbs its own weights' rounding and its input's Q/DQ
 * rounding, nothing upstream. Conv and Gemm (transA = 0); ConvTranspose is left alone. */
#ifndef ONNXQ_QUANT_BIAS_CORRECT_H
#define ONNXQ_QUANT_BIAS_CORRECT_H

#include "data/source.h"
#include "exec/model.h"
#include "quant/plan.h"
#include "quant/qdq.h"

struct oq_bias_correct_stats {
    int corrected;       /* layers whose bias moved */
    int no_bias;         /* quantized layers without a float bias initializer: left alone */
    int shared_bias;     /* bias initializers read by several nodes: left alone */
    int no_input;        /* layers whose input was not seen in both models: left alone */
    int64_t batches;     /* batches measured */
    double max_rel_shift; /* largest |shift| / (max |bias| of its layer, or 1 if the bias is all zero) */
    char max_layer[256]; /* the layer with that shift */
};

/* g: a copy of fp's graph (oq_graph_clone), aligned with plan; its biases are corrected in place. src is rewound
 * and read to the end; zero batches is an error. threads as oq_session_options.num_threads. */
oq_status oq_bias_correct(const oq_model *fp, struct oq_graph *g, const struct oq_quant_plan *plan,
                          const struct oq_qdq_options *qo, struct oq_data_source *src, int threads,
                          struct oq_bias_correct_stats *stats, oq_error *err);

#endif
