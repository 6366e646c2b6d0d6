/* Erf: y = erff(x) (libm), float. Used by the exact GELU of transformer blocks. */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(erf_f32, float, float, erff(a))

static const struct oq_ew_kernel erf_kernels[] = {{OQ_DTYPE_FLOAT, erf_f32}};
enum { ERF_NK = sizeof(erf_kernels) / sizeof(erf_kernels[0]) };

static oq_status erf_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status erf_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, erf_kernels, ERF_NK);
}

static oq_status erf_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, erf_kernels, ERF_NK);
}

const struct oq_op_def oq_op_erf = {
    .domain = "",
    .name   = "Erf",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = erf_check,
    .infer  = erf_infer,
    .run    = erf_run,
};
