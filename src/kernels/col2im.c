/* col2im, restructured for speed: the same sums in the same order as oq_col2im_ref (bit-identical), but the
 * position range is walked row by row, so the per-element work is one bounds check and one add instead of a
 * division, a modulo and two multiplies. Plain C: the strided scatter (stride 2 for the usual 2x upsampling
 * ConvTranspose) does not vectorize profitably with gathers/scatters. */
#include "kernels/conv.h"

void oq_col2im_rows(const struct oq_conv2d_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1,
                    int64_t ldc, float *img) {
    int64_t row = 0;
    for (int64_t c = 0; c < channels; c++) {
        float *ic = img + c * g->in_h * g->in_w;
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            for (int32_t kx = 0; kx < g->k_w; kx++, row++) {
                const float *src = col + row * ldc - p0;
                int64_t p = p0;
                while (p < p1) {
                    int64_t oy = p / g->out_w, ox0 = p % g->out_w;
                    int64_t pe = p + (g->out_w - ox0);
                    if (pe > p1)
                        pe = p1;
                    int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
                    if (iy >= 0 && iy < g->in_h) {
                        float *dst = ic + iy * g->in_w;
                        int64_t ix = ox0 * g->stride_w - g->pad_l + (int64_t)kx * g->dil_w;
                        for (int64_t q = p; q < pe; q++, ix += g->stride_w)
                            if (ix >= 0 && ix < g->in_w)
                                dst[ix] += src[q];
                    }
                    p = pe;
                }
            }
        }
    }
}
