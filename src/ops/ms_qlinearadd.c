/* com.microsoft QLinearAdd (ONNX Runtime contrib op, version 1): C = quantize(dequantize(A) + dequantize(B)) on
 * uint8, with broadcasting. Written by ONNX Runtime's quantizer in QOperator format (quantize_static with
 * QuantFormat.QOperator) for every Add of two quantized tensors.
 *
 *   0 A (uint8)  1 A_scale  2 A_zero_point (uint8)  3 B (uint8)  4 B_scale  5 B_zero_point (uint8)
 *   6 C_scale  7 C_zero_point (uint8)            (scales and zero points: constant scalars)
 *
 * Same inputs and numerics as com.onnxq.QAdd (ops/qadd.c: ORT's QLinearAdd reproduced bit for bit), which the
 * INT8 lowering makes from DQ -> Add -> Q: this op is that implementation, called through its descriptor.
 * int8 tensors (activation_type=QInt8) are rejected by QAdd's dtype check, naming the node. */
#include "ops/op.h"

extern const struct oq_op_def oq_op_qadd;

static oq_status w_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_op_qadd.check(n, g, err);
}

static oq_status w_infer(struct oq_op_ctx *ctx) { return oq_op_qadd.infer(ctx); }
static oq_status w_prepare(struct oq_op_ctx *ctx) { return oq_op_qadd.prepare(ctx); }
static oq_status w_run(struct oq_op_ctx *ctx) { return oq_op_qadd.run(ctx); }
static void w_destroy(void *priv) { oq_op_qadd.destroy(priv); }

const struct oq_op_def oq_op_ms_qlinearadd = {
    .domain  = "com.microsoft",
    .name    = "QLinearAdd",
    .since   = 1,
    .until   = 1,
    .check   = w_check,
    .infer   = w_infer,
    .prepare = w_prepare,
    .run     = w_run,
    .destroy = w_destroy,
};
