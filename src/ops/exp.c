/* Exp: y = e^x, float, by the vectorized oq_ew_exp_row (elementwise.h; < 2 ulp). */
#include "ops/elementwise.h"

static void exp_f32(void *y, const void *const *x, const int64_t *s, int64_t n, const void *p) {
    if (s[0]) {
        oq_ew_exp_row(y, x[0], n, 0.0f);
    } else {
        float v = oq_expf(*(const float *)x[0]);
        for (int64_t i = 0; i < n; i++)
            ((float *)y)[i] = v;
    }
}

static const struct oq_ew_kernel exp_kernels[] = {{OQ_DTYPE_FLOAT, exp_f32}};
enum { EXP_NK = sizeof(exp_kernels) / sizeof(exp_kernels[0]) };

static oq_status exp_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status exp_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, exp_kernels, EXP_NK);
}

static oq_status exp_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, exp_kernels, EXP_NK);
}

const struct oq_op_def oq_op_exp = {
    .domain = "",
    .name   = "Exp",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = exp_check,
    .infer  = exp_infer,
    .run    = exp_run,
};
