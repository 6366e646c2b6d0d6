/* Softmax (and, through oq_softmax_run(ctx, true), LogSoftmax in logsoftmax.c), float.
 *
 * Opset semantics: before 13 the input is coerced to 2-D at `axis` (default 1): rows are dims[:axis],
 * each row is the flattened dims[axis:]. From 13 the op works along the single dim `axis` (default -1),
 * i.e. over [outer, n, inner] with the reduction along n.
 *
 * Numerics: each row subtracts its max before e^x (oq_expf, < 2 ulp), sums in float lanes with a double
 * across blocks, and multiplies by 1/sum; LogSoftmax is (x - max) - log(sum). When inner > 1 the reduction
 * runs down columns, a tile of up to SM_TILE columns at a time, so every loop stays contiguous. */
#include <stdlib.h>

#include "ops/elementwise.h"

enum { SM_TILE = 128 };

struct sm_geom {
    int64_t outer, n, inner;
};

struct sm_job {
    const float *x;
    float *y;
    struct sm_geom g;
    bool log;
};

static float max8(const float *x, int64_t n) {
    float acc[8];
    for (int k = 0; k < 8; k++)
        acc[k] = -INFINITY;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] = x[i + k] > acc[k] ? x[i + k] : acc[k];
    float m = -INFINITY;
    for (int k = 0; k < 8; k++)
        m = acc[k] > m ? acc[k] : m;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

static void sm_row(const float *x, float *y, int64_t n, bool log) {
    float m = max8(x, n);
    oq_ew_exp_row(y, x, n, m);
    double s = oq_ew_sum_f32(y, n);
    if (log) { /* (x - max) first: exact for nearby values, so large inputs keep their precision */
        float ls = logf((float)s);
        for (int64_t i = 0; i < n; i++)
            y[i] = (x[i] - m) - ls;
    } else {
        float inv = (float)(1.0 / s);
        for (int64_t i = 0; i < n; i++)
            y[i] *= inv;
    }
}

/* Columns [0, w) of one [n, inner] block: x and y point at column 0 of the tile. */
static void sm_tile(const float *x, float *y, int64_t n, int64_t inner, int64_t w, bool log) {
    float m[SM_TILE], s[SM_TILE];
    for (int64_t j = 0; j < w; j++) {
        m[j] = -INFINITY;
        s[j] = 0.0f;
    }
    for (int64_t k = 0; k < n; k++) {
        const float *xr = x + k * inner;
        for (int64_t j = 0; j < w; j++)
            m[j] = xr[j] > m[j] ? xr[j] : m[j];
    }
    for (int64_t k = 0; k < n; k++) {
        const float *xr = x + k * inner;
        float *yr       = y + k * inner;
        for (int64_t j = 0; j < w; j++)
            yr[j] = xr[j] - m[j];
        oq_ew_exp_row(yr, yr, w, 0.0f);
        for (int64_t j = 0; j < w; j++)
            s[j] += yr[j];
    }
    if (log) {
        for (int64_t j = 0; j < w; j++)
            s[j] = logf(s[j]);
        for (int64_t k = 0; k < n; k++)
            for (int64_t j = 0; j < w; j++)
                y[k * inner + j] = (x[k * inner + j] - m[j]) - s[j];
    } else {
        for (int64_t j = 0; j < w; j++)
            s[j] = 1.0f / s[j];
        for (int64_t k = 0; k < n; k++)
            for (int64_t j = 0; j < w; j++)
                y[k * inner + j] *= s[j];
    }
}

static void sm_task(void *arg, int ith, int nth) {
    const struct sm_job *j  = arg;
    const struct sm_geom *g = &j->g;
    if (g->inner == 1) {
        int64_t b, e;
        oq_split(g->outer, ith, nth, &b, &e);
        for (int64_t r = b; r < e; r++)
            sm_row(j->x + r * g->n, j->y + r * g->n, g->n, j->log);
        return;
    }
    int64_t tiles = (g->inner + SM_TILE - 1) / SM_TILE, b, e;
    oq_split(g->outer * tiles, ith, nth, &b, &e);
    for (int64_t t = b; t < e; t++) {
        int64_t o = t / tiles, c0 = (t % tiles) * SM_TILE;
        int64_t w   = g->inner - c0 < SM_TILE ? g->inner - c0 : SM_TILE;
        int64_t off = o * g->n * g->inner + c0;
        sm_tile(j->x + off, j->y + off, g->n, g->inner, w, j->log);
    }
}

static oq_status sm_geometry(struct oq_op_ctx *ctx, struct sm_geom *g) {
    const struct oq_tensor *x = ctx->in[0];
    bool legacy               = ctx->node->opset < 13;
    int axis;
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", legacy ? 1 : -1), x->ndim, &axis));
    g->outer = oq_shape_numel(axis, x->dims);
    if (legacy) {
        g->n     = oq_shape_numel(x->ndim - axis, x->dims + axis);
        g->inner = 1;
    } else {
        g->n     = x->dims[axis];
        g->inner = oq_shape_numel(x->ndim - axis - 1, x->dims + axis + 1);
    }
    return OQ_OK;
}

oq_status oq_softmax_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 0 ('%s') has dtype %s; only float is supported",
                           x->name ? x->name : "?",
                           oq_dtype_name(x->dtype));
    if (x->ndim == 0)
        return oq_op_error(ctx,
                           OQ_ERR_SHAPE,
                           "input 0 ('%s') is a scalar; %s needs rank >= 1",
                           x->name ? x->name : "?",
                           ctx->node->op_type);
    struct sm_geom g;
    OQ_TRY(sm_geometry(ctx, &g));
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, x->dims);
    return OQ_OK;
}

static oq_status sm_prepare(struct oq_op_ctx *ctx) {
    if (!ctx->priv && !(ctx->priv = malloc(sizeof(struct sm_geom))))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    return sm_geometry(ctx, ctx->priv);
}

oq_status oq_softmax_run(struct oq_op_ctx *ctx, bool log) {
    struct sm_job j = {.x = ctx->in[0]->data, .y = ctx->out[0]->data, .log = log};
    if (ctx->priv)
        j.g = *(const struct sm_geom *)ctx->priv;
    else
        OQ_TRY(sm_geometry(ctx, &j.g)); /* run without prepare (not used by the session) */
    int64_t total = j.g.outer * j.g.n * j.g.inner;
    if (total <= 0)
        return OQ_OK;
    int64_t units = j.g.inner == 1 ? j.g.outer : j.g.outer * ((j.g.inner + SM_TILE - 1) / SM_TILE);
    int nth       = oq_pool_threads_for(ctx->pool, total, 16384);
    oq_pool_run(ctx->pool, sm_task, &j, nth < units ? nth : (int)units);
    return OQ_OK;
}

static oq_status softmax_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

oq_status oq_softmax_prepare(struct oq_op_ctx *ctx) {
    return sm_prepare(ctx);
}

static oq_status softmax_run(struct oq_op_ctx *ctx) {
    return oq_softmax_run(ctx, false);
}

const struct oq_op_def oq_op_softmax = {
    .domain  = "",
    .name    = "Softmax",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = softmax_check,
    .infer   = oq_softmax_infer,
    .prepare = sm_prepare,
    .run     = softmax_run,
    .destroy = free,
};
