/* Layer sensitivity (analyse/tune.h): the plan re-made from the calibration statistics once, then each quantized
 * node switched off (left in float) alone, and with `alone` switched on alone, each variant measured on the
 * evaluation set. */
#include <math.h>
#include <stdlib.h>

#include "analyse/tune.h"
#include "core/status.h"

void oq_sens_out_clear(struct oq_sens_out *o) {
    free(o->rows);
    free(o->node);
    *o = (struct oq_sens_out){0};
}

struct sens_row {
    oq_sensitivity_layer row;
    int node;
};

static int by_gain(const void *a, const void *b) {
    double x = ((const oq_sensitivity_layer *)a)->float_gain_db, y = ((const oq_sensitivity_layer *)b)->float_gain_db;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y); /* NaN last */
    return x < y ? 1 : x > y ? -1 : 0;
}

oq_status oq_sensitivity_measure(const struct oq_model *m, const struct oq_calibrator *cal,
                                 const struct oq_eval_set *es, bool alone, void (*progress)(int done, int total),
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
        r[k].row.node = g->nodes[i].name;
        r[k].row.op = g->nodes[i].op_type;
        r[k].row.float_gain_db = e.sqnr_db - full.sqnr_db;
        r[k].row.alone_sqnr_db = NAN;
        if (!st && alone) {
            for (int j = 0; j < g->n_nodes; j++) /* only node i */
                plan->node[j].quantize = j == i;
            st = oq_eval_plan(es, plan, &e, err);
            r[k].row.alone_sqnr_db = e.sqnr_db;
        }
        if (progress)
            progress(k + 1, n);
    }
    oq_quant_plan_free(plan);
    free(keep);
    if (!st) {
        /* rank by the gain, stable on ties (graph order) */
        for (int k = 1; k < n; k++)
            for (int j = k; j > 0 && by_gain(&r[j - 1].row, &r[j].row) > 0; j--) {
                struct sens_row t = r[j - 1];
                r[j - 1] = r[j];
                r[j] = t;
            }
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
    out->pub = (oq_sensitivity){.sqnr_db = full.sqnr_db, .cosine = full.cosine, .n_layers = n, .layers = out->rows};
    return OQ_OK;
}
