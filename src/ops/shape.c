/* Shape: the input's dims as int64 (opset 15 adds start/end). Evaluated at plan time by the session. */
#include "ops/op.h"

static oq_status shape_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static void shape_range(const struct oq_op_ctx *ctx, int *b, int *e) {
    int r = ctx->in[0]->ndim;
    int64_t s = oq_attr_int(ctx->node, "start", 0), en = oq_attr_int(ctx->node, "end", r);
    if (s < 0) s += r;
    if (en < 0) en += r;
    *b = (int)(s < 0 ? 0 : s > r ? r : s);
    *e = (int)(en < 0 ? 0 : en > r ? r : en);
    if (*e < *b)
        *e = *b;
}

static oq_status shape_infer(struct oq_op_ctx *ctx) {
    int b, e;
    shape_range(ctx, &b, &e);
    int64_t n = e - b;
    oq_op_set_output(ctx, 0, OQ_DTYPE_INT64, 1, &n);
    return OQ_OK;
}

static oq_status shape_run(struct oq_op_ctx *ctx) {
    int b, e;
    shape_range(ctx, &b, &e);
    int64_t *y = ctx->out[0]->data;
    for (int i = b; i < e; i++)
        y[i - b] = ctx->in[0]->dims[i];
    return OQ_OK;
}

const struct oq_op_def oq_op_shape = {
    .domain = "",
    .name   = "Shape",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = shape_check,
    .infer  = shape_infer,
    .run    = shape_run,
};
