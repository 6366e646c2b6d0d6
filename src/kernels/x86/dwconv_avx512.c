/* AVX-512 depthwise conv of one plane (conv.h), 16 output columns per vector.
 *
 * Each output row splits into a left border, an interior where every tap of every lane is inside the input
 * row, and a right border. Borders (usually one or two columns) use the reference's scalar loop; the
 * interior loads 16 lanes per tap: stride_w 1 with one (masked) load, stride_w 2 with two loads and a
 * permute that keeps the even elements, any other stride with a gather. Rows of taps that fall outside
 * the input are skipped per output row, which is uniform across its columns. The row is then finished by
 * one pass of bias + activation while it is still in L1.
 * Numerics: the reference's sum order (ky, kx), with fused multiply-adds. */
#include <immintrin.h>

#include "kernels/conv.h"

static inline __m512 load_taps(const float *p, int32_t sw, int cnt, __m512i gidx) {
    __mmask16 m = (__mmask16)((1u << cnt) - 1);
    if (sw == 1)
        return _mm512_maskz_loadu_ps(m, p);
    if (sw == 2) {
        /* elements p[0], p[2], ..., p[2*(cnt-1)]: 2*cnt-1 contiguous floats */
        int total = 2 * cnt - 1;
        __mmask16 mlo = (__mmask16)(total >= 16 ? 0xFFFFu : (1u << total) - 1);
        __mmask16 mhi = (__mmask16)(total > 16 ? (1u << (total - 16)) - 1 : 0u);
        __m512 lo = _mm512_maskz_loadu_ps(mlo, p);
        __m512 hi = _mm512_maskz_loadu_ps(mhi, p + 16);
        const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        return _mm512_permutex2var_ps(lo, even, hi);
    }
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, gidx, p, 4);
}

static inline float tap_sum_scalar(const struct oq_conv2d_geom *g, const float *x, const float *w, int64_t oy,
                                   int64_t ox) {
    float acc = 0.0f;
    for (int32_t ky = 0; ky < g->k_h; ky++) {
        int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h)
            continue;
        for (int32_t kx = 0; kx < g->k_w; kx++) {
            int64_t ix = ox * g->stride_w - g->pad_l + (int64_t)kx * g->dil_w;
            if (ix < 0 || ix >= g->in_w)
                continue;
            acc += w[ky * g->k_w + kx] * x[iy * g->in_w + ix];
        }
    }
    return acc;
}

static int64_t ceil_div_nonneg(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

void oq_dwconv_avx512(const struct oq_conv2d_geom *g, const float *x, const float *w, float bias, float *y,
                      const struct oq_act *act) {
    const int32_t sw = g->stride_w, kw = g->k_w;
    /* interior columns: ox*sw - pad_l >= 0 and ox*sw - pad_l + (kw-1)*dil_w <= in_w - 1 */
    int64_t lo = ceil_div_nonneg(g->pad_l, sw);
    int64_t last = g->in_w - 1 + g->pad_l - (int64_t)(kw - 1) * g->dil_w; /* ox*sw <= last */
    int64_t hi = last < 0 ? 0 : last / sw + 1;
    if (hi > g->out_w)
        hi = g->out_w;
    if (lo > hi)
        lo = hi;
    const __m512i gidx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32(sw));
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        float *yrow = y + oy * g->out_w;
        for (int64_t ox = 0; ox < lo; ox++)
            yrow[ox] = tap_sum_scalar(g, x, w, oy, ox);
        for (int64_t ox = hi; ox < g->out_w; ox++)
            yrow[ox] = tap_sum_scalar(g, x, w, oy, ox);
        for (int64_t ox = lo; ox < hi; ox += 16) {
            int cnt = hi - ox < 16 ? (int)(hi - ox) : 16;
            __m512 acc = _mm512_setzero_ps();
            for (int32_t ky = 0; ky < g->k_h; ky++) {
                int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
                if (iy < 0 || iy >= g->in_h)
                    continue;
                const float *xr = x + iy * g->in_w + ox * sw - g->pad_l;
                const float *wr = w + ky * kw;
                for (int32_t kx = 0; kx < kw; kx++)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(wr[kx]),
                                          load_taps(xr + (int64_t)kx * g->dil_w, sw, cnt, gidx), acc);
            }
            _mm512_mask_storeu_ps(yrow + ox, (__mmask16)((1u << cnt) - 1), acc);
        }
        oq_act_row_avx512(act, bias, yrow, g->out_w);
    }
}
