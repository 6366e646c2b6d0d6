#include "exec/lower_qdq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_op(const struct oq_node *n, const char *op) { return !*n->domain && !strcmp(n->op_type, op); }

static const struct oq_tensor *init_of(const struct oq_graph *g, int v) {
    return v >= 0 && v < g->n_values ? g->values[v].init : NULL;
}

static bool const_scalar_f32(const struct oq_graph *g, int v) {
    const struct oq_tensor *t = init_of(g, v);
    return t && t->dtype == OQ_DTYPE_FLOAT && oq_tensor_numel(t) == 1 && t->ndim <= 1;
}

static bool const_scalar_u8(const struct oq_graph *g, int v) {
    const struct oq_tensor *t = init_of(g, v);
    return t && t->dtype == OQ_DTYPE_UINT8 && oq_tensor_numel(t) == 1 && t->ndim <= 1;
}

/* Absent, or an initializer of dtype dt whose values are all 0. */
static bool zero_or_absent(const struct oq_graph *g, int v, enum oq_dtype dt) {
    if (v < 0)
        return true;
    const struct oq_tensor *t = init_of(g, v);
    if (!t || t->dtype != dt)
        return false;
    for (int64_t i = 0; i < oq_tensor_numel(t); i++)
        if (oq_tensor_get_f64(t, i) != 0.0)
            return false;
    return true;
}

static bool no_blocks(const struct oq_node *n) { return oq_attr_int(n, "block_size", 0) == 0; }

/* The DequantizeLinear producing v (any number of readers), or NULL. */
static const struct oq_node *dq_producer(const struct oq_graph *g, int v) {
    if (v < 0 || g->values[v].producer < 0)
        return NULL;
    const struct oq_node *d = &g->nodes[g->values[v].producer];
    if (!is_op(d, "DequantizeLinear") || d->n_in < 2 || d->n_out != 1 || !no_blocks(d))
        return NULL;
    return d;
}

static int dq_in(const struct oq_node *d, int k) { return k < d->n_in ? d->in[k] : -1; }

/* DQ of a uint8 activation with constant per-tensor parameters. */
static bool act_dq(const struct oq_graph *g, const struct oq_node *d) {
    return d && !init_of(g, d->in[0]) && const_scalar_f32(g, d->in[1]) && const_scalar_u8(g, dq_in(d, 2));
}

/* DQ of a constant symmetric int8 weight, scale per tensor or along `axis` (normalized) of n_ch values. */
static bool weight_dq(const struct oq_graph *g, const struct oq_node *d, int rank, int axis, int64_t n_ch) {
    if (!d)
        return false;
    const struct oq_tensor *w = init_of(g, d->in[0]), *s = init_of(g, d->in[1]);
    if (!w || w->dtype != OQ_DTYPE_INT8 || w->ndim != rank || !s || s->dtype != OQ_DTYPE_FLOAT)
        return false;
    if (!zero_or_absent(g, dq_in(d, 2), OQ_DTYPE_INT8))
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
static bool bias_dq(const struct oq_graph *g, const struct oq_node *d, float sx, const struct oq_tensor *sw,
                    int64_t M) {
    if (!d)
        return false;
    const struct oq_tensor *b = init_of(g, d->in[0]), *s = init_of(g, d->in[1]);
    if (!b || b->dtype != OQ_DTYPE_INT32 || b->ndim != 1 || b->dims[0] != M || !s || s->dtype != OQ_DTYPE_FLOAT)
        return false;
    if (!zero_or_absent(g, dq_in(d, 2), OQ_DTYPE_INT32))
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
static struct oq_node *sole_q_reader(struct oq_graph *g, const int *uses, const int *reader, int v) {
    if (v < 0 || uses[v] != 1 || g->values[v].is_output || reader[v] < 0)
        return NULL;
    struct oq_node *q = &g->nodes[reader[v]];
    if (!is_op(q, "QuantizeLinear") || q->n_in < 2 || q->n_out != 1 || q->in[0] != v || !no_blocks(q))
        return NULL;
    if (!const_scalar_f32(g, q->in[1]))
        return NULL;
    int zp = q->n_in > 2 ? q->in[2] : -1;
    if (zp >= 0)
        return const_scalar_u8(g, zp) ? q : NULL;
    int64_t odt = q->opset >= 21 ? oq_attr_int(q, "output_dtype", 0) : 0;
    return odt == 0 || odt == OQ_DTYPE_UINT8 ? q : NULL;
}

static bool set_inputs(struct oq_node *n, int count, const int *in) {
    int *ni = malloc(sizeof(int) * (size_t)count);
    if (!ni)
        return false;
    memcpy(ni, in, sizeof(int) * (size_t)count);
    free(n->in);
    n->in = ni;
    n->n_in = count;
    return true;
}

static void count_uses(const struct oq_graph *g, int *uses, int *reader) {
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

/* Returns 1 when lowered, 0 when the pattern does not match, -1 on OOM. */
static int lower_conv(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *c = &g->nodes[i];
    if (!is_op(c, "Conv") || c->n_in < 2 || c->n_in > 3 || c->n_out != 1)
        return 0;
    const struct oq_node *dx = dq_producer(g, c->in[0]), *dw = dq_producer(g, c->in[1]);
    if (!act_dq(g, dx) || !dw)
        return 0;
    const struct oq_tensor *w = init_of(g, dw->in[0]);
    if (!w || (w->ndim != 3 && w->ndim != 4))
        return 0;
    int64_t M = w->dims[0];
    if (!weight_dq(g, dw, w->ndim, 0, M))
        return 0;
    const struct oq_node *db = NULL;
    int bias = c->n_in > 2 ? c->in[2] : -1;
    if (bias >= 0) {
        db = dq_producer(g, bias);
        float sx = *(const float *)init_of(g, dx->in[1])->data;
        if (!bias_dq(g, db, sx, init_of(g, dw->in[1]), M))
            return 0;
    }
    struct oq_node *q = sole_q_reader(g, uses, reader, c->out[0]);
    if (!q)
        return 0;
    int in[9] = {dx->in[0], dx->in[1], dx->in[2], dw->in[0], dw->in[1], dq_in(dw, 2),
                 q->in[1], q->n_in > 2 ? q->in[2] : -1, db ? db->in[0] : -1};
    if (!set_inputs(c, 9, in) || !oq_node_set_op(c, "com.onnxq", "QConv"))
        return -1;
    c->out[0] = q->out[0];
    dead[q - g->nodes] = true;
    return 1;
}

static int lower_matmul(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *mm = &g->nodes[i];
    if (!is_op(mm, "MatMul") || mm->n_in != 2 || mm->n_out != 1)
        return 0;
    const struct oq_node *da = dq_producer(g, mm->in[0]), *db = dq_producer(g, mm->in[1]);
    if (!act_dq(g, da) || !db)
        return 0;
    const struct oq_tensor *b = init_of(g, db->in[0]);
    if (!b || b->ndim != 2 || !weight_dq(g, db, 2, 1, b->dims[1]))
        return 0;
    struct oq_node *q = sole_q_reader(g, uses, reader, mm->out[0]);
    if (!q)
        return 0;
    int in[8] = {da->in[0], da->in[1], da->in[2], db->in[0], db->in[1], dq_in(db, 2),
                 q->in[1], q->n_in > 2 ? q->in[2] : -1};
    if (!set_inputs(mm, 8, in) || !oq_node_set_op(mm, "com.onnxq", "QMatMul"))
        return -1;
    mm->out[0] = q->out[0];
    dead[q - g->nodes] = true;
    return 1;
}

/* DQ(a) + DQ(b) -> Q, both uint8 activations => QAdd (ORT's QLinearAdd numerics, ops/qadd.c) */
static int lower_add(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *ad = &g->nodes[i];
    if (!is_op(ad, "Add") || ad->n_in != 2 || ad->n_out != 1)
        return 0;
    const struct oq_node *da = dq_producer(g, ad->in[0]), *db = dq_producer(g, ad->in[1]);
    if (!act_dq(g, da) || !act_dq(g, db))
        return 0;
    struct oq_node *q = sole_q_reader(g, uses, reader, ad->out[0]);
    if (!q)
        return 0;
    int in[8] = {da->in[0], da->in[1], da->in[2], db->in[0], db->in[1], db->in[2], q->in[1],
                 q->n_in > 2 ? q->in[2] : -1};
    if (!set_inputs(ad, 8, in) || !oq_node_set_op(ad, "com.onnxq", "QAdd"))
        return -1;
    ad->out[0] = q->out[0];
    dead[q - g->nodes] = true;
    return 1;
}

/* DQ(x) -> AveragePool (2-D, NOTSET pads, no ceil_mode/dilations) -> Q => QAveragePool (ORT's numerics) */
static int lower_avgpool(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *ap = &g->nodes[i];
    const int64_t *v;
    if (!is_op(ap, "AveragePool") || ap->n_in != 1 || ap->n_out != 1 || oq_attr_ints(ap, "kernel_shape", &v) != 2 ||
        oq_attr_int(ap, "ceil_mode", 0) != 0 || strcmp(oq_attr_string(ap, "auto_pad", "NOTSET"), "NOTSET") ||
        oq_node_attr(ap, "dilations"))
        return 0;
    const struct oq_node *dx = dq_producer(g, ap->in[0]);
    if (!act_dq(g, dx))
        return 0;
    struct oq_node *q = sole_q_reader(g, uses, reader, ap->out[0]);
    if (!q)
        return 0;
    int in[5] = {dx->in[0], dx->in[1], dx->in[2], q->in[1], q->n_in > 2 ? q->in[2] : -1};
    if (!set_inputs(ap, 5, in) || !oq_node_set_op(ap, "com.onnxq", "QAveragePool"))
        return -1;
    ap->out[0] = q->out[0];
    dead[q - g->nodes] = true;
    return 1;
}

/* DQ(x) -> Softmax -> Q => QSoftmax (ORT's QLinearSoftmax table numerics); the Softmax opset is kept as an
 * attribute because it decides the axis semantics. */
static int lower_softmax(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *sm = &g->nodes[i];
    if (!is_op(sm, "Softmax") || sm->n_in != 1 || sm->n_out != 1 || oq_node_attr(sm, "opset"))
        return 0;
    const struct oq_node *dx = dq_producer(g, sm->in[0]);
    if (!act_dq(g, dx))
        return 0;
    struct oq_node *q = sole_q_reader(g, uses, reader, sm->out[0]);
    if (!q)
        return 0;
    int in[5] = {dx->in[0], dx->in[1], dx->in[2], q->in[1], q->n_in > 2 ? q->in[2] : -1};
    int opset = sm->opset;
    struct oq_attr *at = oq_node_add_attr(sm, "opset", OQ_ATTR_INT);
    if (!at)
        return -1;
    at->i = opset;
    if (!set_inputs(sm, 5, in) || !oq_node_set_op(sm, "com.onnxq", "QSoftmax"))
        return -1;
    sm->out[0] = q->out[0];
    dead[q - g->nodes] = true;
    return 1;
}

int oq_lower_qdq_graph(struct oq_graph *g, oq_error *err) {
    if (oq_graph_link(g, err))
        return -1;
    int *uses = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    int *reader = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    int total = 0;
    bool ok = uses && reader && dead;
    if (ok) {
        count_uses(g, uses, reader);
        for (int i = 0; ok && i < g->n_nodes; i++) {
            if (dead[i])
                continue;
            int r = lower_conv(g, uses, reader, dead, i);
            if (r == 0)
                r = lower_matmul(g, uses, reader, dead, i);
            if (r == 0)
                r = lower_add(g, uses, reader, dead, i);
            if (r == 0)
                r = lower_avgpool(g, uses, reader, dead, i);
            if (r == 0)
                r = lower_softmax(g, uses, reader, dead, i);
            ok = r >= 0;
            total += r > 0 ? r : 0;
        }
    }
    if (ok && total > 0) {
        /* DequantizeLinear nodes nothing reads any more (the lowered ops read their inputs) */
        count_uses(g, uses, reader);
        for (int i = 0; i < g->n_nodes; i++) {
            const struct oq_node *n = &g->nodes[i];
            if (!dead[i] && is_op(n, "DequantizeLinear") && n->n_out == 1 && uses[n->out[0]] == 0 &&
                !g->values[n->out[0]].is_output)
                dead[i] = true;
        }
        oq_graph_remove_nodes(g, dead);
        ok = oq_graph_import_domain(g, "com.onnxq", 1);
    }
    free(uses);
    free(reader);
    free(dead);
    if (!ok) {
        oq_errorf(err, OQ_ERR_NOMEM, "out of memory lowering the QDQ graph");
        return -1;
    }
    if (total > 0 && oq_graph_link(g, err))
        return -1;
    return total;
}
