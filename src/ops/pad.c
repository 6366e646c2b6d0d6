/* Pad: modes constant, reflect, edge (and wrap, opset 19). `pads` ([x1_begin, x2_begin, ..., x1_end, ...],
 * negative = crop) and `value` are attributes before opset 11; from 11 they are inputs (pads read at plan
 * time, constant_value at run), with `axes` (input 3) from opset 18. Any dtype.
 *
 * prepare() builds, per output dim, the source index of every output coordinate (-1 = constant padding);
 * run() walks output rows: a row whose outer coordinates fall in the padding is filled with the constant,
 * otherwise its middle is one memcpy and its two ends are looked up in the last dim's table. */
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"

enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

struct pad_priv {
    enum pad_mode mode;
    int r;
    int64_t pb[OQ_MAX_DIMS];       /* begin pads */
    int64_t *map[OQ_MAX_DIMS];     /* per output dim: source index or -1 */
    int64_t *buf;
    size_t buf_len;
    unsigned char value[16];       /* constant value (attribute form, before opset 11) */
};

static void pad_destroy(void *priv) {
    struct pad_priv *p = priv;
    if (p)
        free(p->buf);
    free(p);
}

static oq_status pad_mode(const struct oq_node *n, oq_error *err, enum pad_mode *m) {
    const char *s = oq_attr_string(n, "mode", "constant");
    if (!strcmp(s, "constant"))
        *m = PAD_CONSTANT;
    else if (!strcmp(s, "reflect"))
        *m = PAD_REFLECT;
    else if (!strcmp(s, "edge"))
        *m = PAD_EDGE;
    else if (!strcmp(s, "wrap") && n->opset >= 19)
        *m = PAD_WRAP;
    else
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "mode '%s' is not supported (constant, reflect, edge; wrap from opset 19)", s);
    return OQ_OK;
}

static oq_status pad_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    enum pad_mode m;
    if (n->opset >= 11)
        OQ_TRY(oq_check_arity(n, err, 2, n->opset >= 18 ? 4 : 3, 1, 1));
    else {
        OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
        const int64_t *v;
        if (oq_attr_ints(n, "pads", &v) < 0 && oq_attr_ints(n, "paddings", &v) < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'pads' is required before opset 11");
    }
    return pad_mode(n, err, &m);
}

/* Full-rank begin/end pads. */
static oq_status pad_pads(struct oq_op_ctx *ctx, int64_t *pb, int64_t *pe) {
    const struct oq_tensor *x = ctx->in[0];
    int r = x->ndim;
    int64_t pads[2 * OQ_MAX_DIMS];
    int np = 0;
    if (ctx->node->opset >= 11) {
        OQ_TRY(oq_op_const_ints(ctx, 1, pads, 2 * OQ_MAX_DIMS, &np));
    } else {
        const int64_t *v;
        int64_t c = oq_attr_ints(ctx->node, "pads", &v);
        if (c < 0)
            c = oq_attr_ints(ctx->node, "paddings", &v);
        if (c > 2 * OQ_MAX_DIMS)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "'pads' has %lld values for an input of rank %d", (long long)c, r);
        for (np = 0; np < c; np++)
            pads[np] = v[np];
    }
    int axes[OQ_MAX_DIMS];
    int na = r;
    if (oq_mv_has_input(ctx, 3) && ctx->node->opset >= 18) {
        int64_t ax[OQ_MAX_DIMS];
        OQ_TRY(oq_op_const_ints(ctx, 3, ax, OQ_MAX_DIMS, &na));
        OQ_TRY(oq_mv_axes(ctx, "axes", ax, na, r, axes));
    } else {
        for (int d = 0; d < r; d++)
            axes[d] = d;
    }
    char b[400];
    if (np != 2 * na)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "pads %s has %d values, expected %d (2 x %d axes)",
                           oq_mv_ints_str(np, pads, b, sizeof(b)), np, 2 * na, na);
    for (int d = 0; d < r; d++)
        pb[d] = pe[d] = 0;
    for (int i = 0; i < na; i++) {
        pb[axes[i]] = pads[i];
        pe[axes[i]] = pads[na + i];
    }
    return OQ_OK;
}

static oq_status pad_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t pb[OQ_MAX_DIMS], pe[OQ_MAX_DIMS], out[OQ_MAX_DIMS];
    OQ_TRY(pad_pads(ctx, pb, pe));
    enum pad_mode m;
    OQ_TRY(pad_mode(ctx->node, ctx->err, &m));
    char xs[160];
    for (int d = 0; d < x->ndim; d++) {
        out[d] = x->dims[d] + pb[d] + pe[d];
        if (out[d] < 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "pads (%lld, %lld) on axis %d crop more than the %lld elements of input %s",
                               (long long)pb[d], (long long)pe[d], d, (long long)x->dims[d],
                               oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)));
        if (m != PAD_CONSTANT && x->dims[d] == 0 && out[d] > 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "cannot pad the empty axis %d in a non-constant mode", d);
    }
    if (ctx->node->opset >= 11 && oq_mv_has_input(ctx, 2)) {
        const struct oq_tensor *cv = ctx->in[2];
        if (cv->dtype != x->dtype)
            return oq_op_error(ctx, OQ_ERR_MODEL, "input 2 (constant_value) has dtype %s, input 0 has %s",
                               oq_dtype_name(cv->dtype), oq_dtype_name(x->dtype));
        if (oq_tensor_numel(cv) > 1)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "input 2 (constant_value) must be a scalar");
    }
    if (oq_dtype_size(x->dtype) > 16 || oq_dtype_size(x->dtype) == 0)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "dtype %s is not supported", oq_dtype_name(x->dtype));
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, out);
    return OQ_OK;
}

static int64_t pad_map(enum pad_mode m, int64_t i, int64_t n) {
    if (i >= 0 && i < n)
        return i;
    switch (m) {
    case PAD_EDGE:
        return i < 0 ? 0 : n - 1;
    case PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t per = 2 * n - 2;
        i = ((i % per) + per) % per;
        return i >= n ? per - i : i;
    }
    case PAD_WRAP:
        return ((i % n) + n) % n;
    default:
        return -1;
    }
}

static oq_status pad_prepare(struct oq_op_ctx *ctx) {
    struct pad_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    const struct oq_tensor *x = ctx->in[0], *y = ctx->out[0];
    int64_t pe[OQ_MAX_DIMS];
    OQ_TRY(pad_pads(ctx, p->pb, pe));
    OQ_TRY(pad_mode(ctx->node, ctx->err, &p->mode));
    p->r = x->ndim;
    size_t need = 0;
    for (int d = 0; d < p->r; d++)
        need += (size_t)y->dims[d];
    if (need > p->buf_len || !p->buf) {
        free(p->buf);
        p->buf = malloc((need ? need : 1) * sizeof(int64_t));
        p->buf_len = need;
        if (!p->buf)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    }
    int64_t *q = p->buf;
    for (int d = 0; d < p->r; d++) {
        p->map[d] = q;
        for (int64_t o = 0; o < y->dims[d]; o++)
            q[o] = pad_map(p->mode, o - p->pb[d], x->dims[d]);
        q += y->dims[d];
    }
    memset(p->value, 0, sizeof(p->value));
    if (ctx->node->opset < 11) {
        struct oq_tensor t = {.dtype = x->dtype, .ndim = 0, .data = p->value};
        oq_tensor_set_f64(&t, 0, oq_attr_float(ctx->node, "value", 0.0f));
    }
    return OQ_OK;
}

struct pad_args {
    const struct pad_priv *p;
    const struct oq_tensor *x, *y;
    const unsigned char *value;
    size_t esz;
    int64_t rows;
};

static void fill(char *d, const unsigned char *v, int64_t n, size_t esz) {
    bool zero = true;
    for (size_t k = 0; k < esz; k++)
        zero = zero && v[k] == 0;
    if (zero) {
        memset(d, 0, (size_t)n * esz);
        return;
    }
    switch (esz) {
    case 1: memset(d, v[0], (size_t)n); break;
    case 4: {
        uint32_t w;
        memcpy(&w, v, 4);
        for (int64_t i = 0; i < n; i++)
            memcpy(d + i * 4, &w, 4);
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(d + (size_t)i * esz, v, esz);
    }
}

static void pad_task(void *arg, int ith, int nth) {
    const struct pad_args *a = arg;
    const struct pad_priv *p = a->p;
    int r = p->r;
    size_t esz = a->esz;
    int64_t w = r ? a->y->dims[r - 1] : 1, iw = r ? a->x->dims[r - 1] : 1;
    int64_t xst[OQ_MAX_DIMS];
    oq_shape_strides(r, a->x->dims, xst);
    const int64_t *lm = r ? p->map[r - 1] : NULL;
    int64_t pbl = r ? p->pb[r - 1] : 0;
    int64_t lo = pbl > 0 ? pbl : 0, hi = iw + pbl < w ? iw + pbl : w; /* output range copied as a block */
    int64_t r0, r1;
    oq_split(a->rows, ith, nth, &r0, &r1);
    for (int64_t row = r0; row < r1; row++) {
        char *dst = (char *)a->y->data + (size_t)(row * w) * esz;
        int64_t rem = row, off = 0;
        bool outside = false;
        for (int d = r - 2; d >= 0; d--) {
            int64_t o = rem % a->y->dims[d];
            rem /= a->y->dims[d];
            int64_t i = p->map[d][o];
            if (i < 0)
                outside = true;
            else
                off += i * xst[d];
        }
        if (outside) {
            fill(dst, a->value, w, esz);
            continue;
        }
        if (r == 0) {
            memcpy(dst, a->x->data, esz);
            continue;
        }
        const char *src = (const char *)a->x->data + (size_t)off * esz;
        for (int64_t o = 0; o < w; o++) {
            if (o == lo && hi > lo) {
                memcpy(dst + (size_t)lo * esz, src + (size_t)(lo - pbl) * esz, (size_t)(hi - lo) * esz);
                o = hi - 1;
                continue;
            }
            int64_t i = lm[o];
            if (i < 0)
                memcpy(dst + (size_t)o * esz, a->value, esz);
            else
                memcpy(dst + (size_t)o * esz, src + (size_t)i * esz, esz);
        }
    }
}

static oq_status pad_run(struct oq_op_ctx *ctx) {
    const struct pad_priv *p = ctx->priv;
    const struct oq_tensor *y = ctx->out[0];
    struct pad_args a = {p, ctx->in[0], y, p->value, oq_dtype_size(y->dtype), 0};
    if (ctx->node->opset >= 11 && oq_mv_has_input(ctx, 2) && oq_tensor_numel(ctx->in[2]) == 1)
        a.value = ctx->in[2]->data;
    int64_t n = oq_tensor_numel(y);
    if (n == 0)
        return OQ_OK;
    a.rows = p->r ? n / y->dims[p->r - 1] : 1;
    oq_pool_run(ctx->pool, pad_task, &a,
                oq_pool_threads_for(ctx->pool, n * (int64_t)a.esz, OQ_MV_MIN_BYTES_PER_THREAD));
    return OQ_OK;
}

const struct oq_op_def oq_op_pad = {
    .domain  = "",
    .name    = "Pad",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = pad_check,
    .infer   = pad_infer,
    .prepare = pad_prepare,
    .run     = pad_run,
    .destroy = pad_destroy,
};
