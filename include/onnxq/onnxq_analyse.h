/**
 * @file onnxq_analyse.h
 * @brief onnxq: why a quantized model lost accuracy, and a config that loses less, from C.
 *
 * Overview
 * --------
 * Three tools, the ones behind `onnxq compare`, `onnxq sensitivity` and `onnxq tune`:
 *   - ::oq_compare runs an FP32 model and its quantized (QDQ) version on the caller's batches and measures every
 *     layer's output against FP32 (cosine, SQNR, relative L2, max error, clipped share);
 *   - ::oq_tuner calibrates a model once (histograms kept, so that every scale algorithm can be planned from the
 *     same statistics) and then ranks the layers by sensitivity, or searches a config that meets an accuracy
 *     target: algorithms, first/last layer in float, the shortest prefix of the ranking in float, layers
 *     quantized again where the target still holds, and (optionally) int16 instead of float for the layers left;
 *   - the metric is the caller's: an ::oq_metric_fn receives the path of a candidate model and returns a number
 *     (higher is better, e.g. an accuracy); without one, the cosine similarity of the outputs to FP32 on the
 *     evaluation batches.
 *
 * Example
 * -------
 * @code
 *   oq_tuner *t = NULL;
 *   if (oq_tuner_create(m, NULL, &qopt, &t, &err)) goto fail;          // m: the FP32 model, borrowed
 *   for (each calibration batch) if (oq_tuner_feed(t, 1, &x, &err)) goto fail;
 *   for (each evaluation batch)  if (oq_tuner_add_eval(t, 1, &x, &err)) goto fail;
 *   oq_tune_options to = oq_tune_options_default();
 *   to.max_loss = 1.0;                                                 // percent of the FP32 metric
 *   to.metric = my_accuracy; to.metric_user = &my_data;                // NULL: output cosine similarity
 *   const oq_tune_result *r;
 *   if (oq_tuner_run(t, &to, "rec.int8.onnx", &r, &err)) goto fail;
 *   printf("loss %.2f%%, %d layers in float\n", r->loss, r->n_float);
 *   oq_tuner_free(t);                                                  // also frees r
 * @endcode
 *
 * Errors are values, as in onnxq.h: a metric that fails returns its status (with a message in its oq_error) and
 * the search stops with that status and message. No call exits or keeps global state.
 */
#ifndef ONNXQ_ONNXQ_ANALYSE_H
#define ONNXQ_ONNXQ_ANALYSE_H

#include <stdbool.h>

#include "onnxq/onnxq_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------ compare */

typedef struct oq_compare oq_compare;

enum { OQ_COMPARE_BINS = 64 };

/**
 * One compared tensor. Figures are over every element of every batch, in double, with a = FP32, b = quantized:
 *   cosine = sum(a b) / sqrt(sum(a^2) sum(b^2)) (1 when both are all zero); SQNR dB = 10 log10(sum(a^2) /
 *   sum((a - b)^2)) (+inf when identical); rel L2 = sqrt(sum((a - b)^2) / sum(a^2)); max abs = max |a - b|;
 *   clipped = share of FP32 values outside the quantizer's range (tensors with a QuantizeLinear).
 * Strings and hist are owned by the ::oq_compare.
 */
typedef struct oq_compare_layer {
    const char *tensor;       /**< FP32 tensor name */
    const char *node, *op;    /**< its producer in the FP32 model */
    const char *quant_tensor; /**< the tensor of the quantized model it is compared with */
    bool quantized;           /**< quant_tensor is a DequantizeLinear output (a QuantizeLinear precedes it) */
    bool left_float;          /**< a Conv/ConvTranspose/Gemm/MatMul the quantized model runs in float (none of its
                                   inputs comes from a DequantizeLinear), e.g. skipped by tune */
    int64_t count;            /**< elements compared */
    double cosine, sqnr_db, rel_l2, max_abs, clipped; /**< clipped: share in [0, 1], 0 without a quantizer */
    float q_lo, q_hi;         /**< the quantizer's range (quantized only) */
    bool split;               /**< the two figures below were measured */
    double sqnr_weights_db;   /**< SQNR with only the weights quantized (activation Q/DQ removed), NaN if unmatched */
    double sqnr_acts_db;      /**< SQNR with only the activations quantized (FP32 weights), NaN if unmatched */
    /** quantized layers: histogram of the FP32 values in OQ_COMPARE_BINS bins over [hist_lo, hist_hi] (the
     *  quantizer's range widened by half of it on each side; values beyond go to the end bins); else NULL */
    const int64_t *hist;
    float hist_lo, hist_hi;
} oq_compare_layer;

/**
 * Compare fp32 with quant (its QDQ version; both borrowed, they must outlive the comparison). Both run without
 * execution fusions; tensors are matched by name (T with T_DequantizeLinear_Output, ONNX Runtime's naming, or
 * with T itself when quant leaves it in float). split: also run quant's two halves (weights only, activations
 * only) to split each layer's error by its source.
 */
oq_status oq_compare_create(const oq_model *fp32, const oq_model *quant, int threads, bool split, oq_compare **out,
                            oq_error *err);
void oq_compare_free(oq_compare *c);
/** Run both models on one batch (inputs as oq_session_run) and accumulate. Matched tensors must agree in shape. */
oq_status oq_compare_feed(oq_compare *c, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
int64_t oq_compare_batches(const oq_compare *c);
/** Matched tensors that were compared (count > 0), in the FP32 model's execution order. */
int oq_compare_num_layers(const oq_compare *c);
void oq_compare_layer_at(const oq_compare *c, int i, oq_compare_layer *out);

/* ----------------------------------------------------------------------------------- sensitivity and tune */

typedef struct oq_tuner oq_tuner;

/**
 * The caller's metric: evaluate the model saved at model_path (an ONNX file, QDQ or FP32) and store a finite
 * number in *metric, higher is better. Return OQ_OK, or an error status with a message in err (the search stops
 * and returns it).
 */
typedef oq_status (*oq_metric_fn)(void *user, const char *model_path, double *metric, oq_error *err);
/** Receives each line the search prints (no trailing newline). */
typedef void (*oq_log_fn)(void *user, const char *line);

/**
 * Make a tuner for m (borrowed: it must outlive the tuner): the config and options as oq_quantizer_create
 * (static mode only); opt->method (or the config's algorithm) is the starting activation algorithm. Calibration
 * keeps histograms whatever the algorithm, so that every algorithm can be planned without new runs.
 */
oq_status oq_tuner_create(const oq_model *m, const char *config_json, const oq_quantize_options *opt,
                          oq_tuner **out, oq_error *err);
/** Frees t and every result it returned (NULL is fine). */
void oq_tuner_free(oq_tuner *t);
/** Calibrate on one batch (as oq_quantizer_feed). */
oq_status oq_tuner_feed(oq_tuner *t, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
/** Keep one evaluation batch (copied) and the FP32 outputs on it: the batches the layers are ranked on and the
 *  default metric is measured on. At least one is needed by sensitivity and tune. */
oq_status oq_tuner_add_eval(oq_tuner *t, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);

/** One quantized layer's sensitivity: output SQNR (dB, vs FP32, on the evaluation batches). */
typedef struct oq_sensitivity_layer {
    const char *node, *op;
    double float_gain_db; /**< SQNR gained when only this layer is left in float (all others quantized) */
    double alone_sqnr_db; /**< SQNR with only this layer quantized (all others float) */
    double metric;        /**< the caller's metric with only this layer left in float; NaN when not measured */
} oq_sensitivity_layer;

typedef struct oq_sensitivity {
    double sqnr_db, cosine; /**< every layer quantized */
    double metric_fp32, metric; /**< the caller's metric on the FP32 model and with every layer quantized; NaN
                                     without a metric */
    int n_layers;
    const oq_sensitivity_layer *layers; /**< ranked: largest float_gain_db first */
} oq_sensitivity;

/**
 * Rank the quantized layers of the current config by output SQNR (owned by t; valid until the next call or
 * oq_tuner_free). With a metric, also measure it on the FP32 model, on the fully quantized one, and with each of
 * the metric_top first ranked layers alone left in float (metric_top < 0: every layer); candidates are written
 * to a temporary file in $TMPDIR (or /tmp), removed after.
 */
oq_status oq_tuner_sensitivity(oq_tuner *t, oq_metric_fn metric, void *metric_user, int metric_top,
                               const oq_sensitivity **out, oq_error *err);

typedef struct oq_tune_options {
    double max_loss;       /**< target, in percent: loss = |metric - metric_fp32| / |metric_fp32| x 100 (default 1) */
    int max_steps;         /**< evaluations spent returning layers to float (and trying int16), at most (default 30) */
    double time_budget;    /**< stop returning layers after this many seconds; 0: none */
    bool try_int16;        /**< finally try int16 activations and weights instead of float for the layers left in
                                float (all, then one by one), keeping int16 where the target still holds */
    oq_metric_fn metric;   /**< NULL: cosine similarity of the outputs to FP32 on the evaluation batches */
    void *metric_user;
    oq_log_fn log;         /**< NULL: silent (the lines are also in the result's report) */
    void *log_user;
    const char *model_path; /**< names the model in the report; NULL: the model's path */
} oq_tune_options;

oq_tune_options oq_tune_options_default(void);

/** One evaluation of the search. */
typedef struct oq_tune_step {
    const char *what;     /**< e.g. "algorithm: activations mse, weights channel_wise_abs_max" */
    double metric, loss;  /**< loss in percent */
    double sqnr_db;       /**< output SQNR on the evaluation batches (NaN when not measured) */
    bool kept;            /**< the search kept this change */
} oq_tune_step;

typedef struct oq_tune_result {
    bool target_met;
    double metric_fp32, metric, loss; /**< the written model's metric and loss (percent) */
    int evaluations;
    double seconds;
    int n_float;                      /**< layers left in float, most sensitive first */
    const char *const *float_layers;
    int n_int16;                      /**< layers given int16 activations and weights */
    const char *const *int16_layers;
    int n_steps;
    const oq_tune_step *steps;
    const char *config_json;          /**< the config that reproduces the model (`onnxq quantize --config`) */
    const char *report_md;            /**< the report: outcome, layers left in float / int16, every step */
} oq_tune_result;

/**
 * Search, then write the best model found to out_path (atomically). The result is owned by t (valid until the
 * next call or oq_tuner_free). Candidates are written beside out_path (OUT.tune-candidate.onnx, removed after).
 * @return OQ_OK whether or not the target was met (see target_met); an error from a metric, the data or I/O
 */
oq_status oq_tuner_run(oq_tuner *t, const oq_tune_options *opt, const char *out_path, const oq_tune_result **out,
                       oq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ONNXQ_ONNXQ_ANALYSE_H */
