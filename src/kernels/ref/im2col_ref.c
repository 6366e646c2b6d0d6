/* Reference im2col and col2im (conv.h). Exact: they only move data (col2im adds in col row-major order). */
#include "kernels/conv.h"

void oq_im2col_ref(const struct oq_conv2d_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1,
                   float *col, int64_t ldc) {
    int64_t row = 0;
    for (int64_t c = 0; c < channels; c++) {
        const float *xc = x + c * g->in_h * g->in_w;
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            for (int32_t kx = 0; kx < g->k_w; kx++, row++) {
                float *dst = col + row * ldc;
                for (int64_t p = p0; p < p1; p++) {
                    int64_t oy = p / g->out_w, ox = p % g->out_w;
                    int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
                    int64_t ix = ox * g->stride_w - g->pad_l + (int64_t)kx * g->dil_w;
                    bool in = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
                    dst[p - p0] = in ? xc[iy * g->in_w + ix] : 0.0f;
                }
            }
        }
    }
}

void oq_col2im_ref(const struct oq_conv2d_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1,
                   int64_t ldc, float *img) {
    int64_t row = 0;
    for (int64_t c = 0; c < channels; c++) {
        float *ic = img + c * g->in_h * g->in_w;
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            for (int32_t kx = 0; kx < g->k_w; kx++, row++) {
                const float *src = col + row * ldc;
                for (int64_t p = p0; p < p1; p++) {
                    int64_t oy = p / g->out_w, ox = p % g->out_w;
                    int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
                    int64_t ix = ox * g->stride_w - g->pad_l + (int64_t)kx * g->dil_w;
                    if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w)
                        ic[iy * g->in_w + ix] += src[p - p0];
                }
            }
        }
    }
}
