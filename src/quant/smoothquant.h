/* SmoothQuant (Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training Quantization for Large Language
 * Models", 2023), applied to the FP32 graph before calibration.
 *
 * A MatMul X[..., K] x B[K, N] (B a float initializer; X may be batched) or a Gemm with a constant B (transB
 * honoured, transA = 0) computes the same function when X's channel k is divided by s_k and B's row k multiplied
 * by s_k. Activations of transformer-like layers carry a few channels with ranges 10-100x the others, which
 * per-tensor activation quantization cannot represent without crushing the rest; weights are quantized per
 * output channel, so moving range from X into B's rows costs them little. With a_k = max |X[..., k]| over the
 * calibration data and w_k = max_n |B[k, n]|:
 *
 *     s_k = a_k^alpha / w_k^(1 - alpha)            (alpha = migration strength, 0.5 by default)
 *
 * so that the smoothed ranges are a_k / s_k = (a_k w_k)^(1 - alpha) for X and w_k s_k = (a_k w_k)^alpha for B's
 * row k: alpha = 1 makes every activation channel's range 1, alpha = 0 every weight row's. s_k = 1 where a_k or
 * w_k is zero, denormal or not finite (a dead or broken channel: nothing to balance); s_k is clamped to
 * [1e-5, 1e5].
 *
 * Layers that read the same X (the Q/K/V projections) get one s, from the max of w_k over their weights. The
 * division by s goes where it is exact and free:
 *   - into X's producer, when every reader of X is one of those layers (or a Shape, which reads no values) and
 *     the producer is one of: LayerNormalization over the last axis (scale and bias / s); Mul by a constant
 *     vector over the last axis (the vector / s); Add of a constant vector over the last axis (vector / s, and
 *     the Add's other input is folded in turn: the Mul + Add that exporters write for a LayerNorm's affine
 *     part); MatMul or Gemm with a constant B (B's output columns / s, Gemm's bias C / s);
 *   - otherwise into a new Mul node by a constant 1/s in front of the layers ("<layer>_smooth", initializer
 *     "<layer>_smooth_scale", output "<layer>_smooth_out"). Correct everywhere, but it only pays where X is not
 *     already rounded at its unsmoothed range upstream (a quantized producer writes X through a Q/DQ pair
 *     before the Mul sees it), and a quantized Mul would round X itself: the inserted Mul is added to the
 *     config's skip_layers so that it stays float and only its output, X / s, is quantized (for the layer).
 *     opt->fold_only leaves those layers alone instead.
 * Constants read by other nodes too are copied first ("<name>_smooth"), so only this path changes.
 *
 * Left alone (counted in the stats): MatMuls whose B is computed (attention's Q x K^T and P x V), layers the
 * config does not quantize, weights shared with other nodes, B not 2-D, Gemm with transA, and X that never
 * appeared in the data with a last dim of K. */
#ifndef ONNXQ_QUANT_SMOOTHQUANT_H
#define ONNXQ_QUANT_SMOOTHQUANT_H

#include "data/source.h"
#include "exec/model.h"
#include "quant/config.h"

#define OQ_SMOOTHQUANT_ALPHA_DEFAULT 0.5f

struct oq_smoothquant_stats {
    int layers;              /* MatMul/Gemm nodes whose B rows were scaled */
    int groups;              /* distinct activations smoothed (layers sharing an input share one s) */
    int folded;              /* ... whose 1/s went into the producer */
    int inserted;            /* ... given a Mul by 1/s */
    int skip_no_weight;      /* B is not a float initializer (activation x activation, e.g. attention) */
    int skip_not_quantized;  /* the config leaves the layer in float */
    int skip_shared_weight;  /* B is read by other nodes too */
    int skip_shape;          /* B not 2-D, Gemm transA, X's last dim not K in the data */
    int skip_not_seen;       /* X never produced on the calibration data (or all zero / not finite) */
    int skip_no_fold;        /* fold_only and 1/s could not be folded into X's producer */
    int64_t batches;         /* batches measured */
    double max_ratio_before; /* worst (max a_k / median a_k) over the smoothed activations */
    double max_ratio_after;  /* the same with a_k / s_k */
    char worst[256];         /* the layer with the worst ratio before */
};

/* s_k for one channel: a^alpha / w^(1 - alpha), 1 where a or w is 0, denormal or not finite, clamped to
 * [1e-5, 1e5]. */
double oq_smoothquant_scale(double a, double w, double alpha);

struct oq_smoothquant_options {
    float alpha;    /* migration strength in [0, 1] (OQ_SMOOTHQUANT_ALPHA_DEFAULT) */
    int threads;    /* as oq_session_options.num_threads */
    bool fold_only; /* no Mul insertion: layers whose 1/s cannot be folded are left alone (skip_no_fold) */
};

/* Smooth m's graph in place (the caller owns m and holds no session or plan on it). cfg says which layers are
 * quantized; inserted Mul nodes are appended to its skip list. src is rewound and read to the end once by the
 * FP32 model; zero batches is an error. On success m's graph is re-sorted and resolved. Every error except
 * OQ_ERR_NOMEM is found before anything changes. */
oq_status oq_smoothquant(oq_model *m, struct oq_quant_config *cfg, const struct oq_smoothquant_options *opt,
                         struct oq_data_source *src, struct oq_smoothquant_stats *st, oq_error *err);

#endif
