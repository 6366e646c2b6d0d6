/* AveragePool over float: 1-D to 3-D windows (kernel_shape, strides, pads, auto_pad, ceil_mode; dilations
 * from opset 19). The divisor follows the ONNX reference: with count_include_pad, the taps inside the
 * explicitly padded extent [-pad_begin, in + pad_end) (the extra taps ceil_mode adds past it never count);
 * without, the taps inside the input. Threads take ranges of output rows across all (n, c) planes. */
#include <stdlib.h>

#include "ops/movement.h"
#include "ops/pool_common.h"

static oq_status avgpool_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    return oq_pool_geom_check(n, err, n->opset >= 19);
}

static oq_status avgpool_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 has dtype %s; only float is supported",
                           oq_dtype_name(x->dtype));
    struct oq_pool_geom g;
    OQ_TRY(oq_pool_geom_init(ctx, ctx->node->opset >= 19, &g));
    int64_t dims[OQ_MAX_DIMS];
    oq_pool_geom_out_dims(ctx, &g, dims);
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, dims);
    return OQ_OK;
}

static oq_status avgpool_prepare(struct oq_op_ctx *ctx) {
    struct oq_pool_geom *g = oq_mv_priv(ctx, sizeof(*g));
    if (!g)
        return OQ_ERR_NOMEM;
    return oq_pool_geom_init(ctx, ctx->node->opset >= 19, g);
}

struct avgpool_args {
    const struct oq_pool_geom *g;
    const float *x;
    float *y;
    int64_t rows;
};

/* Rows of output; interior columns (windows fully inside along W) are summed tap-outer, column-inner. */
static void avgpool_task(void *arg, int ith, int nth) {
    const struct avgpool_args *a = arg;
    const struct oq_pool_geom *g = a->g;
    int64_t r0, r1, wa, wb;
    oq_split(a->rows, ith, nth, &r0, &r1);
    oq_pool_interior_w(g, &wa, &wb);
    int64_t plane_in = g->in[0] * g->in[1] * g->in[2], s = g->s[2], nw = wb - wa;
    for (int64_t r = r0; r < r1; r++) {
        int64_t oh = r % g->out[1], t = r / g->out[1];
        int64_t od = t % g->out[0], pl = t / g->out[0];
        const float *xp = a->x + pl * plane_in;
        float *yr = a->y + r * g->out[2];
        int64_t sd, kd0, kd1, sh, kh0, kh1, u, c0, c1, cnt_dh;
        oq_pool_taps(g, 0, od, 0, g->in[0], &sd, &kd0, &kd1);
        oq_pool_taps(g, 1, oh, 0, g->in[1], &sh, &kh0, &kh1);
        if (g->count_include_pad) {
            oq_pool_taps(g, 0, od, -g->pb[0], g->in[0] + g->pe[0], &u, &c0, &c1);
            cnt_dh = c1 - c0;
            oq_pool_taps(g, 1, oh, -g->pb[1], g->in[1] + g->pe[1], &u, &c0, &c1);
            cnt_dh *= c1 - c0;
        } else {
            cnt_dh = (kd1 - kd0) * (kh1 - kh0);
        }
        for (int64_t ow = 0; ow < g->out[2]; ow++) {
            if (ow == wa && nw > 0) {
                ow = wb - 1;
                continue;
            }
            int64_t sw, kw0, kw1, cnt;
            oq_pool_taps(g, 2, ow, 0, g->in[2], &sw, &kw0, &kw1);
            if (g->count_include_pad) {
                oq_pool_taps(g, 2, ow, -g->pb[2], g->in[2] + g->pe[2], &u, &c0, &c1);
                cnt = cnt_dh * (c1 - c0);
            } else {
                cnt = cnt_dh * (kw1 - kw0);
            }
            float sum = 0.0f;
            for (int64_t kd = kd0; kd < kd1; kd++) {
                int64_t id = sd + kd * g->d[0];
                for (int64_t kh = kh0; kh < kh1; kh++) {
                    const float *xr = xp + (id * g->in[1] + sh + kh * g->d[1]) * g->in[2] + sw;
                    for (int64_t kw = kw0; kw < kw1; kw++)
                        sum += xr[kw * g->d[2]];
                }
            }
            yr[ow] = cnt > 0 ? sum / (float)cnt : 0.0f;
        }
        if (nw <= 0)
            continue;
        float *yi = yr + wa;
        for (int64_t i = 0; i < nw; i++)
            yi[i] = 0.0f;
        for (int64_t kd = kd0; kd < kd1; kd++)
            for (int64_t kh = kh0; kh < kh1; kh++) {
                const float *xr =
                    xp + ((sd + kd * g->d[0]) * g->in[1] + sh + kh * g->d[1]) * g->in[2] + wa * s - g->pb[2];
                for (int64_t kw = 0; kw < g->k[2]; kw++) {
                    const float *src = xr + kw * g->d[2];
                    if (s == 1)
                        for (int64_t i = 0; i < nw; i++)
                            yi[i] += src[i];
                    else if (s == 2)
                        for (int64_t i = 0; i < nw; i++)
                            yi[i] += src[2 * i];
                    else
                        for (int64_t i = 0; i < nw; i++)
                            yi[i] += src[i * s];
                }
            }
        int64_t cnt = cnt_dh * g->k[2];
        float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
        for (int64_t i = 0; i < nw; i++)
            yi[i] *= inv;
    }
}

static oq_status avgpool_run(struct oq_op_ctx *ctx) {
    const struct oq_pool_geom *g = ctx->priv;
    struct avgpool_args a = {g, ctx->in[0]->data, ctx->out[0]->data, g->planes * g->out[0] * g->out[1]};
    int64_t work = oq_tensor_numel(ctx->out[0]) * g->k[0] * g->k[1] * g->k[2];
    oq_pool_run(ctx->pool, avgpool_task, &a, oq_pool_threads_for(ctx->pool, work, 16384));
    return OQ_OK;
}

const struct oq_op_def oq_op_averagepool = {
    .domain  = "",
    .name    = "AveragePool",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = avgpool_check,
    .infer   = avgpool_infer,
    .prepare = avgpool_prepare,
    .run     = avgpool_run,
    .destroy = free,
};
