/* u8 x s8 GEMM with AVX2 (kernels/qgemm.h has the contract and numerics).
 *
 * Saturation. vpmaddubsw (u8 x s8 -> pairs summed into int16 with saturation) cannot be used as is:
 * 255 * 127 * 2 = 64770 and 255 * -128 * 2 = -65280 overflow int16, so all-255 activations against +127 or
 * -128 weights would clip silently. Keeping weights in 7 bits would change the numerics. This kernel widens
 * instead: activations are zero-extended to int16 and weights sign-extended to int16, then vpmaddwd
 * multiplies int16 pairs into int32 exactly (|x0 w0 + x1 w1| <= 2 * 255 * 128 = 65280) and vpaddd
 * accumulates. Two uops per 16 multiply-adds, no saturation anywhere; tests/kernels/test_qgemm.c runs the
 * worst cases (all 255 against all +127, all -127, all -128).
 *
 * Blocking: the thread's columns go in tiles of 24. A tile of X is packed into scratch as int16 pairs
 * [K4/2][24][2] (two consecutive k of one column per 32-bit lane, zero beyond K and the right edge); each
 * 8-channel weight panel is widened once per tile into scratch ([K4/4][8][4] int16, the packed layout with
 * wider elements), and two 4 x 24 micro-kernels (12 ymm accumulators, three activation loads and four
 * 32-bit weight-pair broadcasts per 2 k-steps) cover its rows. The epilogue is kernels/requant.h's rule in
 * vector form (cvtepi32_ps, mul, max, min, cvtps_epi32 round to nearest even under MXCSR).
 *
 * Implicit-GEMM conv (oq_qconv_igemm_avx2): the 24-column X tile is gathered from xi (kernels/qgemm.h; each
 * 4-k group is 24 pixels x 4 channels, contiguous) into the same int16 layout, then the same micro-kernels. */
#include <immintrin.h>
#include <string.h>

#include "core/pool.h"
#include "kernels/qgemm.h"
#include "kernels/requant.h"

#define OQ_INLINE static inline __attribute__((always_inline))

enum { NR = 24, MR = OQ_QGEMM_MR, MH = 4 };

/* X[.., n0..n0+nr) -> xp[K4/2][24][2] int16. */
static void pack_x(const uint8_t *x, int64_t ldx, int64_t K, int64_t K4, int nr, int16_t *xp) {
    for (int64_t k = 0; k < K4; k += 2) {
        int16_t *dst = xp + k * NR;
        for (int g = 0; g < NR / 8; g++) {
            int cnt = nr - 8 * g;
            uint8_t b0[8] = {0}, b1[8] = {0};
            cnt = cnt < 0 ? 0 : cnt > 8 ? 8 : cnt;
            if (k < K)
                memcpy(b0, x + k * ldx + 8 * g, (size_t)cnt);
            if (k + 1 < K)
                memcpy(b1, x + (k + 1) * ldx + 8 * g, (size_t)cnt);
            __m128i r0 = _mm_loadl_epi64((const __m128i *)b0), r1 = _mm_loadl_epi64((const __m128i *)b1);
            _mm256_storeu_si256((__m256i *)(dst + 16 * g), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(r0, r1)));
        }
    }
}

/* Packed s8 panel [Q][8][4] -> int16, same order. */
static void widen_w(const int8_t *wp, int64_t Q, int16_t *wc) {
    for (int64_t i = 0; i < Q * MR * 4; i += 16)
        _mm256_storeu_si256((__m256i *)(wc + i), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + i))));
}

/* Where the epilogue writes: rows of ldy elements of the output type. */
struct out_ctx {
    const struct oq_qgemm_epilogue *e;
    int32_t x_zp;
    const int32_t *wsum;
    void *y;
    int64_t ldy;
};

OQ_INLINE void store8(__m256i acc, const struct out_ctx *a, int64_t m, int64_t n, int cnt, int32_t corr,
                      float scale) {
    const struct oq_qgemm_epilogue *e = a->e;
    __m256i v = _mm256_add_epi32(acc, _mm256_set1_epi32(corr));
    __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    switch (e->out) {
    case OQ_QGEMM_OUT_U8:
    case OQ_QGEMM_OUT_S8: {
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(scale));
        f = _mm256_max_ps(f, _mm256_set1_ps((float)(e->act_min - e->out_zp)));
        f = _mm256_min_ps(f, _mm256_set1_ps((float)(e->act_max - e->out_zp)));
        __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(e->out_zp));
        __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        __m128i b = e->out == OQ_QGEMM_OUT_U8 ? _mm_packus_epi16(h, h) : _mm_packs_epi16(h, h);
        char *dst = (char *)a->y + m * a->ldy + n;
        if (cnt >= 8)
            _mm_storel_epi64((__m128i *)dst, b);
        else {
            char tmp[16];
            _mm_storeu_si128((__m128i *)tmp, b);
            memcpy(dst, tmp, (size_t)cnt);
        }
        break;
    }
    case OQ_QGEMM_OUT_S32:
        _mm256_maskstore_epi32((int *)a->y + m * a->ldy + n, mk, v);
        break;
    case OQ_QGEMM_OUT_F32:
        _mm256_maskstore_ps((float *)a->y + m * a->ldy + n, mk,
                            _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(scale)));
        break;
    }
}

/* Rows r0..r0+3 of the panel (R of them stored) x NV*8 columns. */
OQ_INLINE void micro(int NV, int R, int r0, int64_t Q, const int16_t *wc, const int16_t *xp,
                     const struct out_ctx *a, const int32_t *wsum, int64_t m, int64_t n, int nr) {
    __m256i c[MH][3];
    for (int r = 0; r < MH; r++)
        for (int v = 0; v < NV; v++)
            c[r][v] = _mm256_setzero_si256();
    for (int64_t j = 0; j < 2 * Q; j++) { /* k pairs */
        __m256i x[3];
        for (int v = 0; v < NV; v++)
            x[v] = _mm256_loadu_si256((const __m256i *)(xp + j * NR * 2 + v * 16));
        const int16_t *wj = wc + (j >> 1) * MR * 4 + (j & 1) * 2;
        for (int r = 0; r < MH; r++) {
            int32_t pair;
            memcpy(&pair, wj + (r0 + r) * 4, 4);
            __m256i b = _mm256_set1_epi32(pair);
            for (int v = 0; v < NV; v++)
                c[r][v] = _mm256_add_epi32(c[r][v], _mm256_madd_epi16(x[v], b));
        }
    }
    /* a copy with constant indices keeps c in registers (the epilogue indexes by a run-time row count) */
    __m256i o[MH][3];
    for (int r = 0; r < MH; r++)
        for (int v = 0; v < NV; v++)
            o[r][v] = c[r][v];
    const struct oq_qgemm_epilogue *e = a->e;
    for (int r = 0; r < R; r++) {
        int64_t mm = m + r0 + r;
        int32_t corr = oq_requant_acc(0, a->x_zp, wsum[mm], e->bias ? e->bias[mm] : 0);
        float scale = e->scale ? e->scale[e->per_channel ? mm : 0] : 0.0f;
        for (int v = 0; v < NV; v++)
            store8(o[r][v], a, mm, n + 8 * v, nr - 8 * v, corr, scale);
    }
}

static void micro_any(int nv, int R, int r0, int64_t Q, const int16_t *wc, const int16_t *xp,
                      const struct out_ctx *a, const int32_t *wsum, int64_t m, int64_t n, int nr) {
    if (nv == 3)
        micro(3, R, r0, Q, wc, xp, a, wsum, m, n, nr);
    else if (nv == 2)
        micro(2, R, r0, Q, wc, xp, a, wsum, m, n, nr);
    else
        micro(1, R, r0, Q, wc, xp, a, wsum, m, n, nr);
}

/* Rows [m0, m1) of the weights over one packed X tile of nr columns, output at column n. */
static void panels(const struct oq_qgemm_packed *w, int64_t Q, int64_t m0, int64_t m1, const int16_t *xp,
                   int16_t *wc, const struct out_ctx *o, int64_t n, int nr) {
    int nv = (nr + 7) / 8;
    for (int64_t m = m0; m < m1; m += MR) {
        int R = m1 - m < MR ? (int)(m1 - m) : MR;
        widen_w(w->w + (m / MR) * Q * MR * 4, Q, wc);
        micro_any(nv, R < MH ? R : MH, 0, Q, wc, xp, o, w->wsum, m, n, nr);
        if (R > MH)
            micro_any(nv, R - MH, MH, Q, wc, xp, o, w->wsum, m, n, nr);
    }
}

oq_status oq_qgemm_avx2(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch, int ith,
                        int nth) {
    oq_status st = oq_qgemm_check(w, a);
    if (st != OQ_OK)
        return st;
    if (!scratch)
        return OQ_ERR_ARG;
    int64_t m0, m1, n0, n1;
    oq_qgemm_slice(w, a->N, ith, nth, &m0, &m1, &n0, &n1);
    char *base = (char *)scratch + (size_t)ith * oq_qgemm_scratch_slice(w->K);
    int16_t *xp = (int16_t *)(void *)base;
    int16_t *wc = (int16_t *)(void *)(base + (((int64_t)w->K4 * NR * 2 + 63) & ~(int64_t)63));
    const int64_t Q = w->K4 / 4;
    const struct out_ctx o = {.e = &a->ep, .x_zp = a->x_zp, .wsum = w->wsum, .y = a->y, .ldy = a->ldy};
    for (int64_t n = n0; n < n1; n += NR) {
        int nr = n1 - n < NR ? (int)(n1 - n) : NR;
        pack_x(a->x + n, a->ldx, w->K, w->K4, nr, xp);
        panels(w, Q, m0, m1, xp, wc, &o, n, nr);
    }
    return OQ_OK;
}

/* The 24-column tile at xb (+ koff[q] per 4-k group: 24 pixels x 4 channels) -> xp[K4/2][24][2] int16:
 * channels (0, 1) of each pixel into pair row 2q, (2, 3) into 2q + 1. Columns past the edge hold whatever
 * xi has there (never stored). */
static void pack_xi(const uint8_t *xb, const int64_t *koff, int64_t Q, int16_t *xp) {
    const __m256i sh = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15, 0, 1, 4, 5, 8, 9, 12,
                                        13, 2, 3, 6, 7, 10, 11, 14, 15);
    for (int64_t q = 0; q < Q; q++) {
        const uint8_t *s = xb + koff[q];
        int16_t *d0 = xp + 2 * q * NR * 2, *d1 = d0 + NR * 2;
        for (int g = 0; g < NR / 8; g++) {
            __m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(s + 32 * g)), sh);
            v = _mm256_permute4x64_epi64(v, 0xD8); /* low half: (c0,c1) of 8 pixels, high: (c2,c3) */
            _mm256_storeu_si256((__m256i *)(d0 + 16 * g), _mm256_cvtepu8_epi16(_mm256_castsi256_si128(v)));
            _mm256_storeu_si256((__m256i *)(d1 + 16 * g), _mm256_cvtepu8_epi16(_mm256_extracti128_si256(v, 1)));
        }
    }
}

oq_status oq_qconv_igemm_avx2(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
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
    const int64_t Q = w->K4 / 4;
    char *base = scratch;
    int64_t *koff = (int64_t *)(void *)base;
    base += (Q * (int64_t)sizeof(int64_t) + 63) & ~(int64_t)63;
    int16_t *xp = (int16_t *)(void *)base;
    int16_t *wc = (int16_t *)(void *)(base + (((int64_t)w->K4 * NR * 2 + 63) & ~(int64_t)63));
    oq_qconv_igemm_offsets(g, a->channels, koff);
    const int64_t T = (g->out_w + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR, row = g->stride_h * d.sw * d.Wq * 4;
    const struct out_ctx o = {.e = &a->ep, .x_zp = a->x_zp, .wsum = w->wsum, .y = a->y, .ldy = a->ldy};
    int64_t t0, t1;
    oq_split(g->out_h * T, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t oy = t / T, ox1 = t % T * OQ_QGEMM_NR + OQ_QGEMM_NR;
        if (ox1 > g->out_w)
            ox1 = g->out_w;
        for (int64_t ox = t % T * OQ_QGEMM_NR; ox < ox1; ox += NR) {
            int nr = ox1 - ox < NR ? (int)(ox1 - ox) : NR;
            pack_xi(xi + oy * row + ox * 4, koff, Q, xp);
            panels(w, Q, 0, w->M, xp, wc, &o, oy * g->out_w + ox, nr);
        }
    }
    return OQ_OK;
}
