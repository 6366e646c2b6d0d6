/* Softmax across opsets, LayerNormalization, BatchNormalization, ReduceMean/ReduceSum (attribute vs input
 * axes, keepdims, noop_with_empty_axes) and ArgMax, each against a naive double-precision reference. */
#include <string.h>

#include "ops/op.h"
#include "ops_graph.h"
#include "test_util.h"

static float *rand_f32(uint64_t *seed, int64_t n, float lo, float hi) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = test_rng_uniform(seed, lo, hi);
    return p;
}

static double max_rel_err(const float *got, const double *want, int64_t n) {
    double w = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / fmax(1e-3, fabs(want[i]));
        if (!(e <= w))
            w = e;
    }
    return w;
}

/* ---- Softmax ---- */

/* Reference: softmax over groups of `n` elements spaced `inner` apart, outer blocks of n*inner. */
static void ref_softmax(const float *x, double *y, int64_t outer, int64_t n, int64_t inner, bool is_log) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *xp = x + o * n * inner + j;
            double *yp      = y + o * n * inner + j;
            double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < n; k++)
                m = fmax(m, xp[k * inner]);
            for (int64_t k = 0; k < n; k++)
                s += exp(xp[k * inner] - m);
            for (int64_t k = 0; k < n; k++)
                yp[k * inner] = is_log ? xp[k * inner] - m - log(s) : exp(xp[k * inner] - m) / s;
        }
}

static void
check_softmax(const char *op, int opset, int nd, const int64_t *dims, bool has_axis, int64_t axis) {
    if (!oq_op_find("", op, opset)) {
        printf("skip %s: not registered\n", op);
        return;
    }
    int64_t n            = oq_shape_numel(nd, dims);
    uint64_t seed        = 5 + (uint64_t)opset + (uint64_t)axis;
    float *x             = rand_f32(&seed, n, -8, 8);
    x[0]                 = 60; /* large values must not overflow */
    struct oq_graph *g   = tg_new(opset);
    int ix               = tg_input(g, "x", OQ_DTYPE_FLOAT, nd, dims);
    int y                = tg_output(g, "y");
    struct oq_node *node = tg_node(g, op, 1, &ix, 1, &y);
    if (has_axis)
        tg_attr_int(node, "axis", axis);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, nd, dims, x);
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
    if (r.s) {
        int64_t a = has_axis ? axis : opset < 13 ? 1 : -1;
        if (a < 0)
            a += nd;
        int64_t outer = oq_shape_numel((int)a, dims), len, inner;
        if (opset < 13) {
            len   = oq_shape_numel(nd - (int)a, dims + a);
            inner = 1;
        } else {
            len   = dims[a];
            inner = oq_shape_numel(nd - (int)a - 1, dims + a + 1);
        }
        double *want = malloc(sizeof(double) * (size_t)n);
        bool is_log = !strcmp(op, "LogSoftmax");
        ref_softmax(x, want, outer, len, inner, is_log);
        /* LogSoftmax values near 0 come from x - (max + log(sum)): their error is an ulp of max, not of y */
        double e = 0;
        const float *yd = r.out[0].data;
        for (int64_t i = 0; i < n; i++)
            e = fmax(e, fabs(yd[i] - want[i]) / fmax(is_log ? 8.0 : 1e-3, fabs(want[i])));
        CHECK_MSG(e < 1e-5, "%s opset %d axis %lld rank %d: max rel err %g", op, opset, (long long)a, nd, e);
        free(want);
    }
    tg_done(&r);
    free(x);
}

static void test_softmax(void) {
    const int64_t d3[3] = {2, 3, 4}, d4[4] = {2, 3, 17, 33}, d2[2] = {64, 1000};
    const char *ops[] = {"Softmax", "LogSoftmax"};
    for (int o = 0; o < 2; o++) {
        /* opset 11: 2-D coercion at axis (default 1) */
        check_softmax(ops[o], 11, 3, d3, false, 0);
        check_softmax(ops[o], 11, 3, d3, true, 0);
        check_softmax(ops[o], 11, 3, d3, true, 2);
        check_softmax(ops[o], 11, 4, d4, true, -2);
        /* opset 13: single axis (default -1) */
        check_softmax(ops[o], 13, 3, d3, false, 0);
        check_softmax(ops[o], 13, 3, d3, true, 0);
        check_softmax(ops[o], 13, 3, d3, true, 1);
        check_softmax(ops[o], 13, 4, d4, true, 1);
        check_softmax(ops[o], 13, 4, d4, true, -2);
        check_softmax(ops[o], 13, 2, d2, false, 0);
        check_softmax(ops[o], 13, 2, d2, true, 0);
    }
    /* opset 11 and 13 differ for axis=1 of a 3-D input */
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i % 7) * 0.3f;
    float out[2][24];
    int opsets[2] = {11, 13};
    for (int k = 0; k < 2; k++) {
        struct oq_graph *g = tg_new(opsets[k]);
        int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 4});
        int y              = tg_output(g, "y");
        tg_attr_int(tg_node(g, "Softmax", 1, &ix, 1, &y), "axis", 1);
        oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 4}, x);
        struct tg_run r;
        CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
        if (r.s)
            memcpy(out[k], r.out[0].data, sizeof(out[k]));
        tg_done(&r);
    }
    double s11 = 0, s13 = 0;
    for (int i = 0; i < 12; i++)
        s11 += out[0][i]; /* opset 11: the 12 elements of batch 0 sum to 1 */
    for (int c = 0; c < 3; c++)
        s13 += out[1][c * 4]; /* opset 13: the column over axis 1 sums to 1 */
    CHECK_MSG(fabs(s11 - 1) < 1e-6 && fabs(s13 - 1) < 1e-6,
              "opset 11 row sum %g, opset 13 column sum %g",
              s11,
              s13);
}

/* ---- LayerNormalization ---- */

static void check_layernorm(int nd, const int64_t *dims, int64_t axis, bool bias, bool stats, float eps) {
    int64_t n    = oq_shape_numel(nd, dims);
    int a        = (int)(axis < 0 ? axis + nd : axis);
    int64_t rows = oq_shape_numel(a, dims), len = n / rows;
    uint64_t seed = 11 + (uint64_t)a;
    float *x = rand_f32(&seed, n, -3, 5), *sc = rand_f32(&seed, len, 0.5f, 1.5f),
          *bi = rand_f32(&seed, len, -1, 1);
    for (int64_t i = 0; i < n; i++)
        x[i] += 100.0f; /* a large mean: a one-pass variance would cancel */
    struct oq_graph *g = tg_new(17);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, nd, dims);
    int isc            = tg_const(g, "scale", OQ_DTYPE_FLOAT, nd - a, dims + a, sc);
    int ib             = bias ? tg_const(g, "bias", OQ_DTYPE_FLOAT, nd - a, dims + a, bi) : -1;
    int outs[3];
    outs[0] = tg_output(g, "y");
    if (stats) {
        outs[1] = tg_output(g, "mean");
        outs[2] = tg_output(g, "istd");
    }
    struct oq_node *node =
        tg_node(g, "LayerNormalization", bias ? 3 : 2, (int[]){ix, isc, ib}, stats ? 3 : 1, outs);
    tg_attr_int(node, "axis", axis);
    tg_attr_float(node, "epsilon", eps);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, nd, dims, x);
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
    if (r.s) {
        double *want = malloc(sizeof(double) * (size_t)n);
        double *wm = malloc(sizeof(double) * (size_t)rows), *wi = malloc(sizeof(double) * (size_t)rows);
        for (int64_t rr = 0; rr < rows; rr++) {
            const float *xr = x + rr * len;
            double m = 0, v = 0;
            for (int64_t i = 0; i < len; i++)
                m += xr[i];
            m /= (double)len;
            for (int64_t i = 0; i < len; i++)
                v += (xr[i] - m) * (xr[i] - m);
            v /= (double)len;
            double is = 1 / sqrt(v + eps);
            wm[rr]    = m;
            wi[rr]    = is;
            for (int64_t i = 0; i < len; i++)
                want[rr * len + i] = (xr[i] - m) * is * sc[i] + (bias ? bi[i] : 0);
        }
        double e        = 0;
        const float *yd = r.out[0].data;
        for (int64_t i = 0; i < n; i++)
            e = fmax(e, fabs(yd[i] - want[i]));
        CHECK_MSG(e < 2e-4, "LayerNorm axis %lld: max abs err %g", (long long)axis, e);
        if (stats) {
            CHECK(r.out[1].ndim == nd && r.out[2].ndim == nd);
            for (int d = 0; d < nd; d++)
                CHECK(r.out[1].dims[d] == (d < a ? dims[d] : 1));
            CHECK(max_rel_err(r.out[1].data, wm, rows) < 1e-6);
            CHECK(max_rel_err(r.out[2].data, wi, rows) < 1e-4);
        }
        free(want);
        free(wm);
        free(wi);
    }
    tg_done(&r);
    free(x);
    free(sc);
    free(bi);
}

static void test_layernorm(void) {
    const int64_t d3[3] = {2, 7, 48}, d4[4] = {2, 3, 5, 8}, big[3] = {1, 400, 256};
    check_layernorm(3, d3, -1, true, false, 1e-5f);
    check_layernorm(3, d3, 1, true, true, 1e-3f);
    check_layernorm(3, d3, 2, false, true, 1e-5f);
    check_layernorm(4, d4, 0, true, true, 1e-5f);
    check_layernorm(4, d4, -3, false, false, 1e-5f);
    check_layernorm(3, big, -1, true, false, 1e-6f);
}

/* ---- BatchNormalization ---- */

static void test_batchnorm(void) {
    const int64_t dims[4] = {2, 5, 9, 11};
    int64_t n = oq_shape_numel(4, dims), c = 5, hw = 99;
    uint64_t seed = 3;
    float *x      = rand_f32(&seed, n, -4, 4);
    float *sc = rand_f32(&seed, c, 0.5f, 2), *b = rand_f32(&seed, c, -1, 1);
    float *mean = rand_f32(&seed, c, -1, 1), *var = rand_f32(&seed, c, 0.1f, 3);
    for (int opset = 9; opset <= 15; opset += 6) {
        struct oq_graph *g = tg_new(opset);
        int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 4, dims);
        int p[4]           = {tg_const(g, "scale", OQ_DTYPE_FLOAT, 1, &c, sc),
                              tg_const(g, "b", OQ_DTYPE_FLOAT, 1, &c, b),
                              tg_const(g, "mean", OQ_DTYPE_FLOAT, 1, &c, mean),
                              tg_input(g, "var", OQ_DTYPE_FLOAT, 1, &c)};
        int y              = tg_output(g, "y");
        tg_attr_float(tg_node(g, "BatchNormalization", 5, (int[]){ix, p[0], p[1], p[2], p[3]}, 1, &y),
                      "epsilon",
                      1e-3f);
        oq_tensor_ref in[2] = {tg_ref(OQ_DTYPE_FLOAT, 4, dims, x), tg_ref(OQ_DTYPE_FLOAT, 1, &c, var)};
        struct tg_run r;
        CHECK_OK(tg_exec(&r, g, 2, in), &r.err);
        if (r.s) {
            const float *yd = r.out[0].data;
            double e        = 0;
            for (int64_t i = 0; i < n; i++) {
                int64_t ch  = (i / hw) % c;
                double want = (x[i] - mean[ch]) / sqrt(var[ch] + 1e-3) * sc[ch] + b[ch];
                e           = fmax(e, fabs(yd[i] - want));
            }
            CHECK_MSG(e < 1e-5, "BatchNorm opset %d: max abs err %g", opset, e);
        }
        tg_done(&r);
    }
    /* training_mode = 1 is rejected at load */
    struct oq_graph *g = tg_new(15);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 4, dims);
    int p              = tg_const(g, "scale", OQ_DTYPE_FLOAT, 1, &c, sc);
    int y              = tg_output(g, "y");
    tg_attr_int(tg_node(g, "BatchNormalization", 5, (int[]){ix, p, p, p, p}, 1, &y), "training_mode", 1);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 4, dims, x);
    struct tg_run r;
    oq_status st = tg_exec(&r, g, 1, &in);
    CHECK(st == OQ_ERR_UNSUPPORTED && strstr(r.err.msg, "training_mode"));
    tg_done(&r);
    free(x);
    free(sc);
    free(b);
    free(mean);
    free(var);
}

/* ---- ReduceMean / ReduceSum ---- */

/* axes_mode: 0 = attribute, 1 = constant input, 2 = no axes at all */
static void check_reduce(const char *op,
                         int opset,
                         int nd,
                         const int64_t *dims,
                         int na,
                         const int64_t *axes,
                         int axes_mode,
                         int keepdims,
                         int noop) {
    int64_t n          = oq_shape_numel(nd, dims);
    uint64_t seed      = 77 + (uint64_t)na * 3 + (uint64_t)nd;
    float *x           = rand_f32(&seed, n, -2, 2);
    struct oq_graph *g = tg_new(opset);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, nd, dims);
    int y              = tg_output(g, "y");
    struct oq_node *node;
    if (axes_mode == 1) {
        int ia = tg_const(g, "axes", OQ_DTYPE_INT64, 1, (int64_t[]){na}, axes);
        node   = tg_node(g, op, 2, (int[]){ix, ia}, 1, &y);
    } else {
        node = tg_node(g, op, 1, &ix, 1, &y);
        if (axes_mode == 0)
            tg_attr_ints(node, "axes", na, axes);
    }
    if (keepdims >= 0)
        tg_attr_int(node, "keepdims", keepdims);
    if (noop >= 0)
        tg_attr_int(node, "noop_with_empty_axes", noop);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, nd, dims, x);
    struct tg_run r;
    oq_status st = tg_exec(&r, g, 1, &in);
    CHECK_MSG(st == OQ_OK, "%s opset %d: %s", op, opset, r.err.msg);
    if (!st) {
        bool red[OQ_MAX_DIMS] = {false};
        bool all              = na == 0 && noop != 1;
        for (int d = 0; d < nd; d++)
            red[d] = all;
        for (int i = 0; i < na; i++)
            red[axes[i] < 0 ? axes[i] + nd : axes[i]] = true;
        bool identity = na == 0 && noop == 1;
        /* expected shape */
        int ond = 0;
        int64_t od[OQ_MAX_DIMS];
        for (int d = 0; d < nd; d++) {
            if (!red[d])
                od[ond++] = dims[d];
            else if (keepdims != 0)
                od[ond++] = 1;
        }
        CHECK_MSG(r.out[0].ndim == ond && !memcmp(r.out[0].dims, od, sizeof(int64_t) * (size_t)ond),
                  "%s opset %d: output rank %d, want %d",
                  op,
                  opset,
                  r.out[0].ndim,
                  ond);
        int64_t on   = oq_shape_numel(ond, od);
        double *want = calloc((size_t)on, sizeof(double));
        double *wabs = calloc((size_t)on, sizeof(double));
        int64_t *cnt = calloc((size_t)on, sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) {
            int64_t rem = i, oo = 0, os = 1;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t id = rem % dims[d];
                rem /= dims[d];
                if (!red[d]) {
                    oo += id * os;
                    os *= dims[d];
                }
            }
            double v = x[i];
            if (identity || !strcmp(op, "ReduceSum") || !strcmp(op, "ReduceMean"))
                want[oo] += v;
            else if (!strcmp(op, "ReduceMax"))
                want[oo] = cnt[oo] ? fmax(want[oo], v) : v;
            else if (!strcmp(op, "ReduceMin"))
                want[oo] = cnt[oo] ? fmin(want[oo], v) : v;
            else if (!strcmp(op, "ReduceL1"))
                want[oo] += fabs(v);
            else
                want[oo] += v * v; /* ReduceSumSquare, ReduceL2 */
            wabs[oo] += strstr(op, "Square") || strstr(op, "L2") ? v * v : fabs(v);
            cnt[oo]++;
        }
        if (!identity && (!strcmp(op, "ReduceMax") || !strcmp(op, "ReduceMin")))
            for (int64_t i = 0; i < on; i++)
                wabs[i] = fmax(fabs(want[i]), 1e-30);
        if (!identity && !strcmp(op, "ReduceL2"))
            for (int64_t i = 0; i < on; i++) {
                want[i] = sqrt(want[i]);
                wabs[i] = sqrt(wabs[i]);
            }
        if (!strcmp(op, "ReduceMean") && !identity)
            for (int64_t i = 0; i < on; i++) {
                want[i] /= (double)cnt[i];
                wabs[i] /= (double)cnt[i];
            }
        /* error relative to the sum of magnitudes (sums of mixed signs cancel) */
        const float *yd = r.out[0].data;
        double e        = 0;
        for (int64_t i = 0; i < on; i++)
            e = fmax(e, fabs(yd[i] - want[i]) / fmax(wabs[i], 1e-30));
        CHECK_MSG(e < 5e-6, /* float accumulation over up to 900 rows */
                  "%s opset %d (%d axes, mode %d, keepdims %d): max rel err %g",
                  op,
                  opset,
                  na,
                  axes_mode,
                  keepdims,
                  e);
        free(want);
        free(wabs);
        free(cnt);
    }
    tg_done(&r);
    free(x);
}

static void test_reduce(void) {
    const int64_t d4[4] = {2, 3, 4, 5}, big[3] = {3, 300, 257};
    const int64_t last[1] = {-1}, first[1] = {0}, mid[2] = {1, 2}, alt[2] = {0, 2}, alt2[2] = {1, 3},
                  all4[4] = {0, 1, 2, 3};
    const char *ops[7] = {
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2"};
    for (int o = 0; o < 7; o++) {
        int attr_opset = o == 1 ? 11 : 13, input_opset = o == 1 ? 13 : 18;
        if (!oq_op_find("", ops[o], attr_opset)) {
            printf("skip %s: not registered\n", ops[o]);
            continue;
        }
        for (int keep = 0; keep <= 1; keep++) {
            check_reduce(ops[o], attr_opset, 4, d4, 1, last, 0, keep, -1);
            check_reduce(ops[o], attr_opset, 4, d4, 1, first, 0, keep, -1);
            check_reduce(ops[o], attr_opset, 4, d4, 2, mid, 0, keep, -1);
            check_reduce(ops[o], attr_opset, 4, d4, 2, alt, 0, keep, -1);
            check_reduce(ops[o], attr_opset, 4, d4, 2, alt2, 0, keep, -1);
            check_reduce(ops[o], attr_opset, 4, d4, 0, NULL, 2, keep, -1); /* no axes: all */
            check_reduce(ops[o], input_opset, 4, d4, 1, last, 1, keep, -1);
            check_reduce(ops[o], input_opset, 4, d4, 2, alt, 1, keep, -1);
            check_reduce(ops[o], input_opset, 4, d4, 4, all4, 1, keep, -1);
            check_reduce(ops[o], input_opset, 4, d4, 0, NULL, 2, keep, 0);
            check_reduce(ops[o], input_opset, 4, d4, 0, NULL, 1, keep, 0); /* empty axes input: all */
            check_reduce(ops[o], input_opset, 4, d4, 0, NULL, 1, keep, 1); /* noop */
            check_reduce(ops[o], input_opset, 4, d4, 0, NULL, 2, keep, 1); /* noop, absent input */
        }
        check_reduce(ops[o], attr_opset, 3, big, 1, last, 0, 1, -1);
        check_reduce(ops[o], attr_opset, 3, big, 1, first, 0, 1, -1);
        check_reduce(ops[o], attr_opset, 3, big, 1, (int64_t[]){1}, 0, 0, -1);
        check_reduce(ops[o], attr_opset, 3, big, 2, (int64_t[]){0, 1}, 0, 1, -1);
        check_reduce(ops[o], attr_opset, 3, big, 0, NULL, 2, 0, -1);
    }
    /* axes attribute where input is expected, duplicated axes: errors */
    struct oq_graph *g = tg_new(13);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    int y              = tg_output(g, "y");
    tg_attr_ints(tg_node(g, "ReduceSum", 1, &ix, 1, &y), "axes", 1, last);
    float x[120]     = {0};
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 4, d4, x);
    struct tg_run r;
    CHECK(tg_exec(&r, g, 1, &in) == OQ_ERR_MODEL && strstr(r.err.msg, "axes"));
    tg_done(&r);
    g  = tg_new(13);
    ix = tg_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    y  = tg_output(g, "y");
    tg_attr_ints(tg_node(g, "ReduceMean", 1, &ix, 1, &y), "axes", 2, (int64_t[]){1, -3});
    CHECK(tg_exec(&r, g, 1, &in) != OQ_OK && strstr(r.err.msg, "twice"));
    tg_done(&r);
}

/* ---- ArgMax ---- */

static void check_argmax(int nd, const int64_t *dims, int64_t axis, int keepdims, int last) {
    int64_t n     = oq_shape_numel(nd, dims);
    float *x      = malloc(sizeof(float) * (size_t)n);
    uint64_t seed = 9;
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(test_rng_next(&seed) % 5); /* many ties */
    struct oq_graph *g   = tg_new(13);
    int ix               = tg_input(g, "x", OQ_DTYPE_FLOAT, nd, dims);
    int y                = tg_output(g, "y");
    struct oq_node *node = tg_node(g, "ArgMax", 1, &ix, 1, &y);
    tg_attr_int(node, "axis", axis);
    tg_attr_int(node, "keepdims", keepdims);
    tg_attr_int(node, "select_last_index", last);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, nd, dims, x);
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
    if (r.s) {
        int a         = (int)(axis < 0 ? axis + nd : axis);
        int64_t outer = oq_shape_numel(a, dims), len = dims[a],
                inner = oq_shape_numel(nd - a - 1, dims + a + 1);
        CHECK(r.out[0].dtype == OQ_DTYPE_INT64 && r.out[0].ndim == (keepdims ? nd : nd - 1));
        const int64_t *yd = r.out[0].data;
        int bad           = 0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < inner; j++) {
                int64_t best = 0;
                for (int64_t k = 1; k < len; k++) {
                    float v = x[(o * len + k) * inner + j], b = x[(o * len + best) * inner + j];
                    if (v > b || (last && v == b))
                        best = k;
                }
                bad += yd[o * inner + j] != best;
            }
        CHECK_MSG(
            bad == 0, "ArgMax axis %lld keepdims %d last %d: %d wrong", (long long)axis, keepdims, last, bad);
    }
    tg_done(&r);
    free(x);
}

static void test_argmax(void) {
    const int64_t d3[3] = {3, 7, 200};
    for (int last = 0; last <= 1; last++)
        for (int keep = 0; keep <= 1; keep++) {
            check_argmax(3, d3, 0, keep, last);
            check_argmax(3, d3, 1, keep, last);
            check_argmax(3, d3, -1, keep, last);
        }
}

int main(void) {
    test_softmax();
    test_layernorm();
    test_batchnorm();
    test_reduce();
    test_argmax();
    TEST_MAIN_END();
}
