#include "quant/equalize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

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
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                uses[g->nodes[i].in[k]]++;
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
