/* QAveragePool (com.onnxq): 2-D average pooling of uint8 NCHW data, made by the session's INT8 lowering
 * (exec/lower_qdq.h) from DequantizeLinear -> AveragePool -> QuantizeLinear. Inputs in QLinearAveragePool's
 * order: 0 x (uint8 [N, C, H, W])  1 x_scale  2 x_zero_point (uint8)  3 y_scale  4 y_zero_point (uint8, absent = 0)
 * (constant scalars). Attributes: AveragePool's kernel_shape, strides, pads, count_include_pad; auto_pad NOTSET,
 * ceil_mode 0 and no dilations (the lowering checks them).
 *
 * Numerics are ONNX Runtime's QLinearAveragePool (contrib_ops/cpu/quantization/qlinear_pool.cc), in float:
 *     v   = x_scale * (float)(x - x_zp)                       per input element
 *     s   = sum of v over the window, rows then columns, in float
 *     s  /= (float)count                                       (count_include_pad: kh * kw; else the in-range taps)
 *     y   = clamp((int)nearbyintf(s / y_scale + (float)y_zp), 0, 255)
 * Note the zero point is added before rounding (the QuantizeLinear of the float simulation adds it after):
 * with the shared input/output parameters of a QDQ AveragePool, s / y_scale is often an exact .5 and the two
 * orders round such ties differently, so only this order agrees with ORT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

struct qp_priv {
    int64_t k[2], s[2], p[4];
    bool include_pad;
    float xs, ys, yzf, lut[256]; /* lut[x] = x_scale * (x - x_zp) */
};

static oq_status qp_attrs(const struct oq_node *n, oq_error *err, struct qp_priv *p) {
    const int64_t *v;
    if (oq_attr_ints(n, "kernel_shape", &v) != 2)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "QAveragePool needs a 2-D kernel_shape");
    p->k[0] = v[0], p->k[1] = v[1];
    p->s[0] = p->s[1] = 1;
    if (oq_attr_ints(n, "strides", &v) == 2)
        p->s[0] = v[0], p->s[1] = v[1];
    memset(p->p, 0, sizeof(p->p));
    if (oq_attr_ints(n, "pads", &v) == 4)
        memcpy(p->p, v, sizeof(p->p));
    p->include_pad = oq_attr_int(n, "count_include_pad", 0) != 0;
    if (p->k[0] < 1 || p->k[1] < 1 || p->s[0] < 1 || p->s[1] < 1 || oq_attr_int(n, "ceil_mode", 0) != 0 ||
        strcmp(oq_attr_string(n, "auto_pad", "NOTSET"), "NOTSET") || oq_node_attr(n, "dilations"))
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "QAveragePool supports auto_pad NOTSET, ceil_mode 0, no "
                             "dilations");
    return OQ_OK;
}

static oq_status qp_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 4, 5, 1, 1));
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d must be a constant", k);
    struct qp_priv p;
    return qp_attrs(n, err, &p);
}

static void qp_out(const struct qp_priv *p, const int64_t *xd, int64_t *od) {
    od[0] = xd[0];
    od[1] = xd[1];
    od[2] = (xd[2] + p->p[0] + p->p[2] - p->k[0]) / p->s[0] + 1;
    od[3] = (xd[3] + p->p[1] + p->p[3] - p->k[1]) / p->s[1] + 1;
}

static oq_status qp_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_UINT8 || x->ndim != 4)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x must be uint8 [N, C, H, W]");
    struct qp_priv p;
    OQ_TRY(qp_attrs(ctx->node, ctx->err, &p));
    int64_t od[4];
    qp_out(&p, x->dims, od);
    if (od[2] < 1 || od[3] < 1)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input smaller than the kernel");
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, 4, od);
    return OQ_OK;
}

static oq_status qp_prepare(struct oq_op_ctx *ctx) {
    if (ctx->priv)
        return OQ_OK;
    const struct oq_tensor *xs = ctx->in[1], *xz = ctx->in[2], *ys = ctx->in[3];
    const struct oq_tensor *yz = ctx->n_in > 4 ? ctx->in[4] : NULL;
    if (xs->dtype != OQ_DTYPE_FLOAT || oq_tensor_numel(xs) != 1 || ys->dtype != OQ_DTYPE_FLOAT ||
        oq_tensor_numel(ys) != 1 || xz->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(xz) != 1 ||
        (yz && (yz->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(yz) != 1)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars and zero points uint8 scalars");
    struct qp_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    ctx->priv = p;
    OQ_TRY(qp_attrs(ctx->node, ctx->err, p));
    p->xs = *(const float *)xs->data;
    p->ys = *(const float *)ys->data;
    p->yzf = yz ? (float)*(const uint8_t *)yz->data : 0.0f;
    int zx = *(const uint8_t *)xz->data;
    for (int v = 0; v < 256; v++)
        p->lut[v] = p->xs * (float)(v - zx);
    return OQ_OK;
}

static oq_status qp_run(struct oq_op_ctx *ctx) {
    const struct qp_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    const struct oq_tensor *xt = ctx->in[0];
    const uint8_t *x = xt->data;
    uint8_t *y = ctx->out[0]->data;
    int64_t H = xt->dims[2], W = xt->dims[3], OH = ctx->out[0]->dims[2], OW = ctx->out[0]->dims[3];
    int64_t planes = xt->dims[0] * xt->dims[1];
    for (int64_t c = 0; c < planes; c++) {
        const uint8_t *xp = x + c * H * W;
        uint8_t *yp = y + c * OH * OW;
        for (int64_t ph = 0; ph < OH; ph++) {
            int64_t hs = ph * p->s[0] - p->p[0], he = hs + p->k[0] < H ? hs + p->k[0] : H;
            hs = hs > 0 ? hs : 0;
            for (int64_t pw = 0; pw < OW; pw++) {
                int64_t ws = pw * p->s[1] - p->p[1], we = ws + p->k[1] < W ? ws + p->k[1] : W;
                ws = ws > 0 ? ws : 0;
                float s = 0.0f;
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++)
                        s += p->lut[xp[h * W + w]];
                int64_t cnt = p->include_pad ? p->k[0] * p->k[1] : (he - hs) * (we - ws);
                s /= (float)cnt;
                float q = nearbyintf(s / p->ys + p->yzf);
                yp[ph * OW + pw] = (uint8_t)(q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q);
            }
        }
    }
    return OQ_OK;
}

static void qp_destroy(void *priv) { free(priv); }

const struct oq_op_def oq_op_qaveragepool = {
    .domain  = "com.onnxq",
    .name    = "QAveragePool",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = qp_check,
    .infer   = qp_infer,
    .prepare = qp_prepare,
    .run     = qp_run,
    .destroy = qp_destroy,
};
