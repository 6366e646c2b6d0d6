/* Softplus: y = ln(1 + e^x), float, computed as max(x, 0) + log1p(e^-|x|) so it never overflows. */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(softplus_f32, float, float, (a > 0.0f ? a : 0.0f) + log1pf(oq_expf(-fabsf(a))))

static const struct oq_ew_kernel softplus_kernels[] = {{OQ_DTYPE_FLOAT, softplus_f32}};
enum { SOFTPLUS_NK = sizeof(softplus_kernels) / sizeof(softplus_kernels[0]) };

static oq_status softplus_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status softplus_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, softplus_kernels, SOFTPLUS_NK);
}

static oq_status softplus_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, softplus_kernels, SOFTPLUS_NK);
}

const struct oq_op_def oq_op_softplus = {
    .domain = "",
    .name   = "Softplus",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = softplus_check,
    .infer  = softplus_infer,
    .run    = softplus_run,
};
