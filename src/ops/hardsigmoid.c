/* HardSigmoid: y = max(0, min(1, alpha*x + beta)), defaults alpha 0.2, beta 0.5.
 * Float; the session's activation row kernel (kernels/activation.h) does the math, so this op and the
 * activations fused into Conv/Gemm share one definition. Attributes are read once, in prepare. */
#include <stdlib.h>

#include "ops/elementwise.h"

static oq_status hardsigmoid_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    const struct oq_attr *alpha = oq_node_attr(n, "alpha");
    if (alpha && alpha->type != OQ_ATTR_FLOAT)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'alpha' must be a float");
    const struct oq_attr *beta = oq_node_attr(n, "beta");
    if (beta && beta->type != OQ_ATTR_FLOAT)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'beta' must be a float");
    return OQ_OK;
}

static oq_status hardsigmoid_prepare(struct oq_op_ctx *ctx) {
    const float p[] = {oq_attr_float(ctx->node, "alpha", 0.2f), oq_attr_float(ctx->node, "beta", 0.5f)};
    struct oq_act act;
    oq_act_init(&act, OQ_ACT_HARDSIGMOID, p, 2);
    return oq_ew_act_prepare(ctx, &act);
}

const struct oq_op_def oq_op_hardsigmoid = {
    .domain  = "",
    .name    = "HardSigmoid",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = hardsigmoid_check,
    .infer   = oq_ew_act_infer,
    .prepare = hardsigmoid_prepare,
    .run     = oq_ew_act_run_prepared,
    .destroy = free,
};
