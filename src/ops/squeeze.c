/* Squeeze: drop size-1 dims; `axes` is an attribute before opset 13 and an optional input from 13. Without
 * axes every size-1 dim goes. One memcpy. */
#include "ops/movement.h"

static oq_status squeeze_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, n->opset >= 13 ? 2 : 1, 1, 1);
}

static oq_status squeeze_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t axes[OQ_MAX_DIMS];
    int na = -1;
    if (ctx->node->opset >= 13) {
        if (oq_mv_has_input(ctx, 1))
            OQ_TRY(oq_op_const_ints(ctx, 1, axes, OQ_MAX_DIMS, &na));
    } else {
        const int64_t *v;
        int64_t c = oq_attr_ints(ctx->node, "axes", &v);
        if (c > OQ_MAX_DIMS)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "attribute 'axes' has %lld entries for rank %d", (long long)c,
                               x->ndim);
        for (int i = 0; i < c; i++)
            axes[i] = v[i];
        na = (int)c;
    }
    bool drop[OQ_MAX_DIMS] = {false};
    char xs[160];
    if (na < 0) {
        for (int d = 0; d < x->ndim; d++)
            drop[d] = x->dims[d] == 1;
    } else {
        int ax[OQ_MAX_DIMS];
        OQ_TRY(oq_mv_axes(ctx, "axes", axes, na, x->ndim, ax));
        for (int i = 0; i < na; i++) {
            if (x->dims[ax[i]] != 1)
                return oq_op_error(ctx, OQ_ERR_SHAPE, "cannot squeeze axis %d of input %s: its size is %lld, not 1",
                                   ax[i], oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)),
                                   (long long)x->dims[ax[i]]);
            drop[ax[i]] = true;
        }
    }
    int64_t out[OQ_MAX_DIMS];
    int no = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!drop[d])
            out[no++] = x->dims[d];
    oq_op_set_output(ctx, 0, x->dtype, no, out);
    return OQ_OK;
}

static oq_status squeeze_run(struct oq_op_ctx *ctx) {
    oq_mv_memcpy(ctx->pool, ctx->out[0]->data, ctx->in[0]->data, oq_tensor_bytes(ctx->in[0]));
    return OQ_OK;
}

const struct oq_op_def oq_op_squeeze = {
    .domain = "",
    .name   = "Squeeze",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = squeeze_check,
    .infer  = squeeze_infer,
    .run    = squeeze_run,
};
