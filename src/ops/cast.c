/* Cast: convert to the dtype of attribute `to`. Supported: float, double, float16, bfloat16, bool,
 * int8..int64, uint8..uint64, in any direction (ops/elementwise.c, oq_ew_cast: float -> int truncates,
 * int -> int wraps, anything -> bool is != 0). Strings and the float8/4-bit types are rejected at load. */
#include "ops/elementwise.h"

static oq_status cast_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    const struct oq_attr *to = oq_node_attr(n, "to");
    if (!to || to->type != OQ_ATTR_INT)
        return oq_node_error(
            n, err, OQ_ERR_MODEL, "attribute 'to' (the target dtype) is missing or not an int");
    if (to->i < 0 || to->i > 255 || !oq_ew_cast_supported((enum oq_dtype)to->i))
        return oq_node_error(n,
                             err,
                             OQ_ERR_UNSUPPORTED,
                             "cast to %s (TensorProto type %lld) is not supported; supported: float, double, "
                             "float16, bfloat16, bool, int8..int64, uint8..uint64",
                             to->i == OQ_DTYPE_STRING ? "string"
                             : to->i >= 17            ? "a float8/float4/int4/int2 type"
                                                      : oq_dtype_name((enum oq_dtype)to->i),
                             (long long)to->i);
    return OQ_OK;
}

static oq_status cast_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (!oq_ew_cast_supported(x->dtype))
        return oq_op_error(
            ctx,
            OQ_ERR_UNSUPPORTED,
            "input 0 ('%s') has dtype %s; Cast supports float, double, float16, bfloat16, bool, "
            "int8..int64, uint8..uint64",
            x->name ? x->name : "?",
            oq_dtype_name(x->dtype));
    oq_op_set_output(ctx, 0, (enum oq_dtype)oq_attr_int(ctx->node, "to", 0), x->ndim, x->dims);
    return OQ_OK;
}

static oq_status cast_run(struct oq_op_ctx *ctx) {
    oq_ew_cast(ctx->pool, ctx->in[0], ctx->out[0]);
    return OQ_OK;
}

const struct oq_op_def oq_op_cast = {
    .domain = "",
    .name   = "Cast",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = cast_check,
    .infer  = cast_infer,
    .run    = cast_run,
};
