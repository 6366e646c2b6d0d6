#include "exec/lower_qdq.h"

#include "exec/lower_table.h"
#include "exec/qdq_match.h"

#include <stdlib.h>
#include <string.h>

/* Returns 1 when lowered, 0 when the pattern does not match, -1 on OOM. */
static int lower_conv(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *c = &g->nodes[i];
    if (!qm_is_op(c, "Conv") || c->n_in < 2 || c->n_in > 3 || c->n_out != 1)
        return 0;
    const struct oq_node *dx = qm_dq_producer(g, c->in[0]), *dw = qm_dq_producer(g, c->in[1]);
    if (!qm_act_dq(g, dx) || !dw)
        return 0;
    const struct oq_tensor *w = qm_init(g, dw->in[0]);
    if (!w || (w->ndim != 3 && w->ndim != 4))
        return 0;
    int64_t M = w->dims[0];
    if (!qm_weight_dq(g, dw, w->ndim, 0, M))
        return 0;
    const struct oq_node *db = NULL;
    int bias = c->n_in > 2 ? c->in[2] : -1;
    if (bias >= 0) {
        db = qm_dq_producer(g, bias);
        float sx = *(const float *)qm_init(g, dx->in[1])->data;
        if (!qm_bias_dq(g, db, sx, qm_init(g, dw->in[1]), M))
            return 0;
    }
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, c->out[0]);
    if (!q)
        return 0;
    int in[9] = {dx->in[0], dx->in[1], dx->in[2], dw->in[0], dw->in[1], qm_in(dw, 2),
                 q->in[1], q->n_in > 2 ? q->in[2] : -1, db ? db->in[0] : -1};
    return qm_replace(g, dead, c, "QConv", 9, in, q);
}

/* DQ(x) -> ConvTranspose(DQ(w) [, DQ(b)]) -> Q => QConvTranspose. The weight is [C, M/group, kh, kw], so its
 * per-channel axis is 1; per channel only with group 1, where axis 1 holds all M output channels (with groups
 * it holds M/group, a layout QConvTranspose does not take; the quantizer keeps such weights per tensor). */
static int lower_convtranspose(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *c = &g->nodes[i];
    if (!qm_is_op(c, "ConvTranspose") || c->n_in < 2 || c->n_in > 3 || c->n_out != 1)
        return 0;
    const struct oq_node *dx = qm_dq_producer(g, c->in[0]), *dw = qm_dq_producer(g, c->in[1]);
    if (!qm_act_dq(g, dx) || !dw)
        return 0;
    const struct oq_tensor *w = qm_init(g, dw->in[0]);
    int64_t group = oq_attr_int(c, "group", 1);
    if (!w || (w->ndim != 3 && w->ndim != 4) || group < 1)
        return 0;
    int64_t M = w->dims[1] * group;
    if (!qm_weight_dq(g, dw, w->ndim, 1, group == 1 ? M : 0))
        return 0;
    const struct oq_node *db = NULL;
    int bias = c->n_in > 2 ? c->in[2] : -1;
    if (bias >= 0) {
        db = qm_dq_producer(g, bias);
        float sx = *(const float *)qm_init(g, dx->in[1])->data;
        if (!qm_bias_dq(g, db, sx, qm_init(g, dw->in[1]), M))
            return 0;
    }
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, c->out[0]);
    if (!q)
        return 0;
    int in[9] = {dx->in[0], dx->in[1], dx->in[2], dw->in[0], dw->in[1], qm_in(dw, 2),
                 q->in[1], q->n_in > 2 ? q->in[2] : -1, db ? db->in[0] : -1};
    return qm_replace(g, dead, c, "QConvTranspose", 9, in, q);
}

static int lower_matmul(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *mm = &g->nodes[i];
    if (!qm_is_op(mm, "MatMul") || mm->n_in != 2 || mm->n_out != 1)
        return 0;
    const struct oq_node *da = qm_dq_producer(g, mm->in[0]), *db = qm_dq_producer(g, mm->in[1]);
    if (!qm_act_dq(g, da) || !db)
        return 0;
    const struct oq_tensor *b = qm_init(g, db->in[0]);
    if (!b || b->ndim != 2 || !qm_weight_dq(g, db, 2, 1, b->dims[1]))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, mm->out[0]);
    if (!q)
        return 0;
    int in[8] = {da->in[0], da->in[1], da->in[2], db->in[0], db->in[1], qm_in(db, 2),
                 q->in[1], q->n_in > 2 ? q->in[2] : -1};
    return qm_replace(g, dead, mm, "QMatMul", 8, in, q);
}

/* DQ(a) + DQ(b) -> Q, both uint8 activations => QAdd (ORT's QLinearAdd numerics, ops/qadd.c) */
static int lower_add(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *ad = &g->nodes[i];
    if (!qm_is_op(ad, "Add") || ad->n_in != 2 || ad->n_out != 1)
        return 0;
    const struct oq_node *da = qm_dq_producer(g, ad->in[0]), *db = qm_dq_producer(g, ad->in[1]);
    if (!qm_act_dq(g, da) || !qm_act_dq(g, db))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, ad->out[0]);
    if (!q)
        return 0;
    int in[8] = {da->in[0], da->in[1], da->in[2], db->in[0], db->in[1], db->in[2], q->in[1],
                 q->n_in > 2 ? q->in[2] : -1};
    return qm_replace(g, dead, ad, "QAdd", 8, in, q);
}

/* DQ(x) -> AveragePool (2-D, NOTSET pads, no ceil_mode/dilations) -> Q => QAveragePool (ORT's numerics) */
static int lower_avgpool(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *ap = &g->nodes[i];
    const int64_t *v;
    if (!qm_is_op(ap, "AveragePool") || ap->n_in != 1 || ap->n_out != 1 || oq_attr_ints(ap, "kernel_shape", &v) != 2 ||
        oq_attr_int(ap, "ceil_mode", 0) != 0 || strcmp(oq_attr_string(ap, "auto_pad", "NOTSET"), "NOTSET") ||
        oq_node_attr(ap, "dilations"))
        return 0;
    const struct oq_node *dx = qm_dq_producer(g, ap->in[0]);
    if (!qm_act_dq(g, dx))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, ap->out[0]);
    if (!q)
        return 0;
    int in[5] = {dx->in[0], dx->in[1], dx->in[2], q->in[1], q->n_in > 2 ? q->in[2] : -1};
    return qm_replace(g, dead, ap, "QAveragePool", 5, in, q);
}

/* DQ(x) -> Softmax -> Q => QSoftmax (ORT's QLinearSoftmax table numerics); the Softmax opset is kept as an
 * attribute because it decides the axis semantics. */
static int lower_softmax(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *sm = &g->nodes[i];
    if (!qm_is_op(sm, "Softmax") || sm->n_in != 1 || sm->n_out != 1 || oq_node_attr(sm, "opset"))
        return 0;
    const struct oq_node *dx = qm_dq_producer(g, sm->in[0]);
    if (!qm_act_dq(g, dx))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, sm->out[0]);
    if (!q)
        return 0;
    int in[5] = {dx->in[0], dx->in[1], dx->in[2], q->in[1], q->n_in > 2 ? q->in[2] : -1};
    int opset = sm->opset;
    struct oq_attr *at = oq_node_add_attr(sm, "opset", OQ_ATTR_INT);
    if (!at)
        return -1;
    at->i = opset;
    return qm_replace(g, dead, sm, "QSoftmax", 5, in, q);
}

/* DQ(x) -> GlobalAveragePool -> Q => QGlobalAveragePool (ORT's QLinearGlobalAveragePool numerics) */
static int lower_gap(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *n = &g->nodes[i];
    if (!qm_is_op(n, "GlobalAveragePool") || n->n_in != 1 || n->n_out != 1)
        return 0;
    const struct oq_node *dx = qm_dq_producer(g, n->in[0]);
    if (!qm_act_dq(g, dx))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, n->out[0]);
    if (!q)
        return 0;
    int in[5] = {dx->in[0], dx->in[1], dx->in[2], q->in[1], qm_in(q, 2)};
    return qm_replace(g, dead, n, "QGlobalAveragePool", 5, in, q);
}

/* Ops that only move, select or take the max of values (monotone), so with equal quantization parameters on both
 * sides they can run on the codes: Q(DQ(c)) == c exactly ((c - z) * s / s rounds back to c - z). Input 0 carries
 * the data (every input for Concat); the others are shapes, indices or scales. */
static const char *const passthrough_ops[] = {"Concat",  "DepthToSpace", "Flatten",   "MaxPool",  "Reshape",
                                              "Resize",  "Slice",        "SpaceToDepth", "Squeeze", "Transpose",
                                              "Unsqueeze", "Upsample"};

static bool same_scalar(const struct oq_graph *g, int a, int b) {
    const struct oq_tensor *ta = qm_init(g, a), *tb = qm_init(g, b);
    if (a < 0 || b < 0) /* an absent zero point is 0 */
        return (a < 0 || (ta && oq_tensor_get_f64(ta, 0) == 0)) && (b < 0 || (tb && oq_tensor_get_f64(tb, 0) == 0));
    return ta && tb && oq_tensor_get_f64(ta, 0) == oq_tensor_get_f64(tb, 0);
}

static int lower_passthrough(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *n = &g->nodes[i];
    bool known = false;
    for (size_t k = 0; k < sizeof(passthrough_ops) / sizeof(*passthrough_ops); k++)
        known = known || qm_is_op(n, passthrough_ops[k]);
    if (!known || n->n_in < 1 || n->n_out < 1 || (n->n_out > 1 && n->out[1] >= 0) ||
        ((qm_is_op(n, "Resize") || qm_is_op(n, "Upsample")) && strcmp(oq_attr_string(n, "mode", "nearest"), "nearest")))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, n->out[0]);
    if (!q)
        return 0;
    int n_data = qm_is_op(n, "Concat") ? n->n_in : 1;
    if (n_data > 16)
        return 0;
    struct oq_tensor *tables[16] = {NULL}; /* requantization of inputs whose parameters differ from q's */
    int r = 1;
    for (int k = 0; k < n->n_in && r == 1; k++) {
        const struct oq_node *d = qm_dq_producer(g, n->in[k]);
        if (k >= n_data) {
            r = d ? 0 : 1; /* a quantized shape or index: not a pattern the writer makes */
            continue;
        }
        if (!qm_act_dq(g, d))
            r = 0;
        else if (!same_scalar(g, d->in[1], q->in[1]) || !same_scalar(g, d->in[2], qm_in(q, 2)))
            /* the DQ, when only this op reads it, becomes a requantizing QLut */
            r = uses[d->out[0]] == 1 ? oq_requant_table(g, d, q, &tables[k]) : 0;
    }
    for (int k = 0; k < n_data; k++) {
        if (r == 1 && tables[k]) {
            r = oq_dq_to_lut(g, &g->nodes[g->values[n->in[k]].producer], tables[k]);
        } else {
            if (r == 1)
                n->in[k] = qm_dq_producer(g, n->in[k])->in[0];
            oq_tensor_free(tables[k]);
        }
        tables[k] = NULL;
    }
    if (r != 1)
        return r;
    n->out[0] = q->out[0];
    dead[q - g->nodes] = true;
    return 1;
}

typedef int (*lower_fn)(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i);

/* In order of preference: the integer ops with ORT's numerics first (QAdd before QTable2 for Add). */
static const lower_fn lowerings[] = {lower_conv,    lower_convtranspose, lower_matmul, lower_add,         lower_avgpool,
                                     lower_softmax, lower_gap,    lower_passthrough, oq_lower_table_node};

int oq_lower_qdq_graph(struct oq_graph *g, oq_error *err) {
    if (oq_graph_link(g, err))
        return -1;
    int *uses = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    int *reader = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    int total = 0;
    bool ok = uses && reader && dead;
    if (ok) {
        qm_count_uses(g, uses, reader);
        for (int i = 0; ok && i < g->n_nodes; i++) {
            if (dead[i])
                continue;
            int r = 0;
            for (size_t k = 0; r == 0 && k < sizeof(lowerings) / sizeof(*lowerings); k++)
                r = lowerings[k](g, uses, reader, dead, i);
            ok = r >= 0;
            total += r > 0 ? r : 0;
        }
    }
    if (ok && total > 0) {
        /* DequantizeLinear nodes nothing reads any more (the lowered ops read their inputs) */
        qm_count_uses(g, uses, reader);
        for (int i = 0; i < g->n_nodes; i++) {
            const struct oq_node *n = &g->nodes[i];
            if (!dead[i] && qm_is_op(n, "DequantizeLinear") && n->n_out == 1 && uses[n->out[0]] == 0 &&
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
    if (total > 0 && (oq_graph_link(g, err) || oq_compose_tables(g, err) < 0))
        return -1;
    return total;
}
