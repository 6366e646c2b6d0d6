/* Split along `axis` into the node's outputs. Sizes come from the `split` attribute (before opset 13), the
 * optional `split` input (from 13), or equal parts; from opset 18 `num_outputs` allows a smaller last part
 * (ceil(dim / num_outputs) each). Any dtype. The inverse of Concat: the input is `outer` rows, each the
 * concatenation of one block per output, and threads take equal byte ranges of the input. */
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"

enum { SPLIT_MAX_OUT = 64 };

struct split_priv {
    int n;
    int64_t outer, row;
    int64_t block[SPLIT_MAX_OUT], cum[SPLIT_MAX_OUT];
};

static oq_status split_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, n->opset >= 13 ? 2 : 1, 1, SPLIT_MAX_OUT));
    if (n->opset >= 18 && oq_node_attr(n, "num_outputs")) {
        int64_t no = oq_attr_int(n, "num_outputs", 0);
        if (no != n->n_out)
            return oq_node_error(n, err, OQ_ERR_MODEL, "num_outputs = %lld but the node has %d outputs",
                                 (long long)no, n->n_out);
        if (n->n_in > 1 && n->in[1] >= 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "num_outputs and the 'split' input are mutually exclusive");
    }
    return oq_mv_check_ints_range(n, err, "split", 0, INT64_MAX);
}

/* Sizes of each part along the axis. */
static oq_status split_sizes(struct oq_op_ctx *ctx, int *axis, int64_t *sizes) {
    const struct oq_tensor *x = ctx->in[0];
    int no = ctx->n_out;
    if (x->ndim == 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 is a scalar; Split needs rank >= 1");
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 0), x->ndim, axis));
    int64_t dim = x->dims[*axis];
    int64_t sp[SPLIT_MAX_OUT];
    int ns = -1;
    if (ctx->node->opset >= 13) {
        if (oq_mv_has_input(ctx, 1) && oq_tensor_numel(ctx->in[1]) > 0)
            OQ_TRY(oq_op_const_ints(ctx, 1, sp, SPLIT_MAX_OUT, &ns));
    } else {
        const int64_t *v;
        int64_t c = oq_attr_ints(ctx->node, "split", &v);
        if (c > SPLIT_MAX_OUT)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "'split' has %lld entries, at most %d supported",
                               (long long)c, SPLIT_MAX_OUT);
        if (c >= 0) {
            for (int i = 0; i < c; i++)
                sp[i] = v[i];
            ns = (int)c;
        }
    }
    char b[400];
    if (ns >= 0) {
        if (ns != no)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "split %s has %d entries, but the node has %d outputs",
                               oq_mv_ints_str(ns, sp, b, sizeof(b)), ns, no);
        int64_t sum = 0;
        for (int i = 0; i < ns; i++) {
            if (sp[i] < 0)
                return oq_op_error(ctx, OQ_ERR_SHAPE, "split %s has a negative size",
                                   oq_mv_ints_str(ns, sp, b, sizeof(b)));
            sizes[i] = sp[i];
            sum += sp[i];
        }
        if (sum != dim)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "split %s sums to %lld, but axis %d of input 0 has size %lld",
                               oq_mv_ints_str(ns, sp, b, sizeof(b)), (long long)sum, *axis, (long long)dim);
        return OQ_OK;
    }
    if (dim % no == 0) {
        for (int i = 0; i < no; i++)
            sizes[i] = dim / no;
        return OQ_OK;
    }
    if (ctx->node->opset < 18)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "axis %d of input 0 has size %lld, not divisible into %d equal parts",
                           *axis, (long long)dim, no);
    int64_t chunk = (dim + no - 1) / no, left = dim;
    for (int i = 0; i < no; i++) {
        sizes[i] = chunk < left ? chunk : left;
        left -= sizes[i];
    }
    return OQ_OK;
}

static oq_status split_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int axis;
    int64_t sizes[SPLIT_MAX_OUT];
    OQ_TRY(split_sizes(ctx, &axis, sizes));
    for (int k = 0; k < ctx->n_out; k++) {
        int64_t d[OQ_MAX_DIMS];
        for (int i = 0; i < x->ndim; i++)
            d[i] = x->dims[i];
        d[axis] = sizes[k];
        oq_op_set_output(ctx, k, x->dtype, x->ndim, d);
    }
    return OQ_OK;
}

static oq_status split_prepare(struct oq_op_ctx *ctx) {
    struct split_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    int axis;
    int64_t sizes[SPLIT_MAX_OUT];
    OQ_TRY(split_sizes(ctx, &axis, sizes));
    const struct oq_tensor *x = ctx->in[0];
    int64_t inner = oq_shape_numel(x->ndim - axis - 1, x->dims + axis + 1) * (int64_t)oq_dtype_size(x->dtype);
    p->n = ctx->n_out;
    p->outer = oq_shape_numel(axis, x->dims);
    p->row = 0;
    for (int k = 0; k < p->n; k++) {
        p->cum[k] = p->row;
        p->block[k] = sizes[k] * inner;
        p->row += p->block[k];
    }
    return OQ_OK;
}

struct split_args {
    const struct split_priv *p;
    struct oq_tensor *const *out;
    const char *src;
};

static void split_task(void *arg, int ith, int nth) {
    const struct split_args *a = arg;
    const struct split_priv *p = a->p;
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
        if (n > 0 && a->out[k])
            memcpy((char *)a->out[k]->data + row * p->block[k] + off, a->src + pos, (size_t)n);
        pos += n;
        r += n;
        if (++k == p->n) {
            k = 0;
            r = 0;
            row++;
        }
    }
}

static oq_status split_run(struct oq_op_ctx *ctx) {
    const struct split_priv *p = ctx->priv;
    struct split_args a = {p, ctx->out, ctx->in[0]->data};
    int64_t bytes = p->outer * p->row;
    if (bytes == 0)
        return OQ_OK;
    oq_pool_run(ctx->pool, split_task, &a, oq_pool_threads_for(ctx->pool, bytes, OQ_MV_MIN_BYTES_PER_THREAD));
    return OQ_OK;
}

const struct oq_op_def oq_op_split = {
    .domain  = "",
    .name    = "Split",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = split_check,
    .infer   = split_infer,
    .prepare = split_prepare,
    .run     = split_run,
    .destroy = free,
};
