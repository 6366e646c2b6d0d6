/* AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization"), measured on the
 * calibration data.
 *
 * Nearest rounding minimizes each weight's own error, not the layer's output error: rounding errors of weights
 * that read correlated inputs add up. For every quantized Conv / Gemm / MatMul whose weight is a float
 * initializer read by that node only, AdaRound chooses per weight element the code floor(w/s) or floor(w/s) + 1
 * (clamped to the codes the writer can produce) that minimizes the layer's output reconstruction error
 * ||(W~ - W) X||^2 over the FP32 model's inputs X of that layer on the calibration data. The relaxation of the
 * paper: W~ = s (floor(w/s) + h(V)) with h(V) = clip(1.2 sigmoid(V) - 0.1, 0, 1), h initialized to frac(w/s),
 * loss = reconstruction + lambda sum(1 - |2h - 1|^beta) (see lambda below for its scale), beta annealed 20 -> 2 after a warm-up without the
 * regularizer, Adam on V; then hard rounding (h >= 0.5: up). A layer keeps nearest rounding unless the hard
 * rounding's reconstruction error on the same data is strictly lower: AdaRound never makes a layer worse on its
 * calibration data.
 *
 * The chosen codes q are written back into g as float weights w' = q * s, so the unchanged QDQ writer (nearest
 * rounding, the same scale) produces exactly q. The scales s and the nearest codes are read from the QDQ writer
 * itself (oq_qdq_apply on a copy of g with the same plan and options: abs_max or per-channel, int8/int16, pow2,
 * table overrides and the int32-bias scale raise all apply). The element that sets a channel's (or the tensor's)
 * abs max keeps its float value and code, and every element given that code is written as that same value, so
 * the abs max, hence the scale, is unchanged (tests/unit/test_adaround.c checks scales and codes).
 *
 * The data enters as the Gram matrix H = sum X X^T per group (K x K, K = Cin/group * kernel taps for Conv, the
 * input's last dim for Gemm/MatMul), accumulated in double over every im2col column / input row of every batch:
 * the loss is sum_r dW_r H dW_r^T, exact over all the calibration data, with memory O(K^2) per layer and per
 * group (never O(activations)), and one GEMM (rows x K x K) per Adam step. Nothing is sampled, so the result is
 * deterministic (the same with any thread count). Gram matrices of several layers are accumulated in the same
 * pass over the data up to max_gram_bytes; more layers take more passes.
 *
 * Known limits: ConvTranspose and 3-D convs are left alone; a later change of a bias that makes the writer raise
 * a weight scale for the int32 bias (ORT's rule; only for huge biases) would move the scale under the chosen
 * codes. Bias correction (quant/bias_correct.h) run after AdaRound on the same graph measures the AdaRound weights. */
#ifndef ONNXQ_QUANT_ADAROUND_H
#define ONNXQ_QUANT_ADAROUND_H

#include <stdint.h>

#include "data/source.h"
#include "exec/model.h"
#include "quant/plan.h"
#include "quant/qdq.h"

struct oq_adaround_options {
    int iters;              /* Adam steps per layer; <= 0: 500 */
    float lr;               /* Adam learning rate on V; <= 0: 1e-2 */
    float lambda;           /* rounding regularizer weight per element, against the reconstruction term normalized
                               so that nearest rounding costs 1 per weight element; < 0: 10. The paper's 0.01 is
                               for its unnormalized loss; in these units 0.01-0.1 leaves h soft after 500 steps
                               (hard rounding then gains little or loses), 3-100 binarizes and gains the most
                               (tests/unit/test_adaround.c: 38-68% lower layer error at 10) */
    float warmup;           /* fraction of the steps without the regularizer; < 0: 0.2 */
    int threads;            /* worker threads (also for the FP32 passes); <= 0: all CPUs */
    int64_t max_k;          /* layers with more inputs per output (per group) are left alone; <= 0: 4096 */
    int64_t max_gram_bytes; /* Gram matrix bytes per pass over the data; <= 0: 512 MiB */
};

struct oq_adaround_stats {
    int rounded;            /* layers whose weights now carry AdaRound's codes */
    int kept_nearest;       /* layers optimized whose AdaRound error was not lower: nearest rounding kept */
    int skipped_shared;     /* weight initializer read by several nodes */
    int skipped_not_init;   /* weight computed at run time (not a float initializer) */
    int skipped_unsupported;/* shape, attributes or weight form not handled (3-D conv, batched B, ...) */
    int skipped_too_large;  /* K above max_k */
    int no_input;           /* the layer did not run on the calibration data */
    int passes;             /* passes over the calibration data */
    int64_t batches;        /* batches per pass */
    double mean_rel_reduction; /* mean over optimized layers of 1 - E_adaround / E_nearest (0 for kept layers) */
    double max_rel_reduction;
    char max_layer[256];    /* the layer with the largest reduction */
    double seconds, collect_seconds; /* total; of which FP32 passes and Gram accumulation */
};

struct oq_adaround_options oq_adaround_options_default(void);

/* g: a copy of fp's graph (oq_graph_clone with its initializers), aligned with plan (node i of g is node i of
 * fp's graph); the weights of rounded layers are rewritten in place. qo: the options the QDQ writer will be
 * called with (NULL: defaults). src is rewound and read to the end once per pass; zero batches is an error.
 * o may be NULL (defaults); st may be NULL. */
oq_status oq_adaround(const oq_model *fp, struct oq_graph *g, const struct oq_quant_plan *plan,
                      const struct oq_qdq_options *qo, struct oq_data_source *src,
                      const struct oq_adaround_options *o, struct oq_adaround_stats *st, oq_error *err);

#endif
