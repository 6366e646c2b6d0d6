/* Config, names, the range -> (scale, zero_point) rule, the simple algorithms, weights, and the histogram
 * helpers shared by mse.c and kl.c. */
#include "calib/scale.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib/qmath.h"
#include "core/status.h"

static const char *const algo_names[] = {
    [OQ_CALIB_ALGO_MIN_MAX]                = "min_max",
    [OQ_CALIB_ALGO_ABS_MAX]                = "abs_max",
    [OQ_CALIB_ALGO_MOVING_AVERAGE_ABS_MAX] = "moving_average_abs_max",
    [OQ_CALIB_ALGO_PERCENTILE]             = "percentile",
    [OQ_CALIB_ALGO_MSE]                    = "mse",
    [OQ_CALIB_ALGO_KL]                     = "kl",
    [OQ_CALIB_ALGO_KL_V2]                  = "kl_v2",
    [OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX]   = "channel_wise_abs_max",
};
_Static_assert(sizeof(algo_names) / sizeof(algo_names[0]) == OQ_CALIB_ALGO_COUNT, "calib algo name table");

const char *oq_calib_algo_name(enum oq_calib_algo algo) {
    if ((unsigned)algo >= OQ_CALIB_ALGO_COUNT)
        return "?";
    return algo_names[algo];
}

oq_status oq_calib_algo_parse(const char *s, enum oq_calib_algo *out, oq_error *err) {
    for (int i = 0; i < OQ_CALIB_ALGO_COUNT; i++)
        if (s && strcmp(s, algo_names[i]) == 0) {
            *out = (enum oq_calib_algo)i;
            return OQ_OK;
        }
    char list[256] = "";
    for (int i = 0; i < OQ_CALIB_ALGO_COUNT; i++) {
        if (i)
            strncat(list, ", ", sizeof(list) - strlen(list) - 1);
        strncat(list, algo_names[i], sizeof(list) - strlen(list) - 1);
    }
    return oq_errorf(err, OQ_ERR_ARG, "unknown calibration algorithm '%s'; valid: %s", s ? s : "(null)", list);
}

struct oq_calib_config oq_calib_config_default(void) {
    return (struct oq_calib_config){
        .algo       = OQ_CALIB_ALGO_MIN_MAX,
        .qtype      = OQ_DTYPE_UINT8,
        .symmetric  = false,
        .percentile = 99.99f,
        .ema_rate   = 0.9f,
        .hist_bins  = 2048,
        .pow2       = false,
        .pow2_min   = 0,
        .pow2_max   = 31,
    };
}

oq_status oq_calib_config_check(const struct oq_calib_config *cfg, oq_error *err) {
    if ((unsigned)cfg->algo >= OQ_CALIB_ALGO_COUNT)
        return oq_errorf(err, OQ_ERR_ARG, "calibration algorithm %d is out of range", (int)cfg->algo);
    if (!oq_qtype_valid(cfg->qtype))
        return oq_errorf(err, OQ_ERR_ARG, "quantized type %s is not supported; use uint8, int8, uint16 or int16",
                         oq_dtype_name(cfg->qtype));
    if (!(cfg->percentile > 0.0f && cfg->percentile <= 100.0f))
        return oq_errorf(err, OQ_ERR_ARG, "percentile %g is out of range; use (0, 100], e.g. 99.99",
                         (double)cfg->percentile);
    if (!(cfg->ema_rate > 0.0f && cfg->ema_rate < 1.0f))
        return oq_errorf(err, OQ_ERR_ARG, "moving-average rate %g is out of range; use (0, 1), e.g. 0.9",
                         (double)cfg->ema_rate);
    if (cfg->hist_bins < 128 || cfg->hist_bins > (1 << 20))
        return oq_errorf(err, OQ_ERR_ARG, "histogram bins per side %d is out of range; use 128 .. 1048576",
                         (int)cfg->hist_bins);
    if (cfg->pow2 && (cfg->pow2_min > cfg->pow2_max || cfg->pow2_min < -126 || cfg->pow2_max > 126))
        return oq_errorf(err, OQ_ERR_ARG, "power-of-two exponent range [%d, %d] is invalid; need -126 <= min "
                         "<= max <= 126 (scale = 2^-n)", (int)cfg->pow2_min, (int)cfg->pow2_max);
    return OQ_OK;
}

/* ------------------------------------------------------------------ range -> qparams */

oq_status oq_calib_qparams_from_range(const char *name, float lo, float hi, const struct oq_calib_config *cfg,
                                      struct oq_calib_result *out, oq_error *err) {
    OQ_TRY(oq_calib_config_check(cfg, err));
    if (!name)
        name = "?";
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return oq_errorf(err, OQ_ERR_NUMERIC, "tensor '%s': invalid calibration range [%g, %g]", name, (double)lo,
                         (double)hi);
    bool sym = cfg->symmetric;
    bool is_unsigned = cfg->qtype == OQ_DTYPE_UINT8 || cfg->qtype == OQ_DTYPE_UINT16;
    int32_t qmin, qmax;
    oq_qtype_range(cfg->qtype, sym, &qmin, &qmax);
    memset(out, 0, sizeof(*out));
    out->qtype = cfg->qtype;
    out->qmin = qmin;
    out->qmax = qmax;
    out->clip_lo = lo;
    out->clip_hi = hi;

    /* All arithmetic in double: (hi - lo) can overflow float. */
    double rlo, rhi, levels;
    int32_t sym_zp = 0;
    if (sym) {
        double a = fmax(fabs((double)lo), fabs((double)hi));
        rlo = -a;
        rhi = a;
        if (is_unsigned) {
            /* zero point in the middle; one step per level on each side: +-A representable */
            sym_zp = (qmin + qmax + 1) / 2;
            levels = 2.0 * ((qmax - qmin) / 2);
        } else {
            levels = (double)qmax - qmin;
        }
    } else {
        rlo = fmin((double)lo, 0.0);
        rhi = fmax((double)hi, 0.0);
        levels = (double)qmax - qmin;
    }
    double s;
    if (rhi - rlo == 0)
        s = 1.0; /* all zero: ONNX Runtime's choice; any scale represents 0 exactly */
    else
        s = fmax((rhi - rlo) / levels, (double)OQ_CALIB_SCALE_MIN);

    if (cfg->pow2) {
        /* Smallest power of two >= s: s = m * 2^e, m in [0.5, 1): 2^(e-1) if m == 0.5 else 2^e. */
        int e;
        double m = frexp(s, &e);
        int n = (m == 0.5) ? -(e - 1) : -e;
        if (n > cfg->pow2_max)
            n = cfg->pow2_max; /* tiny range: coarser scale still covers it */
        if (n < cfg->pow2_min) {
            double smax = ldexp(1.0, -cfg->pow2_min);
            return oq_errorf(err, OQ_ERR_UNSUPPORTED,
                             "tensor '%s': range [%g, %g] needs scale >= %g (2^%d) for %s, but power-of-two "
                             "scales are limited to 2^-n with n in [%d, %d] (2^-%d = %g covers |x| <= %g); "
                             "lower pow2_min, clip the tensor (e.g. algorithm percentile or mse), or skip "
                             "this node",
                             name, rlo, rhi, s, -n, oq_dtype_name(cfg->qtype), (int)cfg->pow2_min,
                             (int)cfg->pow2_max, (int)cfg->pow2_min, smax, smax * levels / (sym ? 2 : 1));
        }
        s = ldexp(1.0, -n);
        out->pow2_n = n;
    }
    if (!(s <= FLT_MAX) || (float)s < FLT_MIN)
        return oq_errorf(err, OQ_ERR_NUMERIC, "tensor '%s': range [%g, %g] gives scale %g, outside float's "
                         "normal range; clip the tensor or skip this node", name, rlo, rhi, s);
    out->scale = (float)s;
    if (sym) {
        out->zero_point = sym_zp;
    } else {
        double zp = nearbyint((double)qmin - rlo / (double)out->scale);
        zp = zp < qmin ? qmin : (zp > qmax ? qmax : zp);
        out->zero_point = (int32_t)zp;
    }
    return OQ_OK;
}

/* ------------------------------------------------------------------ histogram helpers */

double oq_calib_hist_quantile(const struct oq_hist_view *h, double frac) {
    double target = frac * h->total;
    int64_t zpos = (int64_t)llround(-h->lo_edge / h->w);
    double cum = 0;
    for (int32_t j = 0; j < h->n; j++) {
        if (j == zpos) {
            cum += h->zeros;
            if (cum >= target && h->zeros > 0)
                return 0.0;
        }
        if (h->c[j] > 0 && cum + h->c[j] >= target)
            return h->lo_edge + (j + (target - cum) / h->c[j]) * h->w;
        cum += h->c[j];
    }
    return h->lo_edge + h->n * h->w;
}

/* Integral of (v - round(v))^2 from -1/2 to u: whole periods give 1/12 each. */
static inline double saw2(double u) {
    double n = nearbyint(u), r = u - n;
    return n / 12.0 + (r * r * r + 0.125) / 3.0;
}

double oq_calib_hist_sse(const struct oq_hist_view *h, double s, double qlo, double qhi) {
    const double inv_s = 1.0 / s, s3 = s * s * s;
    double sse = 0;
    for (int32_t j = 0; j < h->n; j++) {
        double c = h->c[j];
        if (c == 0)
            continue;
        double a = h->lo_edge + j * h->w, b = a + h->w, e = 0;
        if (a < qlo) {
            double t = b < qlo ? b : qlo;
            e += ((qlo - a) * (qlo - a) * (qlo - a) - (qlo - t) * (qlo - t) * (qlo - t)) / 3.0;
        }
        if (b > qhi) {
            double t = a > qhi ? a : qhi;
            e += ((b - qhi) * (b - qhi) * (b - qhi) - (t - qhi) * (t - qhi) * (t - qhi)) / 3.0;
        }
        double ia = a > qlo ? a : qlo, ib = b < qhi ? b : qhi;
        if (ib > ia)
            e += s3 * (saw2(ib * inv_s) - saw2(ia * inv_s));
        sse += c / h->w * e;
    }
    return sse;
}

/* ------------------------------------------------------------------ dispatch */

static oq_status range_percentile(const struct oq_observer *o, const struct oq_calib_config *cfg, float *lo,
                                  float *hi, oq_error *err) {
    const int32_t H = o->hist_bins;
    double w = oq_observer_bin_width(o);
    if (o->hist_range == 0) {
        *lo = *hi = 0;
        return OQ_OK;
    }
    double *c = malloc(2 * (size_t)H * sizeof(double));
    if (!c)
        return oq_errorf(err, OQ_ERR_NOMEM, "tensor '%s': out of memory", o->name);
    double p = cfg->percentile / 100.0, total = (double)o->n_zeros;
    if (cfg->symmetric) {
        for (int32_t j = 0; j < H; j++) {
            c[j] = (double)o->hist[H + j] + (double)o->hist[H - 1 - j];
            total += c[j];
        }
        struct oq_hist_view v = {c, H, 0.0, w, (double)o->n_zeros, total};
        double t = fmin(oq_calib_hist_quantile(&v, p), (double)o->absmax);
        *lo = (float)-t;
        *hi = (float)t;
    } else {
        for (int32_t j = 0; j < 2 * H; j++) {
            c[j] = (double)o->hist[j];
            total += c[j];
        }
        struct oq_hist_view v = {c, 2 * H, -o->hist_range, w, (double)o->n_zeros, total};
        double cut = (1.0 - p) / 2.0;
        *lo = (float)fmax(oq_calib_hist_quantile(&v, cut), (double)o->min);
        *hi = (float)fmin(oq_calib_hist_quantile(&v, 1.0 - cut), (double)o->max);
    }
    free(c);
    return OQ_OK;
}

/* A symmetric threshold t applied to a possibly asymmetric config: keep the observed side limits. */
static void sym_to_range(const struct oq_observer *o, const struct oq_calib_config *cfg, double t, float *lo,
                         float *hi) {
    if (cfg->symmetric) {
        *lo = (float)-t;
        *hi = (float)t;
    } else {
        *lo = (float)fmax(-t, (double)o->min);
        *hi = (float)fmin(t, (double)o->max);
    }
}

bool oq_calib_algo_needs_hist(enum oq_calib_algo algo) {
    return algo == OQ_CALIB_ALGO_PERCENTILE || algo == OQ_CALIB_ALGO_MSE || algo == OQ_CALIB_ALGO_KL ||
           algo == OQ_CALIB_ALGO_KL_V2;
}

oq_status oq_calib_range(const struct oq_observer *o, const struct oq_calib_config *cfg, float *lo, float *hi,
                         oq_error *err) {
    OQ_TRY(oq_calib_config_check(cfg, err));
    OQ_TRY(oq_observer_check(o, err));
    if (o->n_values == 0)
        return oq_errorf(err, OQ_ERR_ARG, "tensor '%s': no calibration values were observed (%lld batches); "
                         "give at least one batch of calibration data that reaches this tensor", o->name,
                         (long long)o->n_batches);
    if (oq_calib_algo_needs_hist(cfg->algo) && !o->hist)
        return oq_errorf(err, OQ_ERR_ARG, "tensor '%s': algorithm %s needs a histogram, but the tensor was observed "
                         "without one (its configured algorithm did not need it); calibrate again with %s configured",
                         o->name, oq_calib_algo_name(cfg->algo), oq_calib_algo_name(cfg->algo));
    switch (cfg->algo) {
    case OQ_CALIB_ALGO_MIN_MAX:
        *lo = o->min;
        *hi = o->max;
        return OQ_OK;
    case OQ_CALIB_ALGO_ABS_MAX:
        sym_to_range(o, cfg, o->absmax, lo, hi);
        return OQ_OK;
    case OQ_CALIB_ALGO_MOVING_AVERAGE_ABS_MAX:
        sym_to_range(o, cfg, oq_observer_ema(o), lo, hi);
        return OQ_OK;
    case OQ_CALIB_ALGO_PERCENTILE:
        return range_percentile(o, cfg, lo, hi, err);
    case OQ_CALIB_ALGO_MSE:
        return oq_calib_range_mse(o, cfg, lo, hi, err);
    case OQ_CALIB_ALGO_KL:
        return oq_calib_range_kl(o, cfg, false, lo, hi, err);
    case OQ_CALIB_ALGO_KL_V2:
        return oq_calib_range_kl(o, cfg, true, lo, hi, err);
    default:
        return oq_errorf(err, OQ_ERR_ARG, "tensor '%s': algorithm %s applies to weights only; use min_max, "
                         "abs_max, moving_average_abs_max, percentile, mse, kl or kl_v2 for activations",
                         o->name, oq_calib_algo_name(cfg->algo));
    }
}

oq_status oq_calib_compute(const struct oq_observer *o, const struct oq_calib_config *cfg,
                           struct oq_calib_result *out, oq_error *err) {
    float lo, hi;
    OQ_TRY(oq_calib_range(o, cfg, &lo, &hi, err));
    return oq_calib_qparams_from_range(o->name, lo, hi, cfg, out, err);
}

/* ------------------------------------------------------------------ weights */

oq_status oq_calib_weight_qparams(const char *name, const float *w, int ndim, const int64_t *dims, int axis,
                                  const struct oq_calib_config *cfg, float *scales, int32_t *zero_points,
                                  oq_error *err) {
    if (!name)
        name = "?";
    if (cfg->qtype != OQ_DTYPE_INT8 && cfg->qtype != OQ_DTYPE_INT16)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "weight '%s': weights are quantized symmetric to int8 or "
                         "int16, not %s", name, oq_dtype_name(cfg->qtype));
    bool per_channel = cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
    if (!per_channel && cfg->algo != OQ_CALIB_ALGO_ABS_MAX)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "weight '%s': algorithm %s is for activations; weights use "
                         "abs_max or channel_wise_abs_max", name, oq_calib_algo_name(cfg->algo));
    if (ndim < 0 || ndim > OQ_MAX_DIMS || (per_channel && (axis < 0 || axis >= ndim)))
        return oq_errorf(err, OQ_ERR_ARG, "weight '%s': channel axis %d is out of range for rank %d", name, axis,
                         ndim);
    struct oq_calib_config c = *cfg;
    c.symmetric = true;
    int64_t outer = 1, ch = 1, inner = 1;
    for (int d = 0; d < ndim; d++) {
        if (!per_channel || d > axis)
            inner *= dims[d];
        else if (d == axis)
            ch = dims[d];
        else
            outer *= dims[d];
    }
    for (int64_t k = 0; k < ch; k++)
        scales[k] = 0; /* running abs-max per channel, turned into scales below */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < ch; k++) {
            const float *p = w + (o * ch + k) * inner;
            float m = scales[k];
            uint32_t bad = 0;
            for (int64_t i = 0; i < inner; i++) {
                float a = fabsf(p[i]);
                m = a > m ? a : m;
                bad |= (uint32_t)!(a <= FLT_MAX);
            }
            if (bad) {
                int64_t i = 0;
                while (isfinite(p[i]))
                    i++;
                return oq_errorf(err, OQ_ERR_NUMERIC, "weight '%s': element %lld is %s; the model's weights "
                                 "must be finite (re-export the model)", name,
                                 (long long)((o * ch + k) * inner + i), isnan(p[i]) ? "NaN" : "Inf");
            }
            scales[k] = m;
        }
    for (int64_t k = 0; k < ch; k++) {
        struct oq_calib_result r;
        oq_status st = oq_calib_qparams_from_range(name, -scales[k], scales[k], &c, &r, err);
        if (st)
            return per_channel ? oq_error_prefix(err, st, "channel %lld: ", (long long)k) : st;
        scales[k] = r.scale;
        if (zero_points)
            zero_points[k] = r.zero_point;
    }
    return OQ_OK;
}

oq_status oq_calib_weight_axis(const char *op_type, int ndim, bool trans_b, int *axis, oq_error *err) {
    if (strcmp(op_type, "Conv") == 0)
        *axis = 0;
    else if (strcmp(op_type, "ConvTranspose") == 0)
        *axis = 1;
    else if (strcmp(op_type, "MatMul") == 0)
        *axis = ndim - 1;
    else if (strcmp(op_type, "Gemm") == 0)
        *axis = trans_b ? 0 : 1;
    else
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "no per-channel weight axis for op type %s; per-channel "
                         "weights apply to Conv, ConvTranspose, Gemm and MatMul", op_type);
    if (*axis < 0 || *axis >= ndim)
        return oq_errorf(err, OQ_ERR_SHAPE, "%s weight of rank %d has no output-channel axis", op_type, ndim);
    return OQ_OK;
}
