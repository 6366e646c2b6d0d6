/* Build small ONNX graphs in tests: inputs, initializers, nodes, outputs; then save to a file or wrap as a
 * model. Test-only: aborts on allocation failure. */
#ifndef ONNXQ_TEST_GRAPH_BUILDER_H
#define ONNXQ_TEST_GRAPH_BUILDER_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "exec/model.h"
#include "graph/graph.h"
#include "onnx/onnx_io.h"

static inline struct oq_graph *gb_new(int opset) {
    struct oq_graph *g = oq_graph_new();
    g->source = strdup("test-graph");
    g->name = strdup("test");
    g->opsets = calloc(1, sizeof(struct oq_opset));
    g->opsets[0].domain = strdup("");
    g->opsets[0].version = opset;
    g->n_opsets = 1;
    g->inputs = calloc(16, sizeof(int));
    g->outputs = calloc(16, sizeof(int));
    return g;
}

static inline int gb_value(struct oq_graph *g, const char *name) {
    int v = oq_graph_find_value(g, name);
    return v >= 0 ? v : oq_graph_add_value(g, name);
}

/* Graph input with dtype and shape (dims < 0: symbolic). */
static inline int gb_input(struct oq_graph *g, const char *name, enum oq_dtype dt, int ndim, const int64_t *dims) {
    int v = gb_value(g, name);
    g->values[v].dtype = dt;
    g->values[v].ndim = ndim;
    for (int i = 0; i < ndim; i++)
        g->values[v].dims[i] = dims[i];
    g->values[v].is_input = true;
    g->inputs[g->n_inputs++] = v;
    return v;
}

/* Float initializer; data copied (may be NULL for zeros). */
static inline int gb_init_f32(struct oq_graph *g, const char *name, int ndim, const int64_t *dims, const float *data) {
    int v = gb_value(g, name);
    struct oq_tensor *t = oq_tensor_new(OQ_DTYPE_FLOAT, ndim, dims, name);
    if (data)
        memcpy(t->data, data, oq_tensor_bytes(t));
    g->values[v].init = t;
    g->values[v].dtype = OQ_DTYPE_FLOAT;
    return v;
}

static inline int gb_init_i64(struct oq_graph *g, const char *name, int n, const int64_t *vals) {
    int v = gb_value(g, name);
    int64_t d = n;
    struct oq_tensor *t = oq_tensor_new(OQ_DTYPE_INT64, 1, &d, name);
    memcpy(t->data, vals, sizeof(int64_t) * (size_t)n);
    g->values[v].init = t;
    g->values[v].dtype = OQ_DTYPE_INT64;
    return v;
}

/* Node with inputs/outputs by name ("" = absent); returns the node. */
static inline struct oq_node *gb_node(struct oq_graph *g, const char *op, const char *name, int nin,
                                      const char *const *ins, int nout, const char *const *outs) {
    int iv[16], ov[16];
    for (int i = 0; i < nin; i++)
        iv[i] = ins[i][0] ? gb_value(g, ins[i]) : -1;
    for (int i = 0; i < nout; i++)
        ov[i] = gb_value(g, outs[i]);
    int n = oq_graph_add_node(g, name, op, "", nin, iv, nout, ov);
    return &g->nodes[n];
}

static inline void gb_attr_int(struct oq_node *n, const char *name, int64_t v) {
    oq_node_add_attr(n, name, OQ_ATTR_INT)->i = v;
}
static inline void gb_attr_float(struct oq_node *n, const char *name, float v) {
    oq_node_add_attr(n, name, OQ_ATTR_FLOAT)->f = v;
}
static inline void gb_attr_ints(struct oq_node *n, const char *name, int cnt, const int64_t *v) {
    struct oq_attr *a = oq_node_add_attr(n, name, OQ_ATTR_INTS);
    a->n = cnt;
    a->ints = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}
static inline void gb_attr_string(struct oq_node *n, const char *name, const char *s) {
    struct oq_attr *a = oq_node_add_attr(n, name, OQ_ATTR_STRING);
    a->s = strdup(s);
    a->s_len = strlen(s);
}

/* Mark a value as graph output with dtype and shape (ndim < 0: unknown). */
static inline int gb_output(struct oq_graph *g, const char *name, enum oq_dtype dt, int ndim, const int64_t *dims) {
    int v = gb_value(g, name);
    g->values[v].dtype = dt;
    g->values[v].ndim = ndim;
    for (int i = 0; i < ndim; i++)
        g->values[v].dims[i] = dims[i];
    g->values[v].is_output = true;
    g->outputs[g->n_outputs++] = v;
    return v;
}

#endif
