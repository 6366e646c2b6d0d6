/* Reciprocal: y = 1 / x, float. */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(reciprocal_f32, float, float, 1.0f / a)

static const struct oq_ew_kernel reciprocal_kernels[] = {{OQ_DTYPE_FLOAT, reciprocal_f32}};
enum { RECIPROCAL_NK = sizeof(reciprocal_kernels) / sizeof(reciprocal_kernels[0]) };

static oq_status reciprocal_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status reciprocal_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, reciprocal_kernels, RECIPROCAL_NK);
}

static oq_status reciprocal_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, reciprocal_kernels, RECIPROCAL_NK);
}

const struct oq_op_def oq_op_reciprocal = {
    .domain = "",
    .name   = "Reciprocal",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = reciprocal_check,
    .infer  = reciprocal_infer,
    .run    = reciprocal_run,
};
