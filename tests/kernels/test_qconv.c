/* u8 conv helpers against their references with exact equality: the depthwise kernels (every ISA; 3x3, 5x5,
 * 1x7, 7x1, 9x9 and more; strides 1/2/(1,2)/(2,1) up to 4; dilation 1/2/large; random pads and plane sizes
 * around the SIMD block widths; zero points 0/255/random, scales, bias, clamps; fallbacks), the fast im2col
 * against oq_qim2col_ref on random geometries and position ranges, and whole convolutions: im2col + qgemm
 * (session table) against a direct conv loop written here, and the 1x1 path (qgemm on the input itself)
 * against the im2col path. */
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/requant.h"
#include "test_util.h"

static int rnd(uint64_t *r, int lo, int hi) { return lo + (int)(test_rng_next(r) % (uint64_t)(hi - lo + 1)); }

static void random_geom(uint64_t *r, struct oq_conv2d_geom *g, int kh, int kw, int sh, int sw) {
    memset(g, 0, sizeof(*g));
    g->k_h = kh, g->k_w = kw, g->stride_h = sh, g->stride_w = sw;
    g->dil_h = rnd(r, 0, 3) == 0 ? 2 : 1;
    g->dil_w = rnd(r, 0, 3) == 0 ? 2 : 1;
    static const int odd[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 67};
    g->in_h = odd[rnd(r, 0, 12)];
    g->in_w = odd[rnd(r, 0, 12)];
    g->pad_t = rnd(r, 0, (kh - 1) * g->dil_h);
    g->pad_l = rnd(r, 0, (kw - 1) * g->dil_w);
    int pad_b = rnd(r, 0, (kh - 1) * g->dil_h), pad_r = rnd(r, 0, (kw - 1) * g->dil_w);
    int64_t eh = (kh - 1) * g->dil_h + 1, ew = (kw - 1) * g->dil_w + 1;
    g->out_h = (g->in_h + g->pad_t + pad_b - eh) / sh + 1;
    g->out_w = (g->in_w + g->pad_l + pad_r - ew) / sw + 1;
    if (g->in_h + g->pad_t + pad_b < eh)
        g->out_h = 0;
    if (g->in_w + g->pad_l + pad_r < ew)
        g->out_w = 0;
}

static int report(const char *what, const char *isa, const struct oq_conv2d_geom *g, const uint8_t *got,
                  const uint8_t *ref, int64_t n) {
    int64_t first = -1, nd = 0;
    for (int64_t i = 0; i < n; i++)
        if (got[i] != ref[i]) {
            if (first < 0)
                first = i;
            nd++;
        }
    CHECK_MSG(nd == 0,
              "%s/%s M=%d N=%d K=%d: first mismatch at %d: got %d ref %d (%d of %d differ) "
              "[in %dx%d k %dx%d s %dx%d pad %d,%d dil %dx%d]",
              what, isa, (int)g->out_h, (int)g->out_w, g->k_h * g->k_w, (int)first, first >= 0 ? got[first] : 0,
              first >= 0 ? ref[first] : 0, (int)nd, (int)n, (int)g->in_h, (int)g->in_w, g->k_h, g->k_w,
              g->stride_h, g->stride_w, g->pad_t, g->pad_l, g->dil_h, g->dil_w);
    return nd != 0;
}

/* Depthwise geometries: the det/rec kernel shapes plus odd ones (1x7, 7x1; 9x9: more than 64 taps, three
 * 4-tap groups per row; 2x17: more than four groups, a fallback), strides up to 4, dilation 1, 2 and large
 * (past what one 64-byte window holds: a fallback), widths around the VBMI kernel's 16/32/64-column blocks,
 * independent pads on all sides. */
static void random_dw_geom(uint64_t *r, struct oq_conv2d_geom *g, int t) {
    static const int kshape[][2] = {{3, 3}, {5, 5}, {3, 3}, {5, 5}, {3, 5}, {5, 3}, {1, 7}, {7, 1},
                                    {1, 1}, {2, 4}, {3, 9}, {9, 9}, {4, 2}, {1, 3}, {2, 17}};
    static const int strides[][2] = {{1, 1}, {2, 2}, {1, 1}, {2, 2}, {1, 2},
                                     {2, 1}, {3, 3}, {1, 3}, {1, 4}, {2, 4}};
    static const int widths[] = {1,  2,  3,  5,  7,  8,  15, 16, 17, 20,  31,  33,
                                 40, 47, 63, 64, 65, 67, 80, 97, 127, 129, 160, 200};
    static const int heights[] = {1, 2, 3, 5, 7, 8, 12, 17, 24, 33};
    const int *k = kshape[t % 15], *s = strides[(t / 15) % 10];
    memset(g, 0, sizeof(*g));
    g->k_h = k[0], g->k_w = k[1], g->stride_h = s[0], g->stride_w = s[1];
    int dr = rnd(r, 0, 19);
    g->dil_h = dr < 14 ? 1 : dr < 19 ? 2 : rnd(r, 3, 20);
    dr = rnd(r, 0, 19);
    g->dil_w = dr < 14 ? 1 : dr < 19 ? 2 : rnd(r, 3, 20);
    g->in_h = heights[rnd(r, 0, 9)];
    /* half from the list, half any width: some SIMD loads then end exactly at the end of the plane */
    g->in_w = rnd(r, 0, 1) ? widths[rnd(r, 0, 23)] : rnd(r, 1, 260);
    int64_t eh = (int64_t)(g->k_h - 1) * g->dil_h + 1, ew = (int64_t)(g->k_w - 1) * g->dil_w + 1;
    g->pad_t = rnd(r, 0, (int)eh - 1);
    g->pad_l = rnd(r, 0, (int)ew - 1);
    int pad_b = rnd(r, 0, (int)eh - 1), pad_r = rnd(r, 0, (int)ew - 1);
    g->out_h = g->in_h + g->pad_t + pad_b < eh ? 0 : (g->in_h + g->pad_t + pad_b - eh) / g->stride_h + 1;
    g->out_w = g->in_w + g->pad_l + pad_r < ew ? 0 : (g->in_w + g->pad_l + pad_r - ew) / g->stride_w + 1;
}

static int test_dw(const char *isa, oq_qdwconv_fn fn, uint64_t *r) {
    int fails = 0, runs = 0;
    for (int t = 0; t < 3000 && fails < 10; t++) {
        struct oq_conv2d_geom g;
        random_dw_geom(r, &g, t);
        if (g.out_h <= 0 || g.out_w <= 0)
            continue;
        int taps = g.k_h * g.k_w;
        int64_t nx = g.in_h * g.in_w, ny = g.out_h * g.out_w;
        /* exact sizes, so that ASan sees any read past the plane or the scratch */
        uint8_t *x = malloc((size_t)nx), *y = malloc((size_t)ny), *yr = malloc((size_t)ny);
        int8_t *w = malloc((size_t)taps);
        int extreme = t % 11 == 0 ? 1 : t % 17 == 0 ? 2 : 0; /* all 255 x +-128/127, or all 0 */
        for (int64_t i = 0; i < nx; i++)
            x[i] = extreme == 1 ? 255 : extreme == 2 ? 0 : (uint8_t)rnd(r, 0, 255);
        for (int i = 0; i < taps; i++)
            w[i] = extreme ? (t % 2 ? 127 : -128) : (int8_t)rnd(r, -128, 127);
        int zsel = rnd(r, 0, 3);
        struct oq_qdw_params p = {.x_zp = zsel == 0 ? 0 : zsel == 1 ? 255 : rnd(r, 0, 255),
                                  .out_zp = rnd(r, 0, 255), .act_min = 0, .act_max = 255,
                                  .bias = rnd(r, -20000, 20000),
                                  .scale = test_rng_uniform(r, 0.1f, 3.0f) / (float)(taps * 64)};
        if (t % 3 == 0) /* fused Relu6-like clamp */
            p.act_min = p.out_zp, p.act_max = p.out_zp + (255 - p.out_zp) / 2;
        else if (t % 5 == 1) /* any clamp, down to a single value */
            p.act_min = rnd(r, 0, 255), p.act_max = rnd(r, p.act_min, 255);
        if (t % 13 == 0) /* outputs far outside [0, 255], some past int32 before the clamp */
            p.scale = t % 2 ? 1.0f : 1e4f;
        void *scratch = malloc(oq_qdwconv_scratch_size(&g));
        memset(y, 0xA5, (size_t)ny);
        CHECK_OK(oq_qdwconv_ref(&g, &p, x, w, yr, NULL), NULL);
        CHECK_OK(fn(&g, &p, x, w, y, scratch), NULL);
        fails += report("qdwconv", isa, &g, y, yr, ny);
        runs++;
        free(scratch);
        free(x);
        free(y);
        free(yr);
        free(w);
    }
    CHECK(runs > 2000);
    return fails;
}

static int test_im2col(uint64_t *r) {
    int fails = 0;
    for (int t = 0; t < 400 && fails < 10; t++) {
        struct oq_conv2d_geom g;
        int kh = rnd(r, 1, 5), kw = rnd(r, 1, 5);
        random_geom(r, &g, kh, kw, rnd(r, 1, 3), rnd(r, 1, 3));
        if (g.out_h <= 0 || g.out_w <= 0)
            continue;
        int64_t C = rnd(r, 1, 4), P = g.out_h * g.out_w;
        int64_t p0 = rnd(r, 0, (int)P - 1), p1 = rnd(r, (int)p0 + 1, (int)P), ldc = p1 - p0 + rnd(r, 0, 3);
        int64_t rows = C * kh * kw;
        uint8_t *x = malloc((size_t)(C * g.in_h * g.in_w)), *c1 = malloc((size_t)(rows * ldc)),
                *c2 = malloc((size_t)(rows * ldc));
        for (int64_t i = 0; i < C * g.in_h * g.in_w; i++)
            x[i] = (uint8_t)rnd(r, 0, 255);
        memset(c1, 0x5A, (size_t)(rows * ldc));
        memset(c2, 0x5A, (size_t)(rows * ldc));
        uint8_t pad = (uint8_t)rnd(r, 0, 255);
        oq_qim2col_ref(&g, C, x, pad, p0, p1, c1, ldc);
        oq_qim2col_fast(&g, C, x, pad, p0, p1, c2, ldc);
        fails += report("qim2col", "fast", &g, c2, c1, rows * ldc);
        free(x);
        free(c1);
        free(c2);
    }
    return fails;
}

/* Whole conv, one group: direct loop (the definition) vs im2col + qgemm, and the 1x1 shortcut. */
static int test_conv(const struct oq_kernels *k, struct oq_pool *pool, uint64_t *r) {
    int fails = 0;
    for (int t = 0; t < 60 && fails < 10; t++) {
        struct oq_conv2d_geom g;
        bool one = t % 3 == 0;
        int kk = one ? 1 : (t % 2 ? 3 : 5);
        random_geom(r, &g, kk, kk, one ? 1 : rnd(r, 1, 2), one ? 1 : rnd(r, 1, 2));
        if (one) {
            g.pad_t = g.pad_l = 0, g.dil_h = g.dil_w = 1;
            g.out_h = g.in_h, g.out_w = g.in_w;
        }
        if (g.out_h <= 0 || g.out_w <= 0)
            continue;
        int Ci = rnd(r, 1, 40), Co = rnd(r, 1, 70);
        int64_t P = g.out_h * g.out_w, K = (int64_t)Ci * kk * kk, HW = g.in_h * g.in_w;
        uint8_t *x = malloc((size_t)(Ci * HW)), *col = malloc((size_t)(K * P));
        int8_t *w = malloc((size_t)(Co * K));
        uint8_t *y = malloc((size_t)(Co * P)), *yr = malloc((size_t)(Co * P));
        float *scale = malloc(sizeof(float) * (size_t)Co);
        int32_t *bias = malloc(sizeof(int32_t) * (size_t)Co);
        for (int64_t i = 0; i < Ci * HW; i++)
            x[i] = (uint8_t)rnd(r, 0, 255);
        for (int64_t i = 0; i < Co * K; i++)
            w[i] = (int8_t)rnd(r, -128, 127);
        for (int m = 0; m < Co; m++)
            scale[m] = test_rng_uniform(r, 0.2f, 3.0f) / (float)(K * 64), bias[m] = rnd(r, -50000, 50000);
        int32_t x_zp = rnd(r, 0, 255), out_zp = rnd(r, 0, 255);
        /* the definition */
        for (int m = 0; m < Co; m++)
            for (int64_t oy = 0; oy < g.out_h; oy++)
                for (int64_t ox = 0; ox < g.out_w; ox++) {
                    int32_t acc = 0;
                    for (int c = 0; c < Ci; c++)
                        for (int ky = 0; ky < kk; ky++)
                            for (int kx = 0; kx < kk; kx++) {
                                int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
                                int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
                                if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w)
                                    acc += w[m * K + (c * kk + ky) * kk + kx] *
                                           ((int32_t)x[(c * g.in_h + iy) * g.in_w + ix] - x_zp);
                            }
                    yr[m * P + oy * g.out_w + ox] =
                        (uint8_t)oq_requant_f32(oq_requant_acc(acc, 0, 0, bias[m]), scale[m], out_zp, out_zp, 255);
                }
        void *pbuf = aligned_alloc(64, oq_qgemm_packed_bytes(Co, K));
        struct oq_qgemm_packed pw;
        CHECK_OK(oq_qgemm_pack(&pw, w, Co, K, K, pbuf), NULL);
        size_t sb = oq_qgemm_scratch_size(K, oq_pool_size(pool));
        void *scratch = aligned_alloc(64, (sb + 63) & ~(size_t)63);
        k->qim2col(&g, Ci, x, (uint8_t)x_zp, 0, P, col, P);
        struct oq_qgemm_args a = {.N = P, .x = col, .ldx = P, .x_zp = x_zp, .y = y, .ldy = P,
                                  .ep = {.out = OQ_QGEMM_OUT_U8, .scale = scale, .per_channel = true, .bias = bias,
                                         .out_zp = out_zp, .act_min = out_zp, .act_max = 255}};
        CHECK_OK(oq_qgemm(k, pool, &pw, &a, scratch, sb), NULL);
        fails += report("qconv-im2col", k->qgemm_name, &g, y, yr, Co * P);
        if (oq_qconv_is_1x1(&g)) {
            memset(y, 0, (size_t)(Co * P));
            a.x = x; /* the input itself is X[Ci, H*W] */
            CHECK_OK(oq_qgemm(k, pool, &pw, &a, scratch, sb), NULL);
            fails += report("qconv-1x1", k->qgemm_name, &g, y, yr, Co * P);
        }
        free(pbuf); free(scratch); free(x); free(col); free(w); free(y); free(yr); free(scale); free(bias);
    }
    return fails;
}

/* ---- implicit-GEMM conv: xpack (every implementation, byte for byte), the weight order (round trip), and
 * every igemm level against the conv definition, whole and in (ith, nth) slices, all four output types ---- */

struct ig_case {
    struct oq_conv2d_geom g;
    int C, M;
    int32_t x_zp;
    struct oq_qgemm_epilogue ep;
};

/* The definition: acc' of output (m, oy, ox) straight from x and W[M, C, kh, kw]. */
static int32_t ig_def_acc(const struct ig_case *c, const uint8_t *x, const int8_t *w, const int32_t *bias, int m,
                          int64_t oy, int64_t ox) {
    const struct oq_conv2d_geom *g = &c->g;
    int32_t acc = 0;
    for (int ch = 0; ch < c->C; ch++)
        for (int ky = 0; ky < g->k_h; ky++)
            for (int kx = 0; kx < g->k_w; kx++) {
                int64_t iy = oy * g->stride_h - g->pad_t + ky * g->dil_h;
                int64_t ix = ox * g->stride_w - g->pad_l + kx * g->dil_w;
                if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w)
                    acc += w[((m * c->C + ch) * g->k_h + ky) * g->k_w + kx] *
                           ((int32_t)x[(ch * g->in_h + iy) * g->in_w + ix] - c->x_zp);
            }
    return oq_requant_acc(acc, 0, 0, bias ? bias[m] : 0);
}

/* Expected output bytes (elements of the epilogue's type, row stride ldy) from the definition. */
static void ig_expect(const struct ig_case *c, const uint8_t *x, const int8_t *w, void *y, int64_t ldy) {
    const struct oq_qgemm_epilogue *e = &c->ep;
    for (int m = 0; m < c->M; m++)
        for (int64_t oy = 0; oy < c->g.out_h; oy++)
            for (int64_t ox = 0; ox < c->g.out_w; ox++) {
                int32_t v = ig_def_acc(c, x, w, e->bias, m, oy, ox);
                float s = e->scale ? e->scale[e->per_channel ? m : 0] : 0.0f;
                int64_t at = m * ldy + oy * c->g.out_w + ox;
                if (e->out == OQ_QGEMM_OUT_U8)
                    ((uint8_t *)y)[at] = (uint8_t)oq_requant_f32(v, s, e->out_zp, e->act_min, e->act_max);
                else if (e->out == OQ_QGEMM_OUT_S8)
                    ((int8_t *)y)[at] = (int8_t)oq_requant_f32(v, s, e->out_zp, e->act_min, e->act_max);
                else if (e->out == OQ_QGEMM_OUT_S32)
                    ((int32_t *)y)[at] = v;
                else
                    ((float *)y)[at] = (float)v * s;
            }
}

static size_t ig_elem(enum oq_qgemm_out out) {
    return out == OQ_QGEMM_OUT_U8 || out == OQ_QGEMM_OUT_S8 ? 1 : 4;
}

static int ig_report(const char *what, const char *isa, const struct ig_case *c, const void *got, const void *ref,
                     int64_t ldy) {
    size_t es = ig_elem(c->ep.out);
    int64_t P = c->g.out_h * c->g.out_w, first = -1, nd = 0, n = (int64_t)c->M * P;
    int32_t gv = 0, rv = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t at = i / P * ldy + i % P;
        if (memcmp((const char *)got + at * es, (const char *)ref + at * es, es)) {
            if (first < 0) {
                first = i;
                if (es == 1)
                    gv = c->ep.out == OQ_QGEMM_OUT_U8 ? ((const uint8_t *)got)[at] : ((const int8_t *)got)[at],
                    rv = c->ep.out == OQ_QGEMM_OUT_U8 ? ((const uint8_t *)ref)[at] : ((const int8_t *)ref)[at];
                else
                    memcpy(&gv, (const char *)got + at * 4, 4), memcpy(&rv, (const char *)ref + at * 4, 4);
            }
            nd++;
        }
    }
    const struct oq_conv2d_geom *g = &c->g;
    CHECK_MSG(nd == 0,
              "%s/%s M=%d N=%d K=%d: first mismatch at %d: got %d ref %d (%d of %d differ) "
              "[C %d in %dx%d k %dx%d s %dx%d pad %d,%d dil %dx%d out %d]",
              what, isa, c->M, (int)P, c->C * g->k_h * g->k_w, (int)first, gv, rv, (int)nd, (int)n, c->C,
              (int)g->in_h, (int)g->in_w, g->k_h, g->k_w, g->stride_h, g->stride_w, g->pad_t, g->pad_l, g->dil_h,
              g->dil_w, (int)c->ep.out);
    return nd != 0;
}

static int test_igemm(struct oq_pool *pool, const struct oq_cpu_features *f, uint64_t *r) {
    static const int odd[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33};
    static const int strides[][2] = {{1, 1}, {2, 2}, {1, 2}, {2, 1}, {3, 3}, {1, 3}};
    bool has_avx2 = f->avx2 && f->fma, has_vnni = f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni;
    struct {
        const char *name;
        oq_qconv_igemm_fn fn;
        bool ok;
    } lv[] = {{"ref", oq_qconv_igemm_ref, true},
              {"avx2", oq_qconv_igemm_avx2, has_avx2},
              {"avx512vnni", oq_qconv_igemm_avx512vnni, has_vnni}};
    struct oq_kernels tables[3];
    oq_kernels_init(&tables[0], OQ_KERNELS_REF);
    oq_kernels_init(&tables[1], OQ_KERNELS_AVX2);
    oq_kernels_init(&tables[2], OQ_KERNELS_AUTO);
    int fails = 0;
    for (int t = 0; t < 160 && fails < 10; t++) {
        struct ig_case c;
        memset(&c, 0, sizeof(c));
        if (t == 0) { /* the det model's first conv and its 96 -> 24 3x3 convs, at small planes */
            c.g = (struct oq_conv2d_geom){.in_h = 67, .in_w = 67, .out_h = 34, .out_w = 34, .k_h = 3, .k_w = 3,
                                          .stride_h = 2, .stride_w = 2, .pad_t = 1, .pad_l = 1, .dil_h = 1,
                                          .dil_w = 1};
            c.C = 3, c.M = 16;
        } else if (t == 1) {
            c.g = (struct oq_conv2d_geom){.in_h = 20, .in_w = 20, .out_h = 20, .out_w = 20, .k_h = 3, .k_w = 3,
                                          .stride_h = 1, .stride_w = 1, .pad_t = 1, .pad_l = 1, .dil_h = 1,
                                          .dil_w = 1};
            c.C = 96, c.M = 24;
        } else if (t == 2) { /* a 1-D conv (one output row, as rec's 1x3 convs): its tiles split over threads */
            c.g = (struct oq_conv2d_geom){.in_h = 1, .in_w = 67, .out_h = 1, .out_w = 67, .k_h = 1, .k_w = 3,
                                          .stride_h = 1, .stride_w = 1, .pad_t = 0, .pad_l = 1, .dil_h = 1,
                                          .dil_w = 1};
            c.C = 201, c.M = 64;
        } else {
            const int *s = strides[t % 6];
            random_geom(r, &c.g, rnd(r, 1, 5), rnd(r, 1, 5), s[0], s[1]);
            c.C = odd[rnd(r, 0, 11)];
            c.M = rnd(r, 1, 70);
        }
        if (c.g.out_h <= 0 || c.g.out_w <= 0)
            continue;
        const struct oq_conv2d_geom *g = &c.g;
        int64_t P = g->out_h * g->out_w, taps = (int64_t)g->k_h * g->k_w, K = c.C * taps;
        int64_t kp = oq_qconv_igemm_depth(c.C, g->k_h, g->k_w);
        while (t > 2 && c.M > 1 && (int64_t)c.M * P * kp > (4 << 20)) /* keep the oracles quick */
            c.M /= 2;
        bool extreme = t % 13 == 5; /* worst case for a saturating u8 x s8 shortcut */
        int wext = t % 2 ? 127 : -128;
        uint8_t *x = malloc((size_t)(c.C * g->in_h * g->in_w));
        int8_t *w = malloc((size_t)(c.M * K)), *wu = malloc((size_t)(c.M * K));
        float *scale = malloc(sizeof(float) * (size_t)c.M);
        int32_t *bias = malloc(sizeof(int32_t) * (size_t)c.M);
        for (int64_t i = 0; i < c.C * g->in_h * g->in_w; i++)
            x[i] = extreme ? 255 : (uint8_t)rnd(r, 0, 255);
        for (int64_t i = 0; i < c.M * K; i++)
            w[i] = extreme ? (int8_t)wext : (int8_t)rnd(r, -128, 127);
        for (int m = 0; m < c.M; m++)
            scale[m] = test_rng_uniform(r, 0.2f, 3.0f) / (float)(K * 64), bias[m] = rnd(r, -50000, 50000);
        c.x_zp = extreme ? 0 : rnd(r, 0, 255);
        int32_t out_zp = rnd(r, 0, 255);
        c.ep = (struct oq_qgemm_epilogue){.out = (enum oq_qgemm_out)(t % 4), .scale = scale,
                                          .per_channel = t % 5 != 0, .bias = t % 7 ? bias : NULL};
        if (c.ep.out == OQ_QGEMM_OUT_U8)
            c.ep.out_zp = out_zp, c.ep.act_min = t % 3 ? 0 : out_zp, c.ep.act_max = 255;
        else if (c.ep.out == OQ_QGEMM_OUT_S8)
            c.ep.out_zp = out_zp - 128, c.ep.act_min = -128, c.ep.act_max = t % 3 ? 127 : 100;
        if (t < 3)
            c.ep.out = OQ_QGEMM_OUT_U8, c.ep.out_zp = out_zp, c.ep.act_min = 0, c.ep.act_max = 255;

        /* xpack: every implementation writes the same bytes; the second split checks partial row ranges */
        struct oq_qconv_xi_dims d;
        oq_qconv_xi_dims(g, c.C, &d);
        size_t xb = (size_t)d.bytes;
        uint8_t *xi = aligned_alloc(64, (xb + 63) & ~(size_t)63), *xi2 = aligned_alloc(64, (xb + 63) & ~(size_t)63);
        oq_qconv_xpack_ref(g, c.C, x, (uint8_t)c.x_zp, 0, d.rows, xi);
        oq_qconv_xpack_fn xp[2] = {oq_qconv_xpack_fast, has_vnni ? oq_qconv_xpack_avx512 : oq_qconv_xpack_fast};
        for (int i = 0; i < 2; i++) {
            int64_t mid = rnd(r, 0, (int)d.rows);
            memset(xi2, 0x5A, xb);
            xp[i](g, c.C, x, (uint8_t)c.x_zp, 0, mid, xi2);
            xp[i](g, c.C, x, (uint8_t)c.x_zp, mid, d.rows, xi2);
            fails += report("qconv_xpack", i ? "avx512" : "fast", g, xi2, xi, d.bytes - OQ_QCONV_XI_SLACK);
        }
        /* weights in the k' order, and back */
        struct oq_qgemm_packed pw;
        void *pbuf = aligned_alloc(64, (oq_qgemm_packed_bytes(c.M, kp) + 63) & ~(size_t)63);
        CHECK_OK(oq_qconv_igemm_pack(&pw, w, c.M, c.C, g->k_h, g->k_w, pbuf), NULL);
        oq_qconv_igemm_unpack_ref(&pw, c.C, g->k_h, g->k_w, wu);
        CHECK_MSG(!memcmp(w, wu, (size_t)(c.M * K)), "igemm pack round trip M=%d C=%d k %dx%d", c.M, c.C, g->k_h,
                  g->k_w);

        size_t es = ig_elem(c.ep.out);
        int64_t ldy = P + rnd(r, 0, 3);
        void *yr = malloc(es * (size_t)(c.M * ldy)), *y = malloc(es * (size_t)(c.M * ldy));
        memset(yr, 0x33, es * (size_t)(c.M * ldy));
        ig_expect(&c, x, w, yr, ldy);
        struct oq_qconv_igemm_args a = {.g = c.g, .channels = c.C, .x = x, .x_zp = c.x_zp, .y = y, .ldy = ldy,
                                        .ep = c.ep};
        int nth = 3;
        void *scr = aligned_alloc(64, oq_qconv_igemm_scratch_slice(kp)); /* one call at a time */
        for (int l = 0; l < 3; l++) {
            if (!lv[l].ok)
                continue;
            memset(y, 0x33, es * (size_t)(c.M * ldy));
            CHECK_OK(lv[l].fn(&pw, &a, xi, scr, 0, 1), NULL);
            fails += ig_report("qconv_igemm", lv[l].name, &c, y, yr, ldy);
            memset(y, 0x33, es * (size_t)(c.M * ldy));
            for (int i = 0; i < nth; i++)
                CHECK_OK(lv[l].fn(&pw, &a, xi, scr, i, nth), NULL);
            fails += ig_report("qconv_igemm-slices", lv[l].name, &c, y, yr, ldy);
        }
        /* the pool wrapper (xpack + GEMM) with each session table */
        size_t sb = oq_qconv_igemm_scratch_size(g, c.C, 2);
        void *scr2 = aligned_alloc(64, (sb + 63) & ~(size_t)63);
        for (int l = 0; l < 3; l++) {
            if (!lv[l].ok)
                continue;
            memset(y, 0x33, es * (size_t)(c.M * ldy));
            CHECK_OK(oq_qconv_igemm(&tables[l], pool, &pw, &a, scr2, sb), NULL);
            fails += ig_report("qconv_igemm-pool", tables[l].qgemm_name, &c, y, yr, ldy);
        }
        free(scr2); free(scr); free(y); free(yr); free(pbuf); free(xi); free(xi2);
        free(x); free(w); free(wu); free(scale); free(bias);
    }
    /* bad arguments: scratch and xi are required (the reference needs no scratch), depth must match */
    {
        struct oq_conv2d_geom g = {.in_h = 4, .in_w = 4, .out_h = 4, .out_w = 4, .k_h = 3, .k_w = 3, .stride_h = 1,
                                   .stride_w = 1, .pad_t = 1, .pad_l = 1, .dil_h = 1, .dil_w = 1};
        int8_t w[2 * 5 * 9] = {0};
        uint8_t x[5 * 16] = {0}, y[2 * 16];
        float s = 1.0f;
        struct oq_qgemm_packed pw;
        void *pbuf = aligned_alloc(64, (oq_qgemm_packed_bytes(2, oq_qconv_igemm_depth(5, 3, 3)) + 63) & ~(size_t)63);
        CHECK_OK(oq_qconv_igemm_pack(&pw, w, 2, 5, 3, 3, pbuf), NULL);
        CHECK(pw.K == 72); /* 5 channels -> 2 groups of 4, 9 taps */
        struct oq_qconv_igemm_args a = {.g = g, .channels = 5, .x = x, .y = y, .ldy = 16,
                                        .ep = {.out = OQ_QGEMM_OUT_U8, .scale = &s, .act_min = 0, .act_max = 255}};
        struct oq_qconv_xi_dims d;
        oq_qconv_xi_dims(&g, 5, &d);
        uint8_t *xi = aligned_alloc(64, (size_t)(d.bytes + 63) & ~(size_t)63);
        void *scr = aligned_alloc(64, oq_qconv_igemm_scratch_slice(pw.K));
        oq_qconv_xpack_ref(&g, 5, x, 0, 0, d.rows, xi);
        CHECK_OK(oq_qconv_igemm_ref(&pw, &a, xi, NULL, 0, 1), NULL);
        CHECK(oq_qconv_igemm_ref(&pw, &a, NULL, NULL, 0, 1) == OQ_ERR_ARG);
        if (lv[2].ok) {
            CHECK(oq_qconv_igemm_avx512vnni(&pw, &a, xi, NULL, 0, 1) == OQ_ERR_ARG);
            CHECK_OK(oq_qconv_igemm_avx512vnni(&pw, &a, xi, scr, 0, 1), NULL);
        }
        if (lv[1].ok)
            CHECK(oq_qconv_igemm_avx2(&pw, &a, xi, NULL, 0, 1) == OQ_ERR_ARG);
        a.channels = 4; /* weights packed for 5 */
        CHECK(oq_qconv_igemm_ref(&pw, &a, xi, NULL, 0, 1) == OQ_ERR_ARG);
        a.channels = 5;
        CHECK(oq_qconv_igemm(&tables[0], pool, &pw, &a, NULL, 0) == OQ_ERR_ARG);
        CHECK(oq_qconv_igemm_depth(OQ_QGEMM_MAX_K, 3, 3) == 0);
        free(pbuf); free(xi); free(scr);
    }
    return fails;
}

int main(void) {
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    oq_error err = {0};
    struct oq_pool *pool2 = NULL;
    CHECK_OK(oq_pool_create(2, &pool2, &err), &err);
    uint64_t rng = 99;
    if (f.avx2)
        test_dw("avx2", oq_qdwconv_avx2, &rng);
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni)
        test_dw("avx512vnni", oq_qdwconv_avx512vnni, &rng);
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512vbmi) {
        test_dw("avx512vbmi", oq_qdwconv_avx512vbmi, &rng);
        CHECK(k.level != OQ_KERNELS_AVX512 || k.qdwconv == oq_qdwconv_avx512vbmi); /* the table's pick */
    }
    test_im2col(&rng);
    test_conv(&k, pool2, &rng);
    struct oq_kernels kr;
    oq_kernels_init(&kr, OQ_KERNELS_REF);
    test_conv(&kr, NULL, &rng);
    if (f.avx2 && f.fma) {
        struct oq_kernels ka;
        oq_kernels_init(&ka, OQ_KERNELS_AVX2);
        test_conv(&ka, pool2, &rng);
    }
    test_igemm(pool2, &f, &rng);
    oq_pool_free(pool2);
    TEST_MAIN_END();
}
