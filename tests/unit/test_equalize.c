/* Cross-layer equalization (quant/equalize.h): on Conv -> Relu -> depthwise Conv -> 1x1 Conv with channel ranges
 * spread over three decades, the FP32 outputs are unchanged (to float rounding) after equalizing, both pairs are
 * found, and the spread of per-channel weight ranges shrinks; a Clip (Relu6) between two convs stops it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_builder.h"
#include "quant/equalize.h"
#include "test_util.h"

enum { CI = 4, C1 = 6, C3 = 5, H = 9, W = 7 };

static struct oq_graph *chain(bool relu6) {
    uint64_t seed = 5;
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {2, CI, H, W}, w1d[4] = {C1, CI, 3, 3}, b1d[1] = {C1}, w2d[4] = {C1, 1, 3, 3}, w3d[4] = {C3, C1, 1, 1};
    float w1[C1 * CI * 9], b1[C1], w2[C1 * 9], w3[C3 * C1];
    for (int i = 0; i < C1 * CI * 9; i++) /* channel c scaled by 10^(c/2 - 1): 0.1 .. 31.6 */
        w1[i] = test_rng_uniform(&seed, -1, 1) * powf(10.0f, (float)(i / (CI * 9)) / 2.0f - 1.0f);
    for (int c = 0; c < C1; c++)
        b1[c] = test_rng_uniform(&seed, -0.5f, 0.5f);
    for (int i = 0; i < C1 * 9; i++)
        w2[i] = test_rng_uniform(&seed, -1, 1) * (float)(1 + i / 9);
    for (int i = 0; i < C3 * C1; i++)
        w3[i] = test_rng_uniform(&seed, -1, 1);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w1", 4, w1d, w1);
    gb_init_f32(g, "b1", 1, b1d, b1);
    gb_init_f32(g, "w2", 4, w2d, w2);
    gb_init_f32(g, "w3", 4, w3d, w3);
    struct oq_node *n = gb_node(g, "Conv", "conv1", 3, (const char *[]){"x", "w1", "b1"}, 1, (const char *[]){"c1"});
    gb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    if (relu6) {
        float lo = 0, hi = 6;
        gb_init_f32(g, "lo", 0, NULL, &lo);
        gb_init_f32(g, "hi", 0, NULL, &hi);
        gb_node(g, "Clip", "act", 3, (const char *[]){"c1", "lo", "hi"}, 1, (const char *[]){"r1"});
    } else {
        gb_node(g, "Relu", "act", 1, (const char *[]){"c1"}, 1, (const char *[]){"r1"});
    }
    n = gb_node(g, "Conv", "dw", 2, (const char *[]){"r1", "w2"}, 1, (const char *[]){"c2"});
    gb_attr_int(n, "group", C1);
    gb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_node(g, "Conv", "pw", 2, (const char *[]){"c2", "w3"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    return g;
}

/* Run the graph (owned by the model made of it) on a fixed input; the output into y. */
static void run(struct oq_graph *g, float *y, int64_t n) {
    oq_model *m = NULL;
    oq_session *s = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    CHECK_OK(oq_session_create(m, NULL, &s, &err), &err);
    float x[2 * CI * H * W];
    uint64_t seed = 9;
    for (int i = 0; i < 2 * CI * H * W; i++)
        x[i] = test_rng_uniform(&seed, -1, 1);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {2, CI, H, W}, .data = x};
    oq_tensor_ref out;
    CHECK_OK(oq_session_run(s, 1, &in, &err), &err);
    CHECK(oq_session_output(s, 0, &out) == OQ_OK && oq_shape_numel(out.ndim, out.dims) == n);
    memcpy(y, out.data, sizeof(float) * (size_t)n);
    oq_session_free(s);
    oq_model_free(m);
}

int main(void) {
    const int64_t n = 2 * C3 * H * W;
    float *y0 = calloc((size_t)n, sizeof(float)), *y1 = calloc((size_t)n, sizeof(float));
    struct oq_graph *g0 = chain(false), *g1 = chain(false);
    oq_error err = {0};
    struct oq_equalize_stats st;
    CHECK_OK(oq_equalize(g1, &st, &err), &err);
    printf("pairs %d, sweeps %d, conv channel range spread %.1f -> %.2f\n", st.pairs, st.sweeps, st.max_ratio_before,
           st.max_ratio_after);
    CHECK(st.pairs == 2 && st.max_ratio_before > 50 && st.max_ratio_after < st.max_ratio_before / 10);
    run(g0, y0, n);
    run(g1, y1, n);
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)y0[i] - (double)y1[i])), scale = fmax(scale, fabs((double)y0[i]));
    printf("max |y - y_equalized| = %.3g (max |y| %.3g)\n", worst, scale);
    CHECK_MSG(scale > 0 && worst <= 1e-5 * scale, "outputs moved by %g of %g", worst, scale);

    /* Relu6 is not homogeneous: the first pair is left alone, the dw -> pw pair still equalized */
    struct oq_graph *g2 = chain(true);
    CHECK_OK(oq_equalize(g2, &st, &err), &err);
    CHECK_MSG(st.pairs == 1, "through a Clip: %d pairs", st.pairs);
    oq_graph_free(g2);
    free(y0), free(y1);
    TEST_MAIN_END();
}
