/* MatMul (ai.onnx): numpy matmul semantics, FP32. A 1-D A is a row [1, K] and a 1-D B a column [K, 1], the
 * added dim removed from the output; leading (batch) dims broadcast.
 *
 * When B has no batch (a [K, N] weight, as in [B, T, C] x [C, D]) the batch of A is folded into its rows
 * and the whole product is one GEMM of (batch*M) rows, split over the pool by k->sgemm. Otherwise each
 * batch is one GEMM: with at least as many batches as threads, batches are split over the pool and each
 * runs single-threaded; with fewer, batches run in turn and each GEMM is split over the pool. */
#include "kernels/dispatch.h"
#include "ops/op.h"

static oq_status matmul_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

struct mm_dims {
    int64_t M, N, K;
    int nb;                        /* batch rank of the output */
    int64_t bdims[OQ_MAX_DIMS];    /* output batch dims */
    int64_t astr[OQ_MAX_DIMS], bstr[OQ_MAX_DIMS]; /* per batch dim, element strides (0 = broadcast) */
    int64_t nbatch;
    bool b_shared;                 /* B is one matrix for every batch and A's batches are contiguous */
    int out_ndim;
    int64_t out_dims[OQ_MAX_DIMS];
};

static oq_status mm_resolve(const struct oq_op_ctx *ctx, struct mm_dims *d) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1];
    for (int i = 0; i < 2; i++)
        if (ctx->in[i]->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input %d ('%s') has dtype %s; only float is supported "
                               "(quantized products run as MatMulInteger / QDQ)", i,
                               ctx->in[i]->name ? ctx->in[i]->name : "?", oq_dtype_name(ctx->in[i]->dtype));
    if (a->ndim < 1 || b->ndim < 1)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "MatMul inputs must have rank >= 1, got %d and %d", a->ndim,
                           b->ndim);
    d->M = a->ndim == 1 ? 1 : a->dims[a->ndim - 2];
    d->K = a->dims[a->ndim - 1];
    int64_t kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
    d->N = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
    if (kb != d->K)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "inner dimensions differ: A has K=%lld, B has K=%lld",
                           (long long)d->K, (long long)kb);
    int na = a->ndim > 2 ? a->ndim - 2 : 0, nbb = b->ndim > 2 ? b->ndim - 2 : 0;
    d->nb = na > nbb ? na : nbb;
    /* broadcast batch dims, strides in elements */
    int64_t sa = d->M * d->K, sb = d->K * d->N;
    d->nbatch = 1;
    bool b_has_batch = false;
    for (int i = d->nb - 1; i >= 0; i--) {
        int ia = i - (d->nb - na), ib = i - (d->nb - nbb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "batch dims do not broadcast: %lld vs %lld at batch axis %d",
                               (long long)da, (long long)db, i);
        d->bdims[i] = da > db ? da : db;
        if (da == 0 || db == 0)
            d->bdims[i] = 0;
        d->astr[i] = da == 1 ? 0 : sa;
        d->bstr[i] = db == 1 ? 0 : sb;
        b_has_batch |= db != 1;
        sa *= da;
        sb *= db;
        d->nbatch *= d->bdims[i];
    }
    d->b_shared = !b_has_batch; /* then A's batches are its contiguous leading dims (A drives the batch) */
    d->out_ndim = 0;
    for (int i = 0; i < d->nb; i++)
        d->out_dims[d->out_ndim++] = d->bdims[i];
    if (a->ndim > 1)
        d->out_dims[d->out_ndim++] = d->M;
    if (b->ndim > 1)
        d->out_dims[d->out_ndim++] = d->N;
    return OQ_OK;
}

static oq_status matmul_infer(struct oq_op_ctx *ctx) {
    struct mm_dims d = {0};
    OQ_TRY(mm_resolve(ctx, &d));
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, d.out_ndim, d.out_dims);
    return OQ_OK;
}

struct mm_job {
    const struct mm_dims *d;
    const struct oq_kernels *k;
    const float *a, *b;
    float *y;
};

static void batch_offsets(const struct mm_dims *d, int64_t idx, int64_t *oa, int64_t *ob) {
    *oa = *ob = 0;
    for (int i = d->nb - 1; i >= 0; i--) {
        int64_t j = idx % d->bdims[i];
        idx /= d->bdims[i];
        *oa += j * d->astr[i];
        *ob += j * d->bstr[i];
    }
}

static void mm_batch(const struct mm_job *j, int64_t bi, struct oq_pool *pool) {
    const struct mm_dims *d = j->d;
    int64_t oa, ob;
    batch_offsets(d, bi, &oa, &ob);
    j->k->sgemm(j->k, pool, false, false, d->M, d->N, d->K, 1.0f, j->a + oa, d->K, j->b + ob, d->N, 0.0f,
                j->y + bi * d->M * d->N, d->N);
}

static void mm_task(void *arg, int ith, int nth) {
    const struct mm_job *j = arg;
    int64_t b0, b1;
    oq_split(j->d->nbatch, ith, nth, &b0, &b1);
    for (int64_t bi = b0; bi < b1; bi++)
        mm_batch(j, bi, NULL);
}

static oq_status matmul_run(struct oq_op_ctx *ctx) {
    struct mm_dims d = {0};
    OQ_TRY(mm_resolve(ctx, &d));
    const struct oq_kernels *k = ctx->kernels;
    struct mm_job j = {.d = &d, .k = k, .a = ctx->in[0]->data, .b = ctx->in[1]->data, .y = ctx->out[0]->data};
    if (d.nbatch == 0 || d.M == 0 || d.N == 0)
        return OQ_OK;
    if (d.b_shared) {
        /* A's batches are its leading dims with nothing broadcast, so [nbatch*M, K] x [K, N] */
        k->sgemm(k, ctx->pool, false, false, d.nbatch * d.M, d.N, d.K, 1.0f, j.a, d.K, j.b, d.N, 0.0f, j.y, d.N);
        return OQ_OK;
    }
    int nth = oq_pool_size(ctx->pool);
    if (d.nbatch >= nth) {
        nth = oq_pool_threads_for(ctx->pool, d.nbatch * d.M * d.N * (d.K > 0 ? d.K : 1), 1 << 16);
        oq_pool_run(ctx->pool, mm_task, &j, nth);
    } else {
        for (int64_t bi = 0; bi < d.nbatch; bi++)
            mm_batch(&j, bi, ctx->pool);
    }
    return OQ_OK;
}

static int64_t matmul_macs(const struct oq_op_ctx *ctx) {
    struct mm_dims d = {0};
    if (mm_resolve(ctx, &d) != OQ_OK)
        return 0;
    return d.nbatch * d.M * d.N * d.K;
}

const struct oq_op_def oq_op_matmul = {
    .domain = "",
    .name   = "MatMul",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = matmul_check,
    .infer  = matmul_infer,
    .run    = matmul_run,
    .macs   = matmul_macs,
};
