/* PRelu: y = x < 0 ? slope*x : x, float, with slope unidirectionally broadcast to x (the output has x's
 * shape). The usual per-channel slope [C,1,1] against [N,C,H,W] reaches the kernel as N*C rows of H*W with
 * one slope each (ops/elementwise.h). */
#include "ops/elementwise.h"

OQ_EW_BINARY_ROW(prelu_f32, float, float, a < 0.0f ? a * b : a)
static const struct oq_ew_kernel prelu_kernels[] = {{OQ_DTYPE_FLOAT, prelu_f32}};

static oq_status prelu_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status prelu_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *slope = ctx->in[1];
    OQ_TRY(oq_ew_binary_infer(ctx, prelu_kernels, 1, OQ_DTYPE_UNDEFINED));
    const struct oq_tensor *y = ctx->out[0];
    if (y->ndim != x->ndim || memcmp(y->dims, x->dims, sizeof(int64_t) * (size_t)x->ndim) != 0) {
        char xs[128], ss[128];
        return oq_op_error(ctx,
                           OQ_ERR_SHAPE,
                           "slope (input 1 '%s') has shape %s, which does not broadcast to X's shape %s "
                           "(PRelu broadcasts the slope to X only)",
                           slope->name ? slope->name : "?",
                           oq_shape_str(slope->ndim, slope->dims, ss, sizeof(ss)),
                           oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)));
    }
    return OQ_OK;
}

static oq_status prelu_run(struct oq_op_ctx *ctx) {
    return oq_ew_binary_run(ctx, prelu_kernels, 1);
}

const struct oq_op_def oq_op_prelu = {
    .domain = "",
    .name   = "PRelu",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = prelu_check,
    .infer  = prelu_infer,
    .run    = prelu_run,
};
