#include "exec/lower_table.h"

#include <stdlib.h>
#include <string.h>

#include "exec/fold.h"
#include "exec/qdq_match.h"
#include "kernels/dispatch.h"
#include "ops/op.h"

/* Ops whose output element depends only on the input elements at the same position (numpy broadcasting), so
 * that a QDQ-wrapped instance with scalar constant operands is a function of the input codes alone. */
static const char *const elementwise_ops[] = {
    "Abs",  "Add",     "Ceil",     "Clip",       "Div",  "Elu",  "Erf",     "Exp",      "Floor", "HardSigmoid",
    "HardSwish", "Identity", "LeakyRelu", "Log", "Max", "Min", "Mul", "Neg", "Pow", "Reciprocal", "Relu", "Round",
    "Selu", "Sigmoid", "Softplus", "Softsign", "Sqrt", "Sub", "Tanh"};
/* ... and those of them that may take two varying inputs (a 256 x 256 table) */
static const char *const binary_ops[] = {"Add", "Div", "Max", "Min", "Mul", "Sub"};

static bool in_list(const char *op, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(op, list[i]))
            return true;
    return false;
}

enum { MAX_IN = 8, ROLE_ABSENT = -1, ROLE_CONST = 2 };

struct tl_match {
    const struct oq_node *src[2]; /* the DequantizeLinear of each varying (uint8 activation) input */
    int n_src;
    int role[MAX_IN]; /* per input of the op: source index 0/1, ROLE_CONST or ROLE_ABSENT */
    int rank;         /* highest rank among the constants (they may raise the output's rank) */
};

/* Classify the op's inputs: uint8 activations through a DequantizeLinear (at most 2 distinct), or scalar
 * constants (an initializer, or a DequantizeLinear of one). False when anything else feeds the op. */
static bool classify(const struct oq_graph *g, const struct oq_node *n, struct tl_match *m) {
    memset(m, 0, sizeof(*m));
    if (n->n_in > MAX_IN)
        return false;
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        if (v < 0) {
            m->role[k] = ROLE_ABSENT;
            continue;
        }
        const struct oq_tensor *t = qm_init(g, v);
        const struct oq_node *d = t ? NULL : qm_dq_producer(g, v);
        if (d && qm_init(g, d->in[0]) && qm_init(g, d->in[1]) && (qm_in(d, 2) < 0 || qm_init(g, d->in[2])))
            t = qm_init(g, d->in[0]); /* a quantized constant: its shape is the DQ output's */
        if (t) {
            if (oq_tensor_numel(t) != 1)
                return false;
            m->role[k] = ROLE_CONST;
            m->rank = t->ndim > m->rank ? t->ndim : m->rank;
            continue;
        }
        if (!qm_act_dq(g, d))
            return false;
        int j = 0;
        while (j < m->n_src && m->src[j] != d)
            j++;
        if (j == 2)
            return false;
        m->src[j] = d;
        m->n_src = j + 1 > m->n_src ? j + 1 : m->n_src;
        m->role[k] = j;
    }
    return m->n_src > 0;
}

/* Run the QDQ float simulation of DQ(s) -> n -> q on every code (pair) and store the codes it gives in table
 * (256 or 65536 entries). n NULL: DQ -> q (a requantization). */
static oq_status eval_table(const struct oq_graph *g, const struct oq_node *n, const struct oq_node *q,
                            const struct tl_match *m, uint8_t *table, oq_error *err) {
    struct oq_kernels kern;
    oq_kernels_init(&kern, OQ_KERNELS_REF);
    struct oq_tensor *codes[2] = {NULL, NULL}, *deq[2] = {NULL, NULL}, *consts[MAX_IN] = {NULL};
    struct oq_tensor *in[MAX_IN], *yf = NULL, *yq = NULL;
    int64_t want = m->n_src == 1 ? 256 : 65536;
    oq_status st = OQ_OK;
    for (int j = 0; j < m->n_src && !st; j++) {
        int64_t dims[2] = {m->n_src == 1 ? 256 : j == 0 ? 256 : 1, j == 0 ? 1 : 256};
        codes[j] = oq_tensor_new(OQ_DTYPE_UINT8, m->n_src == 1 ? 1 : 2, dims, NULL);
        if (!codes[j]) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            break;
        }
        for (int c = 0; c < 256; c++)
            ((uint8_t *)codes[j]->data)[c] = (uint8_t)c;
        const struct oq_node *d = m->src[j];
        struct oq_tensor *din[3] = {codes[j], g->values[d->in[1]].init, g->values[d->in[2]].init};
        st = oq_node_eval(d, din, &deq[j], &kern, err);
    }
    for (int k = 0; n && k < n->n_in && !st; k++) {
        in[k] = NULL;
        if (m->role[k] == ROLE_ABSENT)
            continue;
        if (m->role[k] != ROLE_CONST) {
            in[k] = deq[m->role[k]];
            continue;
        }
        int v = n->in[k];
        if (g->values[v].init) {
            in[k] = g->values[v].init;
            continue;
        }
        const struct oq_node *d = &g->nodes[g->values[v].producer];
        struct oq_tensor *din[3] = {g->values[d->in[0]].init, g->values[d->in[1]].init,
                                    qm_in(d, 2) >= 0 ? g->values[d->in[2]].init : NULL};
        st = oq_node_eval(d, din, &consts[k], &kern, err);
        in[k] = consts[k];
    }
    if (!st && n)
        st = oq_node_eval(n, in, &yf, &kern, err);
    if (!st) {
        struct oq_tensor *qin[3] = {n ? yf : deq[0], g->values[q->in[1]].init, qm_in(q, 2) >= 0 ? g->values[q->in[2]].init : NULL};
        st = oq_node_eval(q, qin, &yq, &kern, err);
    }
    if (!st && (yq->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(yq) != want))
        st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "table evaluation gave %lld values of %s",
                       (long long)oq_tensor_numel(yq), oq_dtype_name(yq->dtype));
    if (!st)
        memcpy(table, yq->data, (size_t)want);
    for (int j = 0; j < 2; j++) {
        oq_tensor_free(codes[j]);
        oq_tensor_free(deq[j]);
    }
    for (int k = 0; k < MAX_IN; k++)
        oq_tensor_free(consts[k]);
    oq_tensor_free(yf);
    oq_tensor_free(yq);
    return st;
}

/* Replace n's attributes by "table" (owning t, which may be n's current table) and rank = max(n's rank, rank).
 * On failure t is not attached (the caller frees it). */
static bool set_table(struct oq_node *n, struct oq_tensor *t, int64_t rank) {
    int64_t r = oq_attr_int(n, "rank", 0);
    rank = rank > r ? rank : r;
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].t == t)
            n->attrs[a].t = NULL; /* keep it through the reset */
    oq_node_clear_attrs(n);
    struct oq_attr *a = oq_node_add_attr(n, "table", OQ_ATTR_TENSOR);
    if (!a)
        return false;
    a->t = t;
    if (rank > 0) {
        struct oq_attr *ar = oq_node_add_attr(n, "rank", OQ_ATTR_INT);
        if (!ar)
            return false;
        ar->i = rank;
    }
    return true;
}

static struct oq_tensor *new_table(int64_t size) {
    int64_t dims[1] = {size};
    return oq_tensor_new(OQ_DTYPE_UINT8, 1, dims, NULL);
}

int oq_lower_table_node(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i) {
    struct oq_node *n = &g->nodes[i];
    if (*n->domain || !n->def || n->n_out != 1 ||
        !in_list(n->op_type, elementwise_ops, sizeof(elementwise_ops) / sizeof(*elementwise_ops)))
        return 0;
    struct tl_match m;
    if (!classify(g, n, &m))
        return 0;
    if (m.n_src == 2 && !in_list(n->op_type, binary_ops, sizeof(binary_ops) / sizeof(*binary_ops)))
        return 0;
    struct oq_node *q = qm_sole_q_reader(g, uses, reader, n->out[0]);
    if (!q)
        return 0;
    struct oq_tensor *t = new_table(m.n_src == 1 ? 256 : 65536);
    if (!t)
        return -1;
    oq_error scratch = {0};
    if (eval_table(g, n, q, &m, t->data, &scratch)) {
        oq_tensor_free(t);
        return scratch.code == OQ_ERR_NOMEM ? -1 : 0; /* an op the simulation cannot run stays float */
    }
    int rank = m.rank;
    if (!set_table(n, t, rank)) {
        oq_tensor_free(t);
        return -1;
    }
    int in[2] = {m.src[0]->in[0], m.n_src == 2 ? m.src[1]->in[0] : -1};
    return qm_replace(g, dead, n, m.n_src == 1 ? "QLut" : "QTable2", m.n_src, in, q);
}

int oq_requant_table(const struct oq_graph *g, const struct oq_node *dq, const struct oq_node *q,
                     struct oq_tensor **table) {
    struct tl_match m = {.src = {dq}, .n_src = 1};
    *table = new_table(256);
    if (!*table)
        return -1;
    oq_error scratch = {0};
    if (eval_table(g, NULL, q, &m, (*table)->data, &scratch)) {
        oq_tensor_free(*table);
        *table = NULL;
        return scratch.code == OQ_ERR_NOMEM ? -1 : 0;
    }
    return 1;
}

int oq_dq_to_lut(struct oq_graph *g, struct oq_node *dq, struct oq_tensor *table) {
    int x = dq->in[0];
    if (!set_table(dq, table, 0)) {
        oq_tensor_free(table);
        return -1;
    }
    return qm_replace(g, NULL, dq, "QLut", 1, &x, NULL);
}

/* ---------------------------------------------------------------- composition */

static int table_kind(const struct oq_node *n) {
    if (strcmp(n->domain, "com.onnxq"))
        return 0;
    return !strcmp(n->op_type, "QLut") ? 1 : !strcmp(n->op_type, "QTable2") ? 2 : 0;
}

static uint8_t *table_data(const struct oq_node *n) { return oq_node_attr(n, "table")->t->data; }

/* The QLut/QTable2 producing v when n is its only reader (v not a graph output), else NULL. */
static struct oq_node *sole_table_producer(struct oq_graph *g, const int *uses, int v, int kind) {
    if (v < 0 || uses[v] != 1 || g->values[v].is_output || g->values[v].producer < 0)
        return NULL;
    struct oq_node *p = &g->nodes[g->values[v].producer];
    return table_kind(p) == kind ? p : NULL;
}

/* One composition; 1 when something was merged (the absorbed node marked in dead), 0 when none applies. */
static int compose_once(struct oq_graph *g, const int *uses, bool *dead) {
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        int kind = table_kind(n);
        if (!kind)
            continue;
        uint8_t *T = table_data(n);
        if (kind == 2 && n->in[0] == n->in[1]) { /* T(x, x): a function of x alone */
            struct oq_tensor *t = new_table(256);
            if (!t)
                return -1;
            for (int x = 0; x < 256; x++)
                ((uint8_t *)t->data)[x] = T[x << 8 | x];
            n->n_in = 1;
            if (!set_table(n, t, 0) || !oq_node_set_op(n, "com.onnxq", "QLut"))
                return -1;
            return 1;
        }
        for (int k = 0; k < n->n_in; k++) { /* a QLut feeding this table: index through it */
            struct oq_node *p = sole_table_producer(g, uses, n->in[k], 1);
            if (!p)
                continue;
            const uint8_t *L = table_data(p);
            if (kind == 1) {
                uint8_t tmp[256];
                for (int x = 0; x < 256; x++)
                    tmp[x] = T[L[x]];
                memcpy(T, tmp, sizeof(tmp));
            } else {
                uint8_t *tmp = malloc(65536);
                if (!tmp)
                    return -1;
                for (int a = 0; a < 256; a++)
                    for (int b = 0; b < 256; b++)
                        tmp[a << 8 | b] = k == 0 ? T[L[a] << 8 | b] : T[a << 8 | L[b]];
                memcpy(T, tmp, 65536);
                free(tmp);
            }
            n->in[k] = p->in[0];
            struct oq_tensor *keep = oq_node_attr(n, "table")->t;
            if (!set_table(n, keep, oq_attr_int(p, "rank", 0))) {
                oq_tensor_free(keep);
                return -1;
            }
            dead[p - g->nodes] = true;
            return 1;
        }
        if (kind == 1) { /* a QTable2 feeding this QLut: apply the QLut to the table's entries */
            struct oq_node *p = sole_table_producer(g, uses, n->in[0], 2);
            if (!p)
                continue;
            uint8_t *P = table_data(p);
            for (int e = 0; e < 65536; e++)
                P[e] = T[P[e]];
            struct oq_tensor *keep = oq_node_attr(p, "table")->t;
            if (!set_table(p, keep, oq_attr_int(n, "rank", 0))) {
                oq_tensor_free(keep);
                return -1;
            }
            p->out[0] = n->out[0];
            dead[i] = true;
            return 1;
        }
    }
    return 0;
}

int oq_compose_tables(struct oq_graph *g, oq_error *err) {
    int total = 0;
    for (;;) {
        if (oq_graph_link(g, err))
            return -1;
        int *uses = malloc(sizeof(int) * (size_t)(g->n_values + 1));
        int *reader = malloc(sizeof(int) * (size_t)(g->n_values + 1));
        bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
        int r = -1;
        if (uses && reader && dead) {
            qm_count_uses(g, uses, reader);
            r = compose_once(g, uses, dead);
            if (r > 0)
                oq_graph_remove_nodes(g, dead);
        }
        free(uses);
        free(reader);
        free(dead);
        if (r < 0) {
            oq_errorf(err, OQ_ERR_NOMEM, "out of memory composing lookup tables");
            return -1;
        }
        if (r == 0)
            return total;
        total++;
    }
}
