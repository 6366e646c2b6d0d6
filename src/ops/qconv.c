/* QConv (com.onnxq): uint8 x int8 -> uint8 convolution, NCHW, 1-D and 2-D, made by the session's INT8
 * lowering (exec/lower_qdq.h) from DequantizeLinear -> Conv -> QuantizeLinear. Inputs in QLinearConv's order:
 *
 *   0 x (uint8)   1 x_scale   2 x_zero_point (uint8)   3 w (int8 [M, C/group, kh, kw])   4 w_scale ([1] or [M])
 *   5 w_zero_point (int8, absent or all 0)   6 y_scale   7 y_zero_point (uint8, absent = 0)   8 B (int32 [M], optional)
 *
 * Everything but x must be a constant. Attributes are Conv's. Numerics are ONNX Runtime's QLinearConv
 * (MLAS): acc = sum (x - x_zp) * w + B exact in int32, then kernels/requant.h's epilogue with
 * scale[m] = x_scale * w_scale[m] / y_scale (float, in that order), clamped to [0, 255].
 *
 * Paths, chosen in prepare (weights packed once per node, at the first prepare):
 *   depthwise  group == C == M: k->qdwconv per channel plane, planes split over the pool
 *   1x1        1x1, stride 1, no pad: per (image, group, column tile) one k->qgemm on the input itself
 *   igemm      else, unless narrow outputs meet many channels (QC_IGEMM_NARROW_*): the implicit-GEMM conv of
 *              kernels/qgemm.h per (image, group), oq_qconv_igemm over the pool: the input is copied once
 *              into the interleaved xi layout and the GEMM reads it in place (weights re-packed in its k' order)
 *   im2col     else: per task k->qim2col (pad = x_zp, so padding contributes exactly 0), then k->qgemm
 * 1x1 and im2col tasks run single-threaded GEMMs, one scratch slice (im2col tile + GEMM scratch) per pool
 * thread. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/conv2d_attrs.h"
#include "ops/op.h"


enum qc_path { QC_DW, QC_1X1, QC_IM2COL, QC_IGEMM };

struct qc_priv {
    struct oq_conv2d_attrs a;
    /* shape independent, set at the first prepare */
    bool packed;
    int64_t M, G, Mg, kh, kw;
    float *scale;              /* [M] (per channel) or [1] */
    bool per_channel;
    int32_t *bias;             /* [M] or NULL */
    int32_t x_zp, y_zp;
    int8_t *wdw;               /* depthwise: [M, kh*kw] */
    struct oq_qgemm_packed *pw; /* [G] */
    void **pbuf;               /* [G] aligned buffers */
    struct oq_qgemm_packed *pwi; /* [G] in the implicit-GEMM order, packed at the first prepare choosing it */
    void **pibuf;              /* [G] aligned buffers */
    /* shape dependent */
    enum qc_path path;
    int64_t N, C, H, W, P, Kdim, tile, ntiles;
    struct oq_conv2d_geom geom;
    size_t col_bytes, slice_bytes; /* per thread: im2col tile, then GEMM or depthwise scratch */
};

static oq_status qc_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 5, 9, 1, 1));
    if (n->n_in < 7)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has %d inputs; y_scale (input 6) is required", n->n_in);
    for (int k = 1; k < n->n_in; k++) {
        if (n->in[k] < 0) {
            if (k == 5 || k == 7 || k == 8)
                continue;
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is required", k);
        }
        if (!g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant", k,
                                 g->values[n->in[k]].name);
    }
    struct oq_conv2d_attrs a;
    return oq_conv2d_attrs_parse(n, "QConv", err, &a);
}

static const struct oq_tensor *qc_in(const struct oq_op_ctx *ctx, int k) { return k < ctx->n_in ? ctx->in[k] : NULL; }

/* Shapes for the current inputs into p (attributes in p->a); output dims into od. */
static oq_status qc_resolve(const struct oq_op_ctx *ctx, struct qc_priv *p, int *ondim, int64_t *od) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[3];
    if (x->dtype != OQ_DTYPE_UINT8 || w->dtype != OQ_DTYPE_INT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x must be uint8 and w int8 (got %s, %s)",
                           oq_dtype_name(x->dtype), oq_dtype_name(w->dtype));
    if ((x->ndim != 3 && x->ndim != 4) || w->ndim != x->ndim)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "x has rank %d and w rank %d; QConv needs both 3 or both 4",
                           x->ndim, w->ndim);
    struct oq_conv2d_attrs *a = &p->a;
    int nsp = x->ndim - 2;
    if (a->nsp && a->nsp != nsp)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "attributes describe %d spatial dims, x has %d", a->nsp, nsp);
    p->N = x->dims[0];
    p->C = x->dims[1];
    p->H = nsp == 2 ? x->dims[2] : 1;
    p->W = x->dims[x->ndim - 1];
    int64_t M = w->dims[0], G = a->group;
    int64_t kh = nsp == 2 ? w->dims[2] : 1, kw = w->dims[w->ndim - 1];
    if (a->has_kernel && (a->kernel[0] != kh || a->kernel[1] != kw))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "kernel_shape does not match the weight");
    a->kernel[0] = kh;
    a->kernel[1] = kw;
    if (p->C % G || M % G || w->dims[1] != p->C / G)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "group=%lld does not fit input channels %lld, weight [%lld, %lld, ...]",
                           (long long)G, (long long)p->C, (long long)M, (long long)w->dims[1]);
    int64_t OH = 1, OW, pt = 0, pl;
    if (nsp == 2)
        OQ_TRY(oq_conv2d_out_dim(ctx, a, 0, p->H, &OH, &pt));
    OQ_TRY(oq_conv2d_out_dim(ctx, a, 1, p->W, &OW, &pl));
    p->P = OH * OW;
    p->Kdim = (p->C / G) * kh * kw;
    p->geom = (struct oq_conv2d_geom){
        .in_h = p->H, .in_w = p->W, .out_h = OH, .out_w = OW, .k_h = (int32_t)kh, .k_w = (int32_t)kw,
        .stride_h = (int32_t)a->strides[0], .stride_w = (int32_t)a->strides[1],
        .pad_t = (int32_t)pt, .pad_l = (int32_t)pl, .dil_h = (int32_t)a->dil[0], .dil_w = (int32_t)a->dil[1],
    };
    *ondim = x->ndim;
    od[0] = p->N;
    od[1] = M;
    if (nsp == 2) {
        od[2] = OH;
        od[3] = OW;
    } else {
        od[2] = OW;
    }
    return OQ_OK;
}

static oq_status qc_infer(struct oq_op_ctx *ctx) {
    struct qc_priv p;
    memset(&p, 0, sizeof(p));
    OQ_TRY(oq_conv2d_attrs_parse(ctx->node, "QConv", ctx->err, &p.a));
    int nd = 0;
    int64_t od[4] = {0};
    OQ_TRY(qc_resolve(ctx, &p, &nd, od));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, nd, od);
    return OQ_OK;
}

static void qc_destroy(void *priv) {
    struct qc_priv *p = priv;
    if (!p)
        return;
    free(p->scale);
    free(p->bias);
    free(p->wdw);
    if (p->pbuf)
        for (int64_t g = 0; g < p->G; g++)
            oq_free_aligned(p->pbuf[g]);
    free(p->pbuf);
    free(p->pw);
    if (p->pibuf)
        for (int64_t g = 0; g < p->G; g++)
            oq_free_aligned(p->pibuf[g]);
    free(p->pibuf);
    free(p->pwi);
    free(p);
}

/* Scales, bias, zero points and packed weights: once per node. */
static oq_status qc_pack(struct oq_op_ctx *ctx, struct qc_priv *p) {
    const struct oq_tensor *xs = ctx->in[1], *xz = ctx->in[2], *w = ctx->in[3], *ws = ctx->in[4];
    const struct oq_tensor *wz = qc_in(ctx, 5), *ys = ctx->in[6], *yz = qc_in(ctx, 7), *b = qc_in(ctx, 8);
    if (xs->dtype != OQ_DTYPE_FLOAT || oq_tensor_numel(xs) != 1 || ys->dtype != OQ_DTYPE_FLOAT ||
        oq_tensor_numel(ys) != 1 || ws->dtype != OQ_DTYPE_FLOAT || xz->dtype != OQ_DTYPE_UINT8 ||
        oq_tensor_numel(xz) != 1 || (yz && (yz->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(yz) != 1)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars (w_scale: [1] or [M]) and zero "
                           "points uint8 scalars");
    int64_t M = w->dims[0], nws = oq_tensor_numel(ws);
    if (nws != 1 && nws != M)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "w_scale has %lld values; expected 1 or %lld", (long long)nws,
                           (long long)M);
    if (wz)
        for (int64_t i = 0; i < oq_tensor_numel(wz); i++)
            if (wz->dtype != OQ_DTYPE_INT8 || ((const int8_t *)wz->data)[i] != 0)
                return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "w_zero_point must be int8 zeros (symmetric weights)");
    if (b && (b->dtype != OQ_DTYPE_INT32 || oq_tensor_numel(b) != M))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "B must be int32 [%lld]", (long long)M);
    float sx = *(const float *)xs->data, sy = *(const float *)ys->data;
    const float *sw = ws->data;
    p->M = M;
    p->G = p->a.group;
    p->Mg = M / p->G;
    p->per_channel = nws > 1;
    p->x_zp = *(const uint8_t *)xz->data;
    p->y_zp = yz ? *(const uint8_t *)yz->data : 0;
    if (!(p->scale = malloc(sizeof(float) * (size_t)nws)))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    for (int64_t m = 0; m < nws; m++) {
        p->scale[m] = sx * sw[m] / sy; /* ORT: X_scale * W_scale[m] / Y_scale */
        if (!(p->scale[m] >= 0.0f) || p->scale[m] > 3.4e38f)
            return oq_op_error(ctx, OQ_ERR_MODEL, "output scale %lld is %g; scales must be positive and finite",
                               (long long)m, (double)p->scale[m]);
    }
    if (b) {
        if (!(p->bias = malloc(sizeof(int32_t) * (size_t)M)))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        memcpy(p->bias, b->data, sizeof(int32_t) * (size_t)M);
    }
    int64_t kk = oq_tensor_numel(w) / (M > 0 ? M : 1);
    int64_t C = ctx->in[0]->dims[1];
    if (p->G == C && p->G == M) {
        if (!(p->wdw = malloc((size_t)oq_tensor_numel(w) + 1)))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        memcpy(p->wdw, w->data, (size_t)oq_tensor_numel(w));
    } else {
        p->pw = calloc((size_t)p->G, sizeof(*p->pw));
        p->pbuf = calloc((size_t)p->G, sizeof(*p->pbuf));
        if (!p->pw || !p->pbuf)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        size_t bytes = oq_qgemm_packed_bytes(p->Mg, kk);
        if (!bytes)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "reduction depth %lld exceeds %d", (long long)kk,
                               OQ_QGEMM_MAX_K);
        for (int64_t g = 0; g < p->G; g++) {
            if (!(p->pbuf[g] = oq_alloc_aligned(bytes)))
                return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for packed weights");
            OQ_TRY(oq_qgemm_pack(&p->pw[g], (const int8_t *)w->data + g * p->Mg * kk, p->Mg, kk, kk, p->pbuf[g]));
        }
    }
    p->packed = true;
    return OQ_OK;
}

/* Weights in the implicit-GEMM order (kernels/qgemm.h): once per node, the first time a shape picks it. */
static oq_status qc_pack_igemm(struct oq_op_ctx *ctx, struct qc_priv *p) {
    const struct oq_tensor *w = ctx->in[3];
    int64_t Cg = w->dims[1], kk = p->kh * p->kw;
    size_t bytes = oq_qgemm_packed_bytes(p->Mg, oq_qconv_igemm_depth(Cg, p->kh, p->kw));
    if (!bytes) /* the caller checked the depth */
        return oq_op_error(ctx, OQ_ERR_ARG, "bad implicit-GEMM weight shape");
    p->pwi = calloc((size_t)p->G, sizeof(*p->pwi));
    p->pibuf = calloc((size_t)p->G, sizeof(*p->pibuf));
    if (!p->pwi || !p->pibuf)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    for (int64_t g = 0; g < p->G; g++) {
        if (!(p->pibuf[g] = oq_alloc_aligned(bytes)))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for packed weights");
        OQ_TRY(oq_qconv_igemm_pack(&p->pwi[g], (const int8_t *)w->data + g * p->Mg * Cg * kk, p->Mg, Cg, p->kh,
                                   p->kw, p->pibuf[g]));
    }
    return OQ_OK;
}

/* L2-sized working set per GEMM task: the u8 im2col block [Kdim, tile] and the output block [Mg, tile]. */
enum { QC_TILE_BYTES = 256 * 1024, QC_TILE_MIN = 48 };
/* The implicit GEMM tiles each output row separately (16-column vectors, 48 a tile): on outputs narrower than
 * 8 columns most lanes idle, and the explicit path's row-spanning tiles win once enough weight panels amortize
 * its im2col (measured, 3x3 on 64-row outputs 1..6 wide: 256 output channels 0.6-0.9x, 128 still 1.5x faster;
 * from 8 columns on, or with fewer channels, the implicit GEMM wins 1.3-8x, at 2x2 too). */
enum { QC_IGEMM_NARROW_OW = 8, QC_IGEMM_NARROW_MAX_M = 128 };

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static oq_status qc_prepare(struct oq_op_ctx *ctx) {
    struct qc_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
        OQ_TRY(oq_conv2d_attrs_parse(ctx->node, "QConv", ctx->err, &p->a));
    }
    int nd = 0;
    int64_t od[4] = {0};
    OQ_TRY(qc_resolve(ctx, p, &nd, od));
    if (!p->packed)
        OQ_TRY(qc_pack(ctx, p));
    if (p->C != p->G * (ctx->in[3]->dims[1]))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input channels changed");
    int nth = oq_pool_size(ctx->pool);
    p->col_bytes = 0;
    if (p->wdw) {
        if (p->C != p->M)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "depthwise weights need C == M");
        p->path = QC_DW;
        p->slice_bytes = round64(oq_qdwconv_scratch_size(&p->geom));
        ctx->scratch_bytes = p->slice_bytes * (size_t)nth;
        return OQ_OK;
    }
    p->path = oq_qconv_is_1x1(&p->geom) ? QC_1X1 : QC_IM2COL;
    p->kh = p->geom.k_h;
    p->kw = p->geom.k_w;
    int64_t Cg = p->C / p->G;
    bool narrow = p->geom.out_w < QC_IGEMM_NARROW_OW && p->Mg > QC_IGEMM_NARROW_MAX_M;
    if (p->path == QC_IM2COL && !narrow && oq_qconv_igemm_depth(Cg, p->kh, p->kw)) {
        p->path = QC_IGEMM;
        if (!p->pwi)
            OQ_TRY(qc_pack_igemm(ctx, p));
        p->slice_bytes = oq_qconv_igemm_scratch_size(&p->geom, Cg, 1);
        ctx->scratch_bytes = oq_qconv_igemm_scratch_size(&p->geom, Cg, nth);
        return OQ_OK;
    }
    int64_t rows = p->Kdim > p->Mg ? p->Kdim : p->Mg;
    int64_t tile = QC_TILE_BYTES / (rows > 0 ? rows : 1);
    if (tile < QC_TILE_MIN)
        tile = QC_TILE_MIN;
    int64_t per = p->N * p->G;
    if (per < nth) {
        int64_t want = (nth + per - 1) / per, t = (p->P + want - 1) / want;
        if (t < tile)
            tile = t;
    }
    tile = (tile + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR * OQ_QGEMM_NR;
    if (tile >= p->P || tile < 1)
        tile = p->P > 0 ? p->P : 1;
    p->tile = tile;
    p->ntiles = (p->P + tile - 1) / tile;
    if (p->path == QC_IM2COL)
        p->col_bytes = round64((size_t)(p->Kdim * tile));
    p->slice_bytes = p->col_bytes + round64(oq_qgemm_scratch_slice(p->Kdim));
    ctx->scratch_bytes = p->slice_bytes * (size_t)nth;
    return OQ_OK;
}

struct qc_job {
    const struct qc_priv *p;
    const struct oq_kernels *k;
    const uint8_t *x;
    uint8_t *y;
    unsigned char *scratch;
    int64_t ntasks;
    oq_status st[64];
};

static void qc_dw_task(void *arg, int ith, int nth) {
    struct qc_job *j = arg;
    const struct qc_priv *p = j->p;
    int64_t b0, b1, kk = (int64_t)p->geom.k_h * p->geom.k_w, HW = p->H * p->W;
    oq_split(p->N * p->C, ith, nth, &b0, &b1);
    void *scr = j->scratch + (size_t)ith * p->slice_bytes;
    for (int64_t pl = b0; pl < b1; pl++) {
        int64_t c = pl % p->C;
        struct oq_qdw_params qp = {
            .x_zp = p->x_zp, .out_zp = p->y_zp, .act_min = 0, .act_max = 255,
            .bias = p->bias ? p->bias[c] : 0, .scale = p->scale[p->per_channel ? c : 0],
        };
        oq_status st = j->k->qdwconv(&p->geom, &qp, j->x + pl * HW, p->wdw + c * kk, j->y + pl * p->P, scr);
        if (st && ith < 64)
            j->st[ith] = st;
    }
}

static void qc_gemm_task(void *arg, int ith, int nth) {
    struct qc_job *j = arg;
    const struct qc_priv *p = j->p;
    unsigned char *col = j->scratch + (size_t)ith * p->slice_bytes;
    void *gscr = col + p->col_bytes;
    int64_t t0, t1, Cg = p->C / p->G;
    oq_split(j->ntasks, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t tile = t % p->ntiles, ng = t / p->ntiles, n = ng / p->G, g = ng % p->G;
        int64_t q0 = tile * p->tile, q1 = q0 + p->tile < p->P ? q0 + p->tile : p->P;
        const uint8_t *x = j->x + (n * p->C + g * Cg) * p->H * p->W;
        struct oq_qgemm_args a = {
            .N = q1 - q0, .x_zp = p->x_zp,
            .y = j->y + (n * p->M + g * p->Mg) * p->P + q0, .ldy = p->P,
            .ep = {.out = OQ_QGEMM_OUT_U8, .scale = p->per_channel ? p->scale + g * p->Mg : p->scale,
                   .per_channel = p->per_channel, .bias = p->bias ? p->bias + g * p->Mg : NULL,
                   .out_zp = p->y_zp, .act_min = 0, .act_max = 255},
        };
        if (p->path == QC_1X1) {
            a.x = x + q0;
            a.ldx = p->P;
        } else {
            j->k->qim2col(&p->geom, Cg, x, (uint8_t)p->x_zp, q0, q1, col, q1 - q0);
            a.x = col;
            a.ldx = q1 - q0;
        }
        oq_status st = j->k->qgemm(&p->pw[g], &a, gscr, 0, 1);
        if (st && ith < 64)
            j->st[ith] = st;
    }
}

static oq_status qc_run(struct oq_op_ctx *ctx) {
    const struct qc_priv *p = ctx->priv;
    if (!p || !p->packed)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (oq_tensor_numel(ctx->out[0]) == 0)
        return OQ_OK;
    if (!ctx->scratch || ctx->scratch_bytes < p->slice_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->slice_bytes,
                           ctx->scratch_bytes);
    if (p->path == QC_IGEMM) {
        int64_t Cg = p->C / p->G;
        for (int64_t n = 0; n < p->N; n++)
            for (int64_t g = 0; g < p->G; g++) {
                struct oq_qconv_igemm_args a = {
                    .g = p->geom, .channels = Cg, .x_zp = p->x_zp,
                    .x = (const uint8_t *)ctx->in[0]->data + (n * p->C + g * Cg) * p->H * p->W,
                    .y = (uint8_t *)ctx->out[0]->data + (n * p->M + g * p->Mg) * p->P, .ldy = p->P,
                    .ep = {.out = OQ_QGEMM_OUT_U8, .scale = p->per_channel ? p->scale + g * p->Mg : p->scale,
                           .per_channel = p->per_channel, .bias = p->bias ? p->bias + g * p->Mg : NULL,
                           .out_zp = p->y_zp, .act_min = 0, .act_max = 255},
                };
                oq_status st = oq_qconv_igemm(ctx->kernels, ctx->pool, &p->pwi[g], &a, ctx->scratch,
                                              ctx->scratch_bytes);
                if (st)
                    return oq_op_error(ctx, st, "integer kernel failed (status %d)", (int)st);
            }
        return OQ_OK;
    }
    struct qc_job j = {.p = p, .k = ctx->kernels, .x = ctx->in[0]->data, .y = ctx->out[0]->data,
                       .scratch = ctx->scratch};
    int slots = (int)(ctx->scratch_bytes / p->slice_bytes);
    int nth;
    if (p->path == QC_DW) {
        nth = oq_pool_threads_for(ctx->pool, p->N * p->C * p->P * p->geom.k_h * p->geom.k_w, 1 << 16);
        if (nth > p->N * p->C)
            nth = (int)(p->N * p->C);
        if (nth > slots)
            nth = slots;
        oq_pool_run(ctx->pool, qc_dw_task, &j, nth);
    } else {
        j.ntasks = p->N * p->G * p->ntiles;
        nth = oq_pool_threads_for(ctx->pool, p->N * p->M * p->P * p->Kdim, 1 << 18);
        if (nth > j.ntasks)
            nth = (int)j.ntasks;
        if (nth > slots)
            nth = slots;
        oq_pool_run(ctx->pool, qc_gemm_task, &j, nth);
    }
    for (int i = 0; i < nth && i < 64; i++)
        if (j.st[i])
            return oq_op_error(ctx, j.st[i], "integer kernel failed (status %d)", (int)j.st[i]);
    return OQ_OK;
}

static int64_t qc_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *w = ctx->in[3], *y = ctx->out[0];
    if (!w || !y || w->ndim < 2 || w->dims[0] <= 0)
        return 0;
    return oq_tensor_numel(y) * (oq_tensor_numel(w) / w->dims[0]);
}

const struct oq_op_def oq_op_qconv = {
    .domain  = "com.onnxq",
    .name    = "QConv",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = qc_check,
    .infer   = qc_infer,
    .prepare = qc_prepare,
    .run     = qc_run,
    .destroy = qc_destroy,
    .macs    = qc_macs,
};
