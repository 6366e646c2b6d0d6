/* Depthwise u8 conv of one plane with AVX-512 VNNI (contract in kernels/qgemm.h).
 *
 * The plane is first copied into scratch with the zero point around it (kernels/qconv.c), so every tap of
 * every output is in range and sum_k w_k (x_k - x_zp) = sum_k w_k x_k - x_zp * sum_k w_k exactly, as in the
 * reference. 16 outputs per vector, one vpdpwssd per tap: stride_w 1 loads 16 bytes and zero-extends each
 * to a 32-bit lane (int16 pair (x, 0)); stride_w 2 loads 32 bytes and zero-extends them to int16, so lane j
 * holds the pair (x[2j], x[2j+1]) and the weight pair (w, 0) keeps only x[2j]. Products are at most
 * 255 * 128 per tap, far inside int32. Other stride_w use the reference loop. */
#include <immintrin.h>

#include "kernels/qconv_internal.h"
#include "kernels/requant.h"

oq_status oq_qdwconv_avx512vnni(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                                const int8_t *w, uint8_t *y, void *scratch) {
    if (!g || !p || !x || !w || !y || !scratch || p->act_min < 0 || p->act_max > 255 || p->act_min > p->act_max)
        return OQ_ERR_ARG;
    if (g->stride_w != 1 && g->stride_w != 2)
        return oq_qdwconv_ref(g, p, x, w, y, scratch);
    if (g->out_h <= 0 || g->out_w <= 0)
        return OQ_OK;
    uint8_t *buf = scratch;
    oq_qdw_pad_plane(g, x, (uint8_t)p->x_zp, buf);
    int64_t hp, wp, st;
    oq_qdw_padded_dims(g, &hp, &wp, &st);
    const int taps = g->k_h * g->k_w;
    int32_t wsum = 0;
    __m512i wv[64];
    for (int t = 0; t < taps; t++) {
        wsum += w[t];
        if (t < 64)
            wv[t] = _mm512_set1_epi32((uint16_t)(int16_t)w[t]);
    }
    if (taps > 64)
        return oq_qdwconv_ref(g, p, x, w, y, scratch);
    const __m512i corr = _mm512_set1_epi32(oq_requant_acc(0, p->x_zp, wsum, p->bias));
    const __m512 vs = _mm512_set1_ps(p->scale);
    const __m512 lo = _mm512_set1_ps((float)(p->act_min - p->out_zp)), hi = _mm512_set1_ps((float)(p->act_max - p->out_zp));
    const __m512i zp = _mm512_set1_epi32(p->out_zp);
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const uint8_t *rows = buf + oy * g->stride_h * st;
        for (int64_t ox = 0; ox < g->out_w; ox += 16) {
            int64_t cnt = g->out_w - ox;
            __mmask16 mk = cnt >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
            __m512i acc = _mm512_setzero_si512();
            for (int ky = 0; ky < g->k_h; ky++) {
                const uint8_t *r = rows + (int64_t)ky * g->dil_h * st + ox * g->stride_w;
                for (int kx = 0; kx < g->k_w; kx++) {
                    const uint8_t *s = r + (int64_t)kx * g->dil_w;
                    __m512i xv = g->stride_w == 1 ? _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)s))
                                                  : _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)s));
                    acc = _mm512_dpwssd_epi32(acc, xv, wv[ky * g->k_w + kx]);
                }
            }
            __m512i v = _mm512_add_epi32(acc, corr);
            __m512 f = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), vs), lo), hi);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
            _mm_mask_storeu_epi8(y + oy * g->out_w + ox, mk, _mm512_cvtepi32_epi8(q));
        }
    }
    return OQ_OK;
}
