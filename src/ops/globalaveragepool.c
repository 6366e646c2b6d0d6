/* GlobalAveragePool: mean over every spatial dim of [N, C, ...] -> [N, C, 1, ...]. Float. The SE blocks of
 * the det/cls models call this on every stage, so planes are split over threads and each plane is summed
 * with 8 independent accumulators (vectorizable, and less rounding drift than one running sum). */
#include "ops/op.h"
#include "ops/pool_common.h"

static oq_status gap_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status gap_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 has dtype %s; only float is supported",
                           oq_dtype_name(x->dtype));
    return oq_global_pool_infer(ctx);
}

struct gap_args {
    const float *x;
    float *y;
    int64_t planes, hw;
};

static void gap_task(void *arg, int ith, int nth) {
    const struct gap_args *a = arg;
    int64_t p0, p1;
    oq_split(a->planes, ith, nth, &p0, &p1);
    float inv = a->hw ? 1.0f / (float)a->hw : 0.0f;
    for (int64_t p = p0; p < p1; p++) {
        const float *x = a->x + p * a->hw;
        float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= a->hw; i += 8)
            for (int k = 0; k < 8; k++)
                s[k] += x[i + k];
        float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        for (; i < a->hw; i++)
            t += x[i];
        a->y[p] = t * inv;
    }
}

static oq_status gap_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    struct gap_args a = {x->data, ctx->out[0]->data, x->dims[0] * x->dims[1], 0};
    a.hw = oq_shape_numel(x->ndim - 2, x->dims + 2);
    oq_pool_run(ctx->pool, gap_task, &a, oq_pool_threads_for(ctx->pool, a.planes * a.hw, 16384));
    return OQ_OK;
}

const struct oq_op_def oq_op_globalaveragepool = {
    .domain = "",
    .name   = "GlobalAveragePool",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = gap_check,
    .infer  = gap_infer,
    .run    = gap_run,
};
