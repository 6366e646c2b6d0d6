/* QLinearConv (opsets 10..28): the ONNX-standard quantized convolution, as ONNX Runtime's quantizer writes it
 * in QOperator format (QuantFormat.QOperator): uint8 activations, int8 weights with zero point 0 (per tensor
 * or per output channel), int32 bias, every input but x a constant.
 *
 *   0 x (uint8)  1 x_scale  2 x_zero_point  3 w (int8 [M, C/group, kh, kw])  4 w_scale ([1] or [M])
 *   5 w_zero_point (int8 zeros)  6 y_scale  7 y_zero_point (uint8)  8 B (int32 [M], optional)
 *
 * The inputs are exactly com.onnxq.QConv's (ops/qconv.c), which the INT8 lowering of QDQ graphs produces, so
 * this op is QConv's implementation (same packing, paths and ORT-exact numerics) called through its
 * descriptor; it only adds the checks that turn the spec's wider type set into clear errors at load:
 * int8 x, uint8 w, a nonzero weight zero point or runtime weights are rejected naming the node. */
#include <string.h>

#include "ops/op.h"

extern const struct oq_op_def oq_op_qconv;

static const char *const qlc_names[] = {"x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point",
                                        "y_scale", "y_zero_point", "B"};

/* dtype of input k as far as the graph says (initializer or declared type; UNDEFINED when unknown) */
static enum oq_dtype qlc_dtype(const struct oq_node *n, const struct oq_graph *g, int k) {
    const struct oq_value *v = &g->values[n->in[k]];
    return v->init ? v->init->dtype : v->dtype;
}

static oq_status qlc_types(const struct oq_node *n, oq_error *err, enum oq_dtype x, enum oq_dtype w,
                           enum oq_dtype wz) {
    if (w != OQ_DTYPE_UNDEFINED && w != OQ_DTYPE_INT8)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "w has dtype %s; onnxq's QLinearConv supports uint8 x with int8 w of zero point 0 "
                             "(what ONNX Runtime's quantizer writes with weight_type=QInt8): re-quantize the "
                             "weights as int8",
                             oq_dtype_name(w));
    if (wz != OQ_DTYPE_UNDEFINED && wz != OQ_DTYPE_INT8)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "w_zero_point has dtype %s; it must be int8 zeros",
                             oq_dtype_name(wz));
    if (x != OQ_DTYPE_UNDEFINED && x != OQ_DTYPE_UINT8)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "x has dtype %s; onnxq's QLinearConv supports uint8 activations with int8 weights "
                             "(quantize with activation_type=QUInt8)", oq_dtype_name(x));
    return OQ_OK;
}

static oq_status qlc_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 8, 9, 1, 1));
    for (int k = 0; k < 8; k++)
        if (n->in[k] < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d (%s) is missing; QLinearConv needs inputs 0..7", k,
                                 qlc_names[k]);
    OQ_TRY(qlc_types(n, err, qlc_dtype(n, g, 0), qlc_dtype(n, g, 3), qlc_dtype(n, g, 5)));
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                                 "input %d (%s, '%s') is computed at run time; onnxq's QLinearConv needs weights, "
                                 "scales, zero points and bias as constants (initializers), packed once at load",
                                 k, qlc_names[k], g->values[n->in[k]].name);
    const struct oq_tensor *wz = g->values[n->in[5]].init;
    for (int64_t i = 0; i < oq_tensor_numel(wz); i++)
        if (((const int8_t *)wz->data)[i] != 0)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                                 "w_zero_point[%lld] is %d; onnxq's QLinearConv supports symmetric int8 weights "
                                 "(zero point 0, ONNX Runtime's default for QInt8 weights)",
                                 (long long)i, ((const int8_t *)wz->data)[i]);
    return oq_op_qconv.check(n, g, err);
}

static oq_status qlc_infer(struct oq_op_ctx *ctx) {
    OQ_TRY(qlc_types(ctx->node, ctx->err, ctx->in[0]->dtype, ctx->in[3]->dtype, ctx->in[5]->dtype));
    return oq_op_qconv.infer(ctx);
}

static oq_status qlc_prepare(struct oq_op_ctx *ctx) { return oq_op_qconv.prepare(ctx); }
static oq_status qlc_run(struct oq_op_ctx *ctx) { return oq_op_qconv.run(ctx); }
static void qlc_destroy(void *priv) { oq_op_qconv.destroy(priv); }
static int64_t qlc_macs(const struct oq_op_ctx *ctx) { return oq_op_qconv.macs(ctx); }

const struct oq_op_def oq_op_qlinearconv = {
    .domain  = "",
    .name    = "QLinearConv",
    .since   = 10,
    .until   = OQ_OPSET_MAX,
    .check   = qlc_check,
    .infer   = qlc_infer,
    .prepare = qlc_prepare,
    .run     = qlc_run,
    .destroy = qlc_destroy,
    .macs    = qlc_macs,
};
