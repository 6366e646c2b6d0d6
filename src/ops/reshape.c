/* Reshape: same data, new dims. `shape` (input 1 from opset 5, attribute before) may hold one -1 (inferred)
 * and 0 (copy the input dim; with allowzero=1 from opset 14, a literal 0). The executor does not alias
 * buffers yet, so run() is one memcpy. */
#include <stdio.h>

#include "ops/movement.h"

static oq_status reshape_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->opset < 5) {
        OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
        const int64_t *v;
        if (oq_attr_ints(n, "shape", &v) < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'shape' is required before opset 5");
        return OQ_OK;
    }
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status reshape_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t shape[OQ_MAX_DIMS + 1];
    int ns = 0;
    if (ctx->node->opset < 5) {
        const int64_t *v;
        int64_t c = oq_attr_ints(ctx->node, "shape", &v);
        if (c > OQ_MAX_DIMS)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "attribute 'shape' has %lld dims, at most %d supported",
                               (long long)c, OQ_MAX_DIMS);
        for (ns = 0; ns < (int)c; ns++)
            shape[ns] = v[ns];
    } else {
        OQ_TRY(oq_op_const_ints(ctx, 1, shape, OQ_MAX_DIMS, &ns));
    }
    bool allowzero = ctx->node->opset >= 14 && oq_attr_int(ctx->node, "allowzero", 0) != 0;
    int64_t out[OQ_MAX_DIMS];
    int neg = -1;
    int64_t known = 1;
    char xs[160], ss[160];
    for (int i = 0; i < ns; i++) {
        int64_t d = shape[i];
        if (d == 0 && !allowzero) {
            if (i >= x->ndim)
                return oq_op_error(ctx, OQ_ERR_SHAPE,
                                   "shape %s has 0 at position %d, but the input %s has only %d dims",
                                   oq_mv_ints_str(ns, shape, ss, sizeof(ss)), i,
                                   oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)), x->ndim);
            d = x->dims[i];
        }
        if (d == -1) {
            if (neg >= 0)
                return oq_op_error(ctx, OQ_ERR_SHAPE, "shape %s has more than one -1",
                                   oq_mv_ints_str(ns, shape, ss, sizeof(ss)));
            if (allowzero)
                for (int k = 0; k < ns; k++)
                    if (shape[k] == 0)
                        return oq_op_error(ctx, OQ_ERR_SHAPE, "shape %s has both -1 and 0 with allowzero=1",
                                           oq_mv_ints_str(ns, shape, ss, sizeof(ss)));
            neg = i;
            out[i] = 1;
            continue;
        }
        if (d < -1)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "shape %s has the invalid value %lld at position %d",
                               oq_mv_ints_str(ns, shape, ss, sizeof(ss)), (long long)d, i);
        out[i] = d;
        known *= d;
    }
    int64_t total = oq_tensor_numel(x);
    if (neg >= 0) {
        if (known == 0 || total % known != 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s",
                               oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)), (long long)total,
                               oq_mv_ints_str(ns, shape, ss, sizeof(ss)));
        out[neg] = total / known;
        known *= out[neg];
    }
    if (known != total)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s",
                           oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)), (long long)total,
                           oq_mv_ints_str(ns, shape, ss, sizeof(ss)));
    oq_op_set_output(ctx, 0, x->dtype, ns, out);
    return OQ_OK;
}

static oq_status reshape_run(struct oq_op_ctx *ctx) {
    oq_mv_memcpy(ctx->pool, ctx->out[0]->data, ctx->in[0]->data, oq_tensor_bytes(ctx->in[0]));
    return OQ_OK;
}

const struct oq_op_def oq_op_reshape = {
    .domain = "",
    .name   = "Reshape",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = reshape_check,
    .infer  = reshape_infer,
    .run    = reshape_run,
};
