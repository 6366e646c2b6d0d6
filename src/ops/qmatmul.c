/* QMatMul (com.onnxq): uint8 [..., K] x constant int8 [K, N] -> uint8 [..., N], made by the session's INT8
 * lowering (exec/lower_qdq.h) from DequantizeLinear -> MatMul -> QuantizeLinear. Inputs in QLinearMatMul's
 * order:
 *
 *   0 a (uint8 [..., K])   1 a_scale   2 a_zero_point (uint8)   3 b (int8 [K, N], constant)
 *   4 b_scale ([1] or [N])   5 b_zero_point (int8, absent or all 0)   6 y_scale   7 y_zero_point (uint8, absent = 0)
 *
 * Numerics are ONNX Runtime's QLinearMatMul: acc = sum_k (a - a_zp) * b exact in int32, then
 * kernels/requant.h's epilogue with scale[n] = a_scale * b_scale[n] / y_scale, clamped to [0, 255].
 *
 * Mapping onto oq_qgemm (W[M, K] . X[K, cols], per-row scale): all leading dims of a are rows R, and
 *     Y^T[N, R] = B^T[N, K] . A^T[K, R]
 * so B^T is packed once at prepare (per-column scales of B become per-row scales of W), A is transposed into
 * scratch, the GEMM writes Y^T into scratch and it is transposed into y. The two uint8 transposes cost
 * O(R (K + N)) bytes against O(R K N) multiply-adds. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"

struct qm_priv {
    bool packed;
    int64_t K, N;
    float *scale;
    bool per_channel;
    int32_t a_zp, y_zp;
    struct oq_qgemm_packed pw;
    void *pbuf;
    int64_t R;
    size_t at_bytes, yt_bytes, g_bytes;
};

static oq_status qm_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 5, 8, 1, 1));
    if (n->n_in < 7)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has %d inputs; y_scale (input 6) is required", n->n_in);
    for (int k = 1; k < n->n_in; k++) {
        if (n->in[k] < 0) {
            if (k == 5 || k == 7)
                continue;
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is required", k);
        }
        if (!g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant", k,
                                 g->values[n->in[k]].name);
    }
    return OQ_OK;
}

static const struct oq_tensor *qm_in(const struct oq_op_ctx *ctx, int k) { return k < ctx->n_in ? ctx->in[k] : NULL; }

static oq_status qm_shape(const struct oq_op_ctx *ctx, int *nd, int64_t *od, int64_t *R) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[3];
    if (a->dtype != OQ_DTYPE_UINT8 || b->dtype != OQ_DTYPE_INT8 || b->ndim != 2 || a->ndim < 1)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "a must be uint8 and b int8 [K, N] (got %s rank %d, %s rank %d)",
                           oq_dtype_name(a->dtype), a->ndim, oq_dtype_name(b->dtype), b->ndim);
    if (a->dims[a->ndim - 1] != b->dims[0])
        return oq_op_error(ctx, OQ_ERR_SHAPE, "a has %lld columns, b has %lld rows", (long long)a->dims[a->ndim - 1],
                           (long long)b->dims[0]);
    *R = 1;
    for (int d = 0; d < a->ndim - 1; d++) {
        od[d] = a->dims[d];
        *R *= a->dims[d];
    }
    if (a->ndim == 1) {
        *nd = 1;
        od[0] = b->dims[1];
    } else {
        *nd = a->ndim;
        od[a->ndim - 1] = b->dims[1];
    }
    return OQ_OK;
}

static oq_status qm_infer(struct oq_op_ctx *ctx) {
    int nd = 0;
    int64_t od[OQ_MAX_DIMS] = {0}, R;
    OQ_TRY(qm_shape(ctx, &nd, od, &R));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, nd, od);
    return OQ_OK;
}

static void qm_destroy(void *priv) {
    struct qm_priv *p = priv;
    if (!p)
        return;
    free(p->scale);
    oq_free_aligned(p->pbuf);
    free(p);
}

static oq_status qm_pack(struct oq_op_ctx *ctx, struct qm_priv *p) {
    const struct oq_tensor *as = ctx->in[1], *az = ctx->in[2], *b = ctx->in[3], *bs = ctx->in[4];
    const struct oq_tensor *bz = qm_in(ctx, 5), *ys = ctx->in[6], *yz = qm_in(ctx, 7);
    if (as->dtype != OQ_DTYPE_FLOAT || oq_tensor_numel(as) != 1 || ys->dtype != OQ_DTYPE_FLOAT ||
        oq_tensor_numel(ys) != 1 || bs->dtype != OQ_DTYPE_FLOAT || az->dtype != OQ_DTYPE_UINT8 ||
        oq_tensor_numel(az) != 1 || (yz && (yz->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(yz) != 1)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars (b_scale: [1] or [N]) and zero "
                           "points uint8 scalars");
    int64_t K = b->dims[0], N = b->dims[1], nbs = oq_tensor_numel(bs);
    if (nbs != 1 && nbs != N)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "b_scale has %lld values; expected 1 or %lld", (long long)nbs,
                           (long long)N);
    if (bz)
        for (int64_t i = 0; i < oq_tensor_numel(bz); i++)
            if (bz->dtype != OQ_DTYPE_INT8 || ((const int8_t *)bz->data)[i] != 0)
                return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "b_zero_point must be int8 zeros (symmetric weights)");
    float sa = *(const float *)as->data, sy = *(const float *)ys->data;
    const float *sb = bs->data;
    p->K = K;
    p->N = N;
    p->per_channel = nbs > 1;
    p->a_zp = *(const uint8_t *)az->data;
    p->y_zp = yz ? *(const uint8_t *)yz->data : 0;
    if (!(p->scale = malloc(sizeof(float) * (size_t)nbs)))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    for (int64_t n = 0; n < nbs; n++) {
        p->scale[n] = sa * sb[n] / sy; /* ORT: a_scale * b_scale[n] / y_scale */
        if (!(p->scale[n] >= 0.0f) || p->scale[n] > 3.4e38f)
            return oq_op_error(ctx, OQ_ERR_MODEL, "output scale %lld is %g; scales must be positive and finite",
                               (long long)n, (double)p->scale[n]);
    }
    size_t bytes = oq_qgemm_packed_bytes(N, K);
    if (!bytes)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "reduction depth %lld exceeds %d", (long long)K, OQ_QGEMM_MAX_K);
    int8_t *bt = malloc((size_t)(K * N) + 1);
    if (!bt || !(p->pbuf = oq_alloc_aligned(bytes))) {
        free(bt);
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for packed weights");
    }
    const int8_t *bd = b->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++)
            bt[n * K + k] = bd[k * N + n];
    oq_status st = oq_qgemm_pack(&p->pw, bt, N, K, K, p->pbuf);
    free(bt);
    if (st)
        return oq_op_error(ctx, st, "packing the weights failed");
    p->packed = true;
    return OQ_OK;
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static oq_status qm_prepare(struct oq_op_ctx *ctx) {
    struct qm_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
    }
    int nd = 0;
    int64_t od[OQ_MAX_DIMS];
    OQ_TRY(qm_shape(ctx, &nd, od, &p->R));
    if (!p->packed)
        OQ_TRY(qm_pack(ctx, p));
    p->at_bytes = round64((size_t)(p->K * p->R));
    p->yt_bytes = round64((size_t)(p->N * p->R));
    p->g_bytes = oq_qgemm_scratch_size(p->K, oq_pool_size(ctx->pool));
    ctx->scratch_bytes = p->at_bytes + p->yt_bytes + p->g_bytes;
    return OQ_OK;
}

static oq_status qm_run(struct oq_op_ctx *ctx) {
    const struct qm_priv *p = ctx->priv;
    if (!p || !p->packed)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (p->R == 0 || p->N == 0)
        return OQ_OK;
    if (!ctx->scratch || ctx->scratch_bytes < p->at_bytes + p->yt_bytes + p->g_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "scratch too small");
    int64_t R = p->R, K = p->K, N = p->N;
    const uint8_t *a = ctx->in[0]->data;
    uint8_t *y = ctx->out[0]->data;
    uint8_t *at = ctx->scratch, *yt = at + p->at_bytes;
    void *gs = yt + p->yt_bytes;
    for (int64_t r = 0; r < R; r++) /* A [R, K] -> A^T [K, R] */
        for (int64_t k = 0; k < K; k++)
            at[k * R + r] = a[r * K + k];
    struct oq_qgemm_args args = {
        .N = R, .x = at, .ldx = R, .x_zp = p->a_zp, .y = yt, .ldy = R,
        .ep = {.out = OQ_QGEMM_OUT_U8, .scale = p->scale, .per_channel = p->per_channel, .bias = NULL,
               .out_zp = p->y_zp, .act_min = 0, .act_max = 255},
    };
    oq_status st = oq_qgemm(ctx->kernels, ctx->pool, &p->pw, &args, gs, p->g_bytes);
    if (st)
        return oq_op_error(ctx, st, "integer GEMM failed");
    for (int64_t r = 0; r < R; r++) /* Y^T [N, R] -> Y [R, N] */
        for (int64_t n = 0; n < N; n++)
            y[r * N + n] = yt[n * R + r];
    return OQ_OK;
}

static int64_t qm_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *b = ctx->in[3], *y = ctx->out[0];
    if (!b || !y || b->ndim != 2)
        return 0;
    return oq_tensor_numel(y) * b->dims[0];
}

const struct oq_op_def oq_op_qmatmul = {
    .domain  = "com.onnxq",
    .name    = "QMatMul",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = qm_check,
    .infer   = qm_infer,
    .prepare = qm_prepare,
    .run     = qm_run,
    .destroy = qm_destroy,
    .macs    = qm_macs,
};
