/* Quantization config: defaults, JSON parsing with precedence, every error names the key, validation of
 * node/tensor names against a model, and the written template parses back to the same settings. */
#include <string.h>

#include "graph_builder.h"
#include "quant/config.h"
#include "test_util.h"

static struct oq_graph *small_graph(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1}, yd[4] = {1, 3, 4, 4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w", 4, wd, NULL);
    gb_node(g, "Conv", "conv_a", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"c"});
    gb_node(g, "Relu", "relu_a", 1, (const char *[]){"c"}, 1, (const char *[]){"r"});
    gb_node(g, "MatMul", "mm_b", 2, (const char *[]){"r", "r"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, yd);
    oq_graph_link(g, NULL);
    return g;
}

#define EXPECT_PARSE_ERROR(json, ...)                                                                         \
    do {                                                                                                      \
        struct oq_quant_config *c_ = NULL;                                                                    \
        oq_error e_ = {0};                                                                                    \
        CHECK(oq_quant_config_parse(json, "cfg.json", &c_, &e_) == OQ_ERR_ARG && c_ == NULL);                 \
        const char *n_[] = {__VA_ARGS__};                                                                     \
        for (size_t k_ = 0; k_ < sizeof(n_) / sizeof(n_[0]); k_++)                                            \
            CHECK_MSG(strstr(e_.msg, n_[k_]) != NULL, "message lacks '%s': %s", n_[k_], e_.msg);             \
    } while (0)

int main(void) {
    oq_error err = {0};
    struct oq_quant_config *d = oq_quant_config_default();
    CHECK(d && d->mode == OQ_QUANT_STATIC && d->act.qtype == OQ_DTYPE_UINT8 && !d->act.symmetric);
    CHECK(d->weight.qtype == OQ_DTYPE_INT8 && d->weight.algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX);
    CHECK(oq_quant_config_has_op(d, "Conv") && oq_quant_config_has_op(d, "MatMul") && !oq_quant_config_has_op(d, "Relu"));

    struct oq_quant_config *c = NULL;
    const char *json = "{\"activation\": {\"algorithm\": \"percentile\", \"percentile\": 99.9},"
                       " \"weight\": {\"algorithm\": \"abs_max\"},"
                       " \"op_types\": [\"Conv\", \"MatMul\"], \"skip_layers\": [\"mm_b\"],"
                       " \"layers\": {\"conv_a\": {\"activation\": {\"algorithm\": \"mse\", \"bits\": 16},"
                       "                           \"weight\": {\"bits\": 16}}},"
                       " \"tensors\": {\"x\": {\"algorithm\": \"min_max\", \"symmetric\": true}}}";
    CHECK_OK(oq_quant_config_parse(json, "cfg.json", &c, &err), &err);
    struct oq_graph *g = small_graph();
    if (c) {
        CHECK_OK(oq_quant_config_validate(c, g, &err), &err);
        CHECK(c->act.algo == OQ_CALIB_ALGO_PERCENTILE && c->act.percentile == 99.9f);
        bool q;
        struct oq_calib_config w, a;
        oq_quant_config_node(c, &g->nodes[0], &q, &w); /* conv_a: layer override */
        CHECK(q && w.qtype == OQ_DTYPE_INT16 && w.algo == OQ_CALIB_ALGO_ABS_MAX);
        oq_quant_config_node(c, &g->nodes[1], &q, &w); /* Relu: not in op_types */
        CHECK(!q);
        oq_quant_config_node(c, &g->nodes[2], &q, &w); /* mm_b: skipped */
        CHECK(!q && w.qtype == OQ_DTYPE_INT8);
        oq_quant_config_tensor(c, g, oq_graph_find_value(g, "c"), &a); /* output of conv_a: layer act */
        CHECK(a.algo == OQ_CALIB_ALGO_MSE && a.qtype == OQ_DTYPE_UINT16);
        oq_quant_config_tensor(c, g, oq_graph_find_value(g, "x"), &a); /* tensor override */
        CHECK(a.algo == OQ_CALIB_ALGO_MIN_MAX && a.symmetric && a.qtype == OQ_DTYPE_INT8);
        oq_quant_config_tensor(c, g, oq_graph_find_value(g, "r"), &a); /* global */
        CHECK(a.algo == OQ_CALIB_ALGO_PERCENTILE && a.qtype == OQ_DTYPE_UINT8);

        /* the template written for the graph parses back to the same decisions */
        char *s = oq_quant_config_to_json(c, g);
        struct oq_quant_config *c2 = NULL;
        CHECK_OK(oq_quant_config_parse(s, "roundtrip", &c2, &err), &err);
        if (c2) {
            for (int i = 0; i < g->n_nodes; i++) {
                bool q1, q2;
                struct oq_calib_config w1, w2;
                oq_quant_config_node(c, &g->nodes[i], &q1, &w1);
                oq_quant_config_node(c2, &g->nodes[i], &q2, &w2);
                CHECK_MSG(q1 == q2 && w1.qtype == w2.qtype && w1.algo == w2.algo, "node %s", g->nodes[i].name);
            }
            for (int v = 0; v < g->n_values; v++) {
                struct oq_calib_config a1, a2;
                oq_quant_config_tensor(c, g, v, &a1);
                oq_quant_config_tensor(c2, g, v, &a2);
                CHECK_MSG(a1.algo == a2.algo && a1.qtype == a2.qtype && a1.symmetric == a2.symmetric,
                          "tensor %s", g->values[v].name);
            }
        }
        free(s);
        oq_quant_config_free(c2);
    }
    oq_quant_config_free(c);

    /* errors name the key */
    EXPECT_PARSE_ERROR("{\"activaton\": {}}", "unknown key 'activaton'", "activation");
    EXPECT_PARSE_ERROR("{\"activation\": {\"algorithm\": \"klx\"}}", "activation.algorithm", "kl_v2");
    EXPECT_PARSE_ERROR("{\"activation\": {\"bits\": 4}}", "activation.bits", "8 or 16");
    EXPECT_PARSE_ERROR("{\"weight\": {\"algorithm\": \"percentile\"}}", "weight.algorithm", "channel_wise_abs_max");
    EXPECT_PARSE_ERROR("{\"activation\": {\"algorithm\": \"channel_wise_abs_max\"}}", "for weights");
    EXPECT_PARSE_ERROR("{\"layers\": {\"conv_a\": {\"quant_enable\": \"yes\"}}}", "layers.conv_a.quant_enable");
    EXPECT_PARSE_ERROR("{\"op_types\": \"Conv\"}", "op_types", "array of strings");
    EXPECT_PARSE_ERROR("{\"mode\": \"dynamic\"}", "mode", "weights_only");
    EXPECT_PARSE_ERROR("{\"activation\": {\"percentile\": 120}}", "percentile");
    EXPECT_PARSE_ERROR("{\"activation\": ", "not valid JSON", "line 1");

    /* names must exist in the model */
    struct oq_quant_config *bad = NULL;
    CHECK_OK(oq_quant_config_parse("{\"skip_layers\": [\"conv_x\"]}", "cfg.json", &bad, &err), &err);
    memset(&err, 0, sizeof(err));
    CHECK(bad && oq_quant_config_validate(bad, g, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "'conv_x'") && strstr(err.msg, "'conv_a'"), "%s", err.msg);
    oq_quant_config_free(bad);
    CHECK_OK(oq_quant_config_parse("{\"tensors\": {\"nope\": {}}}", "cfg.json", &bad, &err), &err);
    memset(&err, 0, sizeof(err));
    CHECK(bad && oq_quant_config_validate(bad, g, &err) == OQ_ERR_ARG && strstr(err.msg, "'nope'"));
    oq_quant_config_free(bad);

    oq_quant_config_free(d);
    oq_graph_free(g);
    TEST_MAIN_END();
}
