#include "analyse/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/config.h"

static const char DQ_SUFFIX[] = "_DequantizeLinear_Output", Q_SUFFIX[] = "_QuantizeLinear_Output";

/* The quantized model and, with split, its two halves: weights only (activation Q/DQ removed) and activations
 * only (weights back to the FP32 values). */
enum { V_FULL, V_WEIGHTS, V_ACTS, N_VARIANTS };

struct sums {
    double ab, bb, dd, max_abs;
    int64_t count;
};

struct layer {
    int fv;           /* FP32 value id */
    int qv;           /* quantized model's value id compared with it */
    int fnode;        /* FP32 producer */
    bool quantized, left_float;
    float lo, hi;     /* quantizer range (quantized) */
    float *buf;       /* this batch's FP32 values (owned) */
    int64_t n_buf, cap, ndim_buf;
    int64_t dims_buf[OQ_MAX_DIMS];
    bool have;        /* buf holds this batch's tensor */
    double aa;
    int64_t clipped;
    struct sums v[N_VARIANTS];
    int64_t hist[OQ_COMPARE_BINS]; /* FP32 values over hist_lo..hist_hi (quantized layers) */
    float hist_lo, hist_hi;
};

struct variant {
    struct oq_model *own;         /* the model, when made here (split) */
    const struct oq_model *m;
    oq_session *s;
    int *by_v;                    /* value id -> layer index or -1 */
};

struct oq_compare {
    const struct oq_model *fp;
    oq_session *sf;
    struct variant var[N_VARIANTS];
    int n_var;
    int cur;                      /* the variant running */
    struct layer *layers;
    int n_layers;
    int *by_fv;                   /* FP32 value id -> layer index or -1 */
    int64_t batches;
    oq_error hook_err;
};

static const struct oq_tensor *init_of(const struct oq_graph *g, int v) { return v >= 0 ? g->values[v].init : NULL; }

/* Range of the QuantizeLinear named T_QuantizeLinear_Output in g (the one the writer makes for T). */
static bool quant_range(const struct oq_graph *g, const char *tensor, float *lo, float *hi) {
    char name[1024];
    snprintf(name, sizeof(name), "%s%s", tensor, Q_SUFFIX);
    int v = oq_graph_find_value(g, name);
    if (v < 0 || g->values[v].producer < 0)
        return false;
    const struct oq_node *q = &g->nodes[g->values[v].producer];
    const struct oq_tensor *s = init_of(g, q->in[1]), *z = q->n_in > 2 ? init_of(g, q->in[2]) : NULL;
    if (strcmp(q->op_type, "QuantizeLinear") || !s || s->dtype != OQ_DTYPE_FLOAT || oq_tensor_numel(s) != 1)
        return false;
    enum oq_dtype qt = z ? z->dtype : OQ_DTYPE_UINT8;
    double zp = z ? oq_tensor_get_f64(z, 0) : 0, qmin, qmax;
    switch (qt) {
    case OQ_DTYPE_UINT8: qmin = 0, qmax = 255; break;
    case OQ_DTYPE_INT8: qmin = -128, qmax = 127; break;
    case OQ_DTYPE_UINT16: qmin = 0, qmax = 65535; break;
    case OQ_DTYPE_INT16: qmin = -32768, qmax = 32767; break;
    default: return false;
    }
    float sc = *(const float *)s->data;
    *lo = (float)((qmin - zp) * sc);
    *hi = (float)((qmax - zp) * sc);
    return true;
}

static int64_t numel_of(const oq_tensor_ref *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->dims[d];
    return n;
}

/* FP32 run: keep a copy of every matched tensor. */
static int hook_fp(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                   const oq_tensor_ref *outs) {
    struct oq_compare *c = user;
    const struct oq_node *n = &oq_model_graph(c->fp)->nodes[node_index];
    for (int k = 0; k < n_out && k < n->n_out; k++) {
        int v = n->out[k], li = v >= 0 ? c->by_fv[v] : -1;
        if (li < 0 || outs[k].dtype != OQ_DTYPE_FLOAT || !outs[k].data)
            continue;
        struct layer *L = &c->layers[li];
        int64_t ne = numel_of(&outs[k]);
        if (ne > L->cap) {
            float *nb = realloc(L->buf, sizeof(float) * (size_t)ne);
            if (!nb) {
                oq_errorf(&c->hook_err, OQ_ERR_NOMEM, "out of memory keeping tensor '%s' of node '%s' (%s)",
                          outs[k].name ? outs[k].name : "?", node_name, op_type);
                return 1;
            }
            L->buf = nb;
            L->cap = ne;
        }
        memcpy(L->buf, outs[k].data, sizeof(float) * (size_t)ne);
        L->n_buf = ne;
        L->ndim_buf = outs[k].ndim;
        memcpy(L->dims_buf, outs[k].dims, sizeof(L->dims_buf));
        L->have = true;
    }
    return 0;
}

/* Quantized run: accumulate against the kept FP32 tensor. */
static int hook_q(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                  const oq_tensor_ref *outs) {
    struct oq_compare *c = user;
    const struct variant *V = &c->var[c->cur];
    const struct oq_graph *gq = oq_model_graph(V->m);
    const struct oq_node *n = &gq->nodes[node_index];
    for (int k = 0; k < n_out && k < n->n_out; k++) {
        int v = n->out[k], li = v >= 0 ? V->by_v[v] : -1;
        if (li < 0 || outs[k].dtype != OQ_DTYPE_FLOAT || !outs[k].data)
            continue;
        struct layer *L = &c->layers[li];
        struct sums *S = &L->v[c->cur];
        if (!L->have)
            continue;
        int64_t ne = numel_of(&outs[k]);
        if (ne != L->n_buf || outs[k].ndim != L->ndim_buf ||
            memcmp(outs[k].dims, L->dims_buf, sizeof(int64_t) * (size_t)L->ndim_buf)) {
            oq_errorf(&c->hook_err, OQ_ERR_SHAPE,
                      "tensor '%s' has %lld values in the FP32 model but '%s' (node '%s', %s) has %lld in the "
                      "quantized one: are these two versions of the same model?",
                      oq_model_graph(c->fp)->values[L->fv].name, (long long)L->n_buf, gq->values[v].name, node_name,
                      op_type, (long long)ne);
            return 1;
        }
        const float *a = L->buf, *b = outs[k].data;
        double ab = 0, aa = 0, bb = 0, dd = 0, mx = S->max_abs;
        int64_t clipped = 0;
        for (int64_t i = 0; i < ne; i++) {
            double x = a[i], y = b[i], e = x - y;
            ab += x * y, aa += x * x, bb += y * y, dd += e * e;
            mx = fabs(e) > mx ? fabs(e) : mx;
            clipped += L->quantized && (a[i] < L->lo || a[i] > L->hi);
        }
        S->ab += ab, S->bb += bb, S->dd += dd, S->max_abs = mx;
        S->count += ne;
        if (c->cur == V_FULL) { /* FP32-only figures once */
            L->aa += aa;
            L->clipped += clipped;
            if (L->quantized && L->hist_hi > L->hist_lo) {
                float inv = (float)OQ_COMPARE_BINS / (L->hist_hi - L->hist_lo);
                for (int64_t i = 0; i < ne; i++) {
                    float f = (a[i] - L->hist_lo) * inv;
                    int bin = f < 0 ? 0 : f >= OQ_COMPARE_BINS ? OQ_COMPARE_BINS - 1 : (int)f;
                    L->hist[bin]++;
                }
            }
        }
    }
    return 0;
}

/* The quantized model's producer of tensor t is a weighted op that runs in float: its weight (input 0 or 1) is
 * a float initializer, or, with two activation inputs (MatMul), neither comes from a DequantizeLinear. (Its
 * activation input alone says nothing: a quantized neighbour may share that DequantizeLinear.) */
static bool left_float(const struct oq_graph *gq, const char *t) {
    int v = oq_graph_find_value(gq, t);
    int p = v >= 0 ? gq->values[v].producer : -1;
    if (p < 0 || *gq->nodes[p].domain || !oq_quant_op_is_weighted(gq->nodes[p].op_type))
        return false;
    const struct oq_node *n = &gq->nodes[p];
    bool from_dq = false;
    for (int k = 0; k < n->n_in && k < 2; k++) {
        if (n->in[k] < 0)
            continue;
        const struct oq_value *in = &gq->values[n->in[k]];
        if (in->init && in->init->dtype == OQ_DTYPE_FLOAT)
            return true;
        from_dq |= in->producer >= 0 && !strcmp(gq->nodes[in->producer].op_type, "DequantizeLinear");
    }
    return !from_dq;
}

/* Match every FP32 node output with the quantized model's tensor of the same name (its DequantizeLinear output
 * when there is one). */
static oq_status build_layers(struct oq_compare *c, oq_error *err) {
    const struct oq_graph *gf = oq_model_graph(c->fp), *gq = oq_model_graph(c->var[V_FULL].m);
    c->by_fv = malloc(sizeof(int) * (size_t)(gf->n_values + 1));
    c->layers = calloc((size_t)gf->n_values + 1, sizeof(*c->layers));
    int *by_qv = c->var[V_FULL].by_v = malloc(sizeof(int) * (size_t)(gq->n_values + 1));
    if (!c->by_fv || !by_qv || !c->layers)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    for (int v = 0; v < gf->n_values; v++)
        c->by_fv[v] = -1;
    for (int v = 0; v < gq->n_values; v++)
        by_qv[v] = -1;
    char name[1024];
    int outputs = 0;
    for (int i = 0; i < gf->n_nodes; i++) {
        const struct oq_node *n = &gf->nodes[i];
        outputs += n->n_out;
        for (int k = 0; k < n->n_out; k++) {
            int fv = n->out[k];
            if (fv < 0 || c->by_fv[fv] >= 0)
                continue;
            const char *t = gf->values[fv].name;
            snprintf(name, sizeof(name), "%s%s", t, DQ_SUFFIX);
            int qv = oq_graph_find_value(gq, name);
            bool quantized = qv >= 0;
            if (qv < 0)
                qv = oq_graph_find_value(gq, t);
            if (qv < 0 || gq->values[qv].producer < 0 || by_qv[qv] >= 0)
                continue;
            struct layer *L = &c->layers[c->n_layers];
            L->fv = fv, L->qv = qv, L->fnode = i;
            L->quantized = quantized && quant_range(gq, t, &L->lo, &L->hi);
            if (L->quantized) { /* the quantizer's range and half of it again on each side: clipping shows */
                float w = L->hi - L->lo;
                L->hist_lo = L->lo - 0.5f * w;
                L->hist_hi = L->hi + 0.5f * w;
            }
            L->left_float = left_float(gq, t);
            c->by_fv[fv] = by_qv[qv] = c->n_layers++;
        }
    }
    /* a quantized model made from this FP32 one keeps (nearly) every tensor name */
    if (c->n_layers == 0 || 2 * c->n_layers < outputs)
        return oq_errorf(err, OQ_ERR_ARG,
                         "%s and %s have only %d of %d tensor names in common: compare needs an FP32 model and the "
                         "QDQ model made from it (which keeps the tensor names)",
                         c->fp->path ? c->fp->path : "FP32 model",
                         c->var[V_FULL].m->path ? c->var[V_FULL].m->path : "quantized model", c->n_layers, outputs);
    return OQ_OK;
}

/* A variant's tensors: the full model's value names (which the variants keep), or the plain tensor name where
 * the variant dropped a DequantizeLinear. */
static oq_status map_variant(struct oq_compare *c, struct variant *V, oq_error *err) {
    const struct oq_graph *g = oq_model_graph(V->m), *gq = oq_model_graph(c->var[V_FULL].m),
                          *gf = oq_model_graph(c->fp);
    V->by_v = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    if (!V->by_v)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    for (int v = 0; v < g->n_values; v++)
        V->by_v[v] = -1;
    for (int i = 0; i < c->n_layers; i++) {
        const struct layer *L = &c->layers[i];
        int v = oq_graph_find_value(g, gq->values[L->qv].name);
        if (v < 0 || g->values[v].producer < 0)
            v = oq_graph_find_value(g, gf->values[L->fv].name);
        if (v >= 0 && g->values[v].producer >= 0 && V->by_v[v] < 0)
            V->by_v[v] = i;
    }
    return OQ_OK;
}

/* Weights only: every QuantizeLinear of an activation and the DequantizeLinear nodes reading it are removed
 * (their readers read the float tensor). Activations only: every DequantizeLinear of a constant whose FP32
 * value exists in the FP32 model under the tensor's name is replaced by that FP32 value. */
static oq_status make_variant(struct oq_compare *c, int kind, struct oq_model **out, oq_error *err) {
    const struct oq_graph *gq = oq_model_graph(c->var[V_FULL].m), *gf = oq_model_graph(c->fp);
    struct oq_graph *g = oq_graph_clone(gq, true);
    bool *dead = g ? calloc((size_t)g->n_nodes + 1, sizeof(bool)) : NULL;
    if (!dead) {
        oq_graph_free(g);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory making the %s variant",
                         kind == V_WEIGHTS ? "weights-only" : "activations-only");
    }
    char base[1024];
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        if (*n->domain || n->n_in < 1 || n->n_out != 1 || n->in[0] < 0)
            continue;
        bool constant = g->values[n->in[0]].init != NULL;
        if (kind == V_WEIGHTS && !strcmp(n->op_type, "QuantizeLinear") && !constant) {
            /* DQ(Q(x)) -> x for every DequantizeLinear reading this Q */
            for (int j = i + 1; j < g->n_nodes; j++) {
                struct oq_node *d = &g->nodes[j];
                if (!*d->domain && !strcmp(d->op_type, "DequantizeLinear") && d->in[0] == n->out[0] && d->n_out == 1 &&
                    !g->values[d->out[0]].is_output) {
                    oq_graph_replace_uses(g, d->out[0], n->in[0]);
                    dead[j] = true;
                }
            }
            dead[i] = oq_graph_count_uses(g, n->out[0]) == 0;
        } else if (kind == V_ACTS && !strcmp(n->op_type, "DequantizeLinear") && constant) {
            const char *o = g->values[n->out[0]].name;
            size_t l = strlen(o), sl = sizeof(DQ_SUFFIX) - 1;
            snprintf(base, sizeof(base), "%.*s", (int)(l > sl && !strcmp(o + l - sl, DQ_SUFFIX) ? l - sl : l), o);
            int fv = oq_graph_find_value(gf, base);
            const struct oq_tensor *w = fv >= 0 ? gf->values[fv].init : NULL;
            if (!w || w->dtype != OQ_DTYPE_FLOAT || g->values[n->out[0]].is_output)
                continue;
            snprintf(base + strlen(base), sizeof(base) - strlen(base), "_fp32");
            int nv = oq_graph_add_value(g, base);
            struct oq_tensor *copy = nv >= 0 ? oq_tensor_clone(w, base) : NULL;
            if (!copy) {
                free(dead);
                oq_graph_free(g);
                return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            }
            n = &g->nodes[i]; /* adding a value may not move nodes, but stay safe */
            g->values[nv].init = copy;
            g->values[nv].dtype = OQ_DTYPE_FLOAT;
            oq_graph_replace_uses(g, n->out[0], nv);
            dead[i] = true;
        }
    }
    oq_graph_remove_nodes(g, dead);
    free(dead);
    return oq_model_from_graph(g, out, err);
}

oq_status oq_compare_create(const struct oq_model *fp32, const struct oq_model *quant, int threads, bool split,
                            struct oq_compare **out, oq_error *err) {
    *out = NULL;
    struct oq_compare *c = calloc(1, sizeof(*c));
    if (!c)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    c->fp = fp32;
    c->var[V_FULL].m = quant;
    c->n_var = split ? N_VARIANTS : 1;
    oq_status st = build_layers(c, err);
    for (int k = 1; !st && k < c->n_var; k++) {
        st = make_variant(c, k, &c->var[k].own, err);
        if (!st) {
            c->var[k].m = c->var[k].own;
            st = map_variant(c, &c->var[k], err);
        }
    }
    oq_session_options so = oq_session_options_default();
    so.num_threads = threads;
    so.no_fusion = 1;
    so.hook_user = c;
    so.hook = hook_fp;
    if (!st)
        st = oq_session_create(fp32, &so, &c->sf, err);
    so.hook = hook_q;
    for (int k = 0; !st && k < c->n_var; k++)
        st = oq_session_create(c->var[k].m, &so, &c->var[k].s, err);
    if (st) {
        oq_compare_free(c);
        return st;
    }
    *out = c;
    return OQ_OK;
}

void oq_compare_free(struct oq_compare *c) {
    if (!c)
        return;
    for (int i = 0; c->layers && i < c->n_layers; i++)
        free(c->layers[i].buf);
    free(c->layers);
    free(c->by_fv);
    oq_session_free(c->sf);
    for (int k = 0; k < N_VARIANTS; k++) {
        free(c->var[k].by_v);
        oq_session_free(c->var[k].s);
        oq_model_free(c->var[k].own);
    }
    free(c);
}

static oq_status run(struct oq_compare *c, oq_session *s, const char *which, int n_inputs,
                     const oq_tensor_ref *inputs, oq_error *err) {
    memset(&c->hook_err, 0, sizeof(c->hook_err));
    oq_status st = oq_session_run(s, n_inputs, inputs, err);
    if (st == OQ_ERR_CANCELLED && c->hook_err.code) {
        if (err)
            *err = c->hook_err;
        st = c->hook_err.code;
    }
    return st ? oq_error_prefix(err, st, "compare batch %lld, %s model: ", (long long)c->batches, which) : OQ_OK;
}

oq_status oq_compare_feed(struct oq_compare *c, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    static const char *const names[N_VARIANTS] = {"quantized", "weights-only", "activations-only"};
    for (int i = 0; i < c->n_layers; i++)
        c->layers[i].have = false;
    OQ_TRY(run(c, c->sf, "FP32", n_inputs, inputs, err));
    for (c->cur = 0; c->cur < c->n_var; c->cur++)
        OQ_TRY(run(c, c->var[c->cur].s, names[c->cur], n_inputs, inputs, err));
    for (int i = 0; i < c->n_layers; i++)
        c->layers[i].have = false;
    c->batches++;
    return OQ_OK;
}

int64_t oq_compare_batches(const struct oq_compare *c) { return c->batches; }

/* Layers that were compared at least once (tensors computed at plan time, such as shape arithmetic, never
 * reach the hooks). */
int oq_compare_num_layers(const struct oq_compare *c) {
    int n = 0;
    for (int i = 0; i < c->n_layers; i++)
        n += c->layers[i].v[V_FULL].count > 0;
    return n;
}

static double sqnr(double aa, double dd) { return dd == 0 ? INFINITY : aa == 0 ? -INFINITY : 10.0 * log10(aa / dd); }

void oq_compare_layer_at(const struct oq_compare *c, int i, struct oq_compare_layer *o) {
    int k = 0;
    while (k < c->n_layers && (c->layers[k].v[V_FULL].count == 0 || i-- > 0))
        k++;
    const struct layer *L = &c->layers[k < c->n_layers ? k : 0];
    const struct sums *S = &L->v[V_FULL];
    const struct oq_graph *gf = oq_model_graph(c->fp), *gq = oq_model_graph(c->var[V_FULL].m);
    memset(o, 0, sizeof(*o));
    o->tensor = gf->values[L->fv].name;
    o->node = gf->nodes[L->fnode].name ? gf->nodes[L->fnode].name : "";
    o->op = gf->nodes[L->fnode].op_type;
    o->quant_tensor = gq->values[L->qv].name;
    o->quantized = L->quantized;
    o->left_float = L->left_float;
    o->count = S->count;
    o->q_lo = L->lo, o->q_hi = L->hi;
    o->cosine = L->aa == 0 && S->bb == 0 ? 1.0 : L->aa == 0 || S->bb == 0 ? 0.0 : S->ab / sqrt(L->aa * S->bb);
    o->sqnr_db = sqnr(L->aa, S->dd);
    o->rel_l2 = L->aa == 0 ? (S->dd == 0 ? 0.0 : INFINITY) : sqrt(S->dd / L->aa);
    o->max_abs = S->max_abs;
    o->clipped = S->count ? (double)L->clipped / (double)S->count : 0.0;
    o->split = c->n_var == N_VARIANTS;
    o->sqnr_weights_db = o->split && L->v[V_WEIGHTS].count ? sqnr(L->aa, L->v[V_WEIGHTS].dd) : NAN;
    o->sqnr_acts_db = o->split && L->v[V_ACTS].count ? sqnr(L->aa, L->v[V_ACTS].dd) : NAN;
    o->hist = L->quantized ? L->hist : NULL;
    o->hist_lo = L->hist_lo, o->hist_hi = L->hist_hi;
}
