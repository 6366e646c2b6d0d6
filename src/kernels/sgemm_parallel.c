/* Splitting one GEMM over the session's pool. Each thread gets a contiguous block of columns of C (or of
 * rows when N is too narrow to give every thread a useful width) and runs the single-threaded slice kernel
 * on it. Column blocks are multiples of 16 so every slice but the last stays a whole number of AVX-512
 * vectors wide; row blocks are multiples of 8. */
#include "kernels/dispatch.h"

/* Below this many multiply-adds a GEMM runs on the calling thread: waking a worker costs a few
 * microseconds, about what one core needs for 2^18 FMAs at ~100 GFLOP/s. */
enum { SGEMM_MIN_MACS_PER_THREAD = 1 << 18 };

struct sgemm_job {
    const struct oq_kernels *k;
    oq_sgemm_fn slice;
    bool ta, tb, split_n;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
};

static void split_aligned(int64_t n, int64_t align, int ith, int nth, int64_t *b, int64_t *e) {
    int64_t blocks = (n + align - 1) / align;
    oq_split(blocks, ith, nth, b, e);
    *b *= align;
    *e *= align;
    if (*e > n)
        *e = n;
    if (*b > n)
        *b = n;
}

static void sgemm_task(void *arg, int ith, int nth) {
    const struct sgemm_job *j = arg;
    int64_t b, e;
    if (j->split_n) {
        split_aligned(j->N, 16, ith, nth, &b, &e);
        if (b >= e)
            return;
        const float *B = j->tb ? j->B + b * j->ldb : j->B + b;
        j->slice(j->k, NULL, j->ta, j->tb, j->M, e - b, j->K, j->alpha, j->A, j->lda, B, j->ldb, j->beta,
                 j->C + b, j->ldc);
    } else {
        split_aligned(j->M, 8, ith, nth, &b, &e);
        if (b >= e)
            return;
        const float *A = j->ta ? j->A + b : j->A + b * j->lda;
        j->slice(j->k, NULL, j->ta, j->tb, e - b, j->N, j->K, j->alpha, A, j->lda, j->B, j->ldb, j->beta,
                 j->C + b * j->ldc, j->ldc);
    }
}

void oq_sgemm_parallel(const struct oq_kernels *k, struct oq_pool *pool, oq_sgemm_fn slice, bool trans_a,
                       bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    int nth = oq_pool_threads_for(pool, M * N * (K > 0 ? K : 1), SGEMM_MIN_MACS_PER_THREAD);
    if (nth <= 1) {
        slice(k, NULL, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Prefer column slices: every thread then reads all of A (small: weights) and its own part of B.
     * Fall back to row slices when columns would leave threads with less than 64 each. */
    bool split_n = N >= 64 * (int64_t)nth || N >= M;
    int64_t units = split_n ? (N + 15) / 16 : (M + 7) / 8;
    if (units < nth)
        nth = (int)units;
    if (nth <= 1) {
        slice(k, NULL, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    struct sgemm_job j = {
        .k = k, .slice = slice, .ta = trans_a, .tb = trans_b, .split_n = split_n,
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
        .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .ldc = ldc,
    };
    oq_pool_run(pool, sgemm_task, &j, nth);
}
