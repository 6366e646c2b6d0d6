/* com.microsoft QLinearConcat (ONNX Runtime contrib op, version 1): concatenation of uint8 tensors along `axis`,
 * each requantized to the output's parameters. Written by ONNX Runtime's quantizer in QOperator format
 * (PP-OCRv4 det's FPN merge, rec's SVTR concat).
 *
 *   0 Y_scale  1 Y_zero_point (uint8)  then per input: X_i (uint8), X_i_scale, X_i_zero_point (uint8)
 *   attribute axis (required; negative counts from the back)       scales and zero points: constant scalars
 *
 * Numerics are ORT's (contrib_ops/cpu/quantization/qlinear_concat.cc): an input whose scale and zero point
 * equal the output's is copied; any other goes through a 256-entry table built at prepare,
 *     table[i] = QuantizeLinear(X_scale * (float)(i - X_zero_point), Y_scale, Y_zero_point)
 * (calib/qmath.h's rounding, the same as MLAS's QuantizeLinear). Run copies or looks up one contiguous slab
 * [axis dim x inner] per input per outer index. */
#include <stdlib.h>
#include <string.h>

#include "calib/qmath.h"
#include "kernels/dispatch.h"
#include "ops/op.h"

struct qlc_priv {
    int n;           /* inputs */
    int axis;        /* normalized, set by prepare */
    int64_t outer, inner, out_axis;
    bool *copy;      /* [n] */
    uint8_t *tables; /* [n][256] */
};

static oq_status qcat_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->n_in < 5 || (n->n_in - 2) % 3 != 0)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has %d inputs; expected Y_scale, Y_zero_point and then "
                             "(X, X_scale, X_zero_point) triples", n->n_in);
    OQ_TRY(oq_check_arity(n, err, n->n_in, n->n_in, 1, 1));
    if (!oq_node_attr(n, "axis"))
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'axis' is required");
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "input %d is missing", k);
        if (k >= 2 && (k - 2) % 3 == 0)
            continue; /* a tensor */
        if (!g->values[n->in[k]].init)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "input %d ('%s') must be a constant: onnxq builds the "
                                 "requantization tables at load", k, g->values[n->in[k]].name);
    }
    return OQ_OK;
}

static oq_status qcat_geom(const struct oq_op_ctx *ctx, int *axis, int64_t *dims) {
    int n = (ctx->n_in - 2) / 3;
    const struct oq_tensor *x0 = ctx->in[2];
    OQ_TRY(oq_op_axis(ctx, oq_attr_int(ctx->node, "axis", 0), x0->ndim, axis));
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)x0->ndim);
    dims[*axis] = 0;
    for (int i = 0; i < n; i++) {
        const struct oq_tensor *x = ctx->in[2 + 3 * i];
        if (x->dtype != OQ_DTYPE_UINT8)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input %d has dtype %s; only uint8 is supported (quantize "
                               "with activation_type=QUInt8)", 2 + 3 * i, oq_dtype_name(x->dtype));
        if (x->ndim != x0->ndim)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "input %d has rank %d, input 2 rank %d", 2 + 3 * i, x->ndim,
                               x0->ndim);
        for (int d = 0; d < x->ndim; d++)
            if (d != *axis && x->dims[d] != x0->dims[d])
                return oq_op_error(ctx, OQ_ERR_SHAPE, "input %d has dim %d = %lld, input 2 has %lld (only the axis "
                                   "dim %d may differ)", 2 + 3 * i, d, (long long)x->dims[d],
                                   (long long)x0->dims[d], *axis);
        dims[*axis] += x->dims[*axis];
    }
    return OQ_OK;
}

static oq_status qcat_infer(struct oq_op_ctx *ctx) {
    int axis;
    int64_t dims[OQ_MAX_DIMS];
    OQ_TRY(qcat_geom(ctx, &axis, dims));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, ctx->in[2]->ndim, dims);
    return OQ_OK;
}

static void qcat_destroy(void *priv) {
    struct qlc_priv *p = priv;
    if (!p)
        return;
    free(p->copy);
    free(p->tables);
    free(p);
}

static bool qcat_scalar(const struct oq_tensor *t, enum oq_dtype dt) {
    return t->dtype == dt && oq_tensor_numel(t) == 1;
}

static oq_status qcat_tables(struct oq_op_ctx *ctx, struct qlc_priv *p) {
    const struct oq_tensor *ys = ctx->in[0], *yz = ctx->in[1];
    if (!qcat_scalar(ys, OQ_DTYPE_FLOAT) || !qcat_scalar(yz, OQ_DTYPE_UINT8))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "Y_scale must be a float scalar and Y_zero_point a uint8 scalar");
    float sy = *(const float *)ys->data;
    int32_t zy = *(const uint8_t *)yz->data;
    if (!(sy > 0.0f) || sy > 3.4e38f)
        return oq_op_error(ctx, OQ_ERR_MODEL, "Y_scale is %g; it must be positive and finite", (double)sy);
    for (int i = 0; i < p->n; i++) {
        const struct oq_tensor *xs = ctx->in[3 + 3 * i], *xz = ctx->in[4 + 3 * i];
        if (!qcat_scalar(xs, OQ_DTYPE_FLOAT) || !qcat_scalar(xz, OQ_DTYPE_UINT8))
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "inputs %d and %d must be a float scale and a uint8 zero "
                               "point (scalars)", 3 + 3 * i, 4 + 3 * i);
        float sx = *(const float *)xs->data;
        int32_t zx = *(const uint8_t *)xz->data;
        p->copy[i] = sx == sy && zx == zy;
        for (int c = 0; c < 256; c++)
            p->tables[i * 256 + c] = (uint8_t)oq_quantize_one(sx * (float)(c - zx), sy, zy, OQ_DTYPE_UINT8);
    }
    return OQ_OK;
}

static oq_status qcat_prepare(struct oq_op_ctx *ctx) {
    struct qlc_priv *p = ctx->priv;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        ctx->priv = p;
        p->n = (ctx->n_in - 2) / 3;
        p->copy = calloc((size_t)p->n, sizeof(bool));
        p->tables = malloc((size_t)p->n * 256);
        if (!p->copy || !p->tables)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
        OQ_TRY(qcat_tables(ctx, p));
    }
    int64_t dims[OQ_MAX_DIMS];
    OQ_TRY(qcat_geom(ctx, &p->axis, dims));
    p->outer = oq_shape_numel(p->axis, dims);
    p->inner = oq_shape_numel(ctx->in[2]->ndim - p->axis - 1, dims + p->axis + 1);
    p->out_axis = dims[p->axis];
    return OQ_OK;
}

static oq_status qcat_run(struct oq_op_ctx *ctx) {
    const struct qlc_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    uint8_t *y = ctx->out[0]->data;
    int64_t ostride = p->out_axis * p->inner, off = 0;
    for (int i = 0; i < p->n; i++) {
        const struct oq_tensor *xt = ctx->in[2 + 3 * i];
        const uint8_t *x = xt->data;
        int64_t slab = xt->dims[p->axis] * p->inner;
        for (int64_t o = 0; o < p->outer && slab; o++) {
            if (p->copy[i])
                memcpy(y + o * ostride + off, x + o * slab, (size_t)slab);
            else
                ctx->kernels->lut_u8(p->tables + i * 256, x + o * slab, y + o * ostride + off, slab);
        }
        off += slab;
    }
    return OQ_OK;
}

const struct oq_op_def oq_op_ms_qlinearconcat = {
    .domain  = "com.microsoft",
    .name    = "QLinearConcat",
    .since   = 1,
    .until   = 1,
    .check   = qcat_check,
    .infer   = qcat_infer,
    .prepare = qcat_prepare,
    .run     = qcat_run,
    .destroy = qcat_destroy,
};
