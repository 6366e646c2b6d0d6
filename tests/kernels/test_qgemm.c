/* Every u8 x s8 GEMM (AVX2, AVX-512 VNNI; single slice, manual (ith, nth) slices, and the pool wrapper with
 * the session's table) against oq_qgemm_ref, with exact integer equality (float output: bit equality, the
 * epilogue is deterministic) on the odd-heavy size list and seeded random shapes: random zero points,
 * per-tensor and per-channel scales, with and without bias and clamp, all four output types, ld > width
 * with untouched padding. Also the vpmaddubsw worst cases (all 255 x all +127 / -127 / -128) against a
 * closed form, and the pack/unpack round trip. */
#include <string.h>

#include "kernels/dispatch.h"
#include "test_util.h"

#define PAD_BYTE 0xA5

struct impl {
    const char *name;
    oq_qgemm_fn fn;
    int nth;               /* > 1: call fn for every ith of nth slices by hand */
    struct oq_pool *pool;  /* non-NULL: oq_qgemm() with the session table, fn ignored */
};

static const int sizes[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 67, 127, 129, 255};
enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };
static const size_t out_size[] = {1, 1, 4, 4};
static const char *out_name[] = {"u8", "s8", "s32", "f32"};

struct gcase {
    int M, N, K, pad;
    enum oq_qgemm_out out;
    bool per_channel, bias, clamp;
    int x_zp, out_zp;
    int mode; /* 0 random, 1 all 255 x +127, 2 all 255 x -127, 3 all 255 x -128, 4 random extremes */
};

static const struct oq_kernels *g_k;

static int64_t elem(const void *y, enum oq_qgemm_out out, int64_t i) {
    switch (out) {
    case OQ_QGEMM_OUT_U8: return ((const uint8_t *)y)[i];
    case OQ_QGEMM_OUT_S8: return ((const int8_t *)y)[i];
    case OQ_QGEMM_OUT_S32: return ((const int32_t *)y)[i];
    default: {
        int32_t b;
        memcpy(&b, (const float *)y + i, 4);
        return b;
    }
    }
}

static bool call(const struct impl *im, const struct oq_qgemm_packed *pw, const struct oq_qgemm_args *a) {
    int nth = im->pool ? oq_pool_size(im->pool) : im->nth;
    size_t sb = oq_qgemm_scratch_size(pw->K, nth);
    void *scratch = aligned_alloc(64, (sb + 63) & ~(size_t)63);
    oq_status st = OQ_OK;
    if (im->pool)
        st = oq_qgemm(g_k, im->pool, pw, a, scratch, sb);
    else
        for (int i = 0; i < im->nth && st == OQ_OK; i++)
            st = im->fn(pw, a, scratch, i, im->nth);
    free(scratch);
    CHECK_MSG(st == OQ_OK, "qgemm/%s: status %s", im->name, oq_status_str(st));
    return st == OQ_OK;
}

/* Returns the number of failures (0 or 1). If expect_s32 is not NULL, every output must also equal it. */
static int run_case(const struct impl *im, uint64_t *rng, const struct gcase *c, const int32_t *expect_s32) {
    const int M = c->M, N = c->N, K = c->K;
    int8_t *W = malloc((size_t)M * K);
    int64_t ldx = N + c->pad, ldy = N + c->pad;
    uint8_t *X = malloc((size_t)K * ldx);
    for (int64_t i = 0; i < (int64_t)M * K; i++) {
        int v = (int)(test_rng_next(rng) % 256) - 128;
        if (c->mode == 1) v = 127;
        if (c->mode == 2) v = -127;
        if (c->mode == 3) v = -128;
        if (c->mode == 4) v = test_rng_next(rng) & 1 ? 127 : -128;
        W[i] = (int8_t)v;
    }
    for (int64_t i = 0; i < (int64_t)K * ldx; i++)
        X[i] = c->mode ? 255 : (uint8_t)(test_rng_next(rng) % 256);
    float *scale = malloc(sizeof(float) * (size_t)M);
    int32_t *bias = malloc(sizeof(int32_t) * (size_t)M);
    for (int m = 0; m < M; m++) {
        /* scales around 1/(K*64) so requantized values spread over the whole range, plus exact ties */
        scale[m] = test_rng_uniform(rng, 0.2f, 4.0f) / (float)(K * 64);
        if (m % 5 == 0)
            scale[m] = 0.5f;
        bias[m] = (int32_t)(test_rng_next(rng) % 200001) - 100000;
    }
    void *pbuf = aligned_alloc(64, oq_qgemm_packed_bytes(M, K));
    struct oq_qgemm_packed pw;
    CHECK_OK(oq_qgemm_pack(&pw, W, M, K, K, pbuf), NULL);
    size_t es = out_size[c->out];
    uint8_t *Y = malloc(es * (size_t)M * ldy), *R = malloc(es * (size_t)M * ldy);
    memset(Y, PAD_BYTE, es * (size_t)M * ldy);
    memset(R, PAD_BYTE, es * (size_t)M * ldy);
    int lo = c->out == OQ_QGEMM_OUT_S8 ? -128 : 0, hi = c->out == OQ_QGEMM_OUT_S8 ? 127 : 255;
    struct oq_qgemm_args a = {
        .N = N, .x = X, .ldx = ldx, .x_zp = c->x_zp, .y = R, .ldy = ldy,
        .ep = {.out = c->out, .scale = scale, .per_channel = c->per_channel, .bias = c->bias ? bias : NULL,
               .out_zp = c->out_zp, .act_min = c->clamp ? c->out_zp : lo, .act_max = c->clamp ? hi - 20 : hi},
    };
    if (a.ep.act_min > a.ep.act_max)
        a.ep.act_min = a.ep.act_max;
    CHECK_OK(oq_qgemm_ref(&pw, &a, NULL, 0, 1), NULL);
    a.y = Y;
    int fails = 0;
    if (call(im, &pw, &a)) {
        int64_t first = -1, ndiff = 0, g0 = 0, r0 = 0;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < ldy; n++) {
                int64_t i = m * ldy + n;
                bool bad;
                if (n >= N) /* padding columns must be untouched */
                    bad = memcmp(Y + i * es, R + i * es, es) != 0;
                else
                    bad = elem(Y, c->out, i) != elem(R, c->out, i) ||
                          (expect_s32 && elem(R, c->out, i) != expect_s32[m]);
                if (bad) {
                    if (first < 0)
                        first = i, g0 = elem(Y, c->out, i), r0 = elem(R, c->out, i);
                    ndiff++;
                }
            }
        if (ndiff) {
            fails = 1;
            CHECK_MSG(ndiff == 0,
                      "qgemm/%s M=%d N=%d K=%d: first mismatch at %d: got %d ref %d (%d of %d differ) "
                      "[out=%s pad=%d x_zp=%d out_zp=%d per_channel=%d bias=%d clamp=%d mode=%d%s]",
                      im->name, M, N, K, (int)first, (int)g0, (int)r0, (int)ndiff, (int)(M * ldy),
                      out_name[c->out], c->pad, c->x_zp, c->out_zp, c->per_channel, c->bias, c->clamp, c->mode,
                      expect_s32 ? " vs closed form" : "");
        } else {
            g_test_checks++;
        }
    } else {
        fails = 1;
    }
    free(W); free(X); free(scale); free(bias); free(pbuf); free(Y); free(R);
    return fails;
}

static void test_pack_roundtrip(uint64_t *rng) {
    for (int t = 0; t < 40; t++) {
        int M = sizes[t % NSIZES], K = sizes[(t * 7 + 3) % NSIZES] + t / NSIZES, ldw = K + (t % 3);
        int8_t *W = malloc((size_t)M * ldw), *U = calloc((size_t)M * ldw, 1);
        for (int64_t i = 0; i < (int64_t)M * ldw; i++)
            W[i] = (int8_t)(test_rng_next(rng) & 0xFF);
        void *buf = aligned_alloc(64, oq_qgemm_packed_bytes(M, K));
        struct oq_qgemm_packed p;
        CHECK_OK(oq_qgemm_pack(&p, W, M, K, ldw, buf), NULL);
        oq_qgemm_unpack_ref(&p, U, ldw);
        int bad = 0;
        for (int m = 0; m < M; m++) {
            int32_t s = 0;
            for (int k = 0; k < K; k++) {
                bad += U[m * ldw + k] != W[m * ldw + k];
                s += W[m * ldw + k];
            }
            bad += p.wsum[m] != s;
        }
        /* padding rows and k >= K are zero (the kernels rely on it) */
        int64_t Q = p.K4 / 4;
        for (int64_t pi = 0; pi < p.panels; pi++)
            for (int64_t q = 0; q < Q; q++)
                for (int r = 0; r < OQ_QGEMM_MR; r++)
                    for (int j = 0; j < 4; j++)
                        if (pi * OQ_QGEMM_MR + r >= M || q * 4 + j >= K)
                            bad += p.w[((pi * Q + q) * OQ_QGEMM_MR + r) * 4 + j] != 0;
        for (int64_t r = M; r < (int64_t)p.panels * OQ_QGEMM_MR; r++)
            bad += p.wsum[r] != 0;
        CHECK_MSG(bad == 0, "qgemm pack/unpack M=%d K=%d ldw=%d: %d differences", M, K, ldw, bad);
        free(W); free(U); free(buf);
    }
    /* bad arguments are rejected */
    int8_t w1 = 1;
    struct oq_qgemm_packed p;
    void *buf = aligned_alloc(64, 64);
    CHECK(oq_qgemm_pack(&p, &w1, 1, OQ_QGEMM_MAX_K + 1, OQ_QGEMM_MAX_K + 1, buf) == OQ_ERR_ARG);
    CHECK(oq_qgemm_pack(&p, &w1, 1, 1, 1, (char *)buf + 1) == OQ_ERR_ARG);
    CHECK(oq_qgemm_packed_bytes(1, OQ_QGEMM_MAX_K + 1) == 0);
    free(buf);
}

int main(void) {
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    g_k = &k;
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    oq_error err = {0}, *errp = &err;
    struct oq_pool *pool2 = NULL, *pool3 = NULL;
    CHECK_OK(oq_pool_create(2, &pool2, errp), errp);
    CHECK_OK(oq_pool_create(3, &pool3, errp), errp);
    uint64_t rng = 4242;
    test_pack_roundtrip(&rng);

    struct impl impls[8];
    int ni = 0;
    if (f.avx2) {
        impls[ni++] = (struct impl){"avx2", oq_qgemm_avx2, 1, NULL};
        impls[ni++] = (struct impl){"avx2/nth3", oq_qgemm_avx2, 3, NULL};
    }
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni) {
        impls[ni++] = (struct impl){"avx512vnni", oq_qgemm_avx512vnni, 1, NULL};
        impls[ni++] = (struct impl){"avx512vnni/nth3", oq_qgemm_avx512vnni, 3, NULL};
    }
    impls[ni++] = (struct impl){"ref/nth2", oq_qgemm_ref, 2, NULL};
    impls[ni++] = (struct impl){"session+pool2", NULL, 0, pool2};
    impls[ni++] = (struct impl){"session+pool3", NULL, 0, pool3};
    printf("session qgemm: %s; testing %d implementations\n", k.qgemm_name, ni);

    int fails = 0;
    for (int i = 0; i < ni; i++) {
        int cnt = 0;
        /* the odd-heavy list: every (M, N) pair, K cycling through the list */
        for (int a = 0; a < NSIZES && fails < 20; a++)
            for (int b = 0; b < NSIZES && fails < 20; b++)
                for (int kk = 0; kk < 2; kk++) {
                    struct gcase c = {
                        .M = sizes[a], .N = sizes[b], .K = sizes[(a * 3 + b * 5 + kk * 7) % NSIZES], .pad = (a + b) % 3 ? 0 : 3,
                        .out = (enum oq_qgemm_out)(cnt % 4), .per_channel = cnt % 3 != 0, .bias = cnt % 2 == 0,
                        .clamp = cnt % 5 < 2, .x_zp = (int)(test_rng_next(&rng) % 256),
                        .out_zp = (int)(test_rng_next(&rng) % 256),
                    };
                    if (c.out == OQ_QGEMM_OUT_S8)
                        c.out_zp -= 128;
                    cnt++;
                    fails += run_case(&impls[i], &rng, &c, NULL);
                }
        /* every K of the list on one shape */
        for (int kk = 0; kk < NSIZES && fails < 20; kk++) {
            struct gcase c = {.M = 17, .N = 33, .K = sizes[kk], .out = OQ_QGEMM_OUT_S32, .x_zp = 7};
            fails += run_case(&impls[i], &rng, &c, NULL);
        }
        /* seeded random shapes (some large enough for several column tiles and the pool's splits) */
        for (int r = 0; r < 50 && fails < 20; r++) {
            struct gcase c = {
                .M = 1 + (int)(test_rng_next(&rng) % 300), .N = 1 + (int)(test_rng_next(&rng) % 900),
                .K = 1 + (int)(test_rng_next(&rng) % 700), .pad = (int)(test_rng_next(&rng) % 3) * 5,
                .out = (enum oq_qgemm_out)(test_rng_next(&rng) % 4), .per_channel = test_rng_next(&rng) & 1,
                .bias = test_rng_next(&rng) & 1, .clamp = test_rng_next(&rng) & 1,
                .x_zp = (int)(test_rng_next(&rng) % 256), .out_zp = (int)(test_rng_next(&rng) % 256),
            };
            if (c.out == OQ_QGEMM_OUT_S8)
                c.out_zp -= 128;
            fails += run_case(&impls[i], &rng, &c, NULL);
        }
        /* vpmaddubsw worst cases: all 255 against all +127, -127, -128 (x_zp = 0, no bias, raw s32 output
         * compared with the closed form K * 255 * w too) and random +127/-128 mixes with requantized output */
        const int wk[] = {1, 2, 3, 4, 5, 31, 255, 1000, 4099};
        for (unsigned t = 0; t < sizeof(wk) / sizeof(wk[0]); t++)
            for (int mode = 1; mode <= 3; mode++) {
                const int wv = mode == 1 ? 127 : mode == 2 ? -127 : -128;
                int32_t expect[33];
                for (int m = 0; m < 33; m++)
                    expect[m] = wk[t] * 255 * wv;
                struct gcase c = {.M = 33, .N = 67, .K = wk[t], .out = OQ_QGEMM_OUT_S32, .mode = mode};
                fails += run_case(&impls[i], &rng, &c, expect);
                struct gcase c2 = {.M = 9, .N = 50, .K = wk[t], .out = OQ_QGEMM_OUT_U8, .mode = mode,
                                   .per_channel = true, .bias = true, .x_zp = 3, .out_zp = 128};
                fails += run_case(&impls[i], &rng, &c2, NULL);
            }
        for (int t = 0; t < 6; t++) {
            struct gcase c = {.M = 20 + t, .N = 100 + t, .K = 64 * t + 1, .out = (enum oq_qgemm_out)(t % 4),
                              .mode = 4, .x_zp = t * 40, .out_zp = 10, .bias = true};
            fails += run_case(&impls[i], &rng, &c, NULL);
        }
        /* model-like shapes */
        struct gcase big[] = {
            {.M = 16, .N = 6400, .K = 27, .out = OQ_QGEMM_OUT_U8, .x_zp = 128, .out_zp = 0, .clamp = true, .per_channel = true, .bias = true},
            {.M = 120, .N = 1600, .K = 1008, .out = OQ_QGEMM_OUT_U8, .x_zp = 100, .out_zp = 3, .per_channel = true, .bias = true},
            {.M = 480, .N = 40, .K = 480, .out = OQ_QGEMM_OUT_S8, .x_zp = 1, .out_zp = -5, .bias = true},
            {.M = 200, .N = 120, .K = 96, .out = OQ_QGEMM_OUT_F32, .x_zp = 250, .per_channel = true},
            /* the det model's 96 -> 24 3x3 conv as a GEMM (3 panels, a long K) */
            {.M = 24, .N = 1000, .K = 864, .out = OQ_QGEMM_OUT_U8, .x_zp = 77, .out_zp = 9, .per_channel = true,
             .bias = true},
        };
        for (unsigned t = 0; t < sizeof(big) / sizeof(big[0]); t++)
            fails += run_case(&impls[i], &rng, &big[t], NULL);
    }

    /* bad arguments */
    {
        int8_t w1[4] = {1, 2, 3, 4};
        void *buf = aligned_alloc(64, oq_qgemm_packed_bytes(1, 4));
        struct oq_qgemm_packed pw;
        CHECK_OK(oq_qgemm_pack(&pw, w1, 1, 4, 4, buf), NULL);
        uint8_t x[4] = {0}, y[1];
        float s = 1.0f;
        struct oq_qgemm_args a = {.N = 1, .x = x, .ldx = 1, .y = y, .ldy = 1,
                                  .ep = {.out = OQ_QGEMM_OUT_U8, .scale = &s, .act_min = 0, .act_max = 255}};
        for (int i = 0; i < ni; i++)
            if (impls[i].fn && impls[i].fn != oq_qgemm_ref)
                CHECK(impls[i].fn(&pw, &a, NULL, 0, 1) == OQ_ERR_ARG); /* scratch required */
        a.ep.act_max = 256;
        CHECK(oq_qgemm_ref(&pw, &a, NULL, 0, 1) == OQ_ERR_ARG);
        a.ep.act_max = 255;
        a.x_zp = 256;
        CHECK(oq_qgemm_ref(&pw, &a, NULL, 0, 1) == OQ_ERR_ARG);
        free(buf);
    }

    /* dispatch: a REF table uses only reference integer kernels; AVX2 forces the AVX2 ones */
    struct oq_kernels kr, ka;
    oq_kernels_init(&kr, OQ_KERNELS_REF);
    CHECK(kr.qgemm == oq_qgemm_ref && kr.qdwconv == oq_qdwconv_ref && kr.qim2col == oq_qim2col_ref);
    if (f.avx2 && f.fma) {
        oq_kernels_init(&ka, OQ_KERNELS_AVX2);
        CHECK(ka.qgemm == oq_qgemm_avx2 && ka.qdwconv == oq_qdwconv_avx2);
    }
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && !getenv("ONNXQ_KERNELS"))
        CHECK(k.qgemm == oq_qgemm_avx512vnni);
    /* the implicit-GEMM conv kernels follow the table's qgemm level */
    oq_qconv_xpack_fn xp;
    oq_qconv_igemm_fn ig;
    oq_qconv_igemm_kernels(&kr, &xp, &ig);
    CHECK(xp == oq_qconv_xpack_ref && ig == oq_qconv_igemm_ref);
    if (f.avx2 && f.fma) {
        oq_qconv_igemm_kernels(&ka, &xp, &ig);
        CHECK(xp == oq_qconv_xpack_fast && ig == oq_qconv_igemm_avx2);
    }
    if (k.qgemm == oq_qgemm_avx512vnni) {
        oq_qconv_igemm_kernels(&k, &xp, &ig);
        CHECK(xp == oq_qconv_xpack_avx512 && ig == oq_qconv_igemm_avx512vnni);
    }
    oq_pool_free(pool2);
    oq_pool_free(pool3);
    TEST_MAIN_END();
}
