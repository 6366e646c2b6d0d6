/* Which tensors of a quantized node get Q/DQ: the one table of op rules, after ONNX Runtime's QDQ registry
 * (onnxruntime/quantization/registry.py QDQRegistry + the QLinearOps op types its quantize_static
 * quantizes by default, which fall back to QDQOperatorBase).
 *
 *   kind        op types                               tensors given Q/DQ (when plan->act has parameters)
 *   ----------  -------------------------------------  ---------------------------------------------------
 *   WEIGHTED    Conv, ConvTranspose, Gemm, MatMul      input 0 (activation); weight = input 1 (MatMul: any
 *                                                      initializer input) as int8/int16 symmetric, per
 *                                                      channel when configured; bias input as int32 with
 *                                                      scale s_in * s_w; output 0 own
 *   GENERIC     Add, ArgMax, Concat, GlobalAveragePool, every float input and output, each with its own
 *               HardSigmoid, HardSwish, LeakyRelu,     parameters (float initializer inputs are stored
 *               Mul, Sigmoid, Softmax                  quantized with the activation type, min/max range);
 *                                                      Softmax's output gets QLinearSoftmax's fixed 1/256
 *   SHARE       AveragePool, Flatten, MaxPool (>=12),  nothing on the input; when input 0 is already
 *               Reshape, Resize (>=11), Slice,         quantized (by its producer or an earlier consumer),
 *               Squeeze, Transpose, Unsqueeze          output 0 gets a Q/DQ with input 0's scale/zero point
 *   SPLIT       Split                                  input 0 (own, if not yet quantized); every output
 *                                                      with input 0's parameters
 *   GATHER      Gather, GatherElements                 input 0 if it is a float initializer (activation
 *                                                      type); output 0 with input 0's parameters
 *   PAD         Pad                                    every float input own; output 0 with input 0's
 *                                                      parameters for reflect/edge/wrap or a constant 0 pad,
 *                                                      else own
 *   REMOVABLE   Clip, Relu                             nothing unless input 0 is quantized; then the node is
 *                                                      removed when its output's Q/DQ range lies inside the
 *                                                      clip range (else input 0 and output 0 get Q/DQ)
 *
 * Shared parameters win over own ones: a tensor marked both ways (a Reshape output also read by an Add)
 * gets its producer's input parameters, as in ORT (the later own mark does not override a shared one).
 * Not in the table (left float even when the config says quantize): normalizations (ORT's QDQNormalization,
 * BatchNormalization is folded at load), Where, TopK, CumSum, and everything else.
 *
 * Concat: ORT's QDQ mode gives each Concat input its own parameters (its QLinearConcat takes per-input
 * scales), and so does onnxq; requantizing Concat inputs to a common scale is a calibration-side choice. */
#include <stdlib.h>
#include <string.h>

#include "quant/qdq.h"

/* sorted by op_type (strcmp); tests/unit/test_qdq.c checks it */
static const struct oq_qdq_rule rules[] = {
    {.op_type = "Add",               .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "ArgMax",            .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "AveragePool",       .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Clip",              .kind = OQ_QDQ_REMOVABLE, .min_opset = 0,  .bias_input = -1},
    {.op_type = "Concat",            .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "Conv",              .kind = OQ_QDQ_WEIGHTED,  .min_opset = 0,  .bias_input = 2},
    {.op_type = "ConvTranspose",     .kind = OQ_QDQ_WEIGHTED,  .min_opset = 0,  .bias_input = 2},
    {.op_type = "Flatten",           .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Gather",            .kind = OQ_QDQ_GATHER,    .min_opset = 0,  .bias_input = -1},
    {.op_type = "GatherElements",    .kind = OQ_QDQ_GATHER,    .min_opset = 0,  .bias_input = -1},
    {.op_type = "Gemm",              .kind = OQ_QDQ_WEIGHTED,  .min_opset = 0,  .bias_input = 2},
    {.op_type = "GlobalAveragePool", .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "HardSigmoid",       .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "HardSwish",         .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "LeakyRelu",         .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "MatMul",            .kind = OQ_QDQ_WEIGHTED,  .min_opset = 0,  .bias_input = -1},
    {.op_type = "MaxPool",           .kind = OQ_QDQ_SHARE,     .min_opset = 12, .bias_input = -1},
    {.op_type = "Mul",               .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "Pad",               .kind = OQ_QDQ_PAD,       .min_opset = 0,  .bias_input = -1},
    {.op_type = "Relu",              .kind = OQ_QDQ_REMOVABLE, .min_opset = 0,  .bias_input = -1},
    {.op_type = "Reshape",           .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Resize",            .kind = OQ_QDQ_SHARE,     .min_opset = 11, .bias_input = -1},
    {.op_type = "Sigmoid",           .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "Slice",             .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Softmax",           .kind = OQ_QDQ_GENERIC,   .min_opset = 0,  .bias_input = -1},
    {.op_type = "Split",             .kind = OQ_QDQ_SPLIT,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Squeeze",           .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Transpose",         .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
    {.op_type = "Unsqueeze",         .kind = OQ_QDQ_SHARE,     .min_opset = 0,  .bias_input = -1},
};
enum { N_RULES = sizeof(rules) / sizeof(rules[0]) };

static int rule_cmp(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const struct oq_qdq_rule *)elem)->op_type);
}

const struct oq_qdq_rule *oq_qdq_rule_find(const char *op_type) {
    if (!op_type)
        return NULL;
    return bsearch(op_type, rules, N_RULES, sizeof(rules[0]), rule_cmp);
}

const struct oq_qdq_rule *oq_qdq_rules(int *count) {
    *count = N_RULES;
    return rules;
}
