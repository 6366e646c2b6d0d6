/* u8 x s8 GEMM with AVX-512 VNNI (kernels/qgemm.h has the contract and numerics).
 *
 * vpdpbusd adds, per 32-bit lane, four u8 x s8 products straight into int32: no int16 intermediate, so no
 * saturation for any input (the worst lane gains 4 * 255 * 128 per step; the K limit keeps the sum exact).
 *
 * Blocking: each thread walks its columns in tiles of 48. A tile of X ([K, 48] u8, row-major in the caller's
 * layout) is first interleaved into scratch as [K4/4][48][4] (4 consecutive k of one column per 32-bit lane;
 * rows >= K and columns past the edge are zero), then every 8-channel weight panel runs the 8 x 48
 * micro-kernel over it: 24 zmm accumulators, three 64-byte activation loads and eight 4-byte weight
 * broadcasts (embedded {1to16}) per 4 k-steps, 24 vpdpbusd. The whole K is reduced in registers, so the
 * epilogue (zero-point correction, bias, requant, clamp, narrow; kernels/requant.h) runs once per output,
 * with masked stores at the right edge and on the last panel's padding rows. */
#include <immintrin.h>
#include <string.h>

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

/* Epilogue of one accumulator vector (16 columns of row m). */
OQ_INLINE void store16(__m512i acc, const struct oq_qgemm_args *a, int64_t m, int64_t n, __mmask16 mk,
                       int32_t corr, float scale) {
    const struct oq_qgemm_epilogue *e = &a->ep;
    __m512i v = _mm512_add_epi32(acc, _mm512_set1_epi32(corr));
    switch (e->out) {
    case OQ_QGEMM_OUT_U8:
    case OQ_QGEMM_OUT_S8: {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(scale));
        f = _mm512_max_ps(f, _mm512_set1_ps((float)(e->act_min - e->out_zp)));
        f = _mm512_min_ps(f, _mm512_set1_ps((float)(e->act_max - e->out_zp)));
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(e->out_zp));
        /* q is within the type's range already, so truncating to bytes narrows exactly */
        _mm_mask_storeu_epi8((char *)a->y + m * a->ldy + n, mk, _mm512_cvtepi32_epi8(q));
        break;
    }
    case OQ_QGEMM_OUT_S32:
        _mm512_mask_storeu_epi32((int32_t *)a->y + m * a->ldy + n, mk, v);
        break;
    case OQ_QGEMM_OUT_F32:
        _mm512_mask_storeu_ps((float *)a->y + m * a->ldy + n, mk,
                              _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(scale)));
        break;
    }
}

/* 8 rows x NV*16 columns; rows >= R are computed (zero weights) but not stored. */
OQ_INLINE void micro(int NV, int R, int64_t Q, const int8_t *wp, const uint8_t *xp, const struct oq_qgemm_args *a,
                     const int32_t *wsum, int64_t m, int64_t n, int nr) {
    __m512i c[MR][3];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++)
            c[r][v] = _mm512_setzero_si512();
    for (int64_t q = 0; q < Q; q++) {
        __m512i x[3];
        for (int v = 0; v < NV; v++)
            x[v] = _mm512_loadu_si512((const void *)(xp + q * NR * 4 + v * 64));
        const int32_t *wq = (const int32_t *)(const void *)(wp + q * MR * 4);
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < NV; v++)
                DPBUSD_BCST(c[r][v], x[v], wq + r);
    }
    /* a copy with constant indices, so that c itself stays in registers (the epilogue indexes by a
     * run-time row count) */
    __m512i o[MR][3];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++)
            o[r][v] = c[r][v];
    const struct oq_qgemm_epilogue *e = &a->ep;
    for (int r = 0; r < R; r++) {
        int64_t mm = m + r;
        int32_t corr = oq_requant_acc(0, a->x_zp, wsum[mm], e->bias ? e->bias[mm] : 0);
        float scale = e->scale ? e->scale[e->per_channel ? mm : 0] : 0.0f;
        for (int v = 0; v < NV; v++) {
            int cnt = nr - 16 * v;
            __mmask16 mk = cnt >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
            store16(o[r][v], a, mm, n + 16 * v, mk, corr, scale);
        }
    }
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
    for (int64_t n = n0; n < n1; n += NR) {
        int nr = n1 - n < NR ? (int)(n1 - n) : NR;
        pack_x(a->x + n, a->ldx, w->K, w->K4, nr, xp);
        int nv = (nr + 15) / 16;
        for (int64_t m = m0; m < m1; m += MR) {
            int R = m1 - m < MR ? (int)(m1 - m) : MR;
            const int8_t *wp = w->w + (m / MR) * Q * MR * 4;
            if (nv == 3)
                micro(3, R, Q, wp, xp, a, w->wsum, m, n, nr);
            else if (nv == 2)
                micro(2, R, Q, wp, xp, a, w->wsum, m, n, nr);
            else
                micro(1, R, Q, wp, xp, a, w->wsum, m, n, nr);
        }
    }
    return OQ_OK;
}
