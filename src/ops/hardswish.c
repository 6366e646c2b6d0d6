/* HardSwish: y = x * max(0, min(1, x/6 + 0.5)) (opset 14).
 * Float; the session's activation row kernel (kernels/activation.h) does the math, so this op and the
 * activations fused into Conv/Gemm share one definition. Attributes are read once, in prepare. */
#include <stdlib.h>

#include "ops/elementwise.h"

static oq_status hardswish_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status hardswish_prepare(struct oq_op_ctx *ctx) {
    struct oq_act act;
    oq_act_init(&act, OQ_ACT_HARDSWISH, NULL, 0);
    return oq_ew_act_prepare(ctx, &act);
}

const struct oq_op_def oq_op_hardswish = {
    .domain  = "",
    .name    = "HardSwish",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = hardswish_check,
    .infer   = oq_ew_act_infer,
    .prepare = hardswish_prepare,
    .run     = oq_ew_act_run_prepared,
    .destroy = free,
};
