/* Scale algorithms: from an observer (activations) or raw weights to (scale, zero_point).
 *
 * An algorithm chooses a clipping range [lo, hi]; oq_calib_qparams_from_range() turns it into quantization
 * parameters for the configured type:
 *
 *   symmetric:  A = max(|lo|, |hi|); signed types: scale = A / qmax, zero_point = 0, q in [-qmax, qmax]
 *               (int8 [-127,127], int16 [-32767,32767]); unsigned types: scale = A / (qmax/2 rounded down),
 *               zero_point = 128 (uint8) or 32768 (uint16), so +-A are both representable.
 *   asymmetric: lo' = min(lo, 0), hi' = max(hi, 0) (zero is always exactly representable);
 *               scale = (hi' - lo') / (qmax - qmin); zero_point = round_half_even(qmin - lo'/scale) clamped
 *               to [qmin, qmax] (the TFLite/ORT nudge).
 *
 * Degenerate ranges (documented rule, tested in tests/unit/test_calib_scales.c):
 *   - all zero (A == 0 / hi' == lo'): scale = 1.0 (as ONNX Runtime does; it keeps the bias scale
 *     input_scale*weight_scale sane), zero_point as above (0 for signed/asymmetric-from-0, 128 for symmetric
 *     uint8).
 *   - tiny, denormal or near-zero ranges: scale = max(computed, OQ_CALIB_SCALE_MIN = 1e-8), a normal float;
 *     the values then quantize to a few levels around zero (their magnitude is below 1e-8 * qmax anyway).
 *   - constant c != 0: the range becomes [min(c,0), max(c,0)] (asymmetric) or [-|c|, |c|] (symmetric), so
 *     both c and 0 are exactly representable (c maps to qmin or qmax).
 *   - the scale is never 0, inf, NaN or denormal; a range that would overflow float is an error.
 *
 * Power-of-two scales (cfg->pow2): scale = 2^-n with n in [pow2_min, pow2_max] (default [0, 31]). The
 * required scale s (from the rule above) is rounded UP to the next power of two, so the chosen clipping
 * range is never clipped further (n = the largest integer with 2^-n >= s). If that n > pow2_max (a tiny
 * range), n = pow2_max (coarser, still covers; the floor in pow2 mode is 2^-pow2_max). If n < pow2_min
 * (the range is too large for the allowed scales) the call fails with OQ_ERR_UNSUPPORTED naming the tensor,
 * its range and the allowed n range.
 *
 * Activation algorithms (oq_calib_range on an observer):
 *   min_max                 [min, max]
 *   abs_max                 [-absmax, absmax]
 *   moving_average_abs_max  [-ema, ema] with ema the PaddleSlim moving average of per-batch abs-max
 *   percentile              symmetric: the p-th percentile of |x|; asymmetric: the (100-p)/2 and
 *                           100-(100-p)/2 percentiles of x (ORT's convention); linear within a bin
 *   mse                     the threshold minimizing the expected squared quantization error over the
 *                           histogram (values uniform within a bin, exact rounding error + clipping error,
 *                           exact zeros cost 0); symmetric: a 1-D search over |x|; asymmetric: coordinate
 *                           descent on (lo, hi)
 *   kl                      TensorRT entropy calibration on the |x| histogram (zeros included): thresholds
 *                           i = 128 .. H bins, P = bins[0..i) with the mass beyond folded into bin i-1,
 *                           Q = bins[0..i) merged into 2^(bits-1) levels (2^bits for unsigned data and an
 *                           asymmetric unsigned type) by bin j -> level floor(j*L/i) and spread back over the
 *                           nonzero bins of each level, both smoothed (eps 1e-4, MXNet/ORT), argmin KL(P||Q)
 *   kl_v2                   see kl.c: KL measured with the quantizer the tensor will really use
 *   (symmetric-only algorithms given an asymmetric config return [max(min,-T), min(max,T)])
 * Every threshold is capped at the observed abs-max / min / max.
 *
 * Weights (oq_calib_weight_qparams): abs_max per tensor, channel_wise_abs_max per output channel along an
 * axis (Conv [Co, Ci/g, kh, kw]: 0; ConvTranspose [Ci, Co/g, kh, kw]: 1; MatMul [K, N]: 1; Gemm B: 1, or 0
 * when transB = 1; see oq_calib_weight_axis()). Always symmetric, signed (int8 [-127,127] or int16).
 */
#ifndef ONNXQ_CALIB_SCALE_H
#define ONNXQ_CALIB_SCALE_H

#include <stdbool.h>
#include <stdint.h>

#include "calib/observer.h"
#include "onnxq/onnxq.h"

#define OQ_CALIB_SCALE_MIN 1e-8f

enum oq_calib_algo {
    OQ_CALIB_ALGO_MIN_MAX = 0,
    OQ_CALIB_ALGO_ABS_MAX,
    OQ_CALIB_ALGO_MOVING_AVERAGE_ABS_MAX,
    OQ_CALIB_ALGO_PERCENTILE,
    OQ_CALIB_ALGO_MSE,
    OQ_CALIB_ALGO_KL,
    OQ_CALIB_ALGO_KL_V2,
    OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX, /**< weights only */
    OQ_CALIB_ALGO_COUNT
};

/** "min_max", "abs_max", "moving_average_abs_max", "percentile", "mse", "kl", "kl_v2",
 *  "channel_wise_abs_max"; "?" for out-of-range values. */
const char *oq_calib_algo_name(enum oq_calib_algo algo);
/** Does the algorithm need the observer's histogram (percentile, mse, kl, kl_v2)? */
bool oq_calib_algo_needs_hist(enum oq_calib_algo algo);
/** Parse a name (exact, lower case); on failure OQ_ERR_ARG with the list of valid names. */
oq_status oq_calib_algo_parse(const char *s, enum oq_calib_algo *out, oq_error *err);

/** Calibration settings for one tensor. Start from oq_calib_config_default(). */
struct oq_calib_config {
    enum oq_calib_algo algo; /**< default OQ_CALIB_ALGO_MIN_MAX */
    enum oq_dtype qtype;     /**< OQ_DTYPE_UINT8 (default), INT8, UINT16, INT16 */
    bool symmetric;          /**< default false */
    float percentile;        /**< in (0, 100], default 99.99 */
    float ema_rate;          /**< moving_average_abs_max rate in (0, 1), default 0.9 (observer) */
    int32_t hist_bins;       /**< histogram bins per side (observer), default 2048 */
    bool pow2;               /**< power-of-two scales, default false */
    int32_t pow2_min;        /**< scale = 2^-n, n in [pow2_min, pow2_max]; default [0, 31]; within +-126 */
    int32_t pow2_max;
};

struct oq_calib_config oq_calib_config_default(void);
/** Check a config; the message names the bad field, its value and the valid range. */
oq_status oq_calib_config_check(const struct oq_calib_config *cfg, oq_error *err);

/** Quantization parameters chosen for a tensor, with what they came from (for the calibration table). */
struct oq_calib_result {
    float scale;          /**< > 0, finite, normal */
    int32_t zero_point;   /**< in [qmin, qmax] */
    enum oq_dtype qtype;
    int32_t qmin, qmax;   /**< integer range used (symmetric signed types drop the most negative value) */
    float clip_lo;        /**< the range chosen by the algorithm, before 0 is included and before nudging */
    float clip_hi;
    int32_t pow2_n;       /**< scale == 2^-pow2_n when cfg->pow2, else 0 */
};

/**
 * Turn a clipping range into (scale, zero_point) for cfg (qtype, symmetric, pow2). `name` is for messages.
 * lo <= hi, both finite; see the header comment for the rules.
 */
oq_status oq_calib_qparams_from_range(const char *name, float lo, float hi, const struct oq_calib_config *cfg,
                                      struct oq_calib_result *out, oq_error *err);

/** The clipping range cfg->algo chooses for an observed tensor (no zero-inclusion, no nudging). */
oq_status oq_calib_range(const struct oq_observer *obs, const struct oq_calib_config *cfg, float *lo, float *hi,
                         oq_error *err);

/** oq_calib_range + oq_calib_qparams_from_range. An observer that saw no values is OQ_ERR_ARG. */
oq_status oq_calib_compute(const struct oq_observer *obs, const struct oq_calib_config *cfg,
                           struct oq_calib_result *out, oq_error *err);

/**
 * Weight quantization parameters, symmetric signed (cfg->qtype INT8 or INT16; cfg->symmetric is implied).
 * cfg->algo: OQ_CALIB_ALGO_ABS_MAX (one scale; axis ignored) or OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX (dims[axis]
 * scales). cfg->pow2 applies.
 * @param w       weights, row-major with dims[0..ndim)
 * @param axis    channel axis in [0, ndim) for channel-wise
 * @param scales  out: 1 or dims[axis] scales (caller-owned)
 * @param zero_points  out: same count, all 0 (may be NULL)
 * NaN/Inf in w is OQ_ERR_NUMERIC naming the tensor and the element.
 */
oq_status oq_calib_weight_qparams(const char *name, const float *w, int ndim, const int64_t *dims, int axis,
                                  const struct oq_calib_config *cfg, float *scales, int32_t *zero_points,
                                  oq_error *err);

/**
 * Output-channel axis of a weight for op_type: Conv 0; ConvTranspose 1; MatMul ndim-1; Gemm 1 or 0 when
 * trans_b. OQ_ERR_UNSUPPORTED for other ops.
 */
oq_status oq_calib_weight_axis(const char *op_type, int ndim, bool trans_b, int *axis, oq_error *err);

/* ---- internals shared by the algorithm files (scale.c, percentile.c, mse.c, kl.c) ---- */

/** A histogram to search: n bins of width w starting at `lo_edge` (counts as double) plus a point mass of
 *  `zeros` values at exactly 0 (0 is an edge of the grid). */
struct oq_hist_view {
    const double *c;
    int32_t n;
    double lo_edge;
    double w;
    double zeros;
    double total;  /**< sum of c + zeros */
};

/** The value below which a fraction `frac` (0..1) of the histogram's mass lies (zeros as a point mass at 0),
 *  interpolating linearly within a bin. */
double oq_calib_hist_quantile(const struct oq_hist_view *h, double frac);
/** Expected sum of squared errors of quantizing the histogram with step s and representable interval
 *  [qlo, qhi] (multiples of s containing 0), values uniform within each bin, zeros exact. */
double oq_calib_hist_sse(const struct oq_hist_view *h, double s, double qlo, double qhi);

oq_status oq_calib_range_mse(const struct oq_observer *obs, const struct oq_calib_config *cfg, float *lo,
                             float *hi, oq_error *err);
oq_status oq_calib_range_kl(const struct oq_observer *obs, const struct oq_calib_config *cfg, bool v2,
                            float *lo, float *hi, oq_error *err);

#endif
