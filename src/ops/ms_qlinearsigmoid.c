/* com.microsoft QLinearSigmoid (ONNX Runtime contrib op, version 1): Y = quantize(sigmoid(dequantize(X))) on
 * uint8. Written by ONNX Runtime's quantizer in QOperator format (PP-OCRv4 rec's attention gates, det's head).
 *
 *   0 X (uint8)  1 X_scale  2 X_zero_point (uint8, optional)  3 Y_scale  4 Y_zero_point (uint8, optional)
 *   (constant scalars)
 *
 * Like ORT (contrib_ops/cpu/quantization/qlinear_lookup_table.cc) a 256-entry table is built at prepare:
 *     v[i]     = X_scale * (float)(i - X_zero_point)
 *     s[i]     = logistic(v[i])                    MLAS's rational approximation, not 1 / (1 + exp(-v))
 *     table[i] = QuantizeLinear(s[i], Y_scale, Y_zero_point)     (calib/qmath.h: x / scale, ties to even)
 * logistic() is MLAS's FMA3 kernel (x86/LogisticKernelFma3.S, what ORT runs on any CPU with AVX2 + FMA):
 * x clamped to [-18, 18], p = x * (((( a9 x2 + a7) x2 + a5) x2 + a3) x2 + a1) and
 * q = ((((b10 x2 + b8) x2 + b6) x2 + b4) x2 + b2) x2 + b0 with fused multiply-adds, p / q + 0.5, then max(0, .).
 * fmaf() gives exactly those roundings on any machine. (ORT's SSE2 fallback rounds each multiply and add
 * separately; a table entry can then differ by one code where s[i] / Y_scale falls next to a .5.) */
#include <math.h>
#include <stdlib.h>

#include "calib/qmath.h"
#include "kernels/dispatch.h"
#include "ops/elementwise.h"

static const struct oq_tensor *qls_in(const struct oq_op_ctx *ctx, int k) { return k < ctx->n_in ? ctx->in[k] : NULL; }

static oq_status qls_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 4, 5, 1, 1));
    if (n->in[1] < 0 || n->in[3] < 0)
        return oq_node_error(n, err, OQ_ERR_MODEL, "needs X_scale and Y_scale");
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant: onnxq builds the "
                                 "lookup table from the scales and zero points at load", k, g->values[n->in[k]].name);
    return OQ_OK;
}

static oq_status qls_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "X has dtype %s; only uint8 is supported (quantize with "
                           "activation_type=QUInt8)", oq_dtype_name(x->dtype));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, x->ndim, x->dims);
    return OQ_OK;
}

/* MLAS's logistic approximation (Eigen's coefficients), FMA3 kernel order of operations. */
static float qls_logistic(float x) {
    x = x < -18.0f ? -18.0f : x;
    x = x > 18.0f ? 18.0f : x;
    float x2 = x * x;
    float p = fmaf(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
    p = fmaf(x2, p, 6.08574864600143e-05f);
    p = fmaf(x2, p, 8.51377133304701e-03f);
    p = fmaf(x2, p, 2.48287947061529e-01f);
    float q = fmaf(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
    q = fmaf(x2, q, 6.29106785017040e-06f);
    q = fmaf(x2, q, 1.70198817374094e-03f);
    q = fmaf(x2, q, 1.16817656904453e-01f);
    q = fmaf(x2, q, 9.93151921023180e-01f);
    p = x * p;
    float r = p / q + 0.5f;
    return r > 0.0f ? r : 0.0f;
}

static bool qls_scalar(const struct oq_tensor *t, enum oq_dtype dt) { return t->dtype == dt && oq_tensor_numel(t) == 1; }

static oq_status qls_prepare(struct oq_op_ctx *ctx) {
    if (ctx->priv)
        return OQ_OK;
    const struct oq_tensor *xs = ctx->in[1], *xz = qls_in(ctx, 2), *ys = ctx->in[3], *yz = qls_in(ctx, 4);
    if (!qls_scalar(xs, OQ_DTYPE_FLOAT) || !qls_scalar(ys, OQ_DTYPE_FLOAT) || (xz && !qls_scalar(xz, OQ_DTYPE_UINT8)) ||
        (yz && !qls_scalar(yz, OQ_DTYPE_UINT8)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars and zero points uint8 scalars");
    float sx = *(const float *)xs->data, sy = *(const float *)ys->data;
    if (!isfinite(sx) || !(sy > 0.0f) || !isfinite(sy))
        return oq_op_error(ctx, OQ_ERR_MODEL, "X_scale %g / Y_scale %g: scales must be finite and Y_scale positive",
                           (double)sx, (double)sy);
    int32_t zx = xz ? *(const uint8_t *)xz->data : 0, zy = yz ? *(const uint8_t *)yz->data : 0;
    uint8_t *t = malloc(256);
    if (!t)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < 256; i++)
        t[i] = (uint8_t)oq_quantize_one(qls_logistic(sx * (float)(i - zx)), sy, zy, OQ_DTYPE_UINT8);
    ctx->priv = t;
    return OQ_OK;
}

struct qls_args {
    const uint8_t *table;
    oq_lut_u8_fn lut;
};

static void qls_row(void *y, const void *const *x, const int64_t *s, int64_t n, const void *params) {
    const struct qls_args *a = params;
    a->lut(a->table, x[0], y, n); /* unary: the row is contiguous */
}

static oq_status qls_run(struct oq_op_ctx *ctx) {
    if (!ctx->priv)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    const struct oq_tensor *in[1] = {ctx->in[0]};
    struct qls_args a = {ctx->priv, ctx->kernels->lut_u8};
    oq_ew_run(ctx->pool, ctx->out[0], 1, in, qls_row, &a);
    return OQ_OK;
}

const struct oq_op_def oq_op_ms_qlinearsigmoid = {
    .domain  = "com.microsoft",
    .name    = "QLinearSigmoid",
    .since   = 1,
    .until   = 1,
    .check   = qls_check,
    .infer   = qls_infer,
    .prepare = qls_prepare,
    .run     = qls_run,
    .destroy = free,
};
