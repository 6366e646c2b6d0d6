/* u8 x s8 GEMM with AVX-512 VNNI (kernels/qgemm.h has the contract and numerics).
 *
 * vpdpbusd adds, per 32-bit lane, four u8 x s8 products straight into int32: no int16 intermediate, so no
 * saturation for any input (the worst lane gains 4 * 255 * 128 per step; the K limit keeps the sum exact).
 *
 * Blocking: each thread walks its columns in tiles of 48. A tile of X ([K, 48] u8, row-major in the caller's
 * layout) is first interleaved into scratch as [K4/4][48][4] (4 consecutive k of one column per 32-bit lane;
 * rows >= K and columns past the edge are zero), then every 8-channel weight panel runs the 8 x 48
 * micro-kernel over it: 24 zmm accumulators, three 64-byte activation loads and eight 4-byte weight
 * broadcasts (embedded {1to16}) per 4 k-steps, 24 vpdpbusd. The whole K is reduced in registers (starting
 * from the zero-point/bias correction), so the epilogue (requant, clamp, narrow; kernels/requant.h) runs once
 * per output, with masked stores at the right edge and on the last panel's padding rows.
 *
 * Implicit-GEMM conv (oq_qconv_igemm_avx512vnni): the same micro-kernel reads its 4-k groups straight from xi
 * (kernels/qgemm.h) at tile base + koff[q] instead of from a packed tile, so a conv pays neither im2col nor
 * pack_x: xi, about the size of the input, is written once (per band of output rows) by the xpack
 * (x86/im2col_u8_avx512.c). */
#include <immintrin.h>
#include <string.h>

#include "core/pool.h"
#include "kernels/qgemm.h"
#include "kernels/requant.h"

#define OQ_INLINE static inline __attribute__((always_inline))

enum { NR = 48, MR = OQ_QGEMM_MR };

/* acc += dpbusd(x, broadcast(*w)). Written as asm because GCC (12) surrounds the intrinsic with a register
 * copy per accumulator and iteration in this loop (the destructive 3-operand form confuses its register
 * allocator), which halved the kernel's throughput; the asm also folds the 4-byte weight broadcast into the
 * instruction ({1to16}). */
#define DPBUSD_BCST(acc, x, w) \
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(x), "m"(*(const int32_t *)(w)))

/* Interleave X[k0.., n0..n0+nr) into xp[K4/4][48][4]. */
static void pack_x(const uint8_t *x, int64_t ldx, int64_t K, int64_t K4, int nr, uint8_t *xp) {
    const __m128i z = _mm_setzero_si128();
    for (int64_t k = 0; k < K4; k += 4) {
        uint8_t *dst = xp + k * NR;
        for (int g = 0; g < NR / 16; g++) {
            int cnt = nr - 16 * g;
            __m128i r[4];
            if (cnt <= 0) {
                for (int j = 0; j < 4; j++)
                    _mm_storeu_si128((__m128i *)(dst + g * 64 + 16 * j), z);
                continue;
            }
            __mmask16 mk = cnt >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
            for (int j = 0; j < 4; j++)
                r[j] = k + j < K ? _mm_maskz_loadu_epi8(mk, x + (k + j) * ldx + 16 * g) : z;
            __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpackhi_epi8(r[0], r[1]);
            __m128i t2 = _mm_unpacklo_epi8(r[2], r[3]), t3 = _mm_unpackhi_epi8(r[2], r[3]);
            _mm_storeu_si128((__m128i *)(dst + g * 64 + 0), _mm_unpacklo_epi16(t0, t2));
            _mm_storeu_si128((__m128i *)(dst + g * 64 + 16), _mm_unpackhi_epi16(t0, t2));
            _mm_storeu_si128((__m128i *)(dst + g * 64 + 32), _mm_unpacklo_epi16(t1, t3));
            _mm_storeu_si128((__m128i *)(dst + g * 64 + 48), _mm_unpackhi_epi16(t1, t3));
        }
    }
}

/* Where and how the epilogue writes: rows of ldy elements of the output type; the clamp bounds and the
 * output zero point pre-broadcast once per call. */
struct out_ctx {
    const struct oq_qgemm_epilogue *e;
    int32_t x_zp;
    const int32_t *wsum;
    int32_t M;
    void *y;
    int64_t ldy;
    __m512 lo, hi; /* act_min - out_zp, act_max - out_zp */
    __m512i zp;
};

static inline struct out_ctx out_ctx_make(const struct oq_qgemm_epilogue *e, int32_t x_zp,
                                          const struct oq_qgemm_packed *w, void *y, int64_t ldy) {
    struct out_ctx o = {.e = e, .x_zp = x_zp, .wsum = w->wsum, .M = w->M, .y = y, .ldy = ldy,
                        .lo = _mm512_set1_ps((float)(e->act_min - e->out_zp)),
                        .hi = _mm512_set1_ps((float)(e->act_max - e->out_zp)), .zp = _mm512_set1_epi32(e->out_zp)};
    return o;
}

/* Epilogue of one accumulator vector (16 columns of row m); v = acc' (the correction is already in). Q8: the
 * output type is U8 or S8, known at compile time, so the switch folds away. */
OQ_INLINE void store16(bool Q8, __m512i v, const struct out_ctx *o, int64_t m, int64_t n, __mmask16 mk,
                       __m512 scale) {
    enum oq_qgemm_out out = Q8 ? OQ_QGEMM_OUT_U8 : o->e->out;
    switch (out) {
    case OQ_QGEMM_OUT_U8:
    case OQ_QGEMM_OUT_S8: {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
        f = _mm512_min_ps(_mm512_max_ps(f, o->lo), o->hi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), o->zp);
        /* q is within the type's range already, so truncating to bytes narrows exactly */
        _mm_mask_storeu_epi8((char *)o->y + m * o->ldy + n, mk, _mm512_cvtepi32_epi8(q));
        break;
    }
    case OQ_QGEMM_OUT_S32:
        _mm512_mask_storeu_epi32((int32_t *)o->y + m * o->ldy + n, mk, v);
        break;
    case OQ_QGEMM_OUT_F32:
        _mm512_mask_storeu_ps((float *)o->y + m * o->ldy + n, mk, _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale));
        break;
    }
}

/* 8 rows x NV*16 columns; rows >= R are computed (zero weights) but not stored. The 4-k group q of X is at
 * xp + q * 192 (a pack_x tile) or, when koff is given, at xp + koff[q] (xi of the implicit conv). The
 * accumulators start at corr = bias - x_zp * wsum (kernels/requant.h's acc' = acc + corr, the same int32 sum
 * in another order, exact), which saves the epilogue an add per vector: with a short K (a 3-channel first
 * conv has 9 groups) the epilogue is as long as the dot products. */
OQ_INLINE void micro(int NV, bool Q8, int R, int64_t Q, const int8_t *wp, const uint8_t *xp, const int64_t *koff,
                     const struct out_ctx *o, int64_t m, int64_t n, int nr) {
    const struct oq_qgemm_epilogue *e = o->e;
    __m512i c[MR][3];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        int64_t mm = m + r;
        int32_t corr = mm < o->M ? oq_requant_acc(0, o->x_zp, o->wsum[mm], e->bias ? e->bias[mm] : 0) : 0;
        for (int v = 0; v < NV; v++)
            c[r][v] = _mm512_set1_epi32(corr);
    }
    for (int64_t q = 0; q < Q; q++) {
        const uint8_t *xq = koff ? xp + koff[q] : xp + q * NR * 4;
        __m512i x[3];
        for (int v = 0; v < NV; v++)
            x[v] = _mm512_loadu_si512((const void *)(xq + v * 64));
        const int32_t *wq = (const int32_t *)(const void *)(wp + q * MR * 4);
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < NV; v++)
                DPBUSD_BCST(c[r][v], x[v], wq + r);
    }
    __mmask16 mk[3];
    for (int v = 0; v < NV; v++) {
        int cnt = nr - 16 * v;
        mk[v] = cnt >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
    }
    /* fully unrolled, so c is indexed by constants and stays in registers */
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (r >= R)
            break;
        __m512 scale = _mm512_set1_ps(e->scale ? e->scale[e->per_channel ? m + r : 0] : 0.0f);
        for (int v = 0; v < NV; v++)
            store16(Q8, c[r][v], o, m + r, n + 16 * v, mk[v], scale);
    }
}

OQ_INLINE void micro_nv(int nv, int R, int64_t Q, const int8_t *wp, const uint8_t *xp, const int64_t *koff,
                        const struct out_ctx *o, int64_t m, int64_t n, int nr) {
    bool q8 = o->e->out == OQ_QGEMM_OUT_U8 || o->e->out == OQ_QGEMM_OUT_S8;
    if (nv == 3 && q8)
        micro(3, true, R, Q, wp, xp, koff, o, m, n, nr);
    else if (nv == 2 && q8)
        micro(2, true, R, Q, wp, xp, koff, o, m, n, nr);
    else if (q8)
        micro(1, true, R, Q, wp, xp, koff, o, m, n, nr);
    else if (nv == 3)
        micro(3, false, R, Q, wp, xp, koff, o, m, n, nr);
    else if (nv == 2)
        micro(2, false, R, Q, wp, xp, koff, o, m, n, nr);
    else
        micro(1, false, R, Q, wp, xp, koff, o, m, n, nr);
}

oq_status oq_qgemm_avx512vnni(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch,
                              int ith, int nth) {
    oq_status st = oq_qgemm_check(w, a);
    if (st != OQ_OK)
        return st;
    if (!scratch)
        return OQ_ERR_ARG;
    int64_t m0, m1, n0, n1;
    oq_qgemm_slice(w, a->N, ith, nth, &m0, &m1, &n0, &n1);
    uint8_t *xp = (uint8_t *)scratch + (size_t)ith * oq_qgemm_scratch_slice(w->K);
    const int64_t Q = w->K4 / 4;
    const struct out_ctx o = out_ctx_make(&a->ep, a->x_zp, w, a->y, a->ldy);
    for (int64_t n = n0; n < n1; n += NR) {
        int nr = n1 - n < NR ? (int)(n1 - n) : NR;
        pack_x(a->x + n, a->ldx, w->K, w->K4, nr, xp);
        int nv = (nr + 15) / 16;
        for (int64_t m = m0; m < m1; m += MR) {
            int R = m1 - m < MR ? (int)(m1 - m) : MR;
            micro_nv(nv, R, Q, w->w + (m / MR) * Q * MR * 4, xp, NULL, &o, m, n, nr);
        }
    }
    return OQ_OK;
}

oq_status oq_qconv_igemm_avx512vnni(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
                                    const uint8_t *xi, void *scratch, int ith, int nth) {
    oq_status st = oq_qconv_igemm_check(w, a);
    if (st != OQ_OK)
        return st;
    const struct oq_conv2d_geom *g = &a->g;
    if (g->out_h * g->out_w == 0)
        return OQ_OK;
    if (!xi || !scratch || nth < 1 || ith < 0 || ith >= nth)
        return OQ_ERR_ARG;
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, a->channels, &d);
    int64_t *koff = scratch;
    oq_qconv_igemm_offsets(g, a->channels, koff);
    const int64_t Q = w->K4 / 4, T = (g->out_w + NR - 1) / NR, row = g->stride_h * d.sw * d.Wq * 4;
    const struct out_ctx o = out_ctx_make(&a->ep, a->x_zp, w, a->y, a->ldy);
    int64_t t0, t1;
    oq_split(g->out_h * T, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t oy = t / T, ox = t % T * NR;
        int nr = g->out_w - ox < NR ? (int)(g->out_w - ox) : NR;
        const uint8_t *xb = xi + oy * row + ox * 4;
        for (int64_t m = 0; m < w->M; m += MR) {
            int R = w->M - m < MR ? (int)(w->M - m) : MR;
            micro_nv((nr + 15) / 16, R, Q, w->w + (m / MR) * Q * MR * 4, xb, koff, &o, m, oy * g->out_w + ox,
                     nr);
        }
    }
    return OQ_OK;
}
