#include "ops/qdq_params.h"

oq_status oq_qdq_check_block_size(const struct oq_node *n, oq_error *err) {
    if (n->opset >= 21 && oq_attr_int(n, "block_size", 0) != 0)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "blocked quantization (block_size=%lld) is not supported; only per-tensor and "
                             "per-axis",
                             (long long)oq_attr_int(n, "block_size", 0));
    return OQ_OK;
}

oq_status oq_qdq_granularity(struct oq_op_ctx *ctx, const struct oq_tensor *x, const struct oq_tensor *s,
                             const struct oq_tensor *zp, const char *what, int *axis_out) {
    *axis_out = -1;
    if (zp) {
        bool same = zp->ndim == s->ndim;
        for (int d = 0; same && d < s->ndim; d++)
            same = zp->dims[d] == s->dims[d];
        if (!same && !(oq_tensor_numel(zp) == 1 && oq_tensor_numel(s) == 1))
            return oq_op_error(ctx, OQ_ERR_SHAPE, "zero point '%s' and scale '%s' have different shapes",
                               zp->name ? zp->name : "?", s->name ? s->name : "?");
    }
    if (oq_tensor_numel(s) == 1 && s->ndim <= 1)
        return OQ_OK;
    if (s->ndim > 1)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED,
                           "scale '%s' has rank %d: blocked quantization is not supported (per-tensor and "
                           "per-axis only)",
                           s->name ? s->name : "?", (int)s->ndim);
    if (ctx->node->opset < 13)
        return oq_op_error(ctx, OQ_ERR_MODEL,
                           "scale '%s' has %lld elements; before opset 13 the scale must be a scalar (per-axis "
                           "%s needs opset 13)",
                           s->name ? s->name : "?", (long long)oq_tensor_numel(s), what);
    int axis;
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 1), x->ndim, &axis));
    if (s->dims[0] != x->dims[axis]) /* s is 1-D here: rank 0 and rank > 1 returned above */
        return oq_op_error(ctx, OQ_ERR_SHAPE,
                           "per-axis scale '%s' has %lld elements, input '%s' has %lld along axis %d",
                           s->name ? s->name : "?", (long long)oq_tensor_numel(s), x->name ? x->name : "?",
                           (long long)x->dims[axis], axis);
    *axis_out = axis;
    return OQ_OK;
}
