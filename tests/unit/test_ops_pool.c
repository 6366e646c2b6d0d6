/* Pooling and resampling ops (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Resize, Upsample): each
 * is run as a one-node graph through the public session API and compared with naive loops written here
 * (window positions and divisors counted one by one, resize coordinates from the spec formulas), over
 * pads / ceil_mode / count_include_pad / auto_pad / dilations, every nearest mode, linear coordinate modes,
 * float and int8/uint8, one and two threads. */
#include <stdio.h>
#include <stdlib.h>

#include "tg_harness.h"

/* ---- naive pooling over up to 3 spatial dims (slots right-aligned, like the op) ---- */

struct pgeo {
    int nsp;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
};

/* mode 0 max, 1 avg; ind (optional) gets the flattened argmax (first maximum). */
static void naive_pool(const float *x, float *y, int64_t *ind, int64_t planes, const struct pgeo *g, int mode,
                       bool cip, int storage_order) {
    int64_t pin = g->in[0] * g->in[1] * g->in[2];
    int64_t k = 0;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t a = 0; a < g->out[0]; a++)
            for (int64_t b = 0; b < g->out[1]; b++)
                for (int64_t c = 0; c < g->out[2]; c++, k++) {
                    double sum = 0, best = -INFINITY;
                    int64_t cnt = 0, cnt_pad = 0, bi = -1;
                    for (int64_t i = 0; i < g->k[0]; i++)
                        for (int64_t j = 0; j < g->k[1]; j++)
                            for (int64_t l = 0; l < g->k[2]; l++) {
                                int64_t pos[3] = {a * g->s[0] - g->pb[0] + i * g->d[0],
                                                  b * g->s[1] - g->pb[1] + j * g->d[1],
                                                  c * g->s[2] - g->pb[2] + l * g->d[2]};
                                bool inside = true, in_padded = true;
                                for (int q = 0; q < 3; q++) {
                                    inside = inside && pos[q] >= 0 && pos[q] < g->in[q];
                                    in_padded = in_padded && pos[q] >= -g->pb[q] && pos[q] < g->in[q] + g->pe[q];
                                }
                                cnt_pad += in_padded;
                                if (!inside)
                                    continue;
                                float v = x[p * pin + (pos[0] * g->in[1] + pos[1]) * g->in[2] + pos[2]];
                                cnt++;
                                sum += v;
                                if (v > best) {
                                    best = v;
                                    bi = storage_order ? (pos[2] * g->in[1] + pos[1]) * g->in[0] + pos[0]
                                                       : (pos[0] * g->in[1] + pos[1]) * g->in[2] + pos[2];
                                }
                            }
                    y[k] = mode == 0 ? (float)best : (float)(sum / (double)(cip ? cnt_pad : cnt));
                    if (ind)
                        ind[k] = p * pin + bi;
                }
}

static const struct pool_case {
    const char *name;
    int nsp;
    int64_t in[3], k[3], s[3], d[3], pads[6]; /* pads in ONNX order: begins then ends (node's spatial dims) */
    int64_t pb[3], pe[3];                     /* expected effective pads (for auto_pad), node's spatial dims */
    int64_t out[3];                            /* expected output spatial dims */
    int ceil;
    const char *auto_pad;
} pool_cases[] = {
    {"k3s2p1", 2, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}, {1, 1}, {4, 4}, 0, NULL},
    {"ceil", 2, {6, 7}, {3, 2}, {2, 2}, {1, 1}, {0}, {0, 0}, {0, 0}, {3, 4}, 1, NULL},
    {"ceil_last_window_on_pad", 2, {2, 2}, {3, 3}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, NULL},
    {"dilation2", 2, {8, 8}, {2, 2}, {1, 1}, {2, 2}, {0}, {0, 0}, {0, 0}, {6, 6}, 0, NULL},
    {"same_upper", 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {0}, {1, 0}, {1, 1}, {4, 4}, 0, "SAME_UPPER"},
    {"same_lower", 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {0}, {1, 1}, {1, 0}, {4, 4}, 0, "SAME_LOWER"},
    {"valid", 2, {7, 8}, {3, 2}, {2, 3}, {1, 1}, {0}, {0, 0}, {0, 0}, {3, 3}, 0, "VALID"},
    {"asym_pads", 2, {5, 5}, {2, 2}, {1, 1}, {1, 1}, {1, 0, 0, 1}, {1, 0}, {0, 1}, {5, 5}, 0, NULL},
    {"1d", 1, {10}, {3}, {2}, {1}, {1, 1}, {1}, {1}, {5}, 0, NULL},
    {"3d", 3, {5, 6, 7}, {2, 3, 3}, {2, 2, 1}, {1, 1, 1}, {0, 1, 1, 1, 1, 0}, {0, 1, 1}, {1, 1, 0}, {3, 3, 6}, 0, NULL},
};

static struct pgeo pgeo_of(const struct pool_case *pc) {
    struct pgeo g;
    for (int a = 0; a < 3; a++) {
        g.in[a] = g.k[a] = g.s[a] = g.d[a] = g.out[a] = 1;
        g.pb[a] = g.pe[a] = 0;
    }
    g.nsp = pc->nsp;
    for (int i = 0; i < pc->nsp; i++) {
        int a = 3 - pc->nsp + i;
        g.in[a] = pc->in[i];
        g.k[a] = pc->k[i];
        g.s[a] = pc->s[i];
        g.d[a] = pc->d[i];
        g.pb[a] = pc->pb[i];
        g.pe[a] = pc->pe[i];
        g.out[a] = pc->out[i];
    }
    return g;
}

static void pool_attrs(struct tg *t, const struct pool_case *pc) {
    tg_attr_ints(t, "kernel_shape", pc->nsp, pc->k);
    tg_attr_ints(t, "strides", pc->nsp, pc->s);
    if (pc->d[0] != 1 || (pc->nsp > 1 && pc->d[1] != 1))
        tg_attr_ints(t, "dilations", pc->nsp, pc->d);
    if (pc->auto_pad)
        tg_attr_str(t, "auto_pad", pc->auto_pad);
    else
        tg_attr_ints(t, "pads", 2 * pc->nsp, pc->pads);
    if (pc->ceil)
        tg_attr_int(t, "ceil_mode", 1);
}

static void test_maxpool(void) {
    for (size_t c = 0; c < sizeof(pool_cases) / sizeof(pool_cases[0]); c++) {
        const struct pool_case *pc = &pool_cases[c];
        struct pgeo g = pgeo_of(pc);
        int64_t planes = 2 * 3, xd[5] = {2, 3}, yd[5] = {2, 3};
        for (int i = 0; i < pc->nsp; i++) {
            xd[2 + i] = pc->in[i];
            yd[2 + i] = pc->out[i];
        }
        int64_t nx = oq_shape_numel(2 + pc->nsp, xd), ny = oq_shape_numel(2 + pc->nsp, yd);
        float *x = malloc(sizeof(float) * (size_t)nx), *ref = malloc(sizeof(float) * (size_t)ny);
        int64_t *rind = malloc(sizeof(int64_t) * (size_t)ny);
        fill_rand_f32(x, nx, 100 + c);
        for (int order = 0; order < 2; order++) {
            naive_pool(x, ref, rind, planes, &g, 0, false, order);
            struct tg t = tg_new(12);
            int in = tg_input(&t, "x");
            int out[2] = {tg_output(&t, "y"), tg_output(&t, "ind")};
            tg_node(&t, "MaxPool", 1, &in, 2, out);
            pool_attrs(&t, pc);
            if (order)
                tg_attr_int(&t, "storage_order", 1);
            oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 2 + pc->nsp, xd, x);
            oq_error err;
            struct tg_out o[2];
            CHECK_OK(tg_run(&t, 1, &r, 2, o, 1 + order, &err), &err);
            bool shape_ok = o[0].ndim == 2 + pc->nsp;
            for (int i = 0; shape_ok && i < 2 + pc->nsp; i++)
                shape_ok = o[0].dims[i] == yd[i];
            CHECK_MSG(shape_ok, "maxpool %s: output shape", pc->name);
            char what[96];
            snprintf(what, sizeof(what), "maxpool %s order %d", pc->name, order);
            if (o[0].data && shape_ok) {
                check_floats(what, o[0].data, ref, ny, 0);
                check_bytes(what, o[1].data, rind, 8, ny);
            }
            tg_out_free(o, 2);
        }
        /* int8 and uint8: exact selection, no Indices output */
        for (int u = 0; u < 2; u++) {
            uint8_t *xb = malloc((size_t)nx), *yb = malloc((size_t)ny);
            float *xf = malloc(sizeof(float) * (size_t)nx);
            uint64_t seed = 9 + c;
            for (int64_t i = 0; i < nx; i++) {
                xb[i] = (uint8_t)test_rng_next(&seed);
                xf[i] = u ? (float)xb[i] : (float)(int8_t)xb[i];
            }
            naive_pool(xf, ref, NULL, planes, &g, 0, false, 0);
            for (int64_t i = 0; i < ny; i++)
                yb[i] = u ? (uint8_t)ref[i] : (uint8_t)(int8_t)ref[i];
            struct tg t = tg_new(12);
            int in = tg_input(&t, "x"), out = tg_output(&t, "y");
            tg_node(&t, "MaxPool", 1, &in, 1, &out);
            pool_attrs(&t, pc);
            oq_tensor_ref r = tg_ref(u ? OQ_DTYPE_UINT8 : OQ_DTYPE_INT8, 2 + pc->nsp, xd, xb);
            oq_error err;
            struct tg_out o[1];
            CHECK_OK(tg_run(&t, 1, &r, 1, o, 1, &err), &err);
            char what[96];
            snprintf(what, sizeof(what), "maxpool %s %s", pc->name, u ? "uint8" : "int8");
            if (o[0].data && o[0].ndim == 2 + pc->nsp)
                check_bytes(what, o[0].data, yb, 1, ny);
            tg_out_free(o, 1);
            free(xb);
            free(yb);
            free(xf);
        }
        free(x);
        free(ref);
        free(rind);
    }
    {   /* the det/cls case size, threaded */
        struct pool_case pc = {"big", 2, {64, 64}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}, {1, 1}, {32, 32}, 0, NULL};
        struct pgeo g = pgeo_of(&pc);
        int64_t xd[4] = {1, 32, 64, 64};
        float *x = malloc(sizeof(float) * 32 * 64 * 64), *ref = malloc(sizeof(float) * 32 * 32 * 32);
        fill_rand_f32(x, 32 * 64 * 64, 3);
        naive_pool(x, ref, NULL, 32, &g, 0, false, 0);
        struct tg t = tg_new(13);
        int in = tg_input(&t, "x"), out = tg_output(&t, "y");
        tg_node(&t, "MaxPool", 1, &in, 1, &out);
        pool_attrs(&t, &pc);
        oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        oq_error err;
        struct tg_out o[1];
        CHECK_OK(tg_run(&t, 1, &r, 1, o, 2, &err), &err);
        if (o[0].data)
            check_floats("maxpool big", o[0].data, ref, 32 * 32 * 32, 0);
        tg_out_free(o, 1);
        free(x);
        free(ref);
    }
    {   /* errors: missing kernel_shape at load; input too small at plan */
        struct tg t = tg_new(13);
        int in = tg_input(&t, "x"), out = tg_output(&t, "y");
        tg_node(&t, "MaxPool", 1, &in, 1, &out);
        float x[4] = {0};
        int64_t xd[4] = {1, 1, 2, 2};
        oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        oq_error err;
        struct tg_out o[1];
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_MODEL, "attribute 'kernel_shape' is required");
        tg_out_free(o, 1);
        t = tg_new(13);
        in = tg_input(&t, "x");
        out = tg_output(&t, "y");
        tg_node(&t, "MaxPool", 1, &in, 1, &out);
        tg_attr_ints(&t, "kernel_shape", 2, (int64_t[]){3, 3});
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_SHAPE, "input 0 of shape [1,1,2,2] is too small for kernel 3");
        tg_out_free(o, 1);
        t = tg_new(13);
        in = tg_input(&t, "x");
        out = tg_output(&t, "y");
        tg_node(&t, "MaxPool", 1, &in, 1, &out);
        tg_attr_ints(&t, "kernel_shape", 3, (int64_t[]){1, 1, 1});
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_SHAPE, "expected rank 5");
        tg_out_free(o, 1);
    }
}

static void test_averagepool(void) {
    for (size_t c = 0; c < sizeof(pool_cases) / sizeof(pool_cases[0]); c++) {
        const struct pool_case *pc = &pool_cases[c];
        struct pgeo g = pgeo_of(pc);
        bool dil = pc->d[0] != 1 || (pc->nsp > 1 && pc->d[1] != 1);
        int64_t planes = 2 * 3, xd[5] = {2, 3}, yd[5] = {2, 3};
        for (int i = 0; i < pc->nsp; i++) {
            xd[2 + i] = pc->in[i];
            yd[2 + i] = pc->out[i];
        }
        int64_t nx = oq_shape_numel(2 + pc->nsp, xd), ny = oq_shape_numel(2 + pc->nsp, yd);
        float *x = malloc(sizeof(float) * (size_t)nx), *ref = malloc(sizeof(float) * (size_t)ny);
        fill_rand_f32(x, nx, 200 + c);
        for (int cip = 0; cip < 2; cip++) {
            naive_pool(x, ref, NULL, planes, &g, 1, cip, 0);
            struct tg t = tg_new(dil ? 19 : 11);
            int in = tg_input(&t, "x"), out = tg_output(&t, "y");
            tg_node(&t, "AveragePool", 1, &in, 1, &out);
            pool_attrs(&t, pc);
            tg_attr_int(&t, "count_include_pad", cip);
            oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 2 + pc->nsp, xd, x);
            oq_error err;
            struct tg_out o[1];
            CHECK_OK(tg_run(&t, 1, &r, 1, o, 2, &err), &err);
            char what[96];
            snprintf(what, sizeof(what), "averagepool %s count_include_pad %d", pc->name, cip);
            if (o[0].data && o[0].ndim == 2 + pc->nsp)
                check_floats(what, o[0].data, ref, ny, 1e-5f);
            tg_out_free(o, 1);
        }
        free(x);
        free(ref);
    }
    {   /* dilations before opset 19 are rejected at load */
        struct tg t = tg_new(13);
        int in = tg_input(&t, "x"), out = tg_output(&t, "y");
        tg_node(&t, "AveragePool", 1, &in, 1, &out);
        tg_attr_ints(&t, "kernel_shape", 2, (int64_t[]){2, 2});
        tg_attr_ints(&t, "dilations", 2, (int64_t[]){2, 2});
        float x[16] = {0};
        int64_t xd[4] = {1, 1, 4, 4};
        oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        oq_error err;
        struct tg_out o[1];
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_MODEL, "'dilations' is not defined for opset 13");
        tg_out_free(o, 1);
    }
}

static void test_global_pools(void) {
    static const int64_t shapes[3][4] = {{2, 3, 5, 7}, {1, 64, 33, 33}, {1, 5, 1, 1}};
    for (int c = 0; c < 3; c++) {
        int64_t planes = shapes[c][0] * shapes[c][1], hw = shapes[c][2] * shapes[c][3];
        float *x = malloc(sizeof(float) * (size_t)(planes * hw));
        fill_rand_f32(x, planes * hw, 50 + (uint64_t)c);
        float *ravg = malloc(sizeof(float) * (size_t)planes), *rmax = malloc(sizeof(float) * (size_t)planes);
        for (int64_t p = 0; p < planes; p++) {
            double s = 0;
            float m = -INFINITY;
            for (int64_t i = 0; i < hw; i++) {
                s += x[p * hw + i];
                m = x[p * hw + i] > m ? x[p * hw + i] : m;
            }
            ravg[p] = (float)(s / (double)hw);
            rmax[p] = m;
        }
        for (int op = 0; op < 2; op++) {
            struct tg t = tg_new(13);
            int in = tg_input(&t, "x"), out = tg_output(&t, "y");
            tg_node(&t, op ? "GlobalMaxPool" : "GlobalAveragePool", 1, &in, 1, &out);
            oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, shapes[c], x);
            oq_error err;
            struct tg_out o[1];
            CHECK_OK(tg_run(&t, 1, &r, 1, o, 2, &err), &err);
            CHECK(SHAPE_IS(&o[0], 4, shapes[c][0], shapes[c][1], (int64_t)1, (int64_t)1));
            if (o[0].data)
                check_floats(op ? "globalmaxpool" : "globalaveragepool", o[0].data, op ? rmax : ravg, planes,
                             op ? 0 : 1e-5f);
            tg_out_free(o, 1);
        }
        free(x);
        free(ravg);
        free(rmax);
    }
}

/* ---- Resize (naive: per output element, coordinates by the spec's formulas; H and W resized) ---- */

static double naive_coord(const char *ctm, int64_t o, double scale, int64_t in, int64_t out_int) {
    double x = (double)o, len = scale * (double)in;
    if (!strcmp(ctm, "half_pixel"))
        return (x + 0.5) / scale - 0.5;
    if (!strcmp(ctm, "pytorch_half_pixel"))
        return len > 1 ? (x + 0.5) / scale - 0.5 : 0;
    if (!strcmp(ctm, "align_corners"))
        return len == 1 ? 0 : x * (double)(in - 1) / (len - 1);
    if (!strcmp(ctm, "asymmetric"))
        return x / scale;
    if (!strcmp(ctm, "tf_half_pixel_for_nn"))
        return (x + 0.5) / scale;
    (void)out_int;
    return 0;
}

static int64_t naive_nearest(const char *mode, double x, int64_t in) {
    int64_t i;
    if (x == floor(x))
        i = (int64_t)x;
    else if (!strcmp(mode, "round_prefer_floor"))
        i = x - floor(x) <= 0.5 ? (int64_t)floor(x) : (int64_t)ceil(x);
    else if (!strcmp(mode, "round_prefer_ceil"))
        i = x - floor(x) < 0.5 ? (int64_t)floor(x) : (int64_t)ceil(x);
    else if (!strcmp(mode, "floor"))
        i = (int64_t)floor(x);
    else
        i = (int64_t)ceil(x);
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

static float naive_linear_at(const float *plane, int64_t H, int64_t W, double yc, double xc) {
    int64_t y0 = (int64_t)floor(yc), x0 = (int64_t)floor(xc);
    double fy = yc - (double)y0, fx = xc - (double)x0;
    int64_t ys[2] = {y0, y0 + 1}, xs[2] = {x0, x0 + 1};
    double wy[2] = {1 - fy, fy}, wx[2] = {1 - fx, fx}, v = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t yy = ys[a] < 0 ? 0 : ys[a] >= H ? H - 1 : ys[a];
            int64_t xx = xs[b] < 0 ? 0 : xs[b] >= W ? W - 1 : xs[b];
            v += wy[a] * wx[b] * plane[yy * W + xx];
        }
    return (float)v;
}

/* Resize [planes, H, W] -> [planes, OH, OW]; mode "nearest:<nearest_mode>" or "linear". */
static void naive_resize(const float *x, float *y, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                         double sh, double sw, const char *ctm, const char *mode) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < OH; i++)
            for (int64_t j = 0; j < OW; j++) {
                double yc = naive_coord(ctm, i, sh, H, OH), xc = naive_coord(ctm, j, sw, W, OW);
                const float *pl = x + p * H * W;
                float v;
                if (!strncmp(mode, "nearest:", 8))
                    v = pl[naive_nearest(mode + 8, yc, H) * W + naive_nearest(mode + 8, xc, W)];
                else
                    v = naive_linear_at(pl, H, W, yc, xc);
                y[(p * OH + i) * OW + j] = v;
            }
}

struct rz_case {
    const char *mode, *ctm, *nearest;
    int64_t H, W;
    float sh, sw;        /* scales (0: use sizes) */
    int64_t oh, ow;      /* sizes, or the expected output when scales are given */
};

static void run_resize_case(const struct rz_case *rc, int opset, enum oq_dtype dt, int threads) {
    int64_t xd[4] = {1, 3, rc->H, rc->W}, planes = 3;
    int64_t nx = planes * rc->H * rc->W, ny = planes * rc->oh * rc->ow;
    float *x = malloc(sizeof(float) * (size_t)nx), *ref = malloc(sizeof(float) * (size_t)ny);
    fill_rand_f32(x, nx, (uint64_t)(rc->H * 31 + rc->W));
    if (dt != OQ_DTYPE_FLOAT)
        for (int64_t i = 0; i < nx; i++)
            x[i] = (float)(int)(x[i] * 12.0f);
    double sh = rc->sh ? rc->sh : (double)rc->oh / (double)rc->H, sw = rc->sw ? rc->sw : (double)rc->ow / (double)rc->W;
    char mode[64];
    snprintf(mode, sizeof(mode), "%s%s%s", rc->mode, rc->nearest ? ":" : "", rc->nearest ? rc->nearest : "");
    naive_resize(x, ref, planes, rc->H, rc->W, rc->oh, rc->ow, sh, sw, rc->ctm, mode);
    struct tg t = tg_new(opset);
    int in[4] = {tg_input(&t, "x"), -1, -1, -1};
    if (rc->sh)
        in[2] = tg_const_f32(&t, "scales", 4, (float[]){1, 1, rc->sh, rc->sw});
    else
        in[3] = tg_const_i64(&t, "sizes", 4, (int64_t[]){1, 3, rc->oh, rc->ow});
    if (opset < 13) /* roi and scales are required inputs (empty when unused) */
    {
        float none[1];
        int64_t zero = 0;
        in[1] = tg_const(&t, "roi", OQ_DTYPE_FLOAT, 1, &zero, none);
        if (!rc->sh)
            in[2] = tg_const(&t, "scales_empty", OQ_DTYPE_FLOAT, 1, &zero, none);
    }
    int out = tg_output(&t, "y");
    tg_node(&t, "Resize", rc->sh ? 3 : 4, in, 1, &out);
    tg_attr_str(&t, "mode", rc->mode);
    tg_attr_str(&t, "coordinate_transformation_mode", rc->ctm);
    if (rc->nearest)
        tg_attr_str(&t, "nearest_mode", rc->nearest);
    size_t esz = oq_dtype_size(dt);
    void *xin = x, *yref = ref;
    if (dt != OQ_DTYPE_FLOAT) {
        xin = malloc((size_t)nx);
        yref = malloc((size_t)ny);
        for (int64_t i = 0; i < nx; i++)
            ((int8_t *)xin)[i] = (int8_t)x[i];
        for (int64_t i = 0; i < ny; i++)
            ((int8_t *)yref)[i] = (int8_t)ref[i];
    }
    oq_tensor_ref r = tg_ref(dt, 4, xd, xin);
    oq_error err;
    struct tg_out o[1];
    CHECK_OK(tg_run(&t, 1, &r, 1, o, threads, &err), &err);
    char what[160];
    snprintf(what, sizeof(what), "resize %s/%s/%s %lldx%lld->%lldx%lld %s opset %d", rc->mode, rc->ctm,
             rc->nearest ? rc->nearest : "-", (long long)rc->H, (long long)rc->W, (long long)rc->oh,
             (long long)rc->ow, oq_dtype_name(dt), opset);
    CHECK_MSG(SHAPE_IS(&o[0], 4, (int64_t)1, (int64_t)3, rc->oh, rc->ow), "%s: shape [%lld,%lld]", what,
              (long long)o[0].dims[2], (long long)o[0].dims[3]);
    if (o[0].data && o[0].dims[2] == rc->oh && o[0].dims[3] == rc->ow) {
        if (dt == OQ_DTYPE_FLOAT)
            check_floats(what, o[0].data, ref, ny, 1e-5f);
        else
            check_bytes(what, o[0].data, yref, esz, ny);
    }
    tg_out_free(o, 1);
    if (dt != OQ_DTYPE_FLOAT) {
        free(xin);
        free(yref);
    }
    free(x);
    free(ref);
}

static void test_resize(void) {
    static const struct rz_case cases[] = {
        /* the det model: nearest / asymmetric / floor, 2x (the fast path), odd sizes */
        {"nearest", "asymmetric", "floor", 37, 45, 2, 2, 74, 90},
        {"nearest", "asymmetric", "floor", 160, 160, 2, 2, 320, 320},
        {"nearest", "half_pixel", "round_prefer_floor", 5, 7, 1.7f, 0.6f, 8, 4},
        {"nearest", "half_pixel", "round_prefer_ceil", 4, 4, 0, 0, 8, 8},
        {"nearest", "align_corners", "floor", 4, 6, 0, 0, 7, 3},
        {"nearest", "asymmetric", "ceil", 6, 5, 0.5f, 3, 3, 15},
        {"nearest", "tf_half_pixel_for_nn", "round_prefer_floor", 3, 5, 2, 1.5f, 6, 7},
        {"nearest", "pytorch_half_pixel", "round_prefer_ceil", 9, 8, 0, 0, 1, 5},
        {"linear", "half_pixel", NULL, 5, 6, 2, 2, 10, 12},
        {"linear", "half_pixel", NULL, 9, 10, 0.5f, 0.75f, 4, 7},
        {"linear", "align_corners", NULL, 4, 5, 0, 0, 7, 9},
        {"linear", "asymmetric", NULL, 6, 6, 1.5f, 2.5f, 9, 15},
        {"linear", "pytorch_half_pixel", NULL, 8, 8, 0, 0, 1, 3},
        {"linear", "half_pixel", NULL, 64, 80, 2, 2, 128, 160},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        run_resize_case(&cases[c], 13, OQ_DTYPE_FLOAT, 1 + (int)(c & 1));
        run_resize_case(&cases[c], 11, OQ_DTYPE_FLOAT, 2);
        if (!strcmp(cases[c].mode, "nearest")) {
            run_resize_case(&cases[c], 19, OQ_DTYPE_INT8, 2);
            run_resize_case(&cases[c], 13, OQ_DTYPE_UINT8, 1);
        }
    }
    /* the ONNX documentation example: linear half_pixel 2x of [[1,2],[3,4]] */
    {
        float x[4] = {1, 2, 3, 4};
        int64_t xd[4] = {1, 1, 2, 2};
        float exp[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
        struct tg t = tg_new(13);
        int in[3] = {tg_input(&t, "x"), -1, tg_const_f32(&t, "scales", 4, (float[]){1, 1, 2, 2})};
        int out = tg_output(&t, "y");
        tg_node(&t, "Resize", 3, in, 1, &out);
        tg_attr_str(&t, "mode", "linear");
        oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        oq_error err;
        struct tg_out o[1];
        CHECK_OK(tg_run(&t, 1, &r, 1, o, 1, &err), &err);
        if (o[0].data)
            check_floats("resize doc example", o[0].data, exp, 16, 1e-6f);
        tg_out_free(o, 1);
    }
    /* opset 10: [X, scales], asymmetric, nearest truncates (ONNX Runtime's Resize-10 rule) */
    {
        float x[6] = {1, 2, 3, 4, 5, 6};
        int64_t xd[4] = {1, 1, 2, 3};
        float exp[2 * 4 * 6];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++)
                exp[i * 6 + j] = x[(i / 2) * 3 + j / 2];
        struct tg t = tg_new(10);
        int in[2] = {tg_input(&t, "x"), tg_const_f32(&t, "scales", 4, (float[]){1, 1, 2, 2})};
        int out = tg_output(&t, "y");
        tg_node(&t, "Resize", 2, in, 1, &out);
        oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        oq_error err;
        struct tg_out o[1];
        CHECK_OK(tg_run(&t, 1, &r, 1, o, 1, &err), &err);
        CHECK(SHAPE_IS(&o[0], 4, (int64_t)1, (int64_t)1, (int64_t)4, (int64_t)6));
        if (o[0].data)
            check_floats("resize opset 10", o[0].data, exp, 24, 0);
        tg_out_free(o, 1);
    }
    /* errors */
    {
        float x[4] = {1, 2, 3, 4};
        int64_t xd[4] = {1, 1, 2, 2}, sd = 4;
        float sc[4] = {1, 1, 2, 2};
        oq_error err;
        struct tg_out o[1];
        /* scales from a graph input: not known at plan time */
        struct tg t = tg_new(13);
        int in[3] = {tg_input(&t, "x"), -1, tg_input(&t, "scales")};
        int out = tg_output(&t, "y");
        tg_node(&t, "Resize", 3, in, 1, &out);
        oq_tensor_ref r2[2] = {tg_ref(OQ_DTYPE_FLOAT, 4, xd, x), tg_ref(OQ_DTYPE_FLOAT, 1, &sd, sc)};
        CHECK_ERR(tg_run(&t, 2, r2, 1, o, 1, &err), err, OQ_ERR_UNSUPPORTED, "input 2 ('scales') must be known before the run");
        tg_out_free(o, 1);
        /* both scales and sizes */
        t = tg_new(13);
        int in4[4] = {tg_input(&t, "x"), -1, tg_const_f32(&t, "scales", 4, sc), tg_const_i64(&t, "sizes", 4, (int64_t[]){1, 1, 4, 4})};
        out = tg_output(&t, "y");
        tg_node(&t, "Resize", 4, in4, 1, &out);
        oq_tensor_ref r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_MODEL, "exactly one of 'scales' (input 2) and 'sizes' (input 3) must be given, both are");
        tg_out_free(o, 1);
        /* linear on int8 */
        t = tg_new(13);
        int in3[3] = {tg_input(&t, "x"), -1, tg_const_f32(&t, "scales", 4, sc)};
        out = tg_output(&t, "y");
        tg_node(&t, "Resize", 3, in3, 1, &out);
        tg_attr_str(&t, "mode", "linear");
        int8_t xb[4] = {1, 2, 3, 4};
        r = tg_ref(OQ_DTYPE_INT8, 4, xd, xb);
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_UNSUPPORTED, "input 0 has dtype int8; linear/cubic mode supports float only");
        tg_out_free(o, 1);
        /* wrong number of scales */
        t = tg_new(13);
        int in5[3] = {tg_input(&t, "x"), -1, tg_const_f32(&t, "scales", 2, sc)};
        out = tg_output(&t, "y");
        tg_node(&t, "Resize", 3, in5, 1, &out);
        r = tg_ref(OQ_DTYPE_FLOAT, 4, xd, x);
        CHECK_ERR(tg_run(&t, 1, &r, 1, o, 1, &err), err, OQ_ERR_SHAPE, "scales has 2 values, expected 4 for input 0 of shape [1,1,2,2]");
        tg_out_free(o, 1);
    }
}

/* Upsample is not in the registry yet: drive its descriptor directly through oq_node_eval. */
extern const struct oq_op_def oq_op_upsample;

static void test_upsample(void) {
    for (int variant = 0; variant < 2; variant++) {
        struct tg t = tg_new(variant ? 7 : 9);
        int xv = tg_input(&t, "x"), sv = tg_const_f32(&t, "scales", 4, (float[]){1, 1, 2, 3});
        int out = tg_output(&t, "y");
        int in[2] = {xv, sv};
        struct oq_node *n = tg_node(&t, "Upsample", variant ? 1 : 2, in, 1, &out);
        n->opset = variant ? 7 : 9;
        n->def = &oq_op_upsample;
        if (variant) {
            tg_attr_floats(&t, "scales", 4, (float[]){1, 1, 2, 3});
            tg_attr_str(&t, "mode", "linear");
        }
        oq_error err = {0};
        CHECK_OK(oq_op_upsample.check(n, t.g, &err), &err);
        uint8_t xb[6] = {1, 2, 3, 4, 5, 6};
        float xf[6] = {1, 2, 3, 4, 5, 6};
        int64_t xd[4] = {1, 1, 2, 3};
        struct oq_tensor xt = {.dtype = variant ? OQ_DTYPE_FLOAT : OQ_DTYPE_UINT8, .ndim = 4, .data = variant ? (void *)xf : (void *)xb};
        memcpy(xt.dims, xd, sizeof(xd));
        struct oq_tensor *ins[2] = {&xt, t.g->values[sv].init};
        struct oq_tensor *outs[1] = {NULL};
        CHECK_OK(oq_node_eval(n, ins, outs, NULL, &err), &err);
        if (outs[0]) {
            CHECK(outs[0]->ndim == 4 && outs[0]->dims[2] == 4 && outs[0]->dims[3] == 9);
            if (!variant) {
                uint8_t exp[36];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 9; j++)
                        exp[i * 9 + j] = xb[(i / 2) * 3 + j / 3];
                check_bytes("upsample nearest u8", outs[0]->data, exp, 1, 36);
            } else {
                float exp[36];
                naive_resize(xf, exp, 1, 2, 3, 4, 9, 2, 3, "asymmetric", "linear");
                check_floats("upsample linear", outs[0]->data, exp, 36, 1e-6f);
            }
        }
        oq_tensor_free(outs[0]);
        oq_graph_free(t.g);
    }
}

int main(void) {
    test_maxpool();
    test_averagepool();
    test_global_pools();
    test_resize();
    test_upsample();
    TEST_MAIN_END();
}
