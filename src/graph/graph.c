#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupstr(const char *s) {
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

struct oq_graph *oq_graph_new(void) { return calloc(1, sizeof(struct oq_graph)); }

struct oq_tensor *oq_tensor_new(enum oq_dtype dt, int ndim, const int64_t *dims, const char *name) {
    if (ndim < 0 || ndim > OQ_MAX_DIMS)
        return NULL;
    struct oq_tensor *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) {
            free(t);
            return NULL;
        }
        t->dims[i] = dims[i];
    }
    t->name = name ? dupstr(name) : NULL;
    size_t bytes = oq_tensor_bytes(t);
    t->data = oq_alloc_aligned(bytes);
    if (!t->data || (name && !t->name)) {
        oq_tensor_free(t);
        return NULL;
    }
    memset(t->data, 0, bytes);
    return t;
}

struct oq_tensor *oq_tensor_clone(const struct oq_tensor *src, const char *name) {
    struct oq_tensor *t = oq_tensor_new(src->dtype, src->ndim, src->dims, name ? name : src->name);
    if (t)
        memcpy(t->data, src->data, oq_tensor_bytes(src));
    return t;
}

void oq_tensor_free(struct oq_tensor *t) {
    if (!t)
        return;
    oq_free_aligned(t->data);
    free((char *)t->name);
    free(t);
}

static void attr_clear(struct oq_attr *a) {
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

static void node_clear(struct oq_node *n) {
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->in);
    free(n->out);
    free(n->doc);
    for (int i = 0; i < n->n_attr; i++)
        attr_clear(&n->attrs[i]);
    free(n->attrs);
}

static void value_clear(struct oq_value *v, bool borrowed) {
    free(v->name);
    for (int i = 0; i < OQ_MAX_DIMS; i++)
        free(v->dim_param[i]);
    if (!borrowed)
        oq_tensor_free(v->init);
}

void oq_graph_free(struct oq_graph *g) {
    if (!g)
        return;
    for (int i = 0; i < g->n_values; i++)
        value_clear(&g->values[i], g->inits_borrowed);
    for (int i = 0; i < g->n_nodes; i++)
        node_clear(&g->nodes[i]);
    for (int i = 0; i < g->n_opsets; i++)
        free(g->opsets[i].domain);
    free(g->opsets);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    free((char *)g->source);
    free(g);
}

int oq_graph_find_value(const struct oq_graph *g, const char *name) {
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return -1;
}

int oq_graph_add_value(struct oq_graph *g, const char *name) {
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        struct oq_value *nv = realloc(g->values, (size_t)cap * sizeof(*nv));
        if (!nv)
            return -1;
        g->values = nv;
        g->cap_values = cap;
    }
    struct oq_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof(*v));
    v->name = dupstr(name);
    if (!v->name)
        return -1;
    v->ndim = -1;
    v->producer = -1;
    return g->n_values++;
}

int oq_graph_add_node(struct oq_graph *g, const char *name, const char *op_type, const char *domain, int n_in,
                      const int *in, int n_out, const int *out) {
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        struct oq_node *nn = realloc(g->nodes, (size_t)cap * sizeof(*nn));
        if (!nn)
            return -1;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    struct oq_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof(*n));
    n->name = dupstr(name);
    n->op_type = dupstr(op_type);
    n->domain = dupstr(domain);
    n->in = malloc(sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    n->out = malloc(sizeof(int) * (size_t)(n_out > 0 ? n_out : 1));
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out) {
        node_clear(n);
        return -1;
    }
    n->n_in = n_in;
    n->n_out = n_out;
    if (n_in)
        memcpy(n->in, in, sizeof(int) * (size_t)n_in);
    if (n_out)
        memcpy(n->out, out, sizeof(int) * (size_t)n_out);
    return g->n_nodes++;
}

struct oq_attr *oq_node_add_attr(struct oq_node *n, const char *name, enum oq_attr_type type) {
    struct oq_attr *na = realloc(n->attrs, sizeof(*na) * (size_t)(n->n_attr + 1));
    if (!na)
        return NULL;
    n->attrs = na;
    struct oq_attr *a = &na[n->n_attr];
    memset(a, 0, sizeof(*a));
    a->name = dupstr(name);
    if (!a->name)
        return NULL;
    a->type = type;
    n->n_attr++;
    return a;
}

void oq_node_clear_attrs(struct oq_node *n) {
    for (int i = 0; i < n->n_attr; i++)
        attr_clear(&n->attrs[i]);
    free(n->attrs);
    n->attrs = NULL;
    n->n_attr = 0;
}

int64_t oq_graph_opset(const struct oq_graph *g, const char *domain) {
    if (!domain || strcmp(domain, "ai.onnx") == 0)
        domain = "";
    for (int i = 0; i < g->n_opsets; i++) {
        const char *d = g->opsets[i].domain;
        if (strcmp(d, "ai.onnx") == 0)
            d = "";
        if (strcmp(d, domain) == 0)
            return g->opsets[i].version;
    }
    return 0;
}

bool oq_node_set_op(struct oq_node *n, const char *domain, const char *op_type) {
    char *d = dupstr(domain), *o = dupstr(op_type);
    if (!d || !o) {
        free(d);
        free(o);
        return false;
    }
    free(n->domain);
    free(n->op_type);
    n->domain = d;
    n->op_type = o;
    return true;
}

bool oq_graph_import_domain(struct oq_graph *g, const char *domain, int64_t version) {
    for (int i = 0; i < g->n_opsets; i++)
        if (!strcmp(g->opsets[i].domain, domain))
            return true;
    struct oq_opset *o = realloc(g->opsets, sizeof(*o) * (size_t)(g->n_opsets + 1));
    if (!o)
        return false;
    g->opsets = o;
    if (!(o[g->n_opsets].domain = dupstr(domain)))
        return false;
    o[g->n_opsets].version = version;
    g->n_opsets++;
    return true;
}

const struct oq_attr *oq_node_attr(const struct oq_node *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t oq_attr_int(const struct oq_node *n, const char *name, int64_t dflt) {
    const struct oq_attr *a = oq_node_attr(n, name);
    return a && a->type == OQ_ATTR_INT ? a->i : dflt;
}

float oq_attr_float(const struct oq_node *n, const char *name, float dflt) {
    const struct oq_attr *a = oq_node_attr(n, name);
    if (!a)
        return dflt;
    if (a->type == OQ_ATTR_FLOAT)
        return a->f;
    if (a->type == OQ_ATTR_INT)
        return (float)a->i;
    return dflt;
}

const char *oq_attr_string(const struct oq_node *n, const char *name, const char *dflt) {
    const struct oq_attr *a = oq_node_attr(n, name);
    return a && a->type == OQ_ATTR_STRING ? a->s : dflt;
}

int64_t oq_attr_ints(const struct oq_node *n, const char *name, const int64_t **v) {
    const struct oq_attr *a = oq_node_attr(n, name);
    if (!a || a->type != OQ_ATTR_INTS)
        return -1;
    *v = a->ints;
    return a->n;
}

int64_t oq_attr_floats(const struct oq_node *n, const char *name, const float **v) {
    const struct oq_attr *a = oq_node_attr(n, name);
    if (!a || a->type != OQ_ATTR_FLOATS)
        return -1;
    *v = a->floats;
    return a->n;
}

oq_status oq_graph_link(struct oq_graph *g, oq_error *err) {
    for (int i = 0; i < g->n_values; i++)
        g->values[i].producer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            struct oq_value *val = &g->values[v];
            if (val->producer >= 0)
                return oq_errorf(err, OQ_ERR_MODEL,
                                 "%s: value '%s' is produced by two nodes ('%s' and '%s'); ONNX graphs must be "
                                 "in single-assignment form",
                                 g->source, val->name, g->nodes[val->producer].name, n->name);
            if (val->init || val->is_input)
                return oq_errorf(err, OQ_ERR_MODEL,
                                 "%s: node '%s' (%s) writes '%s', which is already a graph input or initializer",
                                 g->source, n->name, n->op_type, val->name);
            val->producer = i;
        }
    }
    return OQ_OK;
}

oq_status oq_graph_toposort(struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_graph_link(g, err));
    int nn = g->n_nodes;
    if (nn == 0)
        return OQ_OK;
    int *indeg = calloc((size_t)nn, sizeof(int));
    int *order = malloc(sizeof(int) * (size_t)nn);
    /* consumers in CSR form: for node i, the nodes that read one of its outputs */
    int *cnt = calloc((size_t)nn + 1, sizeof(int));
    int total = 0;
    oq_status st = OQ_OK;
    int *adj = NULL;
    if (!indeg || !order || !cnt) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory sorting the graph", g->source);
        goto done;
    }
    for (int i = 0; i < nn; i++) {
        const struct oq_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v < 0)
                continue;
            const struct oq_value *val = &g->values[v];
            if (val->producer < 0 && !val->init && !val->is_input) {
                st = oq_errorf(err, OQ_ERR_MODEL,
                               "%s: node '%s' (%s) reads '%s', which no node produces and which is neither a "
                               "graph input nor an initializer (a dangling input or a missing initializer)",
                               g->source, n->name, n->op_type, val->name);
                goto done;
            }
            if (val->producer >= 0) {
                cnt[val->producer]++;
                indeg[i]++;
                total++;
            }
        }
    }
    adj = malloc(sizeof(int) * (size_t)(total > 0 ? total : 1));
    if (!adj) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory sorting the graph", g->source);
        goto done;
    }
    /* prefix sums -> start offsets; then fill */
    int acc = 0;
    for (int i = 0; i <= nn; i++) {
        int c = cnt[i];
        cnt[i] = acc;
        acc += c;
    }
    {
        int *fill = calloc((size_t)nn, sizeof(int));
        if (!fill) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory sorting the graph", g->source);
            goto done;
        }
        for (int i = 0; i < nn; i++) {
            const struct oq_node *n = &g->nodes[i];
            for (int k = 0; k < n->n_in; k++) {
                int v = n->in[k];
                if (v >= 0 && g->values[v].producer >= 0) {
                    int p = g->values[v].producer;
                    adj[cnt[p] + fill[p]++] = i;
                }
            }
        }
        free(fill);
    }
    /* Kahn with a min-heap would keep file order exactly; a FIFO of ready nodes scanned in index order is
     * close enough and linear. */
    int head = 0, tail = 0;
    for (int i = 0; i < nn; i++)
        if (indeg[i] == 0)
            order[tail++] = i;
    while (head < tail) {
        int i = order[head++];
        for (int e = cnt[i]; e < cnt[i + 1]; e++)
            if (--indeg[adj[e]] == 0)
                order[tail++] = adj[e];
    }
    if (tail < nn) {
        int bad = -1;
        for (int i = 0; i < nn; i++)
            if (indeg[i] > 0) {
                bad = i;
                break;
            }
        st = oq_errorf(err, OQ_ERR_MODEL,
                       "%s: the graph has a cycle (%d of %d nodes are on or behind it, e.g. node '%s' (%s)); "
                       "ONNX graphs must be acyclic",
                       g->source, nn - tail, nn, g->nodes[bad].name, g->nodes[bad].op_type);
        goto done;
    }
    {
        struct oq_node *sorted = malloc(sizeof(*sorted) * (size_t)g->cap_nodes);
        if (!sorted) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory sorting the graph", g->source);
            goto done;
        }
        for (int i = 0; i < nn; i++)
            sorted[i] = g->nodes[order[i]];
        free(g->nodes);
        g->nodes = sorted;
    }
    st = oq_graph_link(g, err);
done:
    free(indeg);
    free(order);
    free(cnt);
    free(adj);
    return st;
}

void oq_graph_replace_uses(struct oq_graph *g, int from, int to) {
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == from)
                n->in[k] = to;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == from)
            g->outputs[i] = to;
}

int oq_graph_count_uses(const struct oq_graph *g, int v) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            c += g->nodes[i].in[k] == v;
    for (int i = 0; i < g->n_outputs; i++)
        c += g->outputs[i] == v;
    return c;
}

static bool name_taken(const struct oq_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].name && !strcmp(g->nodes[i].name, name))
            return true;
    return oq_graph_find_value(g, name) >= 0;
}

void oq_graph_unique_name(const struct oq_graph *g, const char *base, const char *suffix, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%s", base, suffix);
    for (int k = 1; name_taken(g, buf); k++)
        snprintf(buf, cap, "%s%s_%d", base, suffix, k);
}

void oq_graph_count_all_uses(const struct oq_graph *g, int *uses) {
    memset(uses, 0, sizeof(int) * (size_t)g->n_values);
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                uses[g->nodes[i].in[k]]++;
    for (int i = 0; i < g->n_outputs; i++)
        uses[g->outputs[i]]++;
}

int oq_graph_add_zero_bias(struct oq_graph *g, int node, int64_t co, const char *suffix) {
    struct oq_node *n = &g->nodes[node];
    if (n->n_in < 2)
        return -1;
    const char *base = n->name && *n->name ? n->name : g->values[n->out[0]].name;
    char name[512];
    oq_graph_unique_name(g, base, suffix, name, sizeof(name));
    struct oq_tensor *t = oq_tensor_new(OQ_DTYPE_FLOAT, 1, &co, name);
    int *in = t ? realloc(n->in, sizeof(int) * 3) : NULL;
    if (!in) {
        oq_tensor_free(t);
        return -1;
    }
    n->in = in;
    int v = oq_graph_add_value(g, name); /* grows g->values only */
    if (v < 0) {
        oq_tensor_free(t);
        return -1;
    }
    g->values[v].init = t;
    g->values[v].dtype = OQ_DTYPE_FLOAT;
    g->values[v].ndim = 1;
    g->values[v].dims[0] = co;
    g->nodes[node].n_in = 3;
    g->nodes[node].in[2] = v;
    return v;
}

void oq_graph_remove_nodes(struct oq_graph *g, const bool *dead) {
    int w = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (dead[i])
            node_clear(&g->nodes[i]);
        else
            g->nodes[w++] = g->nodes[i];
    }
    g->n_nodes = w;
    /* drop values nothing refers to any more (keeps ids dense) */
    int nv = g->n_values;
    bool *used = calloc((size_t)nv, sizeof(bool));
    int *remap = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    if (!used || !remap) { /* keeping unused values is harmless */
        free(used);
        free(remap);
        oq_graph_link(g, NULL);
        return;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                used[g->nodes[i].in[k]] = true;
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                used[g->nodes[i].out[k]] = true;
    }
    for (int i = 0; i < g->n_inputs; i++)
        used[g->inputs[i]] = true;
    for (int i = 0; i < g->n_outputs; i++)
        used[g->outputs[i]] = true;
    int k = 0;
    for (int i = 0; i < nv; i++) {
        if (used[i]) {
            remap[i] = k;
            g->values[k++] = g->values[i];
        } else {
            remap[i] = -1;
            value_clear(&g->values[i], g->inits_borrowed);
        }
    }
    g->n_values = k;
    for (int i = 0; i < g->n_nodes; i++) {
        for (int j = 0; j < g->nodes[i].n_in; j++)
            if (g->nodes[i].in[j] >= 0)
                g->nodes[i].in[j] = remap[g->nodes[i].in[j]];
        for (int j = 0; j < g->nodes[i].n_out; j++)
            if (g->nodes[i].out[j] >= 0)
                g->nodes[i].out[j] = remap[g->nodes[i].out[j]];
    }
    for (int i = 0; i < g->n_inputs; i++)
        g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++)
        g->outputs[i] = remap[g->outputs[i]];
    free(used);
    free(remap);
    oq_graph_link(g, NULL);
}

static bool attr_copy(struct oq_attr *d, const struct oq_attr *a) {
    memset(d, 0, sizeof(*d));
    d->name = dupstr(a->name);
    d->type = a->type;
    d->f = a->f;
    d->i = a->i;
    d->n = a->n;
    d->s_len = a->s_len;
    bool ok = d->name != NULL;
    if (a->s) {
        d->s = malloc(a->s_len + 1);
        ok &= d->s != NULL;
        if (d->s)
            memcpy(d->s, a->s, a->s_len + 1);
    }
    if (a->floats) {
        d->floats = malloc(sizeof(float) * (size_t)(a->n ? a->n : 1));
        ok &= d->floats != NULL;
        if (d->floats)
            memcpy(d->floats, a->floats, sizeof(float) * (size_t)a->n);
    }
    if (a->ints) {
        d->ints = malloc(sizeof(int64_t) * (size_t)(a->n ? a->n : 1));
        ok &= d->ints != NULL;
        if (d->ints)
            memcpy(d->ints, a->ints, sizeof(int64_t) * (size_t)a->n);
    }
    if (a->strings) {
        d->strings = calloc((size_t)(a->n ? a->n : 1), sizeof(char *));
        ok &= d->strings != NULL;
        for (int64_t k = 0; d->strings && k < a->n; k++)
            ok &= (d->strings[k] = dupstr(a->strings[k])) != NULL;
    }
    if (a->t)
        ok &= (d->t = oq_tensor_clone(a->t, NULL)) != NULL;
    if (a->opaque) {
        d->opaque = malloc(a->opaque_len ? a->opaque_len : 1);
        ok &= d->opaque != NULL;
        if (d->opaque)
            memcpy(d->opaque, a->opaque, a->opaque_len);
        d->opaque_len = a->opaque_len;
    }
    return ok;
}

struct oq_graph *oq_graph_clone(const struct oq_graph *src, bool copy_inits) {
    struct oq_graph *g = oq_graph_new();
    if (!g)
        return NULL;
    g->inits_borrowed = !copy_inits;
    g->name = dupstr(src->name);
    g->source = dupstr(src->source);
    g->inputs = malloc(sizeof(int) * (size_t)(src->n_inputs + 1));
    g->outputs = malloc(sizeof(int) * (size_t)(src->n_outputs + 1));
    g->opsets = calloc((size_t)src->n_opsets + 1, sizeof(struct oq_opset));
    if (!g->name || !g->source || !g->inputs || !g->outputs || !g->opsets)
        goto fail;
    for (int i = 0; i < src->n_opsets; i++) {
        g->opsets[i].version = src->opsets[i].version;
        if (!(g->opsets[i].domain = dupstr(src->opsets[i].domain)))
            goto fail;
        g->n_opsets++;
    }
    g->n_inputs = src->n_inputs;
    g->n_outputs = src->n_outputs;
    if (src->n_inputs)
        memcpy(g->inputs, src->inputs, sizeof(int) * (size_t)src->n_inputs);
    if (src->n_outputs)
        memcpy(g->outputs, src->outputs, sizeof(int) * (size_t)src->n_outputs);
    for (int i = 0; i < src->n_values; i++) {
        const struct oq_value *sv = &src->values[i];
        if (oq_graph_add_value(g, sv->name) != i)
            goto fail;
        struct oq_value *v = &g->values[i];
        char *name = v->name;
        *v = *sv;
        v->name = name;
        for (int d = 0; d < OQ_MAX_DIMS; d++)
            v->dim_param[d] = sv->dim_param[d] ? dupstr(sv->dim_param[d]) : NULL;
        if (copy_inits && sv->init && !(v->init = oq_tensor_clone(sv->init, sv->name)))
            goto fail;
    }
    for (int i = 0; i < src->n_nodes; i++) {
        const struct oq_node *sn = &src->nodes[i];
        int k = oq_graph_add_node(g, sn->name, sn->op_type, sn->domain, sn->n_in, sn->in, sn->n_out, sn->out);
        if (k < 0)
            goto fail;
        struct oq_node *n = &g->nodes[k];
        n->opset = sn->opset;
        n->def = sn->def;
        if (sn->n_attr) {
            n->attrs = calloc((size_t)sn->n_attr, sizeof(struct oq_attr));
            if (!n->attrs)
                goto fail;
            for (int a = 0; a < sn->n_attr; a++) {
                n->n_attr++;
                if (!attr_copy(&n->attrs[a], &sn->attrs[a]))
                    goto fail;
            }
        }
    }
    return g;
fail:
    oq_graph_free(g);
    return NULL;
}
