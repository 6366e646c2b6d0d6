/* Log: y = logf(x) (libm), float (-inf at 0, NaN below). */
#include "ops/elementwise.h"

OQ_EW_UNARY_ROW(log_f32, float, float, logf(a))

static const struct oq_ew_kernel log_kernels[] = {{OQ_DTYPE_FLOAT, log_f32}};
enum { LOG_NK = sizeof(log_kernels) / sizeof(log_kernels[0]) };

static oq_status log_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status log_infer(struct oq_op_ctx *ctx) {
    return oq_ew_unary_infer(ctx, log_kernels, LOG_NK);
}

static oq_status log_run(struct oq_op_ctx *ctx) {
    return oq_ew_unary_run(ctx, log_kernels, LOG_NK);
}

const struct oq_op_def oq_op_log = {
    .domain = "",
    .name   = "Log",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = log_check,
    .infer  = log_infer,
    .run    = log_run,
};
