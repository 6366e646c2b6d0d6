/* Unsqueeze: insert size-1 dims at `axes` (positions in the output; attribute before opset 13, required
 * input from 13; negative axes count from the output rank). One memcpy. */
#include "ops/movement.h"

static oq_status unsqueeze_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->opset >= 13)
        return oq_check_arity(n, err, 2, 2, 1, 1);
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    const int64_t *v;
    if (oq_attr_ints(n, "axes", &v) < 0)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'axes' is required before opset 13");
    return OQ_OK;
}

static oq_status unsqueeze_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t axes[OQ_MAX_DIMS];
    int na = 0;
    if (ctx->node->opset >= 13) {
        OQ_TRY(oq_op_const_ints(ctx, 1, axes, OQ_MAX_DIMS, &na));
    } else {
        const int64_t *v;
        int64_t c = oq_attr_ints(ctx->node, "axes", &v);
        if (c > OQ_MAX_DIMS)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "attribute 'axes' has %lld entries; at most %d supported",
                               (long long)c, OQ_MAX_DIMS);
        for (int i = 0; i < c; i++)
            axes[i] = v[i];
        na = (int)c;
    }
    int r = x->ndim + na;
    if (r > OQ_MAX_DIMS)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "output rank %d exceeds the supported %d", r, OQ_MAX_DIMS);
    int ax[OQ_MAX_DIMS];
    OQ_TRY(oq_mv_axes(ctx, "axes", axes, na, r, ax));
    bool ins[OQ_MAX_DIMS] = {false};
    for (int i = 0; i < na; i++)
        ins[ax[i]] = true;
    int64_t out[OQ_MAX_DIMS];
    for (int d = 0, k = 0; d < r; d++)
        out[d] = ins[d] ? 1 : x->dims[k++];
    oq_op_set_output(ctx, 0, x->dtype, r, out);
    return OQ_OK;
}

static oq_status unsqueeze_run(struct oq_op_ctx *ctx) {
    oq_mv_memcpy(ctx->pool, ctx->out[0]->data, ctx->in[0]->data, oq_tensor_bytes(ctx->in[0]));
    return OQ_OK;
}

const struct oq_op_def oq_op_unsqueeze = {
    .domain = "",
    .name   = "Unsqueeze",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = unsqueeze_check,
    .infer  = unsqueeze_infer,
    .run    = unsqueeze_run,
};
