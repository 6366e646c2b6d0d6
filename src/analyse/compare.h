/* Per-layer comparison of an FP32 model and its quantized (QDQ) version on the same inputs (`onnxq compare`).
 *
 *   struct oq_compare *c;
 *   oq_compare_create(fp32, quant, threads, &c, &err);
 *   while (next batch) oq_compare_feed(c, n_inputs, inputs, &err);
 *   for (int i = 0; i < oq_compare_num_layers(c); i++) { struct oq_compare_layer L; oq_compare_layer_at(c, i, &L); }
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

/* The API itself is public (include/onnxq/onnxq_analyse.h: struct oq_compare_layer, oq_compare_create/feed/
 * layer): the Python package calls it too. */
#include "exec/model.h"
#include "onnxq/onnxq_analyse.h"

#endif
