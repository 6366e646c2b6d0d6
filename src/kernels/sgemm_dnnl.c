/* oneDNN's sgemm behind k->sgemm.
 *
 * oneDNN 2.6's dnnl_sgemm is row-major (dnnl.h: "The matrices are assumed to be stored in row-major order"),
 * so our row-major contract maps onto it argument for argument, with no transposition trick.
 *
 * Threading. Debian's libdnnl uses the OpenMP runtime (libgomp): each call opens a parallel region of
 * omp_get_max_threads() threads unless it is already inside one. Our pool threads are plain pthreads, so
 * each of them is an OpenMP "initial thread" with nthreads-var = number of cores: calling dnnl_sgemm from
 * two pool threads on two cores would start 2 x 2 threads, and the idle OpenMP workers then spin for
 * GOMP_SPINCOUNT against our own spinning pool workers. Instead the session's pool owns all parallelism:
 * oq_sgemm_parallel cuts the GEMM into one slice per pool thread, and each slice runs dnnl_sgemm with the
 * calling thread's nthreads-var set to 1. nthreads-var is a per-thread (per implicit task) ICV, so setting
 * it around the call and restoring it afterwards changes nothing for other threads or for an application
 * that uses OpenMP itself (unlike a process-wide OMP_NUM_THREADS). We do not link libgomp ourselves: the
 * two ICV functions are looked up once per session (oq_sgemm_dnnl_init) in the runtime libdnnl already
 * loaded, and kept in the session's kernel table. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include "kernels/dispatch.h"

#if defined(ONNXQ_WITH_DNNL)

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include "core/status.h"

void oq_sgemm_dnnl_init(struct oq_kernels *k) {
    void *set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    void *get = dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    if (set && get) {
        k->omp_set_num_threads = (void (*)(int))set;
        k->omp_get_max_threads = (int (*)(void))get;
    }
}

static void sgemm_dnnl_1t(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b,
                          int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0)
        return;
    if (k->sgemm_small && M * N * K < OQ_SGEMM_SMALL_MACS) {
        k->sgemm_small(k, NULL, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (K <= 0) { /* C = beta * C; oneDNN rejects lda = 0 */
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++)
                C[m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
        return;
    }
    int prev = 1;
    if (k->omp_get_max_threads) {
        prev = k->omp_get_max_threads();
        if (prev != 1)
            k->omp_set_num_threads(1);
    }
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                  beta, C, ldc);
    if (prev != 1)
        k->omp_set_num_threads(prev);
    /* dnnl_sgemm fails only on invalid arguments (ld smaller than a row), which is a bug of ours. */
    OQ_ASSERT(st == dnnl_success);
}

void oq_sgemm_dnnl(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b, int64_t M,
                   int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc) {
    oq_sgemm_parallel(k, pool, sgemm_dnnl_1t, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#endif
