/* onnxq tune MODEL --data SPEC -o OUT.onnx [--max-loss PCT] [--eval CMD] [quantize options]: search a
 * quantization config that meets an accuracy target, and say why at every step.
 *
 *   0. calibrate once, keeping histograms, so that every scale algorithm can be re-planned without new runs;
 *   1. evaluate the starting config (the flags and --config given);
 *   2. try the activation algorithms (min_max, percentile, mse, kl_v2) globally, with the starting and with
 *      per-channel weights, and keep the best;
 *   3. while the loss is above the target: the first and the last quantized layer with weights in float (alone,
 *      then together), kept when that lowers the loss; then rank the quantized layers by the output SQNR gained
 *      when each alone stays float (on the evaluation batches, as `onnxq sensitivity`); find the shortest prefix of that ranking
 *      that meets the target when left in float (1, 2, 4, ... layers, then bisection), then quantize each of
 *      its layers again, least sensitive first, where the target still holds (stops after --max-steps
 *      evaluations or at --time-budget; without a passing prefix, the best one seen);
 *   4. write the model, the config that reproduces it (`onnxq quantize --config`) and the report OUT.tune.md
 *      (outcome, the layers left in float, every step).
 *
 * Metric: --eval CMD runs a command with the model path in place of {model} (appended when absent) and reads
 * the last number it prints (higher is better, e.g. accuracy); without --eval, the cosine similarity of the
 * model outputs to FP32 on the evaluation batches. loss = |metric - metric_fp32| / |metric_fp32| x 100. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyse/evalset.h"
#include "calib/scale.h"
#include "cli/cli.h"
#include "onnx/onnx_io.h"
#include "quant/calibrate.h"
#include "quant/config.h"
#include "quant/qdq.h"

struct tune {
    const oq_model *m;
    struct oq_quant_config *cfg;
    struct oq_calibrator *cal;
    struct oq_eval_set *es;
    const char *eval_cmd, *model_path;
    char tmp_model[4096];
    double fp_metric;
    int evals;
    FILE *log; /* everything tune prints, for the report (OUT.tune.md) */
    char *log_buf;
    size_t log_len;
};

/* Print to stdout and to the report's log. */
__attribute__((format(printf, 2, 3))) static void say(struct tune *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (t->log) {
        va_start(ap, fmt);
        vfprintf(t->log, fmt, ap);
        va_end(ap);
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the user's command on a model file; its last number. */
static oq_status run_eval_cmd(const char *cmd, const char *model, double *metric, oq_error *err) {
    char line[8192];
    const char *ph = strstr(cmd, "{model}");
    if (ph)
        snprintf(line, sizeof(line), "%.*s'%s'%s", (int)(ph - cmd), cmd, model, ph + 7);
    else
        snprintf(line, sizeof(line), "%s '%s'", cmd, model);
    FILE *p = popen(line, "r");
    if (!p)
        return oq_errorf(err, OQ_ERR_IO, "--eval: cannot run '%s'", line);
    char buf[4096];
    bool found = false;
    while (fgets(buf, sizeof(buf), p)) {
        /* the last number of the output */
        for (char *s = buf; *s; s++) {
            char *e;
            double v = strtod(s, &e);
            if (e != s && (s == buf || s[-1] == ' ' || s[-1] == '\t' || s[-1] == '=' || s[-1] == ':')) {
                *metric = v;
                found = true;
                s = e - 1;
            }
        }
    }
    int rc = pclose(p);
    if (rc != 0)
        return oq_errorf(err, OQ_ERR_IO, "--eval command failed (status %d): %s", rc, line);
    if (!found || !isfinite(*metric))
        return oq_errorf(err, OQ_ERR_IO, "--eval command printed no number: %s", line);
    return OQ_OK;
}

/* The metric of the current config (plan re-made from the calibration statistics). */
static oq_status evaluate(struct tune *t, double *metric, double *sqnr, oq_error *err) {
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(t->cal, &plan, err));
    struct oq_eval_result r;
    oq_status st = oq_eval_plan(t->es, plan, &r, err);
    *sqnr = r.sqnr_db;
    *metric = r.cosine;
    if (!st && t->eval_cmd) {
        struct oq_graph *g = oq_graph_clone(oq_model_graph(t->m), true);
        struct oq_qdq_options qo = oq_qdq_options_default();
        st = !g ? oq_errorf(err, OQ_ERR_NOMEM, "out of memory") : oq_qdq_apply(g, plan, &qo, err);
        if (!st)
            st = oq_onnx_save(g, t->m->keep, t->tmp_model, err);
        oq_graph_free(g);
        if (!st)
            st = run_eval_cmd(t->eval_cmd, t->tmp_model, metric, err);
    }
    oq_quant_plan_free(plan);
    t->evals++;
    return st;
}

static double loss_of(const struct tune *t, double metric) {
    return fabs(metric - t->fp_metric) / (fabs(t->fp_metric) > 0 ? fabs(t->fp_metric) : 1.0) * 100.0;
}

static oq_status add_skip(struct oq_quant_config *c, const char *name, oq_error *err) {
    char **ns = realloc(c->skip, sizeof(char *) * (size_t)(c->n_skip + 1));
    if (!ns)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    c->skip = ns;
    if (!(c->skip[c->n_skip] = strdup(name)))
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    c->n_skip++;
    return OQ_OK;
}

struct ranked {
    int node;
    double gain;
};

static int by_gain(const void *a, const void *b) {
    double x = ((const struct ranked *)a)->gain, y = ((const struct ranked *)b)->gain;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Rank the quantized layers by the output SQNR gained when each alone stays float. */
static oq_status rank_layers(struct tune *t, struct ranked **out, int *n, oq_error *err) {
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(t->cal, &plan, err));
    const struct oq_graph *g = oq_model_graph(t->m);
    struct ranked *r = calloc((size_t)g->n_nodes + 1, sizeof(*r));
    bool *keep = malloc(sizeof(bool) * (size_t)(g->n_nodes + 1));
    oq_status st = r && keep ? OQ_OK : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    struct oq_eval_result base;
    if (!st)
        st = oq_eval_plan(t->es, plan, &base, err);
    *n = 0;
    for (int i = 0; !st && i < g->n_nodes; i++)
        keep[i] = plan->node[i].quantize;
    for (int i = 0; !st && i < g->n_nodes; i++) {
        if (!keep[i])
            continue;
        plan->node[i].quantize = false;
        struct oq_eval_result e;
        st = oq_eval_plan(t->es, plan, &e, err);
        plan->node[i].quantize = true;
        r[*n].node = i;
        r[(*n)++].gain = e.sqnr_db - base.sqnr_db;
    }
    free(keep);
    oq_quant_plan_free(plan);
    if (st) {
        free(r);
        return st;
    }
    qsort(r, (size_t)*n, sizeof(*r), by_gain);
    *out = r;
    return OQ_OK;
}

static bool over_budget(double budget, double t0) { return budget > 0 && now_s() - t0 > budget; }

/* Back to the first n entries of the config's skip list. */
static void trim_skips(struct oq_quant_config *c, int n) {
    while (c->n_skip > n)
        free(c->skip[--c->n_skip]);
}

/* The config's skip list: the n_base layers skipped from the start, then the first k ranked layers except
 * those put back (quantized again). */
static oq_status set_skips(struct oq_quant_config *c, int n_base, const struct oq_graph *g, const struct ranked *r,
                           int k, const bool *back, oq_error *err) {
    trim_skips(c, n_base);
    for (int i = 0; i < k; i++)
        if (!back[i])
            OQ_TRY(add_skip(c, g->nodes[r[i].node].name, err));
    return OQ_OK;
}

/* Evaluate the config with that skip list; its loss. */
static oq_status eval_skips(struct tune *t, int n_base, const struct ranked *r, int k, const bool *back,
                            double *metric, double *sqnr, double *loss, oq_error *err) {
    OQ_TRY(set_skips(t->cfg, n_base, oq_model_graph(t->m), r, k, back, err));
    OQ_TRY(evaluate(t, metric, sqnr, err));
    *loss = loss_of(t, *metric);
    return OQ_OK;
}

static void print_prefix(struct tune *t, int step, const struct oq_graph *g, const struct ranked *r, int k,
                         double metric, double loss, double max_loss) {
    say(t, "step %-2d float: the top %d ranked layer%s (%s%s%s): metric %.6g, loss %.4f%%%s\n", step, k,
           k == 1 ? "" : "s", g->nodes[r[0].node].name, k > 1 ? " .. " : "", k > 1 ? g->nodes[r[k - 1].node].name : "",
           metric, loss, loss <= max_loss ? "  <- target met" : "");
}

/* The first and the last node (graph order) that the plan quantizes and that has weights; -1 when none. */
static oq_status end_layers(struct tune *t, int ends[2], oq_error *err) {
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(t->cal, &plan, err));
    const struct oq_graph *g = oq_model_graph(t->m);
    ends[0] = ends[1] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (plan->node[i].quantize && !*g->nodes[i].domain && oq_quant_op_is_weighted(g->nodes[i].op_type)) {
            if (ends[0] < 0)
                ends[0] = i;
            ends[1] = i;
        }
    oq_quant_plan_free(plan);
    return OQ_OK;
}

/* OUT.tune.md: the outcome, every layer left in float with its op type, and every step as printed. */
static oq_status write_report(struct tune *t, const char *path, const char *out, const struct oq_quant_config *cfg,
                              double loss, double max_loss, oq_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || !t->log || fflush(t->log)) {
        if (f)
            fclose(f);
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    const struct oq_graph *g = oq_model_graph(t->m);
    fprintf(f, "# onnxq tune: `%s`\n\n- quantized model: `%s`\n- loss %.4f%% (target %g%%): %s\n\n", t->model_path,
            out, loss, max_loss, loss <= max_loss ? "**target met**" : "**target not met**");
    fprintf(f, "## Layers left in float (%d)\n\n", cfg->n_skip);
    if (cfg->n_skip)
        fprintf(f, "| layer | op |\n| --- | --- |\n");
    for (int i = 0; i < cfg->n_skip; i++) {
        const char *op = "?";
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].name && !strcmp(g->nodes[k].name, cfg->skip[i]))
                op = g->nodes[k].op_type;
        fprintf(f, "| `%s` | %s |\n", cfg->skip[i], op);
    }
    fprintf(f, "\n## Steps\n\n```\n%.*s```\n", (int)t->log_len, t->log_buf ? t->log_buf : "");
    if (fclose(f)) {
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    oq_status st = oq_write_file_atomic(path, buf, len, err);
    free(buf);
    return st;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: onnxq tune MODEL --data SPEC -o OUT.onnx [--max-loss PCT] [--eval CMD] [options]\n"
            "Searches a config meeting the accuracy target: the starting config (quantize's flags/--config), then\n"
            "each activation algorithm globally (min_max, percentile, mse, kl_v2) with the starting and with\n"
            "per-channel weights, then the first and the last layer in float, then returns the shortest prefix of\n"
            "the layers ranked most sensitive to float (1, 2, 4, ... layers, then bisection) and quantizes each of\n"
            "them again where the target still holds.\n"
            "  --max-loss PCT       target: loss = |metric - metric_fp32| / |metric_fp32| x 100 (default 1)\n"
            "  --eval CMD           metric command: {model} is replaced by a model path (else appended); the last\n"
            "                       number printed is the metric, higher is better (e.g. an accuracy). Default:\n"
            "                       cosine similarity of the outputs to FP32 on the evaluation batches\n"
            "  --eval-batches N     batches of --data used to rank layers and for the default metric (default 4)\n"
            "  --max-steps N        evaluations spent returning layers to float, at most (default 30)\n"
            "  --time-budget S      stop returning layers after S seconds (default: none)\n"
            "  --config-out FILE    the tuned config (default OUT.onnx with .tune.json); OUT.tune.md is the report:\n"
            "                       the outcome, every layer left in float, every step\n"
            "  plus quantize's options (--config, --method, --per-tensor, --per-channel, --skip, --shape, ...)\n"
            "Exit status 0 when the target is met, 3 when not (the best model found is written anyway).\n");
}

int cmd_tune(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each step shows as it happens, also in a log file */
    double max_loss = 1.0, budget = 0;
    int eval_batches = 4, max_steps = 30;
    const char *eval_cmd = NULL, *cfg_out = NULL, *out = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && !strcmp(a, "--max-loss"))
            max_loss = atof(v), i++;
        else if (v && !strcmp(a, "--eval"))
            eval_cmd = v, i++;
        else if (v && !strcmp(a, "--eval-batches"))
            eval_batches = atoi(v), i++;
        else if (v && !strcmp(a, "--max-steps"))
            max_steps = atoi(v), i++;
        else if (v && !strcmp(a, "--time-budget"))
            budget = atof(v), i++;
        else if (v && !strcmp(a, "--config-out"))
            cfg_out = v, i++;
        else if (v && (!strcmp(a, "-o") || !strcmp(a, "--output")))
            out = v, i++;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            free(rest);
            return usage(stdout), 0;
        } else
            rest[nrest++] = argv[i];
    }
    struct cli_quant_opts o;
    int rc = cli_quant_parse(nrest, rest, "tune", false, &o);
    free(rest);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!out || !o.d.data)
        return usage(stderr), 2;
    if (o.weights_only || o.table_in)
        return fprintf(stderr, "onnxq tune: --weights-only and --table are not supported (tune calibrates)\n"), 2;
    char cfg_path[4096], md_path[4096];
    size_t ol = strlen(out);
    int stem = (int)(ol > 5 && !strcmp(out + ol - 5, ".onnx") ? ol - 5 : ol); /* OUT.onnx -> OUT.tune.json, .md */
    if (cfg_out)
        snprintf(cfg_path, sizeof(cfg_path), "%s", cfg_out);
    else
        snprintf(cfg_path, sizeof(cfg_path), "%.*s.tune.json", stem, out);
    snprintf(md_path, sizeof(md_path), "%.*s.tune.md", stem, out);
    oq_error err = {0};
    struct tune t = {.eval_cmd = eval_cmd, .model_path = o.model};
    t.log = open_memstream(&t.log_buf, &t.log_len);
    oq_model *m = NULL;
    struct oq_quant_config *cfg = NULL;
    struct oq_quant_plan *plan = NULL;
    struct oq_data_source *src = NULL;
    struct ranked *rank = NULL;
    bool *back = NULL;
    struct oq_graph *qg = NULL;
    double t0 = now_s();
    snprintf(t.tmp_model, sizeof(t.tmp_model), "%s.tune-candidate.onnx", out);
    /* the starting algorithm, before histogram calibration replaces it */
    enum oq_calib_algo start_algo = OQ_CALIB_ALGO_MIN_MAX;
    struct cli_quant_opts oh = o;
    oh.algo = "percentile"; /* needs histograms: every algorithm can then be planned from the statistics */
    if (o.algo ? oq_calib_algo_parse(o.algo, &start_algo, &err) : OQ_OK)
        goto fail;
    if (!o.algo && o.config) {
        struct oq_quant_config *c0 = NULL;
        if (oq_quant_config_load(o.config, &c0, &err))
            goto fail;
        start_algo = c0->act.algo;
        oq_quant_config_free(c0);
    }
    rc = 1;
    if (cli_quant_plan(&oh, &m, &cfg, &t.cal, &plan, &err))
        goto fail;
    t.m = m;
    t.cfg = cfg;
    cfg->act.algo = start_algo;
    struct cli_data ed = o.d;
    ed.batches = eval_batches;
    if (oq_eval_set_create(m, o.threads, &t.es, &err) || cli_data_open(&ed, m, eval_batches, &src, &err))
        goto fail;
    for (;;) {
        const oq_tensor_ref *batch;
        int count;
        if (oq_data_next(src, &batch, &count, &err))
            goto fail;
        if (count == 0)
            break;
        if (oq_eval_set_add(t.es, oq_model_num_inputs(m), batch, &err))
            goto fail;
    }
    t.fp_metric = 1.0;
    if (eval_cmd && run_eval_cmd(eval_cmd, o.model, &t.fp_metric, &err))
        goto fail;
    say(&t, "tune: target loss <= %g%% of %s (FP32: %.6g)\n", max_loss, eval_cmd ? "the --eval metric" :
           "output cosine similarity", t.fp_metric);
    double metric, sqnr;
    if (evaluate(&t, &metric, &sqnr, &err))
        goto fail;
    double best = loss_of(&t, metric);
    enum oq_calib_algo best_algo = cfg->act.algo, start_w = cfg->weight.algo, best_w = start_w;
    say(&t, "step 0  start: activations %s, weights %s: metric %.6g, loss %.4f%%, output SQNR %.2f dB\n",
           oq_calib_algo_name(cfg->act.algo), oq_calib_algo_name(cfg->weight.algo), metric, best, sqnr);
    /* 2. algorithms, globally */
    const enum oq_calib_algo algos[] = {OQ_CALIB_ALGO_MIN_MAX, OQ_CALIB_ALGO_PERCENTILE, OQ_CALIB_ALGO_MSE,
                                        OQ_CALIB_ALGO_KL_V2};
    const enum oq_calib_algo wts[] = {start_w, OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX};
    int step = 1;
    for (size_t w = 0; w < (start_w == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX ? 1u : 2u); w++)
        for (size_t a = 0; a < sizeof(algos) / sizeof(*algos); a++) {
            if (w == 0 && algos[a] == start_algo)
                continue; /* that was step 0 */
            cfg->act.algo = algos[a];
            cfg->weight.algo = wts[w];
            if (evaluate(&t, &metric, &sqnr, &err))
                goto fail;
            double l = loss_of(&t, metric);
            bool better = l < best;
            say(&t, "step %-2d algorithm: activations %s, weights %s: metric %.6g, loss %.4f%%, output SQNR %.2f "
                    "dB%s\n",
                   step++, oq_calib_algo_name(algos[a]), oq_calib_algo_name(wts[w]), metric, l, sqnr,
                   better ? "  <- best so far" : "");
            if (better)
                best = l, best_algo = algos[a], best_w = wts[w];
        }
    cfg->act.algo = best_algo;
    cfg->weight.algo = best_w;
    say(&t, "kept: activations %s, weights %s (loss %.4f%%)\n", oq_calib_algo_name(best_algo),
           oq_calib_algo_name(best_w), best);
    /* 3a. the usual suspects first: the first and the last quantized layer with weights, alone and together. They
     *     see the model's raw input (full 8-bit range, where some int8 kernels saturate: vpmaddubsw) and make its
     *     logits; runtimes other than the float simulation the ranking below uses may disagree most there. */
    if (best > max_loss && max_steps > 0) {
        int ends[2];
        if (end_layers(&t, ends, &err))
            goto fail;
        const struct oq_graph *g = oq_model_graph(m);
        const int sets[3][2] = {{ends[0], -1}, {ends[1], -1}, {ends[0], ends[1]}};
        int n_base0 = cfg->n_skip, best_set = -1;
        for (int k = 0; k < 3 && ends[0] >= 0 && best > max_loss; k++) {
            if (k > 0 && ends[1] == ends[0])
                break;
            for (int e = 0; e < 2; e++)
                if (sets[k][e] >= 0 && add_skip(cfg, g->nodes[sets[k][e]].name, &err))
                    goto fail;
            if (evaluate(&t, &metric, &sqnr, &err))
                goto fail;
            double l = loss_of(&t, metric);
            say(&t, "step %-2d float: %s layer %s%s%s: metric %.6g, loss %.4f%%%s\n", step++,
                   k == 0 ? "the first" : k == 1 ? "the last" : "the first and the last", g->nodes[sets[k][0]].name,
                   k == 2 ? ", " : "", k == 2 ? g->nodes[sets[k][1]].name : "", metric, l,
                   l < best ? "  <- best so far" : "");
            if (l < best)
                best = l, best_set = k;
            trim_skips(cfg, n_base0);
        }
        for (int e = 0; best_set >= 0 && e < 2; e++)
            if (sets[best_set][e] >= 0 && add_skip(cfg, g->nodes[sets[best_set][e]].name, &err))
                goto fail;
    }
    /* 3. return the most sensitive layers to float: the shortest prefix of the ranking that meets the target
     *    (prefixes of 1, 2, 4, ... layers, then bisection), then each of its layers quantized again, least
     *    sensitive first, where the target still holds. A prefix rather than one layer at a time: on real
     *    models the loss is spread over many layers (rec: no layer alone gains more than 0.6 dB), so single
     *    layers rarely move the metric while a handful together do. */
    int n_rank = 0, tries = 0, n_base = cfg->n_skip;
    if (best > max_loss && max_steps > 0) {
        if (rank_layers(&t, &rank, &n_rank, &err) || !(back = calloc((size_t)n_rank + 1, sizeof(bool))))
            goto fail_or_nomem;
        say(&t, "ranked %d quantized layers by the output SQNR gained when each alone stays float\n", n_rank);
        const struct oq_graph *g = oq_model_graph(m);
        int lo = 0, hi = -1, best_k = 0;
        double hi_loss = best;
        for (int k = 1; n_rank > 0 && tries < max_steps && !over_budget(budget, t0); k *= 2) {
            int kk = k < n_rank ? k : n_rank;
            double l;
            if (eval_skips(&t, n_base, rank, kk, back, &metric, &sqnr, &l, &err))
                goto fail;
            tries++;
            print_prefix(&t, step++, g, rank, kk, metric, l, max_loss);
            if (l < best)
                best = l, best_k = kk;
            if (l <= max_loss) {
                hi = kk, hi_loss = l;
                break;
            }
            lo = kk;
            if (kk == n_rank)
                break;
        }
        while (hi > 0 && hi - lo > 1 && tries < max_steps && !over_budget(budget, t0)) {
            int mid = lo + (hi - lo) / 2;
            double l;
            if (eval_skips(&t, n_base, rank, mid, back, &metric, &sqnr, &l, &err))
                goto fail;
            tries++;
            print_prefix(&t, step++, g, rank, mid, metric, l, max_loss);
            if (l <= max_loss)
                hi = mid, hi_loss = l;
            else
                lo = mid;
        }
        int k_final = hi > 0 ? hi : best_k;
        if (hi > 0) {
            best = hi_loss; /* a one-layer prefix is not tried without its layer: that is the start */
            for (int i = hi - 1; i >= (hi == 1) && tries < max_steps && !over_budget(budget, t0); i--) {
                back[i] = true;
                double l;
                if (eval_skips(&t, n_base, rank, k_final, back, &metric, &sqnr, &l, &err))
                    goto fail;
                tries++;
                const struct oq_node *n = &g->nodes[rank[i].node];
                bool keep = l <= max_loss;
                say(&t, "step %-2d quantize again: %s (%s; alone it gains %+.2f dB): metric %.6g, loss %.4f%%%s\n",
                    step++, n->name, n->op_type, rank[i].gain, metric, l,
                    keep ? "" : "  -> target lost, float again");
                if (keep)
                    best = l;
                else
                    back[i] = false;
            }
        }
        if (over_budget(budget, t0))
            say(&t, "time budget of %g s reached\n", budget);
        if (set_skips(cfg, n_base, g, rank, k_final, back, &err))
            goto fail;
    }
    /* 4. the final model and its config */
    oq_quant_plan_free(plan);
    plan = NULL;
    if (oq_calibrator_plan(t.cal, &plan, &err) || !(qg = oq_graph_clone(oq_model_graph(m), true)))
        goto fail_or_nomem;
    struct oq_qdq_options qo = oq_qdq_options_default();
    if (oq_qdq_apply(qg, plan, &qo, &err) || oq_onnx_save(qg, m->keep, out, &err))
        goto fail;
    char *json = oq_quant_config_to_json(cfg, oq_model_graph(m));
    if (!json)
        goto fail_or_nomem;
    size_t len = strlen(json);
    json[len] = '\n';
    oq_status st = oq_write_file_atomic(cfg_path, json, len + 1, &err);
    free(json);
    if (st)
        goto fail;
    say(&t, "left in float (%d): ", cfg->n_skip);
    for (int i = 0; i < cfg->n_skip; i++)
        say(&t, "%s%s", i ? ", " : "", cfg->skip[i]);
    say(&t, "%s\nwrote %s, %s and %s (reproduce: onnxq quantize MODEL -o OUT --data ... --config %s); %d "
           "evaluations, %.1f s\n", cfg->n_skip ? "" : "none", out, cfg_path, md_path, cfg_path, t.evals, now_s() - t0);
    if (best <= max_loss) {
        say(&t, "target met: loss %.4f%% <= %g%%\n", best, max_loss);
        rc = 0;
    } else {
        say(&t, "target NOT met: loss %.4f%% > %g%% (more calibration data, --max-steps, int16 for the ranked "
               "layers, or a looser target)\n", best, max_loss);
        rc = 3;
    }
    if (write_report(&t, md_path, out, cfg, best, max_loss, &err)) {
        rc = cli_fail(&err);
        goto done;
    }
    goto done;
fail_or_nomem:
    if (!err.code)
        oq_errorf(&err, OQ_ERR_NOMEM, "out of memory");
fail:
    rc = cli_fail(&err);
done:
    if (t.log)
        fclose(t.log);
    free(t.log_buf);
    unlink(t.tmp_model);
    free(rank);
    free(back);
    oq_graph_free(qg);
    oq_data_close(src);
    oq_eval_set_free(t.es);
    oq_quant_plan_free(plan);
    oq_calibrator_free(t.cal);
    oq_quant_config_free(cfg);
    oq_model_free(m);
    return rc;
}
