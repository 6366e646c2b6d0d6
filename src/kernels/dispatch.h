/* The session's kernel table: function pointers chosen once per session from CPU features, or forced with
 * oq_session_options.kernels / ONNXQ_KERNELS=ref|avx2|avx512 (avx512vnni is accepted as avx512). No global state: each session owns one.
 *
 * FP32 kernels in the table (each has a plain-C `_ref` twin that is the oracle in tests/kernels/):
 *   sgemm    GEMM; "dnnl" (oneDNN's JIT sgemm, one slice per pool thread) when built with ONNXQ_WITH_DNNL
 *            and the level is above ref, else "avx512" (our own kernel) or "ref"
 *   dwconv   depthwise conv of one channel plane (kernels/conv.h)
 *   im2col   column tile of a conv input (kernels/conv.h)
 *   col2im   its adjoint, for ConvTranspose (kernels/conv.h; "rows" is bit-identical to the reference)
 *   act_row  fused activation over a row (kernels/activation.h)
 *
 * Usage:
 *   struct oq_kernels k;
 *   oq_kernels_init(&k, OQ_KERNELS_AUTO);
 *   k.sgemm(&k, pool, false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
 */
#ifndef ONNXQ_KERNELS_DISPATCH_H
#define ONNXQ_KERNELS_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "kernels/activation.h"
#include "kernels/conv.h"
#include "kernels/lut.h"
#include "kernels/qgemm.h"
#include "onnxq/onnxq.h"

struct oq_kernels;

enum { OQ_SGEMM_SMALL_MACS = 1 << 16 };

/* C[M,N] = alpha * op(A) * op(B) + beta * C, row-major; op(A) is [M,K] (A is [K,M] when trans_a),
 * op(B) is [K,N] (B is [N,K] when trans_b); ld* are row strides in elements. beta == 0 means C is
 * write-only (its old contents, even NaN, are ignored).
 * k: the table the function came from (fast kernels keep per-session handles there).
 * pool: threads to split the GEMM over; NULL = run on the calling thread only. Callers that already
 * parallelize (one GEMM per pool thread) pass NULL. */
typedef void (*oq_sgemm_fn)(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b,
                            int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                            const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

struct oq_kernels {
    oq_kernel_level level;   /* what was chosen (never AUTO) */
    const char *sgemm_name;  /* "ref", "dnnl", "avx512" for logs and benches */
    const char *dwconv_name; /* "ref", "avx512" */
    oq_sgemm_fn sgemm;
    /* The dnnl sgemm hands GEMMs below OQ_SGEMM_SMALL_MACS multiply-adds to this one (own AVX-512 kernel;
     * NULL = never): there oneDNN's per-call setup costs more than the arithmetic (bench_sgemm: 40x40x12
     * runs at ~65 GFLOP/s in oneDNN, ~90 in ours). */
    oq_sgemm_fn sgemm_small;
    oq_dwconv_fn dwconv;
    oq_im2col_fn im2col;
    oq_col2im_fn col2im;
    oq_act_row_fn act_row;
    /* Integer kernels (kernels/qgemm.h): "avx512vnni" at level AVX512 on a CPU with AVX512-VNNI, "avx2" at
     * level AVX2 (or AVX512 without VNNI), else "ref". */
    const char *qgemm_name;
    oq_qgemm_fn qgemm;
    oq_qdwconv_fn qdwconv;
    oq_qim2col_fn qim2col;
    /* Byte table lookup (kernels/lut.h): "avx512vbmi" at level AVX512 on a CPU with AVX512-VBMI, else "ref". */
    const char *lut_name;
    oq_lut_u8_fn lut_u8;
    /* OpenMP thread-count ICV accessors of the OpenMP runtime oneDNN was built with, looked up at init
     * (NULL when absent). sgemm_dnnl.c uses them to keep oneDNN single-threaded inside our pool threads. */
    void (*omp_set_num_threads)(int);
    int (*omp_get_max_threads)(void);
};

/* CPU feature probe. */
struct oq_cpu_features {
    bool avx2, fma, avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512vbmi;
};
void oq_cpu_detect(struct oq_cpu_features *f);

/* Fill k for the requested level (AUTO: best available; the ONNXQ_KERNELS environment variable, when set,
 * overrides AUTO). A level the CPU lacks falls back to the best one it has. */
void oq_kernels_init(struct oq_kernels *k, oq_kernel_level requested);

/* Reference twin of sgemm: plain C, the oracle for every fast GEMM (ignores k and pool). */
void oq_sgemm_ref(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b, int64_t M,
                  int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc);
/* Own AVX-512 sgemm (x86/sgemm_avx512.c); used when oneDNN is not built in. */
void oq_sgemm_avx512(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b, int64_t M,
                     int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc);
#if defined(ONNXQ_WITH_DNNL)
/* oneDNN sgemm (sgemm_dnnl.c). oq_sgemm_dnnl_init fills the omp_* fields of k. */
void oq_sgemm_dnnl(const struct oq_kernels *k, struct oq_pool *pool, bool trans_a, bool trans_b, int64_t M,
                   int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc);
void oq_sgemm_dnnl_init(struct oq_kernels *k);
#endif

/* Split one GEMM into per-thread slices over the pool (used by the fast sgemm wrappers): calls
 * slice(k, ...) on a sub-block of rows or columns per thread with pool = NULL. */
void oq_sgemm_parallel(const struct oq_kernels *k, struct oq_pool *pool, oq_sgemm_fn slice, bool trans_a,
                       bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

#endif
