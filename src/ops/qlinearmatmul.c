/* QLinearMatMul (opsets 10..28): quantized matmul, numpy matmul semantics.
 *
 *   0 a (uint8/int8 [..., M, K])  1 a_scale (1 value)  2 a_zero_point (a's type, 1 value)
 *   3 b (uint8/int8 [..., K, N])  4 b_scale (1 or N values)  5 b_zero_point (b's type, 1 or N values)
 *   6 y_scale (1 value)  7 y_zero_point (1 value; its type, uint8 or int8, is the output's)
 * Scales are float; from opset 21 also float16/bfloat16 (float8 etc. are rejected by dtype). Per-row a/y
 * scales (allowed by the spec, never written by ONNX Runtime's quantizer) are rejected with a message.
 *
 * Numerics are ONNX Runtime's (MLAS): acc = sum_k (a - a_zp) * (b - b_zp[n]) exact in int32, then
 * kernels/requant.h's epilogue with scale[n] = a_scale * b_scale[n] / y_scale (float, in that order),
 * saturated to the output type. With float16/bfloat16 scales the product and the quotient are rounded to
 * that type after each step, as ONNX's reference computes them in the scale type.
 *
 * Two paths, chosen at the first prepare:
 *   fast  a uint8, b a 2-D int8 constant with zero point 0, float scales, uint8 zero points, everything but a
 *         known at plan time (what ORT's quantizer writes for a weight MatMul): com.onnxq.QMatMul's
 *         implementation (ops/qmatmul.c, same input order and numerics), called through its descriptor.
 *   ref   anything else, e.g. activation x activation (attention's Q.K^T in PP-OCRv4 rec): plain C
 *         (ops/matmul_int.h) over output rows split across the pool; scales and zero points are read at
 *         run time. */
#include <stdlib.h>
#include <string.h>

#include "kernels/requant.h"
#include "ops/matmul_int.h"

extern const struct oq_op_def oq_op_qmatmul;

enum { QLM_MAX_THREADS = 64 };

struct qlm_priv {
    bool decided, fast;
    void *inner; /* fast: QMatMul's state */
    struct oq_mmi_shape s;
    size_t b16_bytes, row_bytes; /* ref scratch: widened B, then one int32 row per pool thread */
};

static oq_status qlm_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 8, 8, 1, 1));
    for (int k = 0; k < 8; k++)
        if (n->in[k] < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is missing; QLinearMatMul needs all 8 inputs", k);
    return OQ_OK;
}

static bool qlm_scale_type_ok(enum oq_dtype dt, int opset) {
    return dt == OQ_DTYPE_FLOAT || (opset >= 21 && (dt == OQ_DTYPE_FLOAT16 || dt == OQ_DTYPE_BFLOAT16));
}

static oq_status qlm_validate(const struct oq_op_ctx *ctx, struct oq_mmi_shape *s) {
    const struct oq_tensor *a = ctx->in[0], *as = ctx->in[1], *az = ctx->in[2], *b = ctx->in[3];
    const struct oq_tensor *bs = ctx->in[4], *bz = ctx->in[5], *ys = ctx->in[6], *yz = ctx->in[7];
    int opset = ctx->node->opset;
    OQ_TRY(oq_mmi_shape(ctx, a, az, b, bz, s));
    if (!qlm_scale_type_ok(as->dtype, opset) || bs->dtype != as->dtype || ys->dtype != as->dtype)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales have dtypes %s, %s, %s; they must all be float%s",
                           oq_dtype_name(as->dtype), oq_dtype_name(bs->dtype), oq_dtype_name(ys->dtype),
                           opset >= 21 ? " (or all float16, or all bfloat16)" : "");
    if (oq_tensor_numel(as) != 1 || oq_tensor_numel(az) != 1 || oq_tensor_numel(ys) != 1 ||
        oq_tensor_numel(yz) != 1)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "a_scale, a_zero_point, y_scale and y_zero_point must have one "
                           "value each (per-tensor); per-row quantization of a or y is not supported");
    if (oq_tensor_numel(bs) != 1 && oq_tensor_numel(bs) != s->N)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "b_scale has %lld values; expected 1 or %lld (one per column of b)",
                           (long long)oq_tensor_numel(bs), (long long)s->N);
    if (yz->dtype != OQ_DTYPE_UINT8 && yz->dtype != OQ_DTYPE_INT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "y_zero_point has dtype %s; the output must be uint8 or int8",
                           oq_dtype_name(yz->dtype));
    return OQ_OK;
}

static oq_status qlm_infer(struct oq_op_ctx *ctx) {
    struct oq_mmi_shape s;
    OQ_TRY(qlm_validate(ctx, &s));
    oq_op_set_output(ctx, 0, ctx->in[7]->dtype, s.nd, s.od);
    return OQ_OK;
}

static void qlm_destroy(void *priv) {
    struct qlm_priv *p = priv;
    if (!p)
        return;
    if (p->inner && oq_op_qmatmul.destroy)
        oq_op_qmatmul.destroy(p->inner);
    free(p);
}

static bool qlm_fast_fits(const struct oq_op_ctx *ctx) {
    struct oq_tensor *const *in = ctx->in;
    if (in[0]->dtype != OQ_DTYPE_UINT8 || in[3]->dtype != OQ_DTYPE_INT8 || in[3]->ndim != 2 ||
        in[1]->dtype != OQ_DTYPE_FLOAT || in[7]->dtype != OQ_DTYPE_UINT8)
        return false;
    for (int k = 1; k < 8; k++)
        if (!in[k]->data)
            return false;
    for (int64_t i = 0; i < oq_tensor_numel(in[5]); i++)
        if (((const int8_t *)in[5]->data)[i] != 0)
            return false;
    return true;
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static oq_status qlm_prepare(struct oq_op_ctx *ctx) {
    struct qlm_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
    }
    OQ_TRY(qlm_validate(ctx, &p->s));
    if (!p->decided) { /* constness and dtypes do not change between plans */
        p->fast = qlm_fast_fits(ctx);
        p->decided = true;
    }
    if (p->fast) {
        struct oq_op_ctx c = *ctx;
        c.priv = p->inner;
        oq_status st = oq_op_qmatmul.prepare(&c);
        p->inner = c.priv;
        ctx->scratch_bytes = c.scratch_bytes;
        return st;
    }
    int nth = oq_pool_size(ctx->pool);
    if (nth > QLM_MAX_THREADS)
        nth = QLM_MAX_THREADS;
    p->b16_bytes = oq_mmi_b16_bytes(&p->s);
    p->row_bytes = round64(sizeof(int32_t) * (size_t)p->s.N);
    ctx->scratch_bytes = p->b16_bytes + p->row_bytes * (size_t)nth;
    return OQ_OK;
}

/* A scale as float, rounded like the scale type (float16/bfloat16 arithmetic happens in that type). */
static float qlm_round_to(enum oq_dtype dt, float v) {
    if (dt == OQ_DTYPE_FLOAT16)
        return oq_half_to_float(oq_float_to_half(v));
    if (dt == OQ_DTYPE_BFLOAT16)
        return oq_bf16_to_float(oq_float_to_bf16(v));
    return v;
}

struct qlm_job {
    const struct qlm_priv *p;
    const struct oq_tensor *a, *az, *bs;
    const int16_t *b16;
    unsigned char *rows;
    void *y;
    bool y_s8;
    enum oq_dtype st; /* scale type */
    float sa, sy;
    int32_t yzp;
};

static void qlm_ref_task(void *arg, int ith, int nth) {
    struct qlm_job *j = arg;
    const struct oq_mmi_shape *s = &j->p->s;
    int32_t *acc = (int32_t *)(j->rows + (size_t)ith * j->p->row_bytes);
    int32_t lo = j->y_s8 ? -128 : 0, hi = j->y_s8 ? 127 : 255;
    int64_t r0, r1, nbs = oq_tensor_numel(j->bs);
    oq_split(s->batch * s->M, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        oq_mmi_row(s, j->a, j->az, j->b16, r, acc);
        for (int64_t n = 0; n < s->N; n++) {
            float sb = (float)oq_tensor_get_f64(j->bs, nbs == 1 ? 0 : n);
            float scale = qlm_round_to(j->st, qlm_round_to(j->st, j->sa * sb) / j->sy);
            int32_t q = oq_requant_f32(acc[n], scale, j->yzp, lo, hi);
            if (j->y_s8)
                ((int8_t *)j->y)[r * s->N + n] = (int8_t)q;
            else
                ((uint8_t *)j->y)[r * s->N + n] = (uint8_t)q;
        }
    }
}

static oq_status qlm_run(struct oq_op_ctx *ctx) {
    const struct qlm_priv *p = ctx->priv;
    if (!p || !p->decided)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (p->fast) {
        struct oq_op_ctx c = *ctx;
        c.priv = p->inner;
        return oq_op_qmatmul.run(&c);
    }
    const struct oq_mmi_shape *s = &p->s;
    int64_t rows = s->batch * s->M;
    if (rows == 0 || s->N == 0)
        return OQ_OK;
    if (!ctx->scratch || ctx->scratch_bytes < p->b16_bytes + p->row_bytes)
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->b16_bytes + p->row_bytes,
                           ctx->scratch_bytes);
    const struct oq_tensor *ys = ctx->in[6], *yz = ctx->in[7];
    struct qlm_job j = {
        .p = p, .a = ctx->in[0], .az = ctx->in[2], .bs = ctx->in[4], .b16 = ctx->scratch,
        .rows = (unsigned char *)ctx->scratch + p->b16_bytes, .y = ctx->out[0]->data,
        .y_s8 = yz->dtype == OQ_DTYPE_INT8, .st = ys->dtype,
        .sa = (float)oq_tensor_get_f64(ctx->in[1], 0), .sy = (float)oq_tensor_get_f64(ys, 0),
        .yzp = (int32_t)oq_tensor_get_i64(yz, 0),
    };
    for (int64_t n = 0; n < oq_tensor_numel(j.bs); n++) { /* the epilogue needs finite scales >= 0 */
        float sb = (float)oq_tensor_get_f64(j.bs, n);
        float scale = qlm_round_to(j.st, qlm_round_to(j.st, j.sa * sb) / j.sy);
        if (!(scale >= 0.0f) || scale > 3.4e38f)
            return oq_op_error(ctx, OQ_ERR_NUMERIC, "a_scale * b_scale[%lld] / y_scale is %g; scales must be "
                               "positive and finite", (long long)n, (double)scale);
    }
    oq_mmi_widen_b(s, ctx->in[3], ctx->in[5], ctx->scratch);
    int nth = oq_pool_threads_for(ctx->pool, rows * s->K * s->N, 1 << 16);
    int slots = (int)((ctx->scratch_bytes - p->b16_bytes) / p->row_bytes);
    if (nth > slots)
        nth = slots;
    if (nth > rows)
        nth = (int)rows;
    oq_pool_run(ctx->pool, qlm_ref_task, &j, nth);
    return OQ_OK;
}

static int64_t qlm_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *y = ctx->out[0];
    if (!a || !y || a->ndim < 1)
        return 0;
    return oq_tensor_numel(y) * a->dims[a->ndim - 1];
}

const struct oq_op_def oq_op_qlinearmatmul = {
    .domain  = "",
    .name    = "QLinearMatMul",
    .since   = 10,
    .until   = OQ_OPSET_MAX,
    .check   = qlm_check,
    .infer   = qlm_infer,
    .prepare = qlm_prepare,
    .run     = qlm_run,
    .destroy = qlm_destroy,
    .macs    = qlm_macs,
};
