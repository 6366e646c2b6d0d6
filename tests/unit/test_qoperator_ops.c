/* QOperator-format ops: DynamicQuantizeLinear (the spec's examples, ties, all zero, all negative, NaN/Inf
 * rejected), MatMulInteger and ConvInteger against plain-C oracles on seeded random shapes with odd sizes and
 * zero points (both the qgemm path and the plain-C path), QLinearMatMul's two paths against each other and an
 * oracle, the com.microsoft table ops on hand-computed values (ties included), and the load-time errors. */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "unit/ops_graph.h"

static const int64_t ODD[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 67};
enum { N_ODD = sizeof(ODD) / sizeof(ODD[0]) };

static int64_t pick(uint64_t *s, int64_t lo_idx, int64_t hi_idx) {
    return ODD[lo_idx + (int64_t)(test_rng_next(s) % (uint64_t)(hi_idx - lo_idx + 1))];
}

static void fill_bytes(uint64_t *s, void *p, int64_t n) {
    uint8_t *b = p;
    for (int64_t i = 0; i < n; i++)
        b[i] = (uint8_t)test_rng_next(s);
}

static int32_t get8(enum oq_dtype dt, const void *p, int64_t i) {
    return dt == OQ_DTYPE_UINT8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

static bool err_has(const struct tg_run *r, const char *a, const char *b) {
    return strstr(r->err.msg, a) && (!b || strstr(r->err.msg, b));
}

/* ------------------------------------------------------------------------------------- DynamicQuantizeLinear */

static oq_status run_dql(const float *x, int ndim, const int64_t *dims, int threads, struct tg_run *r) {
    struct oq_graph *g = tg_new(11);
    int xv = tg_input(g, "x", OQ_DTYPE_FLOAT, ndim, dims);
    int outs[3] = {tg_output(g, "y"), tg_output(g, "y_scale"), tg_output(g, "y_zero_point")};
    tg_node(g, "DynamicQuantizeLinear", 1, &xv, 3, outs);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, ndim, dims, (void *)x);
    return tg_exec_t(r, g, threads, 1, &in);
}

static void dql_expect(const char *what, const float *x, int64_t n, const uint8_t *y, float scale, uint8_t zp) {
    struct tg_run r;
    CHECK_OK(run_dql(x, 1, &n, 2, &r), &r.err);
    if (r.n_out == 3) {
        CHECK_MSG(memcmp(r.out[0].data, y, (size_t)n) == 0, "%s: codes differ", what);
        CHECK_MSG(*(const float *)r.out[1].data == scale, "%s: scale %.9g, want %.9g", what,
                  (double)*(const float *)r.out[1].data, (double)scale);
        CHECK_MSG(*(const uint8_t *)r.out[2].data == zp, "%s: zero point %d, want %d", what,
                  *(const uint8_t *)r.out[2].data, zp);
        CHECK(r.out[1].ndim == 0 && r.out[2].ndim == 0 && r.out[0].dtype == OQ_DTYPE_UINT8);
    }
    tg_done(&r);
}

static void test_dql(void) {
    /* the spec's examples (onnx/backend/test/case/node/dynamicquantizelinear.py) */
    const float x1[] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
    const uint8_t y1[] = {153, 255, 0, 26, 221, 179};
    dql_expect("mixed signs", x1, 6, y1, (2.0f - -3.0f) / 255.0f, 153);
    const float x2[] = {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f}; /* all negative: the range is [-4, 0] */
    const uint8_t y2[] = {191, 121, 172, 96, 42, 0};
    dql_expect("all negative", x2, 6, y2, 4.0f / 255.0f, 255);
    const float x3[] = {1, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f, 1.5f, 2.6f, 3.9f, 4.0f, 3.0f, 2.345f}; /* [0, 4] */
    const uint8_t y3[] = {64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149};
    dql_expect("all positive", x3, 12, y3, 4.0f / 255.0f, 0);
    /* ties go to even: scale (255 - 0) / 255 = 1, so x / scale is x: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 254.5 -> 254 */
    const float x4[] = {0, 255, 0.5f, 1.5f, 2.5f, 254.5f};
    const uint8_t y4[] = {0, 255, 0, 2, 2, 254};
    dql_expect("ties in y", x4, 6, y4, 1.0f, 0);
    /* zero point tie: range [-2.5, 252.5], scale 1, 0 - (-2.5) = 2.5 -> 2; y = round(x) + 2: -2.5 -> -2 + 2 = 0 */
    const float x5[] = {-2.5f, 252.5f, 0, 1.5f};
    const uint8_t y5[] = {0, 254, 2, 4};
    dql_expect("tie in the zero point", x5, 4, y5, 1.0f, 2);
    /* all zero: the spec's formula is 0/0; onnxq follows ONNX Runtime (scale 1, zero point 0) */
    const float x6[] = {0, 0, 0};
    const uint8_t y6[] = {0, 0, 0};
    dql_expect("all zero", x6, 3, y6, 1.0f, 0);

    /* NaN and Inf are rejected naming the node and the element */
    float bad[] = {1, 2, NAN, 4};
    int64_t n = 4;
    struct tg_run r;
    CHECK(run_dql(bad, 1, &n, 1, &r) == OQ_ERR_NUMERIC);
    CHECK_MSG(err_has(&r, "DynamicQuantizeLinear", "NaN at element 2"), "message: %s", r.err.msg);
    tg_done(&r);
    bad[2] = 2;
    bad[3] = -INFINITY;
    CHECK(run_dql(bad, 1, &n, 1, &r) == OQ_ERR_NUMERIC);
    CHECK_MSG(err_has(&r, "Inf at element 3", NULL), "message: %s", r.err.msg);
    tg_done(&r);

    /* a large tensor on 3 threads equals the formula element by element */
    enum { BIG = 100003 };
    static float xb[BIG];
    uint64_t s = 7;
    float lo = 0, hi = 0;
    for (int i = 0; i < BIG; i++) {
        xb[i] = test_rng_uniform(&s, -3.0f, 11.0f);
        lo = xb[i] < lo ? xb[i] : lo;
        hi = xb[i] > hi ? xb[i] : hi;
    }
    float scale = (hi - lo) / 255.0f;
    float zf = 0.0f - lo / scale;
    int32_t zp = (int32_t)nearbyintf(zf < 0 ? 0 : zf > 255 ? 255 : zf);
    n = BIG;
    CHECK_OK(run_dql(xb, 1, &n, 3, &r), &r.err);
    if (r.n_out == 3) {
        int bad_n = 0;
        for (int i = 0; i < BIG; i++) {
            float v = nearbyintf(xb[i] / scale) + (float)zp;
            int32_t q = v < 0 ? 0 : v > 255 ? 255 : (int32_t)v;
            bad_n += ((const uint8_t *)r.out[0].data)[i] != q;
        }
        CHECK_MSG(bad_n == 0, "%d of %d codes differ from the formula", bad_n, BIG);
        CHECK(*(const float *)r.out[1].data == scale && *(const uint8_t *)r.out[2].data == zp);
    }
    tg_done(&r);
}

/* ------------------------------------------------------------------------------------------- MatMulInteger */

struct mm_case {
    int64_t batch_a, batch_b, M, K, N; /* batch 0: no batch dim */
    enum oq_dtype ta, tb;
    bool b_const, az_rows, bz_cols, no_az, no_bz, bz_zero;
};

/* oracle: y[b, m, n] = sum_k (A - az) (B - bz), batch dims broadcast (1 vs n) */
static void mm_oracle(const struct mm_case *c, const void *a, const void *b, const void *az, const void *bz,
                      int32_t *y) {
    int64_t nb = c->batch_a > c->batch_b ? c->batch_a : c->batch_b;
    nb = nb ? nb : 1;
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t ab = c->batch_a > 1 ? bi : 0, bb = c->batch_b > 1 ? bi : 0;
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t n = 0; n < c->N; n++) {
                int64_t acc = 0;
                int32_t za = c->no_az ? 0 : get8(c->ta, az, c->az_rows ? m : 0);
                int32_t zb = c->no_bz ? 0 : get8(c->tb, bz, c->bz_cols ? n : 0);
                for (int64_t k = 0; k < c->K; k++)
                    acc += (int64_t)(get8(c->ta, a, (ab * c->M + m) * c->K + k) - za) *
                           (get8(c->tb, b, (bb * c->K + k) * c->N + n) - zb);
                y[(bi * c->M + m) * c->N + n] = (int32_t)acc;
            }
    }
}

static void mm_run(const struct mm_case *c, uint64_t *s, int idx) {
    int64_t da[3], db[3];
    int na = 0, nb = 0;
    if (c->batch_a)
        da[na++] = c->batch_a;
    da[na++] = c->M;
    da[na++] = c->K;
    if (c->batch_b)
        db[nb++] = c->batch_b;
    db[nb++] = c->K;
    db[nb++] = c->N;
    int64_t numa = oq_shape_numel(na, da), numb = oq_shape_numel(nb, db);
    uint8_t *a = malloc((size_t)numa + 1), *b = malloc((size_t)numb + 1), az[128], bz[128];
    fill_bytes(s, a, numa);
    fill_bytes(s, b, numb);
    fill_bytes(s, az, 128);
    fill_bytes(s, bz, 128);
    if (c->bz_zero)
        memset(bz, 0, sizeof(bz));
    int64_t nbatch = c->batch_a > c->batch_b ? c->batch_a : c->batch_b;
    int64_t ny = (nbatch ? nbatch : 1) * c->M * c->N;
    int32_t *want = malloc(sizeof(int32_t) * (size_t)ny);
    mm_oracle(c, a, b, az, bz, want);

    struct oq_graph *g = tg_new(13);
    int av = tg_input(g, "A", c->ta, na, da);
    int bv = c->b_const ? tg_const(g, "B", c->tb, nb, db, b) : tg_input(g, "B", c->tb, nb, db);
    int64_t nza = c->az_rows ? c->M : 1, nzb = c->bz_cols ? c->N : 1;
    int azv = c->no_az ? -1 : tg_const(g, "az", c->ta, c->az_rows ? 1 : 0, &nza, az);
    int bzv = c->no_bz ? -1 : tg_const(g, "bz", c->tb, c->bz_cols ? 1 : 0, &nzb, bz);
    int yv = tg_output(g, "Y");
    int in[4] = {av, bv, azv, bzv};
    tg_node(g, "MatMulInteger", 4, in, 1, &yv);
    oq_tensor_ref refs[2] = {tg_ref(c->ta, na, da, a), tg_ref(c->tb, nb, db, b)};
    struct tg_run r;
    CHECK_OK(tg_exec_t(&r, g, 1 + idx % 3, c->b_const ? 1 : 2, refs), &r.err);
    if (r.n_out == 1) {
        CHECK(r.out[0].dtype == OQ_DTYPE_INT32 && oq_shape_numel(r.out[0].ndim, r.out[0].dims) == ny);
        const int32_t *got = r.out[0].data;
        int64_t first = -1, nbad = 0;
        for (int64_t i = 0; i < ny; i++)
            if (got[i] != want[i]) {
                first = first < 0 ? i : first;
                nbad++;
            }
        CHECK_MSG(nbad == 0, "MatMulInteger case %d (batch %lld/%lld M=%lld K=%lld N=%lld %s x %s%s): first mismatch "
                  "at %lld: got %d ref %d (%lld of %lld differ)", idx, (long long)c->batch_a, (long long)c->batch_b,
                  (long long)c->M, (long long)c->K, (long long)c->N, oq_dtype_name(c->ta), oq_dtype_name(c->tb),
                  c->b_const ? " const B" : "", (long long)first, first >= 0 ? got[first] : 0,
                  first >= 0 ? want[first] : 0, (long long)nbad, (long long)ny);
    }
    tg_done(&r);
    free(a);
    free(b);
    free(want);
}

static void test_matmulinteger(void) {
    uint64_t s = 42;
    for (int i = 0; i < 48; i++) {
        struct mm_case c = {0};
        c.M = pick(&s, 0, N_ODD - 1);
        c.K = i == 5 ? 257 : pick(&s, 0, N_ODD - 1);
        c.N = pick(&s, 0, N_ODD - 1);
        bool gemm = i % 2 == 0; /* the qgemm path: uint8 A, constant 2-D int8 B with zero point 0 */
        c.ta = gemm || test_rng_next(&s) % 2 ? OQ_DTYPE_UINT8 : OQ_DTYPE_INT8;
        c.tb = gemm || test_rng_next(&s) % 2 ? OQ_DTYPE_INT8 : OQ_DTYPE_UINT8;
        c.b_const = gemm || test_rng_next(&s) % 2;
        c.no_az = test_rng_next(&s) % 4 == 0;
        c.az_rows = !gemm && !c.no_az && test_rng_next(&s) % 2;
        c.no_bz = test_rng_next(&s) % 3 == 0;
        c.bz_cols = !c.no_bz && test_rng_next(&s) % 2;
        c.bz_zero = gemm;
        c.batch_a = test_rng_next(&s) % 3 == 0 ? 3 : 0;
        if (!gemm && test_rng_next(&s) % 3 == 0) {
            c.batch_b = test_rng_next(&s) % 2 ? 3 : 1;
            c.batch_a = test_rng_next(&s) % 2 ? c.batch_b : 1;
        }
        mm_run(&c, &s, i);
    }
}

/* --------------------------------------------------------------------------------------------- ConvInteger */

struct cv_case {
    int64_t N, C, H, W, M, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
    bool one_d;
    enum oq_dtype tx, tw;
    bool w_const, wz_per_channel, no_xz, no_wz, wz_zero;
};

static void cv_out(const struct cv_case *c, int64_t *oh, int64_t *ow) {
    *oh = (c->H + c->pt + c->pb - ((c->kh - 1) * c->dh + 1)) / c->sh + 1;
    *ow = (c->W + c->pl + c->pr - ((c->kw - 1) * c->dw + 1)) / c->sw + 1;
}

static void cv_oracle(const struct cv_case *c, const void *x, const void *w, int32_t xz, const void *wz, int32_t *y) {
    int64_t oh, ow, Cg = c->C / c->group, Mg = c->M / c->group;
    cv_out(c, &oh, &ow);
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++) {
            int64_t g = m / Mg;
            int32_t zw = c->no_wz ? 0 : get8(c->tw, wz, c->wz_per_channel ? m : 0);
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    int64_t acc = 0;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t ky = 0; ky < c->kh; ky++)
                            for (int64_t kx = 0; kx < c->kw; kx++) {
                                int64_t iy = oy * c->sh - c->pt + ky * c->dh, ix = ox * c->sw - c->pl + kx * c->dw;
                                if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W)
                                    continue;
                                int64_t xi = ((n * c->C + g * Cg + ci) * c->H + iy) * c->W + ix;
                                int64_t wi = ((m * Cg + ci) * c->kh + ky) * c->kw + kx;
                                acc += (int64_t)(get8(c->tx, x, xi) - xz) * (get8(c->tw, w, wi) - zw);
                            }
                    y[((n * c->M + m) * oh + oy) * ow + ox] = (int32_t)acc;
                }
        }
}

static void cv_run(const struct cv_case *c, uint64_t *s, int idx) {
    int64_t oh, ow, Cg = c->C / c->group;
    cv_out(c, &oh, &ow);
    int64_t xd[4] = {c->N, c->C, c->H, c->W}, wd[4] = {c->M, Cg, c->kh, c->kw};
    int64_t xd1[3] = {c->N, c->C, c->W}, wd1[3] = {c->M, Cg, c->kw};
    int rank = c->one_d ? 3 : 4;
    int64_t nx = c->N * c->C * c->H * c->W, nw = c->M * Cg * c->kh * c->kw, ny = c->N * c->M * oh * ow;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), xz, wz[64];
    int32_t *want = malloc(sizeof(int32_t) * (size_t)ny);
    fill_bytes(s, x, nx);
    fill_bytes(s, w, nw);
    fill_bytes(s, &xz, 1);
    fill_bytes(s, wz, 64);
    if (c->wz_zero)
        memset(wz, 0, sizeof(wz));
    cv_oracle(c, x, w, c->no_xz ? 0 : get8(c->tx, &xz, 0), wz, want);

    struct oq_graph *g = tg_new(13);
    int xv = tg_input(g, "x", c->tx, rank, c->one_d ? xd1 : xd);
    int wv = c->w_const ? tg_const(g, "w", c->tw, rank, c->one_d ? wd1 : wd, w)
                        : tg_input(g, "w", c->tw, rank, c->one_d ? wd1 : wd);
    int64_t nwz = c->wz_per_channel ? c->M : 1;
    int xzv = c->no_xz ? -1 : tg_const(g, "xz", c->tx, 0, NULL, &xz);
    int wzv = c->no_wz ? -1 : tg_const(g, "wz", c->tw, c->wz_per_channel ? 1 : 0, &nwz, wz);
    int yv = tg_output(g, "y");
    int in[4] = {xv, wv, xzv, wzv};
    struct oq_node *node = tg_node(g, "ConvInteger", 4, in, 1, &yv);
    if (c->one_d) {
        tg_attr_ints(node, "strides", 1, (int64_t[]){c->sw});
        tg_attr_ints(node, "dilations", 1, (int64_t[]){c->dw});
        tg_attr_ints(node, "pads", 2, (int64_t[]){c->pl, c->pr});
    } else {
        tg_attr_ints(node, "strides", 2, (int64_t[]){c->sh, c->sw});
        tg_attr_ints(node, "dilations", 2, (int64_t[]){c->dh, c->dw});
        tg_attr_ints(node, "pads", 4, (int64_t[]){c->pt, c->pl, c->pb, c->pr});
    }
    tg_attr_int(node, "group", c->group);
    oq_tensor_ref refs[2] = {tg_ref(c->tx, rank, c->one_d ? xd1 : xd, x), tg_ref(c->tw, rank, c->one_d ? wd1 : wd, w)};
    struct tg_run r;
    CHECK_OK(tg_exec_t(&r, g, 1 + idx % 3, c->w_const ? 1 : 2, refs), &r.err);
    if (r.n_out == 1) {
        CHECK(r.out[0].dtype == OQ_DTYPE_INT32 && oq_shape_numel(r.out[0].ndim, r.out[0].dims) == ny);
        const int32_t *got = r.out[0].data;
        int64_t first = -1, nbad = 0;
        for (int64_t i = 0; i < ny; i++)
            if (got[i] != want[i]) {
                first = first < 0 ? i : first;
                nbad++;
            }
        CHECK_MSG(nbad == 0, "ConvInteger case %d (N=%lld C=%lld %lldx%lld M=%lld k=%lldx%lld g=%lld s=%lld,%lld d=%lld,%lld "
                  "%s x %s%s): first mismatch at %lld: got %d ref %d (%lld of %lld differ)", idx, (long long)c->N,
                  (long long)c->C, (long long)c->H, (long long)c->W, (long long)c->M, (long long)c->kh,
                  (long long)c->kw, (long long)c->group, (long long)c->sh, (long long)c->sw, (long long)c->dh,
                  (long long)c->dw, oq_dtype_name(c->tx), oq_dtype_name(c->tw), c->w_const ? " const w" : "",
                  (long long)first, first >= 0 ? got[first] : 0, first >= 0 ? want[first] : 0, (long long)nbad,
                  (long long)ny);
    }
    tg_done(&r);
    free(x);
    free(w);
    free(want);
}

static void test_convinteger(void) {
    uint64_t s = 99;
    for (int i = 0; i < 40; i++) {
        struct cv_case c = {0};
        c.N = 1 + (int64_t)(test_rng_next(&s) % 2);
        c.one_d = i % 7 == 3;
        int kind = i % 4; /* 0 dense, 1 grouped, 2 depthwise, 3 1x1 */
        int64_t G = kind == 1 ? 2 + (int64_t)(test_rng_next(&s) % 2) : 1;
        c.C = kind == 2 ? pick(&s, 1, 9) : G * pick(&s, 0, 7);
        c.M = kind == 2 ? c.C : G * pick(&s, 0, 7);
        c.group = kind == 2 ? c.C : G;
        c.kh = c.one_d || kind == 3 ? 1 : 1 + 2 * (int64_t)(test_rng_next(&s) % 3);
        c.kw = kind == 3 ? 1 : 1 + 2 * (int64_t)(test_rng_next(&s) % 3);
        c.H = c.one_d ? 1 : pick(&s, 2, 11);
        c.W = pick(&s, 2, 11);
        c.sh = c.one_d ? 1 : 1 + (int64_t)(test_rng_next(&s) % 2);
        c.sw = 1 + (int64_t)(test_rng_next(&s) % 2);
        c.dh = c.one_d || test_rng_next(&s) % 4 ? 1 : 2;
        c.dw = test_rng_next(&s) % 4 ? 1 : 2;
        if (kind != 3) {
            c.pt = c.one_d ? 0 : (int64_t)(test_rng_next(&s) % 3);
            c.pb = c.one_d ? 0 : (int64_t)(test_rng_next(&s) % 3);
            c.pl = (int64_t)(test_rng_next(&s) % 3);
            c.pr = (int64_t)(test_rng_next(&s) % 3);
        } else if (i % 8 == 3) {
            c.sh = c.sw = 1; /* the direct 1x1 GEMM on the input */
        }
        if ((c.H + c.pt + c.pb) < (c.kh - 1) * c.dh + 1 || (c.W + c.pl + c.pr) < (c.kw - 1) * c.dw + 1) {
            c.H += (c.kh - 1) * c.dh + 1;
            c.W += (c.kw - 1) * c.dw + 1;
        }
        bool gemm = (i / 4) % 2 == 0; /* uint8 x, constant int8 w with zero point 0 (every kind, in turns) */
        c.tx = gemm || test_rng_next(&s) % 2 ? OQ_DTYPE_UINT8 : OQ_DTYPE_INT8;
        c.tw = gemm || test_rng_next(&s) % 2 ? OQ_DTYPE_INT8 : OQ_DTYPE_UINT8;
        c.w_const = gemm || test_rng_next(&s) % 2;
        c.no_xz = test_rng_next(&s) % 4 == 0;
        c.no_wz = test_rng_next(&s) % 3 == 0;
        c.wz_per_channel = !c.no_wz && test_rng_next(&s) % 2;
        c.wz_zero = gemm;
        cv_run(&c, &s, i);
    }
}

/* ------------------------------------------------------------------------------------------- QLinearMatMul */

/* const int8 B takes QMatMul's qgemm path, the same B as a graph input the plain-C path: same integers, and
 * both equal the requantization formula of kernels/requant.h. */
static void test_qlinearmatmul_paths(void) {
    uint64_t s = 5;
    int64_t M = 13, K = 37, N = 11, ad[2] = {M, K}, bd[2] = {K, N}, one = 1, nn = N;
    uint8_t a[13 * 37];
    int8_t b[37 * 11];
    fill_bytes(&s, a, M * K);
    fill_bytes(&s, b, K * N);
    float as = 0.02f, ys = 0.37f, bs[11];
    for (int i = 0; i < N; i++)
        bs[i] = test_rng_uniform(&s, 0.002f, 0.01f);
    uint8_t az = 121, yz = 131;
    int8_t bz[11] = {0};
    uint8_t out[2][13 * 11];
    for (int pass = 0; pass < 2; pass++) {
        struct oq_graph *g = tg_new(13);
        int av = tg_input(g, "a", OQ_DTYPE_UINT8, 2, ad);
        int bv = pass == 0 ? tg_const(g, "b", OQ_DTYPE_INT8, 2, bd, b) : tg_input(g, "b", OQ_DTYPE_INT8, 2, bd);
        int in[8] = {av, tg_const(g, "as", OQ_DTYPE_FLOAT, 0, &one, &as), tg_const(g, "az", OQ_DTYPE_UINT8, 0, &one, &az),
                     bv, tg_const(g, "bs", OQ_DTYPE_FLOAT, 1, &nn, bs), tg_const(g, "bz", OQ_DTYPE_INT8, 1, &nn, bz),
                     tg_const(g, "ys", OQ_DTYPE_FLOAT, 0, &one, &ys), tg_const(g, "yz", OQ_DTYPE_UINT8, 0, &one, &yz)};
        int yv = tg_output(g, "y");
        tg_node(g, "QLinearMatMul", 8, in, 1, &yv);
        oq_tensor_ref refs[2] = {tg_ref(OQ_DTYPE_UINT8, 2, ad, a), tg_ref(OQ_DTYPE_INT8, 2, bd, b)};
        struct tg_run r;
        CHECK_OK(tg_exec(&r, g, pass == 0 ? 1 : 2, refs), &r.err);
        if (r.n_out == 1)
            memcpy(out[pass], r.out[0].data, sizeof(out[pass]));
        tg_done(&r);
    }
    int nbad = 0, nform = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int32_t acc = 0;
            for (int k = 0; k < K; k++)
                acc += ((int32_t)a[m * K + k] - az) * b[k * N + n];
            float v = (float)acc * (as * bs[n] / ys);
            v = v < -(float)yz ? -(float)yz : v > 255.0f - yz ? 255.0f - yz : v;
            nform += out[0][m * N + n] != (uint8_t)((int32_t)nearbyintf(v) + yz);
            nbad += out[0][m * N + n] != out[1][m * N + n];
        }
    CHECK_MSG(nbad == 0, "QLinearMatMul: %d outputs differ between the qgemm and plain-C paths", nbad);
    CHECK_MSG(nform == 0, "QLinearMatMul: %d outputs differ from the requantization formula", nform);
}

/* ------------------------------------------------------------------------------------- com.microsoft ops */

static struct oq_node *ms_node(struct oq_graph *g, const char *op, int n_in, const int *in, int out) {
    oq_graph_import_domain(g, "com.microsoft", 1);
    int k = oq_graph_add_node(g, op, op, "com.microsoft", n_in, in, 1, &out);
    return k < 0 ? NULL : &g->nodes[k];
}

static int cf(struct oq_graph *g, const char *name, float v) {
    return tg_const(g, name, OQ_DTYPE_FLOAT, 0, NULL, &v);
}
static int cu(struct oq_graph *g, const char *name, uint8_t v) {
    return tg_const(g, name, OQ_DTYPE_UINT8, 0, NULL, &v);
}

static void test_ms_qlinearmul_ties(void) {
    /* ratio 1 * 0.5 / 1 = 0.5, zero points 0: a * b * 0.5 rounds half to even (1 -> 0.5 -> 0, 3 -> 2, 5 -> 2, 7 -> 4)
     * and saturates at 255 */
    uint8_t a[] = {1, 3, 5, 7, 200, 0};
    uint8_t b[] = {1, 1, 1, 1, 200, 9};
    const uint8_t want[] = {0, 2, 2, 4, 255, 0};
    int64_t n = 6;
    struct oq_graph *g = tg_new(13);
    int av = tg_input(g, "a", OQ_DTYPE_UINT8, 1, &n), bv = tg_input(g, "b", OQ_DTYPE_UINT8, 1, &n);
    int in[8] = {av, cf(g, "as", 1.0f), cu(g, "az", 0), bv, cf(g, "bs", 0.5f), cu(g, "bz", 0), cf(g, "cs", 1.0f),
                 cu(g, "cz", 0)};
    ms_node(g, "QLinearMul", 8, in, tg_output(g, "c"));
    oq_tensor_ref refs[2] = {tg_ref(OQ_DTYPE_UINT8, 1, &n, a), tg_ref(OQ_DTYPE_UINT8, 1, &n, b)};
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 2, refs), &r.err);
    if (r.n_out == 1)
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    tg_done(&r);
}

static void test_ms_qlinearsigmoid(void) {
    /* x_scale 0.05, x_zp 128, y_scale 1/256, y_zp 0: code 128 is 0 -> 0.5 -> 128; the table is monotone */
    uint8_t x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (uint8_t)i;
    int64_t n = 256;
    struct oq_graph *g = tg_new(13);
    int in[5] = {tg_input(g, "x", OQ_DTYPE_UINT8, 1, &n), cf(g, "xs", 0.05f), cu(g, "xz", 128),
                 cf(g, "ys", 1.0f / 256.0f), cu(g, "yz", 0)};
    ms_node(g, "QLinearSigmoid", 5, in, tg_output(g, "y"));
    oq_tensor_ref ref = tg_ref(OQ_DTYPE_UINT8, 1, &n, x);
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 1, &ref), &r.err);
    if (r.n_out == 1) {
        const uint8_t *y = r.out[0].data;
        CHECK(y[128] == 128);
        bool mono = true;
        for (int i = 1; i < 256; i++)
            mono &= y[i] >= y[i - 1];
        CHECK(mono && y[0] < 10 && y[255] >= 250);
    }
    tg_done(&r);
}

static void test_ms_qlinearconcat(void) {
    /* input 0 has the output's parameters (copied), input 1 scale 0.2 / zp 10 requantized to 0.1 / 100:
     * code c -> 0.2 (c - 10) / 0.1 + 100 = 2c + 80, saturated */
    int64_t d0[2] = {1, 3}, d1[2] = {1, 2};
    uint8_t x0[] = {7, 8, 9}, x1[] = {10, 100};
    struct oq_graph *g = tg_new(13);
    int in[8] = {cf(g, "ys", 0.1f), cu(g, "yz", 100), tg_input(g, "x0", OQ_DTYPE_UINT8, 2, d0), cf(g, "s0", 0.1f),
                 cu(g, "z0", 100), tg_input(g, "x1", OQ_DTYPE_UINT8, 2, d1), cf(g, "s1", 0.2f), cu(g, "z1", 10)};
    struct oq_node *node = ms_node(g, "QLinearConcat", 8, in, tg_output(g, "y"));
    tg_attr_int(node, "axis", -1);
    oq_tensor_ref refs[2] = {tg_ref(OQ_DTYPE_UINT8, 2, d0, x0), tg_ref(OQ_DTYPE_UINT8, 2, d1, x1)};
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 2, refs), &r.err);
    if (r.n_out == 1) {
        const uint8_t want[] = {7, 8, 9, 100, 255};
        CHECK(r.out[0].ndim == 2 && r.out[0].dims[1] == 5 && memcmp(r.out[0].data, want, 5) == 0);
    }
    tg_done(&r);
}

/* --------------------------------------------------------------------------------------------- load errors */

/* A QLinearConv with the given weight dtype / zero point; returns the load or run status. */
static oq_status qlinearconv_with(enum oq_dtype wt, int8_t wzv, bool w_runtime, struct tg_run *r) {
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {2, 2, 1, 1}, two = 2;
    uint8_t x[18] = {0}, w[4] = {1, 2, 3, 4};
    float ws[2] = {0.1f, 0.1f};
    int8_t wz[2] = {0, wzv};
    struct oq_graph *g = tg_new(13);
    int wv = w_runtime ? tg_input(g, "w", wt, 4, wd) : tg_const(g, "w", wt, 4, wd, w);
    int in[8] = {tg_input(g, "x", OQ_DTYPE_UINT8, 4, xd), cf(g, "xs", 0.1f), cu(g, "xz", 0), wv,
                 tg_const(g, "ws", OQ_DTYPE_FLOAT, 1, &two, ws), tg_const(g, "wz", wt, 1, &two, wz), cf(g, "ys", 0.1f),
                 cu(g, "yz", 0)};
    int yv = tg_output(g, "y");
    struct oq_node *n = tg_node(g, "QLinearConv", 8, in, 1, &yv);
    free(n->name);
    n->name = strdup("conv_q7");
    oq_tensor_ref refs[2] = {tg_ref(OQ_DTYPE_UINT8, 4, xd, x), tg_ref(wt, 4, wd, w)};
    return tg_exec(r, g, w_runtime ? 2 : 1, refs);
}

static void test_errors(void) {
    struct tg_run r;
    CHECK_OK(qlinearconv_with(OQ_DTYPE_INT8, 0, false, &r), &r.err);
    tg_done(&r);
    CHECK(qlinearconv_with(OQ_DTYPE_UINT8, 0, false, &r) == OQ_ERR_UNSUPPORTED);
    CHECK_MSG(err_has(&r, "conv_q7", "w has dtype uint8") && err_has(&r, "int8", NULL), "message: %s", r.err.msg);
    tg_done(&r);
    CHECK(qlinearconv_with(OQ_DTYPE_INT8, 3, false, &r) == OQ_ERR_UNSUPPORTED);
    CHECK_MSG(err_has(&r, "conv_q7", "w_zero_point[1] is 3"), "message: %s", r.err.msg);
    tg_done(&r);
    CHECK(qlinearconv_with(OQ_DTYPE_INT8, 0, true, &r) == OQ_ERR_UNSUPPORTED);
    CHECK_MSG(err_has(&r, "conv_q7", "computed at run time"), "message: %s", r.err.msg);
    tg_done(&r);

    /* a com.microsoft op in a graph that does not import the domain, and an unknown domain: load errors that
     * name domain and op */
    int64_t n = 4;
    const char *const domains[2] = {"com.microsoft", "com.example"};
    for (int k = 0; k < 2; k++) {
        struct oq_graph *g = tg_new(13);
        int in[5] = {tg_input(g, "x", OQ_DTYPE_UINT8, 1, &n), cf(g, "xs", 0.05f), cu(g, "xz", 128), cf(g, "ys", 0.01f),
                     cu(g, "yz", 0)};
        int out = tg_output(g, "y");
        oq_graph_add_node(g, "sig", "QLinearSigmoid", domains[k], 5, in, 1, &out);
        uint8_t x[4] = {0};
        oq_tensor_ref ref = tg_ref(OQ_DTYPE_UINT8, 1, &n, x);
        CHECK(tg_exec(&r, g, 1, &ref) == OQ_ERR_UNSUPPORTED);
        CHECK_MSG(err_has(&r, domains[k], "QLinearSigmoid"), "message: %s", r.err.msg);
        tg_done(&r);
    }
}

int main(void) {
    test_dql();
    test_matmulinteger();
    test_convinteger();
    test_qlinearmatmul_paths();
    test_ms_qlinearmul_ties();
    test_ms_qlinearsigmoid();
    test_ms_qlinearconcat();
    test_errors();
    TEST_MAIN_END();
}
