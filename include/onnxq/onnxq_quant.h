/**
 * @file onnxq_quant.h
 * @brief onnxq: post-training quantization of a loaded model, batch by batch, from C.
 *
 * Overview
 * --------
 * An ::oq_quantizer calibrates a model on batches the caller supplies and writes the quantized model:
 * QDQ ONNX (static mode) or int8/int16 weights with float activations (weights-only mode). It is what
 * `onnxq quantize` does, minus the data loaders: the same config JSON (`onnxq config` writes it,
 * `--config` reads it), the same option names and presets, the same calibration, QDQ writer and atomic save.
 *
 * Example
 * -------
 * @code
 *   oq_error err = {0};
 *   oq_model *m = NULL;
 *   oq_quantizer *q = NULL;
 *   if (oq_model_load("rec.onnx", &m, &err)) goto fail;
 *   oq_quantize_options opt = oq_quantize_options_default();
 *   opt.method = "percentile";                         // activation algorithm, as --method
 *   opt.per_channel = OQ_PER_CHANNEL_ON;
 *   if (oq_quantizer_create(m, NULL, &opt, &q, &err)) goto fail;   // NULL: the default config
 *   if (oq_quantize_check_output(m, "rec.int8.onnx", &err)) goto fail;  // before minutes of calibration
 *   for (each batch) {
 *       oq_tensor_ref x = { .name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {8, 3, 48, 320},
 *                           .data = batch };
 *       if (oq_quantizer_feed(q, 1, &x, &err)) goto fail;
 *   }
 *   if (oq_quantizer_save(q, "rec.int8.onnx", "rec.int8.calib.json", &err)) goto fail;
 *   oq_quantizer_free(q);
 *   oq_model_free(m);
 *   return 0;
 * fail:
 *   fprintf(stderr, "%s\n", err.msg);
 *   oq_quantizer_free(q);                              // both accept NULL
 *   oq_model_free(m);
 * @endcode
 *
 * Errors are values: every fallible call returns an ::oq_status and fills the ::oq_error (when given) with a
 * message naming the model, tensor or option involved. No call exits or keeps global state; distinct
 * quantizers may be used from distinct threads.
 */
#ifndef ONNXQ_ONNXQ_QUANT_H
#define ONNXQ_ONNXQ_QUANT_H

#include "onnxq/onnxq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oq_quantizer oq_quantizer;

/** Per-channel weight scales: keep the config's choice (per channel by default), or force it. */
typedef enum oq_per_channel {
    OQ_PER_CHANNEL_DEFAULT = 0, /**< the config's "weight" algorithm (channel_wise_abs_max by default) */
    OQ_PER_CHANNEL_ON,          /**< one scale per output channel (--per-channel) */
    OQ_PER_CHANNEL_OFF,         /**< one scale per weight tensor (--per-tensor) */
} oq_per_channel;

/**
 * Options over the config's global settings, as the flags of `onnxq quantize` (same names and order of
 * application: the target preset first, then the others; per-layer entries of the config that differ from
 * the global settings still win). Zero / NULL fields leave the config as it is; start from
 * oq_quantize_options_default().
 */
typedef struct oq_quantize_options {
    const char *method;      /**< activation algorithm (--method): min_max, abs_max, moving_average_abs_max,
                                  percentile, mse, kl, kl_v2; NULL: the config's */
    const char *target;      /**< preset (--target): "ort-cpu", "tensorrt", "npu-pow2"; NULL: none */
    oq_per_channel per_channel; /**< see ::oq_per_channel */
    int symmetric;           /**< int8 (int16) symmetric activations instead of uint8 (uint16) asymmetric */
    int bits;                /**< 0: the config's; 8 or 16: activation and weight bits (--bits) */
    int weights_only;        /**< weights stored int8/int16 + DequantizeLinear, activations float: no data */
    int pow2;                /**< power-of-two scales 2^-n (--pow2) */
    float percentile;        /**< > 0: the percentile of method "percentile" (--percentile); 0: the config's */
    const char *const *skip_nodes;    /**< node names left in float (--skip); n_skip_nodes entries */
    int n_skip_nodes;
    const char *const *skip_op_types; /**< op types left in float (--skip-op-type); n_skip_op_types entries */
    int n_skip_op_types;
    int threads;             /**< calibration threads; 0: every online CPU */
    const char *config_source; /**< names the config JSON in messages (e.g. its file path); NULL: "config" */
} oq_quantize_options;

/** All fields zero / NULL: the config as given, every CPU. */
oq_quantize_options oq_quantize_options_default(void);

/**
 * Make a quantizer for m: parse the config, apply the options, check every name in them against the model
 * and (static mode) prepare the calibration session. Nothing is copied from m: it must outlive the quantizer.
 * @param m            the FP32 model (borrowed)
 * @param config_json  quantization config as JSON text (the format `onnxq config` writes); NULL: the default
 * @param opt          options over the config; NULL: oq_quantize_options_default()
 * @param out          receives the quantizer; caller frees with oq_quantizer_free()
 * @return OQ_OK; OQ_ERR_ARG for a bad config, option value or an unknown node / op type name (the message
 *         names it); OQ_ERR_NUMERIC for non-finite weights; OQ_ERR_NOMEM
 */
oq_status oq_quantizer_create(const oq_model *m, const char *config_json, const oq_quantize_options *opt,
                              oq_quantizer **out, oq_error *err);

/** Frees q (NULL is fine). The model is not freed. */
void oq_quantizer_free(oq_quantizer *q);

/** 1 when the quantizer calibrates (static mode) and so needs batches; 0 in weights-only mode (set by
 *  the options or by the config's "mode"). */
int oq_quantizer_needs_data(const oq_quantizer *q);

/**
 * Calibrate on one batch: run the FP32 model and update the statistics of every float tensor. Inputs are
 * matched as oq_session_run() does (by name, or by position when name is NULL; every graph input given,
 * declared dtype and rank). Memory stays bounded whatever the number of batches. The input data is only
 * read during the call.
 * @return OQ_OK; OQ_ERR_SHAPE / OQ_ERR_ARG for inputs that do not fit the model (message names the input
 *         and the batch); OQ_ERR_NUMERIC for NaN/Inf in a tensor; OQ_ERR_ARG in weights-only mode
 */
oq_status oq_quantizer_feed(oq_quantizer *q, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);

/** Batches and samples (dim 0 of the first input, summed) fed so far; NULL pointers are skipped. */
void oq_quantizer_counts(const oq_quantizer *q, int64_t *batches, int64_t *samples);

/**
 * Choose the scales, rewrite a copy of the model's graph and write it to out_path (a temporary file
 * beside it, then rename: never a partial file). May be called more than once (e.g. after more batches).
 * @param out_path    the quantized model; must not be the input model's file
 * @param table_path  static mode: also write the calibration table (JSON: scale, zero point, type,
 *                    algorithm, clip range and observed range per tensor) there; NULL: no table.
 *                    Must be NULL in weights-only mode.
 * @return OQ_OK; OQ_ERR_ARG when no batch was fed in static mode ("calibration ran zero batches"), or for
 *         an output path equal to the input model; OQ_ERR_IO when the file cannot be written
 */
oq_status oq_quantizer_save(oq_quantizer *q, const char *out_path, const char *table_path, oq_error *err);

/**
 * Check, before calibrating, that path can take the quantized model: it is not m's own file and its folder
 * takes a new file (probed with the temporary file the atomic save uses, then removed).
 * @return OQ_OK, OQ_ERR_ARG (it is the input model) or OQ_ERR_IO (folder missing or not writable)
 */
oq_status oq_quantize_check_output(const oq_model *m, const char *path, oq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ONNXQ_ONNXQ_QUANT_H */
