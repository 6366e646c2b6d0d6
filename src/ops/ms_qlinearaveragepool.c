/* com.microsoft QLinearAveragePool (ONNX Runtime contrib op, version 1): 2-D average pooling of uint8 NCHW data,
 * requantized. Written by ONNX Runtime's quantizer in QOperator format (PP-OCRv4 rec's 3x2 pooling).
 *
 *   0 X (uint8 [N, C, H, W])  1 x_scale  2 x_zero_point (uint8)  3 y_scale  4 y_zero_point (uint8)
 *   attributes: AveragePool's kernel_shape, strides, pads, count_include_pad (auto_pad NOTSET, ceil_mode 0,
 *   no dilations), channels_last 0
 *
 * Same inputs and numerics as com.onnxq.QAveragePool (ops/qaveragepool.c: ORT's QLinearAveragePool order of
 * float operations): this op is that implementation, called through its descriptor, whose check rejects the
 * attributes it does not support with the node's name. */
#include "ops/op.h"

extern const struct oq_op_def oq_op_qaveragepool;

static oq_status w_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (oq_attr_int(n, "channels_last", 0) != 0)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "channels_last=1 (NHWC) is not supported; onnxq runs NCHW");
    return oq_op_qaveragepool.check(n, g, err);
}

static oq_status w_infer(struct oq_op_ctx *ctx) { return oq_op_qaveragepool.infer(ctx); }
static oq_status w_prepare(struct oq_op_ctx *ctx) { return oq_op_qaveragepool.prepare(ctx); }
static oq_status w_run(struct oq_op_ctx *ctx) { return oq_op_qaveragepool.run(ctx); }
static void w_destroy(void *priv) { oq_op_qaveragepool.destroy(priv); }

const struct oq_op_def oq_op_ms_qlinearaveragepool = {
    .domain  = "com.microsoft",
    .name    = "QLinearAveragePool",
    .since   = 1,
    .until   = 1,
    .check   = w_check,
    .infer   = w_infer,
    .prepare = w_prepare,
    .run     = w_run,
    .destroy = w_destroy,
};
