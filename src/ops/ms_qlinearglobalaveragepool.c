/* com.microsoft QLinearGlobalAveragePool (ONNX Runtime contrib op, version 1): mean over the spatial dims of
 * uint8 [N, C, D1, ...] data, requantized. Written by ONNX Runtime's quantizer in QOperator format.
 *
 *   0 X (uint8)  1 x_scale  2 x_zero_point (uint8)  3 y_scale  4 y_zero_point (uint8)   (constant scalars)
 *   attribute channels_last (default 0): only 0 (NCHW) is supported
 *
 * Same inputs and numerics as com.onnxq.QGlobalAveragePool (ops/qglobalaveragepool.c: ORT's MLAS kernel
 * reproduced bit for bit): this op is that implementation, called through its descriptor. */
#include "ops/op.h"

extern const struct oq_op_def oq_op_qglobalaveragepool;

static oq_status w_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (oq_attr_int(n, "channels_last", 0) != 0)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "channels_last=1 (NHWC) is not supported; onnxq runs NCHW");
    return oq_op_qglobalaveragepool.check(n, g, err);
}

static oq_status w_infer(struct oq_op_ctx *ctx) { return oq_op_qglobalaveragepool.infer(ctx); }
static oq_status w_prepare(struct oq_op_ctx *ctx) { return oq_op_qglobalaveragepool.prepare(ctx); }
static oq_status w_run(struct oq_op_ctx *ctx) { return oq_op_qglobalaveragepool.run(ctx); }
static void w_destroy(void *priv) { oq_op_qglobalaveragepool.destroy(priv); }

const struct oq_op_def oq_op_ms_qlinearglobalaveragepool = {
    .domain  = "com.microsoft",
    .name    = "QLinearGlobalAveragePool",
    .since   = 1,
    .until   = 1,
    .check   = w_check,
    .infer   = w_infer,
    .prepare = w_prepare,
    .run     = w_run,
    .destroy = w_destroy,
};
