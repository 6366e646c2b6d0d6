/* Run one node outside a session (single thread, reference kernels): used to fold constants at load
 * time and shape-only subgraphs at plan time. */
#ifndef ONNXQ_EXEC_FOLD_H
#define ONNXQ_EXEC_FOLD_H

#include "ops/op.h"

/* Infer, allocate outputs (oq_tensor_new, caller frees), prepare, run, destroy. in[i] may be NULL for
 * absent inputs; out[] receives n->n_out tensors (NULL for absent outputs). */
oq_status oq_node_eval(const struct oq_node *n, struct oq_tensor *const *in, struct oq_tensor **out,
                       const struct oq_kernels *kernels, oq_error *err);

#endif
