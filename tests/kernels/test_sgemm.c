/* Every fast sgemm (own AVX-512, oneDNN; single-threaded and split over a pool) against oq_sgemm_ref on
 * odd sizes and seeded random shapes with trans flags, alpha/beta and ld > width. Also checks that
 * beta == 0 ignores NaN in C and that columns between width and ld are never written. */
#include <math.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "test_util.h"

#define SGEMM_MAX_NMSE 1e-10
#define PAD_SENTINEL 12345.0f

struct impl {
    const char *name;
    oq_sgemm_fn fn;
    struct oq_pool *pool;
};

static const int sizes[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 67, 127, 129};
enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };

static void fill(uint64_t *rng, float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        p[i] = test_rng_uniform(rng, -1.0f, 1.0f);
}

/* One case: returns false on failure (after printing). */
static bool run_case(const struct oq_kernels *k_session, const struct impl *im, uint64_t *rng, bool ta, bool tb, int M,
                     int N, int K, int pad, float alpha, float beta) {
    struct oq_kernels kk = *k_session;
    const struct oq_kernels *k = &kk;
    if (im->fn != k_session->sgemm)
        kk.sgemm_small = NULL;
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int64_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = (int64_t)M * ldc;
    float *A = malloc(sizeof(float) * (size_t)(na ? na : 1));
    float *B = malloc(sizeof(float) * (size_t)(nb ? nb : 1));
    float *C = malloc(sizeof(float) * (size_t)nc), *R = malloc(sizeof(float) * (size_t)nc);
    fill(rng, A, na);
    fill(rng, B, nb);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < ldc; n++) {
            float v = n < N ? (beta == 0.0f ? NAN : test_rng_uniform(rng, -1.0f, 1.0f)) : PAD_SENTINEL;
            C[m * ldc + n] = R[m * ldc + n] = v;
        }
    oq_sgemm_ref(k, NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    im->fn(k, im->pool, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    /* compare the M x N window; the padding must be untouched */
    double num = 0, den = 0;
    bool pad_ok = true, finite = true;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < ldc; n++) {
            float g = C[m * ldc + n], r = R[m * ldc + n];
            if (n >= N) {
                pad_ok &= g == PAD_SENTINEL;
                continue;
            }
            finite &= isfinite(g) != 0;
            num += ((double)g - r) * ((double)g - r);
            den += (double)r * r;
        }
    double nmse = den > 0 ? num / den : num;
    bool ok = finite && pad_ok && nmse <= SGEMM_MAX_NMSE;
    CHECK_MSG(ok, "sgemm/%s M=%d N=%d K=%d: nmse=%g (ta=%d tb=%d alpha=%g beta=%g pad=%d finite=%d pad_ok=%d)",
              im->name, M, N, K, nmse, ta, tb, alpha, beta, pad, finite, pad_ok);
    free(A);
    free(B);
    free(C);
    free(R);
    return ok;
}

int main(void) {
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    oq_error err = {0}, *errp = &err;
    struct oq_pool *pool2 = NULL, *pool3 = NULL;
    CHECK_OK(oq_pool_create(2, &pool2, errp), errp);
    CHECK_OK(oq_pool_create(3, &pool3, errp), errp);

    struct impl impls[8];
    int n_impl = 0;
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) {
        impls[n_impl++] = (struct impl){"avx512", oq_sgemm_avx512, NULL};
        impls[n_impl++] = (struct impl){"avx512+pool3", oq_sgemm_avx512, pool3};
    }
#if defined(ONNXQ_WITH_DNNL)
    /* "dnnl" runs oneDNN on every shape (no small-GEMM hand-off); "session" below keeps the hand-off */
    impls[n_impl++] = (struct impl){"dnnl", oq_sgemm_dnnl, NULL};
    impls[n_impl++] = (struct impl){"dnnl+pool2", oq_sgemm_dnnl, pool2};
    impls[n_impl++] = (struct impl){"dnnl+pool3", oq_sgemm_dnnl, pool3};
#endif
    impls[n_impl++] = (struct impl){"session", k.sgemm, pool2};
    printf("session sgemm: %s; testing %d implementations\n", k.sgemm_name, n_impl);

    /* a zero-K and zero-sized GEMM must not crash; K == 0 gives beta*C */
    {
        float c[4] = {1, 2, 3, 4};
        struct oq_kernels kn = k;
        kn.sgemm_small = NULL;
        for (int i = 0; i < n_impl; i++) {
            const struct oq_kernels *kt = impls[i].fn == k.sgemm ? &k : &kn;
            float cc[4];
            memcpy(cc, c, sizeof(c));
            impls[i].fn(kt, impls[i].pool, false, false, 2, 2, 0, 1.0f, c, 1, c, 2, 0.5f, cc, 2);
            CHECK_MSG(cc[0] == 0.5f && cc[3] == 2.0f, "sgemm/%s K=0: got %g %g", impls[i].name, cc[0], cc[3]);
            impls[i].fn(kt, impls[i].pool, false, false, 0, 2, 3, 1.0f, c, 3, c, 2, 0.0f, cc, 2);
        }
    }

    uint64_t rng = 42;
    int fails = 0;
    for (int i = 0; i < n_impl; i++) {
        const int ks[] = {1, 3, 17, 67, 129};
        for (int a = 0; a < NSIZES && fails < 20; a++)
            for (int b = 0; b < NSIZES && fails < 20; b++)
                for (unsigned c = 0; c < sizeof(ks) / sizeof(ks[0]); c++)
                    fails += !run_case(&k, &impls[i], &rng, false, false, sizes[a], sizes[b], ks[c], 0, 1.0f,
                                       0.0f);
        for (int a = 0; a < NSIZES && fails < 20; a++)
            fails += !run_case(&k, &impls[i], &rng, a % 2, a % 3 == 0, sizes[a], sizes[NSIZES - 1 - a],
                               sizes[(a * 7) % NSIZES], a % 4, a % 2 ? 0.5f : 1.0f, a % 3 ? 0.0f : 1.0f);
        /* seeded random shapes: trans flags, alpha/beta, ld > width */
        for (int r = 0; r < 60 && fails < 20; r++) {
            int M = 1 + (int)(test_rng_next(&rng) % 200), N = 1 + (int)(test_rng_next(&rng) % 700);
            int K = 1 + (int)(test_rng_next(&rng) % 600);
            bool ta = test_rng_next(&rng) & 1, tb = test_rng_next(&rng) & 1;
            int pad = (int)(test_rng_next(&rng) % 3) * 5;
            const float alphas[] = {1.0f, -0.5f, 2.0f}, betas[] = {0.0f, 1.0f, -0.25f};
            float alpha = alphas[test_rng_next(&rng) % 3], beta = betas[test_rng_next(&rng) % 3];
            fails += !run_case(&k, &impls[i], &rng, ta, tb, M, N, K, pad, alpha, beta);
        }
        /* model-like shapes big enough to take the pool's split paths (N split and M split) */
        fails += !run_case(&k, &impls[i], &rng, false, false, 24, 4100, 27, 0, 1.0f, 0.0f);
        fails += !run_case(&k, &impls[i], &rng, false, false, 480, 40, 96, 3, 1.0f, 1.0f);
        fails += !run_case(&k, &impls[i], &rng, true, true, 130, 70, 260, 1, 1.0f, 0.5f);
    }

    /* ONNXQ_KERNELS=ref semantics: a REF table uses only reference kernels */
    struct oq_kernels kr;
    oq_kernels_init(&kr, OQ_KERNELS_REF);
    CHECK(kr.sgemm == oq_sgemm_ref && kr.dwconv == oq_dwconv_ref && kr.im2col == oq_im2col_ref &&
          kr.act_row == oq_act_row_ref);
    oq_pool_free(pool2);
    oq_pool_free(pool3);
    TEST_MAIN_END();
}
