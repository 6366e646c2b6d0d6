/* AdaRound (quant/adaround.h) on one quantized layer behind a float "mix" layer that makes the layer's inputs
 * correlated (with independent inputs nearest rounding is already optimal): a Conv with odd sizes and stride 2, a
 * depthwise Conv, a Gemm (transB = 1 and 0) and a MatMul with a batched input. Checked independently of the
 * library's own error bookkeeping, by running the FP32 model and the model with the dequantized weights over the
 * calibration data:
 *   (a) the layer's output error with AdaRound's weights <= with nearest rounding, strictly lower somewhere;
 *   (b) every code the QDQ writer gives the rewritten weights is floor or ceil of w / s (original w and s);
 *   (c) two runs (1 and 2 threads) give bit-identical weights;
 *   (d) the writer's scales for the rewritten weights equal the original ones bit for bit, and each rewritten
 *       weight sits on its code (so the writer's nearest rounding reproduces the chosen code);
 *   (e) bad inputs are clear errors; shared weights are counted and left alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/qmath.h"
#include "data/source.h"
#include "graph_builder.h"
#include "quant/adaround.h"
#include "quant/calibrate.h"
#include "quant/config.h"
#include "test_util.h"
#include "calib_harness.h"

enum kind { K_CONV, K_DW, K_GEMM_T, K_GEMM_N, K_MATMUL };

struct case_def {
    const char *name;
    enum kind kind;
    bool per_tensor;
    int ndim;
    int64_t shape[4]; /* input, batch dim first (replaced by the batch size) */
};

static const struct case_def cases[] = {
    {"conv 5->7 3x3 stride 2 on 7x9", K_CONV, false, 4, {1, 5, 7, 9}},
    {"depthwise 6ch 3x3 per-tensor", K_DW, true, 4, {1, 6, 8, 8}},
    {"gemm transB=1 12->10", K_GEMM_T, false, 2, {1, 12}},
    {"gemm transB=0 12->10 per-tensor", K_GEMM_N, true, 2, {1, 12}},
    {"matmul [N,3,12] x [12,9]", K_MATMUL, false, 3, {1, 3, 12}},
};

static void fill(float *w, int64_t n, uint64_t *seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        w[i] = test_rng_uniform(seed, lo, hi);
}

/* x -> mix (float: channel/feature mixing with a positive bias) -> h -> layer (quantized, weight "w") -> y */
static oq_model *build(const struct case_def *cd, uint64_t seed) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4];
    memcpy(xd, cd->shape, sizeof(xd));
    xd[0] = -1;
    gb_input(g, "x", OQ_DTYPE_FLOAT, cd->ndim, xd);
    float buf[1024], bias[64];
    struct oq_node *n;
    if (cd->kind == K_CONV || cd->kind == K_DW) {
        int64_t c = cd->shape[1], md[4] = {c, c, 1, 1}, bd[1] = {c};
        fill(buf, c * c, &seed, -1, 1);
        fill(bias, c, &seed, 0.5f, 1.5f);
        gb_init_f32(g, "w_mix", 4, md, buf);
        gb_init_f32(g, "b_mix", 1, bd, bias);
        gb_node(g, "Conv", "mix", 3, (const char *[]){"x", "w_mix", "b_mix"}, 1, (const char *[]){"h"});
        int64_t co = cd->kind == K_CONV ? 7 : c, wd[4] = {co, cd->kind == K_CONV ? c : 1, 3, 3}, od[1] = {co};
        fill(buf, wd[0] * wd[1] * 9, &seed, -1, 1);
        fill(bias, co, &seed, -0.2f, 0.2f);
        gb_init_f32(g, "w", 4, wd, buf);
        gb_init_f32(g, "b", 1, od, bias);
        n = gb_node(g, "Conv", "layer", 3, (const char *[]){"h", "w", "b"}, 1, (const char *[]){"y"});
        gb_attr_ints(n, "kernel_shape", 2, (int64_t[]){3, 3});
        gb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
        if (cd->kind == K_CONV)
            gb_attr_ints(n, "strides", 2, (int64_t[]){2, 2});
        else
            gb_attr_int(n, "group", c);
    } else {
        int64_t k = 12, md[2] = {k, k}, bd[1] = {k};
        fill(buf, k * k, &seed, -1, 1);
        fill(bias, k, &seed, 0.5f, 1.5f);
        gb_init_f32(g, "w_mix", 2, md, buf);
        gb_init_f32(g, "b_mix", 1, bd, bias);
        gb_node(g, "MatMul", "mix", 2, (const char *[]){"x", "w_mix"}, 1, (const char *[]){"h0"});
        gb_node(g, "Add", "mix_bias", 2, (const char *[]){"h0", "b_mix"}, 1, (const char *[]){"h"});
        int64_t N = cd->kind == K_MATMUL ? 9 : 10;
        int64_t wd[2] = {cd->kind == K_GEMM_T ? N : k, cd->kind == K_GEMM_T ? k : N}, od[1] = {N};
        fill(buf, N * k, &seed, -1, 1);
        fill(bias, N, &seed, -0.2f, 0.2f);
        gb_init_f32(g, "w", 2, wd, buf);
        if (cd->kind == K_MATMUL) {
            gb_node(g, "MatMul", "layer", 2, (const char *[]){"h", "w"}, 1, (const char *[]){"y"});
        } else {
            gb_init_f32(g, "b", 1, od, bias);
            n = gb_node(g, "Gemm", "layer", 3, (const char *[]){"h", "w", "b"}, 1, (const char *[]){"y"});
            gb_attr_int(n, "transB", cd->kind == K_GEMM_T);
        }
    }
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static struct oq_data_source *open_random(const oq_model *m, const struct case_def *cd, struct oq_data_input *in) {
    oq_error err = {0};
    CHECK_OK(oq_data_input_from_model(m, 0, in), &err);
    in->shape_ndim = cd->ndim;
    memcpy(in->shape, cd->shape, sizeof(cd->shape));
    struct oq_data_options o = oq_data_options_default();
    o.spec = "random:seed=5";
    o.inputs = in;
    o.n_inputs = 1;
    o.batch_size = 4;
    o.max_batches = 3;
    struct oq_data_source *s = NULL;
    CHECK_OK(oq_data_open(&o, &s, &err), &err);
    return s;
}

/* The plan from calibrating m on src; only node "layer" quantized (the mix stays float, so the layer's input in
 * the error measurement below is the FP32 one, as in AdaRound's objective). */
static struct oq_quant_plan *calibrate(const oq_model *m, bool per_tensor, struct oq_data_source *src) {
    struct oq_quant_plan *plan = ch_calibrate(m, per_tensor, src);
    const struct oq_graph *g = oq_model_graph(m);
    for (int i = 0; plan && i < g->n_nodes; i++)
        plan->node[i].quantize = !strcmp(g->nodes[i].name, "layer");
    return plan;
}

/* What the QDQ writer makes of weight "w" in g: codes (as int32) and scales. */
struct wq {
    int64_t n, ns;
    int32_t *code;
    float *scale;
};

static struct wq writer_weight(const struct oq_graph *g, const struct oq_quant_plan *plan) {
    struct wq r = {0};
    oq_error err = {0};
    struct oq_graph *gq = oq_graph_clone(g, true);
    struct oq_qdq_options qo = oq_qdq_options_default();
    CHECK_OK(oq_qdq_apply(gq, plan, &qo, &err), &err);
    int vq = oq_graph_find_value(gq, "w_quantized"), vs = oq_graph_find_value(gq, "w_scale");
    CHECK(vq >= 0 && vs >= 0 && gq->values[vq].init && gq->values[vs].init);
    if (vq >= 0 && vs >= 0 && gq->values[vq].init && gq->values[vs].init) {
        const struct oq_tensor *q = gq->values[vq].init, *s = gq->values[vs].init;
        CHECK(q->dtype == OQ_DTYPE_INT8 && s->dtype == OQ_DTYPE_FLOAT);
        r.n = oq_tensor_numel(q);
        r.ns = oq_tensor_numel(s);
        r.code = malloc(sizeof(int32_t) * (size_t)r.n);
        r.scale = malloc(sizeof(float) * (size_t)r.ns);
        for (int64_t i = 0; i < r.n; i++)
            r.code[i] = ((const int8_t *)q->data)[i];
        memcpy(r.scale, s->data, sizeof(float) * (size_t)r.ns);
    }
    oq_graph_free(gq);
    return r;
}

/* The scale index of weight element i: per tensor 0, else its output channel (Conv / Gemm transB: the row;
 * Gemm / MatMul [K, N]: the column). */
static int64_t scale_index(const struct case_def *cd, const struct wq *q, int64_t i, const int64_t *wdims) {
    if (q->ns == 1)
        return 0;
    if (cd->kind == K_CONV || cd->kind == K_DW || cd->kind == K_GEMM_T)
        return i / (q->n / wdims[0]);
    return i % wdims[1];
}

/* sum over the data of ||y(weights) - y_fp32||^2, where y(weights) is the model with w replaced by the
 * dequantized codes q. */
static double layer_error(const oq_model *fp, const struct case_def *cd, const struct wq *q, const int64_t *wdims,
                          struct oq_data_source *src) {
    oq_error err = {0};
    struct oq_graph *g = oq_graph_clone(oq_model_graph(fp), true);
    float *w = g->values[oq_graph_find_value(g, "w")].init->data;
    for (int64_t i = 0; i < q->n; i++)
        w[i] = (float)q->code[i] * q->scale[scale_index(cd, q, i, wdims)];
    oq_model *mq = NULL;
    CHECK_OK(oq_model_from_graph(g, &mq, &err), &err);
    oq_session_options so = {.num_threads = 1};
    oq_session *s0 = NULL, *s1 = NULL;
    CHECK_OK(oq_session_create(fp, &so, &s0, &err), &err);
    CHECK_OK(oq_session_create(mq, &so, &s1, &err), &err);
    double e = 0;
    oq_data_rewind(src);
    while (s0 && s1) {
        const oq_tensor_ref *batch;
        int count;
        CHECK_OK(oq_data_next(src, &batch, &count, &err), &err);
        if (count == 0)
            break;
        CHECK_OK(oq_session_run(s0, 1, batch, &err), &err);
        CHECK_OK(oq_session_run(s1, 1, batch, &err), &err);
        oq_tensor_ref y0, y1;
        CHECK_OK(oq_session_output(s0, 0, &y0), &err);
        CHECK_OK(oq_session_output(s1, 0, &y1), &err);
        int64_t n = 1;
        for (int d = 0; d < y0.ndim; d++)
            n *= y0.dims[d];
        for (int64_t i = 0; i < n; i++) {
            double d = (double)((const float *)y1.data)[i] - ((const float *)y0.data)[i];
            e += d * d;
        }
    }
    oq_session_free(s0);
    oq_session_free(s1);
    oq_model_free(mq);
    return e;
}

static int run_case(const struct case_def *cd, uint64_t seed) {
    oq_error err = {0};
    oq_model *m = build(cd, seed);
    struct oq_data_input in;
    struct oq_data_source *src = m ? open_random(m, cd, &in) : NULL;
    struct oq_quant_plan *plan = src ? calibrate(m, cd->per_tensor, src) : NULL;
    int better = 0;
    if (!plan)
        goto done;
    const struct oq_graph *g0 = oq_model_graph(m);
    const struct oq_tensor *w0 = g0->values[oq_graph_find_value(g0, "w")].init;
    struct oq_graph *g1 = oq_graph_clone(g0, true), *g2 = oq_graph_clone(g0, true);
    struct oq_adaround_options o = oq_adaround_options_default();
    struct oq_adaround_stats st, st2;
    o.threads = 2;
    CHECK_OK(oq_adaround(m, g1, plan, NULL, src, &o, &st, &err), &err);
    o.threads = 1;
    CHECK_OK(oq_adaround(m, g2, plan, NULL, src, &o, &st2, &err), &err);
    const struct oq_tensor *w1 = g1->values[oq_graph_find_value(g1, "w")].init;
    const struct oq_tensor *w2 = g2->values[oq_graph_find_value(g2, "w")].init;
    int64_t n = oq_tensor_numel(w0);
    /* (c) */
    CHECK_MSG(!memcmp(w1->data, w2->data, sizeof(float) * (size_t)n), "%s: 1 and 2 threads differ", cd->name);
    CHECK_MSG(st.rounded + st.kept_nearest == 1 && st.passes == 1 && st.batches == 3 && st.skipped_shared == 0 &&
                  st.skipped_unsupported == 0,
              "%s: rounded %d kept %d passes %d batches %lld unsupported %d", cd->name, st.rounded, st.kept_nearest,
              st.passes, (long long)st.batches, st.skipped_unsupported);
    struct wq qn = writer_weight(g0, plan), qa = writer_weight(g1, plan);
    if (!qn.code || !qa.code || qn.n != n || qa.n != n || qn.ns != qa.ns) {
        CHECK_MSG(false, "%s: writer output not as expected", cd->name);
        goto free_wq;
    }
    /* (d) the same scales, bit for bit */
    CHECK_MSG(!memcmp(qn.scale, qa.scale, sizeof(float) * (size_t)qn.ns), "%s: the writer's scale moved",
              cd->name);
    int bad_code = 0, off_code = 0, changed = 0;
    for (int64_t i = 0; i < n; i++) {
        float s = qn.scale[scale_index(cd, &qn, i, w0->dims)];
        double x = (double)((const float *)w0->data)[i] / (double)s, f = floor(x);
        int32_t c = qa.code[i];
        bad_code += c != (int32_t)f && c != (int32_t)f + 1; /* (b) */
        double on = (double)((const float *)w1->data)[i] / (double)s;
        off_code += fabs(on - (double)c) > 1e-3 && st.rounded; /* (d) the rewritten weight is on its code */
        changed += c != qn.code[i];
    }
    CHECK_MSG(bad_code == 0, "%s: %d codes are neither floor nor ceil of w/s", cd->name, bad_code);
    CHECK_MSG(off_code == 0, "%s: %d rewritten weights are not on their code", cd->name, off_code);
    /* (a) */
    double en = layer_error(m, cd, &qn, w0->dims, src), ea = layer_error(m, cd, &qa, w0->dims, src);
    printf("%-34s %s: output error nearest %.5g, AdaRound %.5g (%.1f%% lower; library: %.1f%%), %d of %lld codes "
           "differ, %.3f s\n", cd->name, st.rounded ? "rounded" : "kept nearest", en, ea, 100 * (1 - ea / en),
           100 * st.mean_rel_reduction, changed, (long long)n, st.seconds);
    CHECK_MSG(ea <= en * (1 + 1e-6), "%s: AdaRound's error %g above nearest's %g", cd->name, ea, en);
    CHECK_MSG(!st.rounded || changed > 0, "%s: rounded but no code changed", cd->name);
    better = st.rounded && ea < 0.8 * en;
free_wq:
    free(qn.code), free(qn.scale), free(qa.code), free(qa.scale);
    oq_graph_free(g1);
    oq_graph_free(g2);
done:
    oq_quant_plan_free(plan);
    oq_data_close(src);
    oq_model_free(m);
    return better;
}

/* A weight read by two MatMuls is left alone and counted; NULL data and a plan of another graph are refused. */
static void bad_inputs(void) {
    oq_error err = {0};
    struct oq_graph *g = gb_new(13);
    int64_t xd[2] = {-1, 4}, wd[2] = {4, 3};
    float w[12];
    uint64_t seed = 3;
    fill(w, 12, &seed, -1, 1);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, xd);
    gb_init_f32(g, "w", 2, wd, w);
    gb_node(g, "MatMul", "a", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"y"});
    gb_node(g, "MatMul", "b", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"z"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "z", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    if (!m)
        return;
    struct case_def cd = {"shared", K_GEMM_T, false, 2, {1, 4}};
    struct oq_data_input in;
    struct oq_data_source *src = open_random(m, &cd, &in);
    struct oq_quant_plan *plan = src ? calibrate(m, false, src) : NULL;
    if (plan) {
        for (int i = 0; i < plan->n_nodes; i++)
            plan->node[i].quantize = true;
        struct oq_graph *g1 = oq_graph_clone(oq_model_graph(m), true);
        struct oq_adaround_stats st;
        CHECK_OK(oq_adaround(m, g1, plan, NULL, src, NULL, &st, &err), &err);
        CHECK_MSG(st.skipped_shared == 2 && st.rounded == 0 && st.kept_nearest == 0, "shared %d",
                  st.skipped_shared);
        CHECK(!memcmp(g1->values[oq_graph_find_value(g1, "w")].init->data, w, sizeof(w)));
        err = (oq_error){0};
        CHECK(oq_adaround(m, g1, plan, NULL, NULL, NULL, &st, &err) == OQ_ERR_ARG && strstr(err.msg, "NULL"));
        struct oq_quant_plan *other = oq_quant_plan_new(plan->n_values + 1, plan->n_nodes);
        err = (oq_error){0};
        CHECK(other && oq_adaround(m, g1, other, NULL, src, NULL, &st, &err) == OQ_ERR_ARG &&
              strstr(err.msg, "another graph"));
        printf("refused: %s\n", err.msg);
        oq_quant_plan_free(other);
        oq_graph_free(g1);
    }
    oq_quant_plan_free(plan);
    oq_data_close(src);
    oq_model_free(m);
}

int main(void) {
    int better = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        better += run_case(&cases[i], 100 + i);
    /* 500 steps, lambda 10: 38-68% lower on each case; 0.01 (the paper's value in its units) leaves h soft and
     * then wins on 3 of 5 cases by 5-19% */
    CHECK_MSG(better >= 3, "AdaRound was at least 20%% better than nearest rounding on %d cases, not >= 3", better);
    bad_inputs();
    TEST_MAIN_END();
}
