/* Expand: broadcast input 0 to the numpy-broadcast of its shape and input 1 (read at plan time). Any
 * dtype; a strided gather with stride 0 on the broadcast dims. */
#include "ops/movement.h"

static oq_status expand_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status expand_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t shape[OQ_MAX_DIMS], out[OQ_MAX_DIMS];
    int ns, no;
    OQ_TRY(oq_op_const_ints(ctx, 1, shape, OQ_MAX_DIMS, &ns));
    char xs[160], ss[160];
    for (int i = 0; i < ns; i++)
        if (shape[i] < 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "shape %s has a negative dim",
                               oq_mv_ints_str(ns, shape, ss, sizeof(ss)));
    if (!oq_broadcast_shape(x->ndim, x->dims, ns, shape, &no, out))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "cannot expand input 0 of shape %s to shape %s",
                           oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)), oq_mv_ints_str(ns, shape, ss, sizeof(ss)));
    oq_op_set_output(ctx, 0, x->dtype, no, out);
    return OQ_OK;
}

static oq_status expand_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    struct oq_tensor *y = ctx->out[0];
    int64_t xst[OQ_MAX_DIMS], st[OQ_MAX_DIMS];
    oq_shape_strides(x->ndim, x->dims, xst);
    int lead = y->ndim - x->ndim;
    for (int d = 0; d < y->ndim; d++) {
        int xd = d - lead;
        st[d] = xd < 0 || x->dims[xd] == 1 ? 0 : xst[xd];
    }
    oq_mv_copy_strided(ctx->pool, y->data, x->data, oq_dtype_size(x->dtype), y->ndim, y->dims, st);
    return OQ_OK;
}

const struct oq_op_def oq_op_expand = {
    .domain = "",
    .name   = "Expand",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = expand_check,
    .infer  = expand_infer,
    .run    = expand_run,
};
