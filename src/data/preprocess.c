/* Image preprocessing spec (JSON via cJSON) and the per-image pipeline. */
#include "data/preprocess.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/tensor.h"
#include "onnx/onnx_io.h"

static const char *const resize_names[] = {
    [OQ_PP_RESIZE_STRETCH]          = "stretch",
    [OQ_PP_RESIZE_KEEP_RATIO_PAD]   = "keep_ratio_pad",
    [OQ_PP_RESIZE_FIXED_HEIGHT_PAD] = "fixed_height_pad",
    [OQ_PP_RESIZE_SHORT_SIDE_CROP]  = "short_side_crop",
};

#define VALID_KEYS                                                                                          \
    "resize, size, max_side, short_side, channels, pad_value, scale, mean, std, channel_order, layout"

static struct oq_preprocess pp_default(void) {
    struct oq_preprocess p = {
        .resize = OQ_PP_RESIZE_STRETCH,
        .scale  = 1.0f / 255.0f,
        .mean   = {0, 0, 0},
        .std    = {1, 1, 1},
        .n_mean = 1,
        .n_std  = 1,
        .layout = OQ_PP_LAYOUT_NCHW,
    };
    return p;
}

/* A JSON number that is a whole number in [lo, hi]. */
static oq_status get_int(const cJSON *v, const char *in, const char *key, int lo, int hi, int32_t *out,
                         oq_error *err) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: expected a whole number in [%d, %d]", in, key, lo,
                         hi);
    *out = (int32_t)v->valuedouble;
    return OQ_OK;
}

static oq_status get_float(const cJSON *v, const char *in, const char *key, float *out, oq_error *err) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: expected a number", in, key);
    *out = (float)v->valuedouble;
    return OQ_OK;
}

/* mean/std: a number or a list of 1 or 3 numbers. */
static oq_status get_channels3(const cJSON *v, const char *in, const char *key, bool nonzero, float *out,
                               int32_t *n, oq_error *err) {
    const char *want = nonzero ? "a nonzero number or a list of 1 or 3 nonzero numbers (one per channel)"
                               : "a number or a list of 1 or 3 numbers (one per channel)";
    int cnt = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : cJSON_IsNumber(v) ? 1 : 0;
    if (cnt != 1 && cnt != 3)
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: expected %s", in, key, want);
    for (int i = 0; i < cnt; i++) {
        const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : v;
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || (nonzero && e->valuedouble == 0))
            return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: expected %s", in, key, want);
        out[i] = (float)e->valuedouble;
    }
    for (int i = cnt; i < 3; i++)
        out[i] = out[0];
    *n = cnt;
    return OQ_OK;
}

static oq_status get_enum(const cJSON *v, const char *in, const char *key, const char *const *names, int n,
                          int *out, oq_error *err) {
    if (cJSON_IsString(v))
        for (int i = 0; i < n; i++)
            if (!strcmp(v->valuestring, names[i])) {
                *out = i;
                return OQ_OK;
            }
    char list[256] = "";
    size_t k = 0;
    for (int i = 0; i < n && k < sizeof(list); i++)
        k += (size_t)snprintf(list + k, sizeof(list) - k, "%s\"%s\"", i ? ", " : "", names[i]);
    if (cJSON_IsString(v))
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: \"%s\" is not one of %s", in, key, v->valuestring,
                         list);
    return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: expected one of %s", in, key, list);
}

static oq_status parse_one(const cJSON *obj, const char *in, struct oq_preprocess *p, oq_error *err) {
    *p = pp_default();
    if (!cJSON_IsObject(obj))
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s: expected an object with keys from: %s", in,
                         VALID_KEYS);
    const cJSON *size = NULL, *max_side = NULL, *short_side = NULL, *pad = NULL;
    for (const cJSON *v = obj->child; v; v = v->next) {
        const char *k = v->string;
        for (const cJSON *w = obj->child; w != v; w = w->next)
            if (!strcmp(w->string, k))
                return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.%s: key given twice", in, k);
        if (!strcmp(k, "resize")) {
            int r;
            OQ_TRY(get_enum(v, in, k, resize_names, 4, &r, err));
            p->resize = (enum oq_pp_resize)r;
        } else if (!strcmp(k, "size")) {
            size = v;
            if (cJSON_IsString(v) && !strcmp(v->valuestring, "multiple_of_32")) {
                p->multiple = 32;
            } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2) {
                OQ_TRY(get_int(cJSON_GetArrayItem(v, 0), in, "size[0] (height)", 1, 1 << 15, &p->height, err));
                OQ_TRY(get_int(cJSON_GetArrayItem(v, 1), in, "size[1] (width)", 1, 1 << 15, &p->width, err));
            } else {
                return oq_errorf(err, OQ_ERR_ARG,
                                 "preprocess: %s.size: expected [height, width] or \"multiple_of_32\"", in);
            }
        } else if (!strcmp(k, "max_side")) {
            max_side = v;
            OQ_TRY(get_int(v, in, k, 32, 1 << 15, &p->max_side, err));
        } else if (!strcmp(k, "short_side")) {
            short_side = v;
            OQ_TRY(get_int(v, in, k, 1, 1 << 15, &p->short_side, err));
        } else if (!strcmp(k, "channels")) {
            OQ_TRY(get_int(v, in, k, 1, 3, &p->channels, err));
            if (p->channels == 2)
                return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.channels: expected 1 (gray) or 3 (color)", in);
        } else if (!strcmp(k, "pad_value")) {
            pad = v;
            OQ_TRY(get_float(v, in, k, &p->pad_value, err));
        } else if (!strcmp(k, "scale")) {
            OQ_TRY(get_float(v, in, k, &p->scale, err));
            if (p->scale == 0)
                return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.scale: expected a nonzero number", in);
        } else if (!strcmp(k, "mean")) {
            OQ_TRY(get_channels3(v, in, k, false, p->mean, &p->n_mean, err));
        } else if (!strcmp(k, "std")) {
            OQ_TRY(get_channels3(v, in, k, true, p->std, &p->n_std, err));
        } else if (!strcmp(k, "channel_order")) {
            static const char *const orders[] = {"RGB", "BGR"};
            int o;
            OQ_TRY(get_enum(v, in, k, orders, 2, &o, err));
            p->bgr = o == 1;
        } else if (!strcmp(k, "layout")) {
            static const char *const layouts[] = {"NCHW", "NHWC"};
            int l;
            OQ_TRY(get_enum(v, in, k, layouts, 2, &l, err));
            p->layout = (enum oq_pp_layout)l;
        } else {
            return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s: unknown key \"%s\" (valid keys: %s)", in, k,
                             VALID_KEYS);
        }
    }
    /* Keys that only mean something together with others are errors elsewhere, never silently unused. */
    if (p->multiple && p->resize != OQ_PP_RESIZE_STRETCH)
        return oq_errorf(err, OQ_ERR_ARG,
                         "preprocess: %s.size: \"multiple_of_32\" resizes each side on its own; it needs resize "
                         "\"stretch\", not \"%s\"",
                         in, resize_names[p->resize]);
    if (max_side && !p->multiple)
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.max_side: only used with \"size\": \"multiple_of_32\"",
                         in);
    if (p->multiple && !max_side)
        p->max_side = 960;
    if (short_side && p->resize != OQ_PP_RESIZE_SHORT_SIDE_CROP)
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s.short_side: only used with resize \"short_side_crop\"",
                         in);
    if (pad && p->resize != OQ_PP_RESIZE_KEEP_RATIO_PAD && p->resize != OQ_PP_RESIZE_FIXED_HEIGHT_PAD)
        return oq_errorf(err, OQ_ERR_ARG,
                         "preprocess: %s.pad_value: only used with resize \"keep_ratio_pad\" or "
                         "\"fixed_height_pad\"",
                         in);
    (void)size;
    return OQ_OK;
}

static void line_col(const char *text, const char *at, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (const char *c = text; c < at && *c; c++) {
        if (*c == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

oq_status oq_preprocess_parse(const char *spec, int n, const char *const *names, struct oq_preprocess *out,
                              bool *present, oq_error *err) {
    for (int i = 0; i < n; i++) {
        out[i] = pp_default();
        present[i] = false;
    }
    const char *s = spec;
    while (isspace((unsigned char)*s))
        s++;
    char *file_text = NULL;
    const char *what = "the --preprocess text";
    char whatbuf[600];
    if (*s != '{' && *s != '[') {
        void *buf;
        size_t len;
        oq_status st = oq_read_file(spec, &buf, &len, err);
        if (st)
            return oq_error_prefix(err, st, "preprocess spec is neither JSON text (starting with '{') nor a "
                                            "readable file: ");
        file_text = malloc(len + 1);
        if (!file_text) {
            free(buf);
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory reading '%s'", spec);
        }
        memcpy(file_text, buf, len);
        file_text[len] = 0;
        free(buf);
        s = file_text;
        snprintf(whatbuf, sizeof(whatbuf), "'%s'", spec);
        what = whatbuf;
    }
    oq_status st = OQ_OK;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(s, &end, 1);
    if (!root) {
        int line, col;
        line_col(s, end ? end : s, &line, &col);
        st = oq_errorf(err, OQ_ERR_ARG, "preprocess: %s is not valid JSON: error at line %d, column %d (near "
                                        "\"%.20s\")",
                       what, line, col, end ? end : "");
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        st = oq_errorf(err, OQ_ERR_ARG,
                       "preprocess: %s: expected an object keyed by input name, e.g. {\"%s\": {\"size\": [224, "
                       "224]}}",
                       what, n ? names[0] : "x");
        goto done;
    }
    for (const cJSON *v = root->child; v; v = v->next) {
        int idx = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(v->string, names[i]))
                idx = i;
        if (idx < 0) {
            char list[512] = "";
            size_t k = 0;
            for (int i = 0; i < n && k < sizeof(list); i++)
                k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "", names[i]);
            st = oq_errorf(err, OQ_ERR_ARG, "preprocess: key \"%s\" is not a model input (inputs: %s)", v->string,
                           list);
            goto done;
        }
        if (present[idx]) {
            st = oq_errorf(err, OQ_ERR_ARG, "preprocess: input \"%s\" is given twice", v->string);
            goto done;
        }
        present[idx] = true;
        st = parse_one(v, names[idx], &out[idx], err);
        if (st)
            goto done;
    }
done:
    cJSON_Delete(root);
    free(file_text);
    return st;
}

oq_status oq_preprocess_bind(struct oq_preprocess *p, const char *name, int ndim, const int64_t *dims,
                             oq_error *err) {
    char sh[128];
    if (ndim != 4)
        return oq_errorf(err, OQ_ERR_SHAPE,
                         "input '%s' has shape %s; images feed rank-4 inputs ([N,C,H,W] or [N,H,W,C])", name,
                         oq_shape_str(ndim, dims, sh, sizeof(sh)));
    bool nchw = p->layout == OQ_PP_LAYOUT_NCHW;
    int64_t c = dims[nchw ? 1 : 3], h = dims[nchw ? 2 : 1], w = dims[nchw ? 3 : 2];
    const char *lay = nchw ? "NCHW" : "NHWC";
    if (p->channels) {
        if (c >= 0 && c != p->channels)
            return oq_errorf(err, OQ_ERR_SHAPE, "input '%s' is %s (%s) with %lld channels, but preprocess %s.channels "
                             "is %d",
                             name, oq_shape_str(ndim, dims, sh, sizeof(sh)), lay, (long long)c, name, p->channels);
    } else if (c == 1 || c == 3) {
        p->channels = (int32_t)c;
    } else if (c < 0) {
        p->channels = 3;
    } else {
        return oq_errorf(err, OQ_ERR_SHAPE,
                         "input '%s' is %s; as %s that is %lld channels, but images give 1 or 3 (is \"layout\" "
                         "right?)",
                         name, oq_shape_str(ndim, dims, sh, sizeof(sh)), lay, (long long)c);
    }
    if (p->channels == 1 && (p->n_mean == 3 || p->n_std == 3))
        return oq_errorf(err, OQ_ERR_ARG, "preprocess: %s: mean/std have 3 values but the input takes 1 channel",
                         name);
    if (p->multiple) {
        if (h >= 0 || w >= 0)
            return oq_errorf(err, OQ_ERR_SHAPE,
                             "input '%s' is %s with a fixed height or width; preprocess %s.size \"multiple_of_32\" "
                             "needs both symbolic (give \"size\": [H, W] instead)",
                             name, oq_shape_str(ndim, dims, sh, sizeof(sh)), name);
        return OQ_OK;
    }
    if (!p->height) {
        if (h < 0 || w < 0)
            return oq_errorf(err, OQ_ERR_ARG,
                             "preprocess: %s.size is required: input '%s' is %s with a symbolic height or width "
                             "(give \"size\": [H, W] or \"multiple_of_32\")",
                             name, name, oq_shape_str(ndim, dims, sh, sizeof(sh)));
        p->height = (int32_t)h;
        p->width = (int32_t)w;
    } else if ((h >= 0 && h != p->height) || (w >= 0 && w != p->width)) {
        return oq_errorf(err, OQ_ERR_SHAPE, "input '%s' is %s (%s), but preprocess %s.size is [%d, %d]", name,
                         oq_shape_str(ndim, dims, sh, sizeof(sh)), lay, name, p->height, p->width);
    }
    if (p->resize == OQ_PP_RESIZE_SHORT_SIDE_CROP) {
        int32_t need = p->height > p->width ? p->height : p->width;
        if (!p->short_side)
            p->short_side = need;
        else if (p->short_side < need)
            return oq_errorf(err, OQ_ERR_ARG,
                             "preprocess: %s.short_side %d is smaller than the crop [%d, %d]; it must be at least "
                             "%d",
                             name, p->short_side, p->height, p->width, need);
    }
    return OQ_OK;
}

/* Python's int(round(x)) for x >= 0: round half to even (nearbyint under the default FE_TONEAREST).
 * Saturates at INT32_MAX: short_side_crop of a 1-pixel-high, 16M-pixel-wide image scales the long side past
 * int32 (only the centered crop of that virtual grid is ever sampled). */
static int32_t round_even(double x) {
    double r = nearbyint(x);
    return r >= (double)INT32_MAX ? INT32_MAX : (int32_t)r;
}

void oq_preprocess_geometry(const struct oq_preprocess *p, int32_t h, int32_t w, struct oq_pp_geometry *g) {
    memset(g, 0, sizeof(*g));
    int32_t H = p->height, W = p->width;
    switch (p->resize) {
    case OQ_PP_RESIZE_STRETCH:
        if (p->multiple) {
            /* PaddleOCR DetResizeForTest (limit_type "max"): shrink so the longer side is at most max_side,
             * truncate, then round each side to the nearest multiple (half to even), at least one multiple. */
            int32_t longer = h > w ? h : w;
            double ratio = longer > p->max_side ? (double)p->max_side / longer : 1.0;
            int32_t th = (int32_t)(h * ratio), tw = (int32_t)(w * ratio);
            th = round_even((double)th / p->multiple) * p->multiple;
            tw = round_even((double)tw / p->multiple) * p->multiple;
            H = th > p->multiple ? th : p->multiple;
            W = tw > p->multiple ? tw : p->multiple;
        }
        g->rh = H;
        g->rw = W;
        break;
    case OQ_PP_RESIZE_KEEP_RATIO_PAD:
        /* Exact integer comparison of H/h and W/w; the limiting side fills, the other is ceil'd and capped. */
        if ((int64_t)H * w <= (int64_t)W * h) {
            g->rh = H;
            int64_t nw = ((int64_t)H * w + h - 1) / h;
            g->rw = (int32_t)(nw < W ? nw : W);
        } else {
            g->rw = W;
            int64_t nh = ((int64_t)W * h + w - 1) / w;
            g->rh = (int32_t)(nh < H ? nh : H);
        }
        break;
    case OQ_PP_RESIZE_FIXED_HEIGHT_PAD: {
        /* PaddleOCR resize_norm_img: resized_w = ceil(imgH * (w / h)) in double, capped at imgW. */
        double nw = ceil(H * ((double)w / (double)h));
        g->rh = H;
        g->rw = nw > W ? W : (int32_t)nw;
        break;
    }
    case OQ_PP_RESIZE_SHORT_SIDE_CROP: {
        /* PaddleClas ResizeImage(resize_short) + CropImage: round(side * S / short) then a floor-centered crop. */
        double pct = (double)p->short_side / (h < w ? h : w);
        g->rh = round_even(h * pct);
        g->rw = round_even(w * pct);
        if (g->rh < H)
            g->rh = H;
        if (g->rw < W)
            g->rw = W;
        g->crop_y = (g->rh - H) / 2;
        g->crop_x = (g->rw - W) / 2;
        g->fill_h = H;
        g->fill_w = W;
        break;
    }
    }
    if (g->rh < 1)
        g->rh = 1;
    if (g->rw < 1)
        g->rw = 1;
    if (p->resize != OQ_PP_RESIZE_SHORT_SIDE_CROP) {
        g->fill_h = g->rh;
        g->fill_w = g->rw;
    }
    g->out_h = H;
    g->out_w = W;
}

/* Source index and weight of output coordinate d (0-based) for a resize from `src` to `dst` samples. */
static inline void lin_coord(int32_t d, double sc, int32_t src, int32_t *s0, float *f) {
    float fx = (float)((d + 0.5) * sc - 0.5);
    int32_t sx = (int32_t)floorf(fx);
    fx -= (float)sx;
    if (sx < 0) {
        sx = 0;
        fx = 0;
    }
    if (sx >= src - 1) {
        sx = src - 1;
        fx = 0;
    }
    *s0 = sx;
    *f = fx;
}

void oq_preprocess_run(const struct oq_preprocess *p, const struct oq_pp_geometry *g, const uint8_t *px,
                       int32_t src_h, int32_t src_w, float *out) {
    const int C = p->channels, OH = g->out_h, OW = g->out_w;
    const bool nchw = p->layout == OQ_PP_LAYOUT_NCHW;
    /* OpenCV: scale = 1 / (dsize / ssize), kept in double. */
    const double sy = 1.0 / ((double)g->rh / src_h), sx = 1.0 / ((double)g->rw / src_w);
    const int64_t plane = (int64_t)OH * OW;
    for (int32_t y = 0; y < OH; y++) {
        int32_t y0 = 0, y1 = 0;
        float fy = 0;
        bool row_in = y < g->fill_h;
        if (row_in) {
            lin_coord(y + g->crop_y, sy, src_h, &y0, &fy);
            y1 = y0 + 1 < src_h ? y0 + 1 : y0;
        }
        for (int32_t x = 0; x < OW; x++) {
            bool in = row_in && x < g->fill_w;
            int32_t x0 = 0, x1 = 0;
            float fx = 0;
            if (in) {
                lin_coord(x + g->crop_x, sx, src_w, &x0, &fx);
                x1 = x0 + 1 < src_w ? x0 + 1 : x0;
            }
            for (int c = 0; c < C; c++) {
                float v = p->pad_value;
                if (in) {
                    int sc = p->bgr && C == 3 ? 2 - c : c;
                    const uint8_t *r0 = px + (size_t)y0 * src_w * C, *r1 = px + (size_t)y1 * src_w * C;
                    float top = (1.0f - fx) * r0[x0 * C + sc] + fx * r0[x1 * C + sc];
                    float bot = (1.0f - fx) * r1[x0 * C + sc] + fx * r1[x1 * C + sc];
                    float val = (1.0f - fy) * top + fy * bot;
                    float pix = floorf(val + 0.5f);
                    v = (pix * p->scale - p->mean[c]) / p->std[c];
                }
                if (nchw)
                    out[c * plane + (int64_t)y * OW + x] = v;
                else
                    out[((int64_t)y * OW + x) * C + c] = v;
            }
        }
    }
}
