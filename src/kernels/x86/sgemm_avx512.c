/* Own AVX-512 sgemm: the fast path when onnxq is built without oneDNN (ONNXQ_WITH_DNNL=OFF).
 *
 * Blocking: for each 32-column panel of C and each 256-deep slice of K, B's [256 x 32] block is packed
 * into a 32 KB stack tile (which also absorbs trans_b and the ragged right edge, zero-padded), then a
 * 12 x 32 micro-kernel walks down M: 24 zmm accumulators, two B vectors per k, A broadcast from memory
 * (trans_a only changes A's strides). alpha/beta are applied when the tile is stored: the first K slice
 * writes alpha*acc (+ beta*C unless beta == 0), later slices add alpha*acc.
 * Numerics: per output, float sums in k order within each 256-slice, with fused multiply-adds. */
#include <immintrin.h>

#include "kernels/dispatch.h"

enum { MR = 12, NR = 32, KC = 256 };

#define OQ_INLINE static inline __attribute__((always_inline))

OQ_INLINE void micro(int R, int64_t kc, const float *A, int64_t sam, int64_t sak, const float *bp, float *C,
                     int64_t ldc, __mmask16 m0, __mmask16 m1, float alpha, float beta, int mode) {
    __m512 c0[MR], c1[MR];
    for (int r = 0; r < R; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(bp + k * NR), b1 = _mm512_load_ps(bp + k * NR + 16);
        const float *a = A + k * sak;
        for (int r = 0; r < R; r++) {
            __m512 av = _mm512_set1_ps(a[r * sam]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        float *c = C + r * ldc;
        __m512 x0 = _mm512_mul_ps(va, c0[r]), x1 = _mm512_mul_ps(va, c1[r]);
        if (mode == 1) { /* first slice, beta != 0 */
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), x0);
            x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), x1);
        } else if (mode == 2) { /* later slices accumulate */
            x0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), x0);
            x1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), x1);
        }
        _mm512_mask_storeu_ps(c, m0, x0);
        _mm512_mask_storeu_ps(c + 16, m1, x1);
    }
}

#define MICRO_CASE(R)                                                                                   \
    case R:                                                                                             \
        micro(R, kc, Ab, sam, sak, bp, Cb, ldc, m0, m1, alpha, beta, mode);                             \
        break;

static void sgemm_avx512_1t(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b,
                            int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                            const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++)
                C[m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
        return;
    }
    _Alignas(64) float bp[KC * NR];
    const int64_t sam = trans_a ? 1 : lda, sak = trans_a ? lda : 1;
    for (int64_t n0 = 0; n0 < N; n0 += NR) {
        int nr = N - n0 < NR ? (int)(N - n0) : NR;
        __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xFFFFu : (1u << nr) - 1);
        __mmask16 m1 = (__mmask16)(nr > 16 ? (nr == 32 ? 0xFFFFu : (1u << (nr - 16)) - 1) : 0u);
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            int64_t kc = K - k0 < KC ? K - k0 : KC;
            for (int64_t kk = 0; kk < kc; kk++) {
                float *dst = bp + kk * NR;
                if (!trans_b && nr == NR) {
                    const float *src = B + (k0 + kk) * ldb + n0;
                    _mm512_store_ps(dst, _mm512_loadu_ps(src));
                    _mm512_store_ps(dst + 16, _mm512_loadu_ps(src + 16));
                } else {
                    for (int j = 0; j < NR; j++)
                        dst[j] = j < nr ? (trans_b ? B[(n0 + j) * ldb + k0 + kk] : B[(k0 + kk) * ldb + n0 + j])
                                        : 0.0f;
                }
            }
            int mode = k0 > 0 ? 2 : (beta == 0.0f ? 0 : 1);
            for (int64_t mb = 0; mb < M; mb += MR) {
                int R = M - mb < MR ? (int)(M - mb) : MR;
                const float *Ab = A + mb * sam + k0 * sak;
                float *Cb = C + mb * ldc + n0;
                switch (R) {
                    MICRO_CASE(1) MICRO_CASE(2) MICRO_CASE(3) MICRO_CASE(4) MICRO_CASE(5) MICRO_CASE(6)
                    MICRO_CASE(7) MICRO_CASE(8) MICRO_CASE(9) MICRO_CASE(10) MICRO_CASE(11) MICRO_CASE(12)
                default:
                    break;
                }
            }
        }
    }
}

void oq_sgemm_avx512(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b, int64_t M,
                     int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc) {
    oq_sgemm_parallel(k, pool, sgemm_avx512_1t, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
