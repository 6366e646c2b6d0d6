/* Calibration: run the FP32 model batch by batch and keep per-tensor statistics (src/calib observers,
 * bounded memory: tensors x histogram bins, never samples), then turn them into a quantization plan.
 *
 *   struct oq_calibrator *c;
 *   oq_calibrator_create(model, config, threads, &c, &err);
 *   while (next batch) oq_calibrator_feed(c, n_inputs, inputs, &err);
 *   struct oq_quant_plan *plan;
 *   oq_calibrator_plan(c, &plan, &err);          // per-tensor scales by each tensor's configured algorithm
 *   oq_calibrator_write_table(c, plan, "model.calib.json", &err);
 *   oq_calibrator_free(c);
 *
 * The session runs without execution fusions so every tensor of the model is observed; float graph inputs
 * and every float node output get an observer. NaN/Inf in any tensor is an error naming it and the batch. */
#ifndef ONNXQ_QUANT_CALIBRATE_H
#define ONNXQ_QUANT_CALIBRATE_H

#include "exec/model.h"
#include "quant/config.h"
#include "quant/plan.h"

struct oq_calibrator;

oq_status oq_calibrator_create(const struct oq_model *m, const struct oq_quant_config *cfg, int threads,
                               struct oq_calibrator **out, oq_error *err);
void oq_calibrator_free(struct oq_calibrator *c);
/* Keep a histogram for every tensor from now on (call before the first batch), so that every algorithm can
 * be planned from the statistics (`onnxq tune`, the public tuner). */
void oq_calibrator_keep_histograms(struct oq_calibrator *c);
/* Run one batch and update every observer. */
oq_status oq_calibrator_feed(struct oq_calibrator *c, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
/* Batches and samples (dim 0 of the first input, summed) fed so far. */
void oq_calibrator_counts(const struct oq_calibrator *c, int64_t *batches, int64_t *samples);
/* Scales for every observed tensor and the per-node decisions of the config. Zero batches is an error. */
oq_status oq_calibrator_plan(const struct oq_calibrator *c, struct oq_quant_plan **out, oq_error *err);
/* Node decisions only (weights-only mode, or re-quantizing from a table): no calibration needed. */
oq_status oq_quant_plan_from_config(const struct oq_model *m, const struct oq_quant_config *cfg,
                                    struct oq_quant_plan **out, oq_error *err);

/* Calibration table: JSON {"tensors": {name: {scale, zero_point, type, algorithm, clip: [lo, hi],
 * observed: [min, max], batches}}} beside the model; with a NULL calibrator the observed fields are omitted. */
oq_status oq_calib_table_write(const struct oq_model *m, const struct oq_calibrator *c,
                               const struct oq_quant_plan *plan, const char *path, oq_error *err);
/* Fill plan->act from a table written by oq_calib_table_write (names must exist in the model). */
oq_status oq_calib_table_read(const struct oq_model *m, const char *path, struct oq_quant_plan *plan,
                              oq_error *err);

#endif
