/* Parameter checks shared by QuantizeLinear and DequantizeLinear (same rules for both ops). */
#ifndef ONNXQ_OPS_QDQ_PARAMS_H
#define ONNXQ_OPS_QDQ_PARAMS_H

#include "ops/op.h"

/* Blocked quantization (`block_size` != 0, opset 21+) is OQ_ERR_UNSUPPORTED, naming the node. */
oq_status oq_qdq_check_block_size(const struct oq_node *n, oq_error *err);

/* Granularity of (scale, zero point) against x: one scale element = per tensor (*axis_out = -1); a 1-D scale
 * of x.dims[axis] elements = per axis (opset 13+, `axis` default 1). The zero point, when given, has the
 * scale's shape. `what` ("quantization" / "dequantization") words the opset message. */
oq_status oq_qdq_granularity(struct oq_op_ctx *ctx, const struct oq_tensor *x, const struct oq_tensor *s,
                             const struct oq_tensor *zp, const char *what, int *axis_out);

#endif
