/* Reference FP32 GEMM: the oracle for every fast GEMM. Plain loops, free of cleverness on purpose;
 * accumulates alpha-free products in float in k order, then C = alpha*acc (+ beta*C unless beta == 0, in
 * which case C is not read). Ignores k and pool. */
#include "kernels/dispatch.h"

void oq_sgemm_ref(const struct oq_kernels *kt, struct oq_pool *pool, bool trans_a, bool trans_b, int64_t M,
                  int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc) {
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                float a = trans_a ? A[k * lda + m] : A[m * lda + k];
                float b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
                acc += a * b;
            }
            float *c = &C[m * ldc + n];
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
    }
}
