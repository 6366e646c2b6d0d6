/* Sub: elementwise difference with numpy broadcasting (ops/elementwise.h), float and every integer type
 * (integers appear in shape arithmetic). Integer differences wrap (two's complement), as ONNX Runtime's. */
#include "ops/elementwise.h"

OQ_EW_BINARY_ROW(sub_f32, float, float, a - b)
#define SROW(sfx, T, DT) OQ_EW_BINARY_ROW(sub_##sfx, T, T, OQ_EW_WRAP(T, a, -, b))
#define UROW(sfx, T, DT) OQ_EW_BINARY_ROW(sub_##sfx, T, T, OQ_EW_WRAP(T, a, -, b))
OQ_EW_SINT_TYPES(SROW)
OQ_EW_UINT_TYPES(UROW)
#define ENTRY(sfx, T, DT) {DT, sub_##sfx},
static const struct oq_ew_kernel sub_kernels[] = {{OQ_DTYPE_FLOAT, sub_f32}, OQ_EW_INT_TYPES(ENTRY)};
enum { SUB_NK = sizeof(sub_kernels) / sizeof(sub_kernels[0]) };

static oq_status sub_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status sub_infer(struct oq_op_ctx *ctx) {
    return oq_ew_binary_infer(ctx, sub_kernels, SUB_NK, OQ_DTYPE_UNDEFINED);
}

static oq_status sub_run(struct oq_op_ctx *ctx) {
    return oq_ew_binary_run(ctx, sub_kernels, SUB_NK);
}

const struct oq_op_def oq_op_sub = {
    .domain = "",
    .name   = "Sub",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = sub_check,
    .infer  = sub_infer,
    .run    = sub_run,
};
