/* MatMulInteger (opsets 10..28): int32 Y = (A - a_zero_point) x (B - b_zero_point), numpy matmul semantics
 * (1-D operands promoted and the added dim removed, batch dims broadcast).
 *
 *   0 A (uint8 or int8 [..., M, K])   1 B (uint8 or int8 [..., K, N])
 *   2 a_zero_point (A's type): a scalar, or M values (per row of A)        absent = 0
 *   3 b_zero_point (B's type): a scalar, or N values (per column of B)     absent = 0
 * (The spec's N-D zero points of batched operands are rejected with a message.) Sums are exact int32 for
 * K < 33025 and wrap like numpy's int32 beyond.
 *
 * Two paths, chosen in prepare:
 *   gemm  A uint8 with a scalar zero point, B a 2-D int8 constant with zero point absent or all 0 (what
 *         quantize_dynamic writes after DynamicQuantizeLinear): B^T is packed once for kernels/qgemm.h and
 *         Y^T[N, R] = B^T . A^T over all R rows of A, S32 output; A^T and Y^T live in the scratch (the two
 *         transposes cost O(R (K + N)) against O(R K N) multiply-adds), as in ops/qmatmul.c.
 *   ref   anything else: plain C over output rows split across the pool; B - b_zp is widened to int16 into
 *         the scratch at the start of run so the inner loop (y[r, :] += (a[r, k] - a_zp) * b16[k, :]) has no
 *         type dispatch. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/matmul_int.h"

struct mi_priv {
    bool decided, gemm;
    struct oq_qgemm_packed pw; /* gemm */
    void *pbuf;
    struct oq_mmi_shape s;
    size_t at_bytes, yt_bytes, g_bytes; /* gemm scratch */
    size_t b16_bytes;                   /* ref scratch */
};

static oq_status mi_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 4, 1, 1);
}

static const struct oq_tensor *mi_in(const struct oq_op_ctx *ctx, int k) { return k < ctx->n_in ? ctx->in[k] : NULL; }

static oq_status mi_shape(const struct oq_op_ctx *ctx, struct oq_mmi_shape *s) {
    return oq_mmi_shape(ctx, ctx->in[0], mi_in(ctx, 2), ctx->in[1], mi_in(ctx, 3), s);
}

static oq_status mi_infer(struct oq_op_ctx *ctx) {
    struct oq_mmi_shape s;
    OQ_TRY(mi_shape(ctx, &s));
    oq_op_set_output(ctx, 0, OQ_DTYPE_INT32, s.nd, s.od);
    return OQ_OK;
}

static void mi_destroy(void *priv) {
    struct mi_priv *p = priv;
    if (!p)
        return;
    oq_free_aligned(p->pbuf);
    free(p);
}

static bool mi_gemm_fits(const struct oq_op_ctx *ctx, const struct oq_mmi_shape *s) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1], *az = mi_in(ctx, 2), *bz = mi_in(ctx, 3);
    if (a->dtype != OQ_DTYPE_UINT8 || b->dtype != OQ_DTYPE_INT8 || b->ndim != 2 || !b->data ||
        (az && oq_tensor_numel(az) != 1) || !oq_qgemm_packed_bytes(s->N, s->K))
        return false;
    if (bz) {
        if (!bz->data)
            return false;
        for (int64_t i = 0; i < oq_tensor_numel(bz); i++)
            if (((const int8_t *)bz->data)[i] != 0)
                return false;
    }
    return true;
}

static oq_status mi_pack(struct oq_op_ctx *ctx, struct mi_priv *p) {
    int64_t K = p->s.K, N = p->s.N;
    int8_t *bt = malloc((size_t)(K * N) + 1);
    if (!bt || !(p->pbuf = oq_alloc_aligned(oq_qgemm_packed_bytes(N, K)))) {
        free(bt);
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for packed weights");
    }
    const int8_t *bd = ctx->in[1]->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++)
            bt[n * K + k] = bd[k * N + n];
    oq_status st = oq_qgemm_pack(&p->pw, bt, N, K, K, p->pbuf);
    free(bt);
    if (st)
        return oq_op_error(ctx, st, "packing B failed");
    return OQ_OK;
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static oq_status mi_prepare(struct oq_op_ctx *ctx) {
    struct mi_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
    }
    OQ_TRY(mi_shape(ctx, &p->s));
    if (!p->decided) { /* B and its zero point do not change between plans */
        p->gemm = mi_gemm_fits(ctx, &p->s);
        if (p->gemm)
            OQ_TRY(mi_pack(ctx, p));
        p->decided = true;
    }
    if (p->gemm) {
        int64_t R = p->s.batch * p->s.M; /* B is 2-D: every row of A meets the same B */
        p->at_bytes = round64((size_t)(p->s.K * R));
        p->yt_bytes = round64(sizeof(int32_t) * (size_t)(p->s.N * R));
        p->g_bytes = oq_qgemm_scratch_size(p->s.K, oq_pool_size(ctx->pool));
        ctx->scratch_bytes = p->at_bytes + p->yt_bytes + p->g_bytes;
    } else {
        p->b16_bytes = oq_mmi_b16_bytes(&p->s);
        ctx->scratch_bytes = p->b16_bytes;
    }
    return OQ_OK;
}

struct mi_job {
    const struct oq_mmi_shape *s;
    const struct oq_tensor *a, *az;
    const int16_t *b16;
    int32_t *y;
};

static void mi_ref_task(void *arg, int ith, int nth) {
    struct mi_job *j = arg;
    int64_t r0, r1;
    oq_split(j->s->batch * j->s->M, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++)
        oq_mmi_row(j->s, j->a, j->az, j->b16, r, j->y + r * j->s->N);
}

static oq_status mi_run_ref(struct oq_op_ctx *ctx, const struct mi_priv *p) {
    const struct oq_mmi_shape *s = &p->s;
    if (!ctx->scratch || ctx->scratch_bytes < p->b16_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->b16_bytes, ctx->scratch_bytes);
    oq_mmi_widen_b(s, ctx->in[1], mi_in(ctx, 3), ctx->scratch);
    struct mi_job j = {.s = s, .a = ctx->in[0], .az = mi_in(ctx, 2), .b16 = ctx->scratch, .y = ctx->out[0]->data};
    int64_t rows = s->batch * s->M;
    int nth = oq_pool_threads_for(ctx->pool, rows * s->K * s->N, 1 << 16);
    if (nth > rows)
        nth = (int)rows;
    oq_pool_run(ctx->pool, mi_ref_task, &j, nth);
    return OQ_OK;
}

static oq_status mi_run(struct oq_op_ctx *ctx) {
    const struct mi_priv *p = ctx->priv;
    if (!p || !p->decided)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    const struct oq_mmi_shape *s = &p->s;
    int64_t R = s->batch * s->M, K = s->K, N = s->N;
    if (R == 0 || N == 0)
        return OQ_OK;
    if (K == 0) {
        memset(ctx->out[0]->data, 0, oq_tensor_bytes(ctx->out[0]));
        return OQ_OK;
    }
    if (!p->gemm)
        return mi_run_ref(ctx, p);
    if (!ctx->scratch || ctx->scratch_bytes < p->at_bytes + p->yt_bytes + p->g_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "scratch too small");
    const struct oq_tensor *az = mi_in(ctx, 2);
    const uint8_t *a = ctx->in[0]->data;
    int32_t *y = ctx->out[0]->data;
    uint8_t *at = ctx->scratch;
    int32_t *yt = (int32_t *)(at + p->at_bytes);
    void *gs = (unsigned char *)yt + p->yt_bytes;
    for (int64_t r = 0; r < R; r++) /* A [R, K] -> A^T [K, R] */
        for (int64_t k = 0; k < K; k++)
            at[k * R + r] = a[r * K + k];
    struct oq_qgemm_args args = {
        .N = R, .x = at, .ldx = R, .x_zp = az ? *(const uint8_t *)az->data : 0, .y = yt, .ldy = R,
        .ep = {.out = OQ_QGEMM_OUT_S32},
    };
    oq_status st = oq_qgemm(ctx->kernels, ctx->pool, &p->pw, &args, gs, p->g_bytes);
    if (st)
        return oq_op_error(ctx, st, "integer GEMM failed");
    for (int64_t r = 0; r < R; r++) /* Y^T [N, R] -> Y [R, N] */
        for (int64_t n = 0; n < N; n++)
            y[r * N + n] = yt[n * R + r];
    return OQ_OK;
}

static int64_t mi_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *y = ctx->out[0];
    if (!a || !y || a->ndim < 1)
        return 0;
    return oq_tensor_numel(y) * a->dims[a->ndim - 1];
}

const struct oq_op_def oq_op_matmulinteger = {
    .domain  = "",
    .name    = "MatMulInteger",
    .since   = 10,
    .until   = OQ_OPSET_MAX,
    .check   = mi_check,
    .infer   = mi_infer,
    .prepare = mi_prepare,
    .run     = mi_run,
    .destroy = mi_destroy,
    .macs    = mi_macs,
};
