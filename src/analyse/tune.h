/* The engines behind `onnxq sensitivity`, `onnxq tune` and the public ::oq_tuner (include/onnxq/onnxq_analyse.h):
 * both work on pieces the caller prepared (model, config, calibrator, evaluation set), so that the command line
 * (data loaders, an --eval command, files) and the API (the caller's batches and metric callback) share them.
 *
 *   sensitivity: for every layer the plan quantizes, the output SQNR on the evaluation set with only that layer
 *                left in float (and, with `alone`, with only that layer quantized), ranked by the first;
 *   tune:        the search described in onnxq_analyse.h, over cfg (changed in place to the best config found),
 *                with the metric and log callbacks of oq_tune_options; writes the best model to out_path. */
#ifndef ONNXQ_ANALYSE_TUNE_H
#define ONNXQ_ANALYSE_TUNE_H

#include "analyse/evalset.h"
#include "onnxq/onnxq_analyse.h"
#include "quant/calibrate.h"
#include "quant/config.h"

/* A ranking: the public rows plus each row's node index in the model's graph. */
struct oq_sens_out {
    oq_sensitivity pub;
    oq_sensitivity_layer *rows;
    int *node;
};
void oq_sens_out_clear(struct oq_sens_out *o);

struct oq_sens_options {
    bool alone;               /* also measure each layer alone (twice the evaluations) */
    oq_metric_fn metric;      /* NULL: SQNR only */
    void *metric_user;
    int metric_top;           /* the metric for the first metric_top ranked layers; < 0: all */
    void (*progress)(int done, int total); /* after each layer, when given */
};

/* Rank the layers cal's plan quantizes (cfg as the calibrator reads it). */
oq_status oq_sensitivity_measure(const struct oq_model *m, const struct oq_calibrator *cal,
                                 const struct oq_eval_set *es, const struct oq_sens_options *o,
                                 struct oq_sens_out *out, oq_error *err);
/* The FP32 model as a file for the metric: its own file when it has one, else its graph saved to tmp. */
oq_status oq_fp32_model_file(const struct oq_model *m, const char *tmp, const char **path, oq_error *err);
/* The caller's metric on a model file, checked: its status and message pass through, a non-finite number is an
 * error. */
oq_status oq_metric_call(oq_metric_fn fn, void *user, const char *path, double *metric, oq_error *err);

/* What a search returns; pub's arrays point into the fields below. */
struct oq_tune_out {
    oq_tune_result pub;
    oq_tune_step *steps;
    int n_steps, cap_steps;
    char **floats, **int16s;
    char *config_json, *report_md;
};
void oq_tune_out_clear(struct oq_tune_out *o);

/* cal was created on cfg with histograms (percentile calibration) and fed; cfg->act.algo is the starting
 * algorithm. es holds at least one batch. */
oq_status oq_tune_search(const struct oq_model *m, struct oq_quant_config *cfg, const struct oq_calibrator *cal,
                         const struct oq_eval_set *es, const oq_tune_options *opt, const char *out_path,
                         struct oq_tune_out *out, oq_error *err);

#endif
