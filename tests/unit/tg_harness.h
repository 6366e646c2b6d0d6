/* One-node graph harness for op tests: build a graph with graph.h, run it through the public session API,
 * copy the outputs out. Shared by the shape and pooling op tests. */
#ifndef ONNXQ_TEST_TG_HARNESS_H
#define ONNXQ_TEST_TG_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "exec/fold.h"
#include "exec/model.h"
#include "graph/graph.h"
#include "onnxq/onnxq.h"
#include "test_util.h"

struct tg {
    struct oq_graph *g;
    int node;
};

static struct tg tg_new(int opset) {
    struct tg t = {oq_graph_new(), -1};
    t.g->opsets = calloc(1, sizeof(struct oq_opset));
    t.g->opsets[0].domain = strdup("");
    t.g->opsets[0].version = opset;
    t.g->n_opsets = 1;
    /* non-NULL even when the graph ends up with no inputs (Range from constants) */
    t.g->inputs = malloc(sizeof(int));
    t.g->outputs = malloc(sizeof(int));
    return t;
}

static int *tg_push(int *arr, int *n, int v) {
    arr = realloc(arr, sizeof(int) * (size_t)(*n + 1));
    arr[(*n)++] = v;
    return arr;
}

/* A graph input of unknown shape (the session takes the shape of what is bound). */
static int tg_input(struct tg *t, const char *name) {
    int v = oq_graph_add_value(t->g, name);
    t->g->values[v].is_input = true;
    t->g->inputs = tg_push(t->g->inputs, &t->g->n_inputs, v);
    return v;
}

static int tg_output(struct tg *t, const char *name) {
    int v = oq_graph_add_value(t->g, name);
    t->g->values[v].is_output = true;
    t->g->outputs = tg_push(t->g->outputs, &t->g->n_outputs, v);
    return v;
}

/* An initializer with a copy of data. */
static int tg_const(struct tg *t, const char *name, enum oq_dtype dt, int ndim, const int64_t *dims,
                    const void *data) {
    int v = oq_graph_add_value(t->g, name);
    struct oq_tensor *x = oq_tensor_new(dt, ndim, dims, name);
    memcpy(x->data, data, oq_tensor_bytes(x));
    t->g->values[v].init = x;
    t->g->values[v].dtype = dt;
    t->g->values[v].ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->g->values[v].dims[i] = dims[i];
    return v;
}

static int tg_const_i64(struct tg *t, const char *name, int n, const int64_t *vals) {
    int64_t d = n;
    return tg_const(t, name, OQ_DTYPE_INT64, 1, &d, vals);
}

static int tg_const_f32(struct tg *t, const char *name, int n, const float *vals) {
    int64_t d = n;
    return tg_const(t, name, OQ_DTYPE_FLOAT, 1, &d, vals);
}

static struct oq_node *tg_node(struct tg *t, const char *op, int n_in, const int *in, int n_out, const int *out) {
    t->node = oq_graph_add_node(t->g, "n0", op, "", n_in, in, n_out, out);
    return &t->g->nodes[t->node];
}

static struct oq_node *tg_n(struct tg *t) { return &t->g->nodes[t->node]; }

static inline void tg_attr_int(struct tg *t, const char *name, int64_t v) {
    oq_node_add_attr(tg_n(t), name, OQ_ATTR_INT)->i = v;
}
static inline void tg_attr_float(struct tg *t, const char *name, float v) {
    oq_node_add_attr(tg_n(t), name, OQ_ATTR_FLOAT)->f = v;
}
static inline void tg_attr_str(struct tg *t, const char *name, const char *s) {
    struct oq_attr *a = oq_node_add_attr(tg_n(t), name, OQ_ATTR_STRING);
    a->s = strdup(s);
    a->s_len = strlen(s);
}
static inline void tg_attr_ints(struct tg *t, const char *name, int n, const int64_t *v) {
    struct oq_attr *a = oq_node_add_attr(tg_n(t), name, OQ_ATTR_INTS);
    a->n = n;
    a->ints = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}
static inline void tg_attr_floats(struct tg *t, const char *name, int n, const float *v) {
    struct oq_attr *a = oq_node_add_attr(tg_n(t), name, OQ_ATTR_FLOATS);
    a->n = n;
    a->floats = malloc(sizeof(float) * (size_t)(n ? n : 1));
    memcpy(a->floats, v, sizeof(float) * (size_t)n);
}

static oq_tensor_ref tg_ref(enum oq_dtype dt, int ndim, const int64_t *dims, const void *data) {
    oq_tensor_ref r;
    memset(&r, 0, sizeof(r));
    r.dtype = dt;
    r.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        r.dims[i] = dims[i];
    r.data = (void *)data;
    return r;
}

/* Outputs copied out of the session (caller frees data with free()). */
struct tg_out {
    oq_dtype dtype;
    int ndim;
    int64_t dims[OQ_MAX_DIMS];
    void *data;
};

static inline void tg_out_free(struct tg_out *o, int n) {
    for (int i = 0; i < n; i++) {
        free(o[i].data);
        o[i].data = NULL;
    }
}

/* Build the model (takes the graph), run once with `threads` threads, copy the outputs. Returns the first
 * failing status; err has the message. */
static oq_status tg_run(struct tg *t, int n_in, const oq_tensor_ref *in, int n_out, struct tg_out *out,
                        int threads, oq_error *err) {
    memset(err, 0, sizeof(*err));
    for (int i = 0; i < n_out; i++)
        memset(&out[i], 0, sizeof(out[i]));
    oq_model *m = NULL;
    oq_session *s = NULL;
    oq_status st = oq_model_from_graph(t->g, &m, err);
    t->g = NULL;
    if (st)
        return st;
    oq_session_options o = oq_session_options_default();
    o.num_threads = threads;
    o.check_nan = 0; /* tests move raw random bytes through float tensors */
    if ((st = oq_session_create(m, &o, &s, err)))
        goto done;
    if ((st = oq_session_run(s, n_in, in, err)))
        goto done;
    for (int i = 0; i < n_out; i++) {
        oq_tensor_ref r;
        if ((st = oq_session_output(s, i, &r)))
            goto done;
        out[i].dtype = r.dtype;
        out[i].ndim = r.ndim;
        memcpy(out[i].dims, r.dims, sizeof(r.dims));
        size_t bytes = (size_t)oq_shape_numel(r.ndim, r.dims) * oq_dtype_size(r.dtype);
        out[i].data = malloc(bytes ? bytes : 1);
        memcpy(out[i].data, r.data, bytes);
    }
done:
    oq_session_free(s);
    oq_model_free(m);
    return st;
}

static bool tg_shape_is(const struct tg_out *o, int ndim, ...) {
    va_list ap;
    va_start(ap, ndim);
    bool ok = o->ndim == ndim;
    for (int i = 0; i < ndim; i++) {
        int64_t d = va_arg(ap, int64_t);
        ok = ok && o->dims[i] == d;
    }
    va_end(ap);
    return ok;
}
#define SHAPE_IS(o, ...) tg_shape_is((o), __VA_ARGS__)

/* Exact byte comparison with a message at the first difference. */
static void check_bytes(const char *what, const void *got, const void *exp, size_t esz, int64_t n) {
    int64_t bad = -1, nbad = 0;
    for (int64_t i = 0; i < n; i++)
        if (memcmp((const char *)got + i * (int64_t)esz, (const char *)exp + i * (int64_t)esz, esz)) {
            if (bad < 0)
                bad = i;
            nbad++;
        }
    CHECK_MSG(nbad == 0, "%s: first mismatch at %lld (%lld of %lld differ)", what, (long long)bad, (long long)nbad,
              (long long)n);
}

static void check_floats(const char *what, const float *got, const float *exp, int64_t n, float tol) {
    int64_t bad = -1, nbad = 0;
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - exp[i]) <= tol * (1.0f + fabsf(exp[i])))) {
            if (bad < 0)
                bad = i;
            nbad++;
        }
    CHECK_MSG(nbad == 0, "%s: first mismatch at %lld: got %g expected %g (%lld of %lld differ)", what,
              (long long)bad, bad >= 0 ? got[bad] : 0.0, bad >= 0 ? exp[bad] : 0.0, (long long)nbad, (long long)n);
}

#define CHECK_ERR(st, err, code, substr)                                                                \
    CHECK_MSG((st) == (code) && strstr((err).msg, (substr)), "expected %s containing \"%s\", got %s: %s", \
              oq_status_str(code), (substr), oq_status_str(st), (err).msg)

static inline void fill_rand_f32(float *x, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++)
        x[i] = test_rng_uniform(&seed, -10.0f, 10.0f);
}

#endif
