/* High-bias absorption (quant/equalize.h, oq_equalize_absorb_bias) on x -> conv1 -> Relu -> dw (depthwise, no
 * bias) -> Relu -> conv3 (grouped 1x1) -> conv4 (1x1, no bias, no activation between), with large positive
 * biases on some channels:
 *   (a) after equalization and absorption the FP32 outputs on the calibration data are unchanged (relative
 *       1e-5); all three pairs absorb (Relu + depthwise Conv2, Relu + grouped Conv2, identity), dw and conv4 get
 *       a "<node>_bias_absorbed" bias, and channels that go negative on the data are left alone;
 *   (b) conv1's largest |bias| falls, and so does the per-tensor uint8 quantization error of its output;
 *   (c) a Conv2 that pads (dw with pads 1) is skipped and counted, conv1's bias is untouched, the outputs are
 *       unchanged and the other pairs still absorb;
 *   (d) bad input: no model, no data source, data of the wrong shape (an error that says what was being done,
 *       nothing changed); the config key (implies equalize, conflicts, types, JSON round trip) and the
 *       quantizer API's refusal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/source.h"
#include "graph_builder.h"
#include "onnxq/onnxq_quant.h"
#include "quant/config.h"
#include "quant/equalize.h"
#include "test_util.h"

enum { CI = 3, C1 = 6, C3 = 4, C4 = 5, H = 8, W = 8, BATCH = 4, BATCHES = 5 };

static void fill(float *v, int n, uint64_t *seed, float lo, float hi) {
    for (int i = 0; i < n; i++)
        v[i] = test_rng_uniform(seed, lo, hi);
}

/* The chain; dw_pads: dw pads its input by 1. ci: the input's channels (another value makes data of the wrong
 * shape for the others). */
static oq_model *build(bool dw_pads, int ci) {
    uint64_t seed = 21;
    struct oq_graph *g = gb_new(13);
    float w1[C1 * CI * 9], b1[C1], w2[C1 * 9], w3[C3 * (C1 / 2)], b3[C3], w4[C4 * C3];
    fill(w1, C1 * CI * 9, &seed, -0.1f, 0.1f); /* |W1 x| <= 2.7 on x in [-1, 1) */
    for (int c = 0; c < C1; c++) /* even channels: 8..20, never below 5 on any input; odd: around 0 */
        b1[c] = c % 2 ? test_rng_uniform(&seed, -0.3f, 0.3f) : test_rng_uniform(&seed, 8, 20);
    for (int i = 0; i < C1 * 9; i++) /* even channels of dw: positive weights on a positive input */
        w2[i] = (i / 9) % 2 ? test_rng_uniform(&seed, -0.5f, 0.5f) : test_rng_uniform(&seed, 0.1f, 0.5f);
    fill(w3, C3 * (C1 / 2), &seed, -0.02f, 0.02f);
    for (int c = 0; c < C3; c++)
        b3[c] = c % 2 ? test_rng_uniform(&seed, -0.2f, 0.2f) : test_rng_uniform(&seed, 6, 10);
    fill(w4, C4 * C3, &seed, -1, 1);
    int64_t xd[4] = {-1, ci, H, W}, w1d[4] = {C1, CI, 3, 3}, c1d[1] = {C1}, w2d[4] = {C1, 1, 3, 3},
            w3d[4] = {C3, C1 / 2, 1, 1}, c3d[1] = {C3}, w4d[4] = {C4, C3, 1, 1};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w1", 4, w1d, w1);
    gb_init_f32(g, "b1", 1, c1d, b1);
    gb_init_f32(g, "w2", 4, w2d, w2);
    gb_init_f32(g, "w3", 4, w3d, w3);
    gb_init_f32(g, "b3", 1, c3d, b3);
    gb_init_f32(g, "w4", 4, w4d, w4);
    gb_attr_ints(gb_node(g, "Conv", "conv1", 3, (const char *[]){"x", "w1", "b1"}, 1, (const char *[]){"c1"}),
                 "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_node(g, "Relu", "relu1", 1, (const char *[]){"c1"}, 1, (const char *[]){"r1"});
    struct oq_node *n = gb_node(g, "Conv", "dw", 2, (const char *[]){"r1", "w2"}, 1, (const char *[]){"c2"});
    gb_attr_int(n, "group", C1);
    if (dw_pads)
        gb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_node(g, "Relu", "relu2", 1, (const char *[]){"c2"}, 1, (const char *[]){"r2"});
    gb_attr_int(gb_node(g, "Conv", "conv3", 3, (const char *[]){"r2", "w3", "b3"}, 1, (const char *[]){"c3"}),
                "group", 2);
    gb_node(g, "Conv", "conv4", 2, (const char *[]){"c3", "w4"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static struct oq_data_source *open_random(const oq_model *m) {
    oq_error err = {0};
    struct oq_data_input in;
    CHECK_OK(oq_data_input_from_model(m, 0, &in), &err);
    in.shape_ndim = in.ndim;
    in.shape[0] = BATCH;
    for (int d = 1; d < in.ndim; d++)
        in.shape[d] = in.dims[d];
    struct oq_data_options o = oq_data_options_default();
    o.spec = "random:seed=7";
    o.inputs = &in;
    o.n_inputs = 1;
    o.batch_size = BATCH;
    o.max_batches = BATCHES;
    struct oq_data_source *s = NULL;
    CHECK_OK(oq_data_open(&o, &s, &err), &err);
    return s;
}

static oq_status absorb(oq_model *m, bool equalize_first, struct oq_absorb_bias_stats *st, oq_error *err) {
    if (equalize_first) {
        struct oq_equalize_stats es;
        CHECK_OK(oq_equalize(m->g, &es, err), err);
        CHECK(es.pairs == 3);
    }
    struct oq_data_source *src = open_random(m);
    oq_status s = oq_equalize_absorb_bias(m, src, 1, st, err);
    oq_data_close(src);
    return s;
}

/* Growing float buffer. */
struct buf {
    float *v;
    int64_t n;
};

static void buf_add(struct buf *b, const float *v, int64_t n) {
    b->v = realloc(b->v, sizeof(float) * (size_t)(b->n + n));
    CHECK(b->v != NULL);
    memcpy(b->v + b->n, v, sizeof(float) * (size_t)n);
    b->n += n;
}

struct capture {
    const char *name;
    struct buf *b;
};

static int cap_hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                    const oq_tensor_ref *outs) {
    (void)node_index, (void)node_name, (void)op_type;
    struct capture *c = user;
    for (int k = 0; k < n_out; k++)
        if (c->name && outs[k].name && !strcmp(outs[k].name, c->name))
            buf_add(c->b, outs[k].data, oq_shape_numel(outs[k].ndim, outs[k].dims));
    return 0;
}

/* m's output y (and tensor `name`, if given, into t) on every batch of the calibration data. */
static void run_data(const oq_model *m, struct buf *y, const char *name, struct buf *t) {
    struct capture c = {.name = name, .b = t};
    oq_session_options so = oq_session_options_default();
    so.no_fusion = 1;
    so.hook = cap_hook;
    so.hook_user = &c;
    oq_session *s = NULL;
    oq_error err = {0};
    CHECK_OK(oq_session_create(m, &so, &s, &err), &err);
    struct oq_data_source *src = open_random(m);
    const oq_tensor_ref *batch;
    int count;
    while (!oq_data_next(src, &batch, &count, &err) && count > 0) {
        CHECK_OK(oq_session_run(s, 1, batch, &err), &err);
        oq_tensor_ref out;
        CHECK(oq_session_output(s, 0, &out) == OQ_OK);
        buf_add(y, out.data, oq_shape_numel(out.ndim, out.dims));
    }
    oq_data_close(src);
    oq_session_free(s);
}

static double max_rel_diff(const struct buf *a, const struct buf *b) {
    CHECK(a->n == b->n && a->n > 0);
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < a->n && i < b->n; i++)
        worst = fmax(worst, fabs((double)a->v[i] - (double)b->v[i])), scale = fmax(scale, fabs((double)a->v[i]));
    return scale > 0 ? worst / scale : INFINITY;
}

static const struct oq_tensor *bias_of(const oq_model *m, const char *node) {
    const struct oq_graph *g = m->g;
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, node))
            return g->nodes[i].n_in > 2 && g->nodes[i].in[2] >= 0 ? g->values[g->nodes[i].in[2]].init : NULL;
    return NULL;
}

/* (a) */
static void check_unchanged(void) {
    oq_model *m0 = build(false, CI), *m1 = build(false, CI);
    struct oq_absorb_bias_stats st;
    oq_error err = {0};
    CHECK_OK(absorb(m1, true, &st, &err), &err);
    struct buf y0 = {0}, y1 = {0};
    run_data(m0, &y0, NULL, NULL);
    run_data(m1, &y1, NULL, NULL);
    double d = max_rel_diff(&y0, &y1);
    printf("chain: %d of %d pairs absorbed, %d channels, %d biases created, %lld batches, max |b1| %.3g -> %.3g, "
           "range %.3g -> %.3g ('%s'); max rel diff on the data %.2g\n",
           st.absorbed_pairs, st.pairs, st.channels, st.created_biases, (long long)st.batches, st.max_bias_before,
           st.max_bias_after, st.range_before, st.range_after, st.layer, d);
    CHECK_MSG(d <= 1e-5, "outputs on the calibration data moved by %g (relative)", d);
    CHECK_MSG(st.pairs == 3 && st.absorbed_pairs == 3 && st.skip_padding == 0 && st.skip_not_seen == 0,
              "pairs %d absorbed %d padding %d not seen %d", st.pairs, st.absorbed_pairs, st.skip_padding,
              st.skip_not_seen);
    /* conv1: the 3 even channels; dw: at least its 3 positive ones; conv3: its 2 high-bias ones (conv3 reads a
     * Relu, so its other channels may stay positive too); never the odd conv1 channels, which cross 0 */
    CHECK_MSG(st.channels >= 8 && st.channels < C1 + C1 + C3, "%d channels", st.channels);
    CHECK_MSG(st.created_biases == 2 && st.batches == BATCHES, "created %d, batches %lld", st.created_biases,
              (long long)st.batches);
    const struct oq_tensor *bdw = bias_of(m1, "dw"), *b4 = bias_of(m1, "conv4");
    CHECK(bdw && !strcmp(bdw->name, "dw_bias_absorbed") && oq_tensor_numel(bdw) == C1);
    CHECK(b4 && !strcmp(b4->name, "conv4_bias_absorbed") && oq_tensor_numel(b4) == C4);
    CHECK(oq_graph_find_value(m1->g, "conv4_bias_absorbed") >= 0);
    /* the odd conv1 channels are left alone: equalization only rescales them, it cannot shift them */
    const float *b1_0 = bias_of(m0, "conv1")->data, *b1_1 = bias_of(m1, "conv1")->data;
    for (int c = 1; c < C1; c += 2)
        CHECK_MSG(b1_0[c] * b1_1[c] > 0, "odd channel %d: bias %g -> %g", c, (double)b1_0[c], (double)b1_1[c]);
    free(y0.v), free(y1.v);
    oq_model_free(m0);
    oq_model_free(m1);
}

/* Per-tensor uint8 asymmetric quantization (range holds 0): RMS error of the round trip. */
static double u8_rms_error(const struct buf *x) {
    double lo = 0, hi = 0;
    for (int64_t i = 0; i < x->n; i++)
        lo = fmin(lo, x->v[i]), hi = fmax(hi, x->v[i]);
    double s = (hi - lo) / 255, zp = nearbyint(-lo / s), e = 0;
    for (int64_t i = 0; i < x->n; i++) {
        double q = fmin(fmax(nearbyint(x->v[i] / s) + zp, 0), 255);
        e += ((q - zp) * s - x->v[i]) * ((q - zp) * s - x->v[i]);
    }
    return sqrt(e / (double)x->n);
}

/* (b) */
static void check_range(void) {
    oq_model *m0 = build(false, CI), *m1 = build(false, CI);
    struct oq_absorb_bias_stats st;
    oq_error err = {0};
    CHECK_OK(absorb(m1, false, &st, &err), &err);
    struct buf y0 = {0}, y1 = {0}, c0 = {0}, c1 = {0};
    run_data(m0, &y0, "c1", &c0);
    run_data(m1, &y1, "c1", &c1);
    double bmax0 = 0, bmax1 = 0;
    const float *b0 = bias_of(m0, "conv1")->data, *b1 = bias_of(m1, "conv1")->data;
    for (int c = 0; c < C1; c++)
        bmax0 = fmax(bmax0, fabs(b0[c])), bmax1 = fmax(bmax1, fabs(b1[c]));
    double e0 = u8_rms_error(&c0), e1 = u8_rms_error(&c1), d = max_rel_diff(&y0, &y1);
    printf("conv1: max |b1| %.3g -> %.3g; uint8 per-tensor RMS error of its output %.4g -> %.4g; max rel diff %.2g\n",
           bmax0, bmax1, e0, e1, d);
    CHECK_MSG(bmax0 > 8 && bmax1 < 0.5 * bmax0, "max |b1| %g -> %g", bmax0, bmax1);
    CHECK_MSG(e1 < 0.6 * e0, "uint8 error of conv1's output %g -> %g", e0, e1);
    CHECK_MSG(d <= 1e-5, "outputs moved by %g", d);
    CHECK(fabs(st.max_bias_before - bmax0) < 1e-6 * bmax0 && st.range_after < st.range_before);
    free(y0.v), free(y1.v), free(c0.v), free(c1.v);
    oq_model_free(m0);
    oq_model_free(m1);
}

/* (c) */
static void check_padding(void) {
    oq_model *m0 = build(true, CI), *m1 = build(true, CI);
    struct oq_absorb_bias_stats st;
    oq_error err = {0};
    CHECK_OK(absorb(m1, false, &st, &err), &err);
    struct buf y0 = {0}, y1 = {0};
    run_data(m0, &y0, NULL, NULL);
    run_data(m1, &y1, NULL, NULL);
    double d = max_rel_diff(&y0, &y1);
    printf("dw pads 1: %d of %d pairs absorbed, %d skipped for padding; max rel diff %.2g\n", st.absorbed_pairs,
           st.pairs, st.skip_padding, d);
    CHECK_MSG(st.skip_padding == 1 && st.absorbed_pairs == 2, "padding %d absorbed %d", st.skip_padding,
              st.absorbed_pairs);
    CHECK(memcmp(bias_of(m0, "conv1")->data, bias_of(m1, "conv1")->data, sizeof(float) * C1) == 0);
    CHECK_MSG(d <= 1e-5, "outputs moved by %g", d);
    free(y0.v), free(y1.v);
    oq_model_free(m0);
    oq_model_free(m1);
}

/* (d) */
static void check_bad_inputs(void) {
    oq_model *m = build(false, CI), *other = build(false, CI + 1);
    struct oq_absorb_bias_stats st;
    oq_error err = {0};
    struct oq_data_source *src = open_random(m);
    CHECK(oq_equalize_absorb_bias(NULL, src, 1, &st, &err) == OQ_ERR_ARG && strstr(err.msg, "no model"));
    oq_data_close(src);
    err = (oq_error){0};
    CHECK(oq_equalize_absorb_bias(m, NULL, 1, &st, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "--data") && strstr(err.msg, "test-graph"), "message: %s", err.msg);
    /* data for another model: the measuring pass fails, says so, and nothing changed */
    float b1[C1];
    memcpy(b1, bias_of(m, "conv1")->data, sizeof(b1));
    src = open_random(other);
    err = (oq_error){0};
    oq_status s = oq_equalize_absorb_bias(m, src, 1, &st, &err);
    oq_data_close(src);
    CHECK_MSG(s != OQ_OK && strstr(err.msg, "high-bias absorption, measuring"), "status %d: %s", s, err.msg);
    CHECK(memcmp(b1, bias_of(m, "conv1")->data, sizeof(b1)) == 0 && !bias_of(m, "dw") && !bias_of(m, "conv4"));

    /* config: implies equalize, refuses a contradiction and a wrong type, round-trips */
    struct oq_quant_config *c = NULL;
    CHECK_OK(oq_quant_config_parse("{\"equalize_absorb_bias\": true}", "t", &c, &err), &err);
    CHECK(c->equalize_absorb_bias && c->equalize);
    char *json = oq_quant_config_to_json(c, NULL);
    oq_quant_config_free(c);
    CHECK(json && strstr(json, "\"equalize_absorb_bias\":\ttrue"));
    CHECK_OK(oq_quant_config_parse(json, "t", &c, &err), &err);
    CHECK(c->equalize_absorb_bias && c->equalize);
    oq_quant_config_free(c);
    free(json);
    c = oq_quant_config_default();
    CHECK(c && !c->equalize_absorb_bias && !c->equalize); /* off by default */
    oq_quant_config_free(c);
    const char *wrong[] = {"{\"equalize\": false, \"equalize_absorb_bias\": true}", "{\"equalize_absorb_bias\": 1}"};
    const char *says[] = {"equalize_absorb_bias is true but equalize is false", "equalize_absorb_bias"};
    for (int i = 0; i < 2; i++) {
        err = (oq_error){0};
        c = NULL;
        CHECK(oq_quant_config_parse(wrong[i], "cfg.json", &c, &err) == OQ_ERR_ARG && !c);
        CHECK_MSG(strstr(err.msg, says[i]) && strstr(err.msg, "cfg.json"), "%s: %s", wrong[i], err.msg);
    }
    /* the quantizer API sees each batch once: a clear refusal naming the CLI flag */
    oq_quantizer *q = NULL;
    err = (oq_error){0};
    CHECK(oq_quantizer_create(m, "{\"equalize_absorb_bias\": true}", NULL, &q, &err) == OQ_ERR_ARG && !q);
    CHECK_MSG(strstr(err.msg, "equalize_absorb_bias") && strstr(err.msg, "--absorb-bias"), "message: %s", err.msg);
    oq_model_free(m);
    oq_model_free(other);
}

int main(void) {
    check_unchanged();
    check_range();
    check_padding();
    check_bad_inputs();
    TEST_MAIN_END();
}
