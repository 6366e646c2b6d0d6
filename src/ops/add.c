/* Add: elementwise sum with numpy broadcasting (ops/elementwise.h), float and every integer type
 * (integers appear in shape arithmetic). Integer sums wrap (two's complement), as ONNX Runtime's. */
#include "ops/elementwise.h"

OQ_EW_BINARY_ROW(add_f32, float, float, a + b)
#define SROW(sfx, T, DT) OQ_EW_BINARY_ROW(add_##sfx, T, T, OQ_EW_WRAP(T, a, +, b))
#define UROW(sfx, T, DT) OQ_EW_BINARY_ROW(add_##sfx, T, T, OQ_EW_WRAP(T, a, +, b))
OQ_EW_SINT_TYPES(SROW)
OQ_EW_UINT_TYPES(UROW)
#define ENTRY(sfx, T, DT) {DT, add_##sfx},
static const struct oq_ew_kernel add_kernels[] = {{OQ_DTYPE_FLOAT, add_f32}, OQ_EW_INT_TYPES(ENTRY)};
enum { ADD_NK = sizeof(add_kernels) / sizeof(add_kernels[0]) };

static oq_status add_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status add_infer(struct oq_op_ctx *ctx) {
    return oq_ew_binary_infer(ctx, add_kernels, ADD_NK, OQ_DTYPE_UNDEFINED);
}

static oq_status add_run(struct oq_op_ctx *ctx) {
    return oq_ew_binary_run(ctx, add_kernels, ADD_NK);
}

const struct oq_op_def oq_op_add = {
    .domain = "",
    .name   = "Add",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = add_check,
    .infer  = add_infer,
    .run    = add_run,
};
