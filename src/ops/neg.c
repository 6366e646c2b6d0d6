/* Neg: y = -x, float and signed integers (integer negation wraps: -INT_MIN = INT_MIN). */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(neg_f32, float, float, -a)
#define SROW(sfx, T, DT) OQ_EW_UNARY_ROW(neg_##sfx, T, T, (T)(0u - (uint64_t)a))
OQ_EW_SINT_TYPES(SROW)
#define ENTRY(sfx, T, DT) {DT, neg_##sfx},
static const struct oq_ew_kernel neg_kernels[] = {{OQ_DTYPE_FLOAT, neg_f32}, OQ_EW_SINT_TYPES(ENTRY)};
enum { NEG_NK = sizeof(neg_kernels) / sizeof(neg_kernels[0]) };

static oq_status neg_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status neg_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, neg_kernels, NEG_NK);
}

static oq_status neg_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, neg_kernels, NEG_NK);
}

const struct oq_op_def oq_op_neg = {
    .domain = "",
    .name   = "Neg",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = neg_check,
    .infer  = neg_infer,
    .run    = neg_run,
};
