/* The public quantizer (include/onnxq/onnxq_quant.h): a handle over the pieces `onnxq quantize` uses
 * (config + options, calibrator, plan, QDQ writer, atomic save; the shared parts live in quant/quantize.c).
 * The caller brings the batches, so no data loader is involved. */
#include "onnxq/onnxq_quant.h"

#include <stdlib.h>

#include "core/status.h"
#include "exec/model.h"
#include "quant/calibrate.h"
#include "quant/config.h"
#include "quant/quantize.h"

struct oq_quantizer {
    const struct oq_model *m;    /* borrowed: must outlive the quantizer */
    struct oq_quant_config *cfg; /* owned; the calibrator reads it */
    struct oq_calibrator *cal;   /* owned; NULL in weights-only mode */
};

oq_quantize_options oq_quantize_options_default(void) {
    oq_quantize_options o = {0};
    return o;
}

static const char *model_name(const oq_model *m) { return m && m->path ? m->path : "model"; }

oq_status oq_quantizer_create(const oq_model *m, const char *config_json, const oq_quantize_options *opt,
                              oq_quantizer **out, oq_error *err) {
    if (!out)
        return oq_errorf(err, OQ_ERR_ARG, "oq_quantizer_create: out is NULL");
    *out = NULL;
    if (!m)
        return oq_errorf(err, OQ_ERR_ARG, "oq_quantizer_create: model is NULL");
    struct oq_quantizer *q = calloc(1, sizeof(*q));
    if (!q)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    q->m = m;
    oq_status st = oq_quant_config_for_api(m, config_json, opt, &q->cfg, err);
    if (!st && q->cfg->mode != OQ_QUANT_WEIGHT_ONLY)
        st = oq_calibrator_create(m, q->cfg, opt ? opt->threads : 0, &q->cal, err);
    if (st) { /* the messages already name the model or the config */
        oq_quantizer_free(q);
        return st;
    }
    *out = q;
    return OQ_OK;
}

void oq_quantizer_free(oq_quantizer *q) {
    if (!q)
        return;
    oq_calibrator_free(q->cal);
    oq_quant_config_free(q->cfg);
    free(q);
}

int oq_quantizer_needs_data(const oq_quantizer *q) { return q && q->cal != NULL; }

oq_status oq_quantizer_feed(oq_quantizer *q, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    if (!q)
        return oq_errorf(err, OQ_ERR_ARG, "oq_quantizer_feed: quantizer is NULL");
    if (!q->cal)
        return oq_errorf(err, OQ_ERR_ARG, "%s: the quantizer is in weights-only mode, which takes no calibration "
                         "data; call oq_quantizer_save directly", model_name(q->m));
    if (n_inputs < 0 || (n_inputs > 0 && !inputs))
        return oq_errorf(err, OQ_ERR_ARG, "%s: oq_quantizer_feed: %d inputs with %s array", model_name(q->m),
                         n_inputs, inputs ? "an" : "a NULL");
    return oq_calibrator_feed(q->cal, n_inputs, inputs, err);
}

void oq_quantizer_counts(const oq_quantizer *q, int64_t *batches, int64_t *samples) {
    if (batches)
        *batches = 0;
    if (samples)
        *samples = 0;
    if (q && q->cal)
        oq_calibrator_counts(q->cal, batches, samples);
}

oq_status oq_quantize_check_output(const oq_model *m, const char *path, oq_error *err) {
    return oq_quant_check_output(m ? m->path : NULL, "output", path, err);
}

oq_status oq_quantizer_save(oq_quantizer *q, const char *out_path, const char *table_path, oq_error *err) {
    if (!q)
        return oq_errorf(err, OQ_ERR_ARG, "oq_quantizer_save: quantizer is NULL");
    if (!q->cal && table_path)
        return oq_errorf(err, OQ_ERR_ARG, "%s: weights-only mode calibrates nothing, so there is no calibration "
                         "table to write to '%s'; pass no table path", model_name(q->m), table_path);
    OQ_TRY(oq_quant_check_output(q->m->path, "output", out_path, err));
    if (table_path)
        OQ_TRY(oq_quant_check_output(q->m->path, "table", table_path, err));
    int64_t batches = 0;
    oq_quantizer_counts(q, &batches, NULL);
    if (q->cal && batches == 0) /* the calibrator refuses too, but its message speaks of the CLI's --data */
        return oq_errorf(err, OQ_ERR_ARG, "%s: calibration ran zero batches, so no scale can be chosen; feed at "
                         "least one batch of calibration data before saving, or quantize the weights only",
                         model_name(q->m));
    struct oq_quant_plan *plan = NULL;
    oq_status st = q->cal ? oq_calibrator_plan(q->cal, &plan, err)
                          : oq_quant_plan_from_config(q->m, q->cfg, &plan, err);
    if (!st)
        st = oq_quant_write_model(q->m, NULL, plan, q->cal, out_path, table_path, NULL, err);
    oq_quant_plan_free(plan);
    return st;
}
