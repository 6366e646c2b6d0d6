/* kernels/lut.h with AVX-512 VBMI: vpermi2b picks bytes from a 128-byte pair of registers by the low 7 bits of
 * each index; two of them cover the table's halves and the index's top bit (vpmovb2m) chooses between them.
 * The tail runs through masked loads and stores, so any n works without a scalar loop. */
#include <immintrin.h>

#include "kernels/lut.h"

void oq_lut_u8_avx512vbmi(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n) {
    const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i v = _mm512_loadu_si512(x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
        _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
    }
    if (i < n) {
        __mmask64 m = _bzhi_u64(~0ULL, (unsigned)(n - i));
        __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
        _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
    }
}
