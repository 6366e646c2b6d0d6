/* Sqrt: y = sqrtf(x), float (NaN for x < 0, as IEEE). */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(sqrt_f32, float, float, sqrtf(a))

static const struct oq_ew_kernel sqrt_kernels[] = {{OQ_DTYPE_FLOAT, sqrt_f32}};
enum { SQRT_NK = sizeof(sqrt_kernels) / sizeof(sqrt_kernels[0]) };

static oq_status sqrt_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status sqrt_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, sqrt_kernels, SQRT_NK);
}

static oq_status sqrt_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, sqrt_kernels, SQRT_NK);
}

const struct oq_op_def oq_op_sqrt = {
    .domain = "",
    .name   = "Sqrt",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = sqrt_check,
    .infer  = sqrt_infer,
    .run    = sqrt_run,
};
