/* Mul: elementwise product with numpy broadcasting (ops/elementwise.h), float and every integer type
 * (integers appear in shape arithmetic). Integer products wrap (two's complement), as ONNX Runtime's. */
#include "ops/elementwise.h"

OQ_EW_BINARY_ROW(mul_f32, float, float, a *b)
#define SROW(sfx, T, DT) OQ_EW_BINARY_ROW(mul_##sfx, T, T, OQ_EW_WRAP(T, a, *, b))
#define UROW(sfx, T, DT) OQ_EW_BINARY_ROW(mul_##sfx, T, T, OQ_EW_WRAP(T, a, *, b))
OQ_EW_SINT_TYPES(SROW)
OQ_EW_UINT_TYPES(UROW)
#define ENTRY(sfx, T, DT) {DT, mul_##sfx},
static const struct oq_ew_kernel mul_kernels[] = {{OQ_DTYPE_FLOAT, mul_f32}, OQ_EW_INT_TYPES(ENTRY)};
enum { MUL_NK = sizeof(mul_kernels) / sizeof(mul_kernels[0]) };

static oq_status mul_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status mul_infer(struct oq_op_ctx *ctx) {
    return oq_ew_binary_infer(ctx, mul_kernels, MUL_NK, OQ_DTYPE_UNDEFINED);
}

static oq_status mul_run(struct oq_op_ctx *ctx) {
    return oq_ew_binary_run(ctx, mul_kernels, MUL_NK);
}

const struct oq_op_def oq_op_mul = {
    .domain = "",
    .name   = "Mul",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = mul_check,
    .infer  = mul_infer,
    .run    = mul_run,
};
