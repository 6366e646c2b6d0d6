/* LayerNormalization (opset 17): normalize X over dims[axis:] (axis default -1), then * Scale + B.
 * Y = (X - mean) * InvStdDev * Scale + B with InvStdDev = 1 / sqrt(var + epsilon) (epsilon default 1e-5).
 * Optional outputs Mean and InvStdDev have shape dims[:axis] followed by ones (rank of X). Scale and B
 * have the normalized shape (or are scalars). Float compute (stash_type 1); mean and variance are
 * two-pass (variance of x - mean), in float lanes with double block sums, so large means do not cancel. */
#include <stdlib.h>

#include "ops/elementwise.h"

struct ln_params {
    int axis;
    float eps;
};

struct ln_job {
    const float *x, *scale, *bias;
    float *y, *mean, *istd;
    int64_t rows, n;
    bool scalar_scale, scalar_bias;
    float eps;
};

/* sum((x - m)^2) in 8 lanes per block, double across blocks */
static double sumsq_dev(const float *x, int64_t n, float m) {
    double tot = 0;
    for (int64_t b = 0; b < n; b += 4096) {
        int64_t e    = n - b < 4096 ? n : b + 4096;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i    = b;
        for (; i + 8 <= e; i += 8)
            for (int k = 0; k < 8; k++) {
                float d = x[i + k] - m;
                acc[k] += d * d;
            }
        float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; i < e; i++)
            s += (x[i] - m) * (x[i] - m);
        tot += s;
    }
    return tot;
}

static void ln_task(void *arg, int ith, int nth) {
    const struct ln_job *j = arg;
    int64_t b, e, n = j->n;
    oq_split(j->rows, ith, nth, &b, &e);
    for (int64_t r = b; r < e; r++) {
        const float *x = j->x + r * n;
        float *y       = j->y + r * n;
        float mean     = (float)(oq_ew_sum_f32(x, n) / (double)n);
        float var      = (float)(sumsq_dev(x, n, mean) / (double)n);
        float istd     = 1.0f / sqrtf(var + j->eps);
        if (j->mean)
            j->mean[r] = mean;
        if (j->istd)
            j->istd[r] = istd;
        if (!j->scalar_scale && j->bias && !j->scalar_bias) {
            const float *s = j->scale, *bi = j->bias;
            for (int64_t i = 0; i < n; i++)
                y[i] = (x[i] - mean) * istd * s[i] + bi[i];
        } else if (!j->scalar_scale && !j->bias) {
            const float *s = j->scale;
            for (int64_t i = 0; i < n; i++)
                y[i] = (x[i] - mean) * istd * s[i];
        } else {
            for (int64_t i = 0; i < n; i++) {
                float v = (x[i] - mean) * istd * j->scale[j->scalar_scale ? 0 : i];
                y[i]    = j->bias ? v + j->bias[j->scalar_bias ? 0 : i] : v;
            }
        }
    }
}

static oq_status ln_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 3, 1, 3));
    const struct oq_attr *eps = oq_node_attr(n, "epsilon");
    if (eps && eps->type != OQ_ATTR_FLOAT)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'epsilon' must be a float");
    return OQ_OK;
}

static oq_status ln_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    int axis;
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", -1), x->ndim, &axis));
    int64_t n = oq_shape_numel(x->ndim - axis, x->dims + axis);
    for (int i = 0; i < 3 && i < ctx->n_in; i++) {
        const struct oq_tensor *t = ctx->in[i];
        if (!t)
            continue;
        if (t->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx,
                               OQ_ERR_UNSUPPORTED,
                               "input %d ('%s') has dtype %s; only float is supported",
                               i,
                               t->name ? t->name : "?",
                               oq_dtype_name(t->dtype));
        if (i > 0 && oq_tensor_numel(t) != n && oq_tensor_numel(t) != 1) {
            char ts[128], xs[128];
            return oq_op_error(
                ctx,
                OQ_ERR_SHAPE,
                "input %d ('%s', %s) has shape %s; it must have the normalized shape dims[%d:] of "
                "X %s (%lld elements) or be a scalar",
                i,
                t->name ? t->name : "?",
                i == 1 ? "Scale" : "B",
                oq_shape_str(t->ndim, t->dims, ts, sizeof(ts)),
                axis,
                oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)),
                (long long)n);
        }
    }
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, x->ndim, x->dims);
    int64_t sdims[OQ_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        sdims[d] = d < axis ? x->dims[d] : 1;
    for (int k = 1; k < 3 && k < ctx->n_out; k++)
        oq_op_set_output(ctx, k, OQ_DTYPE_FLOAT, x->ndim, sdims);
    return OQ_OK;
}

static oq_status ln_prepare(struct oq_op_ctx *ctx) {
    if (!ctx->priv && !(ctx->priv = malloc(sizeof(struct ln_params))))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    struct ln_params *p = ctx->priv;
    p->eps              = oq_attr_float(ctx->node, "epsilon", 1e-5f);
    return oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", -1), ctx->in[0]->ndim, &p->axis);
}

static oq_status ln_run(struct oq_op_ctx *ctx) {
    const struct ln_params *p = ctx->priv;
    const struct oq_tensor *x = ctx->in[0], *scale = ctx->in[1];
    const struct oq_tensor *bias = ctx->n_in > 2 ? ctx->in[2] : NULL;
    struct ln_job j              = {
                     .x     = x->data,
                     .scale = scale->data,
                     .bias  = bias ? bias->data : NULL,
                     .y     = ctx->out[0]->data,
                     .mean  = ctx->n_out > 1 && ctx->out[1] ? ctx->out[1]->data : NULL,
                     .istd  = ctx->n_out > 2 && ctx->out[2] ? ctx->out[2]->data : NULL,
                     .rows  = oq_shape_numel(p->axis, x->dims),
                     .n     = oq_shape_numel(x->ndim - p->axis, x->dims + p->axis),
                     .eps   = p->eps,
    };
    j.scalar_scale = oq_tensor_numel(scale) == 1 && j.n != 1;
    j.scalar_bias  = bias && oq_tensor_numel(bias) == 1 && j.n != 1;
    if (j.rows <= 0 || j.n <= 0)
        return OQ_OK;
    int nth = oq_pool_threads_for(ctx->pool, j.rows * j.n, 16384);
    oq_pool_run(ctx->pool, ln_task, &j, nth < j.rows ? nth : (int)j.rows);
    return OQ_OK;
}

const struct oq_op_def oq_op_layernormalization = {
    .domain  = "",
    .name    = "LayerNormalization",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = ln_check,
    .infer   = ln_infer,
    .prepare = ln_prepare,
    .run     = ln_run,
    .destroy = free,
};
