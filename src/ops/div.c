/* Div: elementwise quotient with numpy broadcasting (ops/elementwise.h), float and every integer type
 * (integers appear in shape arithmetic).
 * Integer division truncates toward zero like C; x / 0 gives 0 instead of trapping. */
#include "ops/elementwise.h"

OQ_EW_BINARY_ROW(div_f32, float, float, a / b)
#define SROW(sfx, T, DT) OQ_EW_BINARY_ROW(div_##sfx, T, T, OQ_EW_SDIV(T, a, b))
#define UROW(sfx, T, DT) OQ_EW_BINARY_ROW(div_##sfx, T, T, OQ_EW_UDIV(T, a, b))
OQ_EW_SINT_TYPES(SROW)
OQ_EW_UINT_TYPES(UROW)
#define ENTRY(sfx, T, DT) {DT, div_##sfx},
static const struct oq_ew_kernel div_kernels[] = {{OQ_DTYPE_FLOAT, div_f32}, OQ_EW_INT_TYPES(ENTRY)};
enum { DIV_NK = sizeof(div_kernels) / sizeof(div_kernels[0]) };

static oq_status div_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status div_infer(struct oq_op_ctx *ctx) {
    return oq_ew_binary_infer(ctx, div_kernels, DIV_NK, OQ_DTYPE_UNDEFINED);
}

static oq_status div_run(struct oq_op_ctx *ctx) {
    return oq_ew_binary_run(ctx, div_kernels, DIV_NK);
}

const struct oq_op_def oq_op_div = {
    .domain = "",
    .name   = "Div",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = div_check,
    .infer  = div_infer,
    .run    = div_run,
};
