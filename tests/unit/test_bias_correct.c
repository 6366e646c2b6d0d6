/* Empirical bias correction (quant/bias_correct.h): on its calibration set, the corrected model's mean output
 * error per channel (FP32 - QDQ conv output, measured here independently by running both models) falls to the
 * int32 bias rounding, from a clearly nonzero value before; a layer without a bias is counted and left alone; a float
 * graph's FP32 function is untouched except for the bias. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/source.h"
#include "graph_builder.h"
#include "quant/bias_correct.h"
#include "quant/calibrate.h"
#include "quant/config.h"
#include "test_util.h"
#include "calib_harness.h"

enum { C = 8, H = 6, W = 6 };

/* x [N,C,H,W] -> depthwise 3x3 Conv (pad 1) with bias -> y: 9 weights per channel, so weight rounding does not
 * average out per channel. */
static oq_model *dw_model(bool with_bias, uint64_t seed) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {-1, C, H, W}, wd[4] = {C, 1, 3, 3}, bd[1] = {C};
    float w[C * 9], b[C];
    for (int i = 0; i < C * 9; i++)
        w[i] = test_rng_uniform(&seed, -1.0f, 1.0f) * (float)(1 + i / 9); /* channels of growing size */
    for (int c = 0; c < C; c++)
        b[c] = test_rng_uniform(&seed, -0.5f, 0.5f);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w", 4, wd, w);
    if (with_bias)
        gb_init_f32(g, "b", 1, bd, b);
    struct oq_node *n = gb_node(g, "Conv", "dw", with_bias ? 3 : 2, (const char *[]){"x", "w", "b"}, 1,
                                (const char *[]){"y"});
    gb_attr_int(n, "group", C);
    gb_attr_ints(n, "kernel_shape", 2, (int64_t[]){3, 3});
    gb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static struct oq_data_source *open_random(const oq_model *m, struct oq_data_input *in) {
    oq_error err = {0};
    CHECK_OK(oq_data_input_from_model(m, 0, in), &err);
    in->shape_ndim = 4;
    int64_t sh[4] = {4, C, H, W};
    memcpy(in->shape, sh, sizeof(sh));
    struct oq_data_options o = oq_data_options_default();
    o.spec = "random:seed=7";
    o.inputs = in;
    o.n_inputs = 1;
    o.batch_size = 4;
    o.max_batches = 6;
    struct oq_data_source *s = NULL;
    CHECK_OK(oq_data_open(&o, &s, &err), &err);
    return s;
}

/* Sums per channel of the output of node "dw" (the Conv, before any Q/DQ on its output). */
struct sums {
    double s[C];
    int64_t per;
};

static int dw_hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                   const oq_tensor_ref *outs) {
    (void)node_index, (void)op_type;
    if (!node_name || strcmp(node_name, "dw") || n_out < 1)
        return 0;
    struct sums *S = user;
    const float *a = outs[0].data;
    int64_t n = outs[0].dims[0];
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < H * W; k++)
                S->s[c] += a[(i * C + c) * H * W + k];
    S->per += n * H * W;
    return 0;
}

/* The largest |mean over the data of FP32 conv output - QDQ conv output| over channels, for the QDQ model made
 * from g. */
static double mean_error(const oq_model *fp, const struct oq_graph *g, const struct oq_quant_plan *plan,
                         struct oq_data_source *src) {
    oq_error err = {0};
    struct oq_graph *gq = oq_graph_clone(g, true);
    struct oq_qdq_options qo = oq_qdq_options_default();
    CHECK_OK(oq_qdq_apply(gq, plan, &qo, &err), &err);
    oq_model *mq = NULL;
    CHECK_OK(oq_model_from_graph(gq, &mq, &err), &err);
    struct sums S[2] = {0};
    oq_session_options so0 = {.num_threads = 1, .no_fusion = 1, .hook = dw_hook, .hook_user = &S[0]};
    oq_session_options so1 = {.num_threads = 1, .no_fusion = 1, .hook = dw_hook, .hook_user = &S[1]};
    oq_session *s0 = NULL, *s1 = NULL;
    CHECK_OK(oq_session_create(fp, &so0, &s0, &err), &err);
    CHECK_OK(oq_session_create(mq, &so1, &s1, &err), &err);
    oq_data_rewind(src);
    for (;;) {
        const oq_tensor_ref *batch;
        int count;
        CHECK_OK(oq_data_next(src, &batch, &count, &err), &err);
        if (count == 0 || !s0 || !s1)
            break;
        CHECK_OK(oq_session_run(s0, 1, batch, &err), &err);
        CHECK_OK(oq_session_run(s1, 1, batch, &err), &err);
    }
    double worst = 0;
    CHECK(S[0].per > 0 && S[0].per == S[1].per);
    for (int c = 0; c < C && S[0].per > 0; c++)
        worst = fmax(worst, fabs((S[0].s[c] - S[1].s[c]) / (double)S[0].per));
    oq_session_free(s0);
    oq_session_free(s1);
    oq_model_free(mq);
    return worst;
}


static void corrects(void) {
    oq_error err = {0};
    oq_model *m = dw_model(true, 11);
    struct oq_data_input in;
    struct oq_data_source *src = m ? open_random(m, &in) : NULL;
    if (!src) {
        oq_model_free(m);
        return;
    }
    struct oq_quant_plan *plan = ch_calibrate(m, true, src); /* per-tensor weights: coarse for the small channels */
    if (!plan) {
        oq_data_close(src);
        oq_model_free(m);
        return;
    }
    const struct oq_graph *g0 = oq_model_graph(m);
    struct oq_graph *g1 = oq_graph_clone(g0, true);
    struct oq_qdq_options qo = oq_qdq_options_default();
    struct oq_bias_correct_stats st;
    CHECK_OK(oq_bias_correct(m, g1, plan, &qo, src, 1, &st, &err), &err);
    CHECK_MSG(st.corrected == 1 && st.batches == 6 && st.no_bias == 0, "corrected %d, batches %lld", st.corrected,
              (long long)st.batches);
    double before = mean_error(m, g0, plan, src), after = mean_error(m, g1, plan, src);
    printf("largest per-channel mean error: %.3g before, %.3g after bias correction\n", before, after);
    /* the int32 bias step: input scale x the per-tensor weight scale (max |w| / 127) */
    float wmax = 0;
    const float *w = g0->values[oq_graph_find_value(g0, "w")].init->data;
    for (int i = 0; i < C * 9; i++)
        wmax = fmaxf(wmax, fabsf(w[i]));
    double step = (double)plan->act[oq_graph_find_value(g0, "x")]->scale[0] * (double)(wmax / 127.0f);
    printf("int32 bias step %.3g\n", step);
    CHECK_MSG(before > 4 * step && after <= step, "before %g after %g, bias step %g", before, after, step);
    /* only the bias moved */
    int vw = oq_graph_find_value(g1, "w"), vb = oq_graph_find_value(g1, "b");
    CHECK(!memcmp(g1->values[vw].init->data, g0->values[vw].init->data, sizeof(float) * C * 9));
    CHECK(memcmp(g1->values[vb].init->data, g0->values[vb].init->data, sizeof(float) * C) != 0);
    oq_graph_free(g1);
    oq_quant_plan_free(plan);
    oq_data_close(src);
    oq_model_free(m);
}

static void no_bias(void) {
    oq_error err = {0};
    oq_model *m = dw_model(false, 12);
    struct oq_data_input in;
    struct oq_data_source *src = m ? open_random(m, &in) : NULL;
    if (!src) {
        oq_model_free(m);
        return;
    }
    struct oq_quant_plan *plan = ch_calibrate(m, false, src);
    if (!plan) {
        oq_data_close(src);
        oq_model_free(m);
        return;
    }
    struct oq_graph *g1 = oq_graph_clone(oq_model_graph(m), true);
    struct oq_qdq_options qo = oq_qdq_options_default();
    struct oq_bias_correct_stats st;
    CHECK_OK(oq_bias_correct(m, g1, plan, &qo, src, 1, &st, &err), &err);
    CHECK(st.corrected == 0 && st.no_bias == 1);
    oq_graph_free(g1);
    oq_quant_plan_free(plan);
    oq_data_close(src);
    oq_model_free(m);
}

int main(void) {
    corrects();
    no_bias();
    TEST_MAIN_END();
}
