/* oq_model: a loaded graph after passes, with every node's op resolved. Immutable once loaded. */
#ifndef ONNXQ_EXEC_MODEL_H
#define ONNXQ_EXEC_MODEL_H

#include "graph/graph.h"
#include "onnx/onnx_io.h"

struct oq_model {
    struct oq_graph *g;
    struct oq_onnx_keep *keep;
    int n_unsupported;
    char *path;
};

/* Resolve each node's op_def and run its check(). Unsupported ops are collected into one message listing
 * every (domain, op_type, opset) with its node names. */
oq_status oq_model_resolve(struct oq_graph *g, int *n_unsupported, oq_error *err);
/* Fold nodes whose inputs are all initializers into new initializers (runs the ops once). */
oq_status oq_fold_constants(struct oq_graph *g, int *n_folded, oq_error *err);
/* Wrap an existing graph (takes ownership) as a model; used by tools that build graphs in memory. */
oq_status oq_model_from_graph(struct oq_graph *g, struct oq_model **out, oq_error *err);
/* The model's graph (borrowed). */
const struct oq_graph *oq_model_graph(const struct oq_model *m);

#endif
