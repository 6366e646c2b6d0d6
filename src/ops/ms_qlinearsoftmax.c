/* com.microsoft QLinearSoftmax (ONNX Runtime contrib op, version 1): softmax of uint8 data to uint8. Written by
 * ONNX Runtime's quantizer in QOperator format.
 *
 *   0 X (uint8)  1 X_scale  2 x_zero_point (uint8)  3 y_scale  4 y_zero_point (uint8)    (constant scalars)
 *   attributes: axis, opset (the original Softmax's opset, which decides the axis semantics; required)
 *
 * Same inputs, attributes and numerics as com.onnxq.QSoftmax (ops/qsoftmax.c: ORT's exp table reproduced):
 * this op is that implementation, called through its descriptor. */
#include "ops/op.h"

extern const struct oq_op_def oq_op_qsoftmax;

static oq_status w_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (!oq_node_attr(n, "opset"))
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'opset' (the original Softmax's opset) is required");
    return oq_op_qsoftmax.check(n, g, err);
}

static oq_status w_infer(struct oq_op_ctx *ctx) { return oq_op_qsoftmax.infer(ctx); }
static oq_status w_prepare(struct oq_op_ctx *ctx) { return oq_op_qsoftmax.prepare(ctx); }
static oq_status w_run(struct oq_op_ctx *ctx) { return oq_op_qsoftmax.run(ctx); }
static void w_destroy(void *priv) { oq_op_qsoftmax.destroy(priv); }

const struct oq_op_def oq_op_ms_qlinearsoftmax = {
    .domain  = "com.microsoft",
    .name    = "QLinearSoftmax",
    .since   = 1,
    .until   = 1,
    .check   = w_check,
    .infer   = w_infer,
    .prepare = w_prepare,
    .run     = w_run,
    .destroy = w_destroy,
};
