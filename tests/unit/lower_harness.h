/* Shared by the INT8 lowering tests (test_lower_qdq.c, test_lower_table.c): typed initializers for graphs built
 * with graph_builder.h, and one session run that reports what the session's graph became. */
#ifndef ONNXQ_TEST_LOWER_HARNESS_H
#define ONNXQ_TEST_LOWER_HARNESS_H

#include <string.h>

#include "graph_builder.h"
#include "test_util.h"

static inline int lh_init(struct oq_graph *g, const char *name, enum oq_dtype dt, int ndim, const int64_t *dims,
                          const void *data) {
    int v = gb_value(g, name);
    struct oq_tensor *t = oq_tensor_new(dt, ndim, dims, name);
    memcpy(t->data, data, oq_tensor_bytes(t));
    g->values[v].init = t;
    g->values[v].dtype = dt;
    return v;
}

struct lh_result {
    int n_nodes;   /* nodes of the session's graph (after fusion and lowering) */
    char ops[512]; /* their op types, space separated */
    int ndim;      /* output 0's shape */
    int64_t dims[OQ_MAX_DIMS];
};

/* Run m with in[0..n_in) (n_in <= 4); copy output 0 (must be uint8, ny bytes) into y. Returns the node count,
 * -1 when the session could not be made. */
static inline int lh_run(oq_model *m, int lowering, oq_kernel_level kl, int threads, int n_in,
                         const oq_tensor_ref *in, uint8_t *y, int64_t ny, struct lh_result *r) {
    oq_error err = {0};
    oq_session_options so = oq_session_options_default();
    so.no_int8_lowering = !lowering;
    so.kernels = kl;
    so.num_threads = threads;
    so.profile = 1;
    oq_session *s = NULL;
    memset(r, 0, sizeof(*r));
    CHECK_OK(oq_session_create(m, &so, &s, &err), &err);
    if (!s)
        return -1;
    CHECK_OK(oq_session_run(s, n_in, in, &err), &err);
    oq_tensor_ref o;
    CHECK_OK(oq_session_output(s, 0, &o), NULL);
    CHECK(o.dtype == OQ_DTYPE_UINT8);
    int64_t n = 1;
    for (int d = 0; d < o.ndim; d++)
        n *= o.dims[d];
    CHECK_MSG(n == ny, "output has %lld elements, expected %lld", (long long)n, (long long)ny);
    if (o.dtype == OQ_DTYPE_UINT8 && o.data && n == ny)
        memcpy(y, o.data, (size_t)ny);
    r->ndim = o.ndim;
    memcpy(r->dims, o.dims, sizeof(int64_t) * (size_t)o.ndim);
    r->n_nodes = oq_session_num_nodes(s);
    for (int i = 0; i < r->n_nodes; i++) {
        const char *nm, *op;
        int64_t runs, t;
        if (oq_session_node_profile(s, i, &nm, &op, &runs, &t) == OQ_OK) {
            strncat(r->ops, op, sizeof(r->ops) - strlen(r->ops) - 2);
            strncat(r->ops, " ", sizeof(r->ops) - strlen(r->ops) - 1);
        }
    }
    oq_session_free(s);
    return r->n_nodes;
}

#endif
