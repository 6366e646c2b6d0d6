#include "exec/qdq_match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool qm_is_op(const struct oq_node *n, const char *op) {
    return !*n->domain && !strcmp(n->op_type, op);
}

const struct oq_tensor *qm_init(const struct oq_graph *g, int v) {
    return v >= 0 && v < g->n_values ? g->values[v].init : NULL;
}

static bool const_scalar_f32(const struct oq_graph *g, int v) {
    const struct oq_tensor *t = qm_init(g, v);
    return t && t->dtype == OQ_DTYPE_FLOAT && oq_tensor_numel(t) == 1 && t->ndim <= 1;
}

static bool const_scalar_u8(const struct oq_graph *g, int v) {
    const struct oq_tensor *t = qm_init(g, v);
    return t && t->dtype == OQ_DTYPE_UINT8 && oq_tensor_numel(t) == 1 && t->ndim <= 1;
}

/* Absent, or an initializer of dtype dt whose values are all 0. */
static bool zero_or_absent(const struct oq_graph *g, int v, enum oq_dtype dt) {
    if (v < 0)
        return true;
    const struct oq_tensor *t = qm_init(g, v);
    if (!t || t->dtype != dt)
        return false;
    for (int64_t i = 0; i < oq_tensor_numel(t); i++)
        if (oq_tensor_get_f64(t, i) != 0.0)
            return false;
    return true;
}

static bool no_blocks(const struct oq_node *n) { return oq_attr_int(n, "block_size", 0) == 0; }

/* The DequantizeLinear producing v (any number of readers), or NULL. */
const struct oq_node *qm_dq_producer(const struct oq_graph *g, int v) {
    if (v < 0 || g->values[v].producer < 0)
        return NULL;
    const struct oq_node *d = &g->nodes[g->values[v].producer];
    if (!qm_is_op(d, "DequantizeLinear") || d->n_in < 2 || d->n_out != 1 || !no_blocks(d))
        return NULL;
    return d;
}

int qm_in(const struct oq_node *d, int k) { return k < d->n_in ? d->in[k] : -1; }

/* DQ of a uint8 activation with constant per-tensor parameters. */
bool qm_act_dq(const struct oq_graph *g, const struct oq_node *d) {
    return d && !qm_init(g, d->in[0]) && const_scalar_f32(g, d->in[1]) && const_scalar_u8(g, qm_in(d, 2));
}

/* DQ of a constant symmetric int8 weight, scale per tensor or along `axis` (normalized) of n_ch values. */
bool qm_weight_dq(const struct oq_graph *g, const struct oq_node *d, int rank, int axis, int64_t n_ch) {
    if (!d)
        return false;
    const struct oq_tensor *w = qm_init(g, d->in[0]), *s = qm_init(g, d->in[1]);
    if (!w || w->dtype != OQ_DTYPE_INT8 || w->ndim != rank || !s || s->dtype != OQ_DTYPE_FLOAT)
        return false;
    if (!zero_or_absent(g, qm_in(d, 2), OQ_DTYPE_INT8))
        return false;
    int64_t ns = oq_tensor_numel(s);
    if (ns == 1 && s->ndim <= 1)
        return true;
    int64_t ax = oq_attr_int(d, "axis", 1);
    if (ax < 0)
        ax += rank;
    return s->ndim == 1 && ax == axis && ns == n_ch;
}

/* DQ of an int32 bias [M] whose scale is sx * sw[m] (per tensor or per channel). */
bool qm_bias_dq(const struct oq_graph *g, const struct oq_node *d, float sx, const struct oq_tensor *sw,
                    int64_t M) {
    if (!d)
        return false;
    const struct oq_tensor *b = qm_init(g, d->in[0]), *s = qm_init(g, d->in[1]);
    if (!b || b->dtype != OQ_DTYPE_INT32 || b->ndim != 1 || b->dims[0] != M || !s || s->dtype != OQ_DTYPE_FLOAT)
        return false;
    if (!zero_or_absent(g, qm_in(d, 2), OQ_DTYPE_INT32))
        return false;
    int64_t ns = oq_tensor_numel(s), nw = oq_tensor_numel(sw);
    if (ns != 1 && ns != M)
        return false;
    if (ns > 1) {
        int64_t ax = oq_attr_int(d, "axis", 1);
        if (ax != 0 && ax != -1)
            return false;
    }
    const float *sv = s->data, *wv = sw->data;
    for (int64_t m = 0; m < M; m++) {
        double want = (double)sx * wv[nw == 1 ? 0 : m], got = sv[ns == 1 ? 0 : m];
        if (!(fabs(got - want) <= 1e-6 * fabs(want)))
            return false;
    }
    return true;
}

/* The QuantizeLinear that is the only reader of v (v not a graph output), to uint8 with constant
 * per-tensor parameters; NULL otherwise. */
struct oq_node *qm_sole_q_reader(struct oq_graph *g, const int *uses, const int *reader, int v) {
    if (v < 0 || uses[v] != 1 || g->values[v].is_output || reader[v] < 0)
        return NULL;
    struct oq_node *q = &g->nodes[reader[v]];
    if (!qm_is_op(q, "QuantizeLinear") || q->n_in < 2 || q->n_out != 1 || q->in[0] != v || !no_blocks(q))
        return NULL;
    if (!const_scalar_f32(g, q->in[1]))
        return NULL;
    int zp = q->n_in > 2 ? q->in[2] : -1;
    if (zp >= 0)
        return const_scalar_u8(g, zp) ? q : NULL;
    int64_t odt = q->opset >= 21 ? oq_attr_int(q, "output_dtype", 0) : 0;
    return odt == 0 || odt == OQ_DTYPE_UINT8 ? q : NULL;
}

bool qm_set_inputs(struct oq_node *n, int count, const int *in) {
    int *ni = malloc(sizeof(int) * (size_t)count);
    if (!ni)
        return false;
    memcpy(ni, in, sizeof(int) * (size_t)count);
    free(n->in);
    n->in = ni;
    n->n_in = count;
    return true;
}

void qm_count_uses(const struct oq_graph *g, int *uses, int *reader) {
    memset(uses, 0, sizeof(int) * (size_t)g->n_values);
    for (int i = 0; i < g->n_values; i++)
        reader[i] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) {
                uses[g->nodes[i].in[k]]++;
                reader[g->nodes[i].in[k]] = i;
            }
    for (int i = 0; i < g->n_outputs; i++)
        uses[g->outputs[i]]++;
}

int qm_replace(struct oq_graph *g, bool *dead, struct oq_node *n, const char *op, int count, const int *in,
               struct oq_node *q) {
    if (!qm_set_inputs(n, count, in) || !oq_node_set_op(n, "com.onnxq", op))
        return -1;
    if (q) {
        n->out[0] = q->out[0];
        dead[q - g->nodes] = true;
    }
    return 1;
}
