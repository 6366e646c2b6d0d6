/* ConvInteger (opsets 10..28): int32 y = conv(x - x_zero_point, w - w_zero_point), NCHW, 1-D and 2-D.
 *
 *   0 x (uint8 or int8 [N, C, (H,) W])   1 w (uint8 or int8 [M, C/group, (kh,) kw])
 *   2 x_zero_point (x's type, a scalar; absent = 0)   3 w_zero_point (w's type, scalar or [M]; absent = 0)
 * Attributes are Conv's (auto_pad, dilations, group, kernel_shape, pads, strides). Padding contributes 0 (the
 * padded value is the zero point, as in ONNX's reference and ONNX Runtime). Sums are exact int32 (they wrap
 * like numpy's int32 only past 2^31, i.e. never for reduction depths below 33025).
 *
 * Two paths, chosen in prepare:
 *   gemm  x uint8, w an int8 constant with zero point absent or all 0, not depthwise (quantize_dynamic's
 *         ConvInteger): weights packed once per group for kernels/qgemm.h and run with its S32 output, per
 *         (image, group, column tile) im2col (pad = x_zp) + one single-threaded GEMM per pool task; a 1x1
 *         stride-1 conv reads the input directly.
 *   ref   anything else (uint8 weights, nonzero weight zero points, int8 x, depthwise, runtime weights): a
 *         direct loop over (image, output channel) planes; w - w_zp is widened to int16 into the scratch
 *         at the start of run, so the inner loop does no type dispatch. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/conv2d_attrs.h"
#include "ops/op.h"


struct ci_priv {
    struct oq_conv2d_attrs a;
    bool gemm;                  /* decided at the first prepare */
    bool decided;
    struct oq_qgemm_packed *pw; /* gemm: [G] */
    void **pbuf;                /* gemm: [G] aligned buffers */
    /* shape dependent */
    int64_t N, C, H, W, M, G, Cg, Mg, P, Kdim, tile, ntiles;
    struct oq_conv2d_geom geom;
    bool is_1x1;
    size_t col_bytes, slice_bytes; /* gemm: per pool thread */
    size_t w16_bytes;              /* ref: the widened weights at the start of the scratch */
};

static oq_status ci_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 4, 1, 1));
    struct oq_conv2d_attrs a;
    return oq_conv2d_attrs_parse(n, "ConvInteger", err, &a);
}

static const struct oq_tensor *ci_in(const struct oq_op_ctx *ctx, int k) { return k < ctx->n_in ? ctx->in[k] : NULL; }

static bool ci_is_8bit(enum oq_dtype dt) { return dt == OQ_DTYPE_UINT8 || dt == OQ_DTYPE_INT8; }


/* Shapes, dtypes and geometry for the current inputs into p (attributes in p->a); output dims into od. */
static oq_status ci_resolve(const struct oq_op_ctx *ctx, struct ci_priv *p, int *ondim, int64_t *od) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1], *xz = ci_in(ctx, 2), *wz = ci_in(ctx, 3);
    if (!ci_is_8bit(x->dtype) || !ci_is_8bit(w->dtype))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x and w must be uint8 or int8 (got %s, %s)",
                           oq_dtype_name(x->dtype), oq_dtype_name(w->dtype));
    if (xz && (xz->dtype != x->dtype || oq_tensor_numel(xz) != 1))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x_zero_point must be one %s value (got %s with %lld values); "
                           "ConvInteger quantizes x per tensor", oq_dtype_name(x->dtype), oq_dtype_name(xz->dtype),
                           (long long)oq_tensor_numel(xz));
    if ((x->ndim != 3 && x->ndim != 4) || w->ndim != x->ndim)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x has rank %d and w rank %d; ConvInteger supports 1-D and 2-D "
                           "convolution (both rank 3 or both rank 4)", x->ndim, w->ndim);
    struct oq_conv2d_attrs *a = &p->a;
    int nsp = x->ndim - 2;
    if (a->nsp && a->nsp != nsp)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "attributes describe %d spatial dims, x has %d", a->nsp, nsp);
    p->N = x->dims[0];
    p->C = x->dims[1];
    p->H = nsp == 2 ? x->dims[2] : 1;
    p->W = x->dims[x->ndim - 1];
    p->M = w->dims[0];
    p->G = a->group;
    int64_t kh = nsp == 2 ? w->dims[2] : 1, kw = w->dims[w->ndim - 1];
    if (a->has_kernel && (a->kernel[0] != kh || a->kernel[1] != kw))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "kernel_shape does not match the weight's spatial dims");
    a->kernel[0] = kh;
    a->kernel[1] = kw;
    if (p->C % p->G || p->M % p->G || w->dims[1] != p->C / p->G)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "group=%lld does not fit input channels %lld, weight [%lld, %lld, ...]",
                           (long long)p->G, (long long)p->C, (long long)p->M, (long long)w->dims[1]);
    if (wz && (wz->dtype != w->dtype || (oq_tensor_numel(wz) != 1 && oq_tensor_numel(wz) != p->M)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "w_zero_point must be %s with 1 or %lld (output channels) "
                           "values (got %s with %lld)", oq_dtype_name(w->dtype), (long long)p->M,
                           oq_dtype_name(wz->dtype), (long long)oq_tensor_numel(wz));
    p->Cg = p->C / p->G;
    p->Mg = p->M / p->G;
    int64_t OH = 1, OW, pt = 0, pl;
    if (nsp == 2)
        OQ_TRY(oq_conv2d_out_dim(ctx, a, 0, p->H, &OH, &pt));
    OQ_TRY(oq_conv2d_out_dim(ctx, a, 1, p->W, &OW, &pl));
    p->P = OH * OW;
    p->Kdim = p->Cg * kh * kw;
    p->geom = (struct oq_conv2d_geom){
        .in_h = p->H, .in_w = p->W, .out_h = OH, .out_w = OW, .k_h = (int32_t)kh, .k_w = (int32_t)kw,
        .stride_h = (int32_t)a->strides[0], .stride_w = (int32_t)a->strides[1],
        .pad_t = (int32_t)pt, .pad_l = (int32_t)pl, .dil_h = (int32_t)a->dil[0], .dil_w = (int32_t)a->dil[1],
    };
    *ondim = x->ndim;
    od[0] = p->N;
    od[1] = p->M;
    if (nsp == 2) {
        od[2] = OH;
        od[3] = OW;
    } else {
        od[2] = OW;
    }
    return OQ_OK;
}

static oq_status ci_infer(struct oq_op_ctx *ctx) {
    struct ci_priv p;
    memset(&p, 0, sizeof(p));
    OQ_TRY(oq_conv2d_attrs_parse(ctx->node, "ConvInteger", ctx->err, &p.a));
    int nd = 0;
    int64_t od[4] = {0};
    OQ_TRY(ci_resolve(ctx, &p, &nd, od));
    oq_op_set_output(ctx, 0, OQ_DTYPE_INT32, nd, od);
    return OQ_OK;
}

static void ci_destroy(void *priv) {
    struct ci_priv *p = priv;
    if (!p)
        return;
    if (p->pbuf)
        for (int64_t g = 0; g < p->G; g++)
            oq_free_aligned(p->pbuf[g]);
    free(p->pbuf);
    free(p->pw);
    free(p);
}

/* The GEMM path needs what quantize_dynamic writes: uint8 x, int8 weights known at plan time with zero
 * point 0 (the packed weights have no zero-point correction), and more than one channel per group. */
static bool ci_gemm_fits(const struct oq_op_ctx *ctx, const struct ci_priv *p) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1], *wz = ci_in(ctx, 3);
    if (x->dtype != OQ_DTYPE_UINT8 || w->dtype != OQ_DTYPE_INT8 || !w->data || (p->Cg == 1 && p->Mg == 1))
        return false;
    if (!oq_qgemm_packed_bytes(p->Mg, p->Kdim))
        return false;
    if (wz) {
        if (!wz->data)
            return false;
        for (int64_t i = 0; i < oq_tensor_numel(wz); i++)
            if (((const int8_t *)wz->data)[i] != 0)
                return false;
    }
    return true;
}

static oq_status ci_pack(struct oq_op_ctx *ctx, struct ci_priv *p) {
    const struct oq_tensor *w = ctx->in[1];
    p->pw = calloc((size_t)p->G, sizeof(*p->pw));
    p->pbuf = calloc((size_t)p->G, sizeof(*p->pbuf));
    if (!p->pw || !p->pbuf)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    size_t bytes = oq_qgemm_packed_bytes(p->Mg, p->Kdim);
    for (int64_t g = 0; g < p->G; g++) {
        if (!(p->pbuf[g] = oq_alloc_aligned(bytes)))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for packed weights");
        OQ_TRY(oq_qgemm_pack(&p->pw[g], (const int8_t *)w->data + g * p->Mg * p->Kdim, p->Mg, p->Kdim, p->Kdim,
                             p->pbuf[g]));
    }
    return OQ_OK;
}

/* L2-sized working set per GEMM task (the u8 im2col block [Kdim, tile] and the int32 output block). */
enum { CI_TILE_BYTES = 256 * 1024, CI_TILE_MIN = 48 };

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static oq_status ci_prepare(struct oq_op_ctx *ctx) {
    struct ci_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
        OQ_TRY(oq_conv2d_attrs_parse(ctx->node, "ConvInteger", ctx->err, &p->a));
    }
    int nd = 0;
    int64_t od[4] = {0};
    OQ_TRY(ci_resolve(ctx, p, &nd, od));
    if (!p->decided) { /* weights and their zero point do not change between plans */
        p->gemm = ci_gemm_fits(ctx, p);
        if (p->gemm)
            OQ_TRY(ci_pack(ctx, p));
        p->decided = true;
    }
    int nth = oq_pool_size(ctx->pool);
    if (!p->gemm) {
        p->w16_bytes = round64(sizeof(int16_t) * (size_t)(p->M * p->Kdim));
        ctx->scratch_bytes = p->w16_bytes;
        return OQ_OK;
    }
    p->is_1x1 = oq_qconv_is_1x1(&p->geom);
    int64_t rows = p->Kdim > p->Mg * 4 ? p->Kdim : p->Mg * 4;
    int64_t tile = CI_TILE_BYTES / (rows > 0 ? rows : 1);
    if (tile < CI_TILE_MIN)
        tile = CI_TILE_MIN;
    int64_t per = p->N * p->G;
    if (per < nth) { /* few (image, group) pairs: split the columns so every thread gets work */
        int64_t want = (nth + per - 1) / per, t = (p->P + want - 1) / want;
        if (t < tile)
            tile = t;
    }
    tile = (tile + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR * OQ_QGEMM_NR;
    if (tile >= p->P || tile < 1)
        tile = p->P > 0 ? p->P : 1;
    p->tile = tile;
    p->ntiles = (p->P + tile - 1) / tile;
    p->col_bytes = p->is_1x1 ? 0 : round64((size_t)(p->Kdim * tile));
    p->slice_bytes = p->col_bytes + round64(oq_qgemm_scratch_slice(p->Kdim));
    ctx->scratch_bytes = p->slice_bytes * (size_t)nth;
    return OQ_OK;
}

struct ci_job {
    const struct ci_priv *p;
    const struct oq_kernels *k;
    const void *x;
    int32_t *y;
    int32_t x_zp;
    const int16_t *w16;
    unsigned char *scratch;
    int64_t ntasks;
    oq_status st[64];
};

static void ci_gemm_task(void *arg, int ith, int nth) {
    struct ci_job *j = arg;
    const struct ci_priv *p = j->p;
    unsigned char *col = j->scratch + (size_t)ith * p->slice_bytes;
    void *gscr = col + p->col_bytes;
    int64_t t0, t1;
    oq_split(j->ntasks, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t tile = t % p->ntiles, ng = t / p->ntiles, n = ng / p->G, g = ng % p->G;
        int64_t q0 = tile * p->tile, q1 = q0 + p->tile < p->P ? q0 + p->tile : p->P;
        const uint8_t *x = (const uint8_t *)j->x + (n * p->C + g * p->Cg) * p->H * p->W;
        struct oq_qgemm_args a = {
            .N = q1 - q0, .x_zp = j->x_zp, .y = j->y + (n * p->M + g * p->Mg) * p->P + q0, .ldy = p->P,
            .ep = {.out = OQ_QGEMM_OUT_S32},
        };
        if (p->is_1x1) {
            a.x = x + q0;
            a.ldx = p->P;
        } else {
            j->k->qim2col(&p->geom, p->Cg, x, (uint8_t)j->x_zp, q0, q1, col, q1 - q0);
            a.x = col;
            a.ldx = q1 - q0;
        }
        oq_status st = j->k->qgemm(&p->pw[g], &a, gscr, 0, 1);
        if (st && ith < 64)
            j->st[ith] = st;
    }
}

/* Direct convolution of planes (image n, output channel m); taps outside the input contribute 0. Sums wrap
 * in uint32 (no undefined overflow; exact below 2^31). */
#define CI_DIRECT(TX)                                                                                       \
    do {                                                                                                    \
        const TX *xb = (const TX *)j->x;                                                                    \
        for (int64_t pl = b0; pl < b1; pl++) {                                                              \
            int64_t n = pl / p->M, m = pl % p->M, g = m / p->Mg;                                            \
            const TX *x = xb + (n * p->C + g * p->Cg) * p->H * p->W;                                        \
            const int16_t *w = j->w16 + m * p->Kdim;                                                        \
            int32_t *y = j->y + pl * p->P;                                                                  \
            for (int64_t oy = 0; oy < ge->out_h; oy++)                                                      \
                for (int64_t ox = 0; ox < ge->out_w; ox++) {                                                \
                    uint32_t acc = 0;                                                                       \
                    for (int64_t c = 0; c < p->Cg; c++)                                                     \
                        for (int64_t ky = 0; ky < ge->k_h; ky++) {                                          \
                            int64_t iy = oy * ge->stride_h - ge->pad_t + ky * ge->dil_h;                    \
                            if (iy < 0 || iy >= p->H)                                                       \
                                continue;                                                                   \
                            const TX *xr = x + (c * p->H + iy) * p->W;                                      \
                            const int16_t *wr = w + (c * ge->k_h + ky) * ge->k_w;                           \
                            for (int64_t kx = 0; kx < ge->k_w; kx++) {                                      \
                                int64_t ix = ox * ge->stride_w - ge->pad_l + kx * ge->dil_w;                \
                                if (ix >= 0 && ix < p->W)                                                   \
                                    acc += (uint32_t)(((int32_t)xr[ix] - j->x_zp) * (int32_t)wr[kx]);       \
                            }                                                                               \
                        }                                                                                   \
                    y[oy * ge->out_w + ox] = (int32_t)acc;                                                  \
                }                                                                                           \
        }                                                                                                   \
    } while (0)

static void ci_ref_u8_task(void *arg, int ith, int nth) {
    struct ci_job *j = arg;
    const struct ci_priv *p = j->p;
    const struct oq_conv2d_geom *ge = &p->geom;
    int64_t b0, b1;
    oq_split(p->N * p->M, ith, nth, &b0, &b1);
    CI_DIRECT(uint8_t);
}

static void ci_ref_s8_task(void *arg, int ith, int nth) {
    struct ci_job *j = arg;
    const struct ci_priv *p = j->p;
    const struct oq_conv2d_geom *ge = &p->geom;
    int64_t b0, b1;
    oq_split(p->N * p->M, ith, nth, &b0, &b1);
    CI_DIRECT(int8_t);
}

static int32_t ci_zp(const struct oq_tensor *t, int64_t i) {
    if (!t)
        return 0;
    if (oq_tensor_numel(t) == 1)
        i = 0;
    return t->dtype == OQ_DTYPE_UINT8 ? ((const uint8_t *)t->data)[i] : ((const int8_t *)t->data)[i];
}

static oq_status ci_run(struct oq_op_ctx *ctx) {
    const struct ci_priv *p = ctx->priv;
    if (!p || !p->decided)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (oq_tensor_numel(ctx->out[0]) == 0)
        return OQ_OK;
    struct ci_job j = {.p = p, .k = ctx->kernels, .x = ctx->in[0]->data, .y = ctx->out[0]->data,
                       .x_zp = ci_zp(ci_in(ctx, 2), 0), .scratch = ctx->scratch};
    int nth;
    if (p->gemm) {
        if (!ctx->scratch || ctx->scratch_bytes < p->slice_bytes)
            return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->slice_bytes,
                               ctx->scratch_bytes);
        j.ntasks = p->N * p->G * p->ntiles;
        nth = oq_pool_threads_for(ctx->pool, p->N * p->M * p->P * p->Kdim, 1 << 18);
        if (nth > j.ntasks)
            nth = (int)j.ntasks;
        if (nth > (int)(ctx->scratch_bytes / p->slice_bytes))
            nth = (int)(ctx->scratch_bytes / p->slice_bytes);
        if (nth > 64)
            nth = 64;
        oq_pool_run(ctx->pool, ci_gemm_task, &j, nth);
    } else {
        if (!ctx->scratch || ctx->scratch_bytes < p->w16_bytes)
            return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->w16_bytes,
                               ctx->scratch_bytes);
        const struct oq_tensor *w = ctx->in[1], *wz = ci_in(ctx, 3);
        int16_t *w16 = ctx->scratch;
        for (int64_t m = 0; m < p->M; m++) {
            int32_t z = ci_zp(wz, m);
            int16_t *row = w16 + m * p->Kdim;
            if (w->dtype == OQ_DTYPE_UINT8)
                for (int64_t k = 0; k < p->Kdim; k++)
                    row[k] = (int16_t)(((const uint8_t *)w->data)[m * p->Kdim + k] - z);
            else
                for (int64_t k = 0; k < p->Kdim; k++)
                    row[k] = (int16_t)(((const int8_t *)w->data)[m * p->Kdim + k] - z);
        }
        j.w16 = w16;
        nth = oq_pool_threads_for(ctx->pool, p->N * p->M * p->P * p->Kdim, 1 << 16);
        if (nth > p->N * p->M)
            nth = (int)(p->N * p->M);
        oq_pool_run(ctx->pool, ctx->in[0]->dtype == OQ_DTYPE_UINT8 ? ci_ref_u8_task : ci_ref_s8_task, &j, nth);
    }
    for (int i = 0; i < nth && i < 64; i++)
        if (j.st[i])
            return oq_op_error(ctx, j.st[i], "integer kernel failed (status %d)", (int)j.st[i]);
    return OQ_OK;
}

static int64_t ci_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *w = ctx->in[1], *y = ctx->out[0];
    if (!w || !y || w->ndim < 2 || w->dims[0] <= 0)
        return 0;
    return oq_tensor_numel(y) * (oq_tensor_numel(w) / w->dims[0]);
}

const struct oq_op_def oq_op_convinteger = {
    .domain  = "",
    .name    = "ConvInteger",
    .since   = 10,
    .until   = OQ_OPSET_MAX,
    .check   = ci_check,
    .infer   = ci_infer,
    .prepare = ci_prepare,
    .run     = ci_run,
    .destroy = ci_destroy,
    .macs    = ci_macs,
};
