/* Calibrator: observes graph inputs and every float node output through the session hook, turns the
 * statistics into per-tensor scales with each tensor's algorithm, refuses zero batches, names the tensor
 * and batch on NaN, and the calibration table round-trips. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "graph_builder.h"
#include "quant/calibrate.h"
#include "test_util.h"

/* x[?,4] -> Mul(k) -> m -> Relu -> r -> Log -> y : min/max of every tensor is known from x */
static oq_model *load_model(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[2] = {-1, 4}, kd[1] = {1};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, xd);
    gb_init_f32(g, "k", 1, kd, (float[]){2.0f});
    gb_node(g, "Mul", "mul", 2, (const char *[]){"x", "k"}, 1, (const char *[]){"m"});
    gb_node(g, "Relu", "relu", 1, (const char *[]){"m"}, 1, (const char *[]){"r"});
    gb_node(g, "Log", "log", 1, (const char *[]){"r"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, xd);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

int main(void) {
    oq_error err = {0};
    oq_model *m = load_model();
    if (!m)
        TEST_MAIN_END();
    const struct oq_graph *g = oq_model_graph(m);
    struct oq_quant_config *cfg = oq_quant_config_default();
    struct oq_calibrator *c = NULL;
    CHECK_OK(oq_calibrator_create(m, cfg, 1, &c, &err), &err);

    struct oq_quant_plan *plan = NULL;
    memset(&err, 0, sizeof(err));
    CHECK(oq_calibrator_plan(c, &plan, &err) == OQ_ERR_ARG && strstr(err.msg, "zero batches"));

    /* two batches: x in [0.5, 3] then [1, 4]; with min_max (uint8 asymmetric, 0 included) */
    float b1[8] = {0.5f, 1, 2, 3, 1, 1, 1, 1}, b2[4] = {1, 2, 3, 4};
    oq_tensor_ref in1 = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {2, 4}, .data = b1};
    oq_tensor_ref in2 = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {1, 4}, .data = b2};
    CHECK_OK(oq_calibrator_feed(c, 1, &in1, &err), &err);
    CHECK_OK(oq_calibrator_feed(c, 1, &in2, &err), &err);
    int64_t batches, samples;
    oq_calibrator_counts(c, &batches, &samples);
    CHECK(batches == 2 && samples == 3);
    CHECK_OK(oq_calibrator_plan(c, &plan, &err), &err);
    if (plan) {
        struct { const char *name; float hi; } want[] = {{"x", 4.0f}, {"m", 8.0f}, {"r", 8.0f}, {"y", logf(8.0f)}};
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            int v = oq_graph_find_value(g, want[i].name);
            const struct oq_qparam *q = v >= 0 ? plan->act[v] : NULL;
            CHECK_MSG(q != NULL, "no qparams for %s", want[i].name);
            if (!q)
                continue;
            CHECK_MSG(q->dtype == OQ_DTYPE_UINT8 && q->zero_point[0] == 0 && fabsf(q->scale[0] - want[i].hi / 255.0f) < 1e-6f,
                      "%s: scale %g zp %d, expected %g 0", want[i].name, q->scale[0], q->zero_point[0],
                      want[i].hi / 255.0f);
        }
        CHECK(plan->act[oq_graph_find_value(g, "k")] == NULL); /* initializers are not activations */
        CHECK(plan->node[0].quantize && !plan->node[1].quantize); /* Mul yes, Relu not in op_types */

        /* table round trip */
        char dir[] = "/tmp/onnxq_test_cal_XXXXXX", path[300];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/t.calib.json", dir);
        CHECK_OK(oq_calib_table_write(m, c, plan, path, &err), &err);
        struct oq_quant_plan *p2 = NULL;
        CHECK_OK(oq_quant_plan_from_config(m, cfg, &p2, &err), &err);
        CHECK_OK(oq_calib_table_read(m, path, p2, &err), &err);
        for (int v = 0; p2 && v < g->n_values; v++) {
            const struct oq_qparam *a = plan->act[v], *b = p2->act[v];
            CHECK_MSG(!a == !b, "value %s", g->values[v].name);
            if (a && b)
                CHECK(a->dtype == b->dtype && a->scale[0] == b->scale[0] && a->zero_point[0] == b->zero_point[0]);
        }
        oq_quant_plan_free(p2);
        unlink(path);
        rmdir(dir);
    }
    oq_quant_plan_free(plan);

    /* NaN inside the graph (Log of 0 gives -inf): the message names the tensor and the batch */
    float b3[4] = {0, 1, 2, 3};
    oq_tensor_ref in3 = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {1, 4}, .data = b3};
    memset(&err, 0, sizeof(err));
    CHECK(oq_calibrator_feed(c, 1, &in3, &err) == OQ_ERR_NUMERIC);
    CHECK_MSG(strstr(err.msg, "'y'") && strstr(err.msg, "batch 2") && strstr(err.msg, "'log'"), "%s", err.msg);

    oq_calibrator_free(c);
    oq_quant_config_free(cfg);
    oq_model_free(m);
    TEST_MAIN_END();
}
