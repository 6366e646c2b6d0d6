/* Fuzz the quantization config parser (quant/config.h) against a fixed small model: parse, validate the
 * names against the graph, write it back as JSON (with and without the graph), take the per-node and
 * per-tensor decisions, build the node plan, and turn each tensor's settings into quantization parameters
 * for a few ranges, including the degenerate ones (zero, denormal, huge), checking the documented contract
 * (calib/scale.h): a scale is > 0, finite and normal, the zero point within the type's range.
 *
 * The model (built in memory): x [1,3,8,8] -> Conv "conv0" (W [4,3,3,3], B) -> Relu "relu0"
 * -> GlobalAveragePool "gap" -> Flatten "flat" -> Gemm "fc" (Wf [2,4], transB) -> y [1,2]. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calib/qmath.h"
#include "calib/scale.h"
#include "fuzz_util.h"
#include "graph_builder.h"
#include "quant/calibrate.h"
#include "quant/config.h"

static struct oq_model *model;

static struct oq_graph *build_graph(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {1, 3, 8, 8}, wd[4] = {4, 3, 3, 3}, bd[1] = {4}, fd[2] = {2, 4}, yd[2] = {1, 2};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    float w[4 * 3 * 3 * 3], f[8];
    for (int i = 0; i < 108; i++)
        w[i] = (float)((i * 37) % 19 - 9) / 16.0f;
    for (int i = 0; i < 8; i++)
        f[i] = (float)(i - 4) / 8.0f;
    gb_init_f32(g, "W", 4, wd, w);
    gb_init_f32(g, "B", 1, bd, NULL);
    gb_init_f32(g, "Wf", 2, fd, f);
    gb_node(g, "Conv", "conv0", 3, (const char *[]){"x", "W", "B"}, 1, (const char *[]){"c"});
    gb_node(g, "Relu", "relu0", 1, (const char *[]){"c"}, 1, (const char *[]){"r"});
    gb_node(g, "GlobalAveragePool", "gap", 1, (const char *[]){"r"}, 1, (const char *[]){"p"});
    gb_node(g, "Flatten", "flat", 1, (const char *[]){"p"}, 1, (const char *[]){"v"});
    struct oq_node *fc = gb_node(g, "Gemm", "fc", 2, (const char *[]){"v", "Wf"}, 1, (const char *[]){"y"});
    gb_attr_int(fc, "transB", 1);
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, yd);
    return g;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    oq_error err = {0};
    if (oq_model_from_graph(build_graph(), &model, &err)) {
        fprintf(stderr, "fuzz_config: cannot build the model: %s\n", err.msg);
        abort();
    }
    return 0;
}

static void check_result(const struct oq_calib_result *r, const char *what) {
    FUZZ_REQUIRE(
        isfinite(r->scale) && r->scale > 0 && isnormal(r->scale), "%s: scale %g", what, (double)r->scale);
    FUZZ_REQUIRE(r->zero_point >= r->qmin && r->zero_point <= r->qmax,
                 "%s: zero point %d outside [%d, %d]",
                 what,
                 r->zero_point,
                 r->qmin,
                 r->qmax);
}

static void ranges(const struct oq_calib_config *cfg, const char *name) {
    static const float r[][2] = {
        {0.0f, 0.0f},
        {-1.0f, 1.0f},
        {0.0f, 6.0f},
        {2.5f, 2.5f},
        {-3.0f, -3.0f},
        {1e-40f, 1e-40f},
        {-1e-30f, 1e-30f},
        {-FLT_MAX, FLT_MAX},
        {-1e30f, 0.0f},
        {0.0f, 1e-6f},
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        struct oq_calib_result res;
        oq_error err = {0};
        oq_status st = oq_calib_qparams_from_range(name, r[i][0], r[i][1], cfg, &res, &err);
        if (st)
            FUZZ_REQUIRE_ERROR(st, err);
        else
            check_result(&res, name);
    }
}

static void
weights(const struct oq_calib_config *cfg, const char *op, const struct oq_tensor *w, bool trans_b) {
    int axis     = 0;
    oq_error err = {0};
    oq_status st = oq_calib_weight_axis(op, w->ndim, trans_b, &axis, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        return;
    }
    float scales[8];
    int32_t zps[8];
    FUZZ_REQUIRE(w->dims[axis] <= 8, "axis %d", axis);
    memset(&err, 0, sizeof(err));
    st = oq_calib_weight_qparams(w->name, w->data, w->ndim, w->dims, axis, cfg, scales, zps, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        return;
    }
    int n = cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX ? (int)w->dims[axis] : 1;
    for (int i = 0; i < n; i++)
        FUZZ_REQUIRE(isfinite(scales[i]) && scales[i] > 0 && isnormal(scales[i]) && zps[i] == 0,
                     "weight scale %d: %g zp %d",
                     i,
                     (double)scales[i],
                     zps[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json                = fuzz_cstr(data, size);
    oq_error err              = {0};
    struct oq_quant_config *c = NULL;
    oq_status st              = oq_quant_config_parse(json, "fuzz.json", &c, &err);
    free(json);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        FUZZ_REQUIRE(c == NULL, "failed parse returned a config");
        return 0;
    }
    const struct oq_graph *g = oq_model_graph(model);
    char *text               = oq_quant_config_to_json(c, NULL);
    FUZZ_REQUIRE(text != NULL, "to_json without a graph");
    /* what it writes reads back */
    struct oq_quant_config *c2 = NULL;
    memset(&err, 0, sizeof(err));
    st = oq_quant_config_parse(text, "written.json", &c2, &err);
    FUZZ_REQUIRE(
        st == OQ_OK, "a config written by oq_quant_config_to_json does not parse: %s\n%s", err.msg, text);
    oq_quant_config_free(c2);
    free(text);

    memset(&err, 0, sizeof(err));
    st = oq_quant_config_validate(c, g, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        oq_quant_config_free(c);
        return 0;
    }
    text = oq_quant_config_to_json(c, g);
    FUZZ_REQUIRE(text != NULL, "to_json with the graph");
    free(text);

    struct oq_quant_plan *plan = NULL;
    memset(&err, 0, sizeof(err));
    st = oq_quant_plan_from_config(model, c, &plan, &err);
    FUZZ_REQUIRE(st == OQ_OK, "a validated config gives no plan: %s", err.msg);
    oq_quant_plan_free(plan);

    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        bool q;
        struct oq_calib_config w;
        oq_quant_config_node(c, n, &q, &w);
        if (!q || n->n_in < 2 || n->in[1] < 0 || !g->values[n->in[1]].init)
            continue;
        const struct oq_attr *tb = oq_node_attr(n, "transB");
        weights(&w, n->op_type, g->values[n->in[1]].init, tb && tb->i);
    }
    for (int v = 0; v < g->n_values; v++) {
        if (g->values[v].init)
            continue;
        struct oq_calib_config act;
        oq_quant_config_tensor(c, g, v, &act);
        ranges(&act, g->values[v].name);
    }
    oq_quant_config_free(c);
    return 0;
}
