/* kl: TensorRT entropy calibration; kl_v2: the same search without its two measured failure modes.
 *
 * kl (TensorRT's GTC 2017 recipe as implemented by MXNet / ONNX Runtime / pytorch_quantization):
 *   |x| histogram (2048 bins by default, exact zeros in bin 0); for each candidate i = 128 .. (bin of the
 *   abs-max): P = bins[0..i) with the mass beyond folded into bin i-1; Q = bins[0..i) (without the outliers)
 *   merged into L = 2^(bits-1) levels (2^bits when the data are unsigned and the type is unsigned
 *   asymmetric) by bin j -> level floor(j*L/i) (pytorch_quantization's even split; ORT's "rest into the last
 *   level" makes the last level up to 2x wider and leaves its extra bins empty in Q), each level's mass spread
 *   back evenly over the bins of that level where P is nonzero; both smoothed (zeros get eps = 1e-4 counts,
 *   taken evenly from the nonzero bins: MXNet's _smooth_distribution); threshold = i bins at the first
 *   minimum of KL(P || Q), capped at the abs-max; candidates that would clip more than half of the values are
 *   skipped (see the loop: without that bound, data far from zero made the search collapse).
 *
 * kl_v2 = kl plus two changes, measured by bench/bench_calib.c (2M values in 20 batches, int8 symmetric) on
 * 8 synthetic distributions (quantization MSE relative to the mse algorithm's; kl -> kl_v2):
 *   1. Exact zeros are left out of P and Q. Zero is a quantization level, so the zero spike of ReLU outputs
 *      carries no quantization loss, but in kl it sits in bin 0 and its level, where spreading it over the
 *      level's bins costs a lot of KL, so kl keeps levels narrow, i.e. picks a tiny threshold:
 *      relu(gauss) 313x -> 1.32x, sparse relu (93% zeros) 2659x -> 1.11x.
 *   2. A clipping guard: a candidate whose expected clipping error (sum over clipped values of (|x| - T)^2,
 *      from the histogram) exceeds its expected rounding error is skipped (the abs-max candidate is always
 *      allowed). KL weighs the clipped mass by log-ratio only, so it clips rare large outliers that dominate
 *      the error: gauss + 0.01% outliers 10.1x -> 1.19x, Student-t3 1.85x -> 1.03x. Distributions without
 *      heavy tails are unchanged (the guard is not active near their KL optimum).
 *   Tried and dropped: Q built from the quantizer's round-to-nearest cells (qmax levels, [(k-1/2)s,(k+1/2)s))
 *   instead of floor cells: mixed (laplace 1.07 -> 1.04x, relu int8 1.27 -> 1.39x), no net gain.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib/qmath.h"
#include "calib/scale.h"
#include "core/status.h"

#define KL_EPS 1e-4

/* MXNet _smooth_distribution on counts: zeros get eps, nonzeros give it back evenly (mass is conserved).
 * Returns false when everything is zero. */
static bool smooth(double *p, int64_t n) {
    int64_t nz = 0;
    for (int64_t j = 0; j < n; j++)
        nz += p[j] == 0;
    if (nz == n)
        return false;
    double eps1 = KL_EPS * (double)nz / (double)(n - nz);
    for (int64_t j = 0; j < n; j++) {
        if (p[j] == 0)
            p[j] = KL_EPS;
        else
            p[j] = p[j] - eps1 > 1e-12 ? p[j] - eps1 : 1e-12;
    }
    return true;
}

static double kl_div(const double *p, const double *q, int64_t n) {
    double sp = 0, sq = 0;
    for (int64_t j = 0; j < n; j++) {
        sp += p[j];
        sq += q[j];
    }
    double kl = 0;
    for (int64_t j = 0; j < n; j++) {
        double a = p[j] / sp;
        kl += a * log(a / (q[j] / sq));
    }
    return kl;
}

oq_status oq_calib_range_kl(const struct oq_observer *o, const struct oq_calib_config *cfg, bool v2, float *lo,
                            float *hi, oq_error *err) {
    if (o->hist_range == 0) {
        *lo = o->min;
        *hi = o->max;
        return OQ_OK;
    }
    const int64_t H = o->hist_bins;
    const double w = oq_observer_bin_width(o);
    int32_t qmin, qmax;
    oq_qtype_range(cfg->qtype, cfg->symmetric, &qmin, &qmax);
    bool type_unsigned = cfg->qtype == OQ_DTYPE_UINT8 || cfg->qtype == OQ_DTYPE_UINT16;
    bool data_unsigned = !cfg->symmetric && type_unsigned && o->min >= 0;
    int bits = (cfg->qtype == OQ_DTYPE_UINT8 || cfg->qtype == OQ_DTYPE_INT8) ? 8 : 16;
    const int64_t L = (int64_t)1 << (bits - 1 + (data_unsigned ? 1 : 0));
    /* the quantizer's steps from 0 to T (for the guard's rounding error) */
    const double steps = data_unsigned ? (double)qmax - qmin : (double)(type_unsigned ? (qmax - qmin) / 2 : qmax);

    int64_t stop = (int64_t)ceil((double)o->absmax / w);
    stop = stop < 1 ? 1 : (stop > H ? H : stop);
    int64_t start = stop < 128 ? stop : 128;

    double *c = calloc((size_t)H, sizeof(double));
    double *suffix = malloc(((size_t)H + 1) * sizeof(double));
    double *p = malloc((size_t)H * sizeof(double));
    double *q = malloc((size_t)H * sizeof(double));
    double *qsum = malloc(((size_t)L + 1) * sizeof(double));
    int64_t *nnz = malloc(((size_t)L + 1) * sizeof(int64_t));
    oq_status st = OQ_OK;
    double *csum = NULL;
    if (!c || !suffix || !p || !q || !qsum || !nnz) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "tensor '%s': out of memory for KL calibration", o->name);
        goto done;
    }
    for (int64_t j = 0; j < H; j++)
        c[j] = (double)o->hist[H + j] + (double)o->hist[H - 1 - j];
    if (!v2)
        c[0] += (double)o->n_zeros;
    suffix[H] = 0;
    for (int64_t j = H - 1; j >= 0; j--)
        suffix[j] = suffix[j + 1] + c[j];

    if (v2) {
        /* suffix sums of c*m and c*m^2 (m = bin center) for the clipping SSE at threshold T = i*w:
         * sum_{j>=i} c_j ((m_j - T)^2 + w^2/12) */
        csum = malloc(2 * ((size_t)H + 1) * sizeof(double));
        if (!csum) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "tensor '%s': out of memory for KL calibration", o->name);
            goto done;
        }
        csum[H] = csum[2 * H + 1] = 0;
        for (int64_t j = H - 1; j >= 0; j--) {
            double m = (j + 0.5) * w;
            csum[j] = csum[j + 1] + c[j] * m;
            csum[H + 1 + j] = csum[H + 2 + j] + c[j] * (m * m + w * w / 12);
        }
    }
    double best_kl = INFINITY;
    int64_t best_i = stop;
    for (int64_t i = start; i <= stop; i++) {
        /* Sanity bound (both variants): never take a threshold that clips more than half of the values. On
         * data far from zero (e.g. LayerNorm's variance + eps in [0.6, 3.9]) every candidate from 128 bins up
         * lies below all values, all mass folds into one bin of P and of Q, KL is ~0, and the unbounded
         * search picked a range 0.001 wide (bench_accuracy: kl scored 0 on rec and det). */
        if (i < stop && suffix[i] > 0.5 * suffix[0])
            continue;
        if (v2) {
            /* the guard: expected clipping SSE vs expected rounding SSE (bins inside T) at T = i*w */
            double T = i * w, s = T / steps;
            double clip = csum[H + 1 + i] - 2 * T * csum[i] + T * T * suffix[i];
            struct oq_hist_view v = {c, (int32_t)i, 0.0, w, 0, 0};
            if (i < stop && clip > oq_calib_hist_sse(&v, s, -T, T))
                continue;
        }
        memcpy(p, c, (size_t)i * sizeof(double));
        p[i - 1] += suffix[i];
#define LEVEL(j) ((j) * L / i)
        for (int64_t j = 0; j < i; j++) { /* clear only the levels in use (L is 32768 for 16 bits) */
            qsum[LEVEL(j)] = 0;
            nnz[LEVEL(j)] = 0;
        }
        for (int64_t j = 0; j < i; j++) {
            int64_t g = LEVEL(j);
            qsum[g] += c[j]; /* without the outliers: their absence from Q is KL's clipping penalty */
            nnz[g] += p[j] != 0;
        }
        for (int64_t j = 0; j < i; j++) {
            int64_t g = LEVEL(j);
            q[j] = p[j] != 0 ? qsum[g] / (double)nnz[g] : 0;
        }
#undef LEVEL
        double kl;
        if (!smooth(p, i) || !smooth(q, i))
            kl = INFINITY;
        else
            kl = kl_div(p, q, i);
        if (kl < best_kl) {
            best_kl = kl;
            best_i = i;
        }
    }
    double t = fmin((double)best_i * w, (double)o->absmax);
    if (cfg->symmetric) {
        *lo = (float)-t;
        *hi = (float)t;
    } else {
        *lo = (float)fmax(-t, (double)o->min);
        *hi = (float)fmin(t, (double)o->max);
    }
done:
    free(csum);
    free(c);
    free(suffix);
    free(p);
    free(q);
    free(qsum);
    free(nnz);
    return st;
}
