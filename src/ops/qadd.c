/* QAdd (com.onnxq): uint8 + uint8 -> uint8 with requantization, made by the session's INT8 lowering
 * (exec/lower_qdq.h) from DequantizeLinear x2 -> Add -> QuantizeLinear. Inputs in QLinearAdd's order:
 *
 *   0 a (uint8)  1 a_scale  2 a_zero_point (uint8)  3 b (uint8)  4 b_scale  5 b_zero_point (uint8)
 *   6 y_scale  7 y_zero_point (uint8, absent = 0)             (scales and zero points: constant scalars)
 *
 * Numerics are ONNX Runtime's QLinearAdd on x86 (MLAS qladd_avx2.cpp), reproduced in scalar C so that the
 * integers agree bit for bit (float simulation DQ -> Add -> Q differs: with y_scale = 2 * a_scale = 2 * b_scale,
 * a common calibration outcome, a quarter of the outputs are exact ties that the two forms break differently):
 *
 *     rA = a_scale / y_scale,  rB = b_scale / y_scale                           (float)
 *     F  = (float)y_zp - (rA * a_zp + rB * b_zp)                                 (float, left to right)
 *     both vary:   y = nearbyintf(fmaf(a, rA, fmaf(b, rB, F)))                 (a, b the raw uint8 values)
 *     b constant over a span of a (b scalar, or b's trailing dims are 1, e.g. [N, C, 1, 1]):
 *                  y = nearbyintf(fmaf(a, rA, F + b * rB))                     (mirrored when a is)
 *     then clamped to [0, 255].
 * Any other broadcast uses the "both vary" form per element. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"

struct qa_priv {
    float rA, rB, F;
};

static oq_status qa_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 5, 8, 1, 1));
    if (n->n_in < 7 || n->in[3] < 0)
        return oq_node_error(n, err, OQ_ERR_MODEL, "needs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale");
    for (int k = 1; k < n->n_in; k++) {
        if (k == 3)
            continue;
        if (n->in[k] < 0) {
            if (k == 7)
                continue;
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is required", k);
        }
        if (!g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant", k,
                                 g->values[n->in[k]].name);
    }
    return OQ_OK;
}

static oq_status qa_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[3];
    if (a->dtype != OQ_DTYPE_UINT8 || b->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "inputs must be uint8 (got %s, %s)", oq_dtype_name(a->dtype),
                           oq_dtype_name(b->dtype));
    int nd;
    int64_t od[OQ_MAX_DIMS];
    if (!oq_broadcast_shape(a->ndim, a->dims, b->ndim, b->dims, &nd, od))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "inputs do not broadcast");
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, nd, od);
    return OQ_OK;
}

static bool scalar_u8(const struct oq_tensor *t) { return t && t->dtype == OQ_DTYPE_UINT8 && oq_tensor_numel(t) == 1; }
static bool scalar_f32(const struct oq_tensor *t) { return t && t->dtype == OQ_DTYPE_FLOAT && oq_tensor_numel(t) == 1; }

static oq_status qa_prepare(struct oq_op_ctx *ctx) {
    if (ctx->priv)
        return OQ_OK;
    const struct oq_tensor *as = ctx->in[1], *az = ctx->in[2], *bs = ctx->in[4], *bz = ctx->in[5], *ys = ctx->in[6];
    const struct oq_tensor *yz = ctx->n_in > 7 ? ctx->in[7] : NULL;
    if (!scalar_f32(as) || !scalar_f32(bs) || !scalar_f32(ys) || !scalar_u8(az) || !scalar_u8(bz) ||
        (yz && !scalar_u8(yz)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars and zero points uint8 scalars");
    struct qa_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    ctx->priv = p;
    float sa = *(const float *)as->data, sb = *(const float *)bs->data, sy = *(const float *)ys->data;
    float za = (float)*(const uint8_t *)az->data, zb = (float)*(const uint8_t *)bz->data;
    float zy = yz ? (float)*(const uint8_t *)yz->data : 0.0f;
    p->rA = sa / sy;
    p->rB = sb / sy;
    float pa = p->rA * za, pb = p->rB * zb; /* separate statements: no contraction into an fma */
    float s = pa + pb;
    p->F = zy - s;
    if (!isfinite(p->rA) || !isfinite(p->rB) || !isfinite(p->F))
        return oq_op_error(ctx, OQ_ERR_MODEL, "scales give a non-finite ratio");
    return OQ_OK;
}

static inline uint8_t qa_round(float t) {
    t = t < 0.0f ? 0.0f : t;
    t = t > 255.0f ? 255.0f : t;
    return (uint8_t)nearbyintf(t);
}

/* Contiguous span of `n` values of v against a constant c (c_scale ratio rc), v with ratio rv. */
static void qa_span_scalar(const uint8_t *v, float rv, uint8_t c, float rc, float F, uint8_t *y, int64_t n) {
    float pc = (float)c * rc;
    float fc = F + pc;
    for (int64_t i = 0; i < n; i++)
        y[i] = qa_round(fmaf((float)v[i], rv, fc));
}

/* If t (rank-aligned to out) equals out on dims [0, k) and is 1 on [k, nd), returns the span prod(out[k:]),
 * else 0. */
static int64_t suffix_span(const struct oq_tensor *t, const struct oq_tensor *out) {
    int nd = out->ndim, off = nd - t->ndim;
    int k = nd;
    while (k > 0 && (k - 1 < off || t->dims[k - 1 - off] == 1))
        k--;
    for (int d = 0; d < k; d++)
        if (d < off || t->dims[d - off] != out->dims[d])
            return 0;
    int64_t span = 1;
    for (int d = k; d < nd; d++)
        span *= out->dims[d];
    return span;
}

static bool same_shape(const struct oq_tensor *t, const struct oq_tensor *out) {
    return oq_tensor_numel(t) == oq_tensor_numel(out) && suffix_span(t, out) == 1;
}

/* The same-shape loop, compiled for FMA hardware (fmaf inlines to vfmadd and the loop vectorizes; libm's fmaf
 * is a call per element). Bit-identical to the portable loop: fmaf is exact-then-rounded either way. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void qa_full_fma(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n,
                                                              float rA, float rB, float F) {
    for (int64_t i = 0; i < n; i++) {
        float t = fmaf((float)a[i], rA, fmaf((float)b[i], rB, F));
        t = t < 0.0f ? 0.0f : t;
        t = t > 255.0f ? 255.0f : t;
        y[i] = (uint8_t)(int32_t)nearbyintf(t);
    }
}
__attribute__((target("avx2,fma"))) static void qa_span_fma(const uint8_t *v, float rv, uint8_t c, float rc, float F,
                                                              uint8_t *y, int64_t n) {
    float pc = (float)c * rc;
    float fc = F + pc;
    for (int64_t i = 0; i < n; i++) {
        float t = fmaf((float)v[i], rv, fc);
        t = t < 0.0f ? 0.0f : t;
        t = t > 255.0f ? 255.0f : t;
        y[i] = (uint8_t)(int32_t)nearbyintf(t);
    }
}
#define QA_HAVE_FMA 1
#endif

/* The span loop for the CPU: the FMA-compiled twin (bit-identical, see qa_full_fma) or the portable one. */
static void qa_span(const struct oq_op_ctx *ctx, const uint8_t *v, float rv, uint8_t c, float rc, float F, uint8_t *y,
                    int64_t n) {
#ifdef QA_HAVE_FMA
    if (ctx->kernels && ctx->kernels->level >= OQ_KERNELS_AVX2) {
        qa_span_fma(v, rv, c, rc, F, y, n);
        return;
    }
#endif
    qa_span_scalar(v, rv, c, rc, F, y, n);
}

static oq_status qa_run(struct oq_op_ctx *ctx) {
    const struct qa_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    const struct oq_tensor *at = ctx->in[0], *bt = ctx->in[3];
    struct oq_tensor *yt = ctx->out[0];
    const uint8_t *a = at->data, *b = bt->data;
    uint8_t *y = yt->data;
    int64_t n = oq_tensor_numel(yt);
    if (n == 0)
        return OQ_OK;
    bool a_full = same_shape(at, yt), b_full = same_shape(bt, yt);
    if (a_full && b_full) {
#ifdef QA_HAVE_FMA
        if (ctx->kernels && ctx->kernels->level >= OQ_KERNELS_AVX2) {
            qa_full_fma(a, b, y, n, p->rA, p->rB, p->F);
            return OQ_OK;
        }
#endif
        for (int64_t i = 0; i < n; i++)
            y[i] = qa_round(fmaf((float)a[i], p->rA, fmaf((float)b[i], p->rB, p->F)));
        return OQ_OK;
    }
    int64_t span;
    if (a_full && (span = suffix_span(bt, yt)) > 1) {
        for (int64_t s = 0; s < n / span; s++)
            qa_span(ctx, a + s * span, p->rA, b[s], p->rB, p->F, y + s * span, span);
        return OQ_OK;
    }
    if (b_full && (span = suffix_span(at, yt)) > 1) {
        for (int64_t s = 0; s < n / span; s++)
            qa_span(ctx, b + s * span, p->rB, a[s], p->rA, p->F, y + s * span, span);
        return OQ_OK;
    }
    /* general broadcast, element by element */
    const struct oq_tensor *ins[2] = {at, bt};
    struct oq_bcast bc;
    oq_bcast_init(&bc, yt, 2, ins);
    int64_t idx[OQ_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < bc.ndim; d++) {
            oa += idx[d] * bc.strides[0][d];
            ob += idx[d] * bc.strides[1][d];
        }
        y[i] = qa_round(fmaf((float)a[oa], p->rA, fmaf((float)b[ob], p->rB, p->F)));
        for (int d = bc.ndim - 1; d >= 0; d--) {
            if (++idx[d] < bc.dims[d])
                break;
            idx[d] = 0;
        }
    }
    return OQ_OK;
}

static void qa_destroy(void *priv) { free(priv); }

const struct oq_op_def oq_op_qadd = {
    .domain  = "com.onnxq",
    .name    = "QAdd",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = qa_check,
    .infer   = qa_infer,
    .prepare = qa_prepare,
    .run     = qa_run,
    .destroy = qa_destroy,
};
