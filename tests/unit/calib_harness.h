/* Calibrating a test model on a data source: what the tests of the algorithms that work from a calibrated plan
 * (bias correction, AdaRound) share. Include after test_util.h. */
#ifndef ONNXQ_TESTS_CALIB_HARNESS_H
#define ONNXQ_TESTS_CALIB_HARNESS_H

#include <stdbool.h>

#include "data/source.h"
#include "quant/calibrate.h"
#include "quant/config.h"

/* The plan from calibrating m on every batch of src with the default config (weights per tensor or per
 * channel); NULL after a failed CHECK. */
static struct oq_quant_plan *ch_calibrate(const oq_model *m, bool per_tensor, struct oq_data_source *src) {
    oq_error err = {0};
    struct oq_quant_config *cfg = oq_quant_config_default();
    if (per_tensor)
        cfg->weight.algo = OQ_CALIB_ALGO_ABS_MAX;
    struct oq_calibrator *cal = NULL;
    struct oq_quant_plan *plan = NULL;
    CHECK_OK(oq_calibrator_create(m, cfg, 1, &cal, &err), &err);
    oq_data_rewind(src);
    for (;;) {
        const oq_tensor_ref *batch;
        int count;
        CHECK_OK(oq_data_next(src, &batch, &count, &err), &err);
        if (count == 0 || !cal)
            break;
        CHECK_OK(oq_calibrator_feed(cal, 1, batch, &err), &err);
    }
    if (cal)
        CHECK_OK(oq_calibrator_plan(cal, &plan, &err), &err);
    oq_calibrator_free(cal);
    oq_quant_config_free(cfg);
    return plan;
}

#endif
