/* The QDQ writer (src/quant/qdq.c) on small graphs: which Q/DQ nodes exist where, weight bytes, int32 bias
 * and its scale, the int32-overflow weight-scale raise, shared parameters, removable activations, integer
 * inputs untouched, output names unchanged, weight-only mode, the opset upgrade, name collisions,
 * determinism, and that the rewritten graph runs in onnxq within quantization error of the float graph. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "calib/scale.h"
#include "graph_builder.h"
#include "quant/qdq.h"
#include "test_util.h"

/* ------------------------------------------------------------------ helpers */

typedef struct oq_graph *(*build_fn)(int opset);

struct minmax {
    struct oq_graph *g;
    float *lo, *hi;
    bool *seen;
};

static void mm_update(struct minmax *mm, const char *name, const oq_tensor_ref *t) {
    int v = oq_graph_find_value(mm->g, name);
    if (v < 0 || t->dtype != OQ_DTYPE_FLOAT || !t->data)
        return;
    int64_t n = oq_shape_numel(t->ndim, t->dims);
    const float *d = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (!mm->seen[v] || d[i] < mm->lo[v])
            mm->lo[v] = d[i];
        if (!mm->seen[v] || d[i] > mm->hi[v])
            mm->hi[v] = d[i];
        mm->seen[v] = true;
    }
}

static int mm_hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                   const oq_tensor_ref *outs) {
    for (int k = 0; k < n_out; k++)
        if (outs[k].name)
            mm_update(user, outs[k].name, &outs[k]);
    return 0;
}

/* Run the float graph on `in` and return a plan with uint8 asymmetric min/max parameters for every float
 * value seen, and every node quantized (per channel, int8). `g` stays owned by the caller. */
static struct oq_quant_plan *calibrate(build_fn build, int opset, int n_in, oq_tensor_ref *in, enum oq_dtype adt,
                                       bool symmetric) {
    struct oq_graph *g = build(opset);
    struct oq_graph *gm = build(opset);
    oq_error err = {0};
    struct oq_model *m = NULL;
    CHECK_OK(oq_model_from_graph(gm, &m, &err), &err);
    struct minmax mm = {g, calloc((size_t)g->n_values, sizeof(float)), calloc((size_t)g->n_values, sizeof(float)),
                        calloc((size_t)g->n_values, sizeof(bool))};
    for (int i = 0; i < n_in; i++)
        mm_update(&mm, in[i].name, &in[i]);
    oq_session_options so = oq_session_options_default();
    so.no_fusion = 1;
    so.num_threads = 1;
    so.hook = mm_hook;
    so.hook_user = &mm;
    oq_session *s = NULL;
    if (m)
        CHECK_OK(oq_session_create(m, &so, &s, &err), &err);
    if (s)
        CHECK_OK(oq_session_run(s, n_in, in, &err), &err);
    oq_session_free(s);
    oq_model_free(m);
    struct oq_quant_plan *p = oq_quant_plan_new(g->n_values, g->n_nodes);
    struct oq_calib_config cfg = oq_calib_config_default();
    cfg.qtype = adt;
    cfg.symmetric = symmetric;
    for (int v = 0; v < g->n_values; v++) {
        if (!mm.seen[v])
            continue;
        struct oq_calib_result r;
        CHECK_OK(oq_calib_qparams_from_range(g->values[v].name, mm.lo[v], mm.hi[v], &cfg, &r, &err), &err);
        p->act[v] = oq_qparam_new_tensor(adt, r.scale, r.zero_point);
    }
    for (int i = 0; i < g->n_nodes; i++)
        p->node[i] = (struct oq_node_quant){.quantize = true, .weight_dtype = OQ_DTYPE_INT8, .per_channel = true};
    free(mm.lo);
    free(mm.hi);
    free(mm.seen);
    oq_graph_free(g);
    return p;
}

/* Run a graph (ownership passes) on the inputs; copies output 0 into out (n floats). */
static void run_graph(struct oq_graph *g, int n_in, oq_tensor_ref *in, float *out, int64_t n) {
    oq_error err = {0};
    struct oq_model *m = NULL;
    oq_session *s = NULL;
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    oq_session_options so = oq_session_options_default();
    so.num_threads = 1;
    if (m)
        CHECK_OK(oq_session_create(m, &so, &s, &err), &err);
    if (s && !oq_session_run(s, n_in, in, &err)) {
        oq_tensor_ref o;
        oq_session_output(s, 0, &o);
        CHECK(oq_shape_numel(o.ndim, o.dims) == n && o.dtype == OQ_DTYPE_FLOAT);
        memcpy(out, o.data, sizeof(float) * (size_t)n);
    } else {
        CHECK_MSG(0, "run failed: %s", err.msg);
    }
    oq_session_free(s);
    oq_model_free(m);
}

static int count_op(const struct oq_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !strcmp(g->nodes[i].op_type, op);
    return c;
}

static const struct oq_node *find_node(const struct oq_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return &g->nodes[i];
    return NULL;
}

static const char *in_name(const struct oq_graph *g, const struct oq_node *n, int k) {
    return n && k < n->n_in && n->in[k] >= 0 ? g->values[n->in[k]].name : "";
}

static const struct oq_tensor *init_of(const struct oq_graph *g, const char *name) {
    int v = oq_graph_find_value(g, name);
    return v >= 0 ? g->values[v].init : NULL;
}

static void fill(float *d, int64_t n, uint64_t seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        d[i] = test_rng_uniform(&seed, lo, hi);
}

/* ------------------------------------------------------------------ graphs */

/* x[1,2,5,5] -> Conv(w[3,2,3,3], b[3], pad 1) -> c -> Relu -> y */
static struct oq_graph *build_conv_relu(int opset) {
    struct oq_graph *g = gb_new(opset);
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3}, bd[1] = {3};
    float w[54], b[3];
    fill(w, 54, 11, -0.5f, 0.5f);
    fill(b, 3, 12, -0.2f, 0.2f);
    w[7] = 0.75f; /* channel 0's abs max */
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w", 4, wd, w);
    gb_init_f32(g, "b", 1, bd, b);
    struct oq_node *c = gb_node(g, "Conv", "conv", 3, (const char *[]){"x", "w", "b"}, 1, (const char *[]){"c"});
    gb_attr_ints(c, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_node(g, "Relu", "relu", 1, (const char *[]){"c"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, (int64_t[]){1, 3, 5, 5});
    return g;
}

static float conv_x[50];
static oq_tensor_ref conv_in(void) {
    fill(conv_x, 50, 5, -1.0f, 1.0f);
    return (oq_tensor_ref){.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 2, 5, 5}, .data = conv_x};
}

static void test_rules_table(void) {
    int n;
    const struct oq_qdq_rule *r = oq_qdq_rules(&n);
    CHECK(n > 20);
    for (int i = 1; i < n; i++)
        CHECK_MSG(strcmp(r[i - 1].op_type, r[i].op_type) < 0, "%s before %s", r[i - 1].op_type, r[i].op_type);
    CHECK(oq_qdq_rule_find("Conv") && oq_qdq_rule_find("Conv")->kind == OQ_QDQ_WEIGHTED);
    CHECK(oq_qdq_rule_find("MaxPool")->kind == OQ_QDQ_SHARE && oq_qdq_rule_find("MaxPool")->min_opset == 12);
    CHECK(oq_qdq_rule_find("Div") == NULL);
}

static void test_conv_structure_and_numerics(void) {
    oq_tensor_ref in = conv_in();
    struct oq_quant_plan *p = calibrate(build_conv_relu, 13, 1, &in, OQ_DTYPE_UINT8, false);
    struct oq_graph *g = build_conv_relu(13);
    oq_error err = {0};
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = oq_qdq_options_default();
    opt.stats = &st;
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);

    /* Relu is implemented by y's uint8 Q/DQ (zero point 0) and removed; Q/DQ on x and y; DQ on w and b */
    CHECK(count_op(g, "Relu") == 0 && st.n_removed_activations == 1);
    CHECK(count_op(g, "QuantizeLinear") == 2 && count_op(g, "DequantizeLinear") == 4);
    CHECK(st.n_quantize == 2 && st.n_dequantize == 4 && st.n_weights == 1 && st.n_biases == 1);
    const struct oq_node *conv = find_node(g, "conv");
    CHECK(conv && !strcmp(in_name(g, conv, 0), "x_DequantizeLinear_Output"));
    CHECK(conv && !strcmp(in_name(g, conv, 1), "w_DequantizeLinear_Output"));
    CHECK(conv && !strcmp(in_name(g, conv, 2), "b"));
    CHECK(conv && !strcmp(g->values[conv->out[0]].name, "y_QuantizeLinear_Input"));
    const struct oq_node *qx = find_node(g, "x_QuantizeLinear");
    CHECK(qx && !strcmp(in_name(g, qx, 0), "x") && !strcmp(in_name(g, qx, 1), "x_scale") &&
          !strcmp(in_name(g, qx, 2), "x_zero_point"));
    const struct oq_node *dqy = find_node(g, "y_DequantizeLinear");
    CHECK(dqy && !strcmp(g->values[dqy->out[0]].name, "y") && !strcmp(in_name(g, dqy, 0), "y_QuantizeLinear_Output"));
    /* model inputs/outputs keep their names and float type */
    CHECK(g->n_inputs == 1 && !strcmp(g->values[g->inputs[0]].name, "x"));
    CHECK(g->n_outputs == 1 && !strcmp(g->values[g->outputs[0]].name, "y") &&
          g->values[g->outputs[0]].dtype == OQ_DTYPE_FLOAT);
    /* the float weight and bias initializers are gone */
    CHECK(oq_graph_find_value(g, "w") < 0);
    int bv = oq_graph_find_value(g, "b");
    CHECK(bv >= 0 && !g->values[bv].init);

    /* weights: int8 per output channel (axis 0), zero point 0, scale = absmax / 127, q = rhe(w / s) */
    const struct oq_tensor *wq = init_of(g, "w_quantized"), *ws = init_of(g, "w_scale"), *wz = init_of(g, "w_zero_point");
    const struct oq_node *dqw = find_node(g, "w_DequantizeLinear");
    CHECK(wq && wq->dtype == OQ_DTYPE_INT8 && wq->ndim == 4 && ws && ws->ndim == 1 && ws->dims[0] == 3);
    /* symmetric weights: the all-zero zero point is left implicit (2-input DequantizeLinear) */
    CHECK(wz == NULL);
    CHECK(dqw && oq_attr_int(dqw, "axis", -1) == 0 && dqw->n_in == 2);
    struct oq_graph *ref = build_conv_relu(13);
    const float *w = ref->values[oq_graph_find_value(ref, "w")].init->data;
    const float *bf = ref->values[oq_graph_find_value(ref, "b")].init->data;
    const struct oq_qparam *py = p->act[oq_graph_find_value(ref, "y")];
    if (wq && ws) {
        const float *s = ws->data;
        for (int c = 0; c < 3; c++) {
            float amax = 0;
            for (int i = 0; i < 18; i++)
                amax = fmaxf(amax, fabsf(w[c * 18 + i]));
            CHECK_MSG(s[c] == amax / 127.0f, "channel %d scale %g, absmax/127 %g", c, (double)s[c], (double)(amax / 127));
            for (int i = 0; i < 18; i++) {
                float e = nearbyintf(w[c * 18 + i] / s[c]);
                CHECK(((const int8_t *)wq->data)[c * 18 + i] == (int8_t)e);
            }
        }
        CHECK(((const int8_t *)wq->data)[7] == 127); /* 0.75 / (0.75 / 127) */
    }
    /* bias: int32, scale = x_scale * w_scale[c], zero point 0, per channel (axis 0) */
    const struct oq_tensor *bq = init_of(g, "b_quantized"), *bs = init_of(g, "b_quantized_scale");
    const struct oq_tensor *bz = init_of(g, "b_quantized_zero_point"), *xs = init_of(g, "x_scale");
    const struct oq_node *dqb = find_node(g, "b_DequantizeLinear");
    CHECK(bq && bq->dtype == OQ_DTYPE_INT32 && bs && bs->dims[0] == 3 && bz == NULL); /* zero point implicit */
    CHECK(dqb && oq_attr_int(dqb, "axis", -1) == 0 && !strcmp(g->values[dqb->out[0]].name, "b") && dqb->n_in == 2);
    if (bq && bs && xs && ws) {
        for (int c = 0; c < 3; c++) {
            float sc = *(const float *)xs->data * ((const float *)ws->data)[c];
            CHECK(((const float *)bs->data)[c] == sc);
            CHECK(((const int32_t *)bq->data)[c] == (int32_t)nearbyint((double)bf[c] / sc));
        }
    }
    oq_graph_free(ref);

    /* numerics: the QDQ graph runs in onnxq, within a few quantization steps of the float graph */
    float yf[75], yq[75];
    run_graph(build_conv_relu(13), 1, &in, yf, 75);
    run_graph(g, 1, &in, yq, 75);
    double maxerr = 0;
    for (int i = 0; i < 75; i++)
        maxerr = fmax(maxerr, fabs((double)yq[i] - yf[i]));
    double step = py ? py->scale[0] : 1;
    printf("conv+relu: max |qdq - float| = %.5f = %.2f output steps, nmse %.2e\n", maxerr, maxerr / step,
           test_nmse(yq, yf, 75));
    CHECK_MSG(maxerr <= 3 * step, "max error %g > 3 steps of %g", maxerr, step);
    CHECK(test_nmse(yq, yf, 75) < 1e-3);
    oq_quant_plan_free(p);
}

/* x -> Conv -> c -> MaxPool -> m -> Transpose -> t -> Reshape -> y ; shared parameters chain back to c */
static struct oq_graph *build_shared(int opset) {
    struct oq_graph *g = gb_new(opset);
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {4, 2, 1, 1};
    float w[8];
    fill(w, 8, 21, -1.0f, 1.0f);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w", 4, wd, w);
    gb_init_i64(g, "shape", 2, (int64_t[]){1, 16});
    gb_node(g, "Conv", "conv", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"c"});
    struct oq_node *mp = gb_node(g, "MaxPool", "pool", 1, (const char *[]){"c"}, 1, (const char *[]){"m"});
    gb_attr_ints(mp, "kernel_shape", 2, (int64_t[]){2, 2});
    gb_attr_ints(mp, "strides", 2, (int64_t[]){2, 2});
    struct oq_node *tr = gb_node(g, "Transpose", "tr", 1, (const char *[]){"m"}, 1, (const char *[]){"t"});
    gb_attr_ints(tr, "perm", 4, (int64_t[]){0, 2, 3, 1});
    gb_node(g, "Reshape", "rs", 2, (const char *[]){"t", "shape"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, (int64_t[]){1, 16});
    return g;
}

static void test_shared_params(void) {
    float x[32];
    fill(x, 32, 3, -2.0f, 2.0f);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 2, 4, 4}, .data = x};
    struct oq_quant_plan *p = calibrate(build_shared, 13, 1, &in, OQ_DTYPE_UINT8, false);
    struct oq_graph *g = build_shared(13);
    /* give the pool output different parameters: the rule must override them with c's */
    int mv = oq_graph_find_value(g, "m");
    oq_qparam_free(p->act[mv]);
    p->act[mv] = oq_qparam_new_tensor(OQ_DTYPE_UINT8, 0.5f, 7);
    oq_error err = {0};
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = {.stats = &st};
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    /* c own; m, t, y shared with c's initializers; no m_scale was made */
    CHECK(st.n_act_tensors == 2 && st.n_shared_tensors == 3); /* own: x, c */
    const char *shared[] = {"m", "t", "y"};
    for (int k = 0; k < 3; k++) {
        char qn[64];
        snprintf(qn, sizeof(qn), "%s_QuantizeLinear", shared[k]);
        const struct oq_node *qn_ = find_node(g, qn);
        CHECK_MSG(qn_ && !strcmp(in_name(g, qn_, 1), "c_scale") && !strcmp(in_name(g, qn_, 2), "c_zero_point"),
                  "%s", qn);
    }
    CHECK(oq_graph_find_value(g, "m_scale") < 0);
    const struct oq_node *pool = find_node(g, "pool");
    CHECK(pool && !strcmp(in_name(g, pool, 0), "c_DequantizeLinear_Output"));
    /* the Reshape's int64 shape is untouched */
    const struct oq_node *rs = find_node(g, "rs");
    CHECK(rs && !strcmp(in_name(g, rs, 1), "shape"));
    float yf[16], yq[16];
    run_graph(build_shared(13), 1, &in, yf, 16);
    run_graph(g, 1, &in, yq, 16);
    CHECK(test_nmse(yq, yf, 16) < 1e-3);

    /* MaxPool below opset 12 stays float (ORT), and so do its followers (their input is not quantized) */
    oq_quant_plan_free(p);
    p = calibrate(build_shared, 11, 1, &in, OQ_DTYPE_UINT8, false);
    g = build_shared(11);
    for (int i = 0; i < g->n_nodes; i++)
        p->node[i].per_channel = false; /* stays at opset 11 */
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(st.opset_after == 11 && st.n_shared_tensors == 0);
    CHECK(find_node(g, "m_QuantizeLinear") == NULL && find_node(g, "c_QuantizeLinear") != NULL);
    oq_graph_free(g);
    oq_quant_plan_free(p);
}

/* Gather(table[10,4] float initializer, idx int64 input) -> g ; Add(g, z float input) -> y */
static struct oq_graph *build_gather(int opset) {
    struct oq_graph *g = gb_new(opset);
    float table[40];
    fill(table, 40, 31, -1.0f, 3.0f);
    gb_input(g, "idx", OQ_DTYPE_INT64, 1, (int64_t[]){3});
    gb_input(g, "z", OQ_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
    gb_init_f32(g, "table", 2, (int64_t[]){10, 4}, table);
    gb_node(g, "Gather", "gather", 2, (const char *[]){"table", "idx"}, 1, (const char *[]){"gv"});
    gb_node(g, "Add", "add", 2, (const char *[]){"gv", "z"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
    return g;
}

static void test_integer_inputs_and_gather(void) {
    int64_t idx[3] = {4, 0, 9};
    float z[12];
    fill(z, 12, 8, -1.0f, 1.0f);
    oq_tensor_ref in[2] = {{.name = "idx", .dtype = OQ_DTYPE_INT64, .ndim = 1, .dims = {3}, .data = idx},
                           {.name = "z", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {3, 4}, .data = z}};
    struct oq_quant_plan *p = calibrate(build_gather, 13, 2, in, OQ_DTYPE_UINT8, false);
    struct oq_graph *g = build_gather(13);
    /* even a (wrong) parameter for the int64 input must not quantize it */
    int iv = oq_graph_find_value(g, "idx");
    p->act[iv] = oq_qparam_new_tensor(OQ_DTYPE_UINT8, 1.0f, 0);
    oq_error err = {0};
    CHECK_OK(oq_qdq_apply(g, p, NULL, &err), &err);
    const struct oq_node *gn = find_node(g, "gather");
    CHECK(gn && !strcmp(in_name(g, gn, 1), "idx"));
    CHECK(find_node(g, "idx_QuantizeLinear") == NULL);
    /* the table is stored uint8 (activation type, min/max) and dequantized; the Gather output shares it */
    const struct oq_tensor *tq = init_of(g, "table_quantized");
    CHECK(tq && tq->dtype == OQ_DTYPE_UINT8);
    CHECK(gn && !strcmp(in_name(g, gn, 0), "table_DequantizeLinear_Output"));
    const struct oq_node *qg = find_node(g, "gv_QuantizeLinear");
    CHECK(qg && !strcmp(in_name(g, qg, 1), "table_scale"));
    CHECK(find_node(g, "z_QuantizeLinear") != NULL && find_node(g, "y_DequantizeLinear") != NULL);
    CHECK(g->n_inputs == 2 && g->values[g->inputs[0]].dtype == OQ_DTYPE_INT64);
    float yf[12], yq[12];
    run_graph(build_gather(13), 2, in, yf, 12);
    run_graph(g, 2, in, yq, 12);
    CHECK(test_nmse(yq, yf, 12) < 1e-3);
    oq_quant_plan_free(p);
}

/* x[2,8] -> MatMul(w[8,6]) -> a ; Gemm(a, wg[5,6] transB, bg[5], beta 0.5) -> y */
static struct oq_graph *build_mlp(int opset) {
    struct oq_graph *g = gb_new(opset);
    float w[48], wg[30], bg[5];
    fill(w, 48, 41, -1.0f, 1.0f);
    fill(wg, 30, 42, -1.0f, 1.0f);
    fill(bg, 5, 43, -1.0f, 1.0f);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 8});
    gb_init_f32(g, "w", 2, (int64_t[]){8, 6}, w);
    gb_init_f32(g, "wg", 2, (int64_t[]){5, 6}, wg);
    gb_init_f32(g, "bg", 1, (int64_t[]){5}, bg);
    gb_node(g, "MatMul", "mm", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"a"});
    struct oq_node *gm = gb_node(g, "Gemm", "gemm", 3, (const char *[]){"a", "wg", "bg"}, 1, (const char *[]){"y"});
    gb_attr_int(gm, "transB", 1);
    gb_attr_float(gm, "beta", 0.5f);
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 5});
    return g;
}

static float mlp_x[16];

static void test_matmul_gemm(void) {
    fill(mlp_x, 16, 44, -1.0f, 1.0f);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {2, 8}, .data = mlp_x};
    struct oq_quant_plan *p = calibrate(build_mlp, 13, 1, &in, OQ_DTYPE_UINT8, false);
    struct oq_graph *g = build_mlp(13);
    oq_error err = {0};
    CHECK_OK(oq_qdq_apply(g, p, NULL, &err), &err);
    /* MatMul weight per channel along its last axis; Gemm transB -> axis 0; beta folded into the bias */
    CHECK(oq_attr_int(find_node(g, "w_DequantizeLinear"), "axis", -1) == 1);
    CHECK(oq_attr_int(find_node(g, "wg_DequantizeLinear"), "axis", -1) == 0);
    CHECK(init_of(g, "w_scale") && init_of(g, "w_scale")->dims[0] == 6);
    CHECK(oq_attr_float(find_node(g, "gemm"), "beta", 0) == 1.0f);
    CHECK(init_of(g, "bg_quantized") && init_of(g, "bg_quantized")->dtype == OQ_DTYPE_INT32);
    float yf[10], yq[10];
    run_graph(build_mlp(13), 1, &in, yf, 10);
    run_graph(g, 1, &in, yq, 10);
    double nm = test_nmse(yq, yf, 10);
    printf("matmul+gemm: nmse %.2e\n", nm);
    CHECK(nm < 1e-3);
    oq_quant_plan_free(p);
}

static void test_weight_only(void) {
    oq_tensor_ref in = conv_in();
    struct oq_quant_plan *p = calibrate(build_conv_relu, 13, 1, &in, OQ_DTYPE_UINT8, false);
    p->mode = OQ_QUANT_WEIGHT_ONLY;
    struct oq_graph *g = build_conv_relu(13);
    oq_error err = {0};
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = {.stats = &st};
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(count_op(g, "QuantizeLinear") == 0 && count_op(g, "DequantizeLinear") == 1 && count_op(g, "Relu") == 1);
    CHECK(init_of(g, "w_quantized") && init_of(g, "w_quantized")->dtype == OQ_DTYPE_INT8);
    CHECK(init_of(g, "b") && init_of(g, "b")->dtype == OQ_DTYPE_FLOAT); /* bias stays float */
    CHECK(!strcmp(in_name(g, find_node(g, "conv"), 0), "x"));
    CHECK(st.init_bytes_after < st.init_bytes_before);
    float yf[75], yq[75];
    run_graph(build_conv_relu(13), 1, &in, yf, 75);
    run_graph(g, 1, &in, yq, 75);
    CHECK(test_nmse(yq, yf, 75) < 1e-4);

    /* int16 weight-only: raises the opset to 21 */
    g = build_conv_relu(13);
    for (int i = 0; i < g->n_nodes; i++)
        p->node[i].weight_dtype = OQ_DTYPE_INT16;
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(st.opset_before == 13 && st.opset_after == 21 && oq_graph_opset(g, "") == 21);
    CHECK(init_of(g, "w_quantized") && init_of(g, "w_quantized")->dtype == OQ_DTYPE_INT16);
    run_graph(g, 1, &in, yq, 75);
    CHECK(test_nmse(yq, yf, 75) < 1e-8);
    oq_quant_plan_free(p);
}

static void test_opset_upgrade(void) {
    /* per-channel at opset 11 needs DequantizeLinear axis (13): the graph is upgraded first */
    oq_tensor_ref in = conv_in();
    struct oq_quant_plan *p = calibrate(build_conv_relu, 11, 1, &in, OQ_DTYPE_UINT8, false);
    struct oq_graph *g = build_conv_relu(11);
    oq_error err = {0};
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = {.stats = &st};
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(st.opset_before == 11 && st.opset_after == 13);
    CHECK(oq_attr_int(find_node(g, "w_DequantizeLinear"), "axis", -1) == 0);
    CHECK(count_op(g, "Relu") == 0);
    oq_graph_free(g);
    /* per tensor at opset 11: no upgrade needed */
    g = build_conv_relu(11);
    for (int i = 0; i < g->n_nodes; i++)
        p->node[i].per_channel = false;
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(st.opset_after == 11 && init_of(g, "w_scale") && init_of(g, "w_scale")->ndim == 0);
    oq_graph_free(g);
    oq_quant_plan_free(p);
}

/* A tiny input scale and a large bias: s_in * s_w would put b / scale beyond int32 */
static struct oq_graph *build_big_bias(int opset) {
    struct oq_graph *g = gb_new(opset);
    float w[4] = {0.001f, -0.002f, 0.5f, 0.25f}, b[2] = {3.0e4f, -1.0f};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 1, 1});
    gb_init_f32(g, "w", 4, (int64_t[]){2, 2, 1, 1}, w);
    gb_init_f32(g, "b", 1, (int64_t[]){2}, b);
    gb_node(g, "Conv", "conv", 3, (const char *[]){"x", "w", "b"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 1, 1});
    return g;
}

static void test_bias_overflow(void) {
    struct oq_graph *g = build_big_bias(13);
    struct oq_quant_plan *p = oq_quant_plan_new(g->n_values, g->n_nodes);
    p->act[oq_graph_find_value(g, "x")] = oq_qparam_new_tensor(OQ_DTYPE_UINT8, 1e-6f, 128);
    p->act[oq_graph_find_value(g, "y")] = oq_qparam_new_tensor(OQ_DTYPE_UINT8, 300.0f, 128);
    p->node[0] = (struct oq_node_quant){.quantize = true, .weight_dtype = OQ_DTYPE_INT8, .per_channel = true};
    oq_error err = {0};
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = {.stats = &st};
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(st.n_weight_scales_raised == 1);
    const struct oq_tensor *ws = init_of(g, "w_scale"), *bq = init_of(g, "b_quantized"), *bs = init_of(g, "b_quantized_scale");
    CHECK(ws && bq && bs);
    if (ws && bq && bs) {
        const float *s = ws->data, *sb = bs->data;
        const int32_t *q = bq->data;
        /* channel 0 was raised (0.002/127 * 1e-6 is far too small for 3e4), channel 1 kept abs_max/127 */
        CHECK(s[0] > 0.002f / 127.0f * 1000.0f);
        CHECK(s[1] == 0.5f / 127.0f);
        CHECK(q[0] < INT32_MAX && q[0] > INT32_MAX / 2);
        CHECK(fabs((double)q[0] * sb[0] - 3.0e4) < 1e-3 * 3.0e4);
        CHECK(fabs((double)q[1] * sb[1] + 1.0) < 1e-5);
    }
    oq_graph_free(g);
    /* with the adjustment disabled the bias saturates at INT32_MAX */
    g = build_big_bias(13);
    opt.no_weight_scale_adjust = true;
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(st.n_weight_scales_raised == 0 && init_of(g, "b_quantized") &&
          ((const int32_t *)init_of(g, "b_quantized")->data)[0] == INT32_MAX);
    oq_graph_free(g);
    oq_quant_plan_free(p);
}

static void test_names_and_errors(void) {
    /* a value already named x_scale: the new one becomes x_scale_1 */
    oq_tensor_ref in = conv_in();
    struct oq_graph *g = build_conv_relu(13);
    gb_init_f32(g, "x_scale", 1, (int64_t[]){1}, (float[]){42.0f});
    struct oq_quant_plan *p = oq_quant_plan_new(g->n_values, g->n_nodes);
    struct oq_quant_plan *pc = calibrate(build_conv_relu, 13, 1, &in, OQ_DTYPE_UINT8, false);
    for (int v = 0; v < pc->n_values; v++)
        p->act[v] = pc->act[v] ? oq_qparam_clone(pc->act[v]) : NULL;
    memcpy(p->node, pc->node, sizeof(*p->node) * (size_t)pc->n_nodes);
    oq_error err = {0};
    CHECK_OK(oq_qdq_apply(g, p, NULL, &err), &err);
    const struct oq_node *qx = find_node(g, "x_QuantizeLinear");
    CHECK(qx && !strcmp(in_name(g, qx, 1), "x_scale_1"));
    oq_graph_free(g);
    oq_quant_plan_free(p);

    /* a plan for another graph */
    g = build_shared(13);
    CHECK(oq_qdq_apply(g, pc, NULL, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "another graph") != NULL, "%s", err.msg);
    oq_graph_free(g);
    /* an invalid scale names the tensor */
    g = build_conv_relu(13);
    int xv = oq_graph_find_value(g, "x");
    pc->act[xv]->scale[0] = 0.0f;
    CHECK(oq_qdq_apply(g, pc, NULL, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "'x'") != NULL, "%s", err.msg);
    oq_graph_free(g);
    oq_quant_plan_free(pc);
}

static void test_determinism(void) {
    fill(mlp_x, 16, 44, -1.0f, 1.0f);
    oq_tensor_ref in2 = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {2, 8}, .data = mlp_x};
    struct oq_quant_plan *p = calibrate(build_mlp, 11, 1, &in2, OQ_DTYPE_UINT8, false);
    char path[2][128];
    void *buf[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    oq_error err = {0};
    for (int k = 0; k < 2; k++) {
        struct oq_graph *g = build_mlp(11);
        CHECK_OK(oq_qdq_apply(g, p, NULL, &err), &err);
        snprintf(path[k], sizeof(path[k]), "/tmp/test_qdq_%d_%d.onnx", (int)getpid(), k);
        CHECK_OK(oq_onnx_save(g, NULL, path[k], &err), &err);
        CHECK_OK(oq_read_file(path[k], &buf[k], &len[k], &err), &err);
        unlink(path[k]);
        oq_graph_free(g);
    }
    CHECK(len[0] > 0 && len[0] == len[1] && buf[0] && buf[1] && memcmp(buf[0], buf[1], len[0]) == 0);
    free(buf[0]);
    free(buf[1]);
    oq_quant_plan_free(p);
}

/* x -> MatMul(w) -> a -> Softmax -> y */
static struct oq_graph *build_softmax(int opset) {
    struct oq_graph *g = gb_new(opset);
    float w[32];
    fill(w, 32, 51, -2.0f, 2.0f);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 8});
    gb_init_f32(g, "w", 2, (int64_t[]){8, 4}, w);
    gb_node(g, "MatMul", "mm", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"a"});
    struct oq_node *sm = gb_node(g, "Softmax", "sm", 1, (const char *[]){"a"}, 1, (const char *[]){"y"});
    gb_attr_int(sm, "axis", -1);
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, (int64_t[]){2, 4});
    return g;
}

static void test_softmax_and_kept_relu(void) {
    /* Softmax output: ORT's fixed QLinearSoftmax parameters (1/256, lowest value), whatever the plan says */
    fill(mlp_x, 16, 45, -1.0f, 1.0f);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {2, 8}, .data = mlp_x};
    enum oq_dtype types[2] = {OQ_DTYPE_UINT8, OQ_DTYPE_INT8};
    for (int t = 0; t < 2; t++) {
        struct oq_quant_plan *p = calibrate(build_softmax, 13, 1, &in, types[t], false);
        struct oq_graph *g = build_softmax(13);
        oq_error err = {0};
        CHECK_OK(oq_qdq_apply(g, p, NULL, &err), &err);
        const struct oq_tensor *ys = init_of(g, "y_scale"), *yz = init_of(g, "y_zero_point");
        CHECK(ys && *(const float *)ys->data == 1.0f / 256.0f && yz && yz->dtype == types[t]);
        CHECK(yz && oq_tensor_get_i64(yz, 0) == (t == 0 ? 0 : -128));
        float yf[8], yq[8];
        run_graph(build_softmax(13), 1, &in, yf, 8);
        run_graph(g, 1, &in, yq, 8);
        for (int i = 0; i < 8; i++)
            CHECK_MSG(fabsf(yq[i] - yf[i]) <= 3.0f / 256.0f, "%d: %g vs %g", i, (double)yq[i], (double)yf[i]);
        oq_quant_plan_free(p);
    }

    /* keep_removable_activations: Relu stays, its input is quantized with its output's parameters (ORT
     * adjust_tensor_ranges), both sides get Q/DQ */
    oq_tensor_ref cin = conv_in();
    struct oq_quant_plan *p = calibrate(build_conv_relu, 13, 1, &cin, OQ_DTYPE_UINT8, false);
    struct oq_graph *g = build_conv_relu(13);
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = {.keep_removable_activations = true, .stats = &st};
    oq_error err = {0};
    CHECK_OK(oq_qdq_apply(g, p, &opt, &err), &err);
    CHECK(count_op(g, "Relu") == 1 && st.n_removed_activations == 0 && count_op(g, "QuantizeLinear") == 3);
    const struct oq_tensor *cs = init_of(g, "c_scale"), *ys = init_of(g, "y_scale");
    CHECK(cs && ys && *(const float *)cs->data == *(const float *)ys->data);
    CHECK(!strcmp(in_name(g, find_node(g, "relu"), 0), "c_DequantizeLinear_Output"));
    oq_graph_free(g);
    /* int8 symmetric activations: the Relu is not implemented by the Q/DQ (zero point 0 keeps negatives) */
    oq_quant_plan_free(p);
    p = calibrate(build_conv_relu, 13, 1, &cin, OQ_DTYPE_INT8, true);
    g = build_conv_relu(13);
    CHECK_OK(oq_qdq_apply(g, p, NULL, &err), &err);
    CHECK(count_op(g, "Relu") == 1);
    float yf[75], yq[75];
    run_graph(build_conv_relu(13), 1, &cin, yf, 75);
    run_graph(g, 1, &cin, yq, 75);
    CHECK(test_nmse(yq, yf, 75) < 1e-3);
    oq_quant_plan_free(p);
}

int main(void) {
    test_softmax_and_kept_relu();
    test_rules_table();
    test_conv_structure_and_numerics();
    test_shared_params();
    test_integer_inputs_and_gather();
    test_matmul_gemm();
    test_weight_only();
    test_opset_upgrade();
    test_bias_overflow();
    test_names_and_errors();
    test_determinism();
    TEST_MAIN_END();
}
