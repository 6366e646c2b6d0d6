/* Conv's attributes for the integer convolutions (QConv, ConvInteger; QLinearConv through QConv): 1-D and 2-D,
 * a 1-D node mapped onto 2-D with H = 1 (its values go to the W slot), auto_pad resolved per input extent. */
#ifndef ONNXQ_OPS_CONV2D_ATTRS_H
#define ONNXQ_OPS_CONV2D_ATTRS_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

enum oq_auto_pad { OQ_AUTO_PAD_NOTSET, OQ_AUTO_PAD_SAME_UPPER, OQ_AUTO_PAD_SAME_LOWER, OQ_AUTO_PAD_VALID };

struct oq_conv2d_attrs {
    int nsp; /* spatial dims the attributes name: 1 or 2; 0 when none names any (kernel from the weights) */
    int64_t kernel[2], strides[2], dil[2], pads[4], group; /* pads: top, left, bottom, right */
    bool has_kernel;
    enum oq_auto_pad auto_pad;
};

/* op names the operator in messages ("QConv supports 1-D and 2-D convolution ..."). */
oq_status oq_conv2d_attrs_parse(const struct oq_node *n, const char *op, oq_error *err, struct oq_conv2d_attrs *a);
/* Output extent of spatial dim d (0: H, 1: W) for an input extent `in`, and the leading pad used. */
oq_status oq_conv2d_out_dim(const struct oq_op_ctx *ctx, const struct oq_conv2d_attrs *a, int d, int64_t in,
                            int64_t *out, int64_t *pb_out);

#endif
