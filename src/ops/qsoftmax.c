/* QSoftmax (com.onnxq): softmax of uint8 data to uint8, made by the session's INT8 lowering
 * (exec/lower_qdq.h) from DequantizeLinear -> Softmax -> QuantizeLinear. Inputs in QLinearSoftmax's order:
 * 0 x (uint8)  1 x_scale  2 x_zero_point (uint8, unused: softmax is shift invariant)  3 y_scale
 * 4 y_zero_point (uint8, absent = 0), constant scalars. Attributes: `axis` and `opset` (the Softmax node's opset:
 * below 13 the reduction covers all dims from axis on, default axis 1; from 13 only dim axis, default -1).
 *
 * Numerics are ONNX Runtime's QLinearSoftmax (contrib_ops/cpu/quantization/qlinear_softmax.cc), a 256-entry
 * exp table, so that the integers agree with ORT's:
 *     D = reduction length;  b = max(0, log((float)FLT_MAX / (float)D) - 5) / x_scale     (double)
 *     T[i] = (float)exp((i - 255 + b) * x_scale),  i in [0, 255]                           (double, then float)
 *     per row: m = max x;  t(x) = T[x + 255 - m];  S = sum of t over the row in order       (float)
 *     y = min(255, (int)nearbyintf(t(x) * floorf(1 / y_scale) / S) + y_zp)               (float)
 * (The float simulation rounds exp(x - max) / sum / y_scale instead; they differ by 1 step on ~1% of the
 * elements of PP-OCRv4 rec's attention.) */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

struct qs_priv {
    int64_t D_table; /* D the table was built for */
    float table[256];
    float ymul;
    int32_t yzp;
};

static oq_status qs_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 4, 5, 1, 1));
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d must be a constant", k);
    return OQ_OK;
}

/* outer x D x inner view of x for the node's axis semantics */
static oq_status qs_geom(const struct oq_op_ctx *ctx, int64_t *outer, int64_t *D, int64_t *inner) {
    const struct oq_tensor *x = ctx->in[0];
    int opset = (int)oq_attr_int(ctx->node, "opset", 13);
    int axis;
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", opset < 13 ? 1 : -1), x->ndim, &axis));
    *outer = *D = *inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis)
            *outer *= x->dims[d];
        else if (d == axis || opset < 13)
            *D *= x->dims[d];
        else
            *inner *= x->dims[d];
    }
    return OQ_OK;
}

static oq_status qs_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_UINT8 || x->ndim < 1)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x must be uint8");
    int64_t o, D, i;
    OQ_TRY(qs_geom(ctx, &o, &D, &i));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, x->ndim, x->dims);
    return OQ_OK;
}

static oq_status qs_prepare(struct oq_op_ctx *ctx) {
    struct qs_priv *p = ctx->priv;
    const struct oq_tensor *xs = ctx->in[1], *ys = ctx->in[3], *yz = ctx->n_in > 4 ? ctx->in[4] : NULL;
    if (xs->dtype != OQ_DTYPE_FLOAT || oq_tensor_numel(xs) != 1 || ys->dtype != OQ_DTYPE_FLOAT ||
        oq_tensor_numel(ys) != 1 || (yz && (yz->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(yz) != 1)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars and zero points uint8 scalars");
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        ctx->priv = p;
    }
    int64_t o, D, in;
    OQ_TRY(qs_geom(ctx, &o, &D, &in));
    if (D < 1)
        D = 1;
    if (p->D_table != D) {
        float x_scale = *(const float *)xs->data;
        double b = log((double)(FLT_MAX / (float)D));
        b = (b - 5.0 > 0.0 ? b - 5.0 : 0.0) / (double)x_scale;
        for (int i = 0; i < 256; i++)
            p->table[i] = (float)exp(((double)i - 255 + b) * (double)x_scale);
        p->D_table = D;
    }
    p->ymul = floorf(1.0f / *(const float *)ys->data);
    p->yzp = yz ? *(const uint8_t *)yz->data : 0;
    return OQ_OK;
}

static oq_status qs_run(struct oq_op_ctx *ctx) {
    const struct qs_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    int64_t outer, D, inner;
    OQ_TRY(qs_geom(ctx, &outer, &D, &inner));
    const uint8_t *x = ctx->in[0]->data;
    uint8_t *y = ctx->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const uint8_t *xr = x + o * D * inner + i;
            uint8_t *yr = y + o * D * inner + i;
            int m = 0;
            for (int64_t d = 0; d < D; d++)
                m = xr[d * inner] > m ? xr[d * inner] : m;
            const float *t = p->table + 255 - m;
            float s = 0.0f;
            for (int64_t d = 0; d < D; d++)
                s += t[xr[d * inner]];
            for (int64_t d = 0; d < D; d++) {
                if (s == 0.0f) {
                    yr[d * inner] = (uint8_t)p->yzp;
                    continue;
                }
                float num = t[xr[d * inner]] * p->ymul;
                int64_t q = (int64_t)nearbyintf(num / s) + p->yzp;
                yr[d * inner] = (uint8_t)(q > 255 ? 255 : q < 0 ? 0 : q);
            }
        }
    return OQ_OK;
}

static void qs_destroy(void *priv) { free(priv); }

const struct oq_op_def oq_op_qsoftmax = {
    .domain  = "com.onnxq",
    .name    = "QSoftmax",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = qs_check,
    .infer   = qs_infer,
    .prepare = qs_prepare,
    .run     = qs_run,
    .destroy = qs_destroy,
};
