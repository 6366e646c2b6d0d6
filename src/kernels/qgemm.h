/* Integer (u8 x s8 -> s32) kernels for quantized Conv / MatMul / Gemm, NCHW-oriented:
 *
 *     Y[M, N] = requant( W[M, K] * (X[K, N] - x_zp) + bias[M] )
 *
 * W: int8 weights (Conv: [Co/group, Ci/group*kh*kw] of one group; MatMul/Gemm: B transposed to [N_out, K]),
 *    symmetric (zero point 0), any value in [-128, 127], packed once at load (oq_qgemm_pack).
 * X: uint8 activations [K, N] row-major with row stride ldx (Conv: the im2col tile, or the input itself
 *    for a 1x1 stride-1 conv: [Ci, H*W]); zero point x_zp in [0, 255].
 * Y: [M, N] rows of ldy elements: uint8 / int8 (requantized, clamped), int32 (acc'), or float (dequantized).
 *
 * int8 activations (design's symmetric option) ride on the same kernels: flip the sign bit (x ^ 0x80 is
 * x + 128 as uint8) and use x_zp + 128; likewise an int8 output is OQ_QGEMM_OUT_S8 or the u8 output XOR 0x80.
 *
 * Numerics (identical in every implementation, tested for bit equality):
 *     acc[m,n]  = sum_k W[m,k] * X[k,n]                           exact int32 (K <= OQ_QGEMM_MAX_K)
 *     acc'[m,n] = acc - x_zp * wsum[m] + bias[m]                   wsum[m] = sum_k W[m,k], stored in the pack
 *     U8/S8:  Y = clamp(nearbyintf((float)acc' * scale[m]), act_min - out_zp, act_max - out_zp) + out_zp
 *     S32:    Y = acc'                F32: Y = (float)acc' * scale[m]
 * with the rounding rule defined once in kernels/requant.h (float multiplier, ties to even, MLAS order).
 *
 * Implementations (same signature; struct oq_kernels picks one per session, ONNXQ_KERNELS=ref forces ref):
 *     oq_qgemm_ref         plain C over the packed layout, the oracle
 *     oq_qgemm_avx2        AVX2: activations widened to int16, vpmaddwd (exact; see x86/qgemm_u8s8_avx2.c)
 *     oq_qgemm_avx512vnni  AVX-512 VNNI vpdpbusd, 8 x 48 register tile
 *
 * Threads: a kernel call computes slice ith of nth (columns in multiples of 48, or row panels when N is
 * narrow); oq_qgemm() runs all slices over a pool. Kernels never allocate: scratch comes from the caller,
 * sized by oq_qgemm_scratch_size(K, nth), 64-byte aligned; slice ith uses its own part of it.
 *
 * Example (a 3x3 conv of one group, NCHW, after im2col of all positions into col[K, HW]):
 *
 *     size_t wb = oq_qgemm_packed_bytes(Co, K);              // at load
 *     void *wbuf = aligned_alloc(64, wb);
 *     struct oq_qgemm_packed pw;
 *     oq_qgemm_pack(&pw, w_s8, Co, K, K, wbuf);              // w_s8 is [Co, Ci*3*3]
 *     size_t sb = oq_qgemm_scratch_size(K, oq_pool_size(pool));
 *     void *scratch = aligned_alloc(64, sb);                 // or a slice of the session arena
 *     struct oq_qgemm_args a = {
 *         .N = HW, .x = col, .ldx = HW, .x_zp = x_zp, .y = y_u8, .ldy = HW,
 *         .ep = {.out = OQ_QGEMM_OUT_U8, .scale = scale, .per_channel = true, .bias = bias,
 *                .out_zp = y_zp, .act_min = y_zp, .act_max = 255},              // fused Relu
 *     };
 *     oq_status st = oq_qgemm(&kernels, pool, &pw, &a, scratch, sb);
 */
#ifndef ONNXQ_KERNELS_QGEMM_H
#define ONNXQ_KERNELS_QGEMM_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/conv.h"
#include "onnxq/onnxq.h"

struct oq_kernels;
struct oq_pool;

enum {
    OQ_QGEMM_MR = 8,          /* output channels per weight panel (rows of the register tile) */
    OQ_QGEMM_KU = 4,          /* k-bytes per 32-bit lane (vpdpbusd consumes 4) */
    OQ_QGEMM_NR = 48,         /* column granularity of thread slices (multiple of every ISA's tile width) */
    OQ_QGEMM_MAX_K = 1 << 15, /* 255 * 128 * 2 * K < 2^31: acc and acc' stay exact in int32 */
};

/* Packed weights. Layout of w (all zero-padded, so kernels never branch on ragged edges):
 *
 *     w[((p * K4/4 + q) * MR + r) * 4 + j] = W[p*MR + r, 4*q + j]
 *         p < panels = ceil(M / MR), q < K4/4 (K4 = K rounded up to 4), r < MR, j < 4;
 *         rows >= M and k >= K hold 0.
 *
 * i.e. panels of 8 output channels, each a sequence of 32-byte strips (8 channels x 4 consecutive k) that
 * a VNNI kernel broadcasts one 4-byte group at a time against 16 columns of activations. wsum[p*MR + r] is
 * sum_k W[p*MR + r, k] (0 for padding rows), for the activation zero-point correction
 * sum_k W (X - x_zp) = sum_k W X - x_zp * wsum. Both arrays live in one caller-owned buffer (ownership stays
 * with the caller; the struct only borrows it) of oq_qgemm_packed_bytes(M, K) bytes, 64-byte aligned. */
struct oq_qgemm_packed {
    int32_t M, K;   /* logical rows (output channels) and depth */
    int32_t K4;     /* K rounded up to a multiple of OQ_QGEMM_KU */
    int32_t panels; /* ceil(M / OQ_QGEMM_MR) */
    int8_t *w;      /* panels * K4 * MR bytes, 64-byte aligned */
    int32_t *wsum;  /* panels * MR */
};
/* One 4-k group of one panel: the unit the micro-kernels step over. */
struct oq_qgemm_strip {
    int8_t w[OQ_QGEMM_MR][OQ_QGEMM_KU];
};
static_assert(sizeof(struct oq_qgemm_strip) == 32, "a VNNI strip is 8 channels x 4 k-bytes = 32 bytes");

/* Bytes of the buffer oq_qgemm_pack needs for an [M, K] weight matrix (0 if K > OQ_QGEMM_MAX_K). */
size_t oq_qgemm_packed_bytes(int64_t M, int64_t K);
/* Pack W[M, K] (row stride ldw >= K) into buf (oq_qgemm_packed_bytes(M, K) bytes, 64-byte aligned,
 * caller-owned, borrowed by *out). Returns OQ_ERR_ARG for bad sizes or K > OQ_QGEMM_MAX_K. */
oq_status oq_qgemm_pack(struct oq_qgemm_packed *out, const int8_t *W, int64_t M, int64_t K, int64_t ldw,
                        void *buf);
/* Tests only: unpack back to W[M, K] (row stride ldw). */
void oq_qgemm_unpack_ref(const struct oq_qgemm_packed *p, int8_t *W, int64_t ldw);

enum oq_qgemm_out {
    OQ_QGEMM_OUT_U8 = 0, /* requantized uint8 */
    OQ_QGEMM_OUT_S8,     /* requantized int8 */
    OQ_QGEMM_OUT_S32,    /* acc' (ConvInteger / MatMulInteger) */
    OQ_QGEMM_OUT_F32,    /* (float)acc' * scale[m] (dequantized, for float borders) */
};

/* The epilogue, applied per output element (rule in kernels/requant.h). */
struct oq_qgemm_epilogue {
    enum oq_qgemm_out out;
    const float *scale;     /* U8/S8/F32: [M] if per_channel else [1]; finite, >= 0. Unused for S32. */
    bool per_channel;
    const int32_t *bias;    /* [M] or NULL (= 0) */
    int32_t out_zp;         /* U8/S8 */
    int32_t act_min;        /* U8/S8: clamp range in the output's integer domain, within the type's */
    int32_t act_max;        /*        range (Relu: [out_zp, 255]; none: [0, 255] / [-128, 127]) */
};

/* One GEMM call. M and K come from the packed weights. */
struct oq_qgemm_args {
    int64_t N;        /* columns (pixels) */
    const uint8_t *x; /* [K, N] uint8, row stride ldx >= N; read only */
    int64_t ldx;
    int32_t x_zp;     /* activation zero point, [0, 255] */
    void *y;          /* [M, N] of the output type, row stride ldy >= N (elements); only [M, N] is written */
    int64_t ldy;
    struct oq_qgemm_epilogue ep;
};

/* Scratch for nth slices of a GEMM of depth K: nth * oq_qgemm_scratch_slice(K) bytes (64-aligned pieces). */
size_t oq_qgemm_scratch_slice(int64_t K);
size_t oq_qgemm_scratch_size(int64_t K, int nth);

/* Compute slice ith of nth. Returns OQ_ERR_ARG on bad arguments (NULL scratch in the SIMD kernels,
 * N < 0, ld too small). */
typedef oq_status (*oq_qgemm_fn)(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch,
                                 int ith, int nth);
oq_status oq_qgemm_ref(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch, int ith,
                       int nth);
oq_status oq_qgemm_avx2(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch, int ith,
                        int nth);
oq_status oq_qgemm_avx512vnni(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch,
                              int ith, int nth);

/* The slice of slice ith: rows [*m0, *m1) and columns [*n0, *n1) (shared by all implementations). */
void oq_qgemm_slice(const struct oq_qgemm_packed *w, int64_t N, int ith, int nth, int64_t *m0, int64_t *m1,
                    int64_t *n0, int64_t *n1);
/* Validate a call (shared by all implementations). */
oq_status oq_qgemm_check(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a);

/* Run k->qgemm over the pool (NULL = calling thread), using as many threads as the scratch holds slices
 * (scratch_bytes / oq_qgemm_scratch_slice(K)) and the work merits. */
oq_status oq_qgemm(const struct oq_kernels *k, struct oq_pool *pool, const struct oq_qgemm_packed *w,
                   const struct oq_qgemm_args *a, void *scratch, size_t scratch_bytes);

/* ---- convolution helpers (NCHW, geometry as in kernels/conv.h) ---- */

/* u8 im2col of output positions [p0, p1) for x[channels, in_h, in_w]: col[channels*k_h*k_w, p1-p0] with
 * row stride ldc, row r = (c*k_h + ky)*k_w + kx; out-of-range taps write pad (the activation zero point, so
 * that padding contributes exactly 0 after the zero-point correction). */
typedef void (*oq_qim2col_fn)(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad,
                              int64_t p0, int64_t p1, uint8_t *col, int64_t ldc);
void oq_qim2col_ref(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad, int64_t p0,
                    int64_t p1, uint8_t *col, int64_t ldc);
void oq_qim2col_fast(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad, int64_t p0,
                     int64_t p1, uint8_t *col, int64_t ldc);

/* ---- implicit-GEMM convolution (no im2col, no per-tile packing) ----
 *
 * One group of a conv, Y[M, out_h*out_w] = W[M, C*kh*kw] * im2col(x) with the qgemm numerics above, computed
 * without materializing im2col. The input is first copied once into "xi", a zero-point padded,
 * 4-channel-interleaved, stride-phase-split layout in which every 4-k group of a 48-column tile of the
 * implicit im2col matrix is one contiguous run of 48 x 4 bytes, exactly what the VNNI micro-kernel reads:
 *
 *     xi[((cq * Hp + r) * sw + ph) * Wq * 4 + u * 4 + j] = x[c, r - pad_t, u*sw + ph - pad_l]   c = 4*cq + j
 *         cq < CQ = ceil(C/4), r < Hp, ph < sw = stride_w, u < Wq; pad (x_zp) outside the input and for c >= C;
 *         Hp = (out_h-1)*stride_h + (k_h-1)*dil_h + 1, Wq = ceil(Wp / sw) rounded up to 16,
 *         Wp = (out_w-1)*sw + (k_w-1)*dil_w + 1; plus OQ_QCONV_XI_SLACK bytes after the last row.
 *
 * Output (oy, ox) tap (ky, kx) reads padded (oy*stride_h + ky*dil_h, ox*sw + kx*dil_w), i.e. phase
 * (kx*dil_w) % sw at u = ox + (kx*dil_w) / sw: consecutive ox are consecutive 4-byte pixels for any stride.
 * The weights are packed with depth K' = kh*kw*4*CQ in the matching order (oq_qconv_igemm_pack):
 *
 *     k' = ((cq * kh + ky) * kw + kx) * 4 + j   <->   W[m, (c*kh + ky)*kw + kx], c = 4*cq + j (0 for c >= C)
 *
 * so one packed 4-k group q = (cq*kh + ky)*kw + kx is 4 channels at one tap, at byte offset
 * koff[q] = ((cq*Hp + ky*dil_h)*sw + (kx*dil_w) % sw)*Wq*4 + ((kx*dil_w) / sw)*4 from the tile's base
 * ((oy*stride_h*sw)*Wq + ox0)*4. Zero weights of padding channels contribute 0 whatever xi holds there; taps
 * outside the input read x_zp and contribute 0 after the zero-point correction, as in im2col.
 *
 * Work units: tile t covers output row t / T, columns [48*(t%T), +48) with T = ceil(out_w / 48); slice ith of
 * nth computes an even share of the out_h*T tiles and all M rows. Kernels never allocate: unlike qgemm's, each
 * call gets its own scratch of oq_qconv_igemm_scratch_slice(K') bytes (64-byte aligned), whatever its ith. */
enum { OQ_QCONV_XI_SLACK = 256 }; /* over-read of the last vector loads of a row (columns past out_w) */

/* xi geometry: channel groups, padded rows, stride phases, pixels per phase row, total bytes (with slack). */
struct oq_qconv_xi_dims {
    int64_t CQ, Hp, sw, Wq;
    int64_t rows;  /* CQ * Hp: the unit oq_qconv_xpack splits over */
    int64_t bytes; /* rows * sw * Wq * 4 + OQ_QCONV_XI_SLACK */
};
void oq_qconv_xi_dims(const struct oq_conv2d_geom *g, int64_t channels, struct oq_qconv_xi_dims *d);

/* Write rows [r0, r1) (row r = cq*Hp + padded row) of xi for x[channels, in_h, in_w]. Every byte before the
 * slack is written; all implementations write the same bytes. */
typedef void (*oq_qconv_xpack_fn)(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad,
                                  int64_t r0, int64_t r1, uint8_t *xi);
void oq_qconv_xpack_ref(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad, int64_t r0,
                        int64_t r1, uint8_t *xi);
void oq_qconv_xpack_fast(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad,
                         int64_t r0, int64_t r1, uint8_t *xi);
void oq_qconv_xpack_avx512(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad,
                           int64_t r0, int64_t r1, uint8_t *xi);

/* Depth of the reordered weights, kh*kw*4*ceil(C/4) (0 if it exceeds OQ_QGEMM_MAX_K). */
int64_t oq_qconv_igemm_depth(int64_t channels, int64_t k_h, int64_t k_w);
/* Pack conv weights W[M, C, kh, kw] (one group, contiguous) in the k' order above: buf holds
 * oq_qgemm_packed_bytes(M, oq_qconv_igemm_depth(C, kh, kw)) bytes, 64-byte aligned. */
oq_status oq_qconv_igemm_pack(struct oq_qgemm_packed *out, const int8_t *W, int64_t M, int64_t channels,
                              int64_t k_h, int64_t k_w, void *buf);
/* Tests only: back to W[M, C, kh, kw]. */
void oq_qconv_igemm_unpack_ref(const struct oq_qgemm_packed *p, int64_t channels, int64_t k_h, int64_t k_w,
                               int8_t *W);

struct oq_qconv_igemm_args {
    struct oq_conv2d_geom g;
    int64_t channels; /* C of the group */
    const uint8_t *x; /* [C, in_h, in_w]: read by oq_qconv_igemm (xpack) only */
    int32_t x_zp;     /* [0, 255]; also the padding value */
    void *y;          /* [M, out_h*out_w] of the output type, row stride ldy >= out_h*out_w (elements) */
    int64_t ldy;
    struct oq_qgemm_epilogue ep;
};
size_t oq_qconv_igemm_scratch_slice(int64_t Kp);
/* Everything oq_qconv_igemm needs for nth threads: per thread the xi of one band of output rows and a slice. */
size_t oq_qconv_igemm_scratch_size(const struct oq_conv2d_geom *g, int64_t channels, int nth);
/* The GEMM over xi (written by an xpack) with weights from oq_qconv_igemm_pack: slice ith of nth; scratch is
 * this call's slice (NULL allowed only for the reference). */
typedef oq_status (*oq_qconv_igemm_fn)(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
                                       const uint8_t *xi, void *scratch, int ith, int nth);
oq_status oq_qconv_igemm_ref(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
                             const uint8_t *xi, void *scratch, int ith, int nth);
oq_status oq_qconv_igemm_avx2(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
                              const uint8_t *xi, void *scratch, int ith, int nth);
oq_status oq_qconv_igemm_avx512vnni(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
                                    const uint8_t *xi, void *scratch, int ith, int nth);
oq_status oq_qconv_igemm_check(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a);
/* Byte offsets koff[q] of the K'/4 packed 4-k groups (shared by all implementations). */
void oq_qconv_igemm_offsets(const struct oq_conv2d_geom *g, int64_t channels, int64_t *koff);

/* The pair (xpack, igemm) at the level of the table's qgemm (the kernel table has no entries of its own for
 * them: they follow k->qgemm, so ONNXQ_KERNELS=ref|avx2|avx512 selects them too). */
void oq_qconv_igemm_kernels(const struct oq_kernels *k, oq_qconv_xpack_fn *xpack, oq_qconv_igemm_fn *gemm);
/* Whole conv of one group over the pool. The output rows go in bands (a band is itself a conv: out_h = its
 * rows, pad_t moved up), an equal number per thread; a thread packs a band's xi (~192 KiB, so it is still in
 * L2 when read) and runs the GEMM over it, band after band, with no barrier between the phases. scratch:
 * scratch_bytes >= oq_qconv_igemm_scratch_size(&a->g, a->channels, 1), 64-byte aligned; as many threads as
 * the scratch holds and the work merits. */
oq_status oq_qconv_igemm(const struct oq_kernels *k, struct oq_pool *pool, const struct oq_qgemm_packed *w,
                         const struct oq_qconv_igemm_args *a, void *scratch, size_t scratch_bytes);

/* Depthwise conv of one channel plane, uint8 in and out:
 *     y[oy, ox] = requant_f32(sum_{ky,kx} w[ky,kx] * (x[iy, ix] - x_zp) + bias, scale, out_zp, act_min, act_max)
 * x is [in_h, in_w], w is [k_h, k_w] int8, y is [out_h, out_w], all contiguous; out-of-range taps read x_zp
 * (contribute 0). Any geometry works in every implementation; the SIMD ones are fast for stride_w 1 and 2
 * and fall back to the reference loop otherwise. Scratch: oq_qdwconv_scratch_size(g) bytes (a zero-point
 * padded copy of the plane), NULL allowed only for the reference. */
struct oq_qdw_params {
    int32_t x_zp, out_zp, act_min, act_max;
    int32_t bias;
    float scale;
};
size_t oq_qdwconv_scratch_size(const struct oq_conv2d_geom *g);
typedef oq_status (*oq_qdwconv_fn)(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                                   const int8_t *w, uint8_t *y, void *scratch);
oq_status oq_qdwconv_ref(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                         const int8_t *w, uint8_t *y, void *scratch);
oq_status oq_qdwconv_avx2(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                          const int8_t *w, uint8_t *y, void *scratch);
oq_status oq_qdwconv_avx512vnni(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                                const int8_t *w, uint8_t *y, void *scratch);
/* Needs VBMI and VNNI; 4 taps per vpdpbusd lane, no padded copy (the zero-point row uses scratch). */
oq_status oq_qdwconv_avx512vbmi(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                                const int8_t *w, uint8_t *y, void *scratch);

/* 1x1 convolution with stride 1 and no padding is a plain GEMM on the input: X = x[Ci, H*W]. */
static inline bool oq_qconv_is_1x1(const struct oq_conv2d_geom *g) {
    return g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_t == 0 && g->pad_l == 0 &&
           g->out_h == g->in_h && g->out_w == g->in_w;
}

#endif
