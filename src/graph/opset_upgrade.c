/* Default-domain opset upgrade: see opset_upgrade.h for the per-op table.
 *
 * Two phases over the nodes present at the start: a check phase that only validates (so a refused model is
 * left untouched), then an apply phase. New nodes (the Softmax wrapper) are appended in target form and the
 * graph is re-sorted at the end. Node pointers are re-fetched after every oq_graph_add_node/add_value, which
 * may move the arrays. */
#include "graph/opset_upgrade.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ static type/shape inference (light) */

struct vinfo {
    enum oq_dtype dt;          /* UNDEFINED if unknown */
    int rank;                  /* -1 if unknown */
    int64_t d[OQ_MAX_DIMS];    /* -1 if unknown */
};

struct up {
    struct oq_graph *g;
    int from, to;
    oq_error *err;
    struct vinfo *vi; /* per value id, for the values present at the start */
    int n_vi;
    bool orphaned;    /* some value lost its producer or its last reader: drop such values at the end */
};

static bool is_default_domain(const struct oq_node *n) { return !*n->domain || !strcmp(n->domain, "ai.onnx"); }
static bool op_is(const struct oq_node *n, const char *op) { return !strcmp(n->op_type, op); }

static const struct vinfo *info(const struct up *u, int v) {
    static const struct vinfo unknown = {OQ_DTYPE_UNDEFINED, -1, {0}};
    return v >= 0 && v < u->n_vi ? &u->vi[v] : &unknown;
}

/* Constant int64/int32 values of v (an initializer) into out (cap); count, or -1 if not constant. */
static int const_ints(const struct oq_graph *g, int v, int64_t *out, int cap) {
    if (v < 0 || !g->values[v].init)
        return -1;
    const struct oq_tensor *t = g->values[v].init;
    if (t->dtype != OQ_DTYPE_INT64 && t->dtype != OQ_DTYPE_INT32)
        return -1;
    int64_t n = oq_tensor_numel(t);
    if (n > cap)
        return -1;
    for (int64_t i = 0; i < n; i++)
        out[i] = oq_tensor_get_i64(t, i);
    return (int)n;
}

/* Axes of a node: the attribute (before the version that made it an input) or a constant input 1. */
static int node_axes(const struct up *u, const struct oq_node *n, int64_t *ax, int cap) {
    const int64_t *a;
    int64_t na = oq_attr_ints(n, "axes", &a);
    if (na >= 0) {
        if (na > cap)
            return -1;
        memcpy(ax, a, sizeof(int64_t) * (size_t)na);
        return (int)na;
    }
    return n->n_in > 1 ? const_ints(u->g, n->in[1], ax, cap) : -1;
}

static int64_t bcast_dim(int64_t a, int64_t b) {
    if (a == 1)
        return b;
    if (b == 1)
        return a;
    if (a < 0)
        return b > 1 ? b : -1;
    return a;
}

static void bcast(struct vinfo *o, const struct vinfo *a) {
    if (o->rank < 0 || a->rank < 0) {
        o->rank = -1;
        return;
    }
    int r = o->rank > a->rank ? o->rank : a->rank;
    int64_t d[OQ_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        int io = i - (r - o->rank), ia = i - (r - a->rank);
        int64_t x = io >= 0 ? o->d[io] : 1, y = ia >= 0 ? a->d[ia] : 1;
        d[i] = bcast_dim(x, y);
    }
    o->rank = r;
    memcpy(o->d, d, sizeof(d));
}

static int norm_axis(int64_t a, int r) { return (int)(a < 0 ? a + r : a); }

static void set_unknown_dims(struct vinfo *o) {
    for (int i = 0; i < OQ_MAX_DIMS; i++)
        o->d[i] = -1;
}

/* Infer output 0 (and the same for every output where it applies) of node n from its inputs. */
static void infer_node(struct up *u, const struct oq_node *n, struct vinfo *o, int k) {
    const struct vinfo *x = n->n_in > 0 ? info(u, n->in[0]) : info(u, -1);
    o->dt = OQ_DTYPE_UNDEFINED;
    o->rank = -1;
    set_unknown_dims(o);
    if (!is_default_domain(n))
        return;
    static const char *const same[] = {
        "Abs", "Ceil", "Exp", "Floor", "Log", "Neg", "Reciprocal", "Relu", "Sigmoid", "Sqrt", "Tanh", "Erf",
        "Softplus", "HardSigmoid", "HardSwish", "LeakyRelu", "Identity", "Dropout", "Clip", "Softmax",
        "LogSoftmax", "BatchNormalization", "LayerNormalization", "Elu", "Selu", "Sin", "Cos", "Not",
        "QuantizeLinear", "DequantizeLinear", "InstanceNormalization", "LRN"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (op_is(n, same[i])) {
            if (k > 0 && (op_is(n, "Dropout") || op_is(n, "BatchNormalization") || op_is(n, "LayerNormalization")))
                return;
            *o = *x;
            if (op_is(n, "QuantizeLinear")) {
                o->dt = n->n_in > 2 && n->in[2] >= 0 ? info(u, n->in[2])->dt : OQ_DTYPE_UINT8;
            } else if (op_is(n, "DequantizeLinear")) {
                o->dt = n->n_in > 1 ? info(u, n->in[1])->dt : OQ_DTYPE_UNDEFINED;
            }
            return;
        }
    if (op_is(n, "Add") || op_is(n, "Sub") || op_is(n, "Mul") || op_is(n, "Div") || op_is(n, "Pow") ||
        op_is(n, "Equal") || op_is(n, "Greater") || op_is(n, "Less") || op_is(n, "Where") || op_is(n, "PRelu") ||
        op_is(n, "Max") || op_is(n, "Min") || op_is(n, "Sum") || op_is(n, "And") || op_is(n, "Or")) {
        int first = op_is(n, "Where") ? 1 : 0;
        *o = *x;
        if (first)
            *o = *info(u, n->n_in > 1 ? n->in[1] : -1);
        for (int i = 0; i < n->n_in; i++)
            if (i != first && !(op_is(n, "PRelu") && i == 1))
                bcast(o, info(u, n->in[i]));
        if (op_is(n, "Where") && n->n_in > 2)
            o->dt = info(u, n->in[1])->dt;
        if (op_is(n, "Equal") || op_is(n, "Greater") || op_is(n, "Less") || op_is(n, "And") || op_is(n, "Or"))
            o->dt = OQ_DTYPE_BOOL;
        if (op_is(n, "Pow"))
            o->dt = x->dt;
        return;
    }
    o->dt = x->dt;
    if (op_is(n, "Cast")) {
        *o = *x;
        o->dt = (enum oq_dtype)oq_attr_int(n, "to", 0);
    } else if (op_is(n, "Conv") || op_is(n, "ConvTranspose") || op_is(n, "MaxPool") || op_is(n, "AveragePool") ||
               op_is(n, "GlobalAveragePool") || op_is(n, "GlobalMaxPool") || op_is(n, "Upsample") ||
               op_is(n, "Resize") || op_is(n, "Pad")) {
        if (k > 0) {
            o->dt = op_is(n, "MaxPool") ? OQ_DTYPE_INT64 : OQ_DTYPE_UNDEFINED;
            return;
        }
        o->rank = x->rank;
        if (x->rank >= 2 && !op_is(n, "Pad")) {
            o->d[0] = x->d[0];
            o->d[1] = x->d[1];
            if (op_is(n, "Conv")) {
                const struct vinfo *w = info(u, n->n_in > 1 ? n->in[1] : -1);
                o->d[1] = w->rank >= 1 ? w->d[0] : -1;
            } else if (op_is(n, "ConvTranspose")) {
                const struct vinfo *w = info(u, n->n_in > 1 ? n->in[1] : -1);
                int64_t gr = oq_attr_int(n, "group", 1);
                o->d[1] = w->rank >= 2 && w->d[1] >= 0 ? w->d[1] * gr : -1;
            }
            bool global = op_is(n, "GlobalAveragePool") || op_is(n, "GlobalMaxPool");
            for (int i = 2; i < x->rank; i++)
                o->d[i] = global ? 1 : -1;
        }
    } else if (op_is(n, "MatMul")) {
        const struct vinfo *b = info(u, n->n_in > 1 ? n->in[1] : -1);
        if (x->rank >= 2 && b->rank >= 2) {
            struct vinfo ba = *x, bb = *b;
            ba.rank -= 2;
            bb.rank -= 2;
            bcast(&ba, &bb);
            o->rank = ba.rank + 2;
            memcpy(o->d, ba.d, sizeof(int64_t) * (size_t)ba.rank);
            o->d[o->rank - 2] = x->d[x->rank - 2];
            o->d[o->rank - 1] = b->d[b->rank - 1];
        } else if (x->rank >= 0 && b->rank >= 0) {
            int r = x->rank > b->rank ? x->rank : b->rank;
            o->rank = x->rank == 1 && b->rank == 1 ? 0 : r - (x->rank == 1) - (b->rank == 1);
        }
    } else if (op_is(n, "Gemm")) {
        const struct vinfo *b = info(u, n->n_in > 1 ? n->in[1] : -1);
        o->rank = 2;
        int ta = (int)oq_attr_int(n, "transA", 0), tb = (int)oq_attr_int(n, "transB", 0);
        o->d[0] = x->rank == 2 ? x->d[ta ? 1 : 0] : -1;
        o->d[1] = b->rank == 2 ? b->d[tb ? 0 : 1] : -1;
    } else if (op_is(n, "Transpose")) {
        o->rank = x->rank;
        const int64_t *p;
        int64_t np = oq_attr_ints(n, "perm", &p);
        for (int i = 0; i < x->rank; i++) {
            int64_t s = np == x->rank ? p[i] : x->rank - 1 - i;
            o->d[i] = s >= 0 && s < x->rank ? x->d[s] : -1;
        }
    } else if (op_is(n, "Reshape")) {
        const struct vinfo *s = info(u, n->n_in > 1 ? n->in[1] : -1);
        int64_t sv[OQ_MAX_DIMS];
        int ns = n->n_in > 1 ? const_ints(u->g, n->in[1], sv, OQ_MAX_DIMS) : -1;
        if (ns >= 0) {
            o->rank = ns;
            int64_t known = 1, in_numel = 1;
            int neg = -1;
            for (int i = 0; i < x->rank && in_numel >= 0; i++)
                in_numel = x->d[i] >= 0 ? in_numel * x->d[i] : -1;
            if (x->rank < 0)
                in_numel = -1;
            for (int i = 0; i < ns; i++) {
                int64_t v = sv[i];
                if (v == 0 && !oq_attr_int(n, "allowzero", 0))
                    v = i < x->rank ? x->d[i] : -1;
                if (sv[i] == -1)
                    neg = i;
                o->d[i] = v;
                if (v >= 0 && known >= 0)
                    known *= v;
                else if (sv[i] != -1)
                    known = -1;
            }
            if (neg >= 0)
                o->d[neg] = in_numel >= 0 && known > 0 ? in_numel / known : -1;
        } else if (s->rank == 1 && s->d[0] >= 0 && s->d[0] <= OQ_MAX_DIMS) {
            o->rank = (int)s->d[0];
        }
    } else if (op_is(n, "Flatten")) {
        o->rank = 2;
        if (x->rank >= 0) {
            int a = norm_axis(oq_attr_int(n, "axis", 1), x->rank);
            int64_t p0 = 1, p1 = 1;
            for (int i = 0; i < x->rank; i++) {
                int64_t *p = i < a ? &p0 : &p1;
                *p = *p >= 0 && x->d[i] >= 0 ? *p * x->d[i] : -1;
            }
            o->d[0] = p0;
            o->d[1] = p1;
        }
    } else if (op_is(n, "Squeeze") || op_is(n, "Unsqueeze")) {
        int64_t ax[OQ_MAX_DIMS];
        int na = node_axes(u, n, ax, OQ_MAX_DIMS);
        if (x->rank < 0)
            return;
        if (op_is(n, "Squeeze")) {
            bool drop[OQ_MAX_DIMS] = {false};
            if (na < 0) {
                for (int i = 0; i < x->rank; i++) {
                    if (x->d[i] < 0)
                        return;
                    drop[i] = x->d[i] == 1;
                }
            } else {
                for (int i = 0; i < na; i++) {
                    int a = norm_axis(ax[i], x->rank);
                    if (a >= 0 && a < x->rank)
                        drop[a] = true;
                }
            }
            o->rank = 0;
            for (int i = 0; i < x->rank; i++)
                if (!drop[i])
                    o->d[o->rank++] = x->d[i];
        } else {
            if (na < 0 || x->rank + na > OQ_MAX_DIMS)
                return;
            int r = x->rank + na;
            bool ins[OQ_MAX_DIMS] = {false};
            for (int i = 0; i < na; i++) {
                int a = norm_axis(ax[i], r);
                if (a >= 0 && a < r)
                    ins[a] = true;
            }
            o->rank = r;
            for (int i = 0, j = 0; i < r; i++)
                o->d[i] = ins[i] ? 1 : (j < x->rank ? x->d[j++] : -1);
        }
    } else if (op_is(n, "Concat")) {
        o->rank = x->rank;
        if (x->rank < 0)
            return;
        int a = norm_axis(oq_attr_int(n, "axis", 0), x->rank);
        memcpy(o->d, x->d, sizeof(o->d));
        int64_t sum = 0;
        for (int i = 0; i < n->n_in; i++) {
            const struct vinfo *t = info(u, n->in[i]);
            if (t->rank != x->rank || a < 0 || a >= x->rank || t->d[a] < 0) {
                sum = -1;
                break;
            }
            sum += t->d[a];
        }
        if (a >= 0 && a < x->rank)
            o->d[a] = sum;
    } else if (op_is(n, "Split")) {
        *o = *x;
        if (x->rank > 0) {
            int a = norm_axis(oq_attr_int(n, "axis", 0), x->rank);
            int64_t sp[64];
            const int64_t *sa;
            int64_t ns = oq_attr_ints(n, "split", &sa);
            if (ns < 0 && n->n_in > 1)
                ns = const_ints(u->g, n->in[1], sp, 64);
            else if (ns >= 0 && ns <= 64)
                memcpy(sp, sa, sizeof(int64_t) * (size_t)ns);
            if (a >= 0 && a < x->rank)
                o->d[a] = ns > k && ns <= 64 ? sp[k] : (x->d[a] >= 0 && n->n_out > 0 && ns < 0 ? x->d[a] / n->n_out : -1);
        }
    } else if (op_is(n, "Slice")) {
        o->rank = x->rank;
        if (x->rank < 0)
            return;
        memcpy(o->d, x->d, sizeof(o->d));
        int64_t st[OQ_MAX_DIMS], en[OQ_MAX_DIMS], ax[OQ_MAX_DIMS], sp[OQ_MAX_DIMS];
        int ns, ne, na, nsp = -1;
        const int64_t *p;
        int64_t c;
        if ((c = oq_attr_ints(n, "starts", &p)) >= 0) { /* opset < 10 */
            ns = (int)(c <= OQ_MAX_DIMS ? c : -1);
            if (ns > 0)
                memcpy(st, p, sizeof(int64_t) * (size_t)ns);
            c = oq_attr_ints(n, "ends", &p);
            ne = (int)(c >= 0 && c <= OQ_MAX_DIMS ? c : -1);
            if (ne > 0)
                memcpy(en, p, sizeof(int64_t) * (size_t)ne);
            c = oq_attr_ints(n, "axes", &p);
            na = (int)(c <= OQ_MAX_DIMS ? c : -2);
            if (na > 0)
                memcpy(ax, p, sizeof(int64_t) * (size_t)na);
        } else {
            ns = n->n_in > 1 ? const_ints(u->g, n->in[1], st, OQ_MAX_DIMS) : -1;
            ne = n->n_in > 2 ? const_ints(u->g, n->in[2], en, OQ_MAX_DIMS) : -1;
            na = n->n_in > 3 && n->in[3] >= 0 ? const_ints(u->g, n->in[3], ax, OQ_MAX_DIMS) : -1;
            if (n->n_in > 3 && n->in[3] >= 0 && na < 0)
                na = -2;
            nsp = n->n_in > 4 && n->in[4] >= 0 ? const_ints(u->g, n->in[4], sp, OQ_MAX_DIMS) : -1;
            if (n->n_in > 4 && n->in[4] >= 0 && nsp < 0)
                na = -2;
        }
        if (ns < 0 || ne != ns || na == -2 || (na >= 0 && na != ns) || (nsp >= 0 && nsp != ns)) {
            set_unknown_dims(o); /* rank is still known */
            return;
        }
        for (int i = 0; i < ns; i++) {
            int a = na >= 0 ? norm_axis(ax[i], x->rank) : i;
            if (a < 0 || a >= x->rank)
                continue;
            int64_t dim = x->d[a], step = nsp >= 0 ? sp[i] : 1;
            if (dim < 0 || step != 1) {
                o->d[a] = -1;
                continue;
            }
            int64_t s = st[i] < 0 ? st[i] + dim : st[i], e = en[i] < 0 ? en[i] + dim : en[i];
            s = s < 0 ? 0 : (s > dim ? dim : s);
            e = e < 0 ? 0 : (e > dim ? dim : e);
            o->d[a] = e > s ? e - s : 0;
        }
    } else if (op_is(n, "Gather")) {
        const struct vinfo *ix = info(u, n->n_in > 1 ? n->in[1] : -1);
        if (x->rank < 1 || ix->rank < 0 || x->rank - 1 + ix->rank > OQ_MAX_DIMS)
            return;
        int a = norm_axis(oq_attr_int(n, "axis", 0), x->rank);
        o->rank = x->rank - 1 + ix->rank;
        int j = 0;
        for (int i = 0; i < a; i++)
            o->d[j++] = x->d[i];
        for (int i = 0; i < ix->rank; i++)
            o->d[j++] = ix->d[i];
        for (int i = a + 1; i < x->rank; i++)
            o->d[j++] = x->d[i];
    } else if (op_is(n, "Shape")) {
        o->dt = OQ_DTYPE_INT64;
        o->rank = 1;
        if (x->rank >= 0) {
            int64_t s = oq_attr_int(n, "start", 0), e = oq_attr_int(n, "end", x->rank);
            s = s < 0 ? s + x->rank : s;
            e = e < 0 ? e + x->rank : e;
            s = s < 0 ? 0 : (s > x->rank ? x->rank : s);
            e = e < 0 ? 0 : (e > x->rank ? x->rank : e);
            o->d[0] = e > s ? e - s : 0;
        }
    } else if (op_is(n, "Size")) {
        o->dt = OQ_DTYPE_INT64;
        o->rank = 0;
    } else if (op_is(n, "ConstantOfShape")) {
        const struct oq_attr *va = oq_node_attr(n, "value");
        o->dt = va && va->t ? va->t->dtype : OQ_DTYPE_FLOAT;
        if (x->rank == 1 && x->d[0] >= 0 && x->d[0] <= OQ_MAX_DIMS)
            o->rank = (int)x->d[0];
    } else if (op_is(n, "Expand")) {
        const struct vinfo *s = info(u, n->n_in > 1 ? n->in[1] : -1);
        if (x->rank >= 0 && s->rank == 1 && s->d[0] >= 0 && s->d[0] <= OQ_MAX_DIMS)
            o->rank = x->rank > s->d[0] ? x->rank : (int)s->d[0];
    } else if (op_is(n, "Range")) {
        o->rank = 1;
    } else if (op_is(n, "ArgMax") || op_is(n, "ArgMin") || !strncmp(n->op_type, "Reduce", 6)) {
        bool arg = op_is(n, "ArgMax") || op_is(n, "ArgMin");
        if (arg)
            o->dt = OQ_DTYPE_INT64;
        if (x->rank < 0)
            return;
        bool keep = oq_attr_int(n, "keepdims", 1) != 0;
        bool red[OQ_MAX_DIMS] = {false};
        int64_t ax[OQ_MAX_DIMS];
        int na;
        if (arg) {
            ax[0] = oq_attr_int(n, "axis", 0);
            na = 1;
        } else {
            na = node_axes(u, n, ax, OQ_MAX_DIMS);
            bool has_axes = oq_node_attr(n, "axes") || (n->n_in > 1 && n->in[1] >= 0);
            if (has_axes && na < 0)
                return; /* computed axes */
            if (na <= 0) {
                if (oq_attr_int(n, "noop_with_empty_axes", 0) && n->n_in > 1 && n->in[1] >= 0) {
                    *o = *x;
                    return;
                }
                for (int i = 0; i < x->rank; i++)
                    red[i] = true;
                na = 0;
            }
        }
        for (int i = 0; i < na; i++) {
            int a = norm_axis(ax[i], x->rank);
            if (a >= 0 && a < x->rank)
                red[a] = true;
        }
        o->rank = 0;
        for (int i = 0; i < x->rank; i++) {
            if (!red[i])
                o->d[o->rank++] = x->d[i];
            else if (keep)
                o->d[o->rank++] = 1;
        }
    } else if (op_is(n, "TopK")) {
        o->rank = x->rank;
        if (k == 1)
            o->dt = OQ_DTYPE_INT64;
    } else {
        o->dt = OQ_DTYPE_UNDEFINED;
    }
}

static oq_status infer_all(struct up *u) {
    struct oq_graph *g = u->g;
    u->n_vi = g->n_values;
    u->vi = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof(struct vinfo));
    if (!u->vi)
        return oq_errorf(u->err, OQ_ERR_NOMEM, "%s: out of memory upgrading the opset", g->source);
    for (int v = 0; v < g->n_values; v++) {
        const struct oq_value *val = &g->values[v];
        struct vinfo *o = &u->vi[v];
        set_unknown_dims(o);
        if (val->init) {
            o->dt = val->init->dtype;
            o->rank = val->init->ndim;
            memcpy(o->d, val->init->dims, sizeof(int64_t) * (size_t)val->init->ndim);
        } else {
            o->dt = val->dtype;
            o->rank = val->ndim <= OQ_MAX_DIMS ? val->ndim : -1;
            for (int i = 0; i < o->rank; i++)
                o->d[i] = val->dims[i] >= 0 ? val->dims[i] : -1;
        }
    }
    /* nodes are topologically sorted: one forward sweep */
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            struct vinfo t;
            infer_node(u, n, &t, k);
            struct vinfo *o = &u->vi[v];
            if (o->dt == OQ_DTYPE_UNDEFINED)
                o->dt = t.dt;
            if (o->rank < 0) {
                o->rank = t.rank;
                memcpy(o->d, t.d, sizeof(t.d));
            } else if (t.rank == o->rank) {
                for (int d = 0; d < o->rank; d++)
                    if (o->d[d] < 0)
                        o->d[d] = t.d[d];
            }
        }
    }
    return OQ_OK;
}

/* ------------------------------------------------------------------ graph editing helpers */

static oq_status nomem(struct up *u) {
    return oq_errorf(u->err, OQ_ERR_NOMEM, "%s: out of memory upgrading the opset", u->g->source);
}

/* "node 'x' (Op): cannot upgrade from opset A to B: <why>" */
static oq_status refuse(struct up *u, int ni, oq_status code, const char *fmt, ...) OQ_PRINTF(4, 5);
static oq_status refuse(struct up *u, int ni, oq_status code, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    const struct oq_node *n = &u->g->nodes[ni];
    return oq_errorf(u->err, code, "%s: node '%s' (%s): cannot upgrade from opset %d to %d: %s", u->g->source,
                     n->name, n->op_type, u->from, u->to, why);
}

static void attr_release(struct oq_attr *a) {
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    for (int64_t i = 0; a->strings && i < a->n; i++)
        free(a->strings[i]);
    free(a->strings);
    oq_tensor_free(a->t);
    free(a->opaque);
}

static void del_attr(struct oq_node *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (!strcmp(n->attrs[i].name, name)) {
            attr_release(&n->attrs[i]);
            memmove(&n->attrs[i], &n->attrs[i + 1], sizeof(*n->attrs) * (size_t)(n->n_attr - i - 1));
            n->n_attr--;
            return;
        }
}

static oq_status set_int_attr(struct up *u, int ni, const char *name, int64_t v) {
    del_attr(&u->g->nodes[ni], name);
    struct oq_attr *a = oq_node_add_attr(&u->g->nodes[ni], name, OQ_ATTR_INT);
    if (!a)
        return nomem(u);
    a->i = v;
    return OQ_OK;
}

static oq_status set_str_attr(struct up *u, int ni, const char *name, const char *s) {
    del_attr(&u->g->nodes[ni], name);
    struct oq_attr *a = oq_node_add_attr(&u->g->nodes[ni], name, OQ_ATTR_STRING);
    if (!a || !(a->s = malloc(strlen(s) + 1)))
        return nomem(u);
    memcpy(a->s, s, strlen(s) + 1);
    a->s_len = strlen(s);
    return OQ_OK;
}

static oq_status set_input(struct up *u, int ni, int idx, int v) {
    struct oq_node *n = &u->g->nodes[ni];
    if (idx >= n->n_in) {
        int *p = realloc(n->in, sizeof(int) * (size_t)(idx + 1));
        if (!p)
            return nomem(u);
        for (int k = n->n_in; k <= idx; k++)
            p[k] = -1;
        n->in = p;
        n->n_in = idx + 1;
    }
    n->in[idx] = v;
    return OQ_OK;
}

static void trim_inputs(struct oq_node *n) {
    while (n->n_in > 1 && n->in[n->n_in - 1] < 0)
        n->n_in--;
}

/* The node's name for derived names: its own, or "<op>_<index>" when empty. */
static void node_base(const struct up *u, int ni, char *buf, size_t cap) {
    const struct oq_node *n = &u->g->nodes[ni];
    if (n->name && *n->name)
        snprintf(buf, cap, "%s", n->name);
    else
        snprintf(buf, cap, "%s_%d", n->op_type, ni);
}

/* A value name "<node>_<what>" not used yet (numeric suffix on collision): deterministic for a given graph. */
static int add_unique_value(struct up *u, int ni, const char *what) {
    char base[384], name[448];
    node_base(u, ni, base, sizeof(base));
    snprintf(name, sizeof(name), "%s_%s", base, what);
    for (int k = 1; oq_graph_find_value(u->g, name) >= 0; k++)
        snprintf(name, sizeof(name), "%s_%s_%d", base, what, k);
    return oq_graph_add_value(u->g, name);
}

/* Initializers of a clone belong to its source: take copies before adding owned ones (see the header). */
static oq_status own_initializers(struct up *u) {
    struct oq_graph *g = u->g;
    if (!g->inits_borrowed)
        return OQ_OK;
    struct oq_tensor **c = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof(*c));
    if (!c)
        return nomem(u);
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].init && !(c[v] = oq_tensor_clone(g->values[v].init, NULL))) {
            for (int k = 0; k < v; k++)
                oq_tensor_free(c[k]);
            free(c);
            return nomem(u);
        }
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].init)
            g->values[v].init = c[v];
    g->inits_borrowed = false;
    free(c);
    return OQ_OK;
}

/* New initializer of dtype/shape for input `what` of node ni; returns its value id (data zeroed) or -1. */
static int add_init(struct up *u, int ni, const char *what, enum oq_dtype dt, int ndim, const int64_t *dims) {
    if (own_initializers(u) != OQ_OK)
        return -1;
    int v = add_unique_value(u, ni, what);
    if (v < 0)
        return -1;
    struct oq_value *val = &u->g->values[v];
    struct oq_tensor *t = oq_tensor_new(dt, ndim, dims, val->name);
    if (!t)
        return -1;
    val->init = t;
    val->dtype = dt;
    val->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        val->dims[i] = dims[i];
    return v;
}

static oq_status add_ints_input(struct up *u, int ni, int idx, const char *what, int64_t n, const int64_t *vals,
                                bool scalar) {
    int v = add_init(u, ni, what, OQ_DTYPE_INT64, scalar ? 0 : 1, &n);
    if (v < 0)
        return nomem(u);
    if (n)
        memcpy(u->g->values[v].init->data, vals, sizeof(int64_t) * (size_t)n);
    return set_input(u, ni, idx, v);
}

static oq_status add_scalar_input(struct up *u, int ni, int idx, const char *what, enum oq_dtype dt, double x) {
    int v = add_init(u, ni, what, dt, 0, NULL);
    if (v < 0)
        return nomem(u);
    oq_tensor_set_f64(u->g->values[v].init, 0, x);
    return set_input(u, ni, idx, v);
}

/* Move ints attribute `name` into input idx (int64 1-D); absent attribute: no input. */
static oq_status move_ints_attr(struct up *u, int ni, const char *name, int idx, bool skip_empty) {
    const int64_t *a;
    int64_t na = oq_attr_ints(&u->g->nodes[ni], name, &a);
    if (na < 0) {
        del_attr(&u->g->nodes[ni], name); /* wrong-typed leftovers */
        return OQ_OK;
    }
    if (na == 0 && skip_empty) {
        del_attr(&u->g->nodes[ni], name);
        return OQ_OK;
    }
    int64_t *copy = malloc(sizeof(int64_t) * (size_t)(na ? na : 1));
    if (!copy)
        return nomem(u);
    if (na)
        memcpy(copy, a, sizeof(int64_t) * (size_t)na);
    del_attr(&u->g->nodes[ni], name);
    oq_status st = add_ints_input(u, ni, idx, name, na, copy, false);
    free(copy);
    return st;
}

static bool output_used(const struct up *u, int v) {
    return v >= 0 && (u->g->values[v].is_output || oq_graph_count_uses(u->g, v) > 0);
}

/* dtype that a constant input tied to the node's input 0 (type T) must have */
static enum oq_dtype input_dtype(const struct up *u, int ni) {
    const struct oq_node *n = &u->g->nodes[ni];
    return n->n_in > 0 ? info(u, n->in[0])->dt : OQ_DTYPE_UNDEFINED;
}

static bool crosses(const struct up *u, int from, int v) { return from < v && u->to >= v; }

/* ------------------------------------------------------------------ per-op rules */

typedef oq_status (*up_fn)(struct up *u, int ni, int from, bool apply);

static oq_status up_axes_to_input(struct up *u, int ni, int from, int since, bool apply) {
    if (!crosses(u, from, since) || !apply)
        return OQ_OK;
    const struct oq_node *n = &u->g->nodes[ni];
    bool reduce = !strncmp(n->op_type, "Reduce", 6);
    return move_ints_attr(u, ni, "axes", 1, reduce);
}

static oq_status up_squeeze(struct up *u, int ni, int from, bool apply) {
    if (op_is(&u->g->nodes[ni], "Unsqueeze") && crosses(u, from, 13) && !oq_node_attr(&u->g->nodes[ni], "axes"))
        return refuse(u, ni, OQ_ERR_MODEL, "attribute 'axes' is required before opset 13");
    return up_axes_to_input(u, ni, from, 13, apply);
}

static oq_status up_reduce13(struct up *u, int ni, int from, bool apply) {
    return up_axes_to_input(u, ni, from, 13, apply);
}

static oq_status up_reduce18(struct up *u, int ni, int from, bool apply) {
    return up_axes_to_input(u, ni, from, 18, apply);
}

static oq_status up_split(struct up *u, int ni, int from, bool apply) {
    if (!apply)
        return OQ_OK;
    if (crosses(u, from, 13))
        OQ_TRY(move_ints_attr(u, ni, "split", 1, false));
    const struct oq_node *n = &u->g->nodes[ni];
    if (crosses(u, from, 18) && (n->n_in < 2 || n->in[1] < 0) && !oq_node_attr(n, "num_outputs"))
        OQ_TRY(set_int_attr(u, ni, "num_outputs", u->g->nodes[ni].n_out));
    return OQ_OK;
}

static oq_status up_clip(struct up *u, int ni, int from, bool apply) {
    if (!crosses(u, from, 11))
        return OQ_OK;
    const struct oq_node *n = &u->g->nodes[ni];
    bool has_min = oq_node_attr(n, "min") != NULL, has_max = oq_node_attr(n, "max") != NULL;
    enum oq_dtype dt = input_dtype(u, ni);
    if ((has_min || has_max) && !oq_dtype_is_float(dt))
        return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                      "the min/max bounds become inputs of the input's type, which is %s here (Clip before 11 "
                      "takes float types only; declare the input's type)",
                      dt == OQ_DTYPE_UNDEFINED ? "unknown" : oq_dtype_name(dt));
    if (!apply)
        return OQ_OK;
    float lo = oq_attr_float(n, "min", 0.0f), hi = oq_attr_float(n, "max", 0.0f);
    del_attr(&u->g->nodes[ni], "min");
    del_attr(&u->g->nodes[ni], "max");
    if (has_min)
        OQ_TRY(add_scalar_input(u, ni, 1, "min", dt, lo));
    if (has_max)
        OQ_TRY(add_scalar_input(u, ni, 2, "max", dt, hi));
    if (!has_min && has_max)
        OQ_TRY(set_input(u, ni, 1, -1));
    return OQ_OK;
}

static oq_status up_pad(struct up *u, int ni, int from, bool apply) {
    if (!crosses(u, from, 11))
        return OQ_OK;
    const struct oq_node *n = &u->g->nodes[ni];
    const int64_t *p;
    if (oq_attr_ints(n, "pads", &p) < 0)
        return refuse(u, ni, OQ_ERR_MODEL, "attribute 'pads' is required before opset 11");
    bool constant = !strcmp(oq_attr_string(n, "mode", "constant"), "constant");
    bool has_value = constant && oq_node_attr(n, "value") && oq_attr_float(n, "value", 0.0f) != 0.0f;
    enum oq_dtype dt = input_dtype(u, ni);
    if (has_value && !oq_dtype_is_float(dt))
        return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                      "'value' becomes input 2 of the input's type, which is %s here (declare the input's type)",
                      dt == OQ_DTYPE_UNDEFINED ? "unknown" : oq_dtype_name(dt));
    if (!apply)
        return OQ_OK;
    float value = oq_attr_float(n, "value", 0.0f);
    OQ_TRY(move_ints_attr(u, ni, "pads", 1, false));
    del_attr(&u->g->nodes[ni], "value");
    if (has_value)
        OQ_TRY(add_scalar_input(u, ni, 2, "constant_value", dt, value));
    return OQ_OK;
}

static oq_status up_slice(struct up *u, int ni, int from, bool apply) {
    if (!crosses(u, from, 10))
        return OQ_OK;
    const struct oq_node *n = &u->g->nodes[ni];
    const int64_t *p;
    if (oq_attr_ints(n, "starts", &p) < 0 || oq_attr_ints(n, "ends", &p) < 0)
        return refuse(u, ni, OQ_ERR_MODEL, "attributes 'starts' and 'ends' are required before opset 10");
    if (!apply)
        return OQ_OK;
    OQ_TRY(move_ints_attr(u, ni, "starts", 1, false));
    OQ_TRY(move_ints_attr(u, ni, "ends", 2, false));
    return move_ints_attr(u, ni, "axes", 3, false);
}

static oq_status up_topk(struct up *u, int ni, int from, bool apply) {
    if (!crosses(u, from, 10))
        return OQ_OK;
    const struct oq_attr *a = oq_node_attr(&u->g->nodes[ni], "k");
    if (!a || a->type != OQ_ATTR_INT)
        return refuse(u, ni, OQ_ERR_MODEL, "attribute 'k' is required before opset 10");
    if (!apply)
        return OQ_OK;
    int64_t k = a->i;
    del_attr(&u->g->nodes[ni], "k");
    return add_ints_input(u, ni, 1, "k", 1, &k, false);
}

static oq_status up_dropout(struct up *u, int ni, int from, bool apply) {
    const struct oq_node *n = &u->g->nodes[ni];
    bool has_mask = n->n_out > 1 && n->out[1] >= 0;
    if (crosses(u, from, 10) && has_mask && output_used(u, n->out[1]))
        return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                      "output 1 'mask' changes type from the data type to bool at opset 10 and is used");
    if (!apply)
        return OQ_OK;
    if (crosses(u, from, 10) && has_mask) {
        u->g->nodes[ni].n_out = 1;
        u->orphaned = true;
    }
    if (crosses(u, from, 12)) {
        const struct oq_attr *r = oq_node_attr(n, "ratio");
        float ratio = r ? oq_attr_float(n, "ratio", 0.5f) : 0.5f;
        del_attr(&u->g->nodes[ni], "ratio");
        del_attr(&u->g->nodes[ni], "is_test");
        if (r)
            OQ_TRY(add_scalar_input(u, ni, 1, "ratio", OQ_DTYPE_FLOAT, ratio));
    }
    return OQ_OK;
}

static oq_status up_batchnorm(struct up *u, int ni, int from, bool apply) {
    const struct oq_node *n = &u->g->nodes[ni];
    const struct oq_attr *sp = oq_node_attr(n, "spatial");
    if (sp && oq_attr_int(n, "spatial", 1) == 0)
        return refuse(u, ni, OQ_ERR_UNSUPPORTED, "spatial=0 (per-activation statistics) was removed at opset 9");
    if (crosses(u, from, 14))
        for (int k = 1; k < n->n_out; k++)
            if (output_used(u, n->out[k]))
                return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                              "training output %d is used; opset 14 replaced the training outputs (training_mode)",
                              k);
    if (!apply)
        return OQ_OK;
    del_attr(&u->g->nodes[ni], "spatial");
    del_attr(&u->g->nodes[ni], "is_test");
    del_attr(&u->g->nodes[ni], "consumed_inputs");
    if (crosses(u, from, 14) && u->g->nodes[ni].n_out > 1) {
        u->g->nodes[ni].n_out = 1;
        u->orphaned = true;
    }
    return OQ_OK;
}

/* Softmax/LogSoftmax 13: equivalent when axis is the last dim or all dims after it are 1; else wrap. */
static oq_status up_softmax(struct up *u, int ni, int from, bool apply) {
    if (!crosses(u, from, 13) || !apply)
        return OQ_OK;
    const struct oq_node *n = &u->g->nodes[ni];
    int64_t axis = oq_attr_int(n, "axis", 1);
    const struct vinfo *x = info(u, n->in[0]);
    bool same = false;
    if (x->rank >= 0) {
        int a = norm_axis(axis, x->rank);
        same = true;
        for (int d = a + 1; d < x->rank; d++)
            same &= x->d[d] == 1;
        if (same && a >= 0 && a < x->rank)
            axis = a;
    }
    if (same)
        return set_int_attr(u, ni, "axis", axis);
    /* x -> Flatten(axis) -> op(axis=-1) -> Reshape(., Shape(x)) -> y */
    int xv = n->in[0], yv = n->out[0];
    int fv = add_unique_value(u, ni, "flat");
    int sv = add_unique_value(u, ni, "shape");
    int tv = add_unique_value(u, ni, "flat_out");
    if (fv < 0 || sv < 0 || tv < 0)
        return nomem(u);
    char base[384], nm[448];
    node_base(u, ni, base, sizeof(base));
    struct oq_graph *g = u->g;
    snprintf(nm, sizeof(nm), "%s_flatten", base);
    int f = oq_graph_add_node(g, nm, "Flatten", "", 1, &xv, 1, &fv);
    if (f < 0 || set_int_attr(u, f, "axis", axis) != OQ_OK)
        return nomem(u);
    snprintf(nm, sizeof(nm), "%s_shape", base);
    if (oq_graph_add_node(g, nm, "Shape", "", 1, &xv, 1, &sv) < 0)
        return nomem(u);
    snprintf(nm, sizeof(nm), "%s_reshape", base);
    int rin[2] = {tv, sv};
    if (oq_graph_add_node(g, nm, "Reshape", "", 2, rin, 1, &yv) < 0)
        return nomem(u);
    g->nodes[ni].in[0] = fv;
    g->nodes[ni].out[0] = tv;
    enum oq_dtype dt = x->dt;
    g->values[fv].dtype = g->values[tv].dtype = dt;
    g->values[sv].dtype = OQ_DTYPE_INT64;
    return set_int_attr(u, ni, "axis", -1);
}

/* Resize-10 (and Upsample) nearest rounding, as ONNX Runtime and onnxq run it: truncate on axes that grow,
 * ceil on axes that shrink; expressed as one nearest_mode when the constant scales allow it. */
static oq_status resize10_nearest_mode(struct up *u, int ni, bool upsample, const char **mode) {
    const struct oq_node *n = &u->g->nodes[ni];
    *mode = "floor";
    if (strcmp(oq_attr_string(n, "mode", "nearest"), "nearest"))
        return OQ_OK;
    const struct oq_tensor *s = n->n_in > 1 && n->in[1] >= 0 ? u->g->values[n->in[1]].init : NULL;
    if (!s) {
        if (upsample) /* Upsample's scales must be >= 1 */
            return OQ_OK;
        return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                      "nearest rounding at opset 10 depends on whether each scale is below 1, and 'scales' is not a "
                      "constant");
    }
    bool up = false, down = false;
    for (int64_t i = 0; i < oq_tensor_numel(s); i++) {
        double v = oq_tensor_get_f64(s, i);
        up |= v > 1.0;
        down |= v < 1.0;
    }
    if (up && down)
        return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                      "scales grow some axes and shrink others; Resize-10 rounds those differently (truncate / "
                      "ceil) and no single nearest_mode from opset 11 does both");
    *mode = down ? "ceil" : "floor";
    return OQ_OK;
}

static oq_status up_resize_from(struct up *u, int ni, int from, bool apply, bool upsample) {
    const struct oq_node *n = &u->g->nodes[ni];
    const char *nearest = "floor";
    if (crosses(u, from, 11)) {
        OQ_TRY(resize10_nearest_mode(u, ni, upsample, &nearest));
        if (n->n_in != 2)
            return refuse(u, ni, OQ_ERR_MODEL, "Resize-10 takes 2 inputs (X, scales), this node has %d", n->n_in);
    }
    if (from >= 11 && from < 13 && u->to >= 13) {
        const char *ctm = oq_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        if (!strcmp(ctm, "tf_half_pixel_for_nn"))
            return refuse(u, ni, OQ_ERR_UNSUPPORTED,
                          "coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed at opset 13 and has "
                          "no exact equivalent");
    }
    if (!apply)
        return OQ_OK;
    if (crosses(u, from, 11)) {
        int sc = n->in[1];
        OQ_TRY(set_str_attr(u, ni, "coordinate_transformation_mode", "asymmetric"));
        if (!strcmp(oq_attr_string(&u->g->nodes[ni], "mode", "nearest"), "nearest"))
            OQ_TRY(set_str_attr(u, ni, "nearest_mode", nearest));
        OQ_TRY(set_input(u, ni, 2, sc));
        if (u->to >= 13) {
            u->g->nodes[ni].in[1] = -1;
        } else {
            int64_t zero = 0;
            int rv = add_init(u, ni, "roi", OQ_DTYPE_FLOAT, 1, &zero);
            if (rv < 0)
                return nomem(u);
            u->g->nodes[ni].in[1] = rv;
        }
        return OQ_OK;
    }
    if (from >= 11 && from < 13 && u->to >= 13) {
        struct oq_node *m = &u->g->nodes[ni];
        /* empty constant roi / scales (the opset 11 way of leaving them out) become absent */
        for (int k = 1; k <= 2 && k < m->n_in; k++) {
            int v = m->in[k];
            const struct oq_tensor *t = v >= 0 ? u->g->values[v].init : NULL;
            bool sizes = m->n_in > 3 && m->in[3] >= 0;
            if (t && oq_tensor_numel(t) == 0 && (k == 1 || sizes)) {
                m->in[k] = -1;
                u->orphaned = true;
            }
        }
        trim_inputs(m);
    }
    return OQ_OK;
}

static oq_status up_resize(struct up *u, int ni, int from, bool apply) {
    return up_resize_from(u, ni, from, apply, false);
}

static oq_status up_upsample(struct up *u, int ni, int from, bool apply) {
    if (u->to < 10)
        return OQ_OK;
    const struct oq_node *n = &u->g->nodes[ni];
    const char *m = oq_attr_string(n, "mode", "nearest");
    if (strcmp(m, "nearest") && strcmp(m, "linear") && strcmp(m, "bilinear"))
        return refuse(u, ni, OQ_ERR_UNSUPPORTED, "mode '%s' has no Resize equivalent", m);
    if (n->n_in != 2)
        return refuse(u, ni, OQ_ERR_MODEL, "Upsample-9 takes 2 inputs (X, scales), this node has %d", n->n_in);
    /* the Resize-10 checks (from 10 on) apply to it as well */
    if (!apply)
        return up_resize_from(u, ni, 10, false, true);
    if (!strcmp(m, "bilinear"))
        OQ_TRY(set_str_attr(u, ni, "mode", "linear"));
    struct oq_node *w = &u->g->nodes[ni];
    char *t = malloc(sizeof("Resize"));
    if (!t)
        return nomem(u);
    memcpy(t, "Resize", sizeof("Resize"));
    free(w->op_type);
    w->op_type = t;
    return up_resize_from(u, ni, 10, true, true);
}

static oq_status up_none(struct up *u, int ni, int from, bool apply) { return OQ_OK; }

/* Every op reviewed for 9..21, sorted by name (bsearch). */
static const struct up_rule {
    const char *op;
    up_fn fn;
} rules[] = {
    {"Abs", up_none},
    {"Add", up_none},
    {"ArgMax", up_none},
    {"ArgMin", up_none},
    {"AveragePool", up_none},
    {"BatchNormalization", up_batchnorm},
    {"Cast", up_none},
    {"Ceil", up_none},
    {"Clip", up_clip},
    {"Concat", up_none},
    {"Constant", up_none},
    {"ConstantOfShape", up_none},
    {"Conv", up_none},
    {"ConvTranspose", up_none},
    {"DequantizeLinear", up_none},
    {"Div", up_none},
    {"Dropout", up_dropout},
    {"Equal", up_none},
    {"Erf", up_none},
    {"Exp", up_none},
    {"Expand", up_none},
    {"Flatten", up_none},
    {"Floor", up_none},
    {"Gather", up_none},
    {"Gemm", up_none},
    {"GlobalAveragePool", up_none},
    {"GlobalMaxPool", up_none},
    {"HardSigmoid", up_none},
    {"HardSwish", up_none},
    {"Identity", up_none},
    {"LayerNormalization", up_none},
    {"LeakyRelu", up_none},
    {"Log", up_none},
    {"LogSoftmax", up_softmax},
    {"MatMul", up_none},
    {"MaxPool", up_none},
    {"Mul", up_none},
    {"Neg", up_none},
    {"PRelu", up_none},
    {"Pad", up_pad},
    {"Pow", up_none},
    {"QuantizeLinear", up_none},
    {"Range", up_none},
    {"Reciprocal", up_none},
    {"ReduceL1", up_reduce18},
    {"ReduceL2", up_reduce18},
    {"ReduceLogSum", up_reduce18},
    {"ReduceLogSumExp", up_reduce18},
    {"ReduceMax", up_reduce18},
    {"ReduceMean", up_reduce18},
    {"ReduceMin", up_reduce18},
    {"ReduceProd", up_reduce18},
    {"ReduceSum", up_reduce13},
    {"ReduceSumSquare", up_reduce18},
    {"Relu", up_none},
    {"Reshape", up_none},
    {"Resize", up_resize},
    {"Shape", up_none},
    {"Sigmoid", up_none},
    {"Slice", up_slice},
    {"Softmax", up_softmax},
    {"Softplus", up_none},
    {"Split", up_split},
    {"Sqrt", up_none},
    {"Squeeze", up_squeeze},
    {"Sub", up_none},
    {"Tanh", up_none},
    {"TopK", up_topk},
    {"Transpose", up_none},
    {"Unsqueeze", up_squeeze},
    {"Upsample", up_upsample},
    {"Where", up_none},
};

static int rule_cmp(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const struct up_rule *)elem)->op);
}

static const struct up_rule *find_rule(const char *op) {
    return bsearch(op, rules, sizeof(rules) / sizeof(rules[0]), sizeof(rules[0]), rule_cmp);
}

/* ------------------------------------------------------------------ driver */

static oq_status run_rules(struct up *u, int n_orig, bool apply) {
    for (int i = 0; i < n_orig; i++) {
        const struct oq_node *n = &u->g->nodes[i];
        if (!is_default_domain(n))
            continue;
        const struct up_rule *r = find_rule(n->op_type);
        if (!r)
            return refuse(u, i, OQ_ERR_UNSUPPORTED,
                          "the op's changes between these opsets were not reviewed (see graph/opset_upgrade.h)");
        OQ_TRY(r->fn(u, i, u->from, apply));
    }
    return OQ_OK;
}

oq_status oq_graph_upgrade_opset(struct oq_graph *g, int target, oq_error *err) {
    if (!g)
        return oq_errorf(err, OQ_ERR_ARG, "oq_graph_upgrade_opset: graph is NULL");
    int64_t from = oq_graph_opset(g, "");
    if (from == 0)
        return oq_errorf(err, OQ_ERR_MODEL, "%s: the graph imports no default-domain opset", g->source);
    if (target < from)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: the graph is at opset %lld; downgrading to %d is not supported",
                         g->source, (long long)from, target);
    if (target > OQ_OPSET_UPGRADE_MAX)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED,
                         "%s: upgrading to opset %d is not supported: op changes are reviewed up to opset %d",
                         g->source, target, OQ_OPSET_UPGRADE_MAX);
    if (from < 9)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED,
                         "%s: the graph is at opset %lld; upgrading from before opset 9 is not supported "
                         "(BatchNormalization spatial, Upsample scales, Cast and MaxPool changed before 9): "
                         "convert the model to opset 9 or later first (onnx.version_converter)",
                         g->source, (long long)from);
    struct up u = {.g = g, .from = (int)from, .to = target, .err = err};
    OQ_TRY(oq_graph_toposort(g, err));
    oq_status st = infer_all(&u);
    int n_orig = g->n_nodes;
    if (!st)
        st = run_rules(&u, n_orig, false);
    if (!st)
        st = run_rules(&u, n_orig, true);
    free(u.vi);
    if (st)
        return st;
    if (u.orphaned) { /* values nothing produces or reads any more (dropped outputs, detached constants) */
        bool *keep_all = calloc((size_t)g->n_nodes + 1, sizeof(bool));
        if (!keep_all)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory upgrading the opset", g->source);
        oq_graph_remove_nodes(g, keep_all);
        free(keep_all);
    }
    for (int i = 0; i < g->n_opsets; i++)
        if (!*g->opsets[i].domain || !strcmp(g->opsets[i].domain, "ai.onnx"))
            g->opsets[i].version = target;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        if (is_default_domain(n)) {
            n->opset = target;
            n->def = NULL;
        }
    }
    return oq_graph_toposort(g, err);
}
