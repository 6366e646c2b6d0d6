/* Resize (opset 10: [X, scales]; 11-12: [X, roi, scales, sizes?]; 13+: [X, roi?, scales?, sizes?]; 18+:
 * axes, keep_aspect_ratio_policy, antialias) and the shared resampling engine (resize.h).
 *
 * Coordinates follow the ONNX reference (onnx/reference/ops/op_resize.py), computed in double once per
 * output coordinate at prepare time:
 *  - output size from scales: floor(scale * in); from sizes: the sizes, and scale = size / in;
 *  - nearest: integer coordinates map to themselves, otherwise rounded per nearest_mode, then clamped;
 *  - linear: taps floor(x) and floor(x)+1 with weights 1-f, f; cubic: floor(x)-1..floor(x)+2 with the
 *    Keys kernel (cubic_coeff_a), exclude_outside renormalizing; tap indices clamped to the input (edge);
 *  - tf_crop_and_resize: coordinates outside [0, in-1] produce extrapolation_value.
 * Opset 10 behaves as ONNX Runtime does: asymmetric coordinates, nearest truncating (ceil when shrinking).
 * Antialiasing (opset 18) when downsampling with linear/cubic is not supported. */
#include "ops/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"

enum { RZ_MAX_TAPS = 4, RZ_MAX_COMBOS = 64 };

struct rz_priv {
    int rank;
    size_t esz;
    bool select;                      /* every axis has 1 tap: pure selection, any dtype */
    bool twox;                        /* select, and the last axis is an exact 2x replication */
    bool any_outside;
    int nt[OQ_MAX_DIMS];
    int64_t *off[OQ_MAX_DIMS];        /* [out * nt] input element offsets (index * stride) */
    float *w[OQ_MAX_DIMS];            /* [out * nt] weights */
    unsigned char *outside[OQ_MAX_DIMS]; /* [out] 1 = extrapolate */
    unsigned char extrap[16];         /* extrapolation value in the tensor dtype */
    float extrap_f;
    void *buf;
    size_t buf_bytes;
};

void oq_resize_destroy(void *priv) {
    struct rz_priv *p = priv;
    if (p)
        free(p->buf);
    free(p);
}

oq_status oq_resize_check_dtype(const struct oq_op_ctx *ctx, const struct oq_resize_params *p) {
    enum oq_dtype dt = ctx->in[0]->dtype;
    if (dt == OQ_DTYPE_FLOAT)
        return OQ_OK;
    if (p->mode == OQ_RESIZE_NEAREST && oq_dtype_size(dt) > 0 && oq_dtype_size(dt) <= 16)
        return OQ_OK;
    return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 has dtype %s; %s mode supports %s",
                       oq_dtype_name(dt), p->mode == OQ_RESIZE_NEAREST ? "nearest" : "linear/cubic",
                       p->mode == OQ_RESIZE_NEAREST ? "fixed-size dtypes" : "float only");
}

/* ---- coordinate transform and taps ---- */

static double rz_coord(const struct oq_resize_params *p, int a, int64_t o, int64_t in) {
    double s = p->scale[a], x = (double)o;
    int64_t out = p->out[a];
    switch (p->ctm) {
    case OQ_CTM_HALF_PIXEL:
        return (x + 0.5) / s - 0.5;
    case OQ_CTM_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / (s * (double)in);
        double center = (double)in / 2.0;
        return center * (1.0 - adj) + (x + 0.5) / s - 0.5;
    }
    /* As the reference: length_resized is scale * in, fractional when the size came from a scale. */
    case OQ_CTM_PYTORCH_HALF_PIXEL:
        return s * (double)in != 1.0 ? (x + 0.5) / s - 0.5 : -0.5;
    case OQ_CTM_ALIGN_CORNERS:
        return s * (double)in != 1.0 ? x * (double)(in - 1) / (s * (double)in - 1.0) : 0.0;
    case OQ_CTM_ASYMMETRIC:
        return x / s;
    case OQ_CTM_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / s;
    case OQ_CTM_TF_CROP_AND_RESIZE: {
        double rs = p->roi[a], re = p->roi[p->rank + a];
        if (out > 1)
            return rs * (double)(in - 1) + x * (re - rs) * (double)(in - 1) / (double)(out - 1);
        return 0.5 * (rs + re) * (double)(in - 1);
    }
    }
    return 0.0;
}

static int64_t rz_clamp(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Taps of one output coordinate: returns the count, fills idx (clamped) and w. */
static int rz_taps(const struct oq_resize_params *p, int a, double x, int64_t in, int64_t *idx, float *w) {
    double fl = floor(x), f = x - fl;
    int64_t i0 = (int64_t)fl;
    if (p->mode == OQ_RESIZE_NEAREST) {
        int64_t i;
        if (f == 0.0)
            i = i0;
        else
            switch (p->nearest) {
            case OQ_NEAREST_ROUND_PREFER_FLOOR: i = f <= 0.5 ? i0 : i0 + 1; break;
            case OQ_NEAREST_ROUND_PREFER_CEIL: i = f < 0.5 ? i0 : i0 + 1; break;
            case OQ_NEAREST_FLOOR: i = i0; break;
            case OQ_NEAREST_CEIL: i = i0 + 1; break;
            default: /* SIMPLE */ i = p->scale[a] < 1.0 ? (int64_t)ceil(x) : (int64_t)x; break;
            }
        idx[0] = rz_clamp(i, in);
        w[0] = 1.0f;
        return 1;
    }
    if (p->mode == OQ_RESIZE_LINEAR) {
        idx[0] = rz_clamp(i0, in);
        idx[1] = rz_clamp(i0 + 1, in);
        w[0] = (float)(1.0 - f);
        w[1] = (float)f;
        return 2;
    }
    double A = p->cubic_a, c[4];
    double r = f, t;
    t = r + 1;
    c[0] = ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    t = 1 - r;
    c[2] = ((A + 2) * t - (A + 3)) * t * t + 1;
    t = 2 - r;
    c[3] = ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    if (p->exclude_outside) {
        double sum = 0;
        for (int k = 0; k < 4; k++) {
            int64_t i = i0 - 1 + k;
            if (i < 0 || i >= in)
                c[k] = 0;
            sum += c[k];
        }
        if (sum != 0)
            for (int k = 0; k < 4; k++)
                c[k] /= sum;
    }
    for (int k = 0; k < 4; k++) {
        idx[k] = rz_clamp(i0 - 1 + k, in);
        w[k] = (float)c[k];
    }
    return 4;
}

/* Merge taps with the same index and drop zero weights; returns the new count (>= 1). */
static int rz_merge(int n, int64_t *idx, float *w) {
    int m = 0;
    for (int t = 0; t < n; t++) {
        int64_t it = idx[t];
        float wt = w[t]; /* read before slot m (<= t) is reused */
        int k = 0;
        while (k < m && idx[k] != it)
            k++;
        if (k == m) {
            idx[m] = it;
            w[m] = 0.0f;
            m++;
        }
        w[k] += wt;
    }
    int z = 0;
    for (int t = 0; t < m; t++)
        if (w[t] != 0.0f) {
            idx[z] = idx[t];
            w[z] = w[t];
            z++;
        }
    if (z == 0) {
        z = 1;
        w[0] = 0.0f;
    }
    return z;
}

oq_status oq_resize_prepare(struct oq_op_ctx *ctx, const struct oq_resize_params *prm) {
    struct rz_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    const struct oq_tensor *x = ctx->in[0];
    int r = x->ndim;
    p->rank = r;
    p->esz = oq_dtype_size(x->dtype);
    size_t need = 0;
    for (int a = 0; a < r; a++)
        need += (size_t)prm->out[a] * (RZ_MAX_TAPS * (sizeof(int64_t) + sizeof(float)) + 1) + 64;
    if (!p->buf || need > p->buf_bytes) {
        free(p->buf);
        p->buf = malloc(need ? need : 1);
        p->buf_bytes = need;
        if (!p->buf)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for %zu bytes of resize tables", need);
    }
    int64_t xst[OQ_MAX_DIMS];
    oq_shape_strides(r, x->dims, xst);
    char *q = p->buf;
    p->select = true;
    p->any_outside = false;
    for (int a = 0; a < r; a++) {
        int64_t out = prm->out[a], in = x->dims[a];
        p->off[a] = (int64_t *)(void *)q;
        q += (size_t)out * RZ_MAX_TAPS * sizeof(int64_t);
        p->w[a] = (float *)(void *)q;
        q += (size_t)out * RZ_MAX_TAPS * sizeof(float);
        p->outside[a] = (unsigned char *)q;
        q += ((size_t)out + 63) & ~(size_t)63;
        /* first pass: taps per coordinate, merged; the axis keeps the max count */
        int nt = 1;
        for (int64_t o = 0; o < out; o++) {
            double c = rz_coord(prm, a, o, in);
            int64_t idx[RZ_MAX_TAPS];
            float w[RZ_MAX_TAPS];
            int n = rz_merge(rz_taps(prm, a, c, in, idx, w), idx, w);
            p->outside[a][o] = prm->ctm == OQ_CTM_TF_CROP_AND_RESIZE && (c < 0 || c > (double)(in - 1));
            if (p->outside[a][o])
                p->any_outside = true;
            if (n > 1 || w[0] != 1.0f)
                nt = n > nt ? n : nt;
            if (w[0] != 1.0f && n == 1)
                nt = 2; /* a lone non-unit weight (all-zero taps): keep the interpolating path */
        }
        p->nt[a] = nt;
        for (int64_t o = 0; o < out; o++) {
            double c = rz_coord(prm, a, o, in);
            int64_t idx[RZ_MAX_TAPS];
            float w[RZ_MAX_TAPS];
            int n = rz_merge(rz_taps(prm, a, c, in, idx, w), idx, w);
            for (int t = 0; t < nt; t++) {
                p->off[a][o * nt + t] = (t < n ? idx[t] : idx[0]) * xst[a];
                p->w[a][o * nt + t] = t < n ? w[t] : 0.0f;
            }
        }
        if (nt > 1)
            p->select = false;
    }
    if (!p->select && x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "interpolation needs float input, got %s",
                           oq_dtype_name(x->dtype));
    int combos = 1;
    for (int a = 0; a + 1 < r; a++)
        combos *= p->nt[a];
    if (combos > RZ_MAX_COMBOS)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "interpolating over this many axes (%d tap combinations) is not supported",
                           combos);
    memset(p->extrap, 0, sizeof(p->extrap));
    struct oq_tensor t = {.dtype = x->dtype, .ndim = 0, .data = p->extrap};
    oq_tensor_set_f64(&t, 0, prm->extrapolation);
    p->extrap_f = (float)prm->extrapolation;
    p->twox = false;
    if (p->select && r > 0 && !p->any_outside) {
        int64_t out = prm->out[r - 1], in = x->dims[r - 1];
        p->twox = out == 2 * in;
        for (int64_t o = 0; p->twox && o < out; o++)
            p->twox = p->off[r - 1][o] == o / 2;
    }
    return OQ_OK;
}

/* ---- run ---- */

struct rz_args {
    const struct rz_priv *p;
    const char *x;
    char *y;
    const int64_t *odims;
    int64_t rows, w; /* rows of the output (all dims but the last), last-dim length */
};

static void rz_select_row(const struct rz_priv *p, char *dst, const char *src, int64_t w) {
    const int64_t *ol = p->off[p->rank - 1];
    size_t esz = p->esz;
    if (p->twox) {
#define OQ_RZ_2X(T)                                                                                     \
    do {                                                                                                \
        T *d_ = (T *)(void *)dst;                                                                       \
        const T *s_ = (const T *)(const void *)src;                                                     \
        for (int64_t i_ = 0; i_ < w / 2; i_++) {                                                        \
            T v_ = s_[i_];                                                                              \
            d_[2 * i_] = v_;                                                                            \
            d_[2 * i_ + 1] = v_;                                                                        \
        }                                                                                               \
    } while (0)
        switch (esz) {
        case 1: OQ_RZ_2X(uint8_t); return;
        case 2: OQ_RZ_2X(uint16_t); return;
        case 4: OQ_RZ_2X(uint32_t); return;
        case 8: OQ_RZ_2X(uint64_t); return;
        default: break;
        }
#undef OQ_RZ_2X
    }
#define OQ_RZ_SEL(T)                                                                                    \
    do {                                                                                                \
        T *d_ = (T *)(void *)dst;                                                                       \
        const T *s_ = (const T *)(const void *)src;                                                     \
        for (int64_t j_ = 0; j_ < w; j_++)                                                              \
            d_[j_] = s_[ol[j_]];                                                                        \
    } while (0)
    switch (esz) {
    case 1: OQ_RZ_SEL(uint8_t); break;
    case 2: OQ_RZ_SEL(uint16_t); break;
    case 4: OQ_RZ_SEL(uint32_t); break;
    case 8: OQ_RZ_SEL(uint64_t); break;
    default:
        for (int64_t j = 0; j < w; j++)
            memcpy(dst + (size_t)j * esz, src + (size_t)ol[j] * esz, esz);
        break;
    }
#undef OQ_RZ_SEL
}

static void rz_fill(char *dst, const unsigned char *v, int64_t n, size_t esz) {
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + (size_t)i * esz, v, esz);
}

/* Selection: every axis has one tap; extrapolated rows / elements get the extrapolation value. */
static void rz_select_task(void *arg, int ith, int nth) {
    const struct rz_args *a = arg;
    const struct rz_priv *p = a->p;
    int r = p->rank;
    size_t esz = p->esz;
    int64_t r0, r1;
    oq_split(a->rows, ith, nth, &r0, &r1);
    int64_t prev = -1;
    const unsigned char *outl = p->outside[r - 1];
    for (int64_t row = r0; row < r1; row++) {
        char *dst = a->y + (size_t)(row * a->w) * esz;
        int64_t rem = row, base = 0;
        bool out_row = false;
        for (int d = r - 2; d >= 0; d--) {
            int64_t o = rem % a->odims[d];
            rem /= a->odims[d];
            base += p->off[d][o];
            out_row |= p->outside[d][o] != 0;
        }
        if (out_row) {
            rz_fill(dst, p->extrap, a->w, esz);
            prev = -1;
            continue;
        }
        if (base == prev && row > r0) {
            memcpy(dst, dst - (size_t)a->w * esz, (size_t)a->w * esz);
            continue;
        }
        rz_select_row(p, dst, a->x + (size_t)base * esz, a->w);
        if (p->any_outside)
            for (int64_t j = 0; j < a->w; j++)
                if (outl[j])
                    memcpy(dst + (size_t)j * esz, p->extrap, esz);
        prev = base;
    }
}

/* Interpolation (float): outer axes with several taps are expanded into (offset, weight) combinations per
 * row; the last axis' taps are applied per element. */
static void rz_interp_task(void *arg, int ith, int nth) {
    const struct rz_args *a = arg;
    const struct rz_priv *p = a->p;
    int r = p->rank;
    const float *x = (const float *)(const void *)a->x;
    float *y = (float *)(void *)a->y;
    int ntl = p->nt[r - 1];
    const int64_t *ol = p->off[r - 1];
    const float *wl = p->w[r - 1];
    const unsigned char *outl = p->outside[r - 1];
    int64_t r0, r1;
    oq_split(a->rows, ith, nth, &r0, &r1);
    for (int64_t row = r0; row < r1; row++) {
        float *dst = y + row * a->w;
        int64_t coff[RZ_MAX_COMBOS];
        float cw[RZ_MAX_COMBOS];
        int nc = 1;
        coff[0] = 0;
        cw[0] = 1.0f;
        bool out_row = false;
        int64_t rem = row;
        for (int d = r - 2; d >= 0; d--) {
            int64_t o = rem % a->odims[d];
            rem /= a->odims[d];
            out_row |= p->outside[d][o] != 0;
            int nt = p->nt[d];
            const int64_t *od = p->off[d] + o * nt;
            const float *wd = p->w[d] + o * nt;
            if (nt == 1) {
                for (int c = 0; c < nc; c++) {
                    coff[c] += od[0];
                    cw[c] *= wd[0];
                }
                continue;
            }
            for (int t = nt - 1; t >= 0; t--)
                for (int c = 0; c < nc; c++) {
                    coff[t * nc + c] = coff[c] + od[t];
                    cw[t * nc + c] = cw[c] * wd[t];
                }
            nc *= nt;
        }
        if (out_row) {
            for (int64_t j = 0; j < a->w; j++)
                dst[j] = p->extrap_f;
            continue;
        }
        if (ntl == 2 && nc == 2) { /* bilinear */
            const float *s0 = x + coff[0], *s1 = x + coff[1];
            float w0 = cw[0], w1 = cw[1];
            for (int64_t j = 0; j < a->w; j++) {
                int64_t i0 = ol[2 * j], i1 = ol[2 * j + 1];
                float u0 = wl[2 * j], u1 = wl[2 * j + 1];
                dst[j] = w0 * (u0 * s0[i0] + u1 * s0[i1]) + w1 * (u0 * s1[i0] + u1 * s1[i1]);
            }
        } else {
            for (int64_t j = 0; j < a->w; j++) {
                float acc = 0.0f;
                for (int c = 0; c < nc; c++) {
                    const float *s = x + coff[c];
                    float v = 0.0f;
                    for (int t = 0; t < ntl; t++)
                        v += wl[j * ntl + t] * s[ol[j * ntl + t]];
                    acc += cw[c] * v;
                }
                dst[j] = acc;
            }
        }
        if (p->any_outside)
            for (int64_t j = 0; j < a->w; j++)
                if (outl[j])
                    dst[j] = p->extrap_f;
    }
}

oq_status oq_resize_run(struct oq_op_ctx *ctx) {
    const struct rz_priv *p = ctx->priv;
    const struct oq_tensor *x = ctx->in[0];
    struct oq_tensor *y = ctx->out[0];
    int64_t n = oq_tensor_numel(y);
    if (n == 0)
        return OQ_OK;
    struct rz_args a = {p, x->data, y->data, y->dims, 0, 0};
    a.w = y->dims[p->rank - 1];
    a.rows = n / a.w;
    int64_t taps = 1;
    for (int d = 0; d < p->rank; d++)
        taps *= p->nt[d];
    oq_pool_run(ctx->pool, p->select ? rz_select_task : rz_interp_task, &a,
                oq_pool_threads_for(ctx->pool, n * taps, 16384));
    return OQ_OK;
}

/* ---- the Resize op ---- */

static oq_status rz_parse_modes(const struct oq_node *n, oq_error *err, struct oq_resize_params *p) {
    const char *m = oq_attr_string(n, "mode", "nearest");
    if (!strcmp(m, "nearest"))
        p->mode = OQ_RESIZE_NEAREST;
    else if (!strcmp(m, "linear") || !strcmp(m, "bilinear"))
        p->mode = OQ_RESIZE_LINEAR;
    else if (!strcmp(m, "cubic") && n->opset >= 11)
        p->mode = OQ_RESIZE_CUBIC;
    else
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "mode '%s' is not supported (nearest, linear, cubic)", m);
    if (n->opset < 11) {
        p->ctm = OQ_CTM_ASYMMETRIC;
        p->nearest = OQ_NEAREST_SIMPLE;
    } else {
        static const struct { const char *name; enum oq_resize_ctm v; } ctms[] = {
            {"half_pixel", OQ_CTM_HALF_PIXEL},
            {"half_pixel_symmetric", OQ_CTM_HALF_PIXEL_SYMMETRIC},
            {"pytorch_half_pixel", OQ_CTM_PYTORCH_HALF_PIXEL},
            {"align_corners", OQ_CTM_ALIGN_CORNERS},
            {"asymmetric", OQ_CTM_ASYMMETRIC},
            {"tf_half_pixel_for_nn", OQ_CTM_TF_HALF_PIXEL_FOR_NN},
            {"tf_crop_and_resize", OQ_CTM_TF_CROP_AND_RESIZE},
        };
        const char *c = oq_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        size_t i = 0;
        while (i < sizeof(ctms) / sizeof(ctms[0]) && strcmp(c, ctms[i].name))
            i++;
        if (i == sizeof(ctms) / sizeof(ctms[0]))
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported",
                                 c);
        p->ctm = ctms[i].v;
        static const struct { const char *name; enum oq_resize_nearest v; } nms[] = {
            {"round_prefer_floor", OQ_NEAREST_ROUND_PREFER_FLOOR},
            {"round_prefer_ceil", OQ_NEAREST_ROUND_PREFER_CEIL},
            {"floor", OQ_NEAREST_FLOOR},
            {"ceil", OQ_NEAREST_CEIL},
        };
        const char *nm = oq_attr_string(n, "nearest_mode", "round_prefer_floor");
        i = 0;
        while (i < sizeof(nms) / sizeof(nms[0]) && strcmp(nm, nms[i].name))
            i++;
        if (i == sizeof(nms) / sizeof(nms[0]))
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "nearest_mode '%s' is not supported", nm);
        p->nearest = nms[i].v;
    }
    p->cubic_a = oq_attr_float(n, "cubic_coeff_a", -0.75f);
    p->exclude_outside = oq_attr_int(n, "exclude_outside", 0) != 0;
    p->extrapolation = oq_attr_float(n, "extrapolation_value", 0.0f);
    const char *kar = oq_attr_string(n, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(kar, "stretch") && strcmp(kar, "not_larger") && strcmp(kar, "not_smaller"))
        return oq_node_error(n, err, OQ_ERR_MODEL, "keep_aspect_ratio_policy '%s' is not one of stretch, not_larger, "
                             "not_smaller", kar);
    return OQ_OK;
}

static oq_status resize_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->opset < 10)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "Resize before opset 10 does not exist");
    if (n->opset == 10)
        OQ_TRY(oq_check_arity(n, err, 2, 2, 1, 1));
    else if (n->opset < 13)
        OQ_TRY(oq_check_arity(n, err, 3, 4, 1, 1));
    else
        OQ_TRY(oq_check_arity(n, err, 1, 4, 1, 1));
    struct oq_resize_params p;
    return rz_parse_modes(n, err, &p);
}

static bool rz_given(const struct oq_op_ctx *ctx, int i) {
    return oq_mv_has_input(ctx, i) && oq_tensor_numel(ctx->in[i]) > 0;
}

static oq_status resize_params(struct oq_op_ctx *ctx, struct oq_resize_params *p) {
    const struct oq_node *n = ctx->node;
    const struct oq_tensor *x = ctx->in[0];
    int r = x->ndim;
    memset(p, 0, sizeof(*p));
    OQ_TRY(rz_parse_modes(n, ctx->err, p));
    p->rank = r;
    if (r < 1)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 is a scalar; Resize needs rank >= 1");
    /* axes (opset 18) */
    int axes[OQ_MAX_DIMS], na = r;
    const int64_t *av;
    int64_t nav = n->opset >= 18 ? oq_attr_ints(n, "axes", &av) : -1;
    if (nav >= 0) {
        if (nav > r)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "'axes' has %lld entries for rank %d", (long long)nav, r);
        na = (int)nav;
        OQ_TRY(oq_mv_axes(ctx, "axes", av, na, r, axes));
    } else {
        for (int d = 0; d < r; d++)
            axes[d] = d;
    }
    int si = n->opset == 10 ? 1 : 2, zi = n->opset == 10 ? -1 : 3;
    bool hs = rz_given(ctx, si), hz = zi > 0 && rz_given(ctx, zi);
    if (hs == hz)
        return oq_op_error(ctx, OQ_ERR_MODEL, "exactly one of 'scales' (input %d) and 'sizes' (input 3) must be given%s",
                           si, hs ? ", both are" : ", neither is");
    char xs[160], vs[400];
    for (int d = 0; d < r; d++) {
        p->scale[d] = 1.0;
        p->out[d] = x->dims[d];
        p->roi[d] = 0.0;
        p->roi[r + d] = 1.0;
    }
    if (hs) {
        double sc[OQ_MAX_DIMS];
        int ns;
        OQ_TRY(oq_mv_const_floats(ctx, si, sc, OQ_MAX_DIMS, &ns));
        if (ns != na)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "scales has %d values, expected %d for input 0 of shape %s", ns, na,
                               oq_shape_str(r, x->dims, xs, sizeof(xs)));
        for (int i = 0; i < na; i++) {
            if (!(sc[i] > 0) || !isfinite(sc[i]))
                return oq_op_error(ctx, OQ_ERR_SHAPE, "scales[%d] = %g must be positive", i, sc[i]);
            int d = axes[i];
            p->scale[d] = sc[i];
            double o = floor(sc[i] * (double)x->dims[d]);
            if (o > 72057594037927936.0) /* 2^56: beyond it the int64 conversion is undefined */
                return oq_op_error(ctx, OQ_ERR_SHAPE, "scales[%d] = %g times dimension %lld gives %g elements, "
                                   "more than 2^56; check the scales", i, sc[i], (long long)x->dims[d], o);
            p->out[d] = (int64_t)o;
        }
    } else {
        int64_t sz[OQ_MAX_DIMS];
        int nz;
        OQ_TRY(oq_op_const_ints(ctx, zi, sz, OQ_MAX_DIMS, &nz));
        if (nz != na)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "sizes %s has %d values, expected %d for input 0 of shape %s",
                               oq_mv_ints_str(nz, sz, vs, sizeof(vs)), nz, na, oq_shape_str(r, x->dims, xs, sizeof(xs)));
        for (int i = 0; i < na; i++)
            if (sz[i] < 0)
                return oq_op_error(ctx, OQ_ERR_SHAPE, "sizes %s has a negative value",
                                   oq_mv_ints_str(nz, sz, vs, sizeof(vs)));
        const char *kar = n->opset >= 18 ? oq_attr_string(n, "keep_aspect_ratio_policy", "stretch") : "stretch";
        if (!strcmp(kar, "stretch")) {
            for (int i = 0; i < na; i++) {
                int d = axes[i];
                p->out[d] = sz[i];
                p->scale[d] = x->dims[d] ? (double)sz[i] / (double)x->dims[d] : 1.0;
            }
        } else {
            bool smaller = !strcmp(kar, "not_larger");
            double s = smaller ? INFINITY : 0.0;
            for (int i = 0; i < na; i++) {
                double si_ = x->dims[axes[i]] ? (double)sz[i] / (double)x->dims[axes[i]] : 1.0;
                s = smaller ? fmin(s, si_) : fmax(s, si_);
            }
            for (int i = 0; i < na; i++) {
                int d = axes[i];
                p->scale[d] = s;
                p->out[d] = (int64_t)(s * (double)x->dims[d] + 0.5);
            }
        }
    }
    if (p->ctm == OQ_CTM_TF_CROP_AND_RESIZE) {
        if (!rz_given(ctx, 1))
            return oq_op_error(ctx, OQ_ERR_MODEL, "tf_crop_and_resize needs the 'roi' input");
        double roi[2 * OQ_MAX_DIMS];
        int nr;
        OQ_TRY(oq_mv_const_floats(ctx, 1, roi, 2 * OQ_MAX_DIMS, &nr));
        if (nr != 2 * na)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "roi has %d values, expected %d", nr, 2 * na);
        for (int i = 0; i < na; i++) {
            p->roi[axes[i]] = roi[i];
            p->roi[r + axes[i]] = roi[na + i];
        }
    }
    if (n->opset >= 18 && oq_attr_int(n, "antialias", 0) && p->mode != OQ_RESIZE_NEAREST)
        for (int d = 0; d < r; d++)
            if (p->scale[d] < 1.0)
                return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "antialias=1 when downsampling (scale %g on axis %d) is not supported",
                                   p->scale[d], d);
    return oq_resize_check_dtype(ctx, p);
}

static oq_status resize_infer(struct oq_op_ctx *ctx) {
    struct oq_resize_params p;
    OQ_TRY(resize_params(ctx, &p));
    oq_op_set_output(ctx, 0, ctx->in[0]->dtype, p.rank, p.out);
    return OQ_OK;
}

static oq_status resize_prepare(struct oq_op_ctx *ctx) {
    struct oq_resize_params p;
    OQ_TRY(resize_params(ctx, &p));
    return oq_resize_prepare(ctx, &p);
}

const struct oq_op_def oq_op_resize = {
    .domain  = "",
    .name    = "Resize",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = resize_check,
    .infer   = resize_infer,
    .prepare = resize_prepare,
    .run     = oq_resize_run,
    .destroy = oq_resize_destroy,
};
