/* im2col (conv.h) with the per-element index arithmetic of the reference hoisted: positions are walked
 * output row by output row, each row segment is zero border + strided copy + zero border, and stride 1
 * copies are memcpy. Plain C; the AVX-512 flags of this translation unit let the compiler vectorize the
 * fills and copies. Exact (moves data only). */
#include <string.h>

#include "kernels/conv.h"

void oq_im2col_avx512(const struct oq_conv2d_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1,
                      float *col, int64_t ldc) {
    const int64_t W = g->out_w, sw = g->stride_w;
    int64_t row = 0;
    for (int64_t c = 0; c < channels; c++) {
        const float *xc = x + c * g->in_h * g->in_w;
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            for (int32_t kx = 0; kx < g->k_w; kx++, row++) {
                float *dst = col + row * ldc;
                int64_t off = (int64_t)kx * g->dil_w - g->pad_l; /* ix = ox*sw + off */
                /* ox range with 0 <= ix < in_w */
                int64_t ox_lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t ox_hi = g->in_w - off <= 0 ? 0 : (g->in_w - off - 1) / sw + 1;
                if (ox_hi > W)
                    ox_hi = W;
                int64_t p = p0;
                while (p < p1) {
                    int64_t oy = p / W, ox0 = p % W;
                    int64_t ox1 = W - ox0 < p1 - p ? W : ox0 + (p1 - p);
                    float *d = dst + (p - p0);
                    int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
                    int64_t a = ox0 > ox_lo ? ox0 : ox_lo, b = ox1 < ox_hi ? ox1 : ox_hi;
                    if (iy < 0 || iy >= g->in_h || a >= b) {
                        memset(d, 0, sizeof(float) * (size_t)(ox1 - ox0));
                    } else {
                        for (int64_t ox = ox0; ox < a; ox++)
                            d[ox - ox0] = 0.0f;
                        const float *s = xc + iy * g->in_w; /* ix = ox*sw + off, in range on [a, b) */
                        if (sw == 1) {
                            memcpy(d + (a - ox0), s + a + off, sizeof(float) * (size_t)(b - a));
                        } else {
                            for (int64_t ox = a; ox < b; ox++)
                                d[ox - ox0] = s[ox * sw + off];
                        }
                        for (int64_t ox = b; ox < ox1; ox++)
                            d[ox - ox0] = 0.0f;
                    }
                    p += ox1 - ox0;
                }
            }
        }
    }
}
