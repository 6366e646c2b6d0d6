/* BatchNormalization, inference mode: y = (x - mean) / sqrt(var + epsilon) * scale + B per channel, X is
 * [N, C, D1, ...] and the four parameters are [C]. The per-channel affine a = scale / sqrt(var + eps),
 * b = B - mean * a is formed in scratch at run time (the parameters may be computed values), then every
 * [N, C] plane is y = x * a + b. training_mode = 1 (opset 14+) and spatial = 0 (opset < 9) are rejected
 * at load. Before opset 14 a model may still list the training outputs (running mean/var, saved
 * mean/var); in inference they are the inputs' mean and var, and are written as such. */
#include <stdlib.h>

#include "ops/elementwise.h"

struct bn_job {
    const float *x, *a, *b;
    float *y;
    int64_t planes, c, hw;
};

static void bn_task(void *arg, int ith, int nth) {
    const struct bn_job *j = arg;
    int64_t b, e;
    oq_split(j->planes, ith, nth, &b, &e);
    for (int64_t p = b; p < e; p++) {
        const float *x = j->x + p * j->hw;
        float *y       = j->y + p * j->hw;
        const float a = j->a[p % j->c], c = j->b[p % j->c];
        for (int64_t i = 0; i < j->hw; i++)
            y[i] = x[i] * a + c;
    }
}

static oq_status bn_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 5, 5, 1, 5));
    if (oq_attr_int(n, "training_mode", 0) != 0)
        return oq_node_error(
            n,
            err,
            OQ_ERR_UNSUPPORTED,
            "training_mode=1 is not supported (onnxq runs inference only); export the model in "
            "eval mode");
    if (n->opset < 9 && oq_attr_int(n, "spatial", 1) == 0)
        return oq_node_error(
            n, err, OQ_ERR_UNSUPPORTED, "spatial=0 (per-activation statistics) is not supported");
    const struct oq_attr *eps = oq_node_attr(n, "epsilon");
    if (eps && eps->type != OQ_ATTR_FLOAT)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'epsilon' must be a float");
    return OQ_OK;
}

static const char *const bn_names[] = {"X", "scale", "B", "input_mean", "input_var"};

static oq_status bn_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->ndim < 2) {
        char xs[128];
        return oq_op_error(ctx,
                           OQ_ERR_SHAPE,
                           "input 0 ('%s') has shape %s; X must be [N, C, ...] (rank >= 2)",
                           x->name ? x->name : "?",
                           oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)));
    }
    int64_t c = x->dims[1];
    for (int i = 0; i < 5; i++) {
        const struct oq_tensor *t = ctx->in[i];
        if (t->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx,
                               OQ_ERR_UNSUPPORTED,
                               "input %d ('%s', %s) has dtype %s; only float is supported",
                               i,
                               t->name ? t->name : "?",
                               bn_names[i],
                               oq_dtype_name(t->dtype));
        if (i > 0 && oq_tensor_numel(t) != c) {
            char ts[128];
            return oq_op_error(ctx,
                               OQ_ERR_SHAPE,
                               "input %d ('%s', %s) has shape %s; it must have C = %lld elements",
                               i,
                               t->name ? t->name : "?",
                               bn_names[i],
                               oq_shape_str(t->ndim, t->dims, ts, sizeof(ts)),
                               (long long)c);
        }
    }
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, x->ndim, x->dims);
    for (int k = 1; k < ctx->n_out; k++)
        oq_op_set_output(ctx, k, OQ_DTYPE_FLOAT, 1, &c);
    return OQ_OK;
}

static oq_status bn_prepare(struct oq_op_ctx *ctx) {
    if (!ctx->priv && !(ctx->priv = malloc(sizeof(float))))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    *(float *)ctx->priv = oq_attr_float(ctx->node, "epsilon", 1e-5f);
    ctx->scratch_bytes  = 2 * sizeof(float) * (size_t)ctx->in[0]->dims[1];
    return OQ_OK;
}

static oq_status bn_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    const float *scale = ctx->in[1]->data, *bias = ctx->in[2]->data;
    const float *mean = ctx->in[3]->data, *var = ctx->in[4]->data;
    float eps = *(const float *)ctx->priv;
    int64_t c = x->dims[1];
    float *a = ctx->scratch, *b = a + c;
    for (int64_t i = 0; i < c; i++) {
        a[i] = scale[i] / sqrtf(var[i] + eps);
        b[i] = bias[i] - mean[i] * a[i];
    }
    for (int k = 1; k < ctx->n_out; k++)
        if (ctx->out[k])
            memcpy(ctx->out[k]->data, (k % 2 ? mean : var), sizeof(float) * (size_t)c);
    struct bn_job j = {.x = x->data, .a = a, .b = b, .y = ctx->out[0]->data, .c = c};
    j.planes        = x->dims[0] * c;
    j.hw            = oq_shape_numel(x->ndim - 2, x->dims + 2);
    if (j.planes <= 0 || j.hw <= 0)
        return OQ_OK;
    int nth = oq_pool_threads_for(ctx->pool, j.planes * j.hw, 16384);
    oq_pool_run(ctx->pool, bn_task, &j, nth < j.planes ? nth : (int)j.planes);
    return OQ_OK;
}

const struct oq_op_def oq_op_batchnormalization = {
    .domain  = "",
    .name    = "BatchNormalization",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = bn_check,
    .infer   = bn_infer,
    .prepare = bn_prepare,
    .run     = bn_run,
    .destroy = free,
};
