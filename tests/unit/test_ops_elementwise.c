/* Elementwise ops through the session API: broadcasting against a naive index-arithmetic reference,
 * integer arithmetic, Equal/Where, unary math and activations, Clip across opsets, Pow, Cast, and the
 * error messages for bad shapes and dtypes. */
#include <float.h>
#include <string.h>

#include "ops/elementwise.h"
#include "ops_graph.h"
#include "test_util.h"

/* Offset into a tensor of shape (nd, dims) for output index `flat` of shape (ond, odims), numpy rules. */
static int64_t bcast_offset(int ond, const int64_t *odims, int nd, const int64_t *dims, int64_t flat) {
    int64_t off = 0, stride = 1;
    for (int d = ond - 1; d >= 0; d--) {
        int64_t i = flat % odims[d];
        flat /= odims[d];
        int td = d - (ond - nd);
        if (td >= 0) {
            if (dims[td] != 1)
                off += i * stride;
            stride *= dims[td];
        }
    }
    return off;
}

static float *rand_f32(uint64_t *seed, int64_t n, float lo, float hi) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = test_rng_uniform(seed, lo, hi);
    return p;
}

static float ref_binary(const char *op, float a, float b) {
    if (!strcmp(op, "Add"))
        return a + b;
    if (!strcmp(op, "Sub"))
        return a - b;
    if (!strcmp(op, "Mul"))
        return a * b;
    if (!strcmp(op, "Div"))
        return a / b;
    if (!strcmp(op, "PRelu"))
        return a < 0 ? a * b : a;
    return NAN;
}

struct shape {
    int nd;
    int64_t d[6];
};

/* op(a, b) for a pair of shapes, with b either a graph input or an initializer; bit-exact expected. */
static void check_binary(const char *op, struct shape sa, struct shape sb, bool b_const, int threads) {
    uint64_t seed = 42 + (uint64_t)sa.nd * 7 + (uint64_t)sb.nd;
    int64_t na = oq_shape_numel(sa.nd, sa.d), nb = oq_shape_numel(sb.nd, sb.d);
    float *a = rand_f32(&seed, na, -2, 2), *b = rand_f32(&seed, nb, 0.5f, 2);
    if (!strcmp(op, "PRelu"))
        for (int64_t i = 0; i < nb; i++)
            b[i] -= 1.0f;
    struct oq_graph *g = tg_new(13);
    int ia             = tg_input(g, "a", OQ_DTYPE_FLOAT, sa.nd, sa.d);
    int ib             = b_const ? tg_const(g, "b", OQ_DTYPE_FLOAT, sb.nd, sb.d, b)
                                 : tg_input(g, "b", OQ_DTYPE_FLOAT, sb.nd, sb.d);
    int y              = tg_output(g, "y");
    tg_node(g, op, 2, (int[]){ia, ib}, 1, &y);
    oq_tensor_ref in[2] = {tg_ref(OQ_DTYPE_FLOAT, sa.nd, sa.d, a), tg_ref(OQ_DTYPE_FLOAT, sb.nd, sb.d, b)};
    struct tg_run r;
    oq_status st = tg_exec_t(&r, g, threads, b_const ? 1 : 2, in);
    char s1[64], s2[64];
    oq_shape_str(sa.nd, sa.d, s1, sizeof s1);
    oq_shape_str(sb.nd, sb.d, s2, sizeof s2);
    CHECK_MSG(st == OQ_OK, "%s %s %s: %s", op, s1, s2, r.err.msg);
    if (st == OQ_OK) {
        int ond;
        int64_t od[OQ_MAX_DIMS];
        CHECK(oq_broadcast_shape(sa.nd, sa.d, sb.nd, sb.d, &ond, od));
        CHECK(r.out[0].ndim == ond && !memcmp(r.out[0].dims, od, sizeof(int64_t) * (size_t)ond));
        const float *yd = r.out[0].data;
        int64_t n = oq_shape_numel(ond, od), bad = 0, first = -1;
        for (int64_t i = 0; i < n; i++) {
            float e = ref_binary(
                op, a[bcast_offset(ond, od, sa.nd, sa.d, i)], b[bcast_offset(ond, od, sb.nd, sb.d, i)]);
            if (memcmp(&e, &yd[i], sizeof(float)) != 0 && !(e != e && yd[i] != yd[i])) {
                if (first < 0)
                    first = i;
                bad++;
            }
        }
        CHECK_MSG(bad == 0,
                  "%s %s %s (b %s, %d threads): %lld of %lld differ, first at %lld",
                  op,
                  s1,
                  s2,
                  b_const ? "const" : "input",
                  threads,
                  (long long)bad,
                  (long long)n,
                  (long long)first);
    }
    tg_done(&r);
    free(a);
    free(b);
}

static void test_broadcast(void) {
    const struct {
        struct shape a, b;
    } cases[] = {
        {{3, {2, 3, 4}}, {3, {2, 3, 4}}},           /* same shape */
        {{3, {2, 3, 4}}, {1, {1}}},                 /* scalar-like */
        {{3, {2, 3, 4}}, {0, {0}}},                 /* rank-0 scalar */
        {{0, {0}}, {3, {2, 3, 4}}},                 /* scalar on the left */
        {{4, {2, 3, 5, 7}}, {4, {1, 3, 1, 1}}},     /* per-channel */
        {{4, {2, 3, 5, 7}}, {3, {3, 1, 1}}},        /* per-channel, lower rank */
        {{3, {2, 1, 4}}, {2, {3, 1}}},              /* both broadcast */
        {{2, {5, 1}}, {2, {1, 6}}},                 /* outer product */
        {{1, {4}}, {3, {2, 3, 4}}},                 /* bias on the left */
        {{3, {2, 3, 4}}, {3, {2, 3, 1}}},           /* row scalar */
        {{3, {2, 3, 4}}, {3, {1, 3, 1}}},           /* middle */
        {{5, {2, 1, 3, 1, 4}}, {4, {5, 1, 2, 1}}},  /* alternating */
        {{4, {2, 16, 40, 40}}, {4, {1, 16, 1, 1}}}, /* big per-channel (threads) */
        {{4, {1, 8, 80, 80}}, {4, {1, 8, 80, 80}}}, /* big same shape (threads) */
        {{3, {1, 5000, 7}}, {3, {1, 5000, 1}}},     /* many short rows */
    };
    const char *ops[] = {"Add", "Sub", "Mul", "Div"};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        for (int o = 0; o < 4; o++) {
            check_binary(ops[o], cases[c].a, cases[c].b, false, 2);
            if (o == 2)
                check_binary(ops[o], cases[c].a, cases[c].b, true, 1);
        }
    /* PRelu: slope broadcast to X only */
    check_binary("PRelu", (struct shape){4, {2, 3, 5, 7}}, (struct shape){3, {3, 1, 1}}, true, 2);
    check_binary("PRelu", (struct shape){4, {2, 3, 5, 7}}, (struct shape){1, {1}}, false, 2);
    check_binary("PRelu", (struct shape){3, {2, 3, 4}}, (struct shape){3, {2, 3, 4}}, false, 1);
}

/* ---- integers ---- */

static oq_status run_binary_i(
    const char *op, enum oq_dtype dt, int na, const void *a, int nb, const void *b, struct tg_run *r) {
    struct oq_graph *g = tg_new(14);
    int ia             = tg_input(g, "a", dt, 1, (int64_t[]){na});
    int ib             = tg_input(g, "b", dt, 1, (int64_t[]){nb});
    int y              = tg_output(g, "y");
    tg_node(g, op, 2, (int[]){ia, ib}, 1, &y);
    oq_tensor_ref in[2] = {tg_ref(dt, 1, (int64_t[]){na}, (void *)a),
                           tg_ref(dt, 1, (int64_t[]){nb}, (void *)b)};
    return tg_exec(r, g, 2, in);
}

static void test_int_arith(void) {
    const int64_t a[] = {7, -7, 7, -7, 0, INT64_MAX, INT64_MIN, 5, 1000000000000LL};
    const int64_t b[] = {2, 2, -2, -2, 3, 1, -1, 0, 3};
    struct tg_run r;
    CHECK_OK(run_binary_i("Div", OQ_DTYPE_INT64, 9, a, 9, b, &r), &r.err);
    if (r.s) {
        const int64_t *y     = r.out[0].data;
        const int64_t want[] = {3, -3, -3, 3, 0, INT64_MAX, INT64_MIN, 0, 333333333333LL};
        for (int i = 0; i < 9; i++)
            CHECK_MSG(y[i] == want[i],
                      "int64 Div %lld / %lld = %lld, want %lld",
                      (long long)a[i],
                      (long long)b[i],
                      (long long)y[i],
                      (long long)want[i]);
        CHECK(r.out[0].dtype == OQ_DTYPE_INT64);
    }
    tg_done(&r);
    CHECK_OK(run_binary_i("Add", OQ_DTYPE_INT64, 9, a, 1, (int64_t[]){10}, &r), &r.err);
    if (r.s) {
        const int64_t *y = r.out[0].data;
        CHECK(y[0] == 17 && y[1] == 3 && y[5] == INT64_MIN + 9); /* wraps */
    }
    tg_done(&r);
    CHECK_OK(run_binary_i("Mul", OQ_DTYPE_INT64, 9, a, 9, b, &r), &r.err);
    if (r.s) {
        const int64_t *y = r.out[0].data;
        CHECK(y[0] == 14 && y[1] == -14 && y[3] == 14 && y[7] == 0 && y[8] == 3000000000000LL);
    }
    tg_done(&r);
    CHECK_OK(run_binary_i("Sub", OQ_DTYPE_INT64, 1, (int64_t[]){5}, 9, b, &r), &r.err);
    if (r.s) {
        const int64_t *y = r.out[0].data;
        CHECK(y[0] == 3 && y[2] == 7 && y[7] == 5);
    }
    tg_done(&r);
    const int32_t a32[] = {-9, 9, 100, -1};
    const int32_t b32[] = {4, -4, 7, 0};
    CHECK_OK(run_binary_i("Div", OQ_DTYPE_INT32, 4, a32, 4, b32, &r), &r.err);
    if (r.s) {
        const int32_t *y = r.out[0].data;
        CHECK(y[0] == -2 && y[1] == -2 && y[2] == 14 && y[3] == 0);
        CHECK(r.out[0].dtype == OQ_DTYPE_INT32);
    }
    tg_done(&r);
    const uint8_t au8[] = {250, 3};
    CHECK_OK(run_binary_i("Add", OQ_DTYPE_UINT8, 2, au8, 1, (uint8_t[]){10}, &r), &r.err);
    if (r.s) {
        const uint8_t *y = r.out[0].data;
        CHECK(y[0] == 4 && y[1] == 13);
    }
    tg_done(&r);
    /* Equal: int64 with broadcast, bool out */
    CHECK_OK(run_binary_i("Equal", OQ_DTYPE_INT64, 9, a, 1, (int64_t[]){7}, &r), &r.err);
    if (r.s) {
        const uint8_t *y = r.out[0].data;
        CHECK(r.out[0].dtype == OQ_DTYPE_BOOL);
        CHECK(y[0] == 1 && y[1] == 0 && y[2] == 1 && y[4] == 0);
    }
    tg_done(&r);
    const float fa[] = {1.0f, NAN, -0.0f, 2.5f};
    const float fb[] = {1.0f, NAN, 0.0f, 2.4f};
    CHECK_OK(run_binary_i("Equal", OQ_DTYPE_FLOAT, 4, fa, 4, fb, &r), &r.err);
    if (r.s) {
        const uint8_t *y = r.out[0].data;
        CHECK(y[0] == 1 && y[1] == 0 && y[2] == 1 && y[3] == 0);
    }
    tg_done(&r);
}

/* ---- Where ---- */

static void test_where(void) {
    /* cond [2,1,4], x [3,1], y scalar -> [2,3,4] */
    uint8_t c[8] = {1, 0, 1, 0, 0, 0, 1, 1};
    float x[3] = {10, 20, 30}, yv = -1;
    struct oq_graph *g = tg_new(16);
    int ic             = tg_input(g, "c", OQ_DTYPE_BOOL, 3, (int64_t[]){2, 1, 4});
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 2, (int64_t[]){3, 1});
    int iy             = tg_const(g, "yv", OQ_DTYPE_FLOAT, 0, NULL, &yv);
    int o              = tg_output(g, "out");
    tg_node(g, "Where", 3, (int[]){ic, ix, iy}, 1, &o);
    oq_tensor_ref in[2] = {tg_ref(OQ_DTYPE_BOOL, 3, (int64_t[]){2, 1, 4}, c),
                           tg_ref(OQ_DTYPE_FLOAT, 2, (int64_t[]){3, 1}, x)};
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 2, in), &r.err);
    if (r.s) {
        CHECK(r.out[0].ndim == 3 && r.out[0].dims[0] == 2 && r.out[0].dims[1] == 3 && r.out[0].dims[2] == 4);
        const float *y = r.out[0].data;
        int bad        = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++) {
                    float e = c[i * 4 + k] ? x[j] : yv;
                    bad += y[(i * 3 + j) * 4 + k] != e;
                }
        CHECK_MSG(bad == 0, "Where broadcast: %d wrong", bad);
    }
    tg_done(&r);
    /* int64, same shape, runtime cond */
    uint8_t c2[5] = {0, 1, 1, 0, 1};
    int64_t a2[5] = {1, 2, 3, 4, 5}, b2[5] = {-1, -2, -3, -4, -5};
    g  = tg_new(16);
    ic = tg_input(g, "c", OQ_DTYPE_BOOL, 1, (int64_t[]){5});
    ix = tg_input(g, "a", OQ_DTYPE_INT64, 1, (int64_t[]){5});
    iy = tg_input(g, "b", OQ_DTYPE_INT64, 1, (int64_t[]){5});
    o  = tg_output(g, "out");
    tg_node(g, "Where", 3, (int[]){ic, ix, iy}, 1, &o);
    oq_tensor_ref in2[3] = {tg_ref(OQ_DTYPE_BOOL, 1, (int64_t[]){5}, c2),
                            tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){5}, a2),
                            tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){5}, b2)};
    CHECK_OK(tg_exec(&r, g, 3, in2), &r.err);
    if (r.s) {
        const int64_t *y = r.out[0].data;
        CHECK(y[0] == -1 && y[1] == 2 && y[2] == 3 && y[3] == -4 && y[4] == 5);
    }
    tg_done(&r);
}

/* ---- unary ---- */

struct unary_case {
    const char *op;
    double (*ref)(double x, const float *p);
    float lo, hi;
    double tol; /* relative (to max(1,|ref|)) */
    int n_attr;
    const char *attr[2];
    float val[2];
};

static double r_sqrt(double x, const float *p) {
    return sqrt(x);
}
static double r_exp(double x, const float *p) {
    return exp(x);
}
static double r_log(double x, const float *p) {
    return log(x);
}
static double r_erf(double x, const float *p) {
    return erf(x);
}
static double r_tanh(double x, const float *p) {
    return tanh(x);
}
static double r_sigmoid(double x, const float *p) {
    return 1.0 / (1.0 + exp(-x));
}
static double r_relu(double x, const float *p) {
    return x > 0 ? x : 0;
}
static double r_neg(double x, const float *p) {
    return -x;
}
static double r_abs(double x, const float *p) {
    return fabs(x);
}
static double r_leaky(double x, const float *p) {
    return x >= 0 ? x : (double)(p[0] * (float)x);
}
static double r_hsig(double x, const float *p) {
    return fmax(0, fmin(1, (double)(p[0] * (float)x + p[1])));
}
static double r_hswish(double x, const float *p) {
    return x * fmax(0, fmin(1, x / 6 + 0.5));
}
static double r_softplus(double x, const float *p) {
    return log1p(exp(x));
}

static void test_unary(void) {
    const struct unary_case cases[] = {
        {"Sqrt", r_sqrt, 0, 100, 2e-7, 0, {0}, {0}},
        {"Exp", r_exp, -80, 80, 3e-7, 0, {0}, {0}},
        {"Log", r_log, 1e-3f, 1e3f, 2e-7, 0, {0}, {0}},
        {"Erf", r_erf, -4, 4, 2e-7, 0, {0}, {0}},
        {"Tanh", r_tanh, -10, 10, 1e-6, 0, {0}, {0}},
        {"Sigmoid", r_sigmoid, -30, 30, 1e-6, 0, {0}, {0}},
        {"Relu", r_relu, -3, 3, 0, 0, {0}, {0}},
        {"Neg", r_neg, -3, 3, 0, 0, {0}, {0}},
        {"Abs", r_abs, -3, 3, 0, 0, {0}, {0}},
        {"LeakyRelu", r_leaky, -3, 3, 0, 1, {"alpha"}, {0.1f}},
        {"LeakyRelu", r_leaky, -3, 3, 0, 0, {0}, {0.01f}},
        {"HardSigmoid", r_hsig, -8, 8, 1e-7, 2, {"alpha", "beta"}, {0.25f, 0.4f}},
        {"HardSigmoid", r_hsig, -8, 8, 1e-7, 0, {0}, {0.2f, 0.5f}},
        {"HardSwish", r_hswish, -8, 8, 3e-7, 0, {0}, {0}},
        {"Softplus", r_softplus, -20, 20, 1e-6, 0, {0}, {0}},
    };
    const int64_t n = 70001; /* odd, and big enough for both threads */
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct unary_case *u = &cases[c];
        if (!oq_op_find("", u->op, 14)) {
            printf("skip %s: not registered\n", u->op);
            continue;
        }
        uint64_t seed      = 7 + c;
        float *x           = rand_f32(&seed, n, u->lo, u->hi);
        struct oq_graph *g = tg_new(14);
        int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 2, (int64_t[]){1, n});
        int y              = tg_output(g, "y");
        struct oq_node *nd = tg_node(g, u->op, 1, &ix, 1, &y);
        for (int k = 0; k < u->n_attr; k++)
            tg_attr_float(nd, u->attr[k], u->val[k]);
        oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 2, (int64_t[]){1, n}, x);
        struct tg_run r;
        oq_status st = tg_exec(&r, g, 1, &in);
        CHECK_MSG(st == OQ_OK, "%s: %s", u->op, r.err.msg);
        if (!st) {
            const float *yd = r.out[0].data;
            double worst    = 0;
            int64_t wi      = 0;
            for (int64_t i = 0; i < n; i++) {
                double e   = u->ref(x[i], u->val);
                double err = fabs(yd[i] - e) / fmax(1.0, fabs(e));
                if (!(err <= worst)) {
                    worst = err;
                    wi    = i;
                }
            }
            CHECK_MSG(worst <= u->tol,
                      "%s: worst relative error %.3g at x=%.9g (got %.9g want %.9g), tol %.3g",
                      u->op,
                      worst,
                      x[wi],
                      yd[wi],
                      u->ref(x[wi], u->val),
                      u->tol);
        }
        tg_done(&r);
        free(x);
    }
}

/* exp and sigmoid at the edges: no overflow, exact limits */
static void test_unary_edges(void) {
    float x[] = {-1000, -100, -88, -87, 0, 1e-30f, 80, 88.7f, 89, 1000, INFINITY, -INFINITY};
    int n     = (int)(sizeof(x) / sizeof(x[0]));
    for (int k = 0; k < n; k++) {
        float e = oq_expf(x[k]), want = expf(x[k]);
        bool ok = (isinf(want) && isinf(e)) || fabsf(e - want) <= 2.5e-7f * want ||
                  (want < 1.2e-38f && e <= 1.2e-38f) ||
                  (x[k] > 88.37f && isinf(e)); /* documented: +inf above 88.37 */
        CHECK_MSG(ok, "oq_expf(%g) = %g, expf = %g", x[k], e, want);
    }
    CHECK(isnan(oq_expf(NAN)));
    const char *ops[] = {"Sigmoid", "Tanh", "Exp"};
    for (int o = 0; o < 3; o++) {
        struct oq_graph *g = tg_new(13);
        int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 1, (int64_t[]){n});
        int y              = tg_output(g, "y");
        tg_node(g, ops[o], 1, &ix, 1, &y);
        oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){n}, x);
        struct tg_run r;
        CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
        if (r.s) {
            const float *yd = r.out[0].data;
            for (int k = 0; k < n; k++) {
                if (o == 0) {
                    CHECK_MSG(yd[k] >= 0 && yd[k] <= 1 && !isnan(yd[k]), "Sigmoid(%g) = %g", x[k], yd[k]);
                    if (x[k] <= -100)
                        CHECK_MSG(yd[k] < 1e-30f, "Sigmoid(%g) = %g", x[k], yd[k]);
                    if (x[k] >= 80)
                        CHECK_MSG(yd[k] == 1.0f, "Sigmoid(%g) = %g", x[k], yd[k]);
                } else if (o == 1) {
                    CHECK_MSG(fabsf(yd[k] - tanhf(x[k])) <= 1e-6f, "Tanh(%g) = %g", x[k], yd[k]);
                } else {
                    float want = expf(x[k]);
                    CHECK_MSG((isinf(want) && isinf(yd[k])) || fabsf(yd[k] - want) <= 2.5e-7f * want ||
                                  (want < 1.2e-38f && yd[k] <= 1.2e-38f) || (x[k] > 88.37f && isinf(yd[k])),
                              "Exp(%g) = %g want %g",
                              x[k],
                              yd[k],
                              want);
                }
            }
        }
        tg_done(&r);
    }
}

static void test_int_unary(void) {
    int64_t x[]       = {-5, 0, 7, INT64_MIN};
    const char *ops[] = {"Neg", "Abs"};
    for (int o = 0; o < 2; o++) {
        struct oq_graph *g = tg_new(13);
        int ix             = tg_input(g, "x", OQ_DTYPE_INT64, 1, (int64_t[]){4});
        int y              = tg_output(g, "y");
        tg_node(g, ops[o], 1, &ix, 1, &y);
        oq_tensor_ref in = tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){4}, x);
        struct tg_run r;
        CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
        if (r.s) {
            const int64_t *yd = r.out[0].data;
            CHECK(r.out[0].dtype == OQ_DTYPE_INT64);
            if (o == 0)
                CHECK(yd[0] == 5 && yd[1] == 0 && yd[2] == -7 && yd[3] == INT64_MIN);
            else
                CHECK(yd[0] == 5 && yd[1] == 0 && yd[2] == 7 && yd[3] == INT64_MIN);
        }
        tg_done(&r);
    }
}

/* ---- Clip across opsets ---- */

static void run_clip(int opset, const float *lo, const float *hi, bool runtime_bounds, const float *want) {
    float x[6]          = {-3, -1, 0, 0.5f, 2, 7};
    struct oq_graph *g  = tg_new(opset);
    int ix              = tg_input(g, "x", OQ_DTYPE_FLOAT, 1, (int64_t[]){6});
    int y               = tg_output(g, "y");
    oq_tensor_ref in[3] = {tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){6}, x)};
    int nin             = 1;
    if (opset < 11) {
        struct oq_node *n = tg_node(g, "Clip", 1, &ix, 1, &y);
        if (lo)
            tg_attr_float(n, "min", *lo);
        if (hi)
            tg_attr_float(n, "max", *hi);
    } else {
        int ilo = -1, ihi = -1;
        if (lo) {
            ilo = runtime_bounds ? tg_input(g, "lo", OQ_DTYPE_FLOAT, 0, NULL)
                                 : tg_const(g, "lo", OQ_DTYPE_FLOAT, 0, NULL, lo);
            if (runtime_bounds)
                in[nin++] = tg_ref(OQ_DTYPE_FLOAT, 0, NULL, (void *)lo);
        }
        if (hi) {
            ihi = runtime_bounds ? tg_input(g, "hi", OQ_DTYPE_FLOAT, 0, NULL)
                                 : tg_const(g, "hi", OQ_DTYPE_FLOAT, 0, NULL, hi);
            if (runtime_bounds)
                in[nin++] = tg_ref(OQ_DTYPE_FLOAT, 0, NULL, (void *)hi);
        }
        tg_node(g, "Clip", hi ? 3 : lo ? 2 : 1, (int[]){ix, ilo, ihi}, 1, &y);
    }
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, nin, in), &r.err);
    if (r.s) {
        const float *yd = r.out[0].data;
        for (int i = 0; i < 6; i++)
            CHECK_MSG(yd[i] == want[i],
                      "Clip opset %d lo %g hi %g: x=%g -> %g, want %g",
                      opset,
                      lo ? *lo : -1e9,
                      hi ? *hi : 1e9,
                      x[i],
                      yd[i],
                      want[i]);
    }
    tg_done(&r);
}

static void test_clip(void) {
    float zero = 0, six = 6, one = 1, mone = -1, five = 5;
    run_clip(6, &zero, &six, false, (float[]){0, 0, 0, 0.5f, 2, 6});
    run_clip(6, NULL, &one, false, (float[]){-3, -1, 0, 0.5f, 1, 1});
    run_clip(6, NULL, NULL, false, (float[]){-3, -1, 0, 0.5f, 2, 7});
    run_clip(13, &zero, &six, false, (float[]){0, 0, 0, 0.5f, 2, 6});
    run_clip(13, &zero, &six, true, (float[]){0, 0, 0, 0.5f, 2, 6});
    run_clip(13, &mone, NULL, false, (float[]){-1, -1, 0, 0.5f, 2, 7});
    run_clip(13, NULL, NULL, false, (float[]){-3, -1, 0, 0.5f, 2, 7});
    run_clip(13, &five, &one, false, (float[]){1, 1, 1, 1, 1, 1}); /* min > max: all max */
    /* only max given: min is an empty (absent) input */
    float x[6]         = {-3, -1, 0, 0.5f, 2, 7};
    struct oq_graph *g = tg_new(13);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 1, (int64_t[]){6});
    int ihi            = tg_const(g, "hi", OQ_DTYPE_FLOAT, 0, NULL, &one);
    int y              = tg_output(g, "y");
    tg_node(g, "Clip", 3, (int[]){ix, -1, ihi}, 1, &y);
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){6}, x);
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
    if (r.s) {
        const float *yd = r.out[0].data;
        CHECK(yd[0] == -3 && yd[3] == 0.5f && yd[4] == 1 && yd[5] == 1);
    }
    tg_done(&r);
    /* int64 Clip */
    int64_t xi[4] = {-10, 0, 10, INT64_MAX}, loi = -5, hii = 5;
    g       = tg_new(13);
    ix      = tg_input(g, "x", OQ_DTYPE_INT64, 1, (int64_t[]){4});
    int ilo = tg_const(g, "lo", OQ_DTYPE_INT64, 0, NULL, &loi);
    ihi     = tg_const(g, "hi", OQ_DTYPE_INT64, 0, NULL, &hii);
    y       = tg_output(g, "y");
    tg_node(g, "Clip", 3, (int[]){ix, ilo, ihi}, 1, &y);
    in = tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){4}, xi);
    CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
    if (r.s) {
        const int64_t *yd = r.out[0].data;
        CHECK(yd[0] == -5 && yd[1] == 0 && yd[2] == 5 && yd[3] == 5);
    }
    tg_done(&r);
}

/* ---- Pow ---- */

static void test_pow(void) {
    float x[5] = {-2, -0.5f, 0, 1.5f, 3};
    /* scalar exponent 2 (fast path), 0.5, -1.5, and an int64 exponent tensor */
    const float exps[] = {2, 3, 0.5f, -1.5f};
    for (int e = 0; e < 4; e++) {
        struct oq_graph *g = tg_new(15);
        int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 1, (int64_t[]){5});
        int ie             = tg_const(g, "e", OQ_DTYPE_FLOAT, 0, NULL, &exps[e]);
        int y              = tg_output(g, "y");
        tg_node(g, "Pow", 2, (int[]){ix, ie}, 1, &y);
        oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){5}, x);
        struct tg_run r;
        CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
        if (r.s) {
            const float *yd = r.out[0].data;
            for (int i = 0; i < 5; i++) {
                float want = powf(x[i], exps[e]);
                CHECK_MSG((isnan(want) && isnan(yd[i])) || yd[i] == want ||
                              fabsf(yd[i] - want) <= 1e-6f * fabsf(want),
                          "Pow(%g, %g) = %g want %g",
                          x[i],
                          exps[e],
                          yd[i],
                          want);
            }
        }
        tg_done(&r);
    }
    int64_t ei[5]      = {2, 3, 0, -1, 4};
    struct oq_graph *g = tg_new(15);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 1, (int64_t[]){5});
    int ie             = tg_input(g, "e", OQ_DTYPE_INT64, 1, (int64_t[]){5});
    int y              = tg_output(g, "y");
    tg_node(g, "Pow", 2, (int[]){ix, ie}, 1, &y);
    oq_tensor_ref in[2] = {tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){5}, x),
                           tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){5}, ei)};
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 2, in), &r.err);
    if (r.s) {
        const float *yd = r.out[0].data;
        CHECK(r.out[0].dtype == OQ_DTYPE_FLOAT);
        CHECK(yd[0] == 4 && yd[1] == -0.125f && yd[2] == 1 && fabsf(yd[3] - 1 / 1.5f) < 1e-7f && yd[4] == 81);
    }
    tg_done(&r);
    int64_t bi[4] = {2, -3, 10, 1};
    int64_t ex[4] = {10, 3, 0, -2};
    g             = tg_new(15);
    ix            = tg_input(g, "x", OQ_DTYPE_INT64, 1, (int64_t[]){4});
    ie            = tg_input(g, "e", OQ_DTYPE_INT64, 1, (int64_t[]){4});
    y             = tg_output(g, "y");
    tg_node(g, "Pow", 2, (int[]){ix, ie}, 1, &y);
    oq_tensor_ref in2[2] = {tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){4}, bi),
                            tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){4}, ex)};
    CHECK_OK(tg_exec(&r, g, 2, in2), &r.err);
    if (r.s) {
        const int64_t *yd = r.out[0].data;
        CHECK(yd[0] == 1024 && yd[1] == -27 && yd[2] == 1 && yd[3] == 1);
    }
    tg_done(&r);
}

/* ---- Cast ---- */

static oq_status run_cast(enum oq_dtype from, enum oq_dtype to, int64_t n, const void *x, struct tg_run *r) {
    struct oq_graph *g = tg_new(13);
    int ix             = tg_input(g, "x", from, 1, &n);
    int y              = tg_output(g, "y");
    tg_attr_int(tg_node(g, "Cast", 1, &ix, 1, &y), "to", to);
    oq_tensor_ref in = tg_ref(from, 1, &n, (void *)x);
    return tg_exec(r, g, 1, &in);
}

static void test_cast(void) {
    struct tg_run r;
    const float f[] = {-2.7f, -0.5f, 0, 0.9f, 2.5f, 300.0f, 65504.0f, 1e-3f};
    CHECK_OK(run_cast(OQ_DTYPE_FLOAT, OQ_DTYPE_INT32, 8, f, &r), &r.err);
    if (r.s) {
        const int32_t *y = r.out[0].data;
        CHECK(r.out[0].dtype == OQ_DTYPE_INT32);
        CHECK(y[0] == -2 && y[1] == 0 && y[2] == 0 && y[3] == 0 && y[4] == 2 && y[5] == 300);
    }
    tg_done(&r);
    CHECK_OK(run_cast(OQ_DTYPE_FLOAT, OQ_DTYPE_BOOL, 8, f, &r), &r.err);
    if (r.s) {
        const uint8_t *y = r.out[0].data;
        CHECK(y[0] == 1 && y[2] == 0 && y[7] == 1);
    }
    tg_done(&r);
    /* float -> float16 -> float: exact for values representable in half */
    const float h[] = {-2.5f, 0.0f, 1.0f, 65504.0f, 0.333251953125f, -1000.5f};
    CHECK_OK(run_cast(OQ_DTYPE_FLOAT, OQ_DTYPE_FLOAT16, 6, h, &r), &r.err);
    uint16_t h16[6];
    if (r.s)
        memcpy(h16, r.out[0].data, sizeof(h16));
    CHECK(r.s && h16[2] == 0x3c00 && h16[3] == 0x7bff);
    tg_done(&r);
    CHECK_OK(run_cast(OQ_DTYPE_FLOAT16, OQ_DTYPE_FLOAT, 6, h16, &r), &r.err);
    if (r.s)
        CHECK(!memcmp(r.out[0].data, h, sizeof(h)));
    tg_done(&r);
    /* bfloat16 round trip of bf16-representable values */
    const float bfv[] = {1.0f, -3.5f, 256.0f, 0.0078125f};
    CHECK_OK(run_cast(OQ_DTYPE_FLOAT, OQ_DTYPE_BFLOAT16, 4, bfv, &r), &r.err);
    uint16_t b16[4];
    if (r.s)
        memcpy(b16, r.out[0].data, sizeof(b16));
    CHECK(r.s && b16[0] == 0x3f80);
    tg_done(&r);
    CHECK_OK(run_cast(OQ_DTYPE_BFLOAT16, OQ_DTYPE_FLOAT, 4, b16, &r), &r.err);
    if (r.s)
        CHECK(!memcmp(r.out[0].data, bfv, sizeof(bfv)));
    tg_done(&r);
    /* int64 -> int8 wraps, -> uint64 keeps bits, -> double exact for 2^53 */
    const int64_t iv[] = {127, 128, -129, 255, -1, 9007199254740992LL};
    CHECK_OK(run_cast(OQ_DTYPE_INT64, OQ_DTYPE_INT8, 6, iv, &r), &r.err);
    if (r.s) {
        const int8_t *y = r.out[0].data;
        CHECK(y[0] == 127 && y[1] == -128 && y[2] == 127 && y[3] == -1 && y[4] == -1);
    }
    tg_done(&r);
    CHECK_OK(run_cast(OQ_DTYPE_INT64, OQ_DTYPE_UINT64, 6, iv, &r), &r.err);
    if (r.s)
        CHECK(((const uint64_t *)r.out[0].data)[4] == UINT64_MAX);
    tg_done(&r);
    CHECK_OK(run_cast(OQ_DTYPE_INT64, OQ_DTYPE_DOUBLE, 6, iv, &r), &r.err);
    if (r.s)
        CHECK(((const double *)r.out[0].data)[5] == 9007199254740992.0 &&
              ((const double *)r.out[0].data)[2] == -129.0);
    tg_done(&r);
    const uint64_t uv[] = {UINT64_MAX, 1};
    CHECK_OK(run_cast(OQ_DTYPE_UINT64, OQ_DTYPE_FLOAT, 2, uv, &r), &r.err);
    if (r.s)
        CHECK(((const float *)r.out[0].data)[0] == 18446744073709551616.0f);
    tg_done(&r);
    const uint8_t bv[] = {0, 1, 1};
    CHECK_OK(run_cast(OQ_DTYPE_BOOL, OQ_DTYPE_FLOAT, 3, bv, &r), &r.err);
    if (r.s) {
        const float *y = r.out[0].data;
        CHECK(y[0] == 0 && y[1] == 1 && y[2] == 1);
    }
    tg_done(&r);
    /* float -> uint8 and int32 -> float round trip of a large tensor (threads) */
    int64_t n    = 100003;
    int32_t *big = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        big[i] = (int32_t)(i * 37 - 1000000);
    CHECK_OK(run_cast(OQ_DTYPE_INT32, OQ_DTYPE_FLOAT, n, big, &r), &r.err);
    if (r.s) {
        const float *y = r.out[0].data;
        int bad        = 0;
        for (int64_t i = 0; i < n; i++)
            bad += y[i] != (float)big[i];
        CHECK(bad == 0);
        struct tg_run r2;
        CHECK_OK(run_cast(OQ_DTYPE_FLOAT, OQ_DTYPE_INT32, n, y, &r2), &r2.err);
        if (r2.s)
            CHECK(!memcmp(r2.out[0].data, big, sizeof(int32_t) * (size_t)n));
        tg_done(&r2);
    }
    tg_done(&r);
    free(big);
    /* NaN and out-of-range do not crash */
    const float odd[] = {NAN, INFINITY, -INFINITY, 1e30f};
    CHECK_OK(run_cast(OQ_DTYPE_FLOAT, OQ_DTYPE_INT64, 4, odd, &r), &r.err);
    if (r.s)
        CHECK(((const int64_t *)r.out[0].data)[0] == 0 && ((const int64_t *)r.out[0].data)[1] == INT64_MAX);
    tg_done(&r);
}

/* ---- errors ---- */

static void test_errors(void) {
    struct tg_run r;
    /* non-broadcastable shapes */
    float a[12] = {0}, b[5] = {0};
    struct oq_graph *g = tg_new(13);
    int ia             = tg_input(g, "a", OQ_DTYPE_FLOAT, 3, (int64_t[]){1, 3, 4});
    int ib             = tg_input(g, "b", OQ_DTYPE_FLOAT, 1, (int64_t[]){5});
    int y              = tg_output(g, "y");
    tg_node(g, "Add", 2, (int[]){ia, ib}, 1, &y);
    oq_tensor_ref in[2] = {tg_ref(OQ_DTYPE_FLOAT, 3, (int64_t[]){1, 3, 4}, a),
                           tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){5}, b)};
    oq_status st        = tg_exec(&r, g, 2, in);
    CHECK(st == OQ_ERR_SHAPE);
    CHECK_MSG(strstr(r.err.msg, "[1,3,4] and [5]") && strstr(r.err.msg, "do not broadcast") &&
                  strstr(r.err.msg, "'Add'"),
              "message: %s",
              r.err.msg);
    tg_done(&r);
    /* unsupported dtype */
    double d[3] = {1, 2, 3};
    g           = tg_new(13);
    ia          = tg_input(g, "a", OQ_DTYPE_DOUBLE, 1, (int64_t[]){3});
    ib          = tg_input(g, "b", OQ_DTYPE_DOUBLE, 1, (int64_t[]){3});
    y           = tg_output(g, "y");
    tg_node(g, "Mul", 2, (int[]){ia, ib}, 1, &y);
    oq_tensor_ref ind[2] = {tg_ref(OQ_DTYPE_DOUBLE, 1, (int64_t[]){3}, d),
                            tg_ref(OQ_DTYPE_DOUBLE, 1, (int64_t[]){3}, d)};
    st                   = tg_exec(&r, g, 2, ind);
    CHECK(st == OQ_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(r.err.msg, "double") && strstr(r.err.msg, "input 0") && strstr(r.err.msg, "float"),
              "message: %s",
              r.err.msg);
    tg_done(&r);
    /* mixed dtypes */
    int64_t i3[3] = {1, 2, 3};
    g             = tg_new(13);
    ia            = tg_input(g, "a", OQ_DTYPE_FLOAT, 1, (int64_t[]){3});
    ib            = tg_input(g, "b", OQ_DTYPE_INT64, 1, (int64_t[]){3});
    y             = tg_output(g, "y");
    tg_node(g, "Sub", 2, (int[]){ia, ib}, 1, &y);
    oq_tensor_ref inm[2] = {tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){3}, a),
                            tg_ref(OQ_DTYPE_INT64, 1, (int64_t[]){3}, i3)};
    st                   = tg_exec(&r, g, 2, inm);
    CHECK(st != OQ_OK && strstr(r.err.msg, "int64") && strstr(r.err.msg, "Cast"));
    tg_done(&r);
    /* Where with a float condition */
    g  = tg_new(16);
    ia = tg_input(g, "c", OQ_DTYPE_FLOAT, 1, (int64_t[]){3});
    y  = tg_output(g, "y");
    tg_node(g, "Where", 3, (int[]){ia, ia, ia}, 1, &y);
    oq_tensor_ref inw = tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){3}, a);
    st                = tg_exec(&r, g, 1, &inw);
    CHECK(st == OQ_ERR_UNSUPPORTED && strstr(r.err.msg, "bool"));
    tg_done(&r);
    /* Cast to string: rejected at load */
    g  = tg_new(13);
    ia = tg_input(g, "a", OQ_DTYPE_FLOAT, 1, (int64_t[]){3});
    y  = tg_output(g, "y");
    tg_attr_int(tg_node(g, "Cast", 1, &ia, 1, &y), "to", OQ_DTYPE_STRING);
    st = tg_exec(&r, g, 1, &inw);
    CHECK(st == OQ_ERR_UNSUPPORTED && r.s == NULL && strstr(r.err.msg, "string"));
    tg_done(&r);
    /* wrong arity at load */
    g  = tg_new(13);
    ia = tg_input(g, "a", OQ_DTYPE_FLOAT, 1, (int64_t[]){3});
    y  = tg_output(g, "y");
    tg_node(g, "Add", 1, &ia, 1, &y);
    st = tg_exec(&r, g, 1, &inw);
    CHECK(st == OQ_ERR_MODEL && strstr(r.err.msg, "inputs"));
    tg_done(&r);
    /* PRelu slope that would grow X */
    g  = tg_new(13);
    ia = tg_input(g, "a", OQ_DTYPE_FLOAT, 1, (int64_t[]){3});
    ib = tg_input(g, "s", OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
    y  = tg_output(g, "y");
    tg_node(g, "PRelu", 2, (int[]){ia, ib}, 1, &y);
    oq_tensor_ref inp[2] = {tg_ref(OQ_DTYPE_FLOAT, 1, (int64_t[]){3}, a),
                            tg_ref(OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, a)};
    st                   = tg_exec(&r, g, 2, inp);
    CHECK(st == OQ_ERR_SHAPE && strstr(r.err.msg, "slope"));
    tg_done(&r);
}

/* A chain (Mul -> Add -> Sigmoid -> Mul) as in squeeze-excite, exercising plan-time reuse of buffers. */
static void test_chain(void) {
    const int64_t xd[4] = {1, 8, 12, 12}, sd[4] = {1, 8, 1, 1};
    int64_t n     = oq_shape_numel(4, xd);
    uint64_t seed = 99;
    float *x = rand_f32(&seed, n, -3, 3), *s = rand_f32(&seed, 8, -1, 1), bias = 0.25f;
    struct oq_graph *g = tg_new(13);
    int ix             = tg_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    int is             = tg_input(g, "s", OQ_DTYPE_FLOAT, 4, sd);
    int ib             = tg_const(g, "bias", OQ_DTYPE_FLOAT, 0, NULL, &bias);
    int t1 = tg_value(g, "t1"), t2 = tg_value(g, "t2"), t3 = tg_value(g, "t3");
    int y = tg_output(g, "y");
    tg_node(g, "Mul", 2, (int[]){ix, is}, 1, &t1);
    tg_node(g, "Add", 2, (int[]){t1, ib}, 1, &t2);
    tg_node(g, "Sigmoid", 1, &t2, 1, &t3);
    tg_node(g, "Mul", 2, (int[]){t3, ix}, 1, &y);
    oq_tensor_ref in[2] = {tg_ref(OQ_DTYPE_FLOAT, 4, xd, x), tg_ref(OQ_DTYPE_FLOAT, 4, sd, s)};
    struct tg_run r;
    CHECK_OK(tg_exec(&r, g, 2, in), &r.err);
    if (r.s) {
        const float *yd = r.out[0].data;
        double worst    = 0;
        for (int64_t i = 0; i < n; i++) {
            double t = (double)x[i] * s[i / 144] + bias;
            double e = x[i] / (1 + exp(-t));
            worst    = fmax(worst, fabs(yd[i] - e));
        }
        CHECK_MSG(worst < 1e-5, "SE chain max abs error %g", worst);
    }
    tg_done(&r);
    free(x);
    free(s);
}

int main(void) {
    test_broadcast();
    test_int_arith();
    test_where();
    test_unary();
    test_unary_edges();
    test_int_unary();
    test_clip();
    test_pow();
    test_cast();
    test_errors();
    test_chain();
    TEST_MAIN_END();
}
