/* QConvTranspose (com.onnxq): uint8 x int8 -> uint8 transposed convolution, NCHW, 1-D and 2-D, made by the
 * session's INT8 lowering (exec/lower_qdq.h) from DequantizeLinear -> ConvTranspose -> QuantizeLinear. Inputs
 * in QLinearConv's order, like QConv:
 *
 *   0 x (uint8)   1 x_scale   2 x_zero_point (uint8)   3 w (int8 [C, M/group, kh, kw])
 *   4 w_scale ([1] or [M])   5 w_zero_point (int8, absent or all 0)   6 y_scale
 *   7 y_zero_point (uint8, absent = 0)   8 B (int32 [M], optional)
 *
 * Everything but x must be a constant. Attributes are ConvTranspose's, with its shape rules
 * (ops/convtranspose_common.h). Numerics are QConv's:
 *
 *   acc[n, m, oy, ox] = B[m] + sum over (c, ky, kx) landing on (oy, ox) of (x - x_zp) * w     exact int32
 *   y = kernels/requant.h's epilogue with scale[m] = x_scale * w_scale[m] / y_scale (float, in that order),
 *       clamped to [0, 255]
 *
 * Computed per (image, group) as a GEMM with the qgemm kernels on the input itself (no im2col: every input
 * position is one column)
 *     col[Mg*kh*kw, H*W] = W_g^T [Mg*kh*kw, Cg] . (X_g [Cg, H*W] - x_zp)     (W_g^T packed once)
 * and a scatter of each column onto the output grid (the adjoint of im2col, like the float op's col2im):
 *   overlap  taps of different inputs can land on one output (kernel extent > stride, e.g. 3x3 / 4x4
 *            stride 2): int32 GEMM output, scatter-add into an int32 accumulator per block of output
 *            channels (starting at B[m]), then requant; tasks own their output channels, so adds never race.
 *   direct   at most one tap lands on each output (kernel extent <= stride, e.g. 2x2 stride 2 upsampling):
 *            each sum has one term, so the GEMM's own uint8 epilogue (per-row scale[m] and B[m]) gives the
 *            final value and the scatter is a copy; outputs no tap reaches hold requant(B[m]). Tasks are
 *            tiles of input positions, which write disjoint outputs.
 * Both give the same integers: the sums are exact, so neither order nor grouping matters. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/requant.h"
#include "ops/convtranspose_common.h"
#include "ops/op.h"

struct qct_priv {
    struct oq_convtranspose_attrs a;
    struct oq_convtranspose_shape s;
    /* shape independent, set at the first prepare */
    bool packed;
    bool direct;                /* kernel extent <= stride in both dims: taps never overlap */
    int64_t M, G, Mg, KK;
    int32_t x_zp, y_zp;
    float *scale;               /* [M] */
    int32_t *bias;              /* [M], zeros when B is absent */
    float *row_scale;           /* direct: [M*KK], scale of GEMM row (m, ky, kx) */
    int32_t *row_bias;          /* direct: [M*KK] */
    uint8_t *fill;              /* direct: [M], requant(B[m]) for outputs no tap reaches */
    struct oq_qgemm_packed *pw; /* [G]: W_g^T, rows (m, ky, kx) of group g, depth Cg */
    void **pbuf;                /* [G] aligned buffers */
    /* shape dependent */
    bool covered;               /* direct: every output is reached by a tap */
    int64_t chunk, nchunks;     /* overlap: output channels per task, tasks per (image, group) */
    int64_t tile, ntiles;       /* input positions per GEMM, tiles per (image, group) */
    size_t acc_bytes, col_bytes, slice_bytes; /* per thread: int32 accumulator, GEMM output, GEMM scratch */
};

static const struct oq_tensor *qct_in(const struct oq_op_ctx *ctx, int k) {
    return k < ctx->n_in ? ctx->in[k] : NULL;
}

static oq_status qct_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 5, 9, 1, 1)); /* 5: w_zero_point may be empty */
    if (n->n_in < 7)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has %d inputs; y_scale (input 6) is required", n->n_in);
    for (int k = 1; k < n->n_in; k++) {
        bool optional = k == 5 || k == 7 || k == 8;
        if (n->in[k] < 0 && !optional)
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is required", k);
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant", k,
                                 g->values[n->in[k]].name);
    }
    struct oq_convtranspose_attrs a;
    return oq_convtranspose_attrs_parse(n, err, &a);
}

static oq_status qct_resolve(const struct oq_op_ctx *ctx, const struct oq_convtranspose_attrs *a,
                             struct oq_convtranspose_shape *s) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[3];
    if (x->dtype != OQ_DTYPE_UINT8 || w->dtype != OQ_DTYPE_INT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x must be uint8 and w int8 (got %s, %s)",
                           oq_dtype_name(x->dtype), oq_dtype_name(w->dtype));
    return oq_convtranspose_shape_resolve(ctx, a, x, w, s);
}

static oq_status qct_infer(struct oq_op_ctx *ctx) {
    struct oq_convtranspose_attrs a;
    struct oq_convtranspose_shape s;
    OQ_TRY(oq_convtranspose_attrs_parse(ctx->node, ctx->err, &a));
    OQ_TRY(qct_resolve(ctx, &a, &s));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, s.out_ndim, s.out_dims);
    return OQ_OK;
}

static void qct_destroy(void *priv) {
    struct qct_priv *p = priv;
    if (!p)
        return;
    free(p->scale);
    free(p->bias);
    free(p->row_scale);
    free(p->row_bias);
    free(p->fill);
    if (p->pbuf)
        for (int64_t g = 0; g < p->G; g++)
            oq_free_aligned(p->pbuf[g]);
    free(p->pbuf);
    free(p->pw);
    free(p);
}

/* Scales, bias, zero points, packed W_g^T and the direct path's per-row epilogue: once per node. */
static oq_status qct_pack(struct oq_op_ctx *ctx, struct qct_priv *p) {
    const struct oq_tensor *xs = ctx->in[1], *xz = ctx->in[2], *w = ctx->in[3], *ws = ctx->in[4];
    const struct oq_tensor *wz = qct_in(ctx, 5), *ys = ctx->in[6], *yz = qct_in(ctx, 7), *b = qct_in(ctx, 8);
    const struct oq_convtranspose_shape *s = &p->s;
    bool scalars = xs->dtype == OQ_DTYPE_FLOAT && oq_tensor_numel(xs) == 1 && ys->dtype == OQ_DTYPE_FLOAT &&
                   oq_tensor_numel(ys) == 1 && ws->dtype == OQ_DTYPE_FLOAT && xz->dtype == OQ_DTYPE_UINT8 &&
                   oq_tensor_numel(xz) == 1 && (!yz || (yz->dtype == OQ_DTYPE_UINT8 && oq_tensor_numel(yz) == 1));
    if (!scalars)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars (w_scale: [1] or [M]) and zero "
                           "points uint8 scalars");
    p->M = s->M;
    p->G = s->G;
    p->Mg = s->Mg;
    p->KK = s->KK;
    int64_t M = p->M, KK = p->KK, Cg = s->Cg, rows = p->Mg * KK, nws = oq_tensor_numel(ws);
    if (nws != 1 && nws != M)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "w_scale has %lld values; expected 1 or %lld", (long long)nws,
                           (long long)M);
    for (int64_t i = 0; wz && i < oq_tensor_numel(wz); i++)
        if (wz->dtype != OQ_DTYPE_INT8 || ((const int8_t *)wz->data)[i] != 0)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "w_zero_point must be int8 zeros (symmetric weights)");
    if (b && (b->dtype != OQ_DTYPE_INT32 || oq_tensor_numel(b) != M))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "B must be int32 [%lld]", (long long)M);
    /* 255 * 128 * Cg*KK (+ bias) must stay below 2^31 for the accumulator to be exact: qgemm's depth limit */
    if (Cg * KK > OQ_QGEMM_MAX_K)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "C/group * kh * kw = %lld exceeds %d: the int32 accumulator "
                           "could overflow", (long long)(Cg * KK), OQ_QGEMM_MAX_K);
    float sx = *(const float *)xs->data, sy = *(const float *)ys->data;
    const float *sw = ws->data;
    p->x_zp = *(const uint8_t *)xz->data;
    p->y_zp = yz ? *(const uint8_t *)yz->data : 0;
    p->scale = malloc(sizeof(float) * (size_t)M + 1);
    p->bias = calloc((size_t)M + 1, sizeof(int32_t));
    if (!p->scale || !p->bias)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    for (int64_t m = 0; m < M; m++) {
        p->scale[m] = sx * sw[nws > 1 ? m : 0] / sy; /* ORT: X_scale * W_scale[m] / Y_scale */
        if (!(p->scale[m] >= 0.0f) || p->scale[m] > 3.4e38f)
            return oq_op_error(ctx, OQ_ERR_MODEL, "output scale %lld is %g; scales must be positive and finite",
                               (long long)m, (double)p->scale[m]);
        p->bias[m] = b ? ((const int32_t *)b->data)[m] : 0;
    }
    const struct oq_conv2d_geom *gm = &s->geom;
    p->direct = ((int64_t)gm->k_h - 1) * gm->dil_h < gm->stride_h &&
                ((int64_t)gm->k_w - 1) * gm->dil_w < gm->stride_w;
    if (p->direct) {
        p->row_scale = malloc(sizeof(float) * (size_t)(M * KK) + 1);
        p->row_bias = malloc(sizeof(int32_t) * (size_t)(M * KK) + 1);
        p->fill = malloc((size_t)M + 1);
        if (!p->row_scale || !p->row_bias || !p->fill)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        for (int64_t m = 0; m < M; m++) {
            for (int64_t k = 0; k < KK; k++) {
                p->row_scale[m * KK + k] = p->scale[m];
                p->row_bias[m * KK + k] = p->bias[m];
            }
            p->fill[m] = oq_requant_narrow_u8(oq_requant_f32(p->bias[m], p->scale[m], p->y_zp, 0, 255));
        }
    }
    p->pw = calloc((size_t)p->G, sizeof(*p->pw));
    p->pbuf = calloc((size_t)p->G, sizeof(*p->pbuf));
    size_t bytes = oq_qgemm_packed_bytes(rows, Cg);
    int8_t *wt = malloc((size_t)(rows * Cg) + 1);
    oq_status st = !p->pw || !p->pbuf || !wt ? OQ_ERR_NOMEM : bytes ? OQ_OK : OQ_ERR_UNSUPPORTED;
    const int8_t *wd = w->data;
    for (int64_t g = 0; st == OQ_OK && g < p->G; g++) {
        /* W_g is [Cg, Mg*KK] row-major; the GEMM wants its transpose, one row per (m, ky, kx) */
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t r = 0; r < rows; r++)
                wt[r * Cg + c] = wd[(g * Cg + c) * rows + r];
        p->pbuf[g] = oq_alloc_aligned(bytes);
        st = p->pbuf[g] ? oq_qgemm_pack(&p->pw[g], wt, rows, Cg, Cg, p->pbuf[g]) : OQ_ERR_NOMEM;
    }
    free(wt);
    if (st)
        return oq_op_error(ctx, st, "packing the weights [%lld, %lld] failed", (long long)rows, (long long)Cg);
    p->packed = true;
    return OQ_OK;
}

/* Whether every output index along one dimension is reached by some (input index, tap). */
static bool qct_dim_covered(int64_t out, int64_t in, int32_t k, int32_t stride, int32_t dil, int32_t pad) {
    for (int64_t o = 0; o < out; o++) {
        bool hit = false;
        for (int32_t t = 0; t < k && !hit; t++) {
            int64_t v = o + pad - (int64_t)t * dil;
            hit = v >= 0 && v % stride == 0 && v / stride < in;
        }
        if (!hit)
            return false;
    }
    return true;
}

/* Sizes that keep one task's working set near L2: the GEMM output block and the overlap path's accumulator. */
enum { QCT_COL_BYTES = 256 * 1024, QCT_ACC_BYTES = 1024 * 1024 };

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

/* Input positions per GEMM: about QCT_COL_BYTES of output for `rows` rows of `elem` bytes, a multiple of the
 * kernels' column block, and at most Pin / split (split > 1 makes tiles the pool's tasks). */
static int64_t qct_tile(int64_t Pin, int64_t rows, int64_t elem, int64_t split) {
    int64_t tile = QCT_COL_BYTES / elem / (rows > 0 ? rows : 1), part = (Pin + split - 1) / split;
    tile = part < tile ? part : tile;
    tile = (tile + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR * OQ_QGEMM_NR;
    return tile >= Pin ? (Pin > 0 ? Pin : 1) : tile;
}

static oq_status qct_prepare(struct oq_op_ctx *ctx) {
    struct qct_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
        OQ_TRY(oq_convtranspose_attrs_parse(ctx->node, ctx->err, &p->a));
    }
    OQ_TRY(qct_resolve(ctx, &p->a, &p->s));
    if (!p->packed)
        OQ_TRY(qct_pack(ctx, p));
    const struct oq_convtranspose_shape *s = &p->s;
    const struct oq_conv2d_geom *gm = &s->geom;
    if (s->M != p->M || s->KK != p->KK)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "the weight's shape changed");
    int nth = oq_pool_size(ctx->pool);
    size_t gemm = round64(oq_qgemm_scratch_slice(s->Cg));
    if (p->direct) {
        p->covered = qct_dim_covered(gm->in_h, gm->out_h, gm->k_h, gm->stride_h, gm->dil_h, gm->pad_t) &&
                     qct_dim_covered(gm->in_w, gm->out_w, gm->k_w, gm->stride_w, gm->dil_w, gm->pad_l);
        int64_t per = s->N * s->G;
        p->tile = qct_tile(s->Pin, p->Mg * p->KK, 1, per < nth ? (nth + per - 1) / per : 1);
        p->ntiles = (s->Pin + p->tile - 1) / p->tile;
        p->acc_bytes = 0;
        p->col_bytes = round64((size_t)(p->Mg * p->KK * p->tile));
    } else {
        /* channel blocks start on a packed panel: chunk * KK is a multiple of OQ_QGEMM_MR (or chunk = Mg) */
        int64_t unit = 1;
        while ((unit * p->KK) % OQ_QGEMM_MR)
            unit++;
        int64_t plane = s->Pout * (int64_t)sizeof(int32_t);
        int64_t chunk = QCT_ACC_BYTES / (plane > 0 ? plane : 1) / unit * unit;
        int64_t per = s->N * s->G;
        if (per < nth) {
            int64_t want = (nth + per - 1) / per, c = (p->Mg + want - 1) / want;
            chunk = c < chunk ? c : chunk;
        }
        chunk = (chunk + unit - 1) / unit * unit;
        p->chunk = chunk < unit ? unit : chunk >= p->Mg ? p->Mg : chunk;
        p->nchunks = (p->Mg + p->chunk - 1) / p->chunk;
        p->tile = qct_tile(s->Pin, p->chunk * p->KK, (int64_t)sizeof(int32_t), 1);
        p->ntiles = (s->Pin + p->tile - 1) / p->tile;
        p->acc_bytes = round64((size_t)(p->chunk * s->Pout) * sizeof(int32_t));
        p->col_bytes = round64((size_t)(p->chunk * p->KK * p->tile) * sizeof(int32_t));
    }
    p->slice_bytes = p->acc_bytes + p->col_bytes + gemm;
    ctx->scratch_bytes = p->slice_bytes * (size_t)nth;
    return OQ_OK;
}

/* Tap (ky, kx) applied to the input positions of row iy that lie in [p0, p1): input columns [*ix0, *ix1) land
 * on the output plane at *dst + ix * stride_w. False when none lands inside the output. */
static bool qct_tap_span(const struct oq_conv2d_geom *g, int32_t ky, int32_t kx, int64_t iy, int64_t p0,
                         int64_t p1, int64_t *ix0, int64_t *ix1, int64_t *dst) {
    int64_t oy = iy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
    if (oy < 0 || oy >= g->in_h)
        return false;
    int64_t off = (int64_t)kx * g->dil_w - g->pad_l, sw = g->stride_w, row0 = iy * g->out_w;
    int64_t lo = off >= 0 ? 0 : (sw - 1 - off) / sw;                       /* first ix with ix*sw + off >= 0 */
    int64_t hi = g->in_w - off <= 0 ? 0 : (g->in_w - off + sw - 1) / sw; /* first ix with ix*sw + off >= OW */
    lo = lo > p0 - row0 ? lo : p0 - row0;
    hi = hi < p1 - row0 ? hi : p1 - row0;
    hi = hi < g->out_w ? hi : g->out_w;
    *ix0 = lo;
    *ix1 = hi;
    *dst = oy * g->in_w + off;
    return lo < hi;
}

/* 2x upsampling along w (kernel 2, stride 2, dilation 1): the rows of taps kx = 0 and 1 interleave into one
 * contiguous output run, a loop the compiler vectorizes (byte unpacks), unlike two stride-2 scatters. */
static void qct_interleave2(uint8_t *restrict dp, const uint8_t *restrict s0, const uint8_t *restrict s1,
                            int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        dp[2 * i] = s0[i];
        dp[2 * i + 1] = s1[i];
    }
}

/* Scatter the GEMM output of input positions [p0, p1) (row r = (c*kh + ky)*kw + kx, row stride ldc) onto
 * `channels` output planes: int32 adds into acc (overlap path), or uint8 copies into y (direct path, where
 * no output is written twice). */
static void qct_scatter(const struct oq_conv2d_geom *g, int64_t channels, const void *col, int64_t ldc, int64_t p0,
                        int64_t p1, int32_t *acc, uint8_t *y) {
    const int64_t plane = g->in_h * g->in_w, sw = g->stride_w, kw = g->k_w;
    const bool pairs = !acc && kw == 2 && sw == 2 && g->dil_w == 1;
    for (int64_t c = 0; c < channels; c++)
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int64_t iy = p0 / g->out_w; iy * g->out_w < p1; iy++)
                for (int32_t kx = 0; kx < kw; kx++) {
                    int64_t ix0, ix1, dst, r = (c * g->k_h + ky) * kw + kx;
                    if (!qct_tap_span(g, ky, kx, iy, p0, p1, &ix0, &ix1, &dst))
                        continue;
                    /* pointers to the first element of the run (dst alone may point before the plane) */
                    int64_t src = r * ldc + iy * g->out_w - p0 + ix0, out = c * plane + dst + ix0 * sw;
                    int64_t n = ix1 - ix0;
                    if (acc) {
                        const int32_t *sp = (const int32_t *)col + src;
                        int32_t *dp = acc + out;
                        for (int64_t i = 0; i < n; i++)
                            dp[i * sw] += sp[i];
                        continue;
                    }
                    const uint8_t *sp = (const uint8_t *)col + src;
                    uint8_t *dp = y + out;
                    int64_t jx0, jx1, dst1;
                    if (pairs && kx == 0 && qct_tap_span(g, ky, 1, iy, p0, p1, &jx0, &jx1, &dst1) && jx0 == ix0 &&
                        jx1 == ix1) { /* tap 1 lands right after tap 0: dst1 == dst + 1 */
                        qct_interleave2(dp, sp, sp + ldc, n);
                        kx++;
                        continue;
                    }
                    for (int64_t i = 0; i < n; i++)
                        dp[i * sw] = sp[i];
                }
}

struct qct_job {
    const struct qct_priv *p;
    const struct oq_kernels *k;
    const uint8_t *x;
    uint8_t *y;
    unsigned char *scratch;
    int64_t ntasks;
    oq_status st[64];
};

static void qct_fail(struct qct_job *j, int ith, oq_status st) {
    if (st && ith < 64)
        j->st[ith] = st;
}

/* Task = (image, group, tile of input positions): GEMM with the final uint8 epilogue, then copy out. */
static void qct_direct_task(void *arg, int ith, int nth) {
    struct qct_job *j = arg;
    const struct qct_priv *p = j->p;
    const struct oq_convtranspose_shape *s = &p->s;
    unsigned char *col = j->scratch + (size_t)ith * p->slice_bytes;
    int64_t t0, t1, rows = p->Mg * p->KK;
    oq_split(j->ntasks, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t tile = t % p->ntiles, ng = t / p->ntiles, n = ng / s->G, g = ng % s->G;
        int64_t q0 = tile * p->tile, q1 = q0 + p->tile < s->Pin ? q0 + p->tile : s->Pin;
        struct oq_qgemm_args a = {
            .N = q1 - q0, .x = j->x + (n * s->C + g * s->Cg) * s->Pin + q0, .ldx = s->Pin, .x_zp = p->x_zp,
            .y = col, .ldy = q1 - q0,
            .ep = {.out = OQ_QGEMM_OUT_U8, .scale = p->row_scale + g * rows, .per_channel = true,
                   .bias = p->row_bias + g * rows, .out_zp = p->y_zp, .act_min = 0, .act_max = 255},
        };
        oq_status st = j->k->qgemm(&p->pw[g], &a, col + p->col_bytes, 0, 1);
        qct_fail(j, ith, st);
        if (st == OQ_OK)
            qct_scatter(&s->geom, p->Mg, col, q1 - q0, q0, q1, NULL, j->y + (n * s->M + g * p->Mg) * s->Pout);
    }
}

/* Task = (image, group, block of output channels): accumulate every tile's GEMM into int32, then requant. */
static void qct_overlap_task(void *arg, int ith, int nth) {
    struct qct_job *j = arg;
    const struct qct_priv *p = j->p;
    const struct oq_convtranspose_shape *s = &p->s;
    unsigned char *slice = j->scratch + (size_t)ith * p->slice_bytes;
    int32_t *acc = (int32_t *)(void *)slice;
    int32_t *col = (int32_t *)(void *)(slice + p->acc_bytes);
    void *gscr = slice + p->acc_bytes + p->col_bytes;
    int64_t t0, t1;
    oq_split(j->ntasks, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t ch = t % p->nchunks, ng = t / p->nchunks, n = ng / s->G, g = ng % s->G;
        int64_t c0 = ch * p->chunk, c1 = c0 + p->chunk < p->Mg ? c0 + p->chunk : p->Mg, m0 = g * p->Mg + c0;
        for (int64_t c = 0; c < c1 - c0; c++)
            for (int64_t i = 0; i < s->Pout; i++)
                acc[c * s->Pout + i] = p->bias[m0 + c];
        /* rows [c0*KK, c1*KK) of the packed W_g^T: whole panels, so a view is that block's own packing */
        const struct oq_qgemm_packed *full = &p->pw[g];
        int64_t r0 = c0 * p->KK, panel = r0 / OQ_QGEMM_MR;
        struct oq_qgemm_packed w = {
            .M = (int32_t)((c1 - c0) * p->KK), .K = full->K, .K4 = full->K4,
            .panels = (int32_t)(((c1 - c0) * p->KK + OQ_QGEMM_MR - 1) / OQ_QGEMM_MR),
            .w = full->w + panel * full->K4 * OQ_QGEMM_MR, .wsum = full->wsum + r0,
        };
        const uint8_t *x = j->x + (n * s->C + g * s->Cg) * s->Pin;
        oq_status st = OQ_OK;
        for (int64_t q0 = 0; st == OQ_OK && q0 < s->Pin; q0 += p->tile) {
            int64_t q1 = q0 + p->tile < s->Pin ? q0 + p->tile : s->Pin;
            struct oq_qgemm_args a = {
                .N = q1 - q0, .x = x + q0, .ldx = s->Pin, .x_zp = p->x_zp, .y = col, .ldy = q1 - q0,
                .ep = {.out = OQ_QGEMM_OUT_S32},
            };
            st = j->k->qgemm(&w, &a, gscr, 0, 1);
            if (st == OQ_OK)
                qct_scatter(&s->geom, c1 - c0, col, q1 - q0, q0, q1, acc, NULL);
        }
        qct_fail(j, ith, st);
        uint8_t *y = j->y + (n * s->M + m0) * s->Pout;
        for (int64_t c = 0; st == OQ_OK && c < c1 - c0; c++) {
            float sc = p->scale[m0 + c];
            const int32_t *ac = acc + c * s->Pout;
            uint8_t *yc = y + c * s->Pout;
            for (int64_t i = 0; i < s->Pout; i++)
                yc[i] = oq_requant_narrow_u8(oq_requant_f32(ac[i], sc, p->y_zp, 0, 255));
        }
    }
}

static oq_status qct_run(struct oq_op_ctx *ctx) {
    const struct qct_priv *p = ctx->priv;
    if (!p || !p->packed)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (oq_tensor_numel(ctx->out[0]) == 0)
        return OQ_OK;
    if (!ctx->scratch || ctx->scratch_bytes < p->slice_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->slice_bytes,
                           ctx->scratch_bytes);
    const struct oq_convtranspose_shape *s = &p->s;
    struct qct_job j = {.p = p, .k = ctx->kernels, .x = ctx->in[0]->data, .y = ctx->out[0]->data,
                        .scratch = ctx->scratch};
    if (p->direct && !p->covered) /* outputs no tap reaches (output_padding, stride > kernel) */
        for (int64_t nm = 0; nm < s->N * s->M; nm++)
            memset(j.y + nm * s->Pout, p->fill[nm % s->M], (size_t)s->Pout);
    j.ntasks = s->N * s->G * (p->direct ? p->ntiles : p->nchunks);
    int nth = oq_pool_threads_for(ctx->pool, s->N * s->C * s->Pin * s->Mg * s->KK, 1 << 18);
    int slots = (int)(ctx->scratch_bytes / p->slice_bytes);
    nth = nth > j.ntasks ? (int)j.ntasks : nth;
    nth = nth > slots ? slots : nth;
    if (nth > 0)
        oq_pool_run(ctx->pool, p->direct ? qct_direct_task : qct_overlap_task, &j, nth);
    for (int i = 0; i < nth && i < 64; i++)
        if (j.st[i])
            return oq_op_error(ctx, j.st[i], "integer kernel failed (status %d)", (int)j.st[i]);
    return OQ_OK;
}

static int64_t qct_macs(const struct oq_op_ctx *ctx) {
    /* every input element meets (C_out/group) * kh * kw weights: numel(X) * numel(W) / C_in */
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[3];
    if (!x || !w || w->ndim < 2 || w->dims[0] <= 0)
        return 0;
    return oq_tensor_numel(x) * (oq_tensor_numel(w) / w->dims[0]);
}

const struct oq_op_def oq_op_qconvtranspose = {
    .domain  = "com.onnxq",
    .name    = "QConvTranspose",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = qct_check,
    .infer   = qct_infer,
    .prepare = qct_prepare,
    .run     = qct_run,
    .destroy = qct_destroy,
    .macs    = qct_macs,
};
