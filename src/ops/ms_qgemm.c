/* com.microsoft QGemm (ONNX Runtime contrib op, version 1): quantized Gemm, Y = alpha * A' B' + C, written by
 * ONNX Runtime's quantizer in QOperator format for Gemm layers (PP-OCR cls's classifier).
 *
 *   0 A (uint8 [M, K], or [K, M] with transA)  1 a_scale  2 a_zero_point (uint8)
 *   3 B (int8 constant [K, N], or [N, K] with transB)  4 b_scale ([1] or [N])  5 b_zero_point (int8 zeros)
 *   6 C (int32 constant: 1, [N] or [1, N] values; optional; scale a_scale * b_scale, zero point 0)
 *   7 y_scale, 8 y_zero_point (uint8): both given -> uint8 output; both absent -> float output
 *   attributes alpha (default 1), transA, transB (default 0)
 * Unsupported (rejected naming the node): int8 A, uint8 B or a nonzero b_zero_point, C per row ([M, 1] or
 * [M, N]), runtime B or C.
 *
 * Numerics are ORT's (contrib_ops/cpu/quantization/quant_gemm.cc with MLAS's output processors): acc = C[n] +
 * sum_k (A - a_zp) * B exact in int32, then with scale[n] = alpha * a_scale * b_scale[n] (/ y_scale), float,
 * left to right: uint8 output through kernels/requant.h's epilogue, float output acc * scale[n].
 *
 * Mapping onto kernels/qgemm.h (W[rows, K] . X[K, cols] with per-row scale and bias): W = B' transposed,
 * [N, K], packed once at prepare, so C and the per-column scales of B become per-row bias and scales; X = A'
 * transposed, [K, M], which is A itself under transA (else transposed into the scratch); the GEMM writes
 * Y^T [N, M] into the scratch and run transposes it into Y. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"

struct qg_priv {
    bool packed;
    int64_t M, K, N;
    bool trans_a, out_u8;
    float *scale;    /* [N] or [1] */
    bool per_channel;
    int32_t *bias;   /* [N] or NULL */
    int32_t y_zp;
    struct oq_qgemm_packed pw;
    void *pbuf;
    size_t at_bytes, yt_bytes, g_bytes;
};

static const struct oq_tensor *qg_in(const struct oq_op_ctx *ctx, int k) { return k < ctx->n_in ? ctx->in[k] : NULL; }

static oq_status qg_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 6, 9, 1, 1));
    for (int k = 0; k < 6; k++)
        if (n->in[k] < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is required", k);
    bool ys = n->n_in > 7 && n->in[7] >= 0, yz = n->n_in > 8 && n->in[8] >= 0;
    if (ys != yz)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "y_scale and y_zero_point must be given together (uint8 "
                             "output) or both left out (float output)");
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant: onnxq packs B "
                                 "and folds C and the scales into the GEMM at load", k, g->values[n->in[k]].name);
    return OQ_OK;
}

static oq_status qg_shape(const struct oq_op_ctx *ctx, int64_t *M, int64_t *K, int64_t *N) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[3];
    if (a->dtype != OQ_DTYPE_UINT8 || b->dtype != OQ_DTYPE_INT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "A must be uint8 and B int8 (got %s, %s); quantize with "
                           "activation_type=QUInt8, weight_type=QInt8", oq_dtype_name(a->dtype),
                           oq_dtype_name(b->dtype));
    if (a->ndim != 2 || b->ndim != 2)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "A and B must be 2-D (got rank %d and %d)", a->ndim, b->ndim);
    bool ta = oq_attr_int(ctx->node, "transA", 0) != 0, tb = oq_attr_int(ctx->node, "transB", 0) != 0;
    *M = ta ? a->dims[1] : a->dims[0];
    *K = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0];
    *N = tb ? b->dims[0] : b->dims[1];
    if (kb != *K)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "A' has %lld columns, B' %lld rows", (long long)*K, (long long)kb);
    return OQ_OK;
}

static oq_status qg_infer(struct oq_op_ctx *ctx) {
    int64_t M = 0, K = 0, N = 0;
    OQ_TRY(qg_shape(ctx, &M, &K, &N));
    const struct oq_tensor *yz = qg_in(ctx, 8);
    if (yz && yz->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "y_zero_point has dtype %s; only uint8 is supported",
                           oq_dtype_name(yz->dtype));
    int64_t od[2] = {M, N};
    oq_op_set_output(ctx, 0, yz ? OQ_DTYPE_UINT8 : OQ_DTYPE_FLOAT, 2, od);
    return OQ_OK;
}

static void qg_destroy(void *priv) {
    struct qg_priv *p = priv;
    if (!p)
        return;
    free(p->scale);
    free(p->bias);
    oq_free_aligned(p->pbuf);
    free(p);
}

static bool qg_scalar(const struct oq_tensor *t, enum oq_dtype dt) { return t->dtype == dt && oq_tensor_numel(t) == 1; }

/* Scales, bias and packed weights: once per node. */
static oq_status qg_pack(struct oq_op_ctx *ctx, struct qg_priv *p) {
    const struct oq_tensor *as = ctx->in[1], *az = ctx->in[2], *b = ctx->in[3], *bs = ctx->in[4], *bz = ctx->in[5];
    const struct oq_tensor *c = qg_in(ctx, 6), *ys = qg_in(ctx, 7), *yz = qg_in(ctx, 8);
    int64_t K = p->K, N = p->N, nbs = oq_tensor_numel(bs);
    if (!qg_scalar(as, OQ_DTYPE_FLOAT) || !qg_scalar(az, OQ_DTYPE_UINT8) || bs->dtype != OQ_DTYPE_FLOAT ||
        (nbs != 1 && nbs != N) || (ys && !qg_scalar(ys, OQ_DTYPE_FLOAT)) || (yz && !qg_scalar(yz, OQ_DTYPE_UINT8)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float (b_scale: 1 or %lld values) and zero points "
                           "uint8 scalars", (long long)N);
    if (bz->dtype != OQ_DTYPE_INT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "b_zero_point has dtype %s; it must be int8 zeros",
                           oq_dtype_name(bz->dtype));
    for (int64_t i = 0; i < oq_tensor_numel(bz); i++)
        if (((const int8_t *)bz->data)[i] != 0)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "b_zero_point[%lld] is %d; onnxq's QGemm supports symmetric "
                               "int8 weights (zero point 0) only", (long long)i, ((const int8_t *)bz->data)[i]);
    if (c && (c->dtype != OQ_DTYPE_INT32 || (oq_tensor_numel(c) != 1 && oq_tensor_numel(c) != N) ||
              (c->ndim == 2 && c->dims[0] != 1)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "C must be int32 with 1, [%lld] or [1, %lld] values (per-row C is "
                           "not supported)", (long long)N, (long long)N);
    float alpha = oq_attr_float(ctx->node, "alpha", 1.0f), sa = *(const float *)as->data;
    const float *sb = bs->data;
    p->per_channel = nbs > 1;
    p->out_u8 = yz != NULL;
    p->y_zp = yz ? *(const uint8_t *)yz->data : 0;
    if (!(p->scale = malloc(sizeof(float) * (size_t)nbs)))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    for (int64_t n = 0; n < nbs; n++) {
        p->scale[n] = alpha * sa * sb[n]; /* ORT: (alpha * a_scale * b_scale[n]) / y_scale */
        if (ys)
            p->scale[n] /= *(const float *)ys->data;
        if (!(p->scale[n] >= 0.0f) || p->scale[n] > 3.4e38f)
            return oq_op_error(ctx, OQ_ERR_MODEL, "output scale %lld is %g; alpha and the scales must make it positive "
                               "and finite", (long long)n, (double)p->scale[n]);
    }
    if (c) {
        if (!(p->bias = malloc(sizeof(int32_t) * (size_t)N)))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        for (int64_t n = 0; n < N; n++)
            p->bias[n] = ((const int32_t *)c->data)[oq_tensor_numel(c) == 1 ? 0 : n];
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
    bool tb = oq_attr_int(ctx->node, "transB", 0) != 0;
    for (int64_t n = 0; n < N; n++) /* W = B'^T [N, K] */
        for (int64_t k = 0; k < K; k++)
            bt[n * K + k] = tb ? bd[n * K + k] : bd[k * N + n];
    oq_status st = oq_qgemm_pack(&p->pw, bt, N, K, K, p->pbuf);
    free(bt);
    if (st)
        return oq_op_error(ctx, st, "packing B failed");
    p->packed = true;
    return OQ_OK;
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static oq_status qg_prepare(struct oq_op_ctx *ctx) {
    struct qg_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
    }
    int64_t M = 0, K = 0, N = 0;
    OQ_TRY(qg_shape(ctx, &M, &K, &N));
    if (p->packed && (K != p->K || N != p->N))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "B's shape changed");
    p->M = M;
    p->K = K;
    p->N = N;
    p->trans_a = oq_attr_int(ctx->node, "transA", 0) != 0;
    if (!p->packed)
        OQ_TRY(qg_pack(ctx, p));
    p->at_bytes = p->trans_a ? 0 : round64((size_t)(K * M));
    p->yt_bytes = round64((p->out_u8 ? 1 : sizeof(float)) * (size_t)(N * M));
    p->g_bytes = oq_qgemm_scratch_size(K, oq_pool_size(ctx->pool));
    ctx->scratch_bytes = p->at_bytes + p->yt_bytes + p->g_bytes;
    return OQ_OK;
}

static oq_status qg_run(struct oq_op_ctx *ctx) {
    const struct qg_priv *p = ctx->priv;
    if (!p || !p->packed)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    int64_t M = p->M, K = p->K, N = p->N;
    if (M == 0 || N == 0)
        return OQ_OK;
    if (!ctx->scratch || ctx->scratch_bytes < p->at_bytes + p->yt_bytes + p->g_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "scratch too small");
    const uint8_t *a = ctx->in[0]->data;
    unsigned char *at = ctx->scratch, *yt = at + p->at_bytes;
    void *gs = yt + p->yt_bytes;
    const uint8_t *x = a;
    if (!p->trans_a) { /* A [M, K] -> A^T [K, M] */
        for (int64_t m = 0; m < M; m++)
            for (int64_t k = 0; k < K; k++)
                at[k * M + m] = a[m * K + k];
        x = at;
    }
    struct oq_qgemm_args args = {
        .N = M, .x = x, .ldx = M, .x_zp = *(const uint8_t *)ctx->in[2]->data, .y = yt, .ldy = M,
        .ep = {.out = p->out_u8 ? OQ_QGEMM_OUT_U8 : OQ_QGEMM_OUT_F32, .scale = p->scale,
               .per_channel = p->per_channel, .bias = p->bias, .out_zp = p->y_zp, .act_min = 0, .act_max = 255},
    };
    oq_status st = oq_qgemm(ctx->kernels, ctx->pool, &p->pw, &args, gs, p->g_bytes);
    if (st)
        return oq_op_error(ctx, st, "integer GEMM failed");
    if (p->out_u8) { /* Y^T [N, M] -> Y [M, N] */
        uint8_t *y = ctx->out[0]->data;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++)
                y[m * N + n] = yt[n * M + m];
    } else {
        float *y = ctx->out[0]->data;
        const float *ytf = (const float *)yt;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++)
                y[m * N + n] = ytf[n * M + m];
    }
    return OQ_OK;
}

static int64_t qg_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *y = ctx->out[0];
    if (!a || !y || a->ndim != 2)
        return 0;
    return oq_tensor_numel(y) * a->dims[oq_attr_int(ctx->node, "transA", 0) ? 0 : 1];
}

const struct oq_op_def oq_op_ms_qgemm = {
    .domain  = "com.microsoft",
    .name    = "QGemm",
    .since   = 1,
    .until   = 1,
    .check   = qg_check,
    .infer   = qg_infer,
    .prepare = qg_prepare,
    .run     = qg_run,
    .destroy = qg_destroy,
    .macs    = qg_macs,
};
