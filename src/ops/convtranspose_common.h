/* ConvTranspose attributes and shapes, shared by the float op (ops/convtranspose.c) and the INT8 one
 * (ops/qconvtranspose.c) so that both agree on every output size and padding. 1-D and 2-D, NCHW.
 *
 * Output padding and pads follow ONNX Runtime's ComputeTransposePadAndOutputShape: with output_shape (or
 * auto_pad SAME_*, whose output is input * stride) the total padding is derived from the output size and
 * split with the odd unit at the end for SAME_UPPER, at the beginning otherwise.
 *
 * The geometry is expressed as the *forward* conv that maps the ConvTranspose output grid to its input grid
 * (kernels/conv.h: image = output [OH, OW], grid = input [H, W]), which is what col2im scatters along:
 * input (iy, ix) and tap (ky, kx) land on output (iy*stride_h - pad_t + ky*dil_h, ix*stride_w - pad_l +
 * kx*dil_w) when that is inside [0, OH) x [0, OW). */
#ifndef ONNXQ_OPS_CONVTRANSPOSE_COMMON_H
#define ONNXQ_OPS_CONVTRANSPOSE_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/conv.h"
#include "ops/op.h"

enum oq_convtranspose_auto_pad {
    OQ_CONVTRANSPOSE_NOTSET,
    OQ_CONVTRANSPOSE_SAME_UPPER,
    OQ_CONVTRANSPOSE_SAME_LOWER,
    OQ_CONVTRANSPOSE_VALID,
};

/* Attributes; 1-D values land in index 1 (w) with the unit value in index 0 (h). */
struct oq_convtranspose_attrs {
    int nsp; /* spatial dims the attributes describe (0: none given) */
    bool has_kernel, has_pads, has_out_shape;
    int64_t kernel[2], strides[2], dil[2], out_pad[2], out_shape[2];
    int64_t pads[4]; /* begin h, begin w, end h, end w */
    int64_t group;
    enum oq_convtranspose_auto_pad auto_pad;
};

/* Shapes for concrete inputs x [N, C, (H,) W] and w [C, M/group, (kh,) kw]. */
struct oq_convtranspose_shape {
    int64_t N, C, H, W; /* input (H = 1 for 1-D) */
    int64_t M, G, Cg, Mg; /* output channels, groups, input and output channels per group */
    int64_t OH, OW;       /* output (OH = 1 for 1-D) */
    int64_t Pin, Pout, KK; /* H*W, OH*OW, kh*kw */
    struct oq_conv2d_geom geom; /* forward-conv geometry: image = output, grid = input */
    int out_ndim;
    int64_t out_dims[4];
};

/* Parse and validate the attributes (at check time: errors name the node). */
oq_status oq_convtranspose_attrs_parse(const struct oq_node *n, oq_error *err, struct oq_convtranspose_attrs *a);

/* Resolve the shapes of x and w (their dims only; dtypes are the caller's to check). Errors name the node. */
oq_status oq_convtranspose_shape_resolve(const struct oq_op_ctx *ctx, const struct oq_convtranspose_attrs *a,
                                         const struct oq_tensor *x, const struct oq_tensor *w,
                                         struct oq_convtranspose_shape *s);

#endif
