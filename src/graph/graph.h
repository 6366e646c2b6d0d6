/* The graph IR: values (named tensors), nodes, attributes, initializers.
 *
 * Values are indexed by int id; nodes refer to their inputs and outputs by id (-1 = absent optional input).
 * A value is one of: a graph input, an initializer (const, with data), or the output of exactly one node.
 * Shapes in the IR are as declared or statically inferred: dims < 0 are unknown (symbolic dims keep their
 * name in dim_param); sessions resolve them per run. All strings and arrays are owned by the graph and
 * freed by oq_graph_free(). */
#ifndef ONNXQ_GRAPH_GRAPH_H
#define ONNXQ_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

enum oq_attr_type {
    OQ_ATTR_UNDEFINED = 0,
    OQ_ATTR_FLOAT     = 1,
    OQ_ATTR_INT       = 2,
    OQ_ATTR_STRING    = 3,
    OQ_ATTR_TENSOR    = 4,
    OQ_ATTR_GRAPH     = 5,
    OQ_ATTR_FLOATS    = 6,
    OQ_ATTR_INTS      = 7,
    OQ_ATTR_STRINGS   = 8,
};

struct oq_attr {
    char *name;
    enum oq_attr_type type;
    float f;
    int64_t i;
    char *s;          /* STRING: NUL-terminated copy (ONNX strings are bytes; s_len has the length) */
    size_t s_len;
    int64_t n;        /* count of floats / ints / strings */
    float *floats;
    int64_t *ints;
    char **strings;
    struct oq_tensor *t; /* TENSOR (owned) */
    void *opaque;     /* GRAPH and other kinds: a packed AttributeProto kept for saving (owned) */
    size_t opaque_len;
};

struct oq_node {
    char *name;
    char *op_type;
    char *domain;     /* "" for the default ONNX domain */
    int n_in, n_out, n_attr;
    int *in;          /* value ids, -1 for an absent optional input */
    int *out;
    struct oq_attr *attrs;
    char *doc;        /* doc_string, kept for saving */
    int opset;        /* opset of the node's domain in this model */
    const struct oq_op_def *def; /* resolved implementation, NULL if unsupported */
};

struct oq_value {
    char *name;
    enum oq_dtype dtype;   /* UNDEFINED if unknown */
    int32_t ndim;          /* -1 if the rank is unknown */
    int64_t dims[OQ_MAX_DIMS];
    char *dim_param[OQ_MAX_DIMS]; /* symbolic name of a dim, or NULL */
    int producer;          /* node index, -1 for graph inputs and initializers */
    bool is_input, is_output;
    struct oq_tensor *init; /* initializer data (owned), NULL otherwise */
};

struct oq_opset {
    char *domain;
    int64_t version;
};

struct oq_graph {
    char *name;
    int n_values, cap_values;
    struct oq_value *values;
    int n_nodes, cap_nodes;
    struct oq_node *nodes;
    int n_inputs, n_outputs;
    int *inputs;  /* value ids of graph inputs (not initializers), in declared order */
    int *outputs; /* value ids of graph outputs, in declared order */
    int n_opsets;
    struct oq_opset *opsets;
    const char *source; /* the file it came from, for messages (owned) */
    bool inits_borrowed; /* initializer tensors belong to another graph (a clone's source): not freed */
};

/* ---- construction ---- */
struct oq_graph *oq_graph_new(void);
void oq_graph_free(struct oq_graph *g);
/* Deep copy of structure (nodes, attributes, values). Initializer tensors are shared with `src` (which must
 * then outlive the clone and whose initializers the clone must not replace) unless copy_inits, in which case
 * the clone owns copies. NULL on OOM. */
struct oq_graph *oq_graph_clone(const struct oq_graph *src, bool copy_inits);
/* Find a value by name; -1 if none. Linear in the number of values unless an index was built. */
int oq_graph_find_value(const struct oq_graph *g, const char *name);
/* Add a value (name copied) and return its id, or -1 when out of memory. */
int oq_graph_add_value(struct oq_graph *g, const char *name);
/* Add a node (strings copied; in/out arrays copied); returns its index or -1. */
int oq_graph_add_node(struct oq_graph *g, const char *name, const char *op_type, const char *domain, int n_in,
                      const int *in, int n_out, const int *out);
/* Change a node's domain and op type (copied); false on OOM (the node is then unchanged). */
bool oq_node_set_op(struct oq_node *n, const char *domain, const char *op_type);
/* Append an attribute to node (name copied); returns a pointer to fill in, NULL on OOM. */
struct oq_attr *oq_node_add_attr(struct oq_node *n, const char *name, enum oq_attr_type type);
/* Remove every attribute of n (when an execution pass turns it into another op). */
void oq_node_clear_attrs(struct oq_node *n);
/* Import `domain` at `version` unless it is imported already (the internal com.onnxq ops made by execution
 * passes need it to resolve). False on OOM. */
bool oq_graph_import_domain(struct oq_graph *g, const char *domain, int64_t version);
/* Opset version of a domain ("" or "ai.onnx" = default); 0 if not imported. */
int64_t oq_graph_opset(const struct oq_graph *g, const char *domain);

/* A tensor with its own data buffer (64-byte aligned); name copied. Free with oq_tensor_free. */
struct oq_tensor *oq_tensor_new(enum oq_dtype dt, int ndim, const int64_t *dims, const char *name);
struct oq_tensor *oq_tensor_clone(const struct oq_tensor *t, const char *name);
void oq_tensor_free(struct oq_tensor *t);

/* ---- attributes ---- */
const struct oq_attr *oq_node_attr(const struct oq_node *n, const char *name);
int64_t oq_attr_int(const struct oq_node *n, const char *name, int64_t dflt);
float oq_attr_float(const struct oq_node *n, const char *name, float dflt);
/* String attribute or dflt. */
const char *oq_attr_string(const struct oq_node *n, const char *name, const char *dflt);
/* Ints attribute: returns count (and *v), or -1 if absent. */
int64_t oq_attr_ints(const struct oq_node *n, const char *name, const int64_t **v);
int64_t oq_attr_floats(const struct oq_node *n, const char *name, const float **v);

/* ---- structure ---- */
/* Sort nodes topologically (Kahn, stable: keeps file order where possible). Fails on a cycle or on a
 * node input that nothing produces, naming the node and value. */
oq_status oq_graph_toposort(struct oq_graph *g, oq_error *err);
/* Recompute value->producer and check single assignment. */
oq_status oq_graph_link(struct oq_graph *g, oq_error *err);
/* Remove nodes marked dead (dead[i] true) and values no longer referenced. */
void oq_graph_remove_nodes(struct oq_graph *g, const bool *dead);
/* Replace every use of value `from` as a node input or graph output with `to`. */
void oq_graph_replace_uses(struct oq_graph *g, int from, int to);
/* Number of node inputs that read value v (graph outputs count as one use each). */
int oq_graph_count_uses(const struct oq_graph *g, int v);
/* uses[v] = node inputs that read value v plus graph outputs that are v (oq_graph_count_uses for every value at
 * once); uses has g->n_values entries. */
void oq_graph_count_all_uses(const struct oq_graph *g, int *uses);
/* "<base><suffix>" in buf, with "_N" appended while a node or a value of g has that name. */
void oq_graph_unique_name(const struct oq_graph *g, const char *base, const char *suffix, char *buf, size_t cap);
/* Give node `node` (a Conv-like op reading X, W and maybe an absent bias) a zero float bias initializer of co
 * values as input 2, named "<node name or first output><suffix>" (a number appended when taken). Returns the
 * new value id; -1 when out of memory or when the node reads fewer than 2 inputs. */
int oq_graph_add_zero_bias(struct oq_graph *g, int node, int64_t co, const char *suffix);

#endif
