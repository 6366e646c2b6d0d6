#include "calib/observer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/scale.h"
#include "core/status.h"

oq_status oq_observer_create(const char *name, const struct oq_calib_config *cfg, struct oq_observer **out,
                             oq_error *err) {
    *out = NULL;
    if (!name)
        name = "?";
    if (cfg->hist_bins < 128 || cfg->hist_bins > (1 << 20))
        return oq_errorf(err, OQ_ERR_ARG, "tensor '%s': histogram bins per side is %d; use 128 .. 1048576 "
                         "(default 2048)", name, (int)cfg->hist_bins);
    if (!(cfg->ema_rate > 0.0f && cfg->ema_rate < 1.0f))
        return oq_errorf(err, OQ_ERR_ARG, "tensor '%s': moving-average rate is %g; use a value in (0, 1) "
                         "(default 0.9)", name, (double)cfg->ema_rate);
    struct oq_observer *o = calloc(1, sizeof(*o));
    if (!o)
        goto nomem;
    size_t nl = strlen(name);
    o->name = malloc(nl + 1);
    o->hist = calloc(2 * (size_t)cfg->hist_bins, sizeof(uint64_t));
    if (!o->name || !o->hist)
        goto nomem;
    memcpy(o->name, name, nl + 1);
    o->hist_bins = cfg->hist_bins;
    o->ema_rate = cfg->ema_rate;
    o->min = INFINITY;
    o->max = -INFINITY;
    *out = o;
    return OQ_OK;
nomem:
    oq_observer_free(o);
    return oq_errorf(err, OQ_ERR_NOMEM, "tensor '%s': out of memory for an observer with %d bins per side",
                     name, (int)cfg->hist_bins);
}

void oq_observer_free(struct oq_observer *obs) {
    if (!obs)
        return;
    free(obs->name);
    free(obs->hist);
    free(obs);
}

double oq_observer_ema(const struct oq_observer *obs) {
    return obs->ema_state > 0 ? obs->ema_accum / obs->ema_state : 0.0;
}

double oq_observer_bin_width(const struct oq_observer *obs) { return obs->hist_range / obs->hist_bins; }

size_t oq_observer_footprint(const struct oq_observer *obs) {
    return sizeof(*obs) + strlen(obs->name) + 1 + 2 * (size_t)obs->hist_bins * sizeof(uint64_t);
}

oq_status oq_observer_check(const struct oq_observer *obs, oq_error *err) {
    if (!obs->failed)
        return OQ_OK;
    return oq_errorf(err, OQ_ERR_NUMERIC, "%s", obs->failed_msg);
}

/* Scan statistics of one block. Written as plain reductions so the compiler vectorizes them; the non-finite
 * test is on the exponent bits (integer OR-reduction) rather than isfinite() per value. */
struct block_stats {
    float mn, mx;
    uint32_t bad;
    int64_t zeros;
};

static struct block_stats scan_block(const float *x, int64_t n) {
    float mn = INFINITY, mx = -INFINITY;
    uint32_t bad = 0;
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        uint32_t u;
        memcpy(&u, &v, sizeof(u));
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        zeros += (v == 0.0f);
    }
    return (struct block_stats){mn, mx, bad, zeros};
}

static oq_status fail_nonfinite(struct oq_observer *o, const float *x, int64_t n, int64_t base, int64_t total,
                                oq_error *err) {
    int64_t at = 0;
    while (at < n && isfinite(x[at]))
        at++;
    float v = at < n ? x[at] : NAN;
    snprintf(o->failed_msg, sizeof(o->failed_msg),
             "tensor '%s': calibration batch %lld has %s at element %lld (of %lld); calibration data must be "
             "finite: check the input preprocessing (e.g. division by a zero std) or run the FP32 model on "
             "that batch to find the node that produces it",
             o->name, (long long)o->n_batches, isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"),
             (long long)(base + at), (long long)total);
    o->failed = true;
    return oq_errorf(err, OQ_ERR_NUMERIC, "%s", o->failed_msg);
}

/* Grow the range so that it covers `need` (> A), merging bins by an integer factor. */
static void widen(struct oq_observer *o, double need) {
    const int64_t H = o->hist_bins;
    uint64_t *h = o->hist;
    double A = o->hist_range;
    if (A == 0) {
        /* Only zeros so far, and they are not in the histogram: start the range here. */
        o->hist_range = need;
        return;
    }
    double r = need / A;
    if (r > (double)H) {
        /* The whole old range fits inside the two bins next to zero of the new range: w' = need/H >= A. */
        uint64_t neg = 0, pos = 0;
        for (int64_t i = 0; i < H; i++) {
            neg += h[i];
            pos += h[H + i];
            h[i] = h[H + i] = 0;
        }
        h[H - 1] = neg;
        h[H] = pos;
        o->hist_range = need;
        return;
    }
    int64_t k = (int64_t)ceil(r);
    if (k < 2)
        k = 2;
    /* Old bin i starts at fine edge i + (k-1)*H of the new range (fine = old width), and new bins are k fine
     * bins wide, so old bin i lies entirely in new bin (i + (k-1)*H) / k. Positive half maps to indices
     * <= i, negative half to indices >= i: in place, ascending resp. descending. */
    const int64_t off = (k - 1) * H;
    for (int64_t i = H; i < 2 * H; i++) {
        uint64_t v = h[i];
        h[i] = 0;
        h[(i + off) / k] += v;
    }
    for (int64_t i = H - 1; i >= 0; i--) {
        uint64_t v = h[i];
        h[i] = 0;
        h[(i + off) / k] += v;
    }
    o->hist_range = (double)k * A;
}

static void hist_block(struct oq_observer *o, const float *x, int64_t n) {
    const int64_t H = o->hist_bins, last = 2 * H - 1;
    /* double: A may be tiny (denormal data), and H/A must not overflow */
    const double inv_w = (double)H / o->hist_range, hh = (double)H;
    uint64_t *h = o->hist;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx = (int64_t)((double)x[i] * inv_w + hh);
        idx = idx < 0 ? 0 : idx;
        idx = idx > last ? last : idx;
        h[idx]++;
    }
}

oq_status oq_observer_update(struct oq_observer *o, const float *x, int64_t n, oq_error *err) {
    if (o->failed)
        return oq_errorf(err, OQ_ERR_NUMERIC, "%s", o->failed_msg);
    if (n < 0 || (n > 0 && !x))
        return oq_errorf(err, OQ_ERR_ARG, "tensor '%s': observer update with n=%lld and data %p", o->name,
                         (long long)n, (const void *)x);
    if (n == 0) {
        o->n_batches++;
        return OQ_OK;
    }
    if (o->hist_range == 0) {
        /* Initial range from the whole batch (one extra pass, only until the first nonzero value). */
        struct block_stats s = scan_block(x, n);
        if (s.bad)
            return fail_nonfinite(o, x, n, 0, n, err);
        double a = fmax(-(double)s.mn, (double)s.mx);
        if (a > 0)
            o->hist_range = a;
    }
    float bmax_abs = 0;
    for (int64_t base = 0; base < n; base += OQ_OBSERVER_BLOCK) {
        int64_t len = n - base < OQ_OBSERVER_BLOCK ? n - base : OQ_OBSERVER_BLOCK;
        const float *xb = x + base;
        struct block_stats s = scan_block(xb, len);
        if (s.bad)
            return fail_nonfinite(o, xb, len, base, n, err);
        o->min = s.mn < o->min ? s.mn : o->min;
        o->max = s.mx > o->max ? s.mx : o->max;
        float a = fmaxf(-s.mn, s.mx);
        bmax_abs = a > bmax_abs ? a : bmax_abs;
        o->n_zeros += s.zeros;
        if (s.zeros == len)
            continue;
        if ((double)a > o->hist_range)
            widen(o, (double)a);
        hist_block(o, xb, len);
        /* +-0 land exactly in bin H (0 * inv_w + H == H); they are counted in n_zeros instead */
        o->hist[o->hist_bins] -= (uint64_t)s.zeros;
    }
    o->absmax = bmax_abs > o->absmax ? bmax_abs : o->absmax;
    o->n_values += n;
    o->ema_state = o->ema_rate * o->ema_state + 1.0;
    o->ema_accum = o->ema_rate * o->ema_accum + bmax_abs;
    o->n_batches++;
    return OQ_OK;
}
