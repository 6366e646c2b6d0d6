/* xpack with AVX-512 (BW/VL): the input of an implicit-GEMM conv copied once into xi, the padded,
 * 4-channel-interleaved, stride-phase-split layout of kernels/qgemm.h. Same bytes as oq_qconv_xpack_ref.
 *
 * Per padded row and 16 output pixels u: one 16-byte (stride 1) or 32-byte (stride 2) masked load per channel
 * (masked-off bytes take the pad value, so the left/right padding needs no separate pass), zero-extended to
 * 32-bit lanes and merged with shifts into 16 pixels x 4 channels = one 64-byte store. For stride 2 each load
 * holds both phases: vpmovwb of the words (and of the words shifted right by 8) splits even and odd columns.
 * Other strides use the portable oq_qconv_xpack_fast. */
#include <immintrin.h>
#include <string.h>

#include "kernels/qgemm.h"

/* 16 pixels of 4 channels (a byte each) -> 16 x 4 interleaved bytes */
static inline __m512i interleave4(__m128i c0, __m128i c1, __m128i c2, __m128i c3) {
    __m512i v = _mm512_cvtepu8_epi32(c0);
    v = _mm512_or_si512(v, _mm512_slli_epi32(_mm512_cvtepu8_epi32(c1), 8));
    v = _mm512_or_si512(v, _mm512_slli_epi32(_mm512_cvtepu8_epi32(c2), 16));
    return _mm512_or_si512(v, _mm512_slli_epi32(_mm512_cvtepu8_epi32(c3), 24));
}

/* Mask of the n-byte window starting at input column ix0 that lies inside [0, in_w). */
static inline uint64_t window_mask(int64_t ix0, int64_t n, int64_t in_w) {
    int64_t lo = ix0 < 0 ? -ix0 : 0, hi = in_w - ix0;
    if (hi > n)
        hi = n;
    if (hi <= lo)
        return 0;
    uint64_t m = hi - lo >= 64 ? ~0ull : ((1ull << (hi - lo)) - 1);
    return m << lo;
}

/* Address of input column ix0 of a row; ix0 may lie outside the row when only in-row bytes are loaded
 * (masked), so it is formed as an integer rather than by out-of-bounds pointer arithmetic. */
static inline const void *at(const uint8_t *row, int64_t ix0) { return (const void *)((uintptr_t)row + ix0); }

void oq_qconv_xpack_avx512(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad,
                           int64_t r0, int64_t r1, uint8_t *xi) {
    if (g->stride_w > 2) {
        oq_qconv_xpack_fast(g, channels, x, pad, r0, r1, xi);
        return;
    }
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, channels, &d);
    const int64_t sw = d.sw, Wq = d.Wq;
    const __m128i vpad = _mm_set1_epi8((char)pad);
    const __m256i vpad2 = _mm256_set1_epi8((char)pad);
    for (int64_t r = r0; r < r1; r++) {
        int64_t cq = r / d.Hp, iy = r % d.Hp - g->pad_t;
        uint8_t *row = xi + r * sw * Wq * 4;
        if (iy < 0 || iy >= g->in_h) {
            memset(row, pad, (size_t)(sw * Wq * 4));
            continue;
        }
        const uint8_t *src[4];
        int nc = 0; /* real channels in this group */
        for (int j = 0; j < 4; j++)
            if (cq * 4 + j < channels)
                src[nc++] = x + ((cq * 4 + j) * g->in_h + iy) * g->in_w;
        for (int64_t u = 0; u < Wq; u += 16) {
            int64_t ix0 = u * sw - g->pad_l; /* first input column of the window (phase 0) */
            if (sw == 1) {
                __mmask16 mk = (__mmask16)window_mask(ix0, 16, g->in_w);
                __m128i c[4] = {vpad, vpad, vpad, vpad};
                for (int j = 0; j < nc; j++)
                    c[j] = _mm_mask_loadu_epi8(vpad, mk, at(src[j], ix0));
                _mm512_storeu_si512((void *)(row + u * 4), interleave4(c[0], c[1], c[2], c[3]));
            } else {
                __mmask32 mk = (__mmask32)window_mask(ix0, 32, g->in_w);
                __m128i e[4] = {vpad, vpad, vpad, vpad}, o[4] = {vpad, vpad, vpad, vpad};
                for (int j = 0; j < nc; j++) {
                    __m256i v = _mm256_mask_loadu_epi8(vpad2, mk, at(src[j], ix0));
                    e[j] = _mm256_cvtepi16_epi8(v);                       /* columns ix0, ix0+2, ... */
                    o[j] = _mm256_cvtepi16_epi8(_mm256_srli_epi16(v, 8)); /* ix0+1, ix0+3, ... */
                }
                _mm512_storeu_si512((void *)(row + u * 4), interleave4(e[0], e[1], e[2], e[3]));
                _mm512_storeu_si512((void *)(row + (Wq + u) * 4), interleave4(o[0], o[1], o[2], o[3]));
            }
        }
    }
}
