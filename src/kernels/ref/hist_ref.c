/* Reference twins of the calibration statistics kernels (kernels/hist.h). */
#include <math.h>
#include <string.h>

#include "kernels/hist.h"

struct oq_block_stats oq_hist_scan_ref(const float *x, int64_t n) {
    enum { L = OQ_HIST_LANES };
    float mn[L], mx[L];
    uint32_t bad[L], zeros[L];
    for (int l = 0; l < L; l++) {
        mn[l] = INFINITY;
        mx[l] = -INFINITY;
        bad[l] = zeros[l] = 0;
    }
    /* element i goes to lane i % L, the tail too: the lane layout of the SIMD kernels (and the block loop is
     * one the compiler vectorizes at the baseline ISA) */
    int64_t i = 0;
    for (; i + L <= n; i += L) {
        for (int l = 0; l < L; l++) {
            float v = x[i + l];
            uint32_t u;
            memcpy(&u, &v, sizeof(u));
            mn[l] = v < mn[l] ? v : mn[l];
            mx[l] = v > mx[l] ? v : mx[l];
            bad[l] |= (u & 0x7f800000u) == 0x7f800000u;
            zeros[l] += (u & 0x7fffffffu) == 0; /* +0 and -0 */
        }
    }
    for (int l = 0; i < n; i++, l++) {
        float v = x[i];
        uint32_t u;
        memcpy(&u, &v, sizeof(u));
        mn[l] = v < mn[l] ? v : mn[l];
        mx[l] = v > mx[l] ? v : mx[l];
        bad[l] |= (u & 0x7f800000u) == 0x7f800000u;
        zeros[l] += (u & 0x7fffffffu) == 0;
    }
    struct oq_block_stats r = {INFINITY, -INFINITY, 0, 0};
    for (int l = 0; l < L; l++) {
        r.mn = mn[l] < r.mn ? mn[l] : r.mn;
        r.mx = mx[l] > r.mx ? mx[l] : r.mx;
        r.bad |= bad[l];
        r.zeros += zeros[l];
    }
    return r;
}

static inline int32_t bin(float x, float inv_w, float h, float last) {
    float f = x * inv_w;
    f = f + h;
    return (int32_t)(f < 0.0f ? 0.0f : (f > last ? last : f));
}

void oq_hist_count_ref(const float *x, int64_t n, float inv_w, float h, float last, uint32_t *c, int64_t stride) {
    uint32_t *c0 = c, *c1 = c + stride, *c2 = c + 2 * stride, *c3 = c + 3 * stride;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        c0[bin(x[i], inv_w, h, last)]++;
        c1[bin(x[i + 1], inv_w, h, last)]++;
        c2[bin(x[i + 2], inv_w, h, last)]++;
        c3[bin(x[i + 3], inv_w, h, last)]++;
    }
    for (int k = 0; i < n; i++, k++)
        c[k * stride + bin(x[i], inv_w, h, last)]++;
}
