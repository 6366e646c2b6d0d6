/* Concat along `axis` (negative from opset 11 (4 in practice)). Any dtype. The output is viewed as `outer`
 * rows, each the concatenation of one block per input; threads take equal byte ranges of the output and
 * memcpy the pieces that fall in them, so few large inputs and many small ones balance the same way. */
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"

struct concat_priv {
    int n;            /* inputs */
    int64_t outer;    /* product of dims before axis */
    int64_t row;      /* bytes of one output row */
    int64_t *block;   /* bytes of input k's block per row */
    int64_t *cum;     /* byte offset of input k's block within a row */
};

static void concat_destroy(void *priv) {
    struct concat_priv *p = priv;
    if (!p)
        return;
    free(p->block);
    free(p->cum);
    free(p);
}

static oq_status concat_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1 << 20, 1, 1));
    if (!oq_node_attr(n, "axis"))
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'axis' is required");
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is empty", i);
    return OQ_OK;
}

static oq_status concat_axis(struct oq_op_ctx *ctx, int *axis) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->ndim == 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 is a scalar; Concat needs rank >= 1");
    return oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 0), x->ndim, axis);
}

static oq_status concat_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int axis;
    OQ_TRY(concat_axis(ctx, &axis));
    int64_t out[OQ_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        out[d] = x->dims[d];
    out[axis] = 0;
    char s0[160], si[160];
    for (int k = 0; k < ctx->n_in; k++) {
        const struct oq_tensor *t = ctx->in[k];
        if (t->dtype != x->dtype)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "input %d has dtype %s, input 0 has %s", k,
                               oq_dtype_name(t->dtype), oq_dtype_name(x->dtype));
        bool ok = t->ndim == x->ndim;
        for (int d = 0; ok && d < x->ndim; d++)
            ok = d == axis || t->dims[d] == x->dims[d];
        if (!ok)
            return oq_op_error(ctx, OQ_ERR_SHAPE,
                               "input %d has shape %s, incompatible with input 0's %s for concatenation on axis %d",
                               k, oq_shape_str(t->ndim, t->dims, si, sizeof(si)),
                               oq_shape_str(x->ndim, x->dims, s0, sizeof(s0)), axis);
        out[axis] += t->dims[axis];
    }
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, out);
    return OQ_OK;
}

static oq_status concat_prepare(struct oq_op_ctx *ctx) {
    struct concat_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    int axis;
    OQ_TRY(concat_axis(ctx, &axis));
    if (!p->block) {
        p->n = ctx->n_in;
        p->block = calloc((size_t)p->n, sizeof(int64_t));
        p->cum = calloc((size_t)p->n, sizeof(int64_t));
        if (!p->block || !p->cum)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    }
    const struct oq_tensor *x = ctx->in[0];
    size_t esz = oq_dtype_size(x->dtype);
    int64_t inner = oq_shape_numel(x->ndim - axis - 1, x->dims + axis + 1);
    p->outer = oq_shape_numel(axis, x->dims);
    p->row = 0;
    for (int k = 0; k < p->n; k++) {
        p->cum[k] = p->row;
        p->block[k] = ctx->in[k]->dims[axis] * inner * (int64_t)esz;
        p->row += p->block[k];
    }
    return OQ_OK;
}

struct concat_args {
    const struct concat_priv *p;
    struct oq_tensor *const *in;
    char *dst;
};

static void concat_task(void *arg, int ith, int nth) {
    const struct concat_args *a = arg;
    const struct concat_priv *p = a->p;
    int64_t lo, hi;
    oq_split(p->outer * p->row, ith, nth, &lo, &hi);
    if (lo >= hi)
        return;
    int64_t row = lo / p->row, r = lo % p->row;
    int k = 0;
    while (k + 1 < p->n && p->cum[k + 1] <= r)
        k++;
    int64_t pos = lo;
    while (pos < hi) {
        int64_t off = r - p->cum[k];
        int64_t n = p->block[k] - off;
        if (n > hi - pos)
            n = hi - pos;
        if (n > 0)
            memcpy(a->dst + pos, (const char *)a->in[k]->data + row * p->block[k] + off, (size_t)n);
        pos += n;
        r += n;
        if (++k == p->n) {
            k = 0;
            r = 0;
            row++;
        }
    }
}

static oq_status concat_run(struct oq_op_ctx *ctx) {
    const struct concat_priv *p = ctx->priv;
    struct concat_args a = {p, ctx->in, ctx->out[0]->data};
    int64_t bytes = p->outer * p->row;
    if (bytes == 0)
        return OQ_OK;
    oq_pool_run(ctx->pool, concat_task, &a, oq_pool_threads_for(ctx->pool, bytes, OQ_MV_MIN_BYTES_PER_THREAD));
    return OQ_OK;
}

const struct oq_op_def oq_op_concat = {
    .domain  = "",
    .name    = "Concat",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = concat_check,
    .infer   = concat_infer,
    .prepare = concat_prepare,
    .run     = concat_run,
    .destroy = concat_destroy,
};
