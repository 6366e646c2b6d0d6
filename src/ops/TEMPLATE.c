/* TEMPLATE for a new operator (not compiled). Copy to src/ops/<opname>.c, rename, add `oq_op_<opname>` to
 * registry.c in sorted position, add its ONNX node test cases to tests/onnx_node/cases.txt.
 *
 * Rules (see op.h for the lifecycle):
 *  - check(): arity and attributes only. Errors name the node: oq_node_error(n, err, OQ_ERR_MODEL, "...").
 *  - infer(): output dtype/shape from input shapes; read constant inputs via oq_op_const_ints().
 *  - run(): no malloc, no strings. Float compute is f32; integer ops exist where ONNX graphs need them for
 *    shapes/indices (int64/int32). Unsupported dtypes are rejected in infer() with the dtype named.
 *  - Parallelize big loops with oq_pool_run(ctx->pool, fn, &args, oq_pool_threads_for(ctx->pool, n, 4096)).
 */
#include "ops/op.h"

static oq_status tmpl_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status tmpl_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 has dtype %s; only float is supported",
                           oq_dtype_name(x->dtype));
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, x->dims);
    return OQ_OK;
}

static oq_status tmpl_run(struct oq_op_ctx *ctx) {
    const float *x = ctx->in[0]->data;
    float *y = ctx->out[0]->data;
    int64_t n = oq_tensor_numel(ctx->in[0]);
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i];
    return OQ_OK;
}

const struct oq_op_def oq_op_template = {
    .domain = "",
    .name   = "Template",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = tmpl_check,
    .infer  = tmpl_infer,
    .run    = tmpl_run,
};
