/* The resampling engine behind Resize and Upsample (the opset <= 9 form of Resize).
 *
 * An op parses its attributes and constant inputs into struct oq_resize_params (scales, output dims and
 * modes, all full-rank), then oq_resize_prepare() turns them into per-axis tap tables: for each output
 * coordinate of each axis, up to 4 (input offset, weight) taps (1 for nearest, 2 linear, 4 cubic; an axis
 * whose taps all reduce to a single weight-1 tap — scale 1, or integer coordinates — becomes 1 tap).
 * oq_resize_run() then either selects (every axis 1 tap: a dtype-agnostic gather that memcpys repeated
 * rows and has a 2x fast path, the det model's nearest/asymmetric/floor upsampling) or interpolates in
 * float (linear/cubic over any set of axes, at most 64 tap combinations over the non-innermost axes).
 */
#ifndef ONNXQ_OPS_RESIZE_H
#define ONNXQ_OPS_RESIZE_H

#include <stdbool.h>

#include "ops/op.h"

enum oq_resize_mode { OQ_RESIZE_NEAREST, OQ_RESIZE_LINEAR, OQ_RESIZE_CUBIC };

enum oq_resize_ctm {
    OQ_CTM_HALF_PIXEL,
    OQ_CTM_HALF_PIXEL_SYMMETRIC,
    OQ_CTM_PYTORCH_HALF_PIXEL,
    OQ_CTM_ALIGN_CORNERS,
    OQ_CTM_ASYMMETRIC,
    OQ_CTM_TF_HALF_PIXEL_FOR_NN,
    OQ_CTM_TF_CROP_AND_RESIZE,
};

enum oq_resize_nearest {
    OQ_NEAREST_ROUND_PREFER_FLOOR,
    OQ_NEAREST_ROUND_PREFER_CEIL,
    OQ_NEAREST_FLOOR,
    OQ_NEAREST_CEIL,
    OQ_NEAREST_SIMPLE, /* Resize-10 / Upsample (ONNX Runtime): truncate when upsampling, ceil when downsampling */
};

struct oq_resize_params {
    enum oq_resize_mode mode;
    enum oq_resize_ctm ctm;
    enum oq_resize_nearest nearest;
    double cubic_a;
    bool exclude_outside;
    double extrapolation;
    int rank;
    double scale[OQ_MAX_DIMS];     /* scale used in the coordinate transform */
    double roi[2 * OQ_MAX_DIMS];   /* tf_crop_and_resize: starts then ends, full rank */
    int64_t out[OQ_MAX_DIMS];
};

/* Build the tap tables into ctx->priv for input 0 and the given parameters. */
oq_status oq_resize_prepare(struct oq_op_ctx *ctx, const struct oq_resize_params *p);
/* Run with the tables from oq_resize_prepare (input 0 -> output 0). */
oq_status oq_resize_run(struct oq_op_ctx *ctx);
/* .destroy for ops using the engine. */
void oq_resize_destroy(void *priv);
/* Dtype rule shared by Resize/Upsample infer: float for every mode; int8/uint8 for pure selection. */
oq_status oq_resize_check_dtype(const struct oq_op_ctx *ctx, const struct oq_resize_params *p);

#endif
