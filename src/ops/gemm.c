/* Gemm (ai.onnx): Y[M,N] = alpha * op(A) * op(B) + beta * C, FP32. C (optional) broadcasts
 * unidirectionally to [M, N]: scalar, [1], [N], [1, N], [M, 1], [M, N]. With C and beta != 0, Y is first
 * filled with C and the GEMM accumulates into it (k->sgemm with beta), so no temporary is needed; the GEMM
 * is split over the session's pool by k->sgemm itself. */
#include "kernels/dispatch.h"
#include "ops/op.h"

static oq_status gemm_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 3, 1, 1);
}

struct gemm_dims {
    int64_t M, N, K;
    bool ta, tb;
    int64_t c_rows, c_cols; /* C's extent along M and N after right-aligning (1 = broadcast) */
};

static oq_status gemm_resolve(const struct oq_op_ctx *ctx, struct gemm_dims *d) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1];
    const struct oq_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    for (int i = 0; i < 3; i++) {
        const struct oq_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
        if (t && t->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input %d ('%s') has dtype %s; only float is supported",
                               i, t->name ? t->name : "?", oq_dtype_name(t->dtype));
    }
    if (a->ndim != 2 || b->ndim != 2)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "A and B must be 2-D, got ranks %d and %d (use MatMul for batched "
                           "products)", a->ndim, b->ndim);
    d->ta = oq_attr_int(ctx->node, "transA", 0) != 0;
    d->tb = oq_attr_int(ctx->node, "transB", 0) != 0;
    d->M = d->ta ? a->dims[1] : a->dims[0];
    d->K = d->ta ? a->dims[0] : a->dims[1];
    int64_t kb = d->tb ? b->dims[1] : b->dims[0];
    d->N = d->tb ? b->dims[0] : b->dims[1];
    if (kb != d->K)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "inner dimensions differ: op(A) is [%lld, %lld], op(B) is "
                           "[%lld, %lld] (transA=%d, transB=%d)", (long long)d->M, (long long)d->K,
                           (long long)kb, (long long)d->N, d->ta, d->tb);
    d->c_rows = d->c_cols = 1;
    if (c) {
        if (c->ndim > 2)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "C has rank %d; it must broadcast to [%lld, %lld]", c->ndim,
                               (long long)d->M, (long long)d->N);
        int64_t cr = c->ndim == 2 ? c->dims[0] : 1, cc = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
        if ((cr != 1 && cr != d->M) || (cc != 1 && cc != d->N))
            return oq_op_error(ctx, OQ_ERR_SHAPE, "C has shape [%lld, %lld], which does not broadcast to "
                               "[%lld, %lld]", (long long)cr, (long long)cc, (long long)d->M, (long long)d->N);
        d->c_rows = cr;
        d->c_cols = cc;
    }
    return OQ_OK;
}

static oq_status gemm_infer(struct oq_op_ctx *ctx) {
    struct gemm_dims d = {0};
    OQ_TRY(gemm_resolve(ctx, &d));
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, 2, (const int64_t[]){d.M, d.N});
    return OQ_OK;
}

static oq_status gemm_run(struct oq_op_ctx *ctx) {
    struct gemm_dims d = {0};
    OQ_TRY(gemm_resolve(ctx, &d));
    const struct oq_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    float alpha = oq_attr_float(ctx->node, "alpha", 1.0f), beta = oq_attr_float(ctx->node, "beta", 1.0f);
    float *y = ctx->out[0]->data;
    float gemm_beta = 0.0f;
    if (c && beta != 0.0f) {
        const float *cv = c->data;
        for (int64_t m = 0; m < d.M; m++) {
            const float *crow = cv + (d.c_rows == 1 ? 0 : m * d.c_cols);
            float *yrow = y + m * d.N;
            if (d.c_cols == 1)
                for (int64_t n = 0; n < d.N; n++)
                    yrow[n] = crow[0];
            else
                for (int64_t n = 0; n < d.N; n++)
                    yrow[n] = crow[n];
        }
        gemm_beta = beta;
    }
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1];
    ctx->kernels->sgemm(ctx->kernels, ctx->pool, d.ta, d.tb, d.M, d.N, d.K, alpha, a->data, a->dims[1], b->data,
                        b->dims[1], gemm_beta, y, d.N);
    return OQ_OK;
}

static int64_t gemm_macs(const struct oq_op_ctx *ctx) {
    struct gemm_dims d = {0};
    if (gemm_resolve(ctx, &d) != OQ_OK)
        return 0;
    return d.M * d.N * d.K;
}

const struct oq_op_def oq_op_gemm = {
    .domain = "",
    .name   = "Gemm",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = gemm_check,
    .infer  = gemm_infer,
    .run    = gemm_run,
    .macs   = gemm_macs,
};
