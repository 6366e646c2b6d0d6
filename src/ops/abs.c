/* Abs: y = |x|, float and integers (|INT_MIN| wraps to INT_MIN, as two's complement). */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(abs_f32, float, float, fabsf(a))
#define SROW(sfx, T, DT) OQ_EW_UNARY_ROW(abs_##sfx, T, T, (a < 0 ? (T)(0u - (uint64_t)a) : a))
OQ_EW_SINT_TYPES(SROW)
#define UROW(sfx, T, DT) OQ_EW_UNARY_ROW(abs_##sfx, T, T, a)
OQ_EW_UINT_TYPES(UROW)
#define ENTRY(sfx, T, DT) {DT, abs_##sfx},
static const struct oq_ew_kernel abs_kernels[] = {{OQ_DTYPE_FLOAT, abs_f32},
                                                  OQ_EW_SINT_TYPES(ENTRY) OQ_EW_UINT_TYPES(ENTRY)};
enum { ABS_NK = sizeof(abs_kernels) / sizeof(abs_kernels[0]) };

static oq_status abs_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status abs_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, abs_kernels, ABS_NK);
}

static oq_status abs_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, abs_kernels, ABS_NK);
}

const struct oq_op_def oq_op_abs = {
    .domain = "",
    .name   = "Abs",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = abs_check,
    .infer  = abs_infer,
    .run    = abs_run,
};
