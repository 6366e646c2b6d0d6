/* The tune search (analyse/tune.h; steps as in include/onnxq/onnxq_analyse.h):
 *
 *   1. evaluate the starting config;
 *   2. try the activation algorithms (min_max, percentile, mse, kl_v2) globally, with the starting and with
 *      per-channel weights, and keep the best;
 *   3. while the loss is above the target: the first and the last quantized layer with weights in float (alone,
 *      then together), kept when that lowers the loss; then rank the quantized layers by the output SQNR gained
 *      when each alone stays float, find the shortest prefix of that ranking that meets the target when left in
 *      float (1, 2, 4, ... layers, then bisection), then quantize each of its layers again, least sensitive
 *      first, where the target still holds (at most max_steps evaluations, or until the time budget);
 *   4. with try_int16 and the target met: int16 activations and weights instead of float for the layers the
 *      search left in float, all at once, else one by one (least sensitive first), where the target still holds;
 *   5. write the best model, its config and the report.
 *
 * A prefix rather than one layer at a time: on real models the loss is spread over many layers (rec: no layer
 * alone gains more than 0.6 dB), so single layers rarely move the metric while a handful together do. */
#include "analyse/tune.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "onnx/onnx_io.h"
#include "quant/quantize.h"

/* A change of one config entry made for int16, undone before the next state is applied. */
struct undo {
    bool tensor; /* a "tensors" entry, else a "layers" entry */
    bool added;  /* appended (undo: pop it), else modified in place (undo: restore old) */
    int idx;
    struct oq_layer_config old_layer;
    struct oq_tensor_config old_tensor;
};

struct tune {
    const struct oq_model *m;
    const struct oq_graph *g;
    struct oq_quant_config *cfg;
    const struct oq_calibrator *cal;
    const struct oq_eval_set *es;
    const oq_tune_options *o;
    struct oq_tune_out *out;
    char *cand; /* the candidate model the metric reads */
    double fp_metric, t0;
    int evals, step;
    FILE *log; /* every line said, for the report */
    char *log_buf;
    size_t log_len;
    struct undo *undo;
    int n_undo, cap_undo;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line to the log callback and the report. */
__attribute__((format(printf, 2, 3))) static void say(struct tune *t, const char *fmt, ...) {
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return; /* a line lost to OOM; the search itself reports OOM where it allocates */
    if (t->log)
        fprintf(t->log, "%s\n", line);
    if (t->o->log)
        t->o->log(t->o->log_user, line);
    free(line);
}

static const char *model_name(const struct tune *t) {
    return t->o->model_path ? t->o->model_path : t->m->path ? t->m->path : "model";
}

static oq_status run_metric(struct tune *t, const char *path, double *metric, oq_error *err) {
    return oq_metric_call(t->o->metric, t->o->metric_user, path, metric, err);
}

/* The metric and output SQNR of the current config (plan re-made from the calibration statistics). */
static oq_status evaluate(struct tune *t, double *metric, double *sqnr, oq_error *err) {
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(t->cal, &plan, err));
    struct oq_eval_result r;
    oq_status st = oq_eval_plan(t->es, plan, &r, err);
    *sqnr = r.sqnr_db;
    *metric = r.cosine;
    if (!st && t->o->metric) {
        st = oq_quant_write_model(t->m, NULL, plan, NULL, t->cand, NULL, NULL, err);
        if (!st)
            st = run_metric(t, t->cand, metric, err);
    }
    oq_quant_plan_free(plan);
    t->evals++;
    return st;
}

static double loss_of(const struct tune *t, double metric) {
    return fabs(metric - t->fp_metric) / (fabs(t->fp_metric) > 0 ? fabs(t->fp_metric) : 1.0) * 100.0;
}

/* Record an evaluation as a step and say it. */
__attribute__((format(printf, 8, 9))) static oq_status step(struct tune *t, oq_error *err, double metric,
                                                            double loss, double sqnr, bool kept, const char *mark,
                                                            const char *fmt, ...) {
    struct oq_tune_out *o = t->out;
    if (o->n_steps == o->cap_steps) {
        int cap = o->cap_steps ? 2 * o->cap_steps : 32;
        oq_tune_step *s = realloc(o->steps, sizeof(*s) * (size_t)cap);
        if (!s)
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        o->steps = s;
        o->cap_steps = cap;
    }
    char *what = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&what, fmt, ap);
    va_end(ap);
    if (n < 0)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    o->steps[o->n_steps++] = (oq_tune_step){.what = what, .metric = metric, .loss = loss, .sqnr_db = sqnr,
                                            .kept = kept};
    say(t, "step %-2d %s: metric %.6g, loss %.4f%%, output SQNR %.2f dB%s", t->step++, what, metric, loss, sqnr,
        mark ? mark : "");
    return OQ_OK;
}

/* Back to the first n entries of the config's skip list. */
static void trim_skips(struct oq_quant_config *c, int n) {
    while (c->n_skip > n)
        free(c->skip[--c->n_skip]);
}

/* ---- int16 layers: config entries changed with an undo log ---- */

static void int16_reset(struct tune *t) {
    struct oq_quant_config *c = t->cfg;
    while (t->n_undo > 0) {
        struct undo *u = &t->undo[--t->n_undo];
        if (u->tensor && u->added)
            free(c->tensors[--c->n_tensors].name);
        else if (u->tensor)
            c->tensors[u->idx] = u->old_tensor;
        else if (u->added)
            free(c->layers[--c->n_layers].name);
        else
            c->layers[u->idx] = u->old_layer;
    }
}

static struct undo *push_undo(struct tune *t) {
    if (t->n_undo == t->cap_undo) {
        int cap = t->cap_undo ? 2 * t->cap_undo : 16;
        struct undo *u = realloc(t->undo, sizeof(*u) * (size_t)cap);
        if (!u)
            return NULL;
        t->undo = u;
        t->cap_undo = cap;
    }
    t->undo[t->n_undo] = (struct undo){0};
    return &t->undo[t->n_undo++];
}

static enum oq_dtype act16(const struct oq_calib_config *a) { return a->symmetric ? OQ_DTYPE_INT16 : OQ_DTYPE_UINT16; }

/* Node `node` gets 16-bit activations (its float inputs and its outputs) and int16 weights. */
static oq_status set_int16(struct tune *t, int node, oq_error *err) {
    struct oq_quant_config *c = t->cfg;
    const struct oq_node *n = &t->g->nodes[node];
    bool q;
    struct oq_calib_config w;
    oq_quant_config_node(c, n, &q, &w);
    struct oq_calib_config a = c->act;
    int li = -1;
    for (int i = 0; i < c->n_layers && li < 0; i++)
        if (!strcmp(c->layers[i].name, n->name))
            li = i;
    if (li >= 0 && c->layers[li].has_act)
        a = c->layers[li].act;
    a.qtype = act16(&a);
    w.qtype = OQ_DTYPE_INT16;
    struct undo *u = push_undo(t);
    if (!u)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    if (li < 0) {
        struct oq_layer_config *L = realloc(c->layers, sizeof(*L) * (size_t)(c->n_layers + 1));
        char *name = L ? strdup(n->name) : NULL;
        if (L)
            c->layers = L;
        if (!name) {
            t->n_undo--;
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        }
        li = c->n_layers++;
        c->layers[li] = (struct oq_layer_config){.name = name};
        u->added = true;
    } else {
        u->old_layer = c->layers[li];
    }
    u->idx = li;
    c->layers[li].has_act = c->layers[li].has_weight = true;
    c->layers[li].act = a;
    c->layers[li].weight = w;
    for (int k = 0; k < n->n_in; k++) { /* the activations it reads */
        int v = n->in[k];
        if (v < 0 || t->g->values[v].init || t->g->values[v].dtype != OQ_DTYPE_FLOAT)
            continue;
        struct oq_calib_config ta;
        oq_quant_config_tensor(c, t->g, v, &ta);
        ta.qtype = act16(&ta);
        const char *vname = t->g->values[v].name;
        int ti = -1;
        for (int i = 0; i < c->n_tensors && ti < 0; i++)
            if (!strcmp(c->tensors[i].name, vname))
                ti = i;
        if (!(u = push_undo(t)))
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        u->tensor = true;
        if (ti < 0) {
            struct oq_tensor_config *T = realloc(c->tensors, sizeof(*T) * (size_t)(c->n_tensors + 1));
            char *name = T ? strdup(vname) : NULL;
            if (T)
                c->tensors = T;
            if (!name) {
                t->n_undo--;
                return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            }
            ti = c->n_tensors++;
            c->tensors[ti] = (struct oq_tensor_config){.name = name};
            u->added = true;
        } else {
            u->old_tensor = c->tensors[ti];
        }
        u->idx = ti;
        c->tensors[ti].act = ta;
    }
    return OQ_OK;
}

/* ---- the layers the search sets aside ---- */

struct aside {
    int n, n_user; /* n entries; the config's own skip list had n_user */
    int *node;     /* node index, most sensitive first */
    bool *int16;   /* int16 instead of float */
};

static int node_index(const struct oq_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].name && !strcmp(g->nodes[i].name, name))
            return i;
    return -1;
}

/* The config for this state: the user's skips, then each set-aside layer in float or int16. */
static oq_status apply_aside(struct tune *t, const struct aside *a, oq_error *err) {
    int16_reset(t);
    trim_skips(t->cfg, a->n_user);
    for (int i = 0; i < a->n; i++)
        OQ_TRY(a->int16[i] ? set_int16(t, a->node[i], err)
                           : oq_quant_config_add_skip(t->cfg, t->g->nodes[a->node[i]].name, err));
    return OQ_OK;
}

static bool over_budget(const struct tune *t) {
    return t->o->time_budget > 0 && now_s() - t->t0 > t->o->time_budget;
}

/* The first and the last node (graph order) that the plan quantizes and that has weights; -1 when none. */
static oq_status end_layers(struct tune *t, int ends[2], oq_error *err) {
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(t->cal, &plan, err));
    ends[0] = ends[1] = -1;
    for (int i = 0; i < t->g->n_nodes; i++)
        if (plan->node[i].quantize && !*t->g->nodes[i].domain && oq_quant_op_is_weighted(t->g->nodes[i].op_type)) {
            if (ends[0] < 0)
                ends[0] = i;
            ends[1] = i;
        }
    oq_quant_plan_free(plan);
    return OQ_OK;
}

/* 2. the activation algorithms globally, with the starting and with per-channel weights. */
static oq_status try_algorithms(struct tune *t, double *best, oq_error *err) {
    struct oq_quant_config *cfg = t->cfg;
    const enum oq_calib_algo algos[] = {OQ_CALIB_ALGO_MIN_MAX, OQ_CALIB_ALGO_PERCENTILE, OQ_CALIB_ALGO_MSE,
                                        OQ_CALIB_ALGO_KL_V2};
    enum oq_calib_algo start_a = cfg->act.algo, start_w = cfg->weight.algo, best_a = start_a, best_w = start_w;
    const enum oq_calib_algo wts[] = {start_w, OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX};
    for (size_t w = 0; w < (start_w == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX ? 1u : 2u); w++)
        for (size_t a = 0; a < sizeof(algos) / sizeof(*algos); a++) {
            if (w == 0 && algos[a] == start_a)
                continue; /* that was step 0 */
            cfg->act.algo = algos[a];
            cfg->weight.algo = wts[w];
            double metric, sqnr;
            OQ_TRY(evaluate(t, &metric, &sqnr, err));
            double l = loss_of(t, metric);
            bool better = l < *best;
            OQ_TRY(step(t, err, metric, l, sqnr, better, better ? "  <- best so far" : "",
                        "algorithm: activations %s, weights %s", oq_calib_algo_name(algos[a]),
                        oq_calib_algo_name(wts[w])));
            if (better)
                *best = l, best_a = algos[a], best_w = wts[w];
        }
    cfg->act.algo = best_a;
    cfg->weight.algo = best_w;
    say(t, "kept: activations %s, weights %s (loss %.4f%%)", oq_calib_algo_name(best_a), oq_calib_algo_name(best_w),
        *best);
    return OQ_OK;
}

/* 3a. the usual suspects first: the first and the last quantized layer with weights, alone and together. They
 *     see the model's raw input (full 8-bit range, where some int8 kernels saturate: vpmaddubsw) and make its
 *     logits; runtimes other than the float simulation the ranking uses may disagree most there. Appends the
 *     kept ones to a. */
static oq_status try_ends(struct tune *t, struct aside *a, double *best, oq_error *err) {
    int ends[2];
    OQ_TRY(end_layers(t, ends, err));
    const int sets[3][2] = {{ends[0], -1}, {ends[1], -1}, {ends[0], ends[1]}};
    int best_set = -1;
    for (int k = 0; k < 3 && ends[0] >= 0 && *best > t->o->max_loss; k++) {
        if (k > 0 && ends[1] == ends[0])
            break;
        for (int e = 0; e < 2; e++)
            if (sets[k][e] >= 0)
                OQ_TRY(oq_quant_config_add_skip(t->cfg, t->g->nodes[sets[k][e]].name, err));
        double metric, sqnr;
        OQ_TRY(evaluate(t, &metric, &sqnr, err));
        double l = loss_of(t, metric);
        OQ_TRY(step(t, err, metric, l, sqnr, l < *best, l < *best ? "  <- best so far" : "", "float: %s layer %s%s%s",
                    k == 0 ? "the first" : k == 1 ? "the last" : "the first and the last",
                    t->g->nodes[sets[k][0]].name, k == 2 ? ", " : "", k == 2 ? t->g->nodes[sets[k][1]].name : ""));
        if (l < *best)
            *best = l, best_set = k;
        trim_skips(t->cfg, a->n_user + a->n);
    }
    for (int e = 0; best_set >= 0 && e < 2; e++)
        if (sets[best_set][e] >= 0) {
            a->node[a->n] = sets[best_set][e];
            a->int16[a->n++] = false;
        }
    return apply_aside(t, a, err);
}

/* The config with the first k ranked layers in float, except those put back; its loss. */
static oq_status eval_prefix(struct tune *t, const struct aside *base, const int *rank, int k, const bool *back,
                             double *metric, double *sqnr, double *loss, oq_error *err) {
    OQ_TRY(apply_aside(t, base, err));
    for (int i = 0; i < k; i++)
        if (!back[i])
            OQ_TRY(oq_quant_config_add_skip(t->cfg, t->g->nodes[rank[i]].name, err));
    OQ_TRY(evaluate(t, metric, sqnr, err));
    *loss = loss_of(t, *metric);
    return OQ_OK;
}

/* 3b. the shortest prefix of the ranking that meets the target, then each of its layers quantized again. Appends
 *     the layers left in float to a. */
static oq_status try_prefix(struct tune *t, struct aside *a, double *best, oq_error *err) {
    struct oq_sens_out sens = {0};
    struct oq_sens_options so = {0};
    OQ_TRY(oq_sensitivity_measure(t->m, t->cal, t->es, &so, &sens, err));
    int n_rank = sens.pub.n_layers;
    const int *rank = sens.node;
    bool *back = calloc((size_t)n_rank + 1, sizeof(bool));
    if (!back) {
        oq_sens_out_clear(&sens);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    say(t, "ranked %d quantized layers by the output SQNR gained when each alone stays float", n_rank);
    const double max_loss = t->o->max_loss;
    int lo = 0, hi = -1, best_k = 0, tries = 0;
    double hi_loss = *best, metric, sqnr, l;
    oq_status st = OQ_OK;
#define PREFIX_STEP(k)                                                                                             \
    if ((st = step(t, err, metric, l, sqnr, l <= max_loss, l <= max_loss ? "  <- target met" : "",                 \
                   "float: the top %d ranked layer%s (%s%s%s)", k, k == 1 ? "" : "s", t->g->nodes[rank[0]].name,    \
                   k > 1 ? " .. " : "", k > 1 ? t->g->nodes[rank[k - 1]].name : "")))                              \
        goto done;
    for (int k = 1; n_rank > 0 && tries < t->o->max_steps && !over_budget(t); k *= 2) {
        int kk = k < n_rank ? k : n_rank;
        if ((st = eval_prefix(t, a, rank, kk, back, &metric, &sqnr, &l, err)))
            goto done;
        tries++;
        PREFIX_STEP(kk);
        if (l < *best)
            *best = l, best_k = kk;
        if (l <= max_loss) {
            hi = kk, hi_loss = l;
            break;
        }
        lo = kk;
        if (kk == n_rank)
            break;
    }
    while (hi > 0 && hi - lo > 1 && tries < t->o->max_steps && !over_budget(t)) {
        int mid = lo + (hi - lo) / 2;
        if ((st = eval_prefix(t, a, rank, mid, back, &metric, &sqnr, &l, err)))
            goto done;
        tries++;
        PREFIX_STEP(mid);
        if (l <= max_loss)
            hi = mid, hi_loss = l;
        else
            lo = mid;
    }
#undef PREFIX_STEP
    int k_final = hi > 0 ? hi : best_k;
    if (hi > 0) {
        *best = hi_loss; /* a one-layer prefix is not tried without its layer: that is the start */
        for (int i = hi - 1; i >= (hi == 1) && tries < t->o->max_steps && !over_budget(t); i--) {
            back[i] = true;
            if ((st = eval_prefix(t, a, rank, k_final, back, &metric, &sqnr, &l, err)))
                goto done;
            tries++;
            bool keep = l <= max_loss;
            const struct oq_node *n = &t->g->nodes[rank[i]];
            if ((st = step(t, err, metric, l, sqnr, keep, keep ? "" : "  -> target lost, float again",
                           "quantize again: %s (%s; alone it gains %+.2f dB)", n->name, n->op_type,
                           sens.rows[i].float_gain_db)))
                goto done;
            if (keep)
                *best = l;
            else
                back[i] = false;
        }
    }
    if (over_budget(t))
        say(t, "time budget of %g s reached", t->o->time_budget);
    for (int i = 0; i < k_final; i++)
        if (!back[i]) {
            a->node[a->n] = rank[i];
            a->int16[a->n++] = false;
        }
    st = apply_aside(t, a, err);
done:
    free(back);
    oq_sens_out_clear(&sens);
    return st;
}

/* 4. int16 instead of float for the layers set aside: all of them, else one by one, least sensitive first. */
static oq_status try_int16(struct tune *t, struct aside *a, double *best, oq_error *err) {
    const double max_loss = t->o->max_loss;
    double metric, sqnr, l;
    for (int i = 0; i < a->n; i++)
        a->int16[i] = true;
    OQ_TRY(apply_aside(t, a, err));
    OQ_TRY(evaluate(t, &metric, &sqnr, err));
    l = loss_of(t, metric);
    OQ_TRY(step(t, err, metric, l, sqnr, l <= max_loss,
                l <= max_loss ? "  <- target met" : "  -> target lost, float again",
                "int16 instead of float: all %d layers set aside", a->n));
    if (l <= max_loss) {
        *best = l;
        return OQ_OK;
    }
    for (int i = 0; i < a->n; i++)
        a->int16[i] = false;
    for (int i = a->n - 1, tries = 1; a->n > 1 && i >= 0 && tries < t->o->max_steps && !over_budget(t);
         i--, tries++) {
        a->int16[i] = true;
        OQ_TRY(apply_aside(t, a, err));
        OQ_TRY(evaluate(t, &metric, &sqnr, err));
        l = loss_of(t, metric);
        bool keep = l <= max_loss;
        OQ_TRY(step(t, err, metric, l, sqnr, keep, keep ? "" : "  -> target lost, float again",
                    "int16 instead of float: %s (%s)", t->g->nodes[a->node[i]].name,
                    t->g->nodes[a->node[i]].op_type));
        if (keep)
            *best = l;
        else
            a->int16[i] = false;
    }
    return apply_aside(t, a, err);
}

/* The report (markdown): the outcome, the layers left in float and in int16 with their op types, every step. */
static oq_status make_report(struct tune *t, const char *out_path, double loss, oq_error *err) {
    struct oq_tune_out *o = t->out;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || !t->log || fflush(t->log)) {
        if (f)
            fclose(f);
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    fprintf(f, "# onnxq tune: `%s`\n\n- quantized model: `%s`\n- loss %.4f%% (target %g%%): %s\n\n", model_name(t),
            out_path, loss, t->o->max_loss, loss <= t->o->max_loss ? "**target met**" : "**target not met**");
    for (int part = 0; part < 2; part++) {
        int n = part ? o->pub.n_int16 : o->pub.n_float;
        char **names = part ? o->int16s : o->floats;
        fprintf(f, "## Layers %s (%d)\n\n", part ? "in int16 (activations and weights)" : "left in float", n);
        if (n)
            fprintf(f, "| layer | op |\n| --- | --- |\n");
        for (int i = 0; i < n; i++) {
            int k = node_index(t->g, names[i]);
            fprintf(f, "| `%s` | %s |\n", names[i], k >= 0 ? t->g->nodes[k].op_type : "?");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "## Steps\n\n```\n%.*s```\n", (int)t->log_len, t->log_buf ? t->log_buf : "");
    if (fclose(f)) {
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    o->report_md = buf;
    return OQ_OK;
}

/* The public view of the outcome, and the config and report texts. */
static oq_status finish(struct tune *t, const struct aside *a, const char *out_path, double metric, double best,
                        oq_error *err) {
    struct oq_tune_out *o = t->out;
    const struct oq_quant_config *c = t->cfg;
    o->floats = calloc((size_t)c->n_skip + 1, sizeof(char *));
    o->int16s = calloc((size_t)a->n + 1, sizeof(char *));
    if (!o->floats || !o->int16s)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < c->n_skip; i++)
        if (!(o->floats[o->pub.n_float++] = strdup(c->skip[i])))
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < a->n; i++)
        if (a->int16[i] && !(o->int16s[o->pub.n_int16++] = strdup(t->g->nodes[a->node[i]].name)))
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    char *json = oq_quant_config_to_json(c, t->g);
    size_t jl = json ? strlen(json) : 0;
    if (!json || !(o->config_json = malloc(jl + 2))) {
        free(json);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    memcpy(o->config_json, json, jl);
    memcpy(o->config_json + jl, "\n", 2);
    free(json);
    for (int part = 0; part < 2; part++) { /* one line each: "left in float (2): a, b" */
        int n = part ? o->pub.n_int16 : o->pub.n_float;
        char **names = part ? o->int16s : o->floats;
        size_t len = 1;
        for (int i = 0; i < n; i++)
            len += strlen(names[i]) + 2;
        char *list = malloc(len);
        if (!list)
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        list[0] = 0;
        for (int i = 0; i < n; i++) {
            if (i)
                strcat(list, ", ");
            strcat(list, names[i]);
        }
        if (!part || n)
            say(t, "%s (%d): %s", part ? "int16" : "left in float", n, n ? list : "none");
        free(list);
    }
    o->pub.target_met = best <= t->o->max_loss;
    o->pub.metric_fp32 = t->fp_metric;
    o->pub.metric = metric;
    o->pub.loss = best;
    o->pub.evaluations = t->evals;
    o->pub.seconds = now_s() - t->t0;
    say(t, "wrote %s; %d evaluations, %.1f s", out_path, t->evals, o->pub.seconds);
    if (o->pub.target_met)
        say(t, "target met: loss %.4f%% <= %g%%", best, t->o->max_loss);
    else
        say(t, "target NOT met: loss %.4f%% > %g%% (more calibration data, more steps, int16 for the layers set "
            "aside, or a looser target)", best, t->o->max_loss);
    OQ_TRY(make_report(t, out_path, best, err));
    o->pub.float_layers = (const char *const *)o->floats;
    o->pub.int16_layers = (const char *const *)o->int16s;
    o->pub.steps = o->steps;
    o->pub.n_steps = o->n_steps;
    o->pub.config_json = o->config_json;
    o->pub.report_md = o->report_md;
    return OQ_OK;
}

void oq_tune_out_clear(struct oq_tune_out *o) {
    for (int i = 0; i < o->n_steps; i++)
        free((char *)o->steps[i].what);
    free(o->steps);
    for (int i = 0; o->floats && o->floats[i]; i++)
        free(o->floats[i]);
    for (int i = 0; o->int16s && o->int16s[i]; i++)
        free(o->int16s[i]);
    free(o->floats);
    free(o->int16s);
    free(o->config_json);
    free(o->report_md);
    *o = (struct oq_tune_out){0};
}

/* The search proper: steps 0 to 4 and the final model. */
static oq_status search(struct tune *t, struct aside *a, const char *out_path, oq_error *err) {
    const double max_loss = t->o->max_loss;
    t->fp_metric = 1.0;
    if (t->o->metric) {
        const char *fp_path = NULL;
        OQ_TRY(oq_fp32_model_file(t->m, t->cand, &fp_path, err));
        OQ_TRY(run_metric(t, fp_path, &t->fp_metric, err));
    }
    say(t, "tune: target loss <= %g%% of %s (FP32: %.6g)", max_loss,
        t->o->metric ? "the metric" : "output cosine similarity", t->fp_metric);
    double metric, sqnr;
    OQ_TRY(evaluate(t, &metric, &sqnr, err));
    double best = loss_of(t, metric);
    OQ_TRY(step(t, err, metric, best, sqnr, true, "", "start: activations %s, weights %s",
                oq_calib_algo_name(t->cfg->act.algo), oq_calib_algo_name(t->cfg->weight.algo)));
    OQ_TRY(try_algorithms(t, &best, err));
    if (best > max_loss && t->o->max_steps > 0)
        OQ_TRY(try_ends(t, a, &best, err));
    if (best > max_loss && t->o->max_steps > 0)
        OQ_TRY(try_prefix(t, a, &best, err));
    if (t->o->try_int16 && best <= max_loss && a->n > 0 && t->o->max_steps > 0)
        OQ_TRY(try_int16(t, a, &best, err));
    /* the final model, measured once more so that the result's metric is the written model's */
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(t->cal, &plan, err));
    oq_status st = oq_quant_write_model(t->m, NULL, plan, NULL, out_path, NULL, NULL, err);
    oq_quant_plan_free(plan);
    OQ_TRY(st);
    if (t->o->metric)
        OQ_TRY(run_metric(t, out_path, &metric, err));
    else
        OQ_TRY(evaluate(t, &metric, &sqnr, err));
    return finish(t, a, out_path, metric, loss_of(t, metric), err);
}

oq_status oq_tune_search(const struct oq_model *m, struct oq_quant_config *cfg, const struct oq_calibrator *cal,
                         const struct oq_eval_set *es, const oq_tune_options *opt, const char *out_path,
                         struct oq_tune_out *out, oq_error *err) {
    oq_tune_out_clear(out);
    if (!opt || !out_path || !*out_path)
        return oq_errorf(err, OQ_ERR_ARG, "tune: give options and an output path");
    if (!(opt->max_loss >= 0) || opt->max_steps < 0 || !(opt->time_budget >= 0))
        return oq_errorf(err, OQ_ERR_ARG, "tune: max_loss (%g) and time_budget (%g) must be >= 0 and max_steps "
                         "(%d) >= 0", opt->max_loss, opt->time_budget, opt->max_steps);
    if (oq_eval_set_batches(es) < 1)
        return oq_errorf(err, OQ_ERR_ARG, "%s: tune needs evaluation batches (they rank the layers); add at least one",
                         m->path ? m->path : "model");
    struct tune t = {.m = m, .g = oq_model_graph(m), .cfg = cfg, .cal = cal, .es = es, .o = opt, .out = out,
                     .t0 = now_s()};
    struct aside a = {.n_user = cfg->n_skip};
    size_t pl = strlen(out_path);
    t.cand = malloc(pl + 32);
    t.log = open_memstream(&t.log_buf, &t.log_len);
    a.node = malloc(sizeof(int) * (size_t)(t.g->n_nodes + 1));
    a.int16 = calloc((size_t)t.g->n_nodes + 1, sizeof(bool));
    oq_status st;
    if (!t.cand || !t.log || !a.node || !a.int16) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    } else {
        snprintf(t.cand, pl + 32, "%s.tune-candidate.onnx", out_path);
        st = search(&t, &a, out_path, err);
    }
    if (st) /* back to the config the search started from, as far as int16 goes */
        int16_reset(&t);
    if (t.log)
        fclose(t.log);
    free(t.log_buf);
    if (t.cand)
        unlink(t.cand);
    free(t.cand);
    free(t.undo);
    free(a.node);
    free(a.int16);
    if (st)
        oq_tune_out_clear(out);
    return st;
}
