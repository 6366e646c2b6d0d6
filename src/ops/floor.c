/* Floor: y = floorf(x), float. */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(floor_f32, float, float, floorf(a))

static const struct oq_ew_kernel floor_kernels[] = {{OQ_DTYPE_FLOAT, floor_f32}};
enum { FLOOR_NK = sizeof(floor_kernels) / sizeof(floor_kernels[0]) };

static oq_status floor_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status floor_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, floor_kernels, FLOOR_NK);
}

static oq_status floor_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, floor_kernels, FLOOR_NK);
}

const struct oq_op_def oq_op_floor = {
    .domain = "",
    .name   = "Floor",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = floor_check,
    .infer  = floor_infer,
    .run    = floor_run,
};
