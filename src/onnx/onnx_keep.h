/* Internal to src/onnx: what of the original ModelProto is kept for saving. The graph's nodes and
 * initializers are dropped after load (the IR owns them); everything else stays, unknown fields included. */
#ifndef ONNXQ_ONNX_KEEP_H
#define ONNXQ_ONNX_KEEP_H

#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"

struct oq_onnx_keep {
    Onnx__ModelProto *mp; /* graph->node and graph->initializer emptied */
};

/* Take ownership of mp, stripping the parts the IR owns. */
oq_status oq_onnx_keep_new(Onnx__ModelProto *mp, struct oq_onnx_keep **out, oq_error *err);
/* TensorProto -> tensor (shared by the loader and Constant handling). */
oq_status oq_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir, const char *source,
                                    struct oq_tensor **out, oq_error *err);

#endif
