/* Shared machinery for the elementwise, activation, normalization and reduction ops.
 *
 * One broadcast driver, many row kernels. An op supplies a row kernel per dtype:
 *
 *   void row(void *y, const void *const *x, const int64_t *s, int64_t n, const void *params);
 *
 * which computes y[i] = f(x[0][i*s[0]], x[1][i*s[1]], ...) for i in [0, n), where each s[k] is 0 (that input
 * is broadcast along the row) or 1 (contiguous). oq_ew_run() collapses the numpy broadcast of up to three
 * inputs against the output (oq_bcast_init), cuts the output into contiguous rows and calls the kernel once
 * per row piece, on up to pool-size threads. The common shapes therefore reach the kernel as long rows:
 *   same shape              -> one row of numel elements, s = {1, 1}
 *   scalar operand          -> one row, s = {1, 0}
 *   [N,C,H,W] op [1,C,1,1]  -> N*C rows of H*W, s = {1, 0} (squeeze-excite, per-channel scale/bias)
 *   [B,T,C] op [C]          -> B*T rows of C, s = {1, 1}
 * OQ_EW_BINARY_ROW / OQ_EW_UNARY_ROW generate kernels from one expression, with the stride cases split so
 * gcc -O3 vectorizes each loop; the type lists below instantiate them per dtype without copy-paste.
 *
 * Integer arithmetic wraps (two's complement, computed in uint64_t so it is never undefined behaviour);
 * integer division truncates toward zero like C, and division by zero gives 0 instead of trapping. */
#ifndef ONNXQ_OPS_ELEMENTWISE_H
#define ONNXQ_OPS_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/activation.h"
#include "ops/op.h"

typedef void (*oq_ew_row_fn)(void *y, const void *const *x, const int64_t *s, int64_t n, const void *params);

/* A dtype -> row kernel table entry (dtype is the dtype of input 0). */
struct oq_ew_kernel {
    enum oq_dtype dtype;
    oq_ew_row_fn fn;
};

/* Apply fn over out (its dtype and shape set) with in[0..n_in) (n_in <= 3) broadcast against it. */
void oq_ew_run(struct oq_pool *pool,
               struct oq_tensor *out,
               int n_in,
               const struct oq_tensor *const *in,
               oq_ew_row_fn fn,
               const void *params);

/* Kernel for dtype, NULL if the table has none. */
oq_ew_row_fn oq_ew_find(const struct oq_ew_kernel *k, int nk, enum oq_dtype dt);
/* "input 0 ('x') has dtype double; Add supports float, int32, int64" (OQ_ERR_UNSUPPORTED). */
oq_status oq_ew_dtype_error(const struct oq_op_ctx *ctx, int input, const struct oq_ew_kernel *k, int nk);
/* Numpy broadcast of the shapes of in[0..n_in) (NULL inputs skipped) into ndim/dims; on failure an
 * OQ_ERR_SHAPE naming every shape ("inputs have shapes [1,3,4] and [5], which do not broadcast"). */
oq_status oq_ew_broadcast_shape(const struct oq_op_ctx *ctx, int n_in, int *ndim, int64_t *dims);
/* Same dtype for inputs a and b, else OQ_ERR_SHAPE naming both. */
oq_status oq_ew_same_dtype(const struct oq_op_ctx *ctx, int a, int b);

/* Whole-op bodies for the common shapes of op:
 *   unary:  y = f(x), y has x's dtype and shape; kernel chosen by x's dtype.
 *   binary: y = f(a, b) broadcast; a and b must share a dtype; out_dtype UNDEFINED means a's dtype. */
oq_status oq_ew_unary_infer(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk);
oq_status oq_ew_unary_run(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk);
oq_status
oq_ew_binary_infer(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk, enum oq_dtype out_dtype);
oq_status oq_ew_binary_run(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk);

/* Float activations from kernels/activation.h, applied by the session's act_row kernel (AVX-512 or ref).
 *   act_infer          x must be float; y gets x's shape
 *   act_run            y = act(x)
 *   act_prepare        keep a copy of act in ctx->priv (allocated once; the op's destroy is free())
 *   act_run_prepared   y = act(x) with the act kept by act_prepare */
oq_status oq_ew_act_infer(struct oq_op_ctx *ctx);
oq_status oq_ew_act_run(struct oq_op_ctx *ctx, const struct oq_act *act);
oq_status oq_ew_act_prepare(struct oq_op_ctx *ctx, const struct oq_act *act);
oq_status oq_ew_act_run_prepared(struct oq_op_ctx *ctx);

/* Cast every element of x into y (same numel; dtypes among float, double, float16, bfloat16, bool,
 * int8..int64, uint8..uint64). Float -> integer truncates toward zero (NaN -> 0, out of range saturates
 * to int64 first, then wraps to the narrower type like numpy's astype); integer -> integer wraps. */
bool oq_ew_cast_supported(enum oq_dtype dt);
void oq_ew_cast(struct oq_pool *pool, const struct oq_tensor *x, struct oq_tensor *y);

/* Softmax / LogSoftmax bodies shared by softmax.c and logsoftmax.c. */
oq_status oq_softmax_infer(struct oq_op_ctx *ctx);
oq_status oq_softmax_prepare(struct oq_op_ctx *ctx); /* priv: geometry (destroy with free) */
oq_status oq_softmax_run(struct oq_op_ctx *ctx, bool log);

/* Sum of x[0..n) with 8 float lanes per block of 4096 and a double across blocks (relative error ~1e-7
 * for any n, vectorizable). */
double oq_ew_sum_f32(const float *x, int64_t n);

/* e^x for float without a libm call, written so gcc -O3 vectorizes loops over it: Cephes expf's range
 * reduction and degree-6 polynomial, 2^n through the exponent bits. Relative error < 2 ulp on
 * [-87.33, 88.37]; 0 below (where the true result is a denormal < 1.2e-38), +inf above (e^88.37 is 2.5e38,
 * within 1.4x of FLT_MAX), NaN for NaN.
 *
 * Two gcc details keep it vectorizable under the default -ftrapping-math: the clamp bounds are hidden
 * from constant propagation (oq_expf_bounds_init's empty asm; with visible constants gcc threads the
 * clamp into branches), and the edge fix-ups are arithmetic on 0/1 masks rather than selects on the result
 * (a select lets gcc sink the polynomial into a branch, which it then may not if-convert). Loops call
 * oq_expf_bounds_init once before the loop and oq_expf_b inside; oq_expf is the scalar convenience. */
struct oq_expf_bounds {
    float lo, hi;
};

#define oq_expf_bounds_init(b)                                                                               \
    do {                                                                                                     \
        (b).lo = -87.3365447504f;                                                                            \
        (b).hi = 88.37f;                                                                                     \
        __asm__("" : "+m"(b));                                                                               \
    } while (0)

static inline float oq_expf_b(float x, struct oq_expf_bounds b) {
    float xc = x > b.lo ? x : b.lo; /* NaN -> lo, so the integer conversion below sees a finite n */
    xc       = xc < b.hi ? xc : b.hi;
    /* n = round(x / ln2) by the 1.5*2^23 trick (round to nearest under the default rounding mode) */
    float n       = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r       = xc - n * 0.693359375f;
    r             = r - n * -2.12194440e-4f;
    float p       = 1.9875691500e-4f;
    p             = p * r + 1.3981999507e-3f;
    p             = p * r + 8.3334519073e-3f;
    p             = p * r + 4.1665795894e-2f;
    p             = p * r + 1.6666665459e-1f;
    p             = p * r + 5.0000001201e-1f;
    p             = p * (r * r) + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* n in [-126, 127] */
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    float keep = x < b.lo ? 0.0f : 1.0f;
    float add  = x > b.hi ? INFINITY : 0.0f;
    add        = x != x ? x : add;
    return p * scale * keep + add;
}

static inline float oq_expf(float x) {
    struct oq_expf_bounds b;
    oq_expf_bounds_init(b);
    return oq_expf_b(x, b);
}

/* y[i] = e^(x[i] - shift) for i in [0, n) (y may equal x); vectorized oq_expf_b. */
void oq_ew_exp_row(float *y, const float *x, int64_t n, float shift);

/* ---- row kernel generators ----
 * EXPR sees `a` (and `b`) of type T and yields TY. */
#define OQ_EW_UNARY_ROW(fname, T, TY, EXPR)                                                                  \
    static void fname(void *y_, const void *const *x_, const int64_t *s_, int64_t n_, const void *p_) {      \
        const T *xa_ = x_[0];                                                                                \
        TY *yy_      = y_;                                                                                   \
        (void)p_;                                                                                            \
        if (s_[0]) {                                                                                         \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                            \
                T a     = xa_[i_];                                                                           \
                yy_[i_] = (EXPR);                                                                            \
            }                                                                                                \
        } else {                                                                                             \
            T a   = xa_[0];                                                                                  \
            TY v_ = (EXPR);                                                                                  \
            for (int64_t i_ = 0; i_ < n_; i_++)                                                              \
                yy_[i_] = v_;                                                                                \
        }                                                                                                    \
    }

#define OQ_EW_BINARY_ROW(fname, T, TY, EXPR)                                                                 \
    static void fname(void *y_, const void *const *x_, const int64_t *s_, int64_t n_, const void *p_) {      \
        const T *xa_ = x_[0], *xb_ = x_[1];                                                                  \
        TY *yy_ = y_;                                                                                        \
        (void)p_;                                                                                            \
        if (s_[0] && s_[1]) {                                                                                \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                            \
                T a = xa_[i_], b = xb_[i_];                                                                  \
                yy_[i_] = (EXPR);                                                                            \
            }                                                                                                \
        } else if (s_[0]) {                                                                                  \
            const T b = xb_[0];                                                                              \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                            \
                T a     = xa_[i_];                                                                           \
                yy_[i_] = (EXPR);                                                                            \
            }                                                                                                \
        } else if (s_[1]) {                                                                                  \
            const T a = xa_[0];                                                                              \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                            \
                T b     = xb_[i_];                                                                           \
                yy_[i_] = (EXPR);                                                                            \
            }                                                                                                \
        } else {                                                                                             \
            const T a = xa_[0], b = xb_[0];                                                                  \
            const TY v_ = (EXPR);                                                                            \
            for (int64_t i_ = 0; i_ < n_; i_++)                                                              \
                yy_[i_] = v_;                                                                                \
        }                                                                                                    \
    }

/* ---- dtype lists: X(suffix, C type, dtype) ---- */
#define OQ_EW_SINT_TYPES(X)                                                                                  \
    X(i8, int8_t, OQ_DTYPE_INT8)                                                                             \
    X(i16, int16_t, OQ_DTYPE_INT16)                                                                          \
    X(i32, int32_t, OQ_DTYPE_INT32)                                                                          \
    X(i64, int64_t, OQ_DTYPE_INT64)
#define OQ_EW_UINT_TYPES(X)                                                                                  \
    X(u8, uint8_t, OQ_DTYPE_UINT8)                                                                           \
    X(u16, uint16_t, OQ_DTYPE_UINT16)                                                                        \
    X(u32, uint32_t, OQ_DTYPE_UINT32)                                                                        \
    X(u64, uint64_t, OQ_DTYPE_UINT64)
#define OQ_EW_INT_TYPES(X) OQ_EW_SINT_TYPES(X) OQ_EW_UINT_TYPES(X)

/* Wrapping integer arithmetic (no signed-overflow UB): the result's low bits, converted back to T. */
#define OQ_EW_WRAP(T, a, op, b) ((T)((uint64_t)(a)op(uint64_t)(b)))

/* Truncating integer division without traps: x / 0 = 0, MIN / -1 = MIN (wraps). */
#define OQ_EW_SDIV(T, a, b) ((b) == 0 ? (T)0 : (b) == -1 ? (T)(0u - (uint64_t)(a)) : (T)((a) / (b)))
#define OQ_EW_UDIV(T, a, b) ((b) == 0 ? (T)0 : (T)((a) / (b)))

#endif
