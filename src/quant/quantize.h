/* What `onnxq quantize` (src/cli/quantize.c) and the public quantizer (src/api/quant_api.c,
 * include/onnxq/onnxq_quant.h) share, so that both quantize a model the same way:
 *   - oq_quant_config_apply_options: the quantize options (target preset, method, bits, skip lists...)
 *     applied over a config's global settings, then checked;
 *   - oq_quant_check_output: the output path is not the input model and its folder takes a new file;
 *   - oq_quant_write_model: a copy of the model's graph rewritten by the plan (QDQ or weights only),
 *     saved atomically, plus the calibration table. */
#ifndef ONNXQ_QUANT_QUANTIZE_H
#define ONNXQ_QUANT_QUANTIZE_H

#include "onnxq/onnxq_quant.h"
#include "quant/calibrate.h"
#include "quant/config.h"
#include "quant/qdq.h"

/* Apply o over c (preset first, then the flags; see oq_quantize_options) and check the resulting
 * activation and weight settings. A bad preset or method name is OQ_ERR_ARG listing the valid ones. */
oq_status oq_quant_config_apply_options(struct oq_quant_config *c, const oq_quantize_options *o, oq_error *err);

/* The config of an API call (oq_quantizer_create, oq_tuner_create): config_json parsed (NULL: the default), opt
 * applied over it, every name checked against m; options that need the CLI's own model or data are refused. */
oq_status oq_quant_config_for_api(const struct oq_model *m, const char *config_json, const oq_quantize_options *opt,
                                  struct oq_quant_config **out, oq_error *err);

/* model_path (may be NULL: not compared) must not be `out`, and out's folder must take a new file. `what`
 * names the path in messages ("-o", "output"). */
oq_status oq_quant_check_output(const char *model_path, const char *what, const char *out, oq_error *err);

/* Clone g (NULL: m's graph; else a graph aligned with m's, e.g. with bias-corrected biases), rewrite it by plan
 * (oq_qdq_apply, default options) and save it to out; when table is not NULL (static mode) write the
 * calibration table of cal (may be NULL: no observed ranges) too. stats may be NULL. */
oq_status oq_quant_write_model(const struct oq_model *m, const struct oq_graph *g, const struct oq_quant_plan *plan,
                               const struct oq_calibrator *cal, const char *out, const char *table,
                               struct oq_qdq_stats *stats, oq_error *err);

#endif
