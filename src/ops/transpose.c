/* Transpose: out dim d = in dim perm[d] (default: reversed). Any dtype; the copy is a strided gather that
 * becomes row memcpys when the innermost dim stays in place ((0,2,1,3), (2,0,3,1,4)) and a cache-blocked
 * 2-D transpose otherwise ((0,2,1), (0,3,1,2), (0,1,3,2)). */
#include <stdlib.h>

#include "ops/movement.h"

struct transpose_priv {
    int perm[OQ_MAX_DIMS];
};

static oq_status transpose_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    return oq_mv_check_ints_range(n, err, "perm", 0, OQ_MAX_DIMS - 1);
}

static oq_status transpose_perm(struct oq_op_ctx *ctx, int *perm) {
    int r = ctx->in[0]->ndim;
    const int64_t *v;
    int64_t c = oq_attr_ints(ctx->node, "perm", &v);
    if (c < 0) {
        for (int d = 0; d < r; d++)
            perm[d] = r - 1 - d;
        return OQ_OK;
    }
    if (c != r)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "perm has %lld entries, but input 0 has rank %d", (long long)c, r);
    for (int d = 0; d < r; d++) {
        if (v[d] < 0 || v[d] >= r)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "perm[%d] = %lld is out of range for rank %d", d, (long long)v[d],
                               r);
        perm[d] = (int)v[d];
        for (int k = 0; k < d; k++)
            if (perm[k] == perm[d])
                return oq_op_error(ctx, OQ_ERR_SHAPE, "perm repeats axis %d; it must be a permutation", perm[d]);
    }
    return OQ_OK;
}

static oq_status transpose_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int perm[OQ_MAX_DIMS];
    OQ_TRY(transpose_perm(ctx, perm));
    int64_t out[OQ_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        out[d] = x->dims[perm[d]];
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, out);
    return OQ_OK;
}

static oq_status transpose_prepare(struct oq_op_ctx *ctx) {
    struct transpose_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    return transpose_perm(ctx, p->perm);
}

static oq_status transpose_run(struct oq_op_ctx *ctx) {
    const struct transpose_priv *p = ctx->priv;
    const struct oq_tensor *x = ctx->in[0];
    int64_t ist[OQ_MAX_DIMS], dims[OQ_MAX_DIMS], st[OQ_MAX_DIMS];
    oq_shape_strides(x->ndim, x->dims, ist);
    for (int d = 0; d < x->ndim; d++) {
        dims[d] = x->dims[p->perm[d]];
        st[d] = ist[p->perm[d]];
    }
    oq_mv_copy_strided(ctx->pool, ctx->out[0]->data, x->data, oq_dtype_size(x->dtype), x->ndim, dims, st);
    return OQ_OK;
}

const struct oq_op_def oq_op_transpose = {
    .domain  = "",
    .name    = "Transpose",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = transpose_check,
    .infer   = transpose_infer,
    .prepare = transpose_prepare,
    .run     = transpose_run,
    .destroy = free,
};
