/* Layer sensitivity (analyse/tune.h): the plan re-made from the calibration statistics once, then each quantized
 * node switched off (left in float) alone, and with `alone` switched on alone, each variant measured on the
 * evaluation set; with a metric, the caller's metric on the first ranked variants, written to a temporary file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyse/tune.h"
#include "core/status.h"
#include "onnx/onnx_io.h"
#include "quant/quantize.h"

struct sens_row {
    oq_sensitivity_layer row;
    int node;
};

void oq_sens_out_clear(struct oq_sens_out *o) {
    free(o->rows);
    free(o->node);
    *o = (struct oq_sens_out){0};
}

oq_status oq_metric_call(oq_metric_fn fn, void *user, const char *path, double *metric, oq_error *err) {
    *metric = NAN;
    if (err)
        err->msg[0] = 0;
    oq_status st = fn(user, path, metric, err);
    if (st) {
        if (err && !err->msg[0])
            oq_errorf(err, st, "the metric failed on '%s' (%s) and gave no message", path, oq_status_str(st));
        return st;
    }
    if (!isfinite(*metric))
        return oq_errorf(err, OQ_ERR_NUMERIC, "the metric returned %g for '%s'; it must return a finite number "
                         "(higher is better)", *metric, path);
    return OQ_OK;
}

oq_status oq_fp32_model_file(const struct oq_model *m, const char *tmp, const char **path, oq_error *err) {
    if (m->path && access(m->path, R_OK) == 0) {
        *path = m->path;
        return OQ_OK;
    }
    *path = tmp; /* a model built in memory (its path only names it): its graph, saved */
    return oq_onnx_save(oq_model_graph(m), m->keep, tmp, err);
}

static int by_gain(const oq_sensitivity_layer *a, const oq_sensitivity_layer *b) {
    double x = a->float_gain_db, y = b->float_gain_db;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y); /* NaN last */
    return x < y ? 1 : x > y ? -1 : 0;
}

/* A temporary .onnx path in $TMPDIR (or /tmp), created empty; caller unlinks and frees. */
static oq_status temp_model_path(char **out, oq_error *err) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t n = strlen(dir) + 40;
    char *p = malloc(n);
    if (!p)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    snprintf(p, n, "%s/onnxq-sensitivity-XXXXXX.onnx", dir);
    int fd = mkstemps(p, 5);
    if (fd < 0) {
        free(p);
        return oq_errorf(err, OQ_ERR_IO, "cannot create a temporary model file in %s; set TMPDIR to a writable "
                         "folder", dir);
    }
    close(fd);
    *out = p;
    return OQ_OK;
}

/* The metric stage: FP32, all quantized, then each of the first `top` ranked layers alone in float. */
static oq_status measure_metric(const struct oq_model *m, const struct oq_calibrator *cal,
                                const struct oq_sens_options *o, struct sens_row *r, int n, double *fp32,
                                double *all, oq_error *err) {
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(cal, &plan, err));
    char *path = NULL;
    oq_status st = temp_model_path(&path, err);
    const char *fp_path = NULL;
    if (!st)
        st = oq_fp32_model_file(m, path, &fp_path, err);
    if (!st)
        st = oq_metric_call(o->metric, o->metric_user, fp_path, fp32, err);
    if (!st)
        st = oq_quant_write_model(m, NULL, plan, NULL, path, NULL, NULL, err);
    if (!st)
        st = oq_metric_call(o->metric, o->metric_user, path, all, err);
    int top = o->metric_top < 0 || o->metric_top > n ? n : o->metric_top;
    for (int k = 0; !st && k < top; k++) {
        int i = r[k].node;
        plan->node[i].quantize = false;
        st = oq_quant_write_model(m, NULL, plan, NULL, path, NULL, NULL, err);
        plan->node[i].quantize = true;
        if (!st)
            st = oq_metric_call(o->metric, o->metric_user, path, &r[k].row.metric, err);
    }
    if (path)
        unlink(path);
    free(path);
    oq_quant_plan_free(plan);
    return st;
}

oq_status oq_sensitivity_measure(const struct oq_model *m, const struct oq_calibrator *cal,
                                 const struct oq_eval_set *es, const struct oq_sens_options *o,
                                 struct oq_sens_out *out, oq_error *err) {
    oq_sens_out_clear(out);
    if (oq_eval_set_batches(es) < 1)
        return oq_errorf(err, OQ_ERR_ARG, "%s: sensitivity needs evaluation batches; add at least one",
                         m->path ? m->path : "model");
    struct oq_quant_plan *plan = NULL;
    OQ_TRY(oq_calibrator_plan(cal, &plan, err));
    const struct oq_graph *g = oq_model_graph(m);
    bool *keep = malloc(sizeof(bool) * (size_t)(g->n_nodes + 1));
    struct sens_row *r = calloc((size_t)g->n_nodes + 1, sizeof(*r));
    oq_status st = keep && r ? OQ_OK : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    struct oq_eval_result full = {0};
    int n = 0;
    if (!st)
        st = oq_eval_plan(es, plan, &full, err);
    for (int i = 0; !st && i < g->n_nodes; i++)
        if ((keep[i] = plan->node[i].quantize))
            r[n++].node = i;
    for (int k = 0; !st && k < n; k++) {
        int i = r[k].node;
        struct oq_eval_result e;
        for (int j = 0; j < g->n_nodes; j++) /* all but node i */
            plan->node[j].quantize = keep[j] && j != i;
        st = oq_eval_plan(es, plan, &e, err);
        r[k].row = (oq_sensitivity_layer){.node = g->nodes[i].name, .op = g->nodes[i].op_type,
                                          .float_gain_db = e.sqnr_db - full.sqnr_db, .alone_sqnr_db = NAN,
                                          .metric = NAN};
        if (!st && o->alone) {
            for (int j = 0; j < g->n_nodes; j++) /* only node i */
                plan->node[j].quantize = j == i;
            st = oq_eval_plan(es, plan, &e, err);
            r[k].row.alone_sqnr_db = e.sqnr_db;
        }
        if (o->progress)
            o->progress(k + 1, n);
    }
    oq_quant_plan_free(plan);
    free(keep);
    /* rank by the gain, stable on ties (graph order) */
    for (int k = 1; !st && k < n; k++)
        for (int j = k; j > 0 && by_gain(&r[j - 1].row, &r[j].row) > 0; j--) {
            struct sens_row tmp = r[j - 1];
            r[j - 1] = r[j];
            r[j] = tmp;
        }
    double fp32 = NAN, all = NAN;
    if (!st && o->metric)
        st = measure_metric(m, cal, o, r, n, &fp32, &all, err);
    if (!st) {
        out->rows = malloc(sizeof(*out->rows) * (size_t)(n + 1));
        out->node = malloc(sizeof(int) * (size_t)(n + 1));
        if (!out->rows || !out->node)
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    if (st) {
        free(r);
        oq_sens_out_clear(out);
        return st;
    }
    for (int k = 0; k < n; k++) {
        out->rows[k] = r[k].row;
        out->node[k] = r[k].node;
    }
    free(r);
    out->pub = (oq_sensitivity){.sqnr_db = full.sqnr_db, .cosine = full.cosine, .metric_fp32 = fp32, .metric = all,
                                .n_layers = n, .layers = out->rows};
    return OQ_OK;
}
