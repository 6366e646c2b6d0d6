/* QuantizeLinear / DequantizeLinear ops: ONNX numerics (ties to even, saturation, zero point), per-axis
 * broadcast, 16-bit types at opset 21, int32 dequantization, and the rejections (blocked quantization,
 * per-axis before opset 13). */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "unit/ops_graph.h"

/* One QuantizeLinear or DequantizeLinear node: x input, scale and zero point constants. */
static oq_status run_qdq(const char *op, int opset, enum oq_dtype xt, int ndim, const int64_t *dims, void *x,
                         int sdim, const float *scale, enum oq_dtype zt, const void *zp, int axis,
                         int64_t block_size, struct tg_run *r) {
    struct oq_graph *g = tg_new(opset);
    int xv = tg_input(g, "x", xt, ndim, dims);
    int64_t sd = sdim;
    int sv = tg_const(g, "s", OQ_DTYPE_FLOAT, sdim > 0 ? 1 : 0, &sd, scale);
    int zv = zp ? tg_const(g, "zp", zt, sdim > 0 ? 1 : 0, &sd, zp) : -1;
    int yv = tg_output(g, "y");
    int in[3] = {xv, sv, zv};
    struct oq_node *n = tg_node(g, op, zp ? 3 : 2, in, 1, &yv);
    if (axis != 1)
        tg_attr_int(n, "axis", axis);
    if (block_size)
        tg_attr_int(n, "block_size", block_size);
    oq_tensor_ref ref = tg_ref(xt, ndim, dims, x);
    return tg_exec(r, g, 1, &ref);
}

static void test_ties_and_saturation(void) {
    /* x / 1: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2, 2.5 -> 2, -0.5 -> -0, 3.5 -> 4; out of range saturates */
    float x[] = {0.5f, 1.5f, -2.5f, 2.5f, -0.5f, 3.5f, 1000.f, -1000.f, 126.5f, -127.5f};
    int64_t dims[] = {10};
    float s = 1.0f;
    int8_t zp8 = 0;
    struct tg_run r;
    CHECK_OK(run_qdq("QuantizeLinear", 13, OQ_DTYPE_FLOAT, 1, dims, x, 0, &s, OQ_DTYPE_INT8, &zp8, 1, 0, &r), &r.err);
    if (r.n_out == 1) {
        const int8_t want[] = {0, 2, -2, 2, 0, 4, 127, -128, 126, -128};
        CHECK(r.out[0].dtype == OQ_DTYPE_INT8);
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    }
    tg_done(&r);

    /* uint8 with zero point 128: the zero point is added after rounding */
    uint8_t zpu = 128;
    CHECK_OK(run_qdq("QuantizeLinear", 13, OQ_DTYPE_FLOAT, 1, dims, x, 0, &s, OQ_DTYPE_UINT8, &zpu, 1, 0, &r), &r.err);
    if (r.n_out == 1) {
        const uint8_t want[] = {128, 130, 126, 130, 128, 132, 255, 0, 254, 0};
        CHECK(r.out[0].dtype == OQ_DTYPE_UINT8);
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    }
    tg_done(&r);

    /* no zero point: uint8, zero point 0; scale 0.5 (x / 0.5 is exact, then ties) */
    float x2[] = {0.25f, 0.75f, 1.25f, -1.0f, 200.0f};
    int64_t d2[] = {5};
    float s2 = 0.5f;
    CHECK_OK(run_qdq("QuantizeLinear", 10, OQ_DTYPE_FLOAT, 1, d2, x2, 0, &s2, OQ_DTYPE_UINT8, NULL, 1, 0, &r), &r.err);
    if (r.n_out == 1) {
        const uint8_t want[] = {0, 2, 2, 0, 255};
        CHECK(r.out[0].dtype == OQ_DTYPE_UINT8);
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    }
    tg_done(&r);
}

static void test_per_axis(void) {
    /* x [2, 3, 2], axis 1: channel c uses scale[c], zp[c] for both outer rows and both inner elements */
    float x[12] = {1, 2, 1, 2, 1, 2, -1, -2, -1, -2, -1, -2};
    int64_t dims[] = {2, 3, 2};
    float s[3] = {1.0f, 0.5f, 2.0f};
    int8_t zp[3] = {0, 10, -10};
    struct tg_run r;
    CHECK_OK(run_qdq("QuantizeLinear", 13, OQ_DTYPE_FLOAT, 3, dims, x, 3, s, OQ_DTYPE_INT8, zp, 1, 0, &r), &r.err);
    /* c0: x; c1: 2x + 10; c2: round_half_even(x/2) - 10 (0.5 -> 0, 1 -> 1, -0.5 -> -0, -1 -> -1) */
    const int8_t want[12] = {1, 2, 12, 14, -10, -9, -1, -2, 8, 6, -10, -11};
    if (r.n_out == 1)
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    tg_done(&r);

    /* negative axis: -2 is axis 1 of a rank-3 tensor; DequantizeLinear back gives (q - zp) * s */
    int8_t q[12];
    memcpy(q, want, sizeof(q));
    CHECK_OK(run_qdq("DequantizeLinear", 13, OQ_DTYPE_INT8, 3, dims, q, 3, s, OQ_DTYPE_INT8, zp, -2, 0, &r), &r.err);
    const float back[12] = {1, 2, 1, 2, 0, 2, -1, -2, -1, -2, 0, -2};
    if (r.n_out == 1) {
        CHECK(r.out[0].dtype == OQ_DTYPE_FLOAT);
        CHECK(memcmp(r.out[0].data, back, sizeof(back)) == 0);
    }
    tg_done(&r);

    /* a per-axis scale whose length does not match the axis is a shape error */
    float s2[2] = {1, 1};
    int8_t zp2[2] = {0, 0};
    oq_status st = run_qdq("QuantizeLinear", 13, OQ_DTYPE_FLOAT, 3, dims, x, 2, s2, OQ_DTYPE_INT8, zp2, 1, 0, &r);
    CHECK(st == OQ_ERR_SHAPE);
    CHECK_MSG(strstr(r.err.msg, "axis 1") != NULL, "%s", r.err.msg);
    tg_done(&r);
    /* per-axis before opset 13 is a model error */
    st = run_qdq("DequantizeLinear", 12, OQ_DTYPE_INT8, 3, dims, q, 3, s, OQ_DTYPE_INT8, zp, 1, 0, &r);
    CHECK(st == OQ_ERR_MODEL);
    CHECK_MSG(strstr(r.err.msg, "opset 13") != NULL, "%s", r.err.msg);
    tg_done(&r);
}

static void test_16bit_and_int32(void) {
    float x[] = {-1.5f, 0.5f, 40000.0f, -40000.0f};
    int64_t dims[] = {4};
    float s = 1.0f;
    int16_t zp16 = 0;
    struct tg_run r;
    CHECK_OK(run_qdq("QuantizeLinear", 21, OQ_DTYPE_FLOAT, 1, dims, x, 0, &s, OQ_DTYPE_INT16, &zp16, 1, 0, &r), &r.err);
    if (r.n_out == 1) {
        const int16_t want[] = {-2, 0, 32767, -32768};
        CHECK(r.out[0].dtype == OQ_DTYPE_INT16);
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    }
    tg_done(&r);
    uint16_t zpu16 = 32768;
    CHECK_OK(run_qdq("QuantizeLinear", 21, OQ_DTYPE_FLOAT, 1, dims, x, 0, &s, OQ_DTYPE_UINT16, &zpu16, 1, 0, &r), &r.err);
    if (r.n_out == 1) {
        const uint16_t want[] = {32766, 32768, 65535, 0};
        CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    }
    tg_done(&r);
    /* int16 before opset 21 is rejected naming the zero point */
    oq_status st = run_qdq("QuantizeLinear", 13, OQ_DTYPE_FLOAT, 1, dims, x, 0, &s, OQ_DTYPE_INT16, &zp16, 1, 0, &r);
    CHECK(st == OQ_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(r.err.msg, "opset 21") != NULL, "%s", r.err.msg);
    tg_done(&r);

    /* int32 (biases): (q - 0) * scale, per axis too */
    int32_t b[] = {1000000, -3, 7, 2147483647};
    int64_t bd[] = {4};
    float bs[4] = {0.001f, 0.5f, 2.0f, 1.0f};
    int32_t bz[4] = {0, 0, 0, 0};
    CHECK_OK(run_qdq("DequantizeLinear", 13, OQ_DTYPE_INT32, 1, bd, b, 4, bs, OQ_DTYPE_INT32, bz, 0, 0, &r), &r.err);
    if (r.n_out == 1) {
        const float *y = r.out[0].data;
        CHECK(y[0] == (float)1000000 * 0.001f && y[1] == -1.5f && y[2] == 14.0f && y[3] == 2147483648.0f);
    }
    tg_done(&r);
}

static void test_rejections(void) {
    float x[4] = {0};
    int64_t dims[] = {4};
    float s = 1.0f;
    uint8_t zp = 0;
    struct tg_run r;
    oq_status st = run_qdq("QuantizeLinear", 21, OQ_DTYPE_FLOAT, 1, dims, x, 0, &s, OQ_DTYPE_UINT8, &zp, 1, 2, &r);
    CHECK(st == OQ_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(r.err.msg, "node 'QuantizeLinear'") && strstr(r.err.msg, "block"), "%s", r.err.msg);
    tg_done(&r);
    st = run_qdq("DequantizeLinear", 21, OQ_DTYPE_UINT8, 1, dims, x, 0, &s, OQ_DTYPE_UINT8, &zp, 1, 2, &r);
    CHECK(st == OQ_ERR_UNSUPPORTED);
    tg_done(&r);
    /* zero point dtype must match x for DequantizeLinear */
    int8_t zp8 = 0;
    uint8_t xq[4] = {0};
    st = run_qdq("DequantizeLinear", 13, OQ_DTYPE_UINT8, 1, dims, xq, 0, &s, OQ_DTYPE_INT8, &zp8, 1, 0, &r);
    CHECK(st == OQ_ERR_MODEL);
    tg_done(&r);
}

/* Q -> DQ round trip on random data: |x - dq(q(x))| <= scale / 2 inside the range. */
static void test_round_trip(void) {
    enum { N = 1000 };
    static float x[N];
    uint64_t seed = 7;
    for (int i = 0; i < N; i++)
        x[i] = test_rng_uniform(&seed, -3.0f, 5.0f);
    struct oq_graph *g = tg_new(13);
    int64_t dims[] = {N}, one = 1;
    float s = 8.0f / 255.0f;
    uint8_t zp = 96;
    int xv = tg_input(g, "x", OQ_DTYPE_FLOAT, 1, dims);
    int sv = tg_const(g, "s", OQ_DTYPE_FLOAT, 0, &one, &s);
    int zv = tg_const(g, "zp", OQ_DTYPE_UINT8, 0, &one, &zp);
    int qv = tg_value(g, "q");
    int yv = tg_output(g, "y");
    tg_node(g, "QuantizeLinear", 3, (int[]){xv, sv, zv}, 1, &qv);
    tg_node(g, "DequantizeLinear", 3, (int[]){qv, sv, zv}, 1, &yv);
    struct tg_run r;
    oq_tensor_ref in = tg_ref(OQ_DTYPE_FLOAT, 1, dims, x);
    CHECK_OK(tg_exec(&r, g, 1, &in), &r.err);
    double maxerr = 0;
    for (int i = 0; r.n_out == 1 && i < N; i++)
        maxerr = fmax(maxerr, fabs((double)((const float *)r.out[0].data)[i] - x[i]));
    CHECK_MSG(maxerr <= s * 0.5 + 1e-6, "max error %g, half step %g", maxerr, s * 0.5);
    tg_done(&r);
}

int main(void) {
    test_ties_and_saturation();
    test_per_axis();
    test_16bit_and_int32();
    test_rejections();
    test_round_trip();
    TEST_MAIN_END();
}
