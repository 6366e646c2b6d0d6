#include "quant/bias_correct.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "quant/fp32_pass.h"

struct target {
    int node, bias;   /* node and its bias value in g */
    const char *key;  /* the node's name, or its output's when it has none: the QDQ writer keeps node names, but
                         renames the output of a node whose output is a graph output (t_QuantizeLinear_Input) */
    int64_t channels;
    int axis;         /* channel axis of the output (and of the input): 1 (Conv) or the last (Gemm) */
    double *sum[2];   /* per-channel sums of the output: [0] FP32, [1] QDQ */
    int64_t count[2]; /* values summed per channel (the same for every channel) */
    /* the layer's input (Conv: NCHW, channel axis 1; Gemm: [M, K], the last): its name in each model and its
     * per-channel sums, to take the error that reaches the layer from upstream out of the correction */
    const char *in_name[2];
    int64_t in_channels, groups;
    double *isum[2];
    int64_t icount[2];
};

struct pass {
    struct target *t;
    int n;
    int which;        /* 0: FP32 run, 1: QDQ run */
    oq_error *err;    /* a shape surprise inside the hook */
};

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct target *)a)->key, ((const struct target *)b)->key);
}

/* Per-channel sums of y along axis (the last when axis < 0) into s; values per channel into *count. */
static bool channel_sums(const oq_tensor_ref *y, int axis, int64_t channels, double *s, int64_t *count) {
    axis = axis < 0 ? y->ndim - 1 : axis;
    if (y->dtype != OQ_DTYPE_FLOAT || axis < 0 || axis >= y->ndim || y->dims[axis] != channels)
        return false;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= y->dims[d];
    for (int d = axis + 1; d < y->ndim; d++)
        inner *= y->dims[d];
    const float *x = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < channels; c++) {
            const float *r = x + (o * channels + c) * inner;
            double acc = 0;
            for (int64_t i = 0; i < inner; i++)
                acc += r[i];
            s[c] += acc;
        }
    *count += outer * inner;
    return true;
}

/* Sum y into every target whose input it is (a linear scan: a few hundred targets, one strcmp each). */
static void sum_inputs(struct pass *p, const oq_tensor_ref *y) {
    for (int k = 0; k < p->n; k++) {
        struct target *t = &p->t[k];
        if (t->in_name[p->which] && y->name && !strcmp(y->name, t->in_name[p->which]))
            if (!channel_sums(y, t->axis, t->in_channels, t->isum[p->which], &t->icount[p->which]))
                t->icount[p->which] = -1; /* not a tensor of the expected layout: no upstream term */
    }
}

/* Accumulate the per-channel sums of the targets' inputs and outputs as the session produces them. */
static int hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs) {
    (void)node_index, (void)op_type;
    struct pass *p = user;
    for (int k = 0; k < n_out; k++)
        sum_inputs(p, &outs[k]);
    const char *k = node_name && *node_name ? node_name : n_out > 0 ? outs[0].name : NULL;
    if (n_out < 1 || !k)
        return 0;
    struct target key = {.key = k};
    struct target *t = bsearch(&key, p->t, (size_t)p->n, sizeof(*p->t), by_name);
    if (!t)
        return 0;
    const oq_tensor_ref *y = &outs[0];
    if (!channel_sums(y, t->axis, t->channels, t->sum[p->which], &t->count[p->which])) {
        oq_errorf(p->err, OQ_ERR_SHAPE, "bias correction: output '%s' of node '%s' has no axis %d of %lld channels "
                  "(its bias's length); quantize without --bias-correction, or skip that node",
                  y->name ? y->name : "", t->key, t->axis, (long long)t->channels);
        return 1;
    }
    return 0;
}

static int input(void *user, const oq_tensor_ref *in) {
    sum_inputs(user, in);
    return 0;
}

static oq_status run_pass(const oq_model *m, struct pass *p, struct oq_data_source *src, int threads,
                          int64_t *batches, oq_error *err) {
    struct oq_fp32_pass fp = {.hook = hook, .input = input, .user = p, .user_err = p->err, .threads = threads};
    return oq_fp32_pass_run(m, src, &fp, batches, err);
}

/* Quantized Conv and Gemm (transA = 0) nodes of g with float weights and a float bias initializer read by that
 * node only. */
static oq_status find_targets(const struct oq_graph *g, const struct oq_quant_plan *plan, struct target **out,
                              int *n_out, struct oq_bias_correct_stats *st, oq_error *err) {
    int *readers = calloc((size_t)g->n_values + 1, sizeof(int));
    struct target *t = calloc((size_t)g->n_nodes + 1, sizeof(*t));
    if (!readers || !t) {
        free(readers), free(t);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    oq_graph_count_all_uses(g, readers); /* a graph output counts as a reader: never shared with the caller */
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *nd = &g->nodes[i];
        bool gemm = !strcmp(nd->op_type, "Gemm");
        if (*nd->domain || !plan->node[i].quantize || nd->n_out < 1 || nd->out[0] < 0 || nd->n_in < 2 ||
            nd->in[0] < 0 || nd->in[1] < 0 || !(gemm || !strcmp(nd->op_type, "Conv")) ||
            (gemm && oq_attr_int(nd, "transA", 0)))
            continue;
        const struct oq_tensor *wt = g->values[nd->in[1]].init;
        if (!wt || wt->dtype != OQ_DTYPE_FLOAT || wt->ndim < 2) {
            st->no_bias++; /* a weight computed at run time: no upstream term, so no correction */
            continue;
        }
        int b = nd->n_in > 2 ? nd->in[2] : -1;
        const struct oq_tensor *bt = b >= 0 ? g->values[b].init : NULL;
        if (!bt || bt->dtype != OQ_DTYPE_FLOAT || bt->ndim != 1) {
            st->no_bias++;
            continue;
        }
        if (readers[b] != 1) {
            st->shared_bias++;
            continue;
        }
        const char *key = nd->name && *nd->name ? nd->name : g->values[nd->out[0]].name;
        bool tb = gemm && oq_attr_int(nd, "transB", 0);
        int64_t groups = gemm ? 1 : oq_attr_int(nd, "group", 1);
        int64_t cin = gemm ? wt->dims[tb ? 1 : 0] : wt->dims[1] * groups;
        t[n] = (struct target){.node = i, .bias = b, .key = key, .channels = bt->dims[0], .axis = gemm ? -1 : 1,
                               .in_name = {g->values[nd->in[0]].name, NULL}, .in_channels = cin, .groups = groups};
        for (int k = 0; k < 2; k++) {
            t[n].sum[k] = calloc((size_t)bt->dims[0] + 1, sizeof(double));
            t[n].isum[k] = calloc((size_t)cin + 1, sizeof(double));
        }
        n++;
        if (!t[n - 1].sum[0] || !t[n - 1].sum[1] || !t[n - 1].isum[0] || !t[n - 1].isum[1]) {
            for (int k = 0; k < n; k++)
                free(t[k].sum[0]), free(t[k].sum[1]), free(t[k].isum[0]), free(t[k].isum[1]);
            free(readers), free(t);
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        }
    }
    free(readers);
    qsort(t, (size_t)n, sizeof(*t), by_name);
    *out = t;
    *n_out = n;
    return OQ_OK;
}

/* Each layer's input in the QDQ graph, before the QuantizeLinear -> DequantizeLinear in front of the layer: the
 * same node found by name (or by its output: t, or t_QuantizeLinear_Input for a graph output), its input 0,
 * traced back through DQ and Q. */
static void set_quant_inputs(const struct oq_graph *gq, struct target *t, int n) {
    char alt[1024];
    for (int k = 0; k < n; k++) {
        snprintf(alt, sizeof(alt), "%s_QuantizeLinear_Input", t[k].key);
        for (int i = 0; i < gq->n_nodes && !t[k].in_name[1]; i++) {
            const struct oq_node *nd = &gq->nodes[i];
            const char *o = nd->n_out > 0 && nd->out[0] >= 0 ? gq->values[nd->out[0]].name : "";
            bool same = (nd->name && !strcmp(nd->name, t[k].key)) || !strcmp(o, t[k].key) || !strcmp(o, alt);
            if (!same || !strcmp(nd->op_type, "DequantizeLinear") || nd->n_in < 1 || nd->in[0] < 0)
                continue;
            /* before its Q/DQ: the rounding of the layer's own input is this bias's to absorb (nothing upstream
             * corrects it), the error the value had before that is upstream's */
            int v = nd->in[0];
            for (int hop = 0; hop < 2; hop++) {
                int p = gq->values[v].producer;
                const char *want = hop == 0 ? "DequantizeLinear" : "QuantizeLinear";
                if (p < 0 || strcmp(gq->nodes[p].op_type, want) || gq->nodes[p].n_in < 1 || gq->nodes[p].in[0] < 0)
                    break;
                v = gq->nodes[p].in[0];
            }
            t[k].in_name[1] = gq->values[v].name;
        }
    }
}

oq_status oq_bias_correct(const oq_model *fp, struct oq_graph *g, const struct oq_quant_plan *plan,
                          const struct oq_qdq_options *qo, struct oq_data_source *src, int threads,
                          struct oq_bias_correct_stats *stats, oq_error *err) {
    memset(stats, 0, sizeof(*stats));
    if (plan->mode != OQ_QUANT_STATIC)
        return OQ_OK; /* weight-only models keep float activations: nothing shifts a bias there */
    struct target *t = NULL;
    int n = 0;
    OQ_TRY(find_targets(g, plan, &t, &n, stats, err));
    oq_status st = OQ_OK;
    oq_model *mq = NULL;
    oq_error herr = {0};
    if (n > 0) {
        /* the QDQ model the biases are measured on */
        struct oq_graph *gq = oq_graph_clone(g, true);
        struct oq_qdq_options o = *qo;
        o.stats = NULL;
        st = !gq ? oq_errorf(err, OQ_ERR_NOMEM, "out of memory") : oq_qdq_apply(gq, plan, &o, err);
        if (!st) {
            set_quant_inputs(gq, t, n);
            st = oq_model_from_graph(gq, &mq, err);
        } else {
            oq_graph_free(gq);
        }
        int64_t b0 = 0, b1 = 0;
        struct pass p0 = {t, n, 0, &herr}, p1 = {t, n, 1, &herr};
        if (!st)
            st = run_pass(fp, &p0, src, threads, &b0, err);
        if (!st)
            st = run_pass(mq, &p1, src, threads, &b1, err);
        if (!st && (b0 == 0 || b0 != b1))
            st = oq_errorf(err, OQ_ERR_ARG, "bias correction: the calibration data gave %lld batches to the FP32 "
                           "model and %lld to the quantized one; it needs at least one, the same each time",
                           (long long)b0, (long long)b1);
        stats->batches = b0;
    }
    for (int k = 0; !st && k < n; k++) {
        struct target *x = &t[k];
        if (x->count[0] == 0 || x->count[0] != x->count[1])
            continue; /* the node did not run (a branch not taken) */
        if (x->icount[0] <= 0 || x->icount[0] != x->icount[1]) {
            stats->no_input++; /* the layer's input was not seen in both models: no upstream term */
            continue;
        }
        const struct oq_node *nd = &g->nodes[x->node];
        const struct oq_tensor *wt = g->values[nd->in[1]].init;
        const float *w = wt->data;
        bool gemm = !strcmp(nd->op_type, "Gemm"), tb = gemm && oq_attr_int(nd, "transB", 0);
        double alpha = gemm ? oq_attr_float(nd, "alpha", 1.0f) : 1.0;
        double beta = gemm ? oq_attr_float(nd, "beta", 1.0f) : 1.0;
        int64_t cg = x->in_channels / x->groups, mg = x->channels / x->groups, taps = 1;
        for (int d = 2; !gemm && d < wt->ndim; d++)
            taps *= wt->dims[d];
        float *b = g->values[x->bias].init->data;
        double bmax = 0, smax = 0;
        for (int64_t c = 0; c < x->channels; c++) {
            /* what the layer's input error contributes to its output mean: W (mean_fp32 - mean_qdq) of the input,
             * by channel (zero padding at the borders ignored); the rest is this layer's own error */
            double up = 0;
            for (int64_t i = 0; i < (gemm ? x->in_channels : cg); i++) {
                int64_t ci = gemm ? i : (c / mg) * cg + i;
                double dmu = x->isum[0][ci] / (double)x->icount[0] - x->isum[1][ci] / (double)x->icount[1];
                double wsum = 0;
                if (gemm)
                    wsum = tb ? w[c * x->in_channels + i] : w[i * x->channels + c];
                else
                    for (int64_t k = 0; k < taps; k++)
                        wsum += w[(c * cg + i) * taps + k];
                up += wsum * dmu;
            }
            double total = (x->sum[0][c] - x->sum[1][c]) / (double)x->count[0];
            double shift = (total - alpha * up) / (beta != 0 ? beta : 1.0);
            bmax = fmax(bmax, fabs((double)b[c]));
            smax = fmax(smax, fabs(shift));
            b[c] = (float)((double)b[c] + shift);
        }
        double rel = smax / (bmax > 0 ? bmax : 1.0);
        if (rel > stats->max_rel_shift) {
            stats->max_rel_shift = rel;
            snprintf(stats->max_layer, sizeof(stats->max_layer), "%s",
                     g->nodes[x->node].name ? g->nodes[x->node].name : "");
        }
        stats->corrected += smax > 0;
    }
    for (int k = 0; k < n; k++)
        free(t[k].sum[0]), free(t[k].sum[1]), free(t[k].isum[0]), free(t[k].isum[1]);
    free(t);
    oq_model_free(mq);
    return st;
}
