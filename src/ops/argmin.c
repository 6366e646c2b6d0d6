/* ArgMin: int64 index of the smallest element along `axis`; same attributes and dtypes as ArgMax
 * (argmax.c, which holds the shared scan). */
#include <stdlib.h>

#include "ops/reduce.h"

static oq_status argmin_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_arg_check(n, err);
}

static oq_status argmin_run(struct oq_op_ctx *ctx) {
    return oq_arg_run(ctx, false);
}

const struct oq_op_def oq_op_argmin = {
    .domain  = "",
    .name    = "ArgMin",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = argmin_check,
    .infer   = oq_arg_infer,
    .prepare = oq_arg_prepare,
    .run     = argmin_run,
    .destroy = free,
};
