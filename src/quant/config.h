/* Quantization configuration: global settings, which op types to quantize, and per-layer (node) and
 * per-tensor overrides. Read from JSON; `onnxq config MODEL` writes the default for a model, listing every
 * quantizable node so users can edit it.
 *
 *   {
 *     "mode": "static",                        // or "weights_only"
 *     "activation": {"algorithm": "percentile", "bits": 8, "symmetric": false, "percentile": 99.99,
 *                    "ema_rate": 0.9, "power_of_two": false, "pow2_range": [0, 31]},
 *     "weight": {"algorithm": "channel_wise_abs_max", "bits": 8, "power_of_two": false},
 *     "op_types": ["Conv", "MatMul", ...],     // op types to quantize
 *     "skip_layers": ["p2o.Conv.0"],           // node names left in float
 *     "layers": {"p2o.MatMul.3": {"quant_enable": true,
 *                                 "activation": {"algorithm": "mse"},   // for this node's outputs
 *                                 "weight": {"bits": 16}}},
 *     "tensors": {"x": {"algorithm": "min_max"}}, // activation settings for one tensor (e.g. a graph input)
 *     "equalize": false,                        // cross-layer equalization (quant/equalize.h; CLI only)
 *     "equalize_absorb_bias": false,            // then high-bias absorption on the data (implies equalize)
 *     "adaround": false,                        // AdaRound weight rounding (quant/adaround.h; CLI only)
 *     "smoothquant": {"enable": true, "alpha": 0.5, "fold_only": false} // or "smoothquant": true
 *   }
 *
 * Every key is checked: an unknown key, a wrong type, or a layer/tensor name the model lacks is an error that
 * names it and says what is expected. Precedence for a tensor's activation settings: "tensors" entry, then
 * the producing node's "layers" entry, then "activation". A layer entry whose activation or weight settings
 * equal the global ones (as `onnxq config` writes every layer) follows the global section, so editing it or
 * passing command-line flags still reaches that layer; an entry that differs pins the layer. bits 8 -> uint8 (asymmetric) / int8 (symmetric)
 * activations, int8 weights; bits 16 -> uint16 / int16 activations, int16 weights. */
#ifndef ONNXQ_QUANT_CONFIG_H
#define ONNXQ_QUANT_CONFIG_H

#include <stdbool.h>

#include "calib/scale.h"
#include "graph/graph.h"
#include "quant/plan.h"

struct oq_layer_config {
    char *name;
    bool has_enable, quant_enable;
    bool has_act, has_weight;
    struct oq_calib_config act;
    struct oq_calib_config weight;
};

struct oq_tensor_config {
    char *name;
    struct oq_calib_config act;
};

struct oq_quant_config {
    enum oq_quant_mode mode;
    struct oq_calib_config act;     /* global activation settings */
    struct oq_calib_config weight;  /* global weight settings (algo abs_max or channel_wise_abs_max) */
    int n_op_types;
    char **op_types;
    int n_skip;
    char **skip;
    int n_layers;
    struct oq_layer_config *layers;
    int n_tensors;
    struct oq_tensor_config *tensors;
    bool bias_correction; /* quant/bias_correct.h: shift quantized layers' biases by their mean output error */
    bool equalize;        /* quant/equalize.h: cross-layer equalization of the FP32 weights before calibration */
    bool equalize_absorb_bias; /* ... then high-bias absorption on --data (implies equalize; CLI only) */
    bool adaround;        /* quant/adaround.h: choose each weight's rounding (up/down) by the layer's output error */
    bool smoothquant;     /* quant/smoothquant.h: move activation outliers into MatMul/Gemm weights first */
    float smoothquant_alpha; /* its migration strength in [0, 1] (default 0.5) */
    bool smoothquant_fold_only; /* only layers whose 1/s folds into the producer (no inserted float Mul) */
};

/* The default: static mode, uint8 asymmetric activations with min_max... see oq_quant_config_default(). */
struct oq_quant_config *oq_quant_config_default(void);
void oq_quant_config_free(struct oq_quant_config *c);
/* Parse JSON text (source names it in messages). */
oq_status oq_quant_config_parse(const char *json, const char *source, struct oq_quant_config **out,
                                oq_error *err);
oq_status oq_quant_config_load(const char *path, struct oq_quant_config **out, oq_error *err);
/* Check every layer, skip and tensor name exists in g (message names the first unknown one and suggests
 * similar names). */
oq_status oq_quant_config_validate(const struct oq_quant_config *c, const struct oq_graph *g, oq_error *err);
/* The config as JSON (malloc'd string; caller frees), with `layers` listing every node of g whose op type is
 * quantized (so the file is a template to edit) when g is given. */
char *oq_quant_config_to_json(const struct oq_quant_config *c, const struct oq_graph *g);

/* Append a copy of a node name to the config's skip list (left in float). */
oq_status oq_quant_config_add_skip(struct oq_quant_config *c, const char *name, oq_error *err);

/* Is this op type in the config's list? */
bool oq_quant_config_has_op(const struct oq_quant_config *c, const char *op_type);
/* Settings for node n: whether it is quantized and its weight settings. */
void oq_quant_config_node(const struct oq_quant_config *c, const struct oq_node *n, bool *quantize,
                          struct oq_calib_config *weight);
/* Activation settings for value v of g (see precedence above). */
void oq_quant_config_tensor(const struct oq_quant_config *c, const struct oq_graph *g, int v,
                            struct oq_calib_config *act);

/* Conv, ConvTranspose, Gemm, MatMul: the ops with weights (per-channel, weight settings in the config). */
bool oq_quant_op_is_weighted(const char *op);

#endif
