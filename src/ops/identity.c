/* Identity (and, in inference, Dropout's output 0): a copy. The load-time pass removes most of these;
 * what remains (graph input -> graph output) still runs. */
#include <string.h>

#include "ops/op.h"

static oq_status identity_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status identity_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, x->dims);
    return OQ_OK;
}

static oq_status identity_run(struct oq_op_ctx *ctx) {
    if (ctx->out[0]->data != ctx->in[0]->data)
        memcpy(ctx->out[0]->data, ctx->in[0]->data, oq_tensor_bytes(ctx->in[0]));
    return OQ_OK;
}

const struct oq_op_def oq_op_identity = {
    .domain = "",
    .name   = "Identity",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = identity_check,
    .infer  = identity_infer,
    .run    = identity_run,
};
