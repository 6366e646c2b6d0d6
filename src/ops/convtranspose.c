/* ConvTranspose (ai.onnx): FP32, NCHW, 1-D and 2-D, groups, strides, pads, dilations, output_padding,
 * output_shape, auto_pad. Attributes and shapes come from ops/convtranspose_common.h (shared with QConvTranspose).
 *
 * Y[n, g*Mg + co] = bias + sum_ci X[n, g*Cg + ci] (x) W[g*Cg + ci, co] is computed as a GEMM
 *   col[Mg*kh*kw, H*W] = W_g^T [Mg*kh*kw, Cg] * X_g [Cg, H*W]   (W_g is [Cg, Mg*kh*kw] row-major: trans_a)
 * followed by col2im, which scatters-adds each column back into the output image; col2im is the adjoint of
 * im2col for the forward conv that maps the output grid to the input grid. Work is split over the pool by
 * (image, group, block of output channels): each task owns its output channels, so scatters never race;
 * within a task the input positions are walked in tiles whose col block fits in L2 (the thread's scratch). */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/convtranspose_common.h"
#include "ops/op.h"

struct ct_priv {
    struct oq_convtranspose_attrs a;
    struct oq_convtranspose_shape s;
    int64_t chunk;      /* output channels per task */
    int64_t nchunks;    /* tasks per (image, group) */
    int64_t tile;       /* input positions per GEMM */
    size_t col_stride;  /* floats of scratch per thread */
};

static oq_status ct_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 3, 1, 1));
    struct oq_convtranspose_attrs a;
    return oq_convtranspose_attrs_parse(n, err, &a);
}

static oq_status resolve(const struct oq_op_ctx *ctx, const struct oq_convtranspose_attrs *a,
                         struct oq_convtranspose_shape *s) {
    const struct oq_tensor *b = ctx->n_in > 2 ? ctx->in[2] : NULL;
    for (int i = 0; i < 3; i++) {
        const struct oq_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
        if (t && t->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input %d ('%s') has dtype %s; only float is supported",
                               i, t->name ? t->name : "?", oq_dtype_name(t->dtype));
    }
    OQ_TRY(oq_convtranspose_shape_resolve(ctx, a, ctx->in[0], ctx->in[1], s));
    if (b && (b->ndim != 1 || b->dims[0] != s->M))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "bias (input 2) must have shape [%lld]", (long long)s->M);
    return OQ_OK;
}

static oq_status ct_infer(struct oq_op_ctx *ctx) {
    struct oq_convtranspose_attrs a;
    struct oq_convtranspose_shape s;
    OQ_TRY(oq_convtranspose_attrs_parse(ctx->node, ctx->err, &a));
    OQ_TRY(resolve(ctx, &a, &s));
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, s.out_ndim, s.out_dims);
    return OQ_OK;
}

enum { CT_TILE_BYTES = 512 * 1024 };

static oq_status ct_prepare(struct oq_op_ctx *ctx) {
    struct ct_priv *p = ctx->priv;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
        OQ_TRY(oq_convtranspose_attrs_parse(ctx->node, ctx->err, &p->a));
    }
    OQ_TRY(resolve(ctx, &p->a, &p->s));
    const struct oq_convtranspose_shape *s = &p->s;
    int nth = oq_pool_size(ctx->pool);
    int64_t per = s->N * s->G;
    p->nchunks = per >= nth ? 1 : (nth + per - 1) / per;
    if (p->nchunks > s->Mg)
        p->nchunks = s->Mg > 0 ? s->Mg : 1;
    p->chunk = s->Mg > 0 ? (s->Mg + p->nchunks - 1) / p->nchunks : 1;
    p->nchunks = s->Mg > 0 ? (s->Mg + p->chunk - 1) / p->chunk : 1;
    int64_t rows = p->chunk * s->KK;
    int64_t tile = CT_TILE_BYTES / (int64_t)sizeof(float) / (rows > 0 ? rows : 1);
    tile = tile < 16 ? 16 : tile / 16 * 16;
    if (tile > s->Pin)
        tile = s->Pin > 0 ? s->Pin : 1;
    p->tile = tile;
    size_t bytes = (size_t)(rows * tile) * sizeof(float);
    p->col_stride = (bytes + 63) / 64 * 64 / sizeof(float);
    ctx->scratch_bytes = p->col_stride * sizeof(float) * (size_t)nth;
    return OQ_OK;
}

struct ct_job {
    const struct ct_priv *p;
    const struct oq_kernels *k;
    const float *x, *w, *b;
    float *y, *scratch;
};

static void ct_task(void *arg, int ith, int nth) {
    const struct ct_job *j = arg;
    const struct ct_priv *p = j->p;
    const struct oq_convtranspose_shape *s = &p->s;
    float *col = j->scratch + (size_t)ith * p->col_stride;
    int64_t t0, t1;
    oq_split(s->N * s->G * p->nchunks, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t ch = t % p->nchunks, ng = t / p->nchunks;
        int64_t n = ng / s->G, g = ng % s->G;
        int64_t c0 = ch * p->chunk, c1 = c0 + p->chunk < s->Mg ? c0 + p->chunk : s->Mg;
        float *y = j->y + (n * s->M + g * s->Mg + c0) * s->Pout;
        for (int64_t c = c0; c < c1; c++) {
            float bias = j->b ? j->b[g * s->Mg + c] : 0.0f;
            float *yc = y + (c - c0) * s->Pout;
            for (int64_t i = 0; i < s->Pout; i++)
                yc[i] = bias;
        }
        const float *x = j->x + (n * s->C + g * s->Cg) * s->Pin;
        const float *a = j->w + g * s->Cg * s->Mg * s->KK + c0 * s->KK;
        for (int64_t p0 = 0; p0 < s->Pin; p0 += p->tile) {
            int64_t p1 = p0 + p->tile < s->Pin ? p0 + p->tile : s->Pin;
            j->k->sgemm(j->k, NULL, true, false, (c1 - c0) * s->KK, p1 - p0, s->Cg, 1.0f, a, s->Mg * s->KK,
                        x + p0, s->Pin, 0.0f, col, p1 - p0);
            j->k->col2im(&s->geom, c1 - c0, col, p0, p1, p1 - p0, y);
        }
    }
}

static oq_status ct_run(struct oq_op_ctx *ctx) {
    const struct ct_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (oq_tensor_numel(ctx->out[0]) == 0)
        return OQ_OK;
    size_t slot = p->col_stride * sizeof(float);
    if (!ctx->scratch || ctx->scratch_bytes < slot)
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", slot, ctx->scratch_bytes);
    const struct oq_tensor *bt = ctx->n_in > 2 ? ctx->in[2] : NULL;
    struct ct_job j = {
        .p = p, .k = ctx->kernels,
        .x = ctx->in[0]->data, .w = ctx->in[1]->data, .b = bt ? bt->data : NULL,
        .y = ctx->out[0]->data, .scratch = ctx->scratch,
    };
    const struct oq_convtranspose_shape *s = &p->s;
    int64_t tasks = s->N * s->G * p->nchunks;
    int nth = oq_pool_threads_for(ctx->pool, s->N * s->C * s->Pin * s->Mg * s->KK, 1 << 18);
    if (nth > tasks)
        nth = (int)tasks;
    if (nth > (int)(ctx->scratch_bytes / slot))
        nth = (int)(ctx->scratch_bytes / slot);
    oq_pool_run(ctx->pool, ct_task, &j, nth);
    return OQ_OK;
}

static void ct_destroy(void *priv) { free(priv); }

static int64_t ct_macs(const struct oq_op_ctx *ctx) {
    /* every input element meets (C_out/group) * kh * kw weights: numel(X) * numel(W) / C_in */
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1];
    if (!x || !w || w->ndim < 2 || w->dims[0] <= 0)
        return 0;
    return oq_tensor_numel(x) * (oq_tensor_numel(w) / w->dims[0]);
}

const struct oq_op_def oq_op_convtranspose = {
    .domain  = "",
    .name    = "ConvTranspose",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = ct_check,
    .infer   = ct_infer,
    .prepare = ct_prepare,
    .run     = ct_run,
    .destroy = ct_destroy,
    .macs    = ct_macs,
};
