/* Per-layer comparison of an FP32 model and its quantized (QDQ) version on the same inputs (`onnxq compare`).
 *
 *   struct oq_compare *c;
 *   oq_compare_create(fp32, quant, threads, &c, &err);
 *   while (next batch) oq_compare_feed(c, n_inputs, inputs, &err);
 *   for (int i = 0; i < oq_compare_num_layers(c); i++) { struct oq_compare_layer L; oq_compare_layer(c, i, &L); }
 *   oq_compare_free(c);
 *
 * Both models run without execution fusions (every tensor named in the files is seen). Tensors are matched by
 * name: an FP32 tensor T is compared with what the next layer of the quantized model reads, T's
 * QuantizeLinear -> DequantizeLinear output (ONNX Runtime's naming, which the QDQ writer follows:
 * T_DequantizeLinear_Output), or with T itself when the quantized model leaves it in float. Sums are
 * accumulated over every element of every batch in double:
 *   cosine   = sum(a b) / sqrt(sum(a^2) sum(b^2))                 (1 when both are all zero)
 *   SQNR dB  = 10 log10(sum(a^2) / sum((a - b)^2))                (+inf when identical)
 *   rel L2   = sqrt(sum((a - b)^2) / sum(a^2))
 *   max abs  = max |a - b|
 *   clipped  = share of FP32 values outside the quantizer's range [(qmin - zp) s, (qmax - zp) s] (the values
 *              the QuantizeLinear saturates), for tensors with a QuantizeLinear
 * with a = FP32 value and b = quantized model value. Memory: one batch of the matched FP32 tensors.
 * With split, the same SQNR is also measured for two models derived from the quantized one: weights only (every
 * activation QuantizeLinear -> DequantizeLinear removed) and activations only (every dequantized weight replaced
 * by its FP32 value, found by name in the FP32 model), so that each layer's error is attributed to its source. */
#ifndef ONNXQ_ANALYSE_COMPARE_H
#define ONNXQ_ANALYSE_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "exec/model.h"

struct oq_compare;

enum { OQ_COMPARE_BINS = 64 };

struct oq_compare_layer {
    const char *tensor;       /* FP32 tensor name */
    const char *node, *op;    /* its producer in the FP32 model */
    const char *quant_tensor; /* the tensor of the quantized model it is compared with */
    bool quantized;           /* quant_tensor is a DequantizeLinear output (a QuantizeLinear precedes it) */
    bool left_float;          /* a Conv/ConvTranspose/Gemm/MatMul that the quantized model runs in float (none of
                                 its inputs comes from a DequantizeLinear): skipped, e.g. by `onnxq tune` */
    int64_t count;            /* elements compared */
    double cosine, sqnr_db, rel_l2, max_abs, clipped; /* clipped: share in [0, 1], 0 without a quantizer */
    float q_lo, q_hi;         /* the quantizer's range (quantized only) */
    bool split;               /* the two figures below were measured */
    double sqnr_weights_db;   /* SQNR with only the weights quantized (activation Q/DQ removed), NaN if unmatched */
    double sqnr_acts_db;      /* SQNR with only the activations quantized (FP32 weights), NaN if unmatched */
    /* quantized layers: histogram of the FP32 values in OQ_COMPARE_BINS bins over [hist_lo, hist_hi] (the
     * quantizer's range widened by half of it on each side; values beyond go to the end bins); else NULL */
    const int64_t *hist;
    float hist_lo, hist_hi;
};

/* split: also run the quantized model's two halves (weights only, activations only) to split each layer's
 * error by its source. */
oq_status oq_compare_create(const struct oq_model *fp32, const struct oq_model *quant, int threads, bool split,
                            struct oq_compare **out, oq_error *err);
void oq_compare_free(struct oq_compare *c);
/* Run both models on one batch and accumulate. Shapes of matched tensors must agree (else an error names
 * the tensor). */
oq_status oq_compare_feed(struct oq_compare *c, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
int64_t oq_compare_batches(const struct oq_compare *c);
/* Matched tensors that were compared (count > 0), in the FP32 model's execution order. */
int oq_compare_num_layers(const struct oq_compare *c);
void oq_compare_layer(const struct oq_compare *c, int i, struct oq_compare_layer *out);

#endif
