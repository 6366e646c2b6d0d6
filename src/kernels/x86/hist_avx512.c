/* AVX-512 calibration statistics (kernels/hist.h): 16 lanes of min/max/non-finite/zero tests per instruction;
 * histogram indices computed 16 at a time (multiply, add, clamp, truncate), then counted with scalar
 * increments spread over the four sub-histograms. Bit-identical to kernels/ref/hist_ref.c
 * (tests/kernels/test_hist.c). */
#include <immintrin.h>
#include <math.h>

#include "kernels/hist.h"

struct oq_block_stats oq_hist_scan_avx512(const float *x, int64_t n) {
    __m512 mn = _mm512_set1_ps(INFINITY), mx = _mm512_set1_ps(-INFINITY);
    const __m512i expo = _mm512_set1_epi32(0x7f800000), mag = _mm512_set1_epi32(0x7fffffff);
    __mmask16 bad = 0;
    int64_t zeros = 0;
    int64_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512i u = _mm512_castps_si512(v);
        /* _mm512_min_ps(v, mn) returns mn when v is NaN or when both are zeros: the reference's v < mn ? v : mn */
        mn = _mm512_mask_min_ps(mn, m, v, mn);
        mx = _mm512_mask_max_ps(mx, m, v, mx);
        bad |= _mm512_mask_cmpeq_epi32_mask(m, _mm512_and_si512(u, expo), expo);
        zeros += __builtin_popcount(_mm512_mask_testn_epi32_mask(m, u, mag));
    }
    float a[16], b[16];
    _mm512_storeu_ps(a, mn);
    _mm512_storeu_ps(b, mx);
    struct oq_block_stats r = {INFINITY, -INFINITY, bad != 0, zeros};
    for (int l = 0; l < 16; l++) {
        r.mn = a[l] < r.mn ? a[l] : r.mn;
        r.mx = b[l] > r.mx ? b[l] : r.mx;
    }
    return r;
}

void oq_hist_count_avx512(const float *x, int64_t n, float inv_w, float h, float last, uint32_t *c,
                          int64_t stride) {
    const __m512 vw = _mm512_set1_ps(inv_w), vh = _mm512_set1_ps(h), vl = _mm512_set1_ps(last),
                 zero = _mm512_setzero_ps();
    uint32_t *c0 = c, *c1 = c + stride, *c2 = c + 2 * stride, *c3 = c + 3 * stride;
    int32_t idx[16];
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 f = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), vw), vh);
        f = _mm512_min_ps(_mm512_max_ps(f, zero), vl);
        _mm512_storeu_si512(idx, _mm512_cvttps_epi32(f));
        for (int j = 0; j < 16; j += 4) {
            c0[idx[j]]++;
            c1[idx[j + 1]]++;
            c2[idx[j + 2]]++;
            c3[idx[j + 3]]++;
        }
    }
    if (i < n) /* the tail keeps sub-histogram i % 4, as the reference: i is a multiple of 16 here */
        oq_hist_count_ref(x + i, n - i, inv_w, h, last, c, stride);
}
