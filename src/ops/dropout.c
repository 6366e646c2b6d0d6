/* Dropout at inference: output 0 is the input, the optional mask is all true (bool from opset 10, the
 * input's type before). Training mode (is_test=0 before opset 7, training_mode input from opset 12) is
 * not supported. */
#include <string.h>

#include "ops/movement.h"

static oq_status dropout_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, n->opset >= 12 ? 3 : 1, 1, 2));
    if (n->opset < 7 && oq_attr_int(n, "is_test", 0) == 0)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "is_test=0 (training mode) is not supported; onnxq runs inference only");
    return OQ_OK;
}

static oq_status dropout_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (oq_mv_has_input(ctx, 2)) {
        const struct oq_tensor *tm = ctx->in[2];
        if (!tm->data)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED,
                               "input 2 (training_mode, '%s') must be a constant; training mode is not supported",
                               tm->name ? tm->name : "?");
        if (oq_tensor_numel(tm) != 1)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "input 2 (training_mode) must be a scalar");
        if (oq_tensor_get_i64(tm, 0) != 0)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "training_mode=true is not supported; onnxq runs inference only");
    }
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, x->dims);
    if (ctx->n_out > 1)
        oq_op_set_output(ctx, 1, ctx->node->opset >= 10 ? OQ_DTYPE_BOOL : x->dtype, x->ndim, x->dims);
    return OQ_OK;
}

static oq_status dropout_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    oq_mv_memcpy(ctx->pool, ctx->out[0]->data, x->data, oq_tensor_bytes(x));
    struct oq_tensor *mask = ctx->n_out > 1 ? ctx->out[1] : NULL;
    if (mask) {
        int64_t n = oq_tensor_numel(mask);
        if (mask->dtype == OQ_DTYPE_BOOL)
            memset(mask->data, 1, (size_t)n);
        else
            for (int64_t i = 0; i < n; i++)
                oq_tensor_set_f64(mask, i, 1.0);
    }
    return OQ_OK;
}

const struct oq_op_def oq_op_dropout = {
    .domain = "",
    .name   = "Dropout",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = dropout_check,
    .infer  = dropout_infer,
    .run    = dropout_run,
};
