/* The public tuner (include/onnxq/onnxq_analyse.h): a calibrator that keeps histograms, an evaluation set, and the
 * engines of analyse/tune.h, which `onnxq sensitivity` and `onnxq tune` run too. The caller brings the batches
 * and the metric. (The public compare API is analyse/compare.c itself.) */
#include <stdlib.h>

#include "analyse/tune.h"
#include "core/status.h"
#include "quant/quantize.h"

struct oq_tuner {
    const struct oq_model *m;    /* borrowed */
    struct oq_quant_config *cfg; /* owned; the calibrator reads it */
    struct oq_calibrator *cal;
    struct oq_eval_set *es;
    struct oq_sens_out sens;     /* the last results handed out */
    struct oq_tune_out tune;
};

static const char *model_name(const oq_model *m) { return m && m->path ? m->path : "model"; }

oq_tune_options oq_tune_options_default(void) {
    return (oq_tune_options){.max_loss = 1.0, .max_steps = 30};
}

oq_status oq_tuner_create(const oq_model *m, const char *config_json, const oq_quantize_options *opt,
                          oq_tuner **out, oq_error *err) {
    if (!out)
        return oq_errorf(err, OQ_ERR_ARG, "oq_tuner_create: out is NULL");
    *out = NULL;
    if (!m)
        return oq_errorf(err, OQ_ERR_ARG, "oq_tuner_create: model is NULL");
    struct oq_tuner *t = calloc(1, sizeof(*t));
    if (!t)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    t->m = m;
    oq_status st = oq_quant_config_for_api(m, config_json, opt, &t->cfg, err);
    if (!st && t->cfg->mode == OQ_QUANT_WEIGHT_ONLY)
        st = oq_errorf(err, OQ_ERR_ARG, "%s: tune and sensitivity calibrate, so weights-only mode does not apply; "
                       "drop weights_only (or the config's \"mode\": \"weights_only\")", model_name(m));
    if (!st) /* histograms for every tensor: each algorithm can then be planned from the same statistics */
        st = oq_calibrator_create(m, t->cfg, opt ? opt->threads : 0, &t->cal, err);
    if (!st)
        oq_calibrator_keep_histograms(t->cal);
    if (!st)
        st = oq_eval_set_create(m, opt ? opt->threads : 0, &t->es, err);
    if (st) {
        oq_tuner_free(t);
        return st;
    }
    *out = t;
    return OQ_OK;
}

void oq_tuner_free(oq_tuner *t) {
    if (!t)
        return;
    oq_sens_out_clear(&t->sens);
    oq_tune_out_clear(&t->tune);
    oq_eval_set_free(t->es);
    oq_calibrator_free(t->cal);
    oq_quant_config_free(t->cfg);
    free(t);
}

static oq_status check_batch(const oq_tuner *t, const char *fn, int n_inputs, const oq_tensor_ref *inputs,
                             oq_error *err) {
    if (!t)
        return oq_errorf(err, OQ_ERR_ARG, "%s: tuner is NULL", fn);
    if (n_inputs < 0 || (n_inputs > 0 && !inputs))
        return oq_errorf(err, OQ_ERR_ARG, "%s: %s: %d inputs with %s array", model_name(t->m), fn, n_inputs,
                         inputs ? "an" : "a NULL");
    return OQ_OK;
}

oq_status oq_tuner_feed(oq_tuner *t, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    OQ_TRY(check_batch(t, "oq_tuner_feed", n_inputs, inputs, err));
    return oq_calibrator_feed(t->cal, n_inputs, inputs, err);
}

oq_status oq_tuner_add_eval(oq_tuner *t, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    OQ_TRY(check_batch(t, "oq_tuner_add_eval", n_inputs, inputs, err));
    return oq_eval_set_add(t->es, n_inputs, inputs, err);
}

static oq_status check_ready(const oq_tuner *t, const char *what, oq_error *err) {
    int64_t batches = 0;
    oq_calibrator_counts(t->cal, &batches, NULL);
    if (batches == 0)
        return oq_errorf(err, OQ_ERR_ARG, "%s: calibration ran zero batches, so no scale can be chosen; feed "
                         "calibration batches (oq_tuner_feed) before %s", model_name(t->m), what);
    if (oq_eval_set_batches(t->es) == 0)
        return oq_errorf(err, OQ_ERR_ARG, "%s: no evaluation batch; add at least one (oq_tuner_add_eval) before %s: "
                         "the layers are ranked on them", model_name(t->m), what);
    return OQ_OK;
}

oq_status oq_tuner_sensitivity(oq_tuner *t, oq_metric_fn metric, void *metric_user, int metric_top,
                               const oq_sensitivity **out, oq_error *err) {
    if (!t || !out)
        return oq_errorf(err, OQ_ERR_ARG, "oq_tuner_sensitivity: tuner or out is NULL");
    *out = NULL;
    OQ_TRY(check_ready(t, "sensitivity", err));
    struct oq_sens_options so = {.alone = true, .metric = metric, .metric_user = metric_user, .metric_top = metric_top};
    OQ_TRY(oq_sensitivity_measure(t->m, t->cal, t->es, &so, &t->sens, err));
    *out = &t->sens.pub;
    return OQ_OK;
}

oq_status oq_tuner_run(oq_tuner *t, const oq_tune_options *opt, const char *out_path, const oq_tune_result **out,
                       oq_error *err) {
    if (!t || !out)
        return oq_errorf(err, OQ_ERR_ARG, "oq_tuner_run: tuner or out is NULL");
    *out = NULL;
    OQ_TRY(check_ready(t, "tuning", err));
    OQ_TRY(oq_quant_check_output(t->m->path, "output", out_path, err));
    oq_tune_options o = opt ? *opt : oq_tune_options_default();
    if (!o.model_path)
        o.model_path = model_name(t->m);
    /* the search leaves the best config it found in cfg (which the calibrator reads): every run starts from the
     * created one again */
    char *snap = oq_quant_config_to_json(t->cfg, NULL);
    if (!snap)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    oq_status st = oq_tune_search(t->m, t->cfg, t->cal, t->es, &o, out_path, &t->tune, err);
    struct oq_quant_config *again = NULL;
    oq_error e2 = {0};
    if (oq_quant_config_parse(snap, "tuner config", &again, &e2)) {
        free(snap);
        return st ? st : oq_errorf(err, e2.code, "%s", e2.msg);
    }
    free(snap);
    struct oq_quant_config tmp = *t->cfg; /* swap contents: the calibrator keeps its pointer */
    *t->cfg = *again;
    *again = tmp;
    oq_quant_config_free(again);
    OQ_TRY(st);
    *out = &t->tune.pub;
    return OQ_OK;
}
