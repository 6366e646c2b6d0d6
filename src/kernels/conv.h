/* FP32 convolution kernels (NCHW): the geometry of one 2-D plane, depthwise conv, im2col and col2im.
 * Kernels take dims + data pointers and never see a graph node; they never allocate. 1-D convs use
 * in_h = out_h = k_h = 1, stride_h = dil_h = 1, pad_t = 0. */
#ifndef ONNXQ_KERNELS_CONV_H
#define ONNXQ_KERNELS_CONV_H

#include <stdint.h>

#include "kernels/activation.h"

/* One 2-D plane: output (oy, ox) reads input (oy*stride_h - pad_t + ky*dil_h, ox*stride_w - pad_l + kx*dil_w)
 * for ky < k_h, kx < k_w; positions outside [0,in_h) x [0,in_w) read zero. */
struct oq_conv2d_geom {
    int64_t in_h, in_w;
    int64_t out_h, out_w;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_t, pad_l;
    int32_t dil_h, dil_w;
};

/* Depthwise conv of one channel plane: y[out_h, out_w] = act(bias + sum_{ky,kx} w[ky,kx] * x[iy, ix]).
 * x is [in_h, in_w], w is [k_h, k_w], y is [out_h, out_w], all contiguous. act may be NULL (none). */
typedef void (*oq_dwconv_fn)(const struct oq_conv2d_geom *g, const float *x, const float *w, float bias,
                             float *y, const struct oq_act *act);
void oq_dwconv_ref(const struct oq_conv2d_geom *g, const float *x, const float *w, float bias, float *y,
                   const struct oq_act *act);
void oq_dwconv_avx512(const struct oq_conv2d_geom *g, const float *x, const float *w, float bias, float *y,
                      const struct oq_act *act);

/* im2col of output positions [p0, p1) (p = oy*out_w + ox) for `channels` input planes x[channels, in_h, in_w]:
 * col is [channels*k_h*k_w, p1-p0] row-major with row stride ldc (>= p1-p0); row r = (c*k_h + ky)*k_w + kx.
 * Out-of-range taps write 0. */
typedef void (*oq_im2col_fn)(const struct oq_conv2d_geom *g, int64_t channels, const float *x, int64_t p0,
                             int64_t p1, float *col, int64_t ldc);
void oq_im2col_ref(const struct oq_conv2d_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1,
                   float *col, int64_t ldc);
void oq_im2col_avx512(const struct oq_conv2d_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1,
                      float *col, int64_t ldc);

/* col2im, the adjoint of im2col: for the geometry of the *forward* conv that maps the image
 * [channels, in_h, in_w] to [out_h, out_w], accumulate the columns of positions [p0, p1) (p = oy*out_w + ox),
 * col[channels*k_h*k_w, p1-p0] with row stride ldc, into img: img[c, iy, ix] += col[(c*k_h+ky)*k_w+kx, p-p0]
 * for every in-range tap, summing in col row-major order. ConvTranspose uses it with its output as `img` and its
 * input grid as (out_h, out_w). */
typedef void (*oq_col2im_fn)(const struct oq_conv2d_geom *g, int64_t channels, const float *col, int64_t p0,
                             int64_t p1, int64_t ldc, float *img);
void oq_col2im_ref(const struct oq_conv2d_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1,
                   int64_t ldc, float *img);
/* Same sums in the same order, walked row by row (kernels/col2im.c): bit-identical to the reference. */
void oq_col2im_rows(const struct oq_conv2d_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1,
                    int64_t ldc, float *img);

#endif
