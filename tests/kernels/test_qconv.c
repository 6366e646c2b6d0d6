/* u8 conv helpers against their references with exact equality: the depthwise kernels (every ISA, 3x3 and
 * 5x5, strides 1/2/(1,2)/(2,1), random pads, dilations and plane sizes, random zero points, scales, bias,
 * clamp; a stride-3 fallback), the fast im2col against oq_qim2col_ref on random geometries and position
 * ranges, and whole convolutions: im2col + qgemm (session table) against a direct conv loop written here,
 * and the 1x1 path (qgemm on the input itself) against the im2col path. */
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

static int test_dw(const char *isa, oq_qdwconv_fn fn, uint64_t *r) {
    static const int strides[][2] = {{1, 1}, {2, 2}, {1, 2}, {2, 1}, {3, 3}, {1, 3}};
    int fails = 0;
    for (int t = 0; t < 600 && fails < 10; t++) {
        int k = t % 2 ? 5 : 3;
        int kw = t % 7 == 0 ? (k == 3 ? 5 : 3) : k; /* some non-square kernels */
        const int *s = strides[(t / 2) % 6];
        struct oq_conv2d_geom g;
        random_geom(r, &g, k, kw, s[0], s[1]);
        if (g.out_h <= 0 || g.out_w <= 0)
            continue;
        int64_t nx = g.in_h * g.in_w, ny = g.out_h * g.out_w;
        uint8_t *x = malloc((size_t)nx), *y = malloc((size_t)ny), *yr = malloc((size_t)ny);
        int8_t w[25];
        bool extreme = t % 11 == 0;
        for (int64_t i = 0; i < nx; i++)
            x[i] = extreme ? 255 : (uint8_t)rnd(r, 0, 255);
        for (int i = 0; i < k * kw; i++)
            w[i] = extreme ? (t % 2 ? 127 : -128) : (int8_t)rnd(r, -128, 127);
        struct oq_qdw_params p = {.x_zp = extreme ? 0 : rnd(r, 0, 255), .out_zp = rnd(r, 0, 255), .act_min = 0,
                                  .act_max = 255, .bias = rnd(r, -20000, 20000),
                                  .scale = test_rng_uniform(r, 0.1f, 3.0f) / (float)(k * kw * 64)};
        if (t % 3 == 0) /* fused Relu6-like clamp */
            p.act_min = p.out_zp, p.act_max = p.out_zp + (255 - p.out_zp) / 2;
        void *scratch = aligned_alloc(64, (oq_qdwconv_scratch_size(&g) + 63) & ~(size_t)63);
        memset(y, 0xA5, (size_t)ny);
        CHECK_OK(oq_qdwconv_ref(&g, &p, x, w, yr, NULL), NULL);
        CHECK_OK(fn(&g, &p, x, w, y, scratch), NULL);
        fails += report("qdwconv", isa, &g, y, yr, ny);
        free(scratch);
        free(x);
        free(y);
        free(yr);
    }
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
    oq_pool_free(pool2);
    TEST_MAIN_END();
}
