/* Per-tensor calibration statistics in memory bounded by the histogram size, never by the data.
 *
 * One observer per activation tensor, fed batch after batch (the executor's per-node hook) with float data.
 * It keeps:
 *   - min, max, abs-max over everything seen, value and batch counts;
 *   - the count of exact zeros (kept out of the histogram: zero is always exactly representable, and a
 *     ReLU output is often half zeros; algorithms add it back as a point mass at 0);
 *   - the moving average of per-batch abs-max with PaddleSlim's moving_average_abs_max semantics
 *     (state = rate*state + 1; accum = rate*accum + batch_absmax; ema = accum / state; zero-initialized,
 *     so the first batch gives ema = its abs-max, i.e. it is a bias-corrected EMA);
 *   - a histogram of the signed values x over a symmetric range [-A, A] with 2*H bins (H = hist_bins, bins
 *     per side, default 2048 so |x| has TensorRT's 2048 bins). Bin H+j holds [j*w, (j+1)*w) and bin H-1-j
 *     holds [-(j+1)*w, -j*w), w = A/H. Zero is always a bin edge, so |x| and x histograms are both exact
 *     views of the same counts.
 *
 * Growing range: A starts at the abs-max of the first batch with a nonzero value. When a later block of
 * values exceeds A, A grows by the smallest integer factor k with k*A >= block abs-max and every k adjacent
 * bins merge into one (exact: old bin edges are new fine edges; zero stays an edge). Memory stays 2*H
 * counters whatever the number of batches, and the final A is below the true abs-max + the previous A,
 * i.e. at most 2x the abs-max, so at least half of the bins cover data. Updates read the data once: each
 * block of OQ_OBSERVER_BLOCK values is scanned for min/max/NaN while it is in L1 and then histogrammed, so
 * the result depends on the order of the values but not on how the stream is cut into batches, except for
 * the initial range (taken from the whole first batch, one extra pass over that batch only).
 *
 * Example:
 *   struct oq_calib_config cfg = oq_calib_config_default();
 *   struct oq_observer *obs = NULL;
 *   if (oq_observer_create("conv1_out", &cfg, &obs, &err)) ...
 *   for each batch: if (oq_observer_update(obs, data, n, &err)) ...   // err names tensor and batch
 *   struct oq_calib_result r;
 *   if (oq_calib_compute(obs, &cfg, &r, &err)) ...                      // scale.h
 *   oq_observer_free(obs);
 *
 * After an update fails (NaN/Inf) the observer is marked failed: its statistics are partial and every later
 * update or oq_calib_compute returns the same error. Not thread-safe: one thread updates one observer. */
#ifndef ONNXQ_CALIB_OBSERVER_H
#define ONNXQ_CALIB_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/hist.h"
#include "onnxq/onnxq.h"

struct oq_calib_config;

/** Values scanned per block of an update (fits L1 with room for the histogram's hot bins). */
#define OQ_OBSERVER_BLOCK 4096

/** Fields are read-only outside observer.c (tests and scale algorithms read them). */
struct oq_observer {
    char *name;             /**< tensor name, owned copy */
    int32_t hist_bins;      /**< H: bins per side; the histogram has 2*H bins */
    float ema_rate;         /**< moving-average rate, in (0, 1) */
    bool failed;            /**< an update found NaN/Inf; see header comment */
    int64_t n_batches;      /**< successful update() calls */
    int64_t n_values;       /**< values seen (including zeros) */
    int64_t n_zeros;        /**< exact zeros seen (+0 and -0); not in hist */
    float min, max;         /**< over all values; +inf/-inf before any value */
    float absmax;           /**< max |x|; 0 before any value */
    double ema_state;       /**< PaddleSlim moving-average state (sum of rate^k) */
    double ema_accum;       /**< PaddleSlim moving-average accumulator */
    double hist_range;      /**< A: the histogram covers [-A, A]; 0 while only zeros were seen */
    uint64_t *hist;         /**< 2*H counts of the nonzero values; NULL when created without a histogram */
    char failed_msg[1024];  /**< the error an update reported, repeated by later calls */
    struct oq_hist_kernels kern; /**< scan/count kernels, chosen at creation */
};

/**
 * Create an observer for tensor `name` (copied). Uses cfg->hist_bins (bins per side, >= 128 and <= 2^20)
 * and cfg->ema_rate (in (0,1)); other fields are ignored.
 * @param out  receives the observer; free with oq_observer_free()
 */
oq_status oq_observer_create(const char *name, const struct oq_calib_config *cfg, struct oq_observer **out,
                             oq_error *err);
void oq_observer_free(struct oq_observer *obs);
/**
 * As oq_observer_create, but with_hist = false keeps only min/max/abs-max/moving average and counts: updates
 * are several times faster, and only the algorithms that need no histogram (min_max, abs_max,
 * moving_average_abs_max; see oq_calib_algo_needs_hist) can then compute a range.
 */
oq_status oq_observer_create_ex(const char *name, const struct oq_calib_config *cfg, bool with_hist,
                                struct oq_observer **out, oq_error *err);

/**
 * Add one batch of n float values (any layout: statistics are per tensor). n == 0 counts a batch with no
 * values (it does not move the moving average). NaN or Inf is OQ_ERR_NUMERIC naming the tensor, the batch
 * index (0-based) and the element index.
 */
oq_status oq_observer_update(struct oq_observer *obs, const float *x, int64_t n, oq_error *err);

/** Moving average of per-batch abs-max (0 before any batch with values). */
double oq_observer_ema(const struct oq_observer *obs);

/** Bin width w = A / H (0 while the range is zero). */
double oq_observer_bin_width(const struct oq_observer *obs);

/** Bytes owned by the observer (struct, name, histogram): constant after creation. */
size_t oq_observer_footprint(const struct oq_observer *obs);

/** Return the error of a failed observer (or OQ_OK), filling err again. */
oq_status oq_observer_check(const struct oq_observer *obs, oq_error *err);

#endif
