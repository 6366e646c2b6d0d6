/* The requantization rule (kernels/requant.h), tie cases stated explicitly:
 *   float path (every epilogue): round half to even, 0.5 -> 0, 1.5 -> 2, -2.5 -> -2, after the clamp;
 *   Q31 path: round half up, 2.5 -> 3, -2.5 -> -2.
 * and the same ties through every qgemm and depthwise implementation's vector epilogue, checked against an
 * integer formula (not just against the reference). */
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/requant.h"
#include "test_util.h"

/* round(v / d) half to even for d a power of two, in integers */
static int32_t div_half_even(int32_t v, int32_t d) {
    int32_t q = v >= 0 ? v / d : -((-v) / d), r = v - q * d; /* truncation */
    if (r < 0)
        q -= 1, r += d; /* now floor */
    if (2 * r > d || (2 * r == d && (q & 1)))
        q++;
    return q;
}

static void test_scalar(void) {
    /* ties to even, stated as the ONNX rule is */
    CHECK(oq_requant_f32(1, 0.5f, 0, -128, 127) == 0);   /*  0.5 -> 0  */
    CHECK(oq_requant_f32(3, 0.5f, 0, -128, 127) == 2);   /*  1.5 -> 2  */
    CHECK(oq_requant_f32(-5, 0.5f, 0, -128, 127) == -2); /* -2.5 -> -2 */
    CHECK(oq_requant_f32(5, 0.5f, 0, -128, 127) == 2);   /*  2.5 -> 2  */
    CHECK(oq_requant_f32(-3, 0.5f, 0, -128, 127) == -2); /* -1.5 -> -2 */
    CHECK(oq_requant_f32(-1, 0.5f, 0, -128, 127) == 0);  /* -0.5 -> 0  */
    /* zero point added after rounding; clamp in the output domain (fused Relu: act_min = out_zp) */
    CHECK(oq_requant_f32(3, 0.5f, 100, 0, 255) == 102);
    CHECK(oq_requant_f32(-7, 1.0f, 100, 100, 255) == 100);
    CHECK(oq_requant_f32(1000000, 1.0f, 100, 0, 255) == 255);
    CHECK(oq_requant_f32(-1000000, 1.0f, 100, 0, 255) == 0);
    CHECK(oq_requant_f32(INT32_MAX, 1e9f, 0, -128, 127) == 127);
    CHECK(oq_requant_f32(INT32_MIN, 1e9f, 0, -128, 127) == -128);
    /* Clip(0, 6) with scale 6/255 style bounds */
    CHECK(oq_requant_f32(50, 1.0f, 10, 10, 40) == 40);
    /* zero-point correction wraps like the vector code and is exact when the true value fits */
    CHECK(oq_requant_acc(1000, 3, 10, -5) == 1000 - 30 - 5);
    CHECK(oq_requant_acc(INT32_MAX, 1, -1, 0) == INT32_MIN); /* wraps, documented */

    /* Q31 fixed point: half up */
    CHECK(oq_requant(5, 1 << 30, 0) == 3);   /*  2.5 ->  3 */
    CHECK(oq_requant(-5, 1 << 30, 0) == -2); /* -2.5 -> -2 */
    CHECK(oq_requant(3, 1 << 30, 0) == 2);   /*  1.5 ->  2 */
    CHECK(oq_requant(-3, 1 << 30, 0) == -1); /* -1.5 -> -1 */
    CHECK(oq_requant(7, 1 << 30, -1) == 2);  /* 7/4 = 1.75 -> 2 */
    CHECK(oq_requant(6, 1 << 30, -1) == 2);  /* 1.5 -> 2 */
    CHECK(oq_requant(INT32_MAX, INT32_MAX, 30) == INT32_MAX); /* saturates */
    int32_t mult, shift;
    oq_requant_q31_from_float(0.5, &mult, &shift);
    CHECK(mult == 1 << 30 && shift == 0);
    oq_requant_q31_from_float(0.75, &mult, &shift);
    CHECK(mult == 3 << 29 && shift == 0);
    oq_requant_q31_from_float(3.0, &mult, &shift);
    CHECK(mult == 3 << 29 && shift == 2);
    oq_requant_q31_from_float(0.0, &mult, &shift);
    CHECK(mult == 0 && shift == 0);
    oq_requant_q31_from_float(1e-12, &mult, &shift);
    CHECK(mult == 0 && shift == 0);
    oq_requant_q31_from_float(1.0 - 1e-12, &mult, &shift); /* mantissa rounds up to 2^31: renormalized */
    CHECK(mult == 1 << 30 && shift == 1);
    /* against exact double arithmetic: within one step (the multiplier has 31 bits) */
    uint64_t rng = 7;
    int far = 0;
    for (int i = 0; i < 100000; i++) {
        double m = exp(test_rng_uniform(&rng, -20.0f, 2.0f));
        int32_t acc = (int32_t)(test_rng_next(&rng) % 2000001) - 1000000;
        oq_requant_q31_from_float(m, &mult, &shift);
        double exact = floor((double)acc * m + 0.5);
        int32_t got = oq_requant(acc, mult, shift);
        far += fabs(got - exact) > 1.0;
    }
    CHECK_MSG(far == 0, "oq_requant vs exact: %d results more than one step off", far);
}

/* Every qgemm implementation: K = 1, weight 1 per channel, x = 0..255, x_zp and bias chosen so acc' runs
 * through odd and even values around 0; scales 0.5 and 0.25 make the float product exact, so the tie cases
 * are exactly representable and the expected value is the integer half-even quotient. */
static void test_gemm_ties(const char *name, oq_qgemm_fn fn) {
    const int M = 4, N = 256, K = 1;
    int8_t W[4] = {1, 1, 1, -1};
    float scale[4] = {0.5f, 0.25f, 0.5f, 0.25f};
    int32_t bias[4] = {0, -3, 7, 1};
    const int32_t d[4] = {2, 4, 2, 4};
    uint8_t X[256];
    for (int i = 0; i < N; i++)
        X[i] = (uint8_t)i;
    void *buf = aligned_alloc(64, oq_qgemm_packed_bytes(M, K));
    struct oq_qgemm_packed pw;
    CHECK_OK(oq_qgemm_pack(&pw, W, M, K, K, buf), NULL);
    void *scratch = aligned_alloc(64, oq_qgemm_scratch_size(K, 1));
    for (int o = 0; o < 2; o++) {
        uint8_t Y[4 * 256];
        int32_t out_zp = o == 0 ? 60 : 0, lo = o == 0 ? 0 : -128, hi = o == 0 ? 255 : 127;
        struct oq_qgemm_args a = {.N = N, .x = X, .ldx = N, .x_zp = 128, .y = Y, .ldy = N,
                                  .ep = {.out = o == 0 ? OQ_QGEMM_OUT_U8 : OQ_QGEMM_OUT_S8, .scale = scale,
                                         .per_channel = true, .bias = bias, .out_zp = out_zp, .act_min = lo,
                                         .act_max = hi}};
        CHECK_OK(fn(&pw, &a, scratch, 0, 1), NULL);
        int bad = 0, first = -1, got0 = 0, ref0 = 0;
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                int32_t acc = W[m] * (n - 128) + bias[m];
                int32_t e = div_half_even(acc, d[m]) + out_zp;
                e = e < lo ? lo : e > hi ? hi : e;
                int32_t g = o == 0 ? Y[m * N + n] : ((int8_t *)Y)[m * N + n];
                if (g != e) {
                    if (first < 0)
                        first = m * N + n, got0 = g, ref0 = e;
                    bad++;
                }
            }
        CHECK_MSG(bad == 0, "requant-ties/%s M=%d N=%d K=%d: first mismatch at %d: got %d ref %d (%d of %d differ)",
                  name, M, N, K, first, got0, ref0, bad, M * N);
    }
    free(buf);
    free(scratch);
}

static void test_dw_ties(const char *name, oq_qdwconv_fn fn) {
    /* 3x3 with only the centre tap = 1, so y = requant(x - x_zp + bias) with scale 0.5 */
    struct oq_conv2d_geom g = {.in_h = 16, .in_w = 16, .out_h = 16, .out_w = 16, .k_h = 3, .k_w = 3,
                               .stride_h = 1, .stride_w = 1, .pad_t = 1, .pad_l = 1, .dil_h = 1, .dil_w = 1};
    int8_t w[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    uint8_t x[256], y[256];
    for (int i = 0; i < 256; i++)
        x[i] = (uint8_t)i;
    struct oq_qdw_params p = {.x_zp = 128, .out_zp = 100, .act_min = 0, .act_max = 255, .bias = 1, .scale = 0.5f};
    void *scratch = aligned_alloc(64, (oq_qdwconv_scratch_size(&g) + 63) & ~(size_t)63);
    CHECK_OK(fn(&g, &p, x, w, y, scratch), NULL);
    int bad = 0, first = -1, got0 = 0, ref0 = 0;
    for (int i = 0; i < 256; i++) {
        int32_t e = div_half_even(i - 128 + 1, 2) + 100;
        e = e < 0 ? 0 : e > 255 ? 255 : e;
        if (y[i] != e) {
            if (first < 0)
                first = i, got0 = y[i], ref0 = e;
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "requant-ties/dw-%s M=%d N=%d K=%d: first mismatch at %d: got %d ref %d (%d of %d differ)",
              name, 16, 16, 9, first, got0, ref0, bad, 256);
    free(scratch);
}

int main(void) {
    test_scalar();
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    test_gemm_ties("ref", oq_qgemm_ref);
    test_dw_ties("ref", oq_qdwconv_ref);
    if (f.avx2) {
        test_gemm_ties("avx2", oq_qgemm_avx2);
        test_dw_ties("avx2", oq_qdwconv_avx2);
    }
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni) {
        test_gemm_ties("avx512vnni", oq_qgemm_avx512vnni);
        test_dw_ties("avx512vnni", oq_qdwconv_avx512vnni);
    }
    TEST_MAIN_END();
}
