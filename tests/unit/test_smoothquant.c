/* SmoothQuant (quant/smoothquant.h) on small graphs built in memory:
 *   (a) the FP32 outputs are unchanged (relative 1e-5) when 1/s is folded into a Mul + Add (a decomposed
 *       LayerNorm's affine part), a LayerNormalization, a Gemm producer whose output is shared by a MatMul and a
 *       Gemm (one s for both), and when it needs an inserted Mul (X also read by a Relu, and X a graph input);
 *   (b) with one activation channel 100x the others, the channel range ratio falls and the int8 output error of
 *       the layer (per-tensor X, per-column weights) falls at alpha 0.5;
 *   (c) alpha 0 gives s_k = 1 / w_k (every row of B then has max |.| 1); alpha 1 makes every activation
 *       channel's range the same; the scale's guards (0, denormal, NaN, Inf, clamp);
 *   (d) bad input: alpha outside [0, 1] (API, config JSON, CLI-style parse), no data source; layers without a
 *       constant weight or left in float by the config are counted and left alone. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/source.h"
#include "graph_builder.h"
#include "onnxq/onnxq_quant.h"
#include "quant/config.h"
#include "quant/smoothquant.h"
#include "test_util.h"

enum { T = 5, K = 8, N = 6, K0 = 7, BATCH = 4 };

enum kind { MUL_ADD, LAYERNORM, SHARED_GEMM, INSERT_RELU, INSERT_INPUT, ATTENTION };

static void fill(float *v, int n, uint64_t *seed, float lo, float hi) {
    for (int i = 0; i < n; i++)
        v[i] = test_rng_uniform(seed, lo, hi);
}

/* The graphs; outlier: gamma of channel 3 is 100x the others (MUL_ADD only). */
static oq_model *build(enum kind kind, float outlier) {
    uint64_t seed = 11 + (uint64_t)kind;
    struct oq_graph *g = gb_new(17);
    float gamma[K], beta[K], b[K * N], b2[K * N], w0[K * K0], c0[K], c2[N];
    fill(gamma, K, &seed, 0.5f, 1.5f);
    fill(beta, K, &seed, -0.5f, 0.5f);
    fill(b, K * N, &seed, -1, 1);
    fill(b2, K * N, &seed, -1, 1);
    fill(w0, K * K0, &seed, -1, 1);
    fill(c0, K, &seed, -0.3f, 0.3f);
    fill(c2, N, &seed, -0.3f, 0.3f);
    gamma[3] *= outlier;
    beta[3] *= outlier;
    int64_t kd[1] = {K}, bd[2] = {K, N}, btd[2] = {N, K}, nd[1] = {N};
    if (kind == SHARED_GEMM) {
        /* x [M, K0] -> Gemm(transB, W0 [K, K0], c0) = X -> MatMul(X, B) = y and Gemm(X, B2^T, c2, transB) = y2 */
        int64_t xd[2] = {-1, K0}, w0d[2] = {K, K0};
        gb_input(g, "x", OQ_DTYPE_FLOAT, 2, xd);
        gb_init_f32(g, "w0", 2, w0d, w0);
        gb_init_f32(g, "c0", 1, kd, c0);
        gb_init_f32(g, "b", 2, bd, b);
        gb_init_f32(g, "b2", 2, btd, b2);
        gb_init_f32(g, "c2", 1, nd, c2);
        gb_attr_int(gb_node(g, "Gemm", "proj", 3, (const char *[]){"x", "w0", "c0"}, 1, (const char *[]){"X"}),
                    "transB", 1);
        gb_node(g, "MatMul", "q", 2, (const char *[]){"X", "b"}, 1, (const char *[]){"y"});
        gb_attr_int(gb_node(g, "Gemm", "k", 3, (const char *[]){"X", "b2", "c2"}, 1, (const char *[]){"y2"}),
                    "transB", 1);
        gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
        gb_output(g, "y2", OQ_DTYPE_FLOAT, -1, NULL);
    } else {
        int64_t xd[3] = {-1, T, K};
        gb_input(g, "x", OQ_DTYPE_FLOAT, 3, xd);
        gb_init_f32(g, "b", 2, bd, b);
        const char *xname = "X";
        if (kind == MUL_ADD || kind == ATTENTION) {
            gb_init_f32(g, "gamma", 1, kd, gamma);
            gb_init_f32(g, "beta", 1, kd, beta);
            gb_node(g, "Mul", "ln_mul", 2, (const char *[]){"x", "gamma"}, 1, (const char *[]){"xg"});
            gb_node(g, "Add", "ln_add", 2, (const char *[]){"xg", "beta"}, 1, (const char *[]){"X"});
        } else if (kind == LAYERNORM) {
            gb_init_f32(g, "gamma", 1, kd, gamma);
            gb_init_f32(g, "beta", 1, kd, beta);
            gb_attr_int(gb_node(g, "LayerNormalization", "ln", 3, (const char *[]){"x", "gamma", "beta"}, 1,
                                (const char *[]){"X"}),
                        "axis", -1);
        } else if (kind == INSERT_RELU) {
            /* X = Sigmoid(x) also read by a Relu: no producer to fold into */
            gb_node(g, "Sigmoid", "sig", 1, (const char *[]){"x"}, 1, (const char *[]){"X"});
            gb_node(g, "Relu", "side", 1, (const char *[]){"X"}, 1, (const char *[]){"z"});
            gb_output(g, "z", OQ_DTYPE_FLOAT, -1, NULL);
        } else {
            xname = "x"; /* the graph input itself */
        }
        gb_node(g, "MatMul", "fc", 2, (const char *[]){xname, "b"}, 1, (const char *[]){"y"});
        if (kind == ATTENTION) {
            /* activation x activation (X X^T): no weight, left alone */
            gb_attr_ints(gb_node(g, "Transpose", "tr", 1, (const char *[]){"X"}, 1, (const char *[]){"Xt"}), "perm",
                         3, (int64_t[]){0, 2, 1});
            gb_node(g, "MatMul", "att", 2, (const char *[]){"X", "Xt"}, 1, (const char *[]){"a"});
            gb_output(g, "a", OQ_DTYPE_FLOAT, -1, NULL);
        }
        gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    }
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static struct oq_data_source *open_random(const oq_model *m, struct oq_data_input *in) {
    oq_error err = {0};
    CHECK_OK(oq_data_input_from_model(m, 0, in), &err);
    in->shape_ndim = in->ndim;
    in->shape[0] = BATCH;
    for (int d = 1; d < in->ndim; d++)
        in->shape[d] = in->dims[d];
    struct oq_data_options o = oq_data_options_default();
    o.spec = "random:seed=3";
    o.inputs = in;
    o.n_inputs = 1;
    o.batch_size = BATCH;
    o.max_batches = 5;
    struct oq_data_source *s = NULL;
    CHECK_OK(oq_data_open(&o, &s, &err), &err);
    return s;
}

static oq_status smooth(oq_model *m, struct oq_quant_config *cfg, float alpha, bool fold_only,
                        struct oq_smoothquant_stats *st, oq_error *err) {
    struct oq_data_input in;
    struct oq_data_source *src = open_random(m, &in);
    struct oq_smoothquant_options o = {.alpha = alpha, .threads = 1, .fold_only = fold_only};
    oq_status s = oq_smoothquant(m, cfg, &o, src, st, err);
    oq_data_close(src);
    return s;
}

/* Captured values of one tensor by name (the hook). */
struct capture {
    const char *name;
    float *data;
    int64_t n;
};

static int cap_hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                    const oq_tensor_ref *outs) {
    (void)node_index, (void)node_name, (void)op_type;
    struct capture *c = user;
    for (int k = 0; k < n_out; k++)
        if (c->name && outs[k].name && !strcmp(outs[k].name, c->name)) {
            c->n = oq_shape_numel(outs[k].ndim, outs[k].dims);
            c->data = malloc(sizeof(float) * (size_t)c->n);
            memcpy(c->data, outs[k].data, sizeof(float) * (size_t)c->n);
        }
    return 0;
}

/* Run m on a fixed input; outputs concatenated into y (cap entries), returns their count; cap->name captured. */
static int64_t run(const oq_model *m, float *y, int64_t cap, struct capture *c) {
    oq_session *s = NULL;
    oq_error err = {0};
    oq_session_options so = oq_session_options_default();
    so.no_fusion = 1;
    so.hook = cap_hook;
    so.hook_user = c;
    CHECK_OK(oq_session_create(m, &so, &s, &err), &err);
    oq_tensor_ref in0;
    CHECK_OK(oq_model_input(m, 0, &in0), &err);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = in0.ndim};
    in.dims[0] = 3;
    for (int d = 1; d < in0.ndim; d++)
        in.dims[d] = in0.dims[d];
    int64_t nx = oq_shape_numel(in.ndim, in.dims);
    float *x = malloc(sizeof(float) * (size_t)nx);
    uint64_t seed = 99;
    fill(x, (int)nx, &seed, -1, 1);
    in.data = x;
    CHECK_OK(oq_session_run(s, 1, &in, &err), &err);
    int64_t n = 0;
    for (int o = 0; o < oq_model_num_outputs(m); o++) {
        oq_tensor_ref out;
        CHECK(oq_session_output(s, o, &out) == OQ_OK);
        int64_t k = oq_shape_numel(out.ndim, out.dims);
        CHECK(n + k <= cap);
        memcpy(y + n, out.data, sizeof(float) * (size_t)k);
        n += k;
    }
    free(x);
    oq_session_free(s);
    return n;
}

static double max_rel_diff(const float *a, const float *b, int64_t n) {
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - (double)b[i])), scale = fmax(scale, fabs((double)a[i]));
    return scale > 0 ? worst / scale : INFINITY;
}

static int find_node(const struct oq_graph *g, const char *op) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].op_type, op))
            return i;
    return -1;
}

/* (a) */
static void check_unchanged(enum kind kind, const char *what, int want_folded, int want_inserted, int want_layers,
                            const char *mul_name) {
    enum { CAP = 4096 };
    float *y0 = calloc(CAP, sizeof(float)), *y1 = calloc(CAP, sizeof(float));
    oq_model *m0 = build(kind, 1), *m1 = build(kind, 1);
    struct oq_quant_config *cfg = oq_quant_config_default();
    struct oq_smoothquant_stats st;
    oq_error err = {0};
    CHECK_OK(smooth(m1, cfg, 0.5f, false, &st, &err), &err);
    struct capture none = {0};
    int64_t n0 = run(m0, y0, CAP, &none), n1 = run(m1, y1, CAP, &none);
    double d = max_rel_diff(y0, y1, n0);
    printf("%-34s layers %d folded %d inserted %d, ratio %.2f -> %.2f, max rel diff %.2g\n", what, st.layers,
           st.folded, st.inserted, st.max_ratio_before, st.max_ratio_after, d);
    CHECK_MSG(n0 == n1 && n0 > 0, "%s: %lld vs %lld outputs", what, (long long)n0, (long long)n1);
    CHECK_MSG(d <= 1e-5, "%s: outputs moved by %g (relative)", what, d);
    CHECK_MSG(st.folded == want_folded && st.inserted == want_inserted && st.layers == want_layers,
              "%s: folded %d inserted %d layers %d", what, st.folded, st.inserted, st.layers);
    CHECK_MSG(st.batches == 5, "%s: %lld batches", what, (long long)st.batches);
    /* an inserted Mul is named after the layer and left in float */
    if (want_inserted) {
        char scale[64];
        snprintf(scale, sizeof(scale), "%s_scale", mul_name);
        CHECK_MSG(cfg->n_skip == want_inserted && !strcmp(cfg->skip[0], mul_name), "%s: skip %s", what,
                  cfg->n_skip ? cfg->skip[0] : "");
        CHECK(oq_graph_find_value(m1->g, scale) >= 0);
    }
    oq_quant_config_free(cfg);
    oq_model_free(m0);
    oq_model_free(m1);
    free(y0), free(y1);
}

/* Q/DQ emulation: X per-tensor symmetric int8, B per output column symmetric int8; relative RMS error of X B. */
static double int8_layer_error(const float *x, int64_t rows, const float *b) {
    double xmax = 0;
    for (int64_t i = 0; i < rows * K; i++)
        xmax = fmax(xmax, fabs((double)x[i]));
    double sx = xmax / 127, sw[N];
    for (int n = 0; n < N; n++) {
        double wm = 0;
        for (int k = 0; k < K; k++)
            wm = fmax(wm, fabs((double)b[k * N + n]));
        sw[n] = wm / 127;
    }
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int n = 0; n < N; n++) {
            double ref = 0, q = 0;
            for (int k = 0; k < K; k++) {
                double xv = x[r * K + k], wv = b[k * N + n];
                ref += xv * wv;
                q += nearbyint(xv / sx) * sx * nearbyint(wv / sw[n]) * sw[n];
            }
            num += (q - ref) * (q - ref), den += ref * ref;
        }
    return sqrt(num / den);
}

/* (b) */
static void check_outlier(void) {
    enum { CAP = 4096 };
    float *y = calloc(CAP, sizeof(float));
    oq_model *m0 = build(MUL_ADD, 100), *m1 = build(MUL_ADD, 100);
    struct oq_quant_config *cfg = oq_quant_config_default();
    struct oq_smoothquant_stats st;
    oq_error err = {0};
    CHECK_OK(smooth(m1, cfg, 0.5f, false, &st, &err), &err);
    struct capture c0 = {.name = "X"}, c1 = {.name = "X"};
    run(m0, y, CAP, &c0);
    run(m1, y, CAP, &c1);
    CHECK(c0.data && c1.data && c0.n == c1.n);
    const struct oq_graph *g0 = m0->g, *g1 = m1->g;
    const float *b0 = g0->values[g0->nodes[find_node(g0, "MatMul")].in[1]].init->data;
    const float *b1 = g1->values[g1->nodes[find_node(g1, "MatMul")].in[1]].init->data;
    double e0 = int8_layer_error(c0.data, c0.n / K, b0), e1 = int8_layer_error(c1.data, c1.n / K, b1);
    printf("outlier channel 100x: range ratio %.1f -> %.1f, int8 layer error %.4f -> %.4f\n", st.max_ratio_before,
           st.max_ratio_after, e0, e1);
    CHECK_MSG(st.max_ratio_before > 30 && st.max_ratio_after < st.max_ratio_before / 3, "ratio %g -> %g",
              st.max_ratio_before, st.max_ratio_after);
    CHECK_MSG(e1 < 0.7 * e0, "int8 error %g -> %g", e0, e1);
    free(c0.data), free(c1.data), free(y);
    oq_quant_config_free(cfg);
    oq_model_free(m0);
    oq_model_free(m1);
}

/* (c) */
static void check_alpha_ends(void) {
    oq_model *m = build(MUL_ADD, 100);
    struct oq_quant_config *cfg = oq_quant_config_default();
    struct oq_smoothquant_stats st;
    oq_error err = {0};
    CHECK_OK(smooth(m, cfg, 0.0f, false, &st, &err), &err);
    const struct oq_graph *g = m->g;
    const float *b = g->values[g->nodes[find_node(g, "MatMul")].in[1]].init->data;
    double worst = 0;
    for (int k = 0; k < K; k++) {
        double r = 0;
        for (int n = 0; n < N; n++)
            r = fmax(r, fabs((double)b[k * N + n]));
        worst = fmax(worst, fabs(r - 1));
    }
    printf("alpha 0: rows of B have max |.| 1 to %.2g; activation ratio %.1f -> %.1f\n", worst,
           st.max_ratio_before, st.max_ratio_after);
    CHECK_MSG(worst < 1e-6, "alpha 0: a row of B has max %g away from 1", worst);
    CHECK(st.max_ratio_after > st.max_ratio_before * 0.9); /* nothing moved off the activations */
    oq_model_free(m);
    m = build(MUL_ADD, 100);
    CHECK_OK(smooth(m, cfg, 1.0f, false, &st, &err), &err);
    printf("alpha 1: activation ratio %.1f -> %.6f\n", st.max_ratio_before, st.max_ratio_after);
    CHECK_MSG(fabs(st.max_ratio_after - 1) < 1e-6, "alpha 1: activation channel ratio %g after", st.max_ratio_after);
    oq_model_free(m);
    oq_quant_config_free(cfg);

    CHECK(fabs(oq_smoothquant_scale(4, 1, 0.5) - 2) < 1e-12);
    CHECK(fabs(oq_smoothquant_scale(4, 2, 0) - 0.5) < 1e-12);
    CHECK(oq_smoothquant_scale(0, 1, 0.5) == 1 && oq_smoothquant_scale(1, 0, 0.5) == 1);
    CHECK(oq_smoothquant_scale(1e-40, 1, 0.5) == 1 && oq_smoothquant_scale(1, 1e-40, 0.5) == 1);
    CHECK(oq_smoothquant_scale(NAN, 1, 0.5) == 1 && oq_smoothquant_scale(1, INFINITY, 0.5) == 1);
    CHECK(oq_smoothquant_scale(1e30, 1e-30, 0.5) == 1e5 && oq_smoothquant_scale(1e-30, 1e30, 0.5) == 1e-5);
}

/* (d) */
static void check_bad_inputs(void) {
    oq_model *m0 = build(MUL_ADD, 1), *m = build(MUL_ADD, 1);
    struct oq_quant_config *cfg = oq_quant_config_default();
    struct oq_smoothquant_stats st;
    oq_error err = {0};
    float bad[] = {-0.1f, 1.5f, NAN};
    for (int i = 0; i < 3; i++) {
        err = (oq_error){0};
        CHECK(smooth(m, cfg, bad[i], false, &st, &err) == OQ_ERR_ARG);
        CHECK_MSG(strstr(err.msg, "alpha") && strstr(err.msg, "[0, 1]") && strstr(err.msg, "test-graph"),
                  "message: %s", err.msg);
    }
    err = (oq_error){0};
    struct oq_smoothquant_options o = {.alpha = 0.5f};
    CHECK(oq_smoothquant(m, cfg, &o, NULL, &st, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "--data"), "message: %s", err.msg);
    /* nothing changed by the refusals */
    float y0[512], y1[512];
    struct capture none = {0};
    int64_t n = run(m0, y0, 512, &none);
    run(m, y1, 512, &none);
    CHECK(memcmp(y0, y1, sizeof(float) * (size_t)n) == 0);

    /* config: shorthand, object, range, keys; round trip through oq_quant_config_to_json */
    struct oq_quant_config *c = NULL;
    CHECK_OK(oq_quant_config_parse("{\"smoothquant\": true}", "t", &c, &err), &err);
    CHECK(c->smoothquant && c->smoothquant_alpha == 0.5f);
    oq_quant_config_free(c);
    CHECK_OK(oq_quant_config_parse("{\"smoothquant\": {\"alpha\": 0.3}}", "t", &c, &err), &err);
    CHECK(c->smoothquant && fabsf(c->smoothquant_alpha - 0.3f) < 1e-7f);
    char *json = oq_quant_config_to_json(c, NULL);
    oq_quant_config_free(c);
    CHECK(json && strstr(json, "\"alpha\":\t0.3"));
    CHECK_OK(oq_quant_config_parse(json, "t", &c, &err), &err);
    CHECK(c->smoothquant && fabsf(c->smoothquant_alpha - 0.3f) < 1e-7f);
    oq_quant_config_free(c);
    free(json);
    const char *wrong[] = {"{\"smoothquant\": {\"alpha\": 1.5}}", "{\"smoothquant\": {\"alpha\": -1}}",
                           "{\"smoothquant\": \"yes\"}", "{\"smoothquant\": {\"strength\": 0.5}}"};
    const char *says[] = {"smoothquant.alpha is 1.5", "smoothquant.alpha is -1", "expected true, false",
                          "unknown key 'strength'"};
    for (int i = 0; i < 4; i++) {
        err = (oq_error){0};
        CHECK(oq_quant_config_parse(wrong[i], "cfg.json", &c, &err) == OQ_ERR_ARG && !c);
        CHECK_MSG(strstr(err.msg, says[i]) && strstr(err.msg, "cfg.json"), "%s: %s", wrong[i], err.msg);
    }
    /* the quantizer API cannot do it (it sees each batch once): a clear refusal */
    oq_quantizer *q = NULL;
    err = (oq_error){0};
    CHECK(oq_quantizer_create(m, "{\"smoothquant\": true}", NULL, &q, &err) == OQ_ERR_ARG && !q);
    CHECK_MSG(strstr(err.msg, "smoothquant") && strstr(err.msg, "--smoothquant"), "message: %s", err.msg);
    oq_quant_config_free(cfg);
    oq_model_free(m0);
    oq_model_free(m);

    /* skipped layers: the attention MatMul (no weight), and fc when the config leaves it float */
    m = build(ATTENTION, 1);
    cfg = oq_quant_config_default();
    CHECK_OK(smooth(m, cfg, 0.5f, false, &st, &err), &err);
    CHECK_MSG(st.layers == 1 && st.skip_no_weight == 1 && st.inserted == 1, /* fc: X is read by att too */
              "attention: layers %d, no weight %d, inserted %d", st.layers, st.skip_no_weight, st.inserted);
    oq_model_free(m);
    oq_quant_config_free(cfg);
    m = build(MUL_ADD, 1);
    CHECK_OK(oq_quant_config_parse("{\"skip_layers\": [\"fc\"]}", "t", &cfg, &err), &err);
    CHECK_OK(smooth(m, cfg, 0.5f, false, &st, &err), &err);
    CHECK(st.layers == 0 && st.skip_not_quantized == 1);
    oq_model_free(m);
    oq_quant_config_free(cfg);
    /* fold_only: a layer needing a Mul is left alone */
    m = build(INSERT_RELU, 1);
    cfg = oq_quant_config_default();
    CHECK_OK(smooth(m, cfg, 0.5f, true, &st, &err), &err);
    CHECK(st.layers == 0 && st.skip_no_fold == 1 && find_node(m->g, "Mul") < 0);
    oq_model_free(m);
    oq_quant_config_free(cfg);
}

int main(void) {
    check_unchanged(MUL_ADD, "Mul + Add (LayerNorm affine)", 1, 0, 1, NULL);
    check_unchanged(LAYERNORM, "LayerNormalization", 1, 0, 1, NULL);
    /* q and k share X, folded into proj; proj itself reads the graph input: a Mul for it */
    check_unchanged(SHARED_GEMM, "Gemm -> shared by MatMul and Gemm", 1, 1, 3, "proj_smooth");
    check_unchanged(INSERT_RELU, "X also read by a Relu (Mul inserted)", 0, 1, 1, "fc_smooth");
    check_unchanged(INSERT_INPUT, "X a graph input (Mul inserted)", 0, 1, 1, "fc_smooth");
    check_outlier();
    check_alpha_ends();
    check_bad_inputs();
    TEST_MAIN_END();
}
