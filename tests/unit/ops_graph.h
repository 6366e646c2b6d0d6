/* Build one-node (or few-node) graphs in memory and run them through the public session API, for the op
 * tests (test_ops_*.c). Usage:
 *
 *   struct oq_graph *g = tg_new(13);
 *   int x = tg_input(g, "x", OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
 *   int w = tg_const(g, "w", OQ_DTYPE_FLOAT, 1, (int64_t[]){3}, wdata);
 *   int y = tg_output(g, "y");
 *   struct oq_node *n = tg_node(g, "Add", 2, (int[]){x, w}, 1, &y);
 *   tg_attr_int(n, "axis", 1);                 // before the next tg_node (nodes may move)
 *   struct tg_run r;
 *   oq_status st = tg_exec(&r, g, 1, (oq_tensor_ref[]){{.dtype = ..., .ndim = 2, .dims = {2, 3}, .data =
 * xd}});
 *   ... r.out[0].data ...
 *   tg_done(&r);
 */
#ifndef ONNXQ_TESTS_OPS_GRAPH_H
#define ONNXQ_TESTS_OPS_GRAPH_H

#include <stdlib.h>
#include <string.h>

#include "exec/model.h"
#include "graph/graph.h"
#include "onnxq/onnxq.h"

static inline struct oq_graph *tg_new(int opset) {
    struct oq_graph *g = oq_graph_new();
    if (!g)
        abort();
    g->source            = strdup("test-graph");
    g->opsets            = calloc(1, sizeof(*g->opsets));
    g->opsets[0].domain  = strdup("");
    g->opsets[0].version = opset;
    g->n_opsets          = 1;
    return g;
}

static inline int tg_value(struct oq_graph *g, const char *name) {
    int id = oq_graph_add_value(g, name);
    if (id < 0)
        abort();
    return id;
}

static inline int
tg_input(struct oq_graph *g, const char *name, enum oq_dtype dt, int ndim, const int64_t *dims) {
    int id             = tg_value(g, name);
    struct oq_value *v = &g->values[id];
    v->is_input        = true;
    v->dtype           = dt;
    v->ndim            = ndim;
    for (int i = 0; i < ndim; i++)
        v->dims[i] = dims[i];
    g->inputs                = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = id;
    return id;
}

static inline int tg_const(
    struct oq_graph *g, const char *name, enum oq_dtype dt, int ndim, const int64_t *dims, const void *data) {
    int id             = tg_value(g, name);
    struct oq_value *v = &g->values[id];
    v->init            = oq_tensor_new(dt, ndim, dims, name);
    if (!v->init)
        abort();
    if (oq_tensor_bytes(v->init))
        memcpy(v->init->data, data, oq_tensor_bytes(v->init));
    v->dtype = dt;
    v->ndim  = ndim;
    for (int i = 0; i < ndim; i++)
        v->dims[i] = dims[i];
    return id;
}

static inline int tg_output(struct oq_graph *g, const char *name) {
    int id                     = tg_value(g, name);
    g->values[id].is_output    = true;
    g->outputs                 = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = id;
    return id;
}

static inline struct oq_node *
tg_node(struct oq_graph *g, const char *op, int n_in, const int *in, int n_out, const int *out) {
    int k = oq_graph_add_node(g, op, op, "", n_in, in, n_out, out);
    if (k < 0)
        abort();
    return &g->nodes[k];
}

static inline void tg_attr_int(struct oq_node *n, const char *name, int64_t v) {
    oq_node_add_attr(n, name, OQ_ATTR_INT)->i = v;
}

static inline void tg_attr_float(struct oq_node *n, const char *name, float v) {
    oq_node_add_attr(n, name, OQ_ATTR_FLOAT)->f = v;
}

static inline void tg_attr_ints(struct oq_node *n, const char *name, int count, const int64_t *v) {
    struct oq_attr *a = oq_node_add_attr(n, name, OQ_ATTR_INTS);
    a->n              = count;
    a->ints           = malloc(sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
}

struct tg_run {
    oq_model *m;
    oq_session *s;
    oq_error err;
    int n_out;
    oq_tensor_ref out[8];
};

/* Wrap g (ownership passes to the model), create a session with `threads` threads, run, fetch outputs.
 * On failure the message is in r->err. Always call tg_done. */
static inline oq_status
tg_exec_t(struct tg_run *r, struct oq_graph *g, int threads, int n_in, const oq_tensor_ref *in) {
    memset(r, 0, sizeof(*r));
    oq_status st = oq_model_from_graph(g, &r->m, &r->err);
    if (st)
        return st;
    oq_session_options o = oq_session_options_default();
    o.num_threads        = threads;
    o.check_nan          = 0;
    if ((st = oq_session_create(r->m, &o, &r->s, &r->err)))
        return st;
    if ((st = oq_session_run(r->s, n_in, in, &r->err)))
        return st;
    r->n_out = oq_session_num_outputs(r->s);
    for (int i = 0; i < r->n_out && i < 8; i++)
        oq_session_output(r->s, i, &r->out[i]);
    return OQ_OK;
}

static inline oq_status tg_exec(struct tg_run *r, struct oq_graph *g, int n_in, const oq_tensor_ref *in) {
    return tg_exec_t(r, g, 2, n_in, in);
}

static inline void tg_done(struct tg_run *r) {
    oq_session_free(r->s);
    oq_model_free(r->m);
    memset(r, 0, sizeof(*r));
}

static inline oq_tensor_ref tg_ref(enum oq_dtype dt, int ndim, const int64_t *dims, void *data) {
    oq_tensor_ref t;
    memset(&t, 0, sizeof(t));
    t.dtype = dt;
    t.ndim  = ndim;
    for (int i = 0; i < ndim; i++)
        t.dims[i] = dims[i];
    t.data = data;
    return t;
}

#endif
