/* Table lowering (exec/lower_table.h: QLut, QTable2 and their composition) and the pass-through lowering of
 * data-movement ops on uint8 (exec/lower_qdq.c), on small QDQ graphs built in memory.
 *
 * A table is the float simulation evaluated on every code with the reference kernels, so for each case the
 * lowered session must give exactly the integers of the float-simulated session (no_int8_lowering) run with
 * reference kernels, and be at most 1 step from it with the fast kernels (their Sigmoid/Tanh differ from the
 * reference in the last bits, which moves the rare value sitting on a rounding tie). Inputs cover all 256
 * codes. Each case also checks what the session's graph became: the op list after lowering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/lower_harness.h"

struct qp {
    float s;
    uint8_t z;
};

/* DequantizeLinear of uint8 value `x` with parameters p into `y` (initializers named after y). */
static void dq(struct oq_graph *g, const char *x, struct qp p, const char *y) {
    char sn[64], zn[64];
    snprintf(sn, sizeof(sn), "%s_s", y);
    snprintf(zn, sizeof(zn), "%s_z", y);
    lh_init(g, sn, OQ_DTYPE_FLOAT, 0, NULL, &p.s);
    lh_init(g, zn, OQ_DTYPE_UINT8, 0, NULL, &p.z);
    gb_node(g, "DequantizeLinear", y, 3, (const char *[]){x, sn, zn}, 1, (const char *[]){y});
}

static void q(struct oq_graph *g, const char *x, struct qp p, const char *y) {
    char sn[64], zn[64];
    snprintf(sn, sizeof(sn), "%s_s", y);
    snprintf(zn, sizeof(zn), "%s_z", y);
    lh_init(g, sn, OQ_DTYPE_FLOAT, 0, NULL, &p.s);
    lh_init(g, zn, OQ_DTYPE_UINT8, 0, NULL, &p.z);
    gb_node(g, "QuantizeLinear", y, 3, (const char *[]){x, sn, zn}, 1, (const char *[]){y});
}

/* x (uint8) -> DQ -> op(x, scalar constant c) -> Q; or a unary op when c is NULL */
static void unary_op(struct oq_graph *g, const char *op, const char *x, struct qp px, const float *c, struct qp py,
                     const char *y) {
    char xf[64], yf[64], cn[64];
    snprintf(xf, sizeof(xf), "%s_f", y);
    snprintf(yf, sizeof(yf), "%s_yf", y);
    snprintf(cn, sizeof(cn), "%s_c", y);
    dq(g, x, px, xf);
    if (c) {
        lh_init(g, cn, OQ_DTYPE_FLOAT, 0, NULL, c);
        gb_node(g, op, yf, 2, (const char *[]){xf, cn}, 1, (const char *[]){yf});
    } else {
        gb_node(g, op, yf, 1, (const char *[]){xf}, 1, (const char *[]){yf});
    }
    q(g, yf, py, y);
}

struct run_case {
    const char *name;
    int n_in;
    int nd[2];
    int64_t dims[2][4];
    int64_t ny;
    const char *want_ops; /* exact op list of the lowered session */
};

/* Run the model lowered and float-simulated (reference and fast kernels) and compare. */
static void check(oq_model *m, const struct run_case *c, uint64_t seed) {
    uint8_t *in[2] = {NULL, NULL};
    oq_tensor_ref refs[2];
    const char *names[2] = {"a", "b"};
    for (int k = 0; k < c->n_in; k++) {
        int64_t n = 1;
        for (int d = 0; d < c->nd[k]; d++)
            n *= c->dims[k][d];
        in[k] = malloc((size_t)n);
        for (int64_t i = 0; i < n; i++) /* every code appears (n >= 256 for a) */
            in[k][i] = (uint8_t)(i < 256 ? (uint64_t)i * 167 % 256 : test_rng_next(&seed) % 256);
        refs[k] = (oq_tensor_ref){.name = names[k], .dtype = OQ_DTYPE_UINT8, .ndim = c->nd[k], .data = in[k]};
        memcpy(refs[k].dims, c->dims[k], sizeof(int64_t) * (size_t)c->nd[k]);
    }
    uint8_t *y_low = calloc(1, (size_t)c->ny), *y_sim = calloc(1, (size_t)c->ny), *y_fast = calloc(1, (size_t)c->ny);
    uint8_t *y_low2 = calloc(1, (size_t)c->ny);
    struct lh_result rl, rl2, rs, rf;
    lh_run(m, 1, OQ_KERNELS_AUTO, 1, c->n_in, refs, y_low, c->ny, &rl);
    lh_run(m, 1, OQ_KERNELS_REF, 2, c->n_in, refs, y_low2, c->ny, &rl2);
    lh_run(m, 0, OQ_KERNELS_REF, 1, c->n_in, refs, y_sim, c->ny, &rs);
    lh_run(m, 0, OQ_KERNELS_AUTO, 1, c->n_in, refs, y_fast, c->ny, &rf);
    CHECK_MSG(!strcmp(rl.ops, c->want_ops), "%s: lowered session runs [%s], expected [%s]", c->name, rl.ops,
              c->want_ops);
    CHECK_MSG(rl.ndim == rs.ndim && !memcmp(rl.dims, rs.dims, sizeof(int64_t) * (size_t)rs.ndim),
              "%s: lowered output rank %d, float simulation rank %d", c->name, rl.ndim, rs.ndim);
    int64_t diff = 0, diff2 = 0, far = 0, distinct = 0;
    bool seen[256] = {false};
    for (int64_t i = 0; i < c->ny; i++) {
        diff += y_low[i] != y_sim[i];
        diff2 += y_low2[i] != y_sim[i];
        far += abs((int)y_low[i] - (int)y_fast[i]) > 1;
        distinct += !seen[y_sim[i]];
        seen[y_sim[i]] = true;
    }
    CHECK_MSG(diff == 0 && diff2 == 0, "%s: %lld (%lld with 2 threads) of %lld outputs differ from the float simulation",
              c->name, (long long)diff, (long long)diff2, (long long)c->ny);
    CHECK_MSG(far == 0, "%s: %lld outputs more than 1 step from the fast-kernel simulation", c->name, (long long)far);
    CHECK_MSG(distinct >= 8, "%s: degenerate case, only %lld distinct output codes", c->name, (long long)distinct);
    printf("%-26s %6lld outputs, %3lld distinct codes, lowered to [%s] (from %d nodes)\n", c->name,
           (long long)c->ny, (long long)distinct, rl.ops, rs.n_nodes);
    for (int k = 0; k < 2; k++)
        free(in[k]);
    free(y_low), free(y_low2), free(y_sim), free(y_fast);
}

/* Declare output 0 (uint8) and, when `extra` is given, a second (float) output; wrap as a model. */
static oq_model *finish2(struct oq_graph *g, const char *out, int nd, const int64_t *dims, const char *extra) {
    gb_output(g, out, OQ_DTYPE_UINT8, nd, dims);
    if (extra)
        gb_output(g, extra, OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static oq_model *finish(struct oq_graph *g, const char *out, int nd, const int64_t *dims) {
    return finish2(g, out, nd, dims, NULL);
}

/* PP-OCRv4 det's HardSwish: x * Clip(x + 3, 0, 6) / 6 with QDQ around every op, the 3 a quantized constant.
 * Four tables compose into one QLut. With `tap` the Clip's output is also a graph output: no composition
 * through it. */
static void test_hardswish_chain(bool tap) {
    struct oq_graph *g = gb_new(13);
    int64_t d[4] = {2, 4, 8, 8};
    gb_input(g, "a", OQ_DTYPE_UINT8, 4, d);
    struct qp px = {0.04f, 128}, p3 = {0.02f, 0}, padd = {0.05f, 40}, pclip = {6.0f / 255, 0}, pmul = {0.03f, 20},
              pdiv = {0.006f, 20};
    uint8_t three = 150; /* 150 * 0.02 = 3 */
    lh_init(g, "c3", OQ_DTYPE_UINT8, 0, NULL, &three);
    dq(g, "c3", p3, "c3f");
    dq(g, "a", px, "af");
    gb_node(g, "Add", "add", 2, (const char *[]){"af", "c3f"}, 1, (const char *[]){"t1"});
    q(g, "t1", padd, "t1q");
    dq(g, "t1q", padd, "t1f");
    float lo = 0, hi = 6;
    lh_init(g, "lo", OQ_DTYPE_FLOAT, 0, NULL, &lo);
    lh_init(g, "hi", OQ_DTYPE_FLOAT, 0, NULL, &hi);
    gb_node(g, "Clip", "clip", 3, (const char *[]){"t1f", "lo", "hi"}, 1, (const char *[]){"t2"});
    q(g, "t2", pclip, "t2q");
    dq(g, "t2q", pclip, "t2f");
    dq(g, "a", px, "af2"); /* the Mul reads x through its own DequantizeLinear, as the writer makes it */
    gb_node(g, "Mul", "mul", 2, (const char *[]){"af2", "t2f"}, 1, (const char *[]){"t3"});
    q(g, "t3", pmul, "t3q");
    float six = 6;
    unary_op(g, "Div", "t3q", pmul, &six, pdiv, "yq");
    if (tap)
        gb_output(g, "t2q", OQ_DTYPE_UINT8, 4, d);
    oq_model *m = finish(g, "yq", 4, d);
    struct run_case c = {tap ? "hardswish chain, tapped" : "hardswish chain", 1, {4}, {{2, 4, 8, 8}}, 512,
                         tap ? "QLut QTable2 " : "QLut "}; /* tapped: Add+Clip compose, Div folds into the Mul table */
    check(m, &c, 1);
    oq_model_free(m);
}

/* One op between DQ and Q. */
static void test_single(const char *op, const float *c, const char *attr, float attr_v) {
    struct oq_graph *g = gb_new(13);
    int64_t d[3] = {3, 10, 17};
    gb_input(g, "a", OQ_DTYPE_UINT8, 3, d);
    unary_op(g, op, "a", (struct qp){0.05f, 120}, c, (struct qp){1.0f / 200, 30}, "yq");
    if (attr)
        gb_attr_float(&g->nodes[g->n_nodes - 2], attr, attr_v);
    oq_model *m = finish(g, "yq", 3, d);
    char name[64];
    snprintf(name, sizeof(name), "%s%s", op, c ? " (const)" : "");
    struct run_case rc = {name, 1, {3}, {{3, 10, 17}}, 510, "QLut "};
    check(m, &rc, 2);
    oq_model_free(m);
}

/* DQ(a) op DQ(b) -> Q with broadcasting: squeeze-excite [N,C,H,W] x [N,C,1,1], rows [B,T,C] x [C], and a
 * scalar b. */
static void test_binary(const char *op, int bnd, const int64_t *bd, const char *label) {
    struct oq_graph *g = gb_new(13);
    int64_t d[4] = {2, 6, 5, 9};
    gb_input(g, "a", OQ_DTYPE_UINT8, 4, d);
    gb_input(g, "b", OQ_DTYPE_UINT8, bnd, bd);
    dq(g, "a", (struct qp){0.02f, 100}, "af");
    dq(g, "b", (struct qp){1.0f / 255, 0}, "bf");
    gb_node(g, op, "op", 2, (const char *[]){"af", "bf"}, 1, (const char *[]){"y"});
    q(g, "y", (struct qp){0.015f, 90}, "yq");
    oq_model *m = finish(g, "yq", 4, d);
    struct run_case c = {label, 2, {4, bnd}, {{2, 6, 5, 9}, {0}}, 540, "QTable2 "};
    memcpy(c.dims[1], bd, sizeof(int64_t) * (size_t)bnd);
    check(m, &c, 3);
    oq_model_free(m);
}

/* A scalar constant of rank 3 raises a [5] input's rank: the QLut keeps the float op's output shape. */
static void test_rank(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[1] = {300}, one[3] = {1, 1, 1};
    gb_input(g, "a", OQ_DTYPE_UINT8, 1, d);
    float half = 0.5f;
    lh_init(g, "c", OQ_DTYPE_FLOAT, 3, one, &half);
    dq(g, "a", (struct qp){0.01f, 0}, "af");
    gb_node(g, "Mul", "mul", 2, (const char *[]){"af", "c"}, 1, (const char *[]){"y"});
    q(g, "y", (struct qp){0.005f, 3}, "yq");
    int64_t yd[3] = {1, 1, 300};
    oq_model *m = finish(g, "yq", 3, yd);
    struct run_case c = {"rank-raising constant", 1, {1}, {{300}}, 300, "QLut "};
    check(m, &c, 4);
    oq_model_free(m);
}

/* Not tables: a per-channel constant (a table per channel would be needed) stays a float Mul. */
static void test_per_channel_const(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[4] = {1, 3, 10, 10}, cd[4] = {1, 3, 1, 1};
    gb_input(g, "a", OQ_DTYPE_UINT8, 4, d);
    float cv[3] = {0.5f, -1.0f, 2.0f};
    lh_init(g, "c", OQ_DTYPE_FLOAT, 4, cd, cv);
    dq(g, "a", (struct qp){0.01f, 128}, "af");
    gb_node(g, "Mul", "mul", 2, (const char *[]){"af", "c"}, 1, (const char *[]){"y"});
    q(g, "y", (struct qp){0.01f, 128}, "yq");
    oq_model *m = finish(g, "yq", 4, d);
    struct run_case c = {"per-channel constant", 1, {4}, {{1, 3, 10, 10}}, 300,
                         "DequantizeLinear Mul QuantizeLinear "};
    check(m, &c, 5);
    oq_model_free(m);
}

/* Data movement and max run on the codes: directly with equal parameters on both sides, else behind a
 * requantizing QLut that replaces the input's DequantizeLinear. With `shared`, that DequantizeLinear has another
 * reader (a float Relu, a second graph output): then the op stays float. */
static void test_passthrough(const char *op, bool same, bool shared) {
    struct oq_graph *g = gb_new(13);
    int64_t d[4] = {1, 4, 9, 8};
    struct qp p = {0.03f, 77}, po = same ? p : (struct qp){0.06f, 77};
    gb_input(g, "a", OQ_DTYPE_UINT8, 4, d);
    dq(g, "a", p, "af");
    int64_t yd[4] = {1, 4, 9, 8};
    int yn = 4;
    if (!strcmp(op, "MaxPool")) {
        struct oq_node *n = gb_node(g, "MaxPool", "op", 1, (const char *[]){"af"}, 1, (const char *[]){"y"});
        gb_attr_ints(n, "kernel_shape", 2, (int64_t[]){3, 3});
        gb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    } else if (!strcmp(op, "Concat")) {
        gb_input(g, "b", OQ_DTYPE_UINT8, 4, d);
        dq(g, "b", p, "bf");
        struct oq_node *n = gb_node(g, "Concat", "op", 2, (const char *[]){"af", "bf"}, 1, (const char *[]){"y"});
        gb_attr_int(n, "axis", 1);
        yd[1] = 8;
    } else { /* Reshape */
        int64_t shape[2] = {4, 72};
        gb_init_i64(g, "shape", 2, shape);
        gb_node(g, "Reshape", "op", 2, (const char *[]){"af", "shape"}, 1, (const char *[]){"y"});
        yn = 2, yd[0] = 4, yd[1] = 72;
    }
    q(g, "y", po, "yq");
    if (shared)
        gb_node(g, "Relu", "relu", 1, (const char *[]){"af"}, 1, (const char *[]){"r"});
    oq_model *m = finish2(g, "yq", yn, yd, shared ? "r" : NULL);
    char name[64], want[96];
    snprintf(name, sizeof(name), "%s, %s params%s", op, same ? "equal" : "other", shared ? ", shared DQ" : "");
    bool cat = !strcmp(op, "Concat");
    snprintf(want, sizeof(want), same ? "%s " : cat ? "QLut QLut %s " : "QLut %s ", op);
    if (shared)
        snprintf(want, sizeof(want), "DequantizeLinear %s Relu QuantizeLinear ", op);
    struct run_case c = {name, cat ? 2 : 1, {4, 4}, {{1, 4, 9, 8}, {1, 4, 9, 8}}, cat ? 576 : 288, want};
    check(m, &c, 6);
    oq_model_free(m);
}

/* The same HardSwish chain left entirely in float between one DequantizeLinear and one QuantizeLinear (what
 * `--skip` of its Add and Mul leaves): the session fuses it into HardSwish and the lowering tabulates that. The
 * fused node used to keep the Div's op definition, so the table was the Div's (237 steps off on rec's first
 * HardSwish); now it equals the float simulation. */
static void test_float_hardswish_chain(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[4] = {2, 4, 8, 8};
    gb_input(g, "a", OQ_DTYPE_UINT8, 4, d);
    struct qp px = {0.04f, 128}, py = {0.03f, 10};
    float three = 3, lo = 0, hi = 6, six = 6;
    lh_init(g, "three", OQ_DTYPE_FLOAT, 0, NULL, &three);
    lh_init(g, "lo", OQ_DTYPE_FLOAT, 0, NULL, &lo);
    lh_init(g, "hi", OQ_DTYPE_FLOAT, 0, NULL, &hi);
    lh_init(g, "six", OQ_DTYPE_FLOAT, 0, NULL, &six);
    dq(g, "a", px, "af");
    gb_node(g, "Add", "add", 2, (const char *[]){"af", "three"}, 1, (const char *[]){"t1"});
    gb_node(g, "Clip", "clip", 3, (const char *[]){"t1", "lo", "hi"}, 1, (const char *[]){"t2"});
    gb_node(g, "Mul", "mul", 2, (const char *[]){"af", "t2"}, 1, (const char *[]){"t3"});
    gb_node(g, "Div", "div", 2, (const char *[]){"t3", "six"}, 1, (const char *[]){"t4"});
    q(g, "t4", py, "yq");
    oq_model *m = finish(g, "yq", 4, d);
    struct run_case c = {"float hardswish chain", 1, {4}, {{2, 4, 8, 8}}, 512, "QLut "};
    check(m, &c, 2);
    oq_model_free(m);
}

int main(void) {
    test_float_hardswish_chain();
    test_hardswish_chain(false);
    test_hardswish_chain(true);
    test_single("Sigmoid", NULL, NULL, 0);
    test_single("Tanh", NULL, NULL, 0);
    test_single("HardSigmoid", NULL, "alpha", 0.2f);
    test_single("HardSwish", NULL, NULL, 0);
    test_single("LeakyRelu", NULL, "alpha", 0.1f);
    test_single("Relu", NULL, NULL, 0);
    const float two = 2.0f, k = -0.7f;
    test_single("Mul", &k, NULL, 0);
    test_single("Div", &two, NULL, 0);
    test_single("Sub", &two, NULL, 0);
    test_single("Pow", &two, NULL, 0);
    test_binary("Mul", 4, (int64_t[]){2, 6, 1, 1}, "Mul squeeze-excite");
    test_binary("Mul", 1, (int64_t[]){9}, "Mul rows");
    test_binary("Sub", 4, (int64_t[]){2, 6, 5, 9}, "Sub same shape");
    test_binary("Sub", 0, (int64_t[]){0}, "Sub scalar b");
    test_binary("Div", 1, (int64_t[]){9}, "Div rows");
    test_binary("Mul", 4, (int64_t[]){1, 6, 1, 9}, "Mul mixed broadcast");
    test_rank();
    test_per_channel_const();
    test_passthrough("MaxPool", true, false);
    test_passthrough("MaxPool", false, false);
    test_passthrough("MaxPool", false, true);
    test_passthrough("Concat", true, false);
    test_passthrough("Concat", false, false);
    test_passthrough("Reshape", true, false);
    test_passthrough("Reshape", false, false);
    TEST_MAIN_END();
}
