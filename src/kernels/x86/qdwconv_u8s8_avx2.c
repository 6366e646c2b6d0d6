/* Depthwise u8 conv of one plane with AVX2 (contract in kernels/qgemm.h). Same scheme as the VNNI version
 * (zero-point padded copy of the plane in scratch, exact int32 sums), 8 outputs per vector: each tap is one
 * vpmaddwd of int16 pairs (x, 0) (stride_w 1: 8 bytes zero-extended to 32-bit lanes) or (x[2j], x[2j+1])
 * (stride_w 2: 16 bytes zero-extended to int16) against the weight pair (w, 0), then vpaddd. No vpmaddubsw,
 * so nothing saturates. Other stride_w use the reference loop. */
#include <immintrin.h>
#include <string.h>

#include "kernels/qconv_internal.h"
#include "kernels/requant.h"

oq_status oq_qdwconv_avx2(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                          const int8_t *w, uint8_t *y, void *scratch) {
    if (!g || !p || !x || !w || !y || !scratch || p->act_min < 0 || p->act_max > 255 || p->act_min > p->act_max)
        return OQ_ERR_ARG;
    if (g->stride_w != 1 && g->stride_w != 2)
        return oq_qdwconv_ref(g, p, x, w, y, scratch);
    if (g->out_h <= 0 || g->out_w <= 0)
        return OQ_OK;
    const int taps = g->k_h * g->k_w;
    if (taps > 64)
        return oq_qdwconv_ref(g, p, x, w, y, scratch);
    uint8_t *buf = scratch;
    oq_qdw_pad_plane(g, x, (uint8_t)p->x_zp, buf);
    int64_t hp, wp, st;
    oq_qdw_padded_dims(g, &hp, &wp, &st);
    int32_t wsum = 0;
    __m256i wv[64];
    for (int t = 0; t < taps; t++) {
        wsum += w[t];
        wv[t] = _mm256_set1_epi32((uint16_t)(int16_t)w[t]);
    }
    const __m256i corr = _mm256_set1_epi32(oq_requant_acc(0, p->x_zp, wsum, p->bias));
    const __m256 vs = _mm256_set1_ps(p->scale);
    const __m256 lo = _mm256_set1_ps((float)(p->act_min - p->out_zp)), hi = _mm256_set1_ps((float)(p->act_max - p->out_zp));
    const __m256i zp = _mm256_set1_epi32(p->out_zp);
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const uint8_t *rows = buf + oy * g->stride_h * st;
        for (int64_t ox = 0; ox < g->out_w; ox += 8) {
            int64_t cnt = g->out_w - ox;
            __m256i acc = _mm256_setzero_si256();
            for (int ky = 0; ky < g->k_h; ky++) {
                const uint8_t *r = rows + (int64_t)ky * g->dil_h * st + ox * g->stride_w;
                for (int kx = 0; kx < g->k_w; kx++) {
                    const uint8_t *s = r + (int64_t)kx * g->dil_w;
                    __m256i xv = g->stride_w == 1 ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)s))
                                                  : _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)s));
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, wv[ky * g->k_w + kx]));
                }
            }
            __m256i v = _mm256_add_epi32(acc, corr);
            __m256 f = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), vs), lo), hi);
            __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(f), zp);
            __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            __m128i b = _mm_packus_epi16(h, h);
            uint8_t *dst = y + oy * g->out_w + ox;
            if (cnt >= 8)
                _mm_storel_epi64((__m128i *)dst, b);
            else {
                uint8_t tmp[16];
                _mm_storeu_si128((__m128i *)tmp, b);
                memcpy(dst, tmp, (size_t)cnt);
            }
        }
    }
    return OQ_OK;
}
