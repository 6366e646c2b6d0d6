/* The QDQ writer: rewrite a float graph plus a quantization plan into standard QDQ ONNX, following ONNX
 * Runtime's QDQ conventions (onnxruntime/quantization/qdq_quantizer.py) so that ORT fuses the result into
 * integer kernels (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, ...).
 *
 *   struct oq_qdq_options opt = oq_qdq_options_default();
 *   struct oq_qdq_stats st;
 *   opt.stats = &st;
 *   oq_qdq_apply(g, plan, &opt, &err);   // g: the model graph after load-time passes, owned by the caller
 *   oq_onnx_save(g, keep, "model.int8.onnx", &err);
 *
 * What it writes (static mode, plan->mode == OQ_QUANT_STATIC):
 *   - Activations. Which tensors of a quantized node (plan->node[i].quantize) get Q/DQ is decided by the
 *     node's op rule (quant/qdq_rules.c, one table). A tensor is quantizable when plan->act[v] gives its
 *     parameters and it is not integer-typed (integer graph inputs are never quantized). Each tensor gets ONE
 *     QuantizeLinear -> DequantizeLinear pair shared by all its consumers (ORT's default; consumers that are
 *     not quantized read the dequantized value too):
 *         t -> t_QuantizeLinear [t_QuantizeLinear_Output] -> t_DequantizeLinear [t_DequantizeLinear_Output]
 *     with initializers t_scale (float) and t_zero_point (uint8/int8/uint16/int16), scalars for per-tensor.
 *     A graph output keeps its name: the producer writes t_QuantizeLinear_Input and the DequantizeLinear
 *     writes t, so model inputs and outputs keep their names, dtypes (float) and shapes.
 *   - Shared parameters. Ops that move or select values without computing new ones (MaxPool, Resize,
 *     Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Slice, Split, Gather, AveragePool, Pad with 0...)
 *     quantize their output with their input's parameters: the output's Q/DQ reuses the input's t_scale and
 *     t_zero_point initializers, overriding plan->act of the output (see qdq_rules.c).
 *   - Weights (Conv, ConvTranspose, Gemm B, MatMul initializer inputs): real int8/int16 initializers
 *     w_quantized = round_half_even(w / scale) (calib/qmath.h), symmetric (zero point 0), scale from
 *     oq_calib_weight_qparams: abs_max per tensor, or channel_wise_abs_max along oq_calib_weight_axis()
 *     when plan->node[i].per_channel (DequantizeLinear `axis`, opset 13). Then
 *         w_quantized -> w_DequantizeLinear [w_DequantizeLinear_Output] -> every former reader of w
 *     and the float initializer is removed (the file shrinks ~4x for weight-dominated models).
 *     plan->act[w] of a weight initializer, when set, overrides the computed parameters (e.g. pow2 scales).
 *   - Bias (Conv, ConvTranspose, Gemm C when 1-D): int32 b_quantized with b_quantized_scale = input scale x
 *     weight scale (per channel when the weight is), zero point 0 (b_quantized_zero_point), dequantized back
 *     into a value named b. When that product would make |b| / scale overflow int32, the weight scale is
 *     raised first, exactly as ORT's _adjust_weight_scale_for_int32_bias (ratio = 1.0001 * 2|b| /
 *     (2^32 - 2) / (s_in * s_w)); stats->n_weight_scales_raised counts it. A Gemm's beta is folded into the
 *     bias values (beta becomes 1); with alpha != 1 the bias stays float.
 *   - Range adjustments of ORT's adjust_tensor_ranges: a Softmax output gets the fixed parameters of ORT's
 *     QLinearSoftmax (scale 1/256, zero point = the type's lowest value; 1/65536 for 16-bit types) instead of
 *     its calibrated ones (ORT only fuses with those, and its kernel is wrong for smaller scales); the input
 *     of a Relu/Clip that is kept takes the activation's output parameters when the activation is its only
 *     reader.
 *   - Removable activations: Relu/Clip after a quantized tensor are removed when the Q/DQ of their output
 *     already implements them (its representable range lies inside the clip range, e.g. uint8 with zero
 *     point 0 for Relu): the upstream node then writes the activation's output directly, as ORT does unless
 *     QDQKeepRemovableActivations. opt->keep_removable_activations keeps them.
 *
 * Weight-only mode (plan->mode == OQ_QUANT_WEIGHT_ONLY): only the weights of quantized Conv, ConvTranspose,
 * Gemm and MatMul nodes are rewritten (int8/int16 + DequantizeLinear, per channel as configured); biases
 * and activations stay float, so the model is float at its inputs and outputs.
 *
 * Opset: per-tensor Q/DQ needs opset 10, `axis` 13, 16-bit types 21. When the graph's default opset is
 * lower than what the plan needs (or than opt->target_opset), oq_graph_upgrade_opset() (graph/opset_upgrade.h)
 * rewrites the graph first (a model below opset 10 is taken to max(11, need), as ORT does); the plan's
 * indices are carried over by value names. Errors from the upgrade are returned with context.
 *
 * Names: new values, initializers and nodes are named from the tensor they belong to with ORT's suffixes;
 * a name already used in the graph gets "_1", "_2", ... appended. The rewrite is deterministic: the same
 * graph and plan give a byte-identical model.
 *
 * The rewritten graph has new nodes with `def` unresolved: wrap it with oq_model_from_graph() (which
 * toposorts and resolves) before running it. On error the graph may be partly rewritten (the caller owns it
 * and should discard it); the plan is never modified. */
#ifndef ONNXQ_QUANT_QDQ_H
#define ONNXQ_QUANT_QDQ_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "quant/plan.h"

/** What oq_qdq_apply did (optional output). */
struct oq_qdq_stats {
    int opset_before, opset_after;   /**< default-domain opset of the graph */
    int n_quantize, n_dequantize;    /**< QuantizeLinear / DequantizeLinear nodes added */
    int n_act_tensors;               /**< activations given a Q/DQ pair (own parameters) */
    int n_shared_tensors;            /**< activations given a Q/DQ pair with their input's parameters */
    int n_weights;                   /**< float initializers stored quantized (weights and constants) */
    int n_weights_per_channel;       /**< ... of which per channel */
    int n_biases;                    /**< biases stored as int32 */
    int n_weight_scales_raised;      /**< weights whose scale was raised so their bias fits int32 */
    int n_removed_activations;       /**< Relu/Clip removed (their Q/DQ implements them) */
    int64_t init_bytes_before;       /**< bytes of all initializers before and after */
    int64_t init_bytes_after;
};

/** Options; zero-initialized (or oq_qdq_options_default()) means ONNX Runtime's defaults. */
struct oq_qdq_options {
    bool keep_removable_activations; /**< keep Relu/Clip even when the Q/DQ implements them (ORT
                                          QDQKeepRemovableActivations) */
    bool float_bias;                 /**< leave biases float (ORT QuantizeBias=False) */
    bool no_weight_scale_adjust;     /**< never raise a weight scale for its int32 bias (ORT
                                          QDQDisableWeightAdjustForInt32Bias); the bias then saturates */
    bool weight_pow2;                /**< power-of-two weight scales 2^-n, n in [pow2_min, pow2_max] */
    int32_t pow2_min, pow2_max;      /**< with weight_pow2; both 0 means [0, 31] */
    int target_opset;                /**< 0: the lowest opset the emitted Q/DQ need; higher: upgrade to it */
    struct oq_qdq_stats *stats;      /**< optional: filled on success */
};

struct oq_qdq_options oq_qdq_options_default(void);

/**
 * Rewrite g in place into a QDQ graph according to plan (made for g: plan->n_values == g->n_values and
 * plan->n_nodes == g->n_nodes). opt may be NULL (defaults). See the header comment for the conventions.
 * @return OQ_OK; OQ_ERR_ARG for a plan that does not fit g or invalid parameters (names the tensor);
 *         OQ_ERR_UNSUPPORTED when the opset cannot be raised to what the Q/DQ need; OQ_ERR_NOMEM.
 */
oq_status oq_qdq_apply(struct oq_graph *g, const struct oq_quant_plan *plan, const struct oq_qdq_options *opt,
                       oq_error *err);

/* ---- the op rule table (quant/qdq_rules.c) ---- */

/** How a quantized node of an op type gets its Q/DQ (ORT's QDQ op quantizer classes). */
enum oq_qdq_kind {
    OQ_QDQ_WEIGHTED = 1, /**< activation input 0, weight input(s) int8/16, int32 bias, own output */
    OQ_QDQ_GENERIC,      /**< every float input and output gets its own parameters (QDQOperatorBase) */
    OQ_QDQ_SHARE,        /**< when input 0 is quantized, output 0 takes input 0's parameters (QDQDirect8BitOp) */
    OQ_QDQ_SPLIT,        /**< input 0 quantized; every output takes its parameters (QDQSplit) */
    OQ_QDQ_GATHER,       /**< data (input 0) quantized if an initializer; output shares it (QDQGather) */
    OQ_QDQ_PAD,          /**< inputs own; output shares input 0 when padding adds no new value (QDQPad) */
    OQ_QDQ_REMOVABLE,    /**< Relu/Clip: removed when the output Q/DQ implements them (QDQRemovableActivation) */
};

struct oq_qdq_rule {
    const char *op_type;
    enum oq_qdq_kind kind;
    int min_opset;       /**< below it the node stays float (ORT: MaxPool 12, Resize 11) */
    int bias_input;      /**< WEIGHTED: index of the bias input, -1 none */
};

/** The rule for a default-domain op type, NULL when the op is never quantized. */
const struct oq_qdq_rule *oq_qdq_rule_find(const char *op_type);
/** The whole table, sorted by op_type (for tests and `onnxq config`). */
const struct oq_qdq_rule *oq_qdq_rules(int *count);

#endif
