/* Slice: starts/ends/axes are attributes before opset 10; from 10 they (and steps) are inputs, read at plan
 * time. Per the spec, negative starts/ends count from the end, then are clamped to [0, dim] for positive
 * steps and to [0, dim-1] / [-1, dim-1] for negative steps. Any dtype; the copy is a strided gather
 * (negative strides for negative steps), row memcpys when the innermost step is 1. */
#include <stdlib.h>

#include "ops/movement.h"

struct slice_priv {
    int64_t start[OQ_MAX_DIMS], step[OQ_MAX_DIMS];
};

static oq_status slice_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->opset >= 10)
        return oq_check_arity(n, err, 3, 5, 1, 1);
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    const int64_t *s, *e;
    int64_t ns = oq_attr_ints(n, "starts", &s), ne = oq_attr_ints(n, "ends", &e);
    if (ns < 0 || ne < 0)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attributes 'starts' and 'ends' are required before opset 10");
    if (ns != ne)
        return oq_node_error(n, err, OQ_ERR_MODEL, "'starts' has %lld entries but 'ends' has %lld", (long long)ns,
                             (long long)ne);
    return OQ_OK;
}

/* Per-dim start, step and output size. */
static oq_status slice_params(struct oq_op_ctx *ctx, int64_t *start, int64_t *step, int64_t *size) {
    const struct oq_tensor *x = ctx->in[0];
    int r = x->ndim;
    int64_t st[OQ_MAX_DIMS], en[OQ_MAX_DIMS], ax[OQ_MAX_DIMS], sp[OQ_MAX_DIMS];
    int ns = 0, ne = 0, na = -1, nsp = -1;
    if (ctx->node->opset >= 10) {
        OQ_TRY(oq_op_const_ints(ctx, 1, st, OQ_MAX_DIMS, &ns));
        OQ_TRY(oq_op_const_ints(ctx, 2, en, OQ_MAX_DIMS, &ne));
        if (oq_mv_has_input(ctx, 3))
            OQ_TRY(oq_op_const_ints(ctx, 3, ax, OQ_MAX_DIMS, &na));
        if (oq_mv_has_input(ctx, 4))
            OQ_TRY(oq_op_const_ints(ctx, 4, sp, OQ_MAX_DIMS, &nsp));
    } else {
        const int64_t *v;
        int64_t c = oq_attr_ints(ctx->node, "starts", &v);
        if (c > r)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "'starts' has %lld entries for an input of rank %d", (long long)c, r);
        for (ns = 0; ns < c; ns++)
            st[ns] = v[ns];
        c = oq_attr_ints(ctx->node, "ends", &v);
        if (c > r)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "'ends' has %lld entries for an input of rank %d", (long long)c, r);
        for (ne = 0; ne < c; ne++)
            en[ne] = v[ne];
        c = oq_attr_ints(ctx->node, "axes", &v);
        if (c > r)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "'axes' has %lld entries for an input of rank %d", (long long)c, r);
        if (c >= 0)
            for (na = 0; na < c; na++)
                ax[na] = v[na];
    }
    if (ns != ne)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "starts has %d values but ends has %d", ns, ne);
    if (na >= 0 && na != ns)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "axes has %d values but starts has %d", na, ns);
    if (nsp >= 0 && nsp != ns)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "steps has %d values but starts has %d", nsp, ns);
    int axes[OQ_MAX_DIMS];
    if (na < 0) {
        if (ns > r)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "starts has %d values for an input of rank %d", ns, r);
        for (int i = 0; i < ns; i++)
            axes[i] = i;
    } else {
        OQ_TRY(oq_mv_axes(ctx, "axes", ax, na, r, axes));
    }
    for (int d = 0; d < r; d++) {
        start[d] = 0;
        step[d] = 1;
        size[d] = x->dims[d];
    }
    for (int i = 0; i < ns; i++) {
        int d = axes[i];
        int64_t dim = x->dims[d], s = st[i], e = en[i], k = nsp >= 0 ? sp[i] : 1;
        if (k == 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "steps[%d] is 0", i);
        if (s < 0)
            s += dim;
        if (e < 0)
            e += dim;
        if (k > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        }
        int64_t n;
        if (k < -INT64_MAX)
            k = -INT64_MAX; /* so that -k does not overflow; any step beyond dim behaves the same */
        if (k > 0)
            n = e > s ? (e - s - 1) / k + 1 : 0;
        else
            n = s > e ? (s - e - 1) / (-k) + 1 : 0;
        start[d] = n > 0 ? s : 0;
        step[d] = k;
        size[d] = n;
    }
    return OQ_OK;
}

static oq_status slice_infer(struct oq_op_ctx *ctx) {
    int64_t start[OQ_MAX_DIMS], step[OQ_MAX_DIMS], size[OQ_MAX_DIMS];
    OQ_TRY(slice_params(ctx, start, step, size));
    oq_op_set_output(ctx, 0, ctx->in[0]->dtype, ctx->in[0]->ndim, size);
    return OQ_OK;
}

static oq_status slice_prepare(struct oq_op_ctx *ctx) {
    struct slice_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    int64_t size[OQ_MAX_DIMS];
    return slice_params(ctx, p->start, p->step, size);
}

static oq_status slice_run(struct oq_op_ctx *ctx) {
    const struct slice_priv *p = ctx->priv;
    const struct oq_tensor *x = ctx->in[0];
    struct oq_tensor *y = ctx->out[0];
    if (oq_tensor_numel(y) == 0)
        return OQ_OK;
    int64_t ist[OQ_MAX_DIMS], st[OQ_MAX_DIMS], off = 0;
    oq_shape_strides(x->ndim, x->dims, ist);
    for (int d = 0; d < x->ndim; d++) {
        off += p->start[d] * ist[d];
        st[d] = p->step[d] * ist[d];
    }
    size_t esz = oq_dtype_size(x->dtype);
    oq_mv_copy_strided(ctx->pool, y->data, (const char *)x->data + off * (int64_t)esz, esz, y->ndim, y->dims, st);
    return OQ_OK;
}

const struct oq_op_def oq_op_slice = {
    .domain  = "",
    .name    = "Slice",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = slice_check,
    .infer   = slice_infer,
    .prepare = slice_prepare,
    .run     = slice_run,
    .destroy = free,
};
