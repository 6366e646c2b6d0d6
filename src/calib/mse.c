/* mse: the clipping range that minimizes the expected squared quantization error over the histogram.
 *
 * Error model (oq_calib_hist_sse): values are uniform within each histogram bin; inside the representable
 * interval the error is the exact rounding sawtooth integrated over the bin (not the s^2/12 approximation,
 * which is wrong when a bin is wider than a step), outside it is the clipping error (x - edge)^2; exact zeros
 * cost nothing (zero is always a level). Candidates are the histogram's bin edges up to the observed extreme
 * plus the extreme itself; a coarse pass over at most ~256 of them and a fine pass around the best keep it
 * O(256 * bins) per 1-D search. Symmetric: 1-D over |x|. Asymmetric: coordinate descent on (lo, hi) with the
 * real nudged quantizer (integer zero point), starting from [min, max]. */
#include <math.h>
#include <stdlib.h>

#include "calib/qmath.h"
#include "calib/scale.h"
#include "core/status.h"

struct cand_eval {
    const struct oq_hist_view *v;
    double levels;   /* qmax - qmin (asymmetric) or qmax (symmetric, per side) */
    int32_t qmin, qmax;
    bool sym;
    double fixed;    /* the other end for asymmetric searches */
    bool search_hi;
};

static double eval_at(const struct cand_eval *e, double t) {
    if (e->sym) {
        double s = fmax(t / e->levels, (double)OQ_CALIB_SCALE_MIN);
        return oq_calib_hist_sse(e->v, s, -s * e->levels, s * e->levels);
    }
    double lo = e->search_hi ? e->fixed : t, hi = e->search_hi ? t : e->fixed;
    double s = fmax((hi - lo) / e->levels, (double)OQ_CALIB_SCALE_MIN);
    double zp = nearbyint(e->qmin - lo / s);
    zp = zp < e->qmin ? e->qmin : (zp > e->qmax ? e->qmax : zp);
    return oq_calib_hist_sse(e->v, s, s * (e->qmin - zp), s * (e->qmax - zp));
}

/* Candidate k of m (k = 1..m): k bin widths from zero, the last one exactly `extreme`. */
static double cand(double w, int64_t k, int64_t m, double extreme, double sign) {
    return k == m ? extreme : sign * (double)k * w;
}

static double search_1d(const struct cand_eval *e, double w, double extreme, double sign) {
    int64_t m = (int64_t)ceil(fabs(extreme) / w);
    if (m < 1)
        m = 1;
    int64_t step = m / 256 > 1 ? m / 256 : 1;
    int64_t best = m;
    double best_err = eval_at(e, extreme);
    for (int64_t k = step; k < m; k += step) {
        double err = eval_at(e, cand(w, k, m, extreme, sign));
        if (err < best_err) {
            best_err = err;
            best = k;
        }
    }
    int64_t a = best - step + 1 > 1 ? best - step + 1 : 1, b = best + step - 1 < m ? best + step - 1 : m;
    for (int64_t k = a; k <= b; k++) {
        double err = eval_at(e, cand(w, k, m, extreme, sign));
        if (err < best_err) {
            best_err = err;
            best = k;
        }
    }
    return cand(w, best, m, extreme, sign);
}

oq_status oq_calib_range_mse(const struct oq_observer *o, const struct oq_calib_config *cfg, float *lo,
                             float *hi, oq_error *err) {
    if (o->hist_range == 0) {
        *lo = o->min;
        *hi = o->max;
        return OQ_OK;
    }
    const int32_t H = o->hist_bins;
    const double w = oq_observer_bin_width(o);
    double *c = malloc(2 * (size_t)H * sizeof(double));
    if (!c)
        return oq_errorf(err, OQ_ERR_NOMEM, "tensor '%s': out of memory", o->name);
    int32_t qmin, qmax;
    oq_qtype_range(cfg->qtype, cfg->symmetric, &qmin, &qmax);
    struct cand_eval e = {.qmin = qmin, .qmax = qmax, .sym = cfg->symmetric};
    if (cfg->symmetric) {
        double total = (double)o->n_zeros;
        for (int32_t j = 0; j < H; j++) {
            c[j] = (double)o->hist[H + j] + (double)o->hist[H - 1 - j];
            total += c[j];
        }
        struct oq_hist_view v = {c, H, 0.0, w, (double)o->n_zeros, total};
        e.v = &v;
        bool is_unsigned = cfg->qtype == OQ_DTYPE_UINT8 || cfg->qtype == OQ_DTYPE_UINT16;
        e.levels = is_unsigned ? (double)((qmax - qmin) / 2) : (double)qmax;
        double t = search_1d(&e, w, o->absmax, 1.0);
        *lo = (float)-t;
        *hi = (float)t;
    } else {
        double total = (double)o->n_zeros;
        for (int32_t j = 0; j < 2 * H; j++) {
            c[j] = (double)o->hist[j];
            total += c[j];
        }
        struct oq_hist_view v = {c, 2 * H, -o->hist_range, w, (double)o->n_zeros, total};
        e.v = &v;
        e.levels = (double)qmax - qmin;
        double l = fmin(o->min, 0.0f), h = fmax(o->max, 0.0f);
        for (int it = 0; it < 4; it++) {
            double pl = l, ph = h;
            if (h > 0) {
                e.search_hi = true;
                e.fixed = l;
                h = search_1d(&e, w, fmax(o->max, 0.0f), 1.0);
            }
            if (l < 0) {
                e.search_hi = false;
                e.fixed = h;
                l = search_1d(&e, w, fmin(o->min, 0.0f), -1.0);
            }
            if (l == pl && h == ph)
                break;
        }
        *lo = (float)l;
        *hi = (float)h;
    }
    free(c);
    return OQ_OK;
}
