/* Bad inputs of quantization (docs/bad_inputs.md), at the library level: NaN/Inf in the weights is named as
 * the model's fault before calibration runs, not blamed on the data; a NaN the graph makes names the node
 * and the batch once; a power-of-two range no scale fits names the tensor once; an all-zero tensor gets the
 * documented safe scale (1, zero point 0) instead of an error. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph_builder.h"
#include "quant/calibrate.h"
#include "test_util.h"

/* x [1,2] -> MatMul(W [2,2]) -> m -> Mul(z) -> y; z = 0 makes y all zero */
static oq_model *model(float w_bad) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[2] = {1, 2}, wd[2] = {2, 2};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, xd);
    gb_init_f32(g, "W", 2, wd, (float[]){1, 2, 3, w_bad});
    gb_init_f32(g, "z", 2, xd, (float[]){0, 0});
    gb_node(g, "MatMul", "mm", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"m"});
    gb_node(g, "Mul", "zero", 2, (const char *[]){"m", "z"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, xd);
    oq_model *m  = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void nonfinite_weights(void) {
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        oq_model *m                 = model(bad[i]);
        struct oq_quant_config *cfg = oq_quant_config_default();
        struct oq_calibrator *c     = NULL;
        oq_error err                = {0};
        CHECK(m && oq_calibrator_create(m, cfg, 1, &c, &err) == OQ_ERR_NUMERIC && c == NULL);
        CHECK_MSG(strstr(err.msg, "initializer 'W' (input 1 of node 'mm', MatMul)") &&
                      strstr(err.msg, isnan(bad[i]) ? "NaN at element 3" : "Inf at element 3") &&
                      strstr(err.msg, "re-export the model") && !strstr(err.msg, "calibration data"),
                  "%s",
                  err.msg);
        oq_quant_config_free(cfg);
        oq_model_free(m);
    }
}

static void calibrate(float x0, bool pow2, oq_status want, oq_error *err, struct oq_quant_plan **plan) {
    oq_model *m                 = model(4);
    struct oq_quant_config *cfg = oq_quant_config_default();
    if (pow2) {
        cfg->act.pow2     = true;
        cfg->act.pow2_min = 20; /* 2^-20: covers |x| <= 1.2e-4 at most */
        cfg->act.pow2_max = 31;
    }
    struct oq_calibrator *c = NULL;
    CHECK_OK(oq_calibrator_create(m, cfg, 1, &c, err), err);
    float xs[2]      = {x0, 1};
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {1, 2}, .data = xs};
    memset(err, 0, sizeof(*err));
    oq_status st = c ? oq_calibrator_feed(c, 1, &in, err) : OQ_ERR_ARG;
    if (!st)
        st = oq_calibrator_plan(c, plan, err);
    CHECK_MSG(st == want, "got %s: %s", oq_status_str(st), err->msg);
    oq_calibrator_free(c);
    oq_quant_config_free(cfg);
    oq_model_free(m);
}

int main(void) {
    nonfinite_weights();

    /* a finite input the graph overflows to Inf (3e38 * 2 in MatMul): the node, tensor and batch, each once
     */
    oq_error err               = {0};
    struct oq_quant_plan *plan = NULL;
    calibrate(3e38f, false, OQ_ERR_NUMERIC, &err, &plan);
    CHECK_MSG(count(err.msg, "calibration batch") == 1 && strstr(err.msg, "batch 0") &&
                  strstr(err.msg, "node 'mm' (MatMul)") && strstr(err.msg, "tensor 'm'"),
              "%s",
              err.msg);

    /* power-of-two scales that cannot cover the range: the tensor is named once */
    calibrate(3, true, OQ_ERR_UNSUPPORTED, &err, &plan);
    CHECK_MSG(count(err.msg, "tensor 'x'") == 1 && strstr(err.msg, "pow2_min"), "%s", err.msg);

    /* an all-zero tensor is not an error: scale 1, zero point 0 (calib/scale.h) */
    calibrate(3, false, OQ_OK, &err, &plan);
    if (plan) {
        oq_model *m               = model(4);
        int v                     = oq_graph_find_value(oq_model_graph(m), "y");
        const struct oq_qparam *q = v >= 0 ? plan->act[v] : NULL;
        CHECK_MSG(q && q->scale[0] == 1.0f && q->zero_point[0] == 0,
                  "y: scale %g zp %d",
                  q ? (double)q->scale[0] : -1.0,
                  q ? q->zero_point[0] : -1);
        oq_model_free(m);
        oq_quant_plan_free(plan);
    }
    TEST_MAIN_END();
}
