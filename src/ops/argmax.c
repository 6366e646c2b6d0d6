/* ArgMax (and, through oq_arg_run(ctx, false), ArgMin in argmin.c): int64 index of the extreme element
 * along `axis` (default 0), keepdims (default 1), select_last_index (opset 12+, default 0: first
 * occurrence wins ties). Float, int32 and int64 inputs. With inner dims after the axis the scan runs down
 * columns a tile at a time so the loads stay contiguous. */
#include <stdlib.h>

#include "ops/elementwise.h"
#include "ops/reduce.h"

enum { ARG_TILE = 128 };

struct arg_geom {
    int64_t outer, n, inner;
    bool last;
};

struct arg_job;
typedef void (*arg_fn)(const struct arg_job *j, int64_t o);

struct arg_job {
    const void *x;
    int64_t *y;
    struct arg_geom g;
    bool is_max;
    arg_fn fn;
};

/* better(v, b): v replaces the current best b. Ties replace only with select_last_index. */
#define ARG_KERNEL(sfx, T)                                                                                   \
    static void arg_##sfx(const struct arg_job *j, int64_t o) {                                              \
        const struct arg_geom *g = &j->g;                                                                    \
        const T *x               = (const T *)j->x + o * g->n * g->inner;                                    \
        int64_t *y               = j->y + o * g->inner;                                                      \
        bool mx = j->is_max, last = g->last;                                                                 \
        for (int64_t c0 = 0; c0 < g->inner; c0 += ARG_TILE) {                                                \
            int64_t w = g->inner - c0 < ARG_TILE ? g->inner - c0 : ARG_TILE;                                 \
            T best[ARG_TILE];                                                                                \
            for (int64_t c = 0; c < w; c++) {                                                                \
                best[c]   = x[c0 + c];                                                                       \
                y[c0 + c] = 0;                                                                               \
            }                                                                                                \
            for (int64_t k = 1; k < g->n; k++) {                                                             \
                const T *xr = x + k * g->inner + c0;                                                         \
                for (int64_t c = 0; c < w; c++) {                                                            \
                    T v = xr[c], b = best[c];                                                                \
                    bool take = mx ? (last ? v >= b : v > b) : (last ? v <= b : v < b);                      \
                    if (take) {                                                                              \
                        best[c]   = v;                                                                       \
                        y[c0 + c] = k;                                                                       \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }
ARG_KERNEL(f32, float)
ARG_KERNEL(i32, int32_t)
ARG_KERNEL(i64, int64_t)

static arg_fn arg_kernel(enum oq_dtype dt) {
    switch (dt) {
    case OQ_DTYPE_FLOAT:
        return arg_f32;
    case OQ_DTYPE_INT32:
        return arg_i32;
    case OQ_DTYPE_INT64:
        return arg_i64;
    default:
        return NULL;
    }
}

static void arg_task(void *arg, int ith, int nth) {
    const struct arg_job *j = arg;
    int64_t b, e;
    oq_split(j->g.outer, ith, nth, &b, &e);
    for (int64_t o = b; o < e; o++)
        j->fn(j, o);
}

oq_status oq_arg_check(const struct oq_node *n, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status arg_geometry(struct oq_op_ctx *ctx, struct arg_geom *g, int *axis) {
    const struct oq_tensor *x = ctx->in[0];
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 0), x->ndim, axis));
    g->outer = oq_shape_numel(*axis, x->dims);
    g->n     = x->dims[*axis];
    g->inner = oq_shape_numel(x->ndim - *axis - 1, x->dims + *axis + 1);
    g->last  = oq_attr_int(ctx->node, "select_last_index", 0) != 0;
    return OQ_OK;
}

oq_status oq_arg_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (!arg_kernel(x->dtype))
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 0 ('%s') has dtype %s; %s supports float, int32, int64",
                           x->name ? x->name : "?",
                           oq_dtype_name(x->dtype),
                           ctx->node->op_type);
    if (x->ndim == 0)
        return oq_op_error(ctx,
                           OQ_ERR_SHAPE,
                           "input 0 ('%s') is a scalar; %s needs rank >= 1",
                           x->name ? x->name : "?",
                           ctx->node->op_type);
    struct arg_geom g;
    int axis;
    OQ_TRY(arg_geometry(ctx, &g, &axis));
    if (g.n == 0)
        return oq_op_error(ctx,
                           OQ_ERR_SHAPE,
                           "input 0 ('%s') has size 0 along axis %d; there is no extreme to pick",
                           x->name ? x->name : "?",
                           axis);
    bool keep = oq_attr_int(ctx->node, "keepdims", 1) != 0;
    int64_t dims[OQ_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != axis)
            dims[nd++] = x->dims[d];
        else if (keep)
            dims[nd++] = 1;
    }
    oq_op_set_output(ctx, 0, OQ_DTYPE_INT64, nd, dims);
    return OQ_OK;
}

oq_status oq_arg_prepare(struct oq_op_ctx *ctx) {
    if (!ctx->priv && !(ctx->priv = malloc(sizeof(struct arg_geom))))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    int axis;
    return arg_geometry(ctx, ctx->priv, &axis);
}

oq_status oq_arg_run(struct oq_op_ctx *ctx, bool is_max) {
    struct arg_job j = {.x = ctx->in[0]->data, .y = ctx->out[0]->data, .is_max = is_max};
    j.g              = *(const struct arg_geom *)ctx->priv;
    j.fn             = arg_kernel(ctx->in[0]->dtype);
    int64_t total    = j.g.outer * j.g.n * j.g.inner;
    if (total <= 0)
        return OQ_OK;
    int nth = oq_pool_threads_for(ctx->pool, total, 16384);
    oq_pool_run(ctx->pool, arg_task, &j, nth < j.g.outer ? nth : (int)j.g.outer);
    return OQ_OK;
}

static oq_status argmax_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_arg_check(n, err);
}

static oq_status argmax_run(struct oq_op_ctx *ctx) {
    return oq_arg_run(ctx, true);
}

const struct oq_op_def oq_op_argmax = {
    .domain  = "",
    .name    = "ArgMax",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = argmax_check,
    .infer   = oq_arg_infer,
    .prepare = oq_arg_prepare,
    .run     = argmax_run,
    .destroy = free,
};
