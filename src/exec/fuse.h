/* Execution-only graph rewrites, applied to a session's private copy of the graph (never to the model, which
 * must stay valid ONNX at its own opset):
 *   - HardSwish spelled by exporters as x * Clip(x + 3, 0, 6) / 6 (or x * HardSigmoid(x, 1/6, 0.5))
 *     becomes one HardSwish node;
 *   - Conv -> Add(z) becomes a com.onnxq FusedConv(x, w, b, z) adding z in its epilogue (residuals);
 *   - Conv followed by an activation (Relu, Clip, HardSigmoid, HardSwish, Sigmoid, LeakyRelu, Tanh) whose
 *     input has no other reader becomes one com.onnxq FusedConv node applying it in the epilogue. */
#ifndef ONNXQ_EXEC_FUSE_H
#define ONNXQ_EXEC_FUSE_H

#include "graph/graph.h"

/* Returns the number of rewrites; the graph stays topologically sorted and linked. */
int oq_fuse_graph(struct oq_graph *g, oq_error *err);

#endif
