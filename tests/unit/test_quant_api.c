/* The public quantizer (include/onnxq/onnxq_quant.h): zero batches refused with a message, batches counted,
 * a QDQ model written that loads and runs, weights-only mode with no data, option values checked with
 * messages, the output-path checks, and every handle freed on every path (ASan/LSan in the sanitized build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph_builder.h"
#include "onnxq/onnxq_quant.h"
#include "test_util.h"

/* x[?,4] -> MatMul(W[4,3]) -> m -> Relu -> y */
static oq_model *make_model(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[2] = {-1, 4}, wd[2] = {4, 3}, yd[2] = {-1, 3};
    float w[12];
    for (int i = 0; i < 12; i++)
        w[i] = (float)(i % 5) * 0.25f - 0.5f;
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, xd);
    gb_init_f32(g, "W", 2, wd, w);
    gb_node(g, "MatMul", "mm", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"m"});
    gb_node(g, "Relu", "relu", 1, (const char *[]){"m"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, yd);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static int count_op(const oq_model *m, const char *op) {
    int n = 0;
    for (int i = 0; i < oq_model_num_nodes(m); i++) {
        const char *t = NULL;
        oq_model_node(m, i, NULL, &t, NULL);
        n += t && !strcmp(t, op);
    }
    return n;
}

/* Expect status st and a message containing want. */
#define CHECK_ERR(expr, st, want)                                                                      \
    do {                                                                                                \
        oq_status s_ = (expr);                                                                          \
        CHECK_MSG(s_ == (st) && strstr(err.msg, (want)), "got %s '%s', want %s '%s'", oq_status_str(s_), \
                  err.msg, oq_status_str(st), (want));                                                 \
        memset(&err, 0, sizeof(err));                                                                   \
    } while (0)

int main(void) {
    char dir[] = "/tmp/onnxq_test_quant_api_XXXXXX", out[300], table[300];
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    snprintf(out, sizeof(out), "%s/q.onnx", dir);
    snprintf(table, sizeof(table), "%s/q.calib.json", dir);
    oq_error err = {0};
    oq_model *m = make_model();
    if (!m)
        TEST_MAIN_END();

    /* static mode: zero batches is an error that says so; then two batches */
    oq_quantize_options opt = oq_quantize_options_default();
    opt.method = "percentile";
    opt.threads = 1;
    oq_quantizer *q = NULL;
    CHECK_OK(oq_quantizer_create(m, NULL, &opt, &q, &err), &err);
    CHECK(oq_quantizer_needs_data(q) == 1);
    CHECK_ERR(oq_quantizer_save(q, out, NULL, &err), OQ_ERR_ARG, "zero batches");
    CHECK(access(out, F_OK) != 0);
    float b1[8] = {0.5f, 1, 2, 3, -1, 1, 1, 1}, b2[4] = {1, 2, 3, 4};
    oq_tensor_ref in1 = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {2, 4}, .data = b1};
    oq_tensor_ref in2 = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {1, 4}, .data = b2};
    oq_tensor_ref bad = {.name = "x", .dtype = OQ_DTYPE_INT32, .ndim = 2, .dims = {1, 4}, .data = b2};
    CHECK_OK(oq_quantizer_feed(q, 1, &in1, &err), &err);
    CHECK_ERR(oq_quantizer_feed(q, 1, &bad, &err), OQ_ERR_SHAPE, "calibration batch 1: ");
    CHECK_OK(oq_quantizer_feed(q, 1, &in2, &err), &err);
    int64_t nb = -1, ns = -1;
    oq_quantizer_counts(q, &nb, &ns);
    CHECK(nb == 2 && ns == 3);
    CHECK_OK(oq_quantizer_save(q, out, table, &err), &err);
    CHECK(access(table, F_OK) == 0);
    oq_quantizer_free(q);
    oq_model *qm = NULL;
    CHECK_OK(oq_model_load(out, &qm, &err), &err);
    if (qm) {
        CHECK(count_op(qm, "QuantizeLinear") >= 2 && count_op(qm, "DequantizeLinear") >= 3);
        oq_session *s = NULL;
        CHECK_OK(oq_session_create(qm, NULL, &s, &err), &err);
        CHECK_OK(oq_session_run(s, 1, &in2, &err), &err);
        oq_session_free(s);
        /* the output must not be the input model */
        opt = oq_quantize_options_default();
        CHECK_OK(oq_quantizer_create(qm, NULL, &opt, &q, &err), &err);
        CHECK_ERR(oq_quantize_check_output(qm, out, &err), OQ_ERR_ARG, "is the input model");
        CHECK_OK(oq_quantizer_feed(q, 1, &in2, &err), &err);
        CHECK_ERR(oq_quantizer_save(q, out, NULL, &err), OQ_ERR_ARG, "is the input model");
        oq_quantizer_free(q);
        oq_model_free(qm);
    }
    CHECK_ERR(oq_quantize_check_output(m, "/nonexistent/dir/q.onnx", &err), OQ_ERR_IO, "temporary file beside");

    /* weights-only: no data, no table; by option and by the config's mode */
    opt = oq_quantize_options_default();
    opt.weights_only = 1;
    CHECK_OK(oq_quantizer_create(m, NULL, &opt, &q, &err), &err);
    CHECK(oq_quantizer_needs_data(q) == 0);
    CHECK_ERR(oq_quantizer_feed(q, 1, &in1, &err), OQ_ERR_ARG, "weights-only");
    CHECK_ERR(oq_quantizer_save(q, out, table, &err), OQ_ERR_ARG, "no calibration table");
    CHECK_OK(oq_quantizer_save(q, out, NULL, &err), &err);
    oq_quantizer_free(q);
    CHECK_OK(oq_quantizer_create(m, "{\"mode\": \"weights_only\"}", NULL, &q, &err), &err);
    CHECK(oq_quantizer_needs_data(q) == 0);
    oq_quantizer_free(q);
    CHECK_OK(oq_model_load(out, &qm, &err), &err);
    if (qm) {
        CHECK(count_op(qm, "QuantizeLinear") == 0 && count_op(qm, "DequantizeLinear") == 1);
        oq_model_free(qm);
    }

    /* bad options and configs: OQ_ERR_ARG naming the value; the handle stays NULL */
    const char *nul_name[1] = {NULL}, *unknown[1] = {"no_such_node"};
    struct {
        oq_quantize_options o;
        const char *cfg, *want;
    } bad_cases[] = {
        {{.method = "best"}, NULL, "unknown calibration algorithm 'best'"},
        {{.target = "gpu"}, NULL, "target 'gpu' is not a preset"},
        {{.bits = 4}, NULL, "bits must be 8 or 16"},
        {{.per_channel = (oq_per_channel)7}, NULL, "per_channel is 7"},
        {{.percentile = 120}, NULL, "percentile"},
        {{.threads = -2}, NULL, "threads is -2"},
        {{.skip_nodes = nul_name, .n_skip_nodes = 1}, NULL, "skip_nodes: entry 0 is NULL"},
        {{.n_skip_op_types = 2}, NULL, "skip_op_types: 2 names given with a NULL array"},
        {{.skip_nodes = unknown, .n_skip_nodes = 1}, NULL, "no_such_node"},
        {{.config_source = "my.json"}, "{\"activations\": {}}", "my.json"},
        {{0}, "{\"weight\": ", "config"},
        {{0}, "{\"equalize\": true}", "asks for equalize"},
        {{0}, "{\"equalize_absorb_bias\": true}", "`onnxq quantize --absorb-bias`"},
        {{0}, "{\"smoothquant\": true}", "asks for smoothquant"},
        {{0}, "{\"adaround\": true}", "asks for adaround"},
        {{0}, "{\"bias_correction\": true}", "`onnxq quantize --bias-correction`"},
    };
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        static char sentinel;
        q = (oq_quantizer *)(void *)&sentinel; /* must be reset to NULL */
        CHECK_ERR(oq_quantizer_create(m, bad_cases[i].cfg, &bad_cases[i].o, &q, &err), OQ_ERR_ARG, bad_cases[i].want);
        CHECK(q == NULL);
    }
    oq_quantizer_free(NULL);
    CHECK(oq_quantizer_needs_data(NULL) == 0);

    oq_model_free(m);
    unlink(out);
    unlink(table);
    rmdir(dir);
    TEST_MAIN_END();
}
