/* Internal helpers shared by the depthwise u8 kernels (kernels/qconv.c). */
#ifndef ONNXQ_KERNELS_QCONV_INTERNAL_H
#define ONNXQ_KERNELS_QCONV_INTERNAL_H

#include "kernels/qgemm.h"

/* Padded plane: hp rows x wp used columns, row stride `stride` (>= wp + 64). */
void oq_qdw_padded_dims(const struct oq_conv2d_geom *g, int64_t *hp, int64_t *wp, int64_t *stride);
/* Copy plane x into buf (oq_qdwconv_scratch_size bytes) with zp everywhere outside the input. Padded
 * (r, c) holds x[r - pad_t, c - pad_l]; output (oy, ox) tap (ky, kx) reads
 * (oy*stride_h + ky*dil_h, ox*stride_w + kx*dil_w). */
void oq_qdw_pad_plane(const struct oq_conv2d_geom *g, const uint8_t *x, uint8_t zp, uint8_t *buf);

#endif
