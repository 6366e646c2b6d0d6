#include "quant/equalize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "quant/fp32_pass.h"

struct pair {
    int c1, c2;                   /* the two Conv nodes */
    float *w1, *b1, *w2;          /* their float initializers (b1 may be NULL) */
    int64_t ch;                   /* Conv1's output channels = Conv2's input channels */
    int64_t per1;                 /* weights per output channel of Conv1 */
    int64_t m2, cg2, taps2;       /* Conv2: output channels, input channels per group, kernel taps */
    int64_t g2;                   /* Conv2's groups */
};

static const struct oq_tensor *float_init(const struct oq_graph *g, const struct oq_node *n, int k, const int *uses) {
    if (k >= n->n_in || n->in[k] < 0)
        return NULL;
    const struct oq_tensor *t = g->values[n->in[k]].init;
    return t && t->dtype == OQ_DTYPE_FLOAT && uses[n->in[k]] == 1 ? t : NULL;
}

static bool is_conv(const struct oq_node *n) { return !*n->domain && !strcmp(n->op_type, "Conv"); }

/* The sole reader of value v, or -1. */
static int sole_reader(const struct oq_graph *g, const int *uses, int v) {
    if (v < 0 || uses[v] != 1 || g->values[v].is_output)
        return -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v)
                return i;
    return -1;
}

static int find_pairs(struct oq_graph *g, struct pair **out, oq_error *err) {
    int *uses = calloc((size_t)g->n_values + 1, sizeof(int));
    struct pair *p = calloc((size_t)g->n_nodes + 1, sizeof(*p));
    if (!uses || !p) {
        free(uses), free(p);
        oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        return -1;
    }
    oq_graph_count_all_uses(g, uses);
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *a = &g->nodes[i];
        if (!is_conv(a) || a->n_out != 1)
            continue;
        const struct oq_tensor *w1 = float_init(g, a, 1, uses), *b1 = float_init(g, a, 2, uses);
        if (!w1 || w1->ndim < 3 || (a->n_in > 2 && a->in[2] >= 0 && !b1))
            continue;
        int j = sole_reader(g, uses, a->out[0]);
        if (j >= 0 && !*g->nodes[j].domain && !strcmp(g->nodes[j].op_type, "Relu"))
            j = sole_reader(g, uses, g->nodes[j].out[0]);
        if (j < 0 || !is_conv(&g->nodes[j]) || g->nodes[j].in[0] < 0)
            continue;
        const struct oq_node *b = &g->nodes[j];
        const struct oq_tensor *w2 = float_init(g, b, 1, uses);
        int64_t groups2 = oq_attr_int(b, "group", 1);
        if (!w2 || w2->ndim != w1->ndim || groups2 < 1 || w2->dims[1] * groups2 != w1->dims[0])
            continue;
        int64_t taps = 1;
        for (int d = 2; d < w2->ndim; d++)
            taps *= w2->dims[d];
        p[n++] = (struct pair){.c1 = i, .c2 = j, .w1 = w1->data, .b1 = b1 ? b1->data : NULL, .w2 = w2->data,
                               .ch = w1->dims[0], .per1 = oq_tensor_numel(w1) / w1->dims[0], .m2 = w2->dims[0],
                               .cg2 = w2->dims[1], .taps2 = taps, .g2 = groups2};
    }
    free(uses);
    *out = p;
    return n;
}

/* Conv2's weights that read input channel c: output channels of c's group, column c - group start. */
static double range2(const struct pair *p, int64_t c) {
    int64_t grp = c / p->cg2, ci = c % p->cg2, mg = p->m2 / p->g2;
    double r = 0;
    for (int64_t m = grp * mg; m < (grp + 1) * mg; m++)
        for (int64_t k = 0; k < p->taps2; k++)
            r = fmax(r, fabs((double)p->w2[(m * p->cg2 + ci) * p->taps2 + k]));
    return r;
}

static double range1(const struct pair *p, int64_t c) {
    double r = 0;
    for (int64_t k = 0; k < p->per1; k++)
        r = fmax(r, fabs((double)p->w1[c * p->per1 + k]));
    return r;
}

static double spread(const struct pair *p) {
    double lo = INFINITY, hi = 0;
    for (int64_t c = 0; c < p->ch; c++) {
        double r = range1(p, c);
        if (r > 0)
            lo = fmin(lo, r), hi = fmax(hi, r);
    }
    return hi > 0 && lo < INFINITY ? hi / lo : 1.0;
}

/* One equalization of a pair; the largest |log s_c|. */
static double equalize_pair(struct pair *p) {
    double moved = 0;
    int64_t mg = p->m2 / p->g2;
    for (int64_t c = 0; c < p->ch; c++) {
        double r1 = range1(p, c), r2 = range2(p, c);
        if (!(r1 > 0) || !(r2 > 0))
            continue; /* a dead channel: nothing to balance */
        double s = sqrt(r1 / r2);
        if (!isfinite(s) || s <= 0)
            continue;
        moved = fmax(moved, fabs(log(s)));
        for (int64_t k = 0; k < p->per1; k++)
            p->w1[c * p->per1 + k] = (float)((double)p->w1[c * p->per1 + k] / s);
        if (p->b1)
            p->b1[c] = (float)((double)p->b1[c] / s);
        int64_t grp = c / p->cg2, ci = c % p->cg2;
        for (int64_t m = grp * mg; m < (grp + 1) * mg; m++)
            for (int64_t k = 0; k < p->taps2; k++) {
                float *w = &p->w2[(m * p->cg2 + ci) * p->taps2 + k];
                *w = (float)((double)*w * s);
            }
    }
    return moved;
}

oq_status oq_equalize(struct oq_graph *g, struct oq_equalize_stats *st, oq_error *err) {
    memset(st, 0, sizeof(*st));
    struct pair *p = NULL;
    int n = find_pairs(g, &p, err);
    if (n < 0)
        return err->code;
    for (int k = 0; k < n; k++)
        st->max_ratio_before = fmax(st->max_ratio_before, spread(&p[k]));
    for (st->sweeps = 0; n > 0 && st->sweeps < 20;) {
        double moved = 0;
        for (int k = 0; k < n; k++)
            moved = fmax(moved, equalize_pair(&p[k]));
        st->sweeps++;
        if (moved < 1e-3)
            break;
    }
    for (int k = 0; k < n; k++)
        st->max_ratio_after = fmax(st->max_ratio_after, spread(&p[k]));
    st->pairs = n;
    free(p);
    return OQ_OK;
}

/* ---- high-bias absorption ---- */

enum absorb_skip { ABSORB_OK, ABSORB_PADDING, ABSORB_SHARED_BIAS };

/* One pair with Conv1's output range per channel over the data. */
struct absorb {
    struct pair p;
    enum absorb_skip skip;
    const char *out; /* Conv1's output name (owned by the graph; values are only appended while this lives) */
    float *lo, *hi;  /* [ch]: min and max of Conv1's pre-activation output channel c */
    bool seen, bad_shape;
    bool absorbs;    /* some a_c > 0 */
};

struct absorb_set {
    struct absorb *a;
    int n;
};

/* Does Conv node n read zeros beyond its input's border? (taps: its kernel size; a 1x1 kernel reads no border
 * even with auto_pad SAME) */
static bool conv_pads(const struct oq_node *n, int64_t taps) {
    const char *ap = oq_attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))
        return taps != 1;
    const int64_t *pads;
    int64_t np = oq_attr_ints(n, "pads", &pads);
    for (int64_t k = 0; k < np; k++)
        if (pads[k] != 0)
            return true;
    return false;
}

/* Is node i's bias absent, or a float vector of co values that only it reads? */
static bool bias_ok(const struct oq_graph *g, int i, int64_t co) {
    const struct oq_node *n = &g->nodes[i];
    if (n->n_in < 3 || n->in[2] < 0)
        return true;
    const struct oq_tensor *b = g->values[n->in[2]].init;
    return b && b->dtype == OQ_DTYPE_FLOAT && oq_tensor_numel(b) == co && oq_graph_count_uses(g, n->in[2]) == 1;
}

static const char *node_label(const struct oq_graph *g, int i) {
    const struct oq_node *n = &g->nodes[i];
    return n->name && *n->name ? n->name : g->values[n->out[0]].name;
}

/* Conv node i's bias data (co floats only it reads; checked by bias_ok): a conv without one gets a zero
 * "<node>_bias_absorbed". NULL on OOM. */
static float *conv_bias(struct oq_graph *g, int i, int64_t co, bool *created) {
    struct oq_node *n = &g->nodes[i];
    *created = false;
    if (n->n_in > 2 && n->in[2] >= 0)
        return g->values[n->in[2]].init->data;
    int v = oq_graph_add_zero_bias(g, i, co, "_bias_absorbed"); /* n_in is 2 or 3: find_pairs read W at input 1 */
    if (v < 0)
        return NULL;
    *created = true;
    return g->values[v].init->data;
}

static void absorb_observe(struct absorb_set *S, const oq_tensor_ref *y) {
    if (!y->name)
        return;
    for (int k = 0; k < S->n; k++) {
        struct absorb *a = &S->a[k];
        if (a->skip || strcmp(y->name, a->out))
            continue;
        int64_t ch = a->p.ch;
        if (y->dtype != OQ_DTYPE_FLOAT || y->ndim < 3 || y->dims[1] != ch || !y->data) {
            a->bad_shape = true;
            continue;
        }
        int64_t spatial = oq_shape_numel(y->ndim - 2, y->dims + 2);
        const float *x = y->data;
        for (int64_t b = 0; b < y->dims[0]; b++)
            for (int64_t c = 0; c < ch; c++, x += spatial) {
                float lo = a->lo[c], hi = a->hi[c];
                for (int64_t j = 0; j < spatial; j++)
                    lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]); /* fminf drops a NaN */
                a->lo[c] = lo, a->hi[c] = hi;
            }
        a->seen = true;
    }
}

static int absorb_hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                       const oq_tensor_ref *outs) {
    (void)node_index, (void)node_name, (void)op_type;
    for (int k = 0; k < n_out; k++)
        absorb_observe(user, &outs[k]);
    return 0;
}

static void absorb_free(struct absorb_set *S) {
    for (int k = 0; k < S->n; k++)
        free(S->a[k].lo), free(S->a[k].hi);
    free(S->a);
}

/* max(hi, 0) - min(lo, 0) over the channels, each shifted down by a (NULL: 0): the per-tensor range that
 * asymmetric quantization of the tensor must cover (it always holds 0). */
static double tensor_range(const struct absorb *a, const double *shift) {
    double lo = 0, hi = 0;
    for (int64_t c = 0; c < a->p.ch; c++) {
        double s = shift ? shift[c] : 0;
        lo = fmin(lo, (double)a->lo[c] - s), hi = fmax(hi, (double)a->hi[c] - s);
    }
    return hi - lo;
}

static double max_abs(const float *v, int64_t n) {
    double r = 0;
    for (int64_t k = 0; v && k < n; k++)
        r = fmax(r, fabs((double)v[k]));
    return r;
}

/* a_c = max(0, min x_c) for a measured pair: x_c >= a_c on every observed value, so Relu(x_c - a_c) + a_c =
 * Relu(x_c) there. Returns how many are > 0. */
static int absorb_shift(const struct absorb *A, double *a) {
    int n = 0;
    for (int64_t c = 0; c < A->p.ch; c++) {
        double lo = A->lo[c];
        a[c] = isfinite(lo) && lo > 0 ? lo : 0;
        n += a[c] > 0;
    }
    return n;
}

/* Conv node i's bias, if it has one (a float vector: find_pairs and bias_ok checked it). */
static const float *bias_data(const struct oq_graph *g, int i) {
    const struct oq_node *n = &g->nodes[i];
    return n->n_in > 2 && n->in[2] >= 0 ? g->values[n->in[2]].init->data : NULL;
}

/* Absorb one measured pair (a: scratch of ch doubles). */
static oq_status absorb_pair(struct oq_graph *g, const struct absorb *A, double *a, struct oq_absorb_bias_stats *st,
                             oq_error *err) {
    const struct pair *p = &A->p;
    int n = absorb_shift(A, a);
    double before = tensor_range(A, NULL), after = tensor_range(A, a);
    bool made1, made2;
    float *b1 = conv_bias(g, p->c1, p->ch, &made1);
    float *b2 = b1 ? conv_bias(g, p->c2, p->m2, &made2) : NULL;
    if (!b2)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    int64_t mg = p->m2 / p->g2;
    for (int64_t c = 0; c < p->ch; c++) {
        if (!(a[c] > 0))
            continue;
        b1[c] = (float)((double)b1[c] - a[c]);
        /* Conv2 reads x_c - a_c where it read x_c: every output channel m of c's group loses a_c times the sum
         * of its taps on c, which its bias gives back (no padding: every tap reads a real value) */
        int64_t grp = c / p->cg2, ci = c % p->cg2;
        for (int64_t m = grp * mg; m < (grp + 1) * mg; m++) {
            double sum = 0;
            for (int64_t k = 0; k < p->taps2; k++)
                sum += (double)p->w2[(m * p->cg2 + ci) * p->taps2 + k];
            b2[m] = (float)((double)b2[m] + sum * a[c]);
        }
    }
    st->absorbed_pairs++;
    st->channels += n;
    st->created_biases += made1 + made2;
    if (after > 0 && (!st->layer[0] || before / after > st->range_before / st->range_after)) {
        st->range_before = before, st->range_after = after;
        snprintf(st->layer, sizeof(st->layer), "%s", node_label(g, p->c1));
    }
    return OQ_OK;
}

oq_status oq_equalize_absorb_bias(oq_model *m, struct oq_data_source *src, int threads,
                                  struct oq_absorb_bias_stats *st, oq_error *err) {
    memset(st, 0, sizeof(*st));
    const char *model = m && m->path ? m->path : "model";
    if (!m || !m->g)
        return oq_errorf(err, OQ_ERR_ARG, "high-bias absorption: no model given");
    if (!src)
        return oq_errorf(err, OQ_ERR_ARG, "%s: high-bias absorption measures each Conv's output range on "
                         "calibration data; give a data source (--data)", model);
    struct oq_graph *g = m->g;
    struct pair *p = NULL;
    int n = find_pairs(g, &p, err);
    if (n < 0)
        return err->code;
    struct absorb_set S = {.a = calloc((size_t)n + 1, sizeof(*S.a))};
    double *scratch = NULL;
    oq_status s = S.a ? OQ_OK : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    int64_t chmax = 0;
    int measured = 0;
    for (int k = 0; !s && k < n; k++) {
        struct absorb *a = &S.a[S.n++];
        a->p = p[k];
        a->out = g->values[g->nodes[p[k].c1].out[0]].name;
        chmax = p[k].ch > chmax ? p[k].ch : chmax;
        if (conv_pads(&g->nodes[p[k].c2], p[k].taps2)) {
            a->skip = ABSORB_PADDING;
            st->skip_padding++;
        } else if (!bias_ok(g, p[k].c2, p[k].m2)) {
            a->skip = ABSORB_SHARED_BIAS;
            st->skip_shared_bias++;
        } else if (!(a->lo = malloc(sizeof(float) * (size_t)p[k].ch)) ||
                   !(a->hi = malloc(sizeof(float) * (size_t)p[k].ch))) {
            s = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        } else {
            for (int64_t c = 0; c < p[k].ch; c++)
                a->lo[c] = INFINITY, a->hi[c] = -INFINITY;
            measured++;
        }
    }
    st->pairs = n;
    free(p);
    if (!s && measured > 0) {
        struct oq_fp32_pass fp = {.hook = absorb_hook, .user = &S, .threads = threads};
        s = oq_fp32_pass_run(m, src, &fp, &st->batches, err);
        if (s && s != OQ_ERR_NOMEM)
            oq_error_prefix(err, s, "%s: high-bias absorption, measuring Conv output ranges: ", model);
        else if (!s && st->batches == 0)
            s = oq_errorf(err, OQ_ERR_ARG, "%s: high-bias absorption: the calibration data gave no batches; it "
                          "needs at least one to measure Conv output ranges (check --data, --batches and "
                          "--batch-size)", model);
    }
    if (!s && measured > 0 && !(scratch = malloc(sizeof(double) * (size_t)chmax)))
        s = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    /* which pairs absorb, and their Conv1 biases before any pair changes (a Conv1 may be the Conv2 of another) */
    for (int k = 0; !s && k < S.n; k++) {
        struct absorb *a = &S.a[k];
        if (a->skip)
            continue;
        if (!a->seen || a->bad_shape)
            st->skip_not_seen++;
        else if ((a->absorbs = absorb_shift(a, scratch) > 0))
            st->max_bias_before = fmax(st->max_bias_before, max_abs(bias_data(g, a->p.c1), a->p.ch));
    }
    for (int k = 0; !s && k < S.n; k++)
        if (S.a[k].absorbs)
            s = absorb_pair(g, &S.a[k], scratch, st, err);
    for (int k = 0; !s && k < S.n; k++)
        if (S.a[k].absorbs)
            st->max_bias_after = fmax(st->max_bias_after, max_abs(bias_data(g, S.a[k].p.c1), S.a[k].p.ch));
    int unsupported = 0;
    if (!s && st->created_biases) /* the convs given a bias: checked again with it */
        s = oq_model_resolve(g, &unsupported, err);
    free(scratch);
    absorb_free(&S);
    return s;
}
