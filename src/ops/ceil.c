/* Ceil: y = ceilf(x), float. */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(ceil_f32, float, float, ceilf(a))

static const struct oq_ew_kernel ceil_kernels[] = {{OQ_DTYPE_FLOAT, ceil_f32}};
enum { CEIL_NK = sizeof(ceil_kernels) / sizeof(ceil_kernels[0]) };

static oq_status ceil_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status ceil_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, ceil_kernels, CEIL_NK);
}

static oq_status ceil_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, ceil_kernels, CEIL_NK);
}

const struct oq_op_def oq_op_ceil = {
    .domain = "",
    .name   = "Ceil",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = ceil_check,
    .infer  = ceil_infer,
    .run    = ceil_run,
};
