#include "calib/observer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/scale.h"
#include "core/status.h"

oq_status oq_observer_create(const char *name, const struct oq_calib_config *cfg, struct oq_observer **out,
                             oq_error *err) {
    return oq_observer_create_ex(name, cfg, true, out, err);
}

oq_status oq_observer_create_ex(const char *name, const struct oq_calib_config *cfg, bool with_hist,
                                struct oq_observer **out, oq_error *err) {
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
    o->hist = with_hist ? calloc(2 * (size_t)cfg->hist_bins, sizeof(uint64_t)) : NULL;
    if (!o->name || (with_hist && !o->hist))
        goto nomem;
    memcpy(o->name, name, nl + 1);
    o->hist_bins = cfg->hist_bins;
    o->ema_rate = cfg->ema_rate;
    oq_hist_kernels_select(&o->kern);
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
    return sizeof(*obs) + strlen(obs->name) + 1 + (obs->hist ? 2 * (size_t)obs->hist_bins * sizeof(uint64_t) : 0);
}

oq_status oq_observer_check(const struct oq_observer *obs, oq_error *err) {
    if (!obs->failed)
        return OQ_OK;
    return oq_errorf(err, OQ_ERR_NUMERIC, "%s", obs->failed_msg);
}

/* Scan statistics of one block. Written as plain reductions so the compiler vectorizes them; the non-finite
 * test is on the exponent bits (integer OR-reduction) rather than isfinite() per value. */
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

/* Histogram counting (kernels/hist.h). The index is computed in float when H/A is a normal float (exactly the
 * double formula's result except at the last ulp of a bin edge, where either neighbour is a correct bin for a
 * value on the edge), else in double (tiny or denormal ranges). Counts go to NSUB interleaved 32-bit
 * sub-histograms so that runs of equal bins (ReLU/HardSwish outputs) do not serialize on one counter; they
 * are folded into the 64-bit histogram once per update, or before the range widens. */
enum { NSUB = OQ_HIST_NSUB };

struct subhist {
    uint32_t *c;     /* NSUB * 2H counters */
    int64_t pending; /* values counted since the last flush */
    int64_t zeros;   /* exact zeros among them: they landed in bin H but belong to n_zeros */
};

static void hist_flush(struct oq_observer *o, struct subhist *sh) {
    const int64_t nb = 2 * (int64_t)o->hist_bins;
    if (!sh->pending)
        return;
    for (int k = 0; k < NSUB; k++) {
        uint32_t *c = sh->c + (size_t)k * (size_t)nb;
        for (int64_t b = 0; b < nb; b++)
            o->hist[b] += c[b];
        memset(c, 0, sizeof(uint32_t) * (size_t)nb);
    }
    o->hist[o->hist_bins] -= (uint64_t)sh->zeros;
    sh->pending = 0;
    sh->zeros = 0;
}

static void hist_block(struct oq_observer *o, struct subhist *sh, const float *x, int64_t n) {
    const int64_t H = o->hist_bins, last = 2 * H - 1, nb = 2 * H;
    const double inv_wd = (double)H / o->hist_range;
    uint32_t *c0 = sh->c;
    if (sh->pending + n >= (int64_t)UINT32_MAX / 2)
        hist_flush(o, sh); /* keep every 32-bit counter from overflowing */
    sh->pending += n;
    if (inv_wd < 1e30 && inv_wd > 1e-30) {
        o->kern.count(x, n, (float)inv_wd, (float)H, (float)last, c0, nb);
        return;
    }
    const double hh = (double)H;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx = (int64_t)((double)x[i] * inv_wd + hh);
        idx = idx < 0 ? 0 : idx;
        idx = idx > last ? last : idx;
        c0[idx]++;
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
    if (o->hist && o->hist_range == 0) {
        /* Initial range from the whole batch (one extra pass, only until the first nonzero value). */
        struct oq_block_stats s = o->kern.scan(x, n);
        if (s.bad)
            return fail_nonfinite(o, x, n, 0, n, err);
        double a = fmax(-(double)s.mn, (double)s.mx);
        if (a > 0)
            o->hist_range = a;
    }
    float bmax_abs = 0;
    struct subhist sh = {0};
    if (o->hist && !(sh.c = calloc((size_t)NSUB * 2 * (size_t)o->hist_bins, sizeof(uint32_t))))
        return oq_errorf(err, OQ_ERR_NOMEM, "tensor '%s': out of memory for the histogram", o->name);
    for (int64_t base = 0; base < n; base += OQ_OBSERVER_BLOCK) {
        int64_t len = n - base < OQ_OBSERVER_BLOCK ? n - base : OQ_OBSERVER_BLOCK;
        const float *xb = x + base;
        struct oq_block_stats s = o->kern.scan(xb, len);
        if (s.bad) {
            free(sh.c);
            return fail_nonfinite(o, xb, len, base, n, err);
        }
        o->min = s.mn < o->min ? s.mn : o->min;
        o->max = s.mx > o->max ? s.mx : o->max;
        float a = fmaxf(-s.mn, s.mx);
        bmax_abs = a > bmax_abs ? a : bmax_abs;
        o->n_zeros += s.zeros;
        if (s.zeros == len || !o->hist)
            continue;
        if ((double)a > o->hist_range) {
            hist_flush(o, &sh); /* counts so far belong to the old bins */
            widen(o, (double)a);
        }
        hist_block(o, &sh, xb, len);
        /* +-0 land exactly in bin H (0 * inv_w + H == H); they are counted in n_zeros instead */
        sh.zeros += s.zeros;
    }
    if (o->hist)
        hist_flush(o, &sh);
    free(sh.c);
    o->absmax = bmax_abs > o->absmax ? bmax_abs : o->absmax;
    o->n_values += n;
    o->ema_state = o->ema_rate * o->ema_state + 1.0;
    o->ema_accum = o->ema_rate * o->ema_accum + bmax_abs;
    o->n_batches++;
    return OQ_OK;
}
