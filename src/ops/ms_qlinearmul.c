/* com.microsoft QLinearMul (ONNX Runtime contrib op, version 1): C = quantize(dequantize(A) * dequantize(B)) on
 * uint8 with broadcasting. Written by ONNX Runtime's quantizer in QOperator format for every Mul of two
 * quantized tensors (PP-OCR's squeeze-excite and hard-swish products).
 *
 *   0 A (uint8)  1 A_scale  2 A_zero_point (uint8, optional)  3 B (uint8)  4 B_scale
 *   5 B_zero_point (uint8, optional)  6 C_scale  7 C_zero_point (uint8, optional)   (constant scalars)
 *
 * Numerics are ONNX Runtime's on x86 (MLAS qlmul.cpp, the SSE2 kernel every x86-64 build runs), in float:
 *     ratio = A_scale * B_scale / C_scale                                     (float, left to right)
 *     C     = saturate_u8(round_half_even((float)((A - A_zp) * (B - B_zp)) * ratio + (float)C_zp))
 * (the product is exact in int32; the zero point is added before rounding, unlike QuantizeLinear). The result
 * depends only on the two codes, so prepare evaluates it once for all 65536 pairs into a table [A][B] (and its
 * transpose) and run is a broadcast lookup; where one operand is constant along a row (a scalar, or the
 * squeeze-excite [N,C,H,W] x [N,C,1,1]) the row is a 256-entry lookup through the session's lut kernel. */
#include <math.h>
#include <stdlib.h>

#include "kernels/dispatch.h"
#include "ops/elementwise.h"

struct qlmul_priv {
    uint8_t t[65536];  /* [a * 256 + b] */
    uint8_t tt[65536]; /* [b * 256 + a] */
};

struct qlmul_args {
    const struct qlmul_priv *p;
    oq_lut_u8_fn lut;
};

static const struct oq_tensor *qlmul_in(const struct oq_op_ctx *ctx, int k) {
    return k < ctx->n_in ? ctx->in[k] : NULL;
}

static oq_status qlmul_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 7, 8, 1, 1));
    if (n->in[0] < 0 || n->in[1] < 0 || n->in[3] < 0 || n->in[4] < 0 || n->in[6] < 0)
        return oq_node_error(n, err, OQ_ERR_MODEL, "needs A, A_scale, B, B_scale and C_scale");
    for (int k = 1; k < n->n_in; k++)
        if (k != 3 && n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant: onnxq builds the "
                                 "product table from the scales and zero points at load", k, g->values[n->in[k]].name);
    return OQ_OK;
}

static oq_status qlmul_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[3];
    if (a->dtype != OQ_DTYPE_UINT8 || b->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "A and B must be uint8 (got %s, %s); int8 activations are not "
                           "supported (quantize with activation_type=QUInt8)", oq_dtype_name(a->dtype),
                           oq_dtype_name(b->dtype));
    int nd;
    int64_t dims[OQ_MAX_DIMS];
    const struct oq_tensor *ins[2] = {a, b};
    struct oq_op_ctx c = *ctx; /* oq_ew_broadcast_shape reads in[0..1] */
    c.in = (struct oq_tensor *const *)ins;
    OQ_TRY(oq_ew_broadcast_shape(&c, 2, &nd, dims));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, nd, dims);
    return OQ_OK;
}

static bool qlmul_scalar(const struct oq_tensor *t, enum oq_dtype dt) {
    return t->dtype == dt && oq_tensor_numel(t) == 1;
}

static oq_status qlmul_prepare(struct oq_op_ctx *ctx) {
    if (ctx->priv)
        return OQ_OK;
    const struct oq_tensor *as = ctx->in[1], *az = qlmul_in(ctx, 2), *bs = ctx->in[4], *bz = qlmul_in(ctx, 5);
    const struct oq_tensor *cs = ctx->in[6], *cz = qlmul_in(ctx, 7);
    if (!qlmul_scalar(as, OQ_DTYPE_FLOAT) || !qlmul_scalar(bs, OQ_DTYPE_FLOAT) || !qlmul_scalar(cs, OQ_DTYPE_FLOAT) ||
        (az && !qlmul_scalar(az, OQ_DTYPE_UINT8)) || (bz && !qlmul_scalar(bz, OQ_DTYPE_UINT8)) ||
        (cz && !qlmul_scalar(cz, OQ_DTYPE_UINT8)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars and zero points uint8 scalars");
    float ratio = *(const float *)as->data * *(const float *)bs->data / *(const float *)cs->data;
    if (!isfinite(ratio))
        return oq_op_error(ctx, OQ_ERR_MODEL, "A_scale * B_scale / C_scale is %g; scales must be finite and C_scale "
                           "nonzero", (double)ratio);
    int32_t za = az ? *(const uint8_t *)az->data : 0, zb = bz ? *(const uint8_t *)bz->data : 0;
    float zc = cz ? (float)*(const uint8_t *)cz->data : 0.0f;
    struct qlmul_priv *p = malloc(sizeof(*p));
    if (!p)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the product table");
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            float v = (float)((a - za) * (b - zb)) * ratio + zc;
            v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; /* saturation: MLAS packs with saturation */
            p->t[a * 256 + b] = p->tt[b * 256 + a] = (uint8_t)nearbyintf(v);
        }
    ctx->priv = p;
    return OQ_OK;
}

static void qlmul_row(void *y, const void *const *x, const int64_t *s, int64_t n, const void *params) {
    const struct qlmul_args *g = params;
    const uint8_t *a = x[0], *b = x[1];
    uint8_t *out = y;
    if (s[1] == 0 && s[0] == 1) /* B constant along the row: column b[0] of the table */
        g->lut(g->p->tt + (size_t)b[0] * 256, a, out, n);
    else if (s[0] == 0 && s[1] == 1)
        g->lut(g->p->t + (size_t)a[0] * 256, b, out, n);
    else
        for (int64_t i = 0; i < n; i++)
            out[i] = g->p->t[(size_t)a[i * s[0]] * 256 + b[i * s[1]]];
}

static oq_status qlmul_run(struct oq_op_ctx *ctx) {
    if (!ctx->priv)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    const struct oq_tensor *in[2] = {ctx->in[0], ctx->in[3]};
    struct qlmul_args g = {ctx->priv, ctx->kernels->lut_u8};
    oq_ew_run(ctx->pool, ctx->out[0], 2, in, qlmul_row, &g);
    return OQ_OK;
}

const struct oq_op_def oq_op_ms_qlinearmul = {
    .domain  = "com.microsoft",
    .name    = "QLinearMul",
    .since   = 1,
    .until   = 1,
    .check   = qlmul_check,
    .infer   = qlmul_infer,
    .prepare = qlmul_prepare,
    .run     = qlmul_run,
    .destroy = free,
};
