/* MaxPool: 1-D to 3-D windows (kernel_shape, strides, pads, auto_pad, dilations, ceil_mode) over float,
 * int8 and uint8 (pure selection, so quantized activations pass through exactly). Padding never wins:
 * taps outside the input are skipped, not compared. The optional Indices output (int64, flattened over
 * the whole input; storage_order 1 = column-major within each plane) is computed for every dtype; ties
 * keep the first maximum in row-major window order.
 * Threads take ranges of output rows across all (n, c) planes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"
#include "ops/pool_common.h"

static oq_status maxpool_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 2));
    return oq_pool_geom_check(n, err, n->opset >= 10);
}

static oq_status maxpool_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT && x->dtype != OQ_DTYPE_INT8 && x->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 has dtype %s; float, int8 and uint8 are supported",
                           oq_dtype_name(x->dtype));
    struct oq_pool_geom g;
    OQ_TRY(oq_pool_geom_init(ctx, ctx->node->opset >= 10, &g));
    int64_t dims[OQ_MAX_DIMS];
    oq_pool_geom_out_dims(ctx, &g, dims);
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, dims);
    if (ctx->n_out > 1)
        oq_op_set_output(ctx, 1, OQ_DTYPE_INT64, x->ndim, dims);
    return OQ_OK;
}

static oq_status maxpool_prepare(struct oq_op_ctx *ctx) {
    struct oq_pool_geom *g = oq_mv_priv(ctx, sizeof(*g));
    if (!g)
        return OQ_ERR_NOMEM;
    return oq_pool_geom_init(ctx, ctx->node->opset >= 10, g);
}

struct maxpool_args {
    const struct oq_pool_geom *g;
    const void *x;
    void *y;
    int64_t *ind;
    int64_t rows;
};

/* Flattened index of input (id, ih, iw) within a plane, in the requested storage order. */
static inline int64_t maxpool_index(const struct oq_pool_geom *g, int64_t id, int64_t ih, int64_t iw) {
    if (g->storage_order == 0)
        return (id * g->in[1] + ih) * g->in[2] + iw;
    return (iw * g->in[1] + ih) * g->in[0] + id;
}

/* One output column with clipping (borders, dilated taps, or when indices are wanted). */
#define OQ_MAXPOOL_COL(T, LOWEST)                                                                       \
    do {                                                                                                \
        int64_t sw, kw0, kw1;                                                                           \
        oq_pool_taps(g, 2, ow, 0, g->in[2], &sw, &kw0, &kw1);                                           \
        T best = LOWEST;                                                                                \
        int64_t bi = -1;                                                                                \
        for (int64_t kd = kd0; kd < kd1; kd++) {                                                        \
            int64_t id = sd + kd * g->d[0];                                                             \
            for (int64_t kh = kh0; kh < kh1; kh++) {                                                    \
                int64_t ih = sh + kh * g->d[1];                                                         \
                const T *xr = xp + (id * g->in[1] + ih) * g->in[2];                                     \
                for (int64_t kw = kw0; kw < kw1; kw++) {                                                \
                    int64_t iw = sw + kw * g->d[2];                                                     \
                    if (xr[iw] > best || bi < 0) {                                                      \
                        best = xr[iw];                                                                  \
                        bi = maxpool_index(g, id, ih, iw);                                              \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
        yr[ow] = best;                                                                                  \
        if (ir)                                                                                         \
            ir[ow] = pl * plane_in + (bi < 0 ? 0 : bi);                                                 \
    } while (0)

/* Rows of output; the interior columns (windows fully inside along W) run tap-outer, column-inner so the
 * inner loop is a unit- or fixed-stride max that vectorizes. */
#define OQ_MAXPOOL_TASK(NAME, T, LOWEST)                                                                \
    static void NAME(void *arg, int ith, int nth) {                                                     \
        const struct maxpool_args *a = arg;                                                             \
        const struct oq_pool_geom *g = a->g;                                                            \
        const T *x = a->x;                                                                              \
        T *y = a->y;                                                                                    \
        int64_t r0, r1, wa, wb;                                                                         \
        oq_split(a->rows, ith, nth, &r0, &r1);                                                          \
        oq_pool_interior_w(g, &wa, &wb);                                                                \
        if (a->ind)                                                                                     \
            wa = wb = 0;                                                                                \
        int64_t plane_in = g->in[0] * g->in[1] * g->in[2], s = g->s[2], nw = wb - wa;                   \
        for (int64_t r = r0; r < r1; r++) {                                                             \
            int64_t oh = r % g->out[1], t = r / g->out[1];                                              \
            int64_t od = t % g->out[0], pl = t / g->out[0];                                             \
            const T *xp = x + pl * plane_in;                                                            \
            T *yr = y + r * g->out[2];                                                                  \
            int64_t *ir = a->ind ? a->ind + r * g->out[2] : NULL;                                       \
            int64_t sd, kd0, kd1, sh, kh0, kh1;                                                         \
            oq_pool_taps(g, 0, od, 0, g->in[0], &sd, &kd0, &kd1);                                       \
            oq_pool_taps(g, 1, oh, 0, g->in[1], &sh, &kh0, &kh1);                                       \
            for (int64_t ow = 0; ow < wa; ow++)                                                         \
                OQ_MAXPOOL_COL(T, LOWEST);                                                              \
            for (int64_t ow = wb; ow < g->out[2]; ow++)                                                 \
                OQ_MAXPOOL_COL(T, LOWEST);                                                              \
            if (nw <= 0)                                                                                \
                continue;                                                                               \
            T *yi = yr + wa;                                                                            \
            for (int64_t i = 0; i < nw; i++)                                                            \
                yi[i] = LOWEST;                                                                         \
            for (int64_t kd = kd0; kd < kd1; kd++)                                                      \
                for (int64_t kh = kh0; kh < kh1; kh++) {                                                \
                    const T *xr = xp + ((sd + kd * g->d[0]) * g->in[1] + sh + kh * g->d[1]) * g->in[2] + \
                                  wa * s - g->pb[2];                                                    \
                    for (int64_t kw = 0; kw < g->k[2]; kw++) {                                          \
                        const T *src = xr + kw * g->d[2];                                               \
                        if (s == 1)                                                                     \
                            for (int64_t i = 0; i < nw; i++)                                            \
                                yi[i] = src[i] > yi[i] ? src[i] : yi[i];                                \
                        else if (s == 2)                                                                \
                            for (int64_t i = 0; i < nw; i++)                                            \
                                yi[i] = src[2 * i] > yi[i] ? src[2 * i] : yi[i];                        \
                        else                                                                            \
                            for (int64_t i = 0; i < nw; i++)                                            \
                                yi[i] = src[i * s] > yi[i] ? src[i * s] : yi[i];                        \
                    }                                                                                   \
                }                                                                                       \
        }                                                                                               \
    }

OQ_MAXPOOL_TASK(maxpool_f32, float, -INFINITY)
OQ_MAXPOOL_TASK(maxpool_s8, int8_t, INT8_MIN)
OQ_MAXPOOL_TASK(maxpool_u8, uint8_t, 0)

static oq_status maxpool_run(struct oq_op_ctx *ctx) {
    const struct oq_pool_geom *g = ctx->priv;
    const struct oq_tensor *x = ctx->in[0];
    struct maxpool_args a = {g, x->data, ctx->out[0]->data, NULL, g->planes * g->out[0] * g->out[1]};
    if (ctx->n_out > 1 && ctx->out[1])
        a.ind = ctx->out[1]->data;
    oq_task_fn fn = x->dtype == OQ_DTYPE_FLOAT ? maxpool_f32 : x->dtype == OQ_DTYPE_INT8 ? maxpool_s8 : maxpool_u8;
    int64_t work = oq_tensor_numel(ctx->out[0]) * g->k[0] * g->k[1] * g->k[2];
    oq_pool_run(ctx->pool, fn, &a, oq_pool_threads_for(ctx->pool, work, 16384));
    return OQ_OK;
}

const struct oq_op_def oq_op_maxpool = {
    .domain  = "",
    .name    = "MaxPool",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = maxpool_check,
    .infer   = maxpool_infer,
    .prepare = maxpool_prepare,
    .run     = maxpool_run,
    .destroy = free,
};
