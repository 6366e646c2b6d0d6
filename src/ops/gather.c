/* Gather along `axis` (any, negative allowed) with int32/int64 indices (negative count from the end).
 * Output dims: data[:axis] + indices + data[axis+1:]. Any data dtype: each index copies one contiguous
 * block of prod(data[axis+1:]) elements. Out-of-range indices are a run-time error naming the value. */
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"

struct gather_priv {
    int axis;
};

static oq_status gather_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status gather_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *idx = ctx->in[1];
    if (x->ndim == 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 (data) is a scalar; Gather needs rank >= 1");
    if (idx->dtype != OQ_DTYPE_INT64 && idx->dtype != OQ_DTYPE_INT32)
        return oq_op_error(ctx, OQ_ERR_MODEL, "input 1 (indices) has dtype %s, expected int32 or int64",
                           oq_dtype_name(idx->dtype));
    int axis;
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 0), x->ndim, &axis));
    int r = x->ndim - 1 + idx->ndim;
    if (r > OQ_MAX_DIMS)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "output rank %d exceeds the supported %d", r, OQ_MAX_DIMS);
    int64_t out[OQ_MAX_DIMS];
    int k = 0;
    for (int d = 0; d < axis; d++)
        out[k++] = x->dims[d];
    for (int d = 0; d < idx->ndim; d++)
        out[k++] = idx->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        out[k++] = x->dims[d];
    oq_op_set_output(ctx, 0, x->dtype, r, out);
    return OQ_OK;
}

static oq_status gather_prepare(struct oq_op_ctx *ctx) {
    struct gather_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    return oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 0), ctx->in[0]->ndim, &p->axis);
}

struct gather_args {
    const char *src;
    char *dst;
    const void *idx;
    bool idx64;
    int64_t n_idx, dim, block; /* block: bytes per index */
    int64_t units;             /* outer * n_idx */
};

static void gather_task(void *arg, int ith, int nth) {
    const struct gather_args *a = arg;
    int64_t u0, u1;
    oq_split(a->units, ith, nth, &u0, &u1);
    for (int64_t u = u0; u < u1; u++) {
        int64_t o = u / a->n_idx, j = u % a->n_idx;
        int64_t i = a->idx64 ? ((const int64_t *)a->idx)[j] : ((const int32_t *)a->idx)[j];
        if (i < 0)
            i += a->dim;
        memcpy(a->dst + u * a->block, a->src + (o * a->dim + i) * a->block, (size_t)a->block);
    }
}

static oq_status gather_run(struct oq_op_ctx *ctx) {
    const struct gather_priv *p = ctx->priv;
    const struct oq_tensor *x = ctx->in[0], *idx = ctx->in[1];
    struct gather_args a;
    a.src = x->data;
    a.dst = ctx->out[0]->data;
    a.idx = idx->data;
    a.idx64 = idx->dtype == OQ_DTYPE_INT64;
    a.n_idx = oq_tensor_numel(idx);
    a.dim = x->dims[p->axis];
    a.block = oq_shape_numel(x->ndim - p->axis - 1, x->dims + p->axis + 1) * (int64_t)oq_dtype_size(x->dtype);
    a.units = oq_shape_numel(p->axis, x->dims) * a.n_idx;
    for (int64_t j = 0; j < a.n_idx; j++) {
        int64_t i = a.idx64 ? ((const int64_t *)a.idx)[j] : ((const int32_t *)a.idx)[j];
        if (i < -a.dim || i >= a.dim)
            return oq_op_error(ctx, OQ_ERR_NUMERIC,
                               "index %lld (element %lld of input 1) is out of range for axis %d of size %lld",
                               (long long)i, (long long)j, p->axis, (long long)a.dim);
    }
    if (a.units == 0 || a.block == 0)
        return OQ_OK;
    oq_pool_run(ctx->pool, gather_task, &a,
                oq_pool_threads_for(ctx->pool, a.units * a.block, OQ_MV_MIN_BYTES_PER_THREAD));
    return OQ_OK;
}

const struct oq_op_def oq_op_gather = {
    .domain  = "",
    .name    = "Gather",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = gather_check,
    .infer   = gather_infer,
    .prepare = gather_prepare,
    .run     = gather_run,
    .destroy = free,
};
