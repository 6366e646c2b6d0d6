/* LogSoftmax: x - max - log(sum(e^(x - max))) along the same axis rules as Softmax (softmax.c: 2-D
 * coercion before opset 13, single axis from 13), float. */
#include <stdlib.h>

#include "ops/elementwise.h"

static oq_status logsoftmax_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status logsoftmax_run(struct oq_op_ctx *ctx) {
    return oq_softmax_run(ctx, true);
}

const struct oq_op_def oq_op_logsoftmax = {
    .domain  = "",
    .name    = "LogSoftmax",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = logsoftmax_check,
    .infer   = oq_softmax_infer,
    .prepare = oq_softmax_prepare,
    .run     = logsoftmax_run,
    .destroy = free,
};
