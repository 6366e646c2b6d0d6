/* Flatten: [d0..d_{axis-1}] x [d_axis..] as a 2-D tensor (negative axis from opset 11). One memcpy. */
#include "ops/movement.h"

static oq_status flatten_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status flatten_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t axis = oq_attr_int(ctx->node, "axis", 1);
    int r = x->ndim;
    if (axis < -r || axis > r)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "axis %lld is out of range for an input of rank %d (allowed [%d, %d])",
                           (long long)axis, r, -r, r);
    if (axis < 0)
        axis += r;
    int64_t out[2] = {oq_shape_numel((int)axis, x->dims), oq_shape_numel(r - (int)axis, x->dims + axis)};
    oq_op_set_output(ctx, 0, x->dtype, 2, out);
    return OQ_OK;
}

static oq_status flatten_run(struct oq_op_ctx *ctx) {
    oq_mv_memcpy(ctx->pool, ctx->out[0]->data, ctx->in[0]->data, oq_tensor_bytes(ctx->in[0]));
    return OQ_OK;
}

const struct oq_op_def oq_op_flatten = {
    .domain = "",
    .name   = "Flatten",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = flatten_check,
    .infer  = flatten_infer,
    .run    = flatten_run,
};
