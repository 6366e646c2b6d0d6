/* QGlobalAveragePool (com.onnxq): mean over every spatial position of uint8 [N, C, D1, ...] data, made by the
 * session's INT8 lowering (exec/lower_qdq.h) from DequantizeLinear -> GlobalAveragePool -> QuantizeLinear.
 * Inputs in QLinearGlobalAveragePool's order: 0 x (uint8)  1 x_scale  2 x_zero_point (uint8)  3 y_scale
 * 4 y_zero_point (uint8, absent = 0), constant scalars. Output [N, C, 1, ...].
 *
 * Numerics are ONNX Runtime's (MLAS qlgavgpool.cpp, MlasQLinearGlobalAveragePoolNchw):
 *     acc   = sum of x over the plane - x_zp * S            exact int32 (S = plane size < 2^24)
 *     scale = x_scale / (y_scale * (float)S)               float, in that order
 *     y     = oq_requant_f32(acc, scale, y_zp, 0, 255)     (kernels/requant.h: float multiply, ties to even) */
#include <stdlib.h>

#include "kernels/requant.h"
#include "ops/op.h"

struct qg_priv {
    int32_t x_zp, y_zp;
    float x_scale, y_scale;
};

static oq_status qg_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 4, 5, 1, 1));
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d must be a constant", k);
    return OQ_OK;
}

static oq_status qg_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_UINT8 || x->ndim < 3)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x must be uint8 [N, C, D1, ...] (got %s of rank %d)",
                           oq_dtype_name(x->dtype), x->ndim);
    if (oq_shape_numel(x->ndim - 2, x->dims + 2) >= (1 << 24))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "planes of 2^24 or more values are not supported");
    int64_t dims[OQ_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        dims[d] = d < 2 ? x->dims[d] : 1;
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, x->ndim, dims);
    return OQ_OK;
}

static bool scalar(const struct oq_tensor *t, enum oq_dtype dt) {
    return t && t->dtype == dt && oq_tensor_numel(t) == 1;
}

static oq_status qg_prepare(struct oq_op_ctx *ctx) {
    if (ctx->priv)
        return OQ_OK;
    const struct oq_tensor *yz = ctx->n_in > 4 ? ctx->in[4] : NULL;
    if (!scalar(ctx->in[1], OQ_DTYPE_FLOAT) || !scalar(ctx->in[2], OQ_DTYPE_UINT8) ||
        !scalar(ctx->in[3], OQ_DTYPE_FLOAT) || (yz && !scalar(yz, OQ_DTYPE_UINT8)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scales must be float scalars and zero points uint8 scalars");
    struct qg_priv *p = malloc(sizeof(*p));
    if (!p)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    p->x_scale = *(const float *)ctx->in[1]->data;
    p->x_zp = *(const uint8_t *)ctx->in[2]->data;
    p->y_scale = *(const float *)ctx->in[3]->data;
    p->y_zp = yz ? *(const uint8_t *)yz->data : 0;
    ctx->priv = p;
    if (!(p->x_scale > 0) || !(p->y_scale > 0))
        return oq_op_error(ctx, OQ_ERR_MODEL, "scales must be positive");
    return OQ_OK;
}

struct qg_args {
    const uint8_t *x;
    uint8_t *y;
    int64_t planes, S;
    float scale;
    int32_t bias, y_zp;
};

static void qg_task(void *arg, int ith, int nth) {
    const struct qg_args *a = arg;
    int64_t c0, c1;
    oq_split(a->planes, ith, nth, &c0, &c1);
    for (int64_t c = c0; c < c1; c++) {
        const uint8_t *r = a->x + c * a->S;
        int32_t acc = a->bias;
        for (int64_t i = 0; i < a->S; i++)
            acc += r[i];
        a->y[c] = (uint8_t)oq_requant_f32(acc, a->scale, a->y_zp, 0, 255);
    }
}

static oq_status qg_run(struct oq_op_ctx *ctx) {
    const struct qg_priv *p = ctx->priv;
    const struct oq_tensor *x = ctx->in[0];
    struct qg_args a = {.x = x->data, .y = ctx->out[0]->data, .planes = x->dims[0] * x->dims[1],
                        .S = oq_shape_numel(x->ndim - 2, x->dims + 2), .y_zp = p->y_zp};
    a.scale = p->x_scale / (p->y_scale * (float)a.S);
    a.bias = -p->x_zp * (int32_t)a.S;
    int nth = oq_pool_threads_for(ctx->pool, a.planes * a.S, 1 << 15);
    if (nth > a.planes)
        nth = a.planes > 0 ? (int)a.planes : 1;
    oq_pool_run(ctx->pool, qg_task, &a, nth);
    return OQ_OK;
}

const struct oq_op_def oq_op_qglobalaveragepool = {
    .domain  = "com.onnxq",
    .name    = "QGlobalAveragePool",
    .since   = 1,
    .until   = 1,
    .check   = qg_check,
    .infer   = qg_infer,
    .prepare = qg_prepare,
    .run     = qg_run,
    .destroy = free,
};
