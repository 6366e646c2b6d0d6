#include "quant/smoothquant.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "quant/fp32_pass.h"

enum { MAX_FOLD_DEPTH = 8 }; /* Add -> Add -> ... -> Mul chains followed back from X */

/* The layers (MatMul/Gemm) that read one activation X, with X's per-channel absmax over the data. */
struct group {
    int x;            /* value id of X */
    const char *name; /* X's name (owned by the graph; values are only appended while groups live) */
    int64_t k;        /* X's last dim = rows of B */
    int n_targets;
    int *targets;     /* node indices (a slice of struct groups.node_buf) */
    float *amax;      /* [k]: max |X[..., k]| over every batch */
    bool seen, bad_shape;
};

struct groups {
    struct group *g;
    int n;
    int *node_buf; /* n_nodes entries shared by the groups' target lists */
};

static void groups_free(struct groups *G) {
    for (int i = 0; i < G->n; i++)
        free(G->g[i].amax);
    free(G->g);
    free(G->node_buf);
    memset(G, 0, sizeof(*G));
}

static bool is_op(const struct oq_node *n, const char *op) { return !*n->domain && !strcmp(n->op_type, op); }

static struct oq_tensor *float_init(const struct oq_graph *g, int v) {
    struct oq_tensor *t = v >= 0 ? g->values[v].init : NULL;
    return t && t->dtype == OQ_DTYPE_FLOAT ? t : NULL;
}

/* A float constant of k values along the last axis (shape [k], [1, k], ...): broadcasting aligns it with the
 * channels of a [..., k] tensor. */
static bool is_channel_vec(const struct oq_graph *g, int v, int64_t k) {
    const struct oq_tensor *t = float_init(g, v);
    if (!t || oq_tensor_numel(t) != k)
        return false;
    return t->ndim == 0 ? k == 1 : t->dims[t->ndim - 1] == k;
}

double oq_smoothquant_scale(double a, double w, double alpha) {
    /* a dead (0), denormal or broken (Inf/NaN) channel on either side: nothing to balance */
    if (!(a >= FLT_MIN) || !(w >= FLT_MIN) || !isfinite(a) || !isfinite(w))
        return 1.0;
    double s = pow(a, alpha) / pow(w, 1.0 - alpha);
    if (!isfinite(s))
        return 1.0;
    return fmin(fmax(s, 1e-5), 1e5);
}

/* ---- finding the layers ---- */

static oq_status find_groups(const struct oq_graph *g, const struct oq_quant_config *cfg, struct groups *G,
                             struct oq_smoothquant_stats *st, oq_error *err) {
    G->g = calloc((size_t)g->n_nodes + 1, sizeof(*G->g));
    G->node_buf = calloc((size_t)g->n_nodes + 1, sizeof(int));
    int *owner = calloc((size_t)g->n_nodes + 1, sizeof(int)); /* node -> its group, while collecting */
    if (!G->g || !G->node_buf || !owner) {
        free(owner);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        bool gemm = is_op(n, "Gemm");
        owner[i] = -1;
        if (!(gemm || is_op(n, "MatMul")) || n->n_in < 2 || n->n_out < 1 || n->in[0] < 0 || n->in[1] < 0)
            continue;
        const struct oq_tensor *b = float_init(g, n->in[1]);
        bool q;
        struct oq_calib_config wc;
        oq_quant_config_node(cfg, n, &q, &wc);
        if (!b) {
            st->skip_no_weight++; /* activation x activation (attention), or a weight computed at run time */
            continue;
        }
        if (!q) {
            st->skip_not_quantized++;
            continue;
        }
        if (b->ndim != 2 || g->values[n->in[0]].init || (gemm && oq_attr_int(n, "transA", 0))) {
            st->skip_shape++;
            continue;
        }
        if (oq_graph_count_uses(g, n->in[1]) != 1) {
            st->skip_shared_weight++;
            continue;
        }
        int64_t k = gemm && oq_attr_int(n, "transB", 0) ? b->dims[1] : b->dims[0];
        int j = 0;
        while (j < G->n && G->g[j].x != n->in[0])
            j++;
        if (j == G->n) {
            G->g[j] = (struct group){.x = n->in[0], .name = g->values[n->in[0]].name, .k = k};
            G->n++;
        } else if (G->g[j].k != k) {
            st->skip_shape++; /* two layers disagree on X's channels: the model cannot run anyway */
            continue;
        }
        owner[i] = j;
        G->g[j].n_targets++;
    }
    /* lay the target lists out in node order */
    int off = 0;
    for (int j = 0; j < G->n; j++) {
        G->g[j].targets = G->node_buf + off;
        off += G->g[j].n_targets;
        G->g[j].n_targets = 0;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (owner[i] >= 0) {
            struct group *gr = &G->g[owner[i]];
            gr->targets[gr->n_targets++] = i;
        }
    free(owner);
    for (int j = 0; j < G->n; j++)
        if (!(G->g[j].amax = calloc((size_t)G->g[j].k + 1, sizeof(float))))
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    return OQ_OK;
}

/* ---- measuring a_k ---- */

static void observe(struct groups *G, const oq_tensor_ref *y) {
    if (!y->name)
        return;
    for (int j = 0; j < G->n; j++) {
        struct group *gr = &G->g[j];
        if (strcmp(y->name, gr->name))
            continue;
        if (y->dtype != OQ_DTYPE_FLOAT || y->ndim < 1 || y->dims[y->ndim - 1] != gr->k || !y->data) {
            gr->bad_shape = true;
            continue;
        }
        int64_t rows = oq_shape_numel(y->ndim, y->dims) / gr->k;
        const float *x = y->data;
        float *a = gr->amax;
        for (int64_t r = 0; r < rows; r++, x += gr->k)
            for (int64_t c = 0; c < gr->k; c++)
                a[c] = fmaxf(a[c], fabsf(x[c])); /* fmaxf drops a NaN; an Inf stays and gives s = 1 */
        gr->seen = true;
    }
}

static int hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs) {
    (void)node_index, (void)node_name, (void)op_type;
    for (int k = 0; k < n_out; k++)
        observe(user, &outs[k]);
    return 0;
}

static int input(void *user, const oq_tensor_ref *in) { /* X may be a graph input */
    observe(user, in);
    return 0;
}

static oq_status measure(const oq_model *m, struct groups *G, struct oq_data_source *src, int threads,
                         int64_t *batches, oq_error *err) {
    struct oq_fp32_pass fp = {.hook = hook, .input = input, .user = G, .threads = threads};
    return oq_fp32_pass_run(m, src, &fp, batches, err);
}

/* ---- rewriting ---- */


/* base + suffix, then base + suffix + "_1", "_2", ... until no node or value has it. */

/* Node p's input i (a float initializer) as data only p reads: a constant shared with other readers is copied
 * to "<name>_smooth" first. NULL on OOM. */
static float *own_const(struct oq_graph *g, int p, int i) {
    int v = g->nodes[p].in[i];
    struct oq_tensor *t = g->values[v].init;
    if (oq_graph_count_uses(g, v) == 1)
        return t->data;
    char name[512];
    oq_graph_unique_name(g, g->values[v].name, "_smooth", name, sizeof(name));
    struct oq_tensor *c = oq_tensor_clone(t, name);
    int nv = c ? oq_graph_add_value(g, name) : -1;
    if (nv < 0) {
        oq_tensor_free(c);
        return NULL;
    }
    struct oq_value *val = &g->values[nv];
    val->init = c;
    val->dtype = OQ_DTYPE_FLOAT;
    val->ndim = c->ndim;
    for (int d = 0; d < c->ndim; d++)
        val->dims[d] = c->dims[d];
    g->nodes[p].in[i] = nv;
    return c->data;
}

/* Divide the channel vector at node p's input i by s (multiply when mul). */
static bool scale_vec(struct oq_graph *g, int p, int i, const double *s, int64_t k, bool mul) {
    float *c = own_const(g, p, i);
    if (!c)
        return false;
    for (int64_t j = 0; j < k; j++)
        c[j] = (float)(mul ? (double)c[j] * s[j] : (double)c[j] / s[j]);
    return true;
}

/* Is only `reader` (or Shape nodes, which read no values) reading v, and v no graph output? */
static bool sole_reader(const struct oq_graph *g, int v, int reader) {
    if (g->values[v].is_output)
        return false;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v && i != reader && !is_op(&g->nodes[i], "Shape"))
                return false;
    return true;
}

/* Divide value v's last-axis channels by s inside its producer, when that is exact: 1 done (or, with !apply,
 * possible), 0 not possible, -1 out of memory. With !apply nothing changes. */
static int fold(struct oq_graph *g, int v, const double *s, int64_t k, bool apply, int depth) {
    int p = g->values[v].producer;
    if (p < 0 || depth > MAX_FOLD_DEPTH)
        return 0;
    const struct oq_node *n = &g->nodes[p];
    if (*n->domain || n->n_out < 1 || n->out[0] != v)
        return 0;
    if (is_op(n, "LayerNormalization")) {
        /* normalized over the last axis only: scale and bias are per channel of X */
        int64_t axis = oq_attr_int(n, "axis", -1);
        int rank = n->in[0] >= 0 ? g->values[n->in[0]].ndim : -1;
        if (!(axis == -1 || (rank > 0 && axis == rank - 1)) || n->n_in < 2 || !is_channel_vec(g, n->in[1], k))
            return 0;
        bool has_bias = n->n_in > 2 && n->in[2] >= 0;
        if (has_bias && !is_channel_vec(g, n->in[2], k))
            return 0;
        for (int o = 1; o < n->n_out; o++) /* Mean / InvStdDev do not scale with X */
            if (n->out[o] >= 0 && oq_graph_count_uses(g, n->out[o]) > 0)
                return 0;
        if (apply && (!scale_vec(g, p, 1, s, k, false) || (has_bias && !scale_vec(g, p, 2, s, k, false))))
            return -1;
        return 1;
    }
    if ((is_op(n, "Mul") || is_op(n, "Add")) && n->n_in == 2 && n->in[0] >= 0 && n->in[1] >= 0) {
        int c = is_channel_vec(g, n->in[1], k) ? 1 : is_channel_vec(g, n->in[0], k) ? 0 : -1;
        int a = c >= 0 ? n->in[1 - c] : -1;
        if (c < 0 || g->values[a].init)
            return 0;
        if (is_op(n, "Add")) {
            /* (a + c) / s = a / s + c / s: a must be scaled too, so it must be this Add's alone */
            if (!sole_reader(g, a, p))
                return 0;
            int r = fold(g, a, s, k, apply, depth + 1);
            if (r <= 0)
                return r;
        }
        return apply && !scale_vec(g, p, c, s, k, false) ? -1 : 1;
    }
    bool gemm = is_op(n, "Gemm");
    if ((gemm || is_op(n, "MatMul")) && n->n_in >= 2 && n->in[1] >= 0) {
        /* output channel j of A x B (+ C) is column j of B (row j when transB), and C's j-th value */
        struct oq_tensor *b = float_init(g, n->in[1]);
        bool tb = gemm && oq_attr_int(n, "transB", 0);
        if (!b || b->ndim != 2 || b->dims[tb ? 0 : 1] != k)
            return 0;
        bool has_c = gemm && n->n_in > 2 && n->in[2] >= 0;
        if (has_c && !is_channel_vec(g, n->in[2], k))
            return 0;
        if (!apply)
            return 1;
        float *w = own_const(g, p, 1);
        if (!w || (has_c && !scale_vec(g, p, 2, s, k, false)))
            return -1;
        int64_t other = b->dims[tb ? 1 : 0];
        for (int64_t r = 0; r < other; r++)
            for (int64_t j = 0; j < k; j++) {
                float *e = tb ? &w[j * other + r] : &w[r * k + j];
                *e = (float)((double)*e / s[j]);
            }
        return 1;
    }
    return 0;
}

/* Are the group's layers (at input 0) and Shape nodes X's only readers? */
static bool group_owns_x(const struct oq_graph *g, const struct group *gr) {
    if (g->values[gr->x].is_output || g->values[gr->x].is_input)
        return false;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            if (g->nodes[i].in[k] != gr->x || is_op(&g->nodes[i], "Shape"))
                continue;
            bool mine = false;
            for (int t = 0; t < gr->n_targets && !mine; t++)
                mine = gr->targets[t] == i && k == 0;
            if (!mine)
                return false;
        }
    return true;
}

/* X -> Mul(X, 1/s) -> the group's layers; the Mul stays float (see the header). */
static oq_status insert_mul(struct oq_graph *g, struct oq_quant_config *cfg, const struct group *gr,
                            const double *s, oq_error *err) {
    const struct oq_node *first = &g->nodes[gr->targets[0]];
    const char *base = first->name && *first->name ? first->name : gr->name;
    char node[512], scale[600], out[600];
    oq_graph_unique_name(g, base, "_smooth", node, sizeof(node));
    oq_graph_unique_name(g, node, "_scale", scale, sizeof(scale));
    oq_graph_unique_name(g, node, "_out", out, sizeof(out));
    int64_t k = gr->k;
    struct oq_tensor *t = oq_tensor_new(OQ_DTYPE_FLOAT, 1, &k, scale);
    int vs = t ? oq_graph_add_value(g, scale) : -1;
    if (vs < 0) {
        oq_tensor_free(t);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    float *inv = t->data;
    for (int64_t j = 0; j < k; j++)
        inv[j] = (float)(1.0 / s[j]);
    g->values[vs].init = t;
    g->values[vs].dtype = OQ_DTYPE_FLOAT;
    g->values[vs].ndim = 1;
    g->values[vs].dims[0] = k;
    int vo = oq_graph_add_value(g, out);
    if (vo < 0)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    const struct oq_value *x = &g->values[gr->x];
    g->values[vo].dtype = x->dtype;
    g->values[vo].ndim = x->ndim;
    for (int d = 0; d < x->ndim && d < OQ_MAX_DIMS; d++)
        g->values[vo].dims[d] = x->dims[d];
    int in[2] = {gr->x, vs};
    int ni = oq_graph_add_node(g, node, "Mul", "", 2, in, 1, &vo);
    if (ni < 0)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    g->values[vo].producer = ni;
    for (int t2 = 0; t2 < gr->n_targets; t2++)
        g->nodes[gr->targets[t2]].in[0] = vo;
    return oq_quant_config_add_skip(cfg, node, err);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* max / median over the positive finite values of v (scratch: tmp); 1 when there are none. */
static double channel_ratio(const double *v, int64_t k, double *tmp) {
    int64_t n = 0;
    for (int64_t j = 0; j < k; j++)
        if (v[j] > 0 && isfinite(v[j]))
            tmp[n++] = v[j];
    if (n == 0)
        return 1.0;
    qsort(tmp, (size_t)n, sizeof(double), cmp_double);
    double med = n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
    return tmp[n - 1] / med;
}

/* One group: s from a and the layers' weight rows, then B's rows * s and X / s (folded or by a Mul). */
static oq_status smooth_group(struct oq_graph *g, struct oq_quant_config *cfg, const struct group *gr,
                              const struct oq_smoothquant_options *opt, double *buf,
                              struct oq_smoothquant_stats *st, oq_error *err) {
    int64_t k = gr->k;
    double *s = buf, *a = buf + k, *tmp = buf + 2 * k;
    bool any = false;
    for (int64_t j = 0; j < k; j++) {
        a[j] = gr->amax[j];
        any |= a[j] >= FLT_MIN && isfinite(a[j]);
    }
    if (gr->bad_shape) {
        st->skip_shape += gr->n_targets;
        return OQ_OK;
    }
    if (!gr->seen || !any) {
        st->skip_not_seen += gr->n_targets;
        return OQ_OK;
    }
    /* w_k: the largest |B[k, n]| over every layer reading X, so that one s serves them all */
    for (int64_t j = 0; j < k; j++)
        s[j] = 0;
    for (int t = 0; t < gr->n_targets; t++) {
        const struct oq_node *n = &g->nodes[gr->targets[t]];
        const struct oq_tensor *b = g->values[n->in[1]].init;
        const float *w = b->data;
        bool tb = is_op(n, "Gemm") && oq_attr_int(n, "transB", 0);
        int64_t cols = b->dims[tb ? 0 : 1];
        for (int64_t j = 0; j < k; j++)
            for (int64_t c = 0; c < cols; c++)
                s[j] = fmax(s[j], fabs((double)(tb ? w[c * k + j] : w[j * cols + c])));
    }
    for (int64_t j = 0; j < k; j++)
        s[j] = oq_smoothquant_scale(a[j], s[j], opt->alpha);
    bool fold_ok = group_owns_x(g, gr) && fold(g, gr->x, s, k, false, 0) == 1;
    if (!fold_ok && opt->fold_only) {
        st->skip_no_fold += gr->n_targets;
        return OQ_OK;
    }
    double before = channel_ratio(a, k, tmp);
    if (before > st->max_ratio_before) {
        st->max_ratio_before = before;
        const struct oq_node *n = &g->nodes[gr->targets[0]];
        snprintf(st->worst, sizeof(st->worst), "%s", n->name && *n->name ? n->name : gr->name);
    }
    for (int64_t j = 0; j < k; j++)
        a[j] /= s[j];
    st->max_ratio_after = fmax(st->max_ratio_after, channel_ratio(a, k, tmp));
    for (int t = 0; t < gr->n_targets; t++) {
        const struct oq_node *n = &g->nodes[gr->targets[t]];
        float *w = g->values[n->in[1]].init->data; /* read by this node only (find_groups) */
        const struct oq_tensor *b = g->values[n->in[1]].init;
        bool tb = is_op(n, "Gemm") && oq_attr_int(n, "transB", 0);
        int64_t cols = b->dims[tb ? 0 : 1];
        for (int64_t j = 0; j < k; j++)
            for (int64_t c = 0; c < cols; c++) {
                float *e = tb ? &w[c * k + j] : &w[j * cols + c];
                *e = (float)((double)*e * s[j]);
            }
    }
    if (fold_ok) {
        if (fold(g, gr->x, s, k, true, 0) != 1)
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        st->folded++;
    } else {
        OQ_TRY(insert_mul(g, cfg, gr, s, err));
        st->inserted++;
    }
    st->groups++;
    st->layers += gr->n_targets;
    return OQ_OK;
}

oq_status oq_smoothquant(oq_model *m, struct oq_quant_config *cfg, const struct oq_smoothquant_options *opt,
                         struct oq_data_source *src, struct oq_smoothquant_stats *st, oq_error *err) {
    memset(st, 0, sizeof(*st));
    const char *model = m && m->path ? m->path : "model";
    if (!m || !cfg || !opt)
        return oq_errorf(err, OQ_ERR_ARG, "smoothquant: model, config and options are required");
    if (!(opt->alpha >= 0.0f && opt->alpha <= 1.0f))
        return oq_errorf(err, OQ_ERR_ARG, "%s: smoothquant alpha %g is out of range; use a value in [0, 1] (0.5 "
                         "moves half of the activation range into the weights)", model, (double)opt->alpha);
    if (!src)
        return oq_errorf(err, OQ_ERR_ARG, "%s: smoothquant measures activation ranges on calibration data; give "
                         "a data source (--data)", model);
    struct oq_graph *g = m->g;
    struct groups G = {0};
    double *buf = NULL;
    oq_status s = find_groups(g, cfg, &G, st, err);
    if (!s && G.n > 0) {
        s = measure(m, &G, src, opt->threads, &st->batches, err);
        if (s && s != OQ_ERR_NOMEM)
            oq_error_prefix(err, s, "%s: smoothquant, measuring activation ranges: ", model);
        else if (!s && st->batches == 0)
            s = oq_errorf(err, OQ_ERR_ARG, "%s: smoothquant: the calibration data gave no batches; it needs at "
                          "least one to measure activation ranges (check --data, --batches and --batch-size)",
                          model);
    }
    int64_t kmax = 0;
    for (int j = 0; j < G.n; j++)
        kmax = G.g[j].k > kmax ? G.g[j].k : kmax;
    if (!s && G.n > 0 && !(buf = malloc(sizeof(double) * (size_t)(3 * kmax + 1))))
        s = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    for (int j = 0; !s && j < G.n; j++)
        s = smooth_group(g, cfg, &G.g[j], opt, buf, st, err);
    int unsupported = 0;
    if (!s && st->inserted) /* the new Mul nodes: in order, and bound to their op */
        if (!(s = oq_graph_toposort(g, err)))
            s = oq_model_resolve(g, &unsupported, err);
    free(buf);
    groups_free(&G);
    return s;
}
