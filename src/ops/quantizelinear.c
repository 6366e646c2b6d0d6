/* QuantizeLinear (opsets 10..28): y = saturate(round_half_to_even(x / y_scale) + y_zero_point).
 *
 * The numerics are those of calib/qmath.h (oq_quantize_f32 / oq_quantize_one): a float division (not a
 * multiply by 1/scale), nearbyintf under FE_TONEAREST (ties to even: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2), the
 * zero point added after rounding, saturation to the full range of the output type, NaN -> zero point.
 * There is exactly one rounding rule in onnxq; this op calls it and does not restate it.
 *
 * Supported: x float; y_scale float; output uint8/int8 (opset 10+) and uint16/int16 (opset 21+), chosen
 * by y_zero_point's dtype, else by `output_dtype` (21+), else uint8. Granularity from y_scale's shape:
 * one element = per tensor; a 1-D tensor of x.dims[axis] elements = per axis (opset 13+, `axis` default 1,
 * negative counts from the back). y_zero_point, when given, has y_scale's shape.
 * Rejected with OQ_ERR_UNSUPPORTED naming the node: float8/int4/int2/float4 outputs, blocked quantization
 * (`block_size` != 0 or a y_scale of rank > 1), a non-float `precision` (23+), non-float x or y_scale.
 * `saturate` (19+) only concerns float8 and is therefore ignored.
 *
 * Scale and zero point are read at run time, so they may be computed values. Parallel over blocks of the
 * quantization axis (per axis) or over element ranges (per tensor). */
#include <string.h>

#include "calib/qmath.h"
#include "ops/op.h"
#include "ops/qdq_params.h"

static bool q_out_type_ok(int64_t dt, int opset) {
    if (dt == OQ_DTYPE_UINT8 || dt == OQ_DTYPE_INT8)
        return true;
    return opset >= 21 && (dt == OQ_DTYPE_UINT16 || dt == OQ_DTYPE_INT16);
}

static oq_status q_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 3, 1, 1));
    OQ_TRY(oq_qdq_check_block_size(n, err));
    int64_t odt = n->opset >= 21 ? oq_attr_int(n, "output_dtype", 0) : 0;
    if (odt != 0 && !q_out_type_ok(odt, n->opset))
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "output_dtype %lld (%s) is not supported; onnxq quantizes to uint8, int8, uint16 "
                             "and int16 (no float8/int4/int2/float4)",
                             (long long)odt, oq_dtype_name((enum oq_dtype)odt));
    int64_t prec = n->opset >= 23 ? oq_attr_int(n, "precision", 0) : 0;
    if (prec != 0 && prec != OQ_DTYPE_FLOAT)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED,
                             "precision %lld (%s) is not supported; the division x / y_scale is done in float",
                             (long long)prec, oq_dtype_name((enum oq_dtype)prec));
    return OQ_OK;
}


static oq_status q_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *s = ctx->in[1];
    const struct oq_tensor *zp = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 ('%s') has dtype %s; only float is supported",
                           x->name ? x->name : "?", oq_dtype_name(x->dtype));
    if (s->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scale '%s' has dtype %s; only float is supported",
                           s->name ? s->name : "?", oq_dtype_name(s->dtype));
    int64_t odt = ctx->node->opset >= 21 ? oq_attr_int(ctx->node, "output_dtype", 0) : 0;
    enum oq_dtype yt = OQ_DTYPE_UINT8;
    if (zp) {
        if (!q_out_type_ok(zp->dtype, ctx->node->opset))
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED,
                               "zero point '%s' has dtype %s; supported: uint8, int8%s",
                               zp->name ? zp->name : "?", oq_dtype_name(zp->dtype),
                               ctx->node->opset >= 21 ? ", uint16, int16" : " (16-bit types need opset 21)");
        if (odt != 0 && odt != zp->dtype)
            return oq_op_error(ctx, OQ_ERR_MODEL, "output_dtype %s differs from the zero point's dtype %s",
                               oq_dtype_name((enum oq_dtype)odt), oq_dtype_name(zp->dtype));
        yt = zp->dtype;
    } else if (odt != 0) {
        yt = (enum oq_dtype)odt;
    }
    int axis;
    OQ_TRY(oq_qdq_granularity(ctx, x, s, zp, "quantization", &axis));
    oq_op_set_output(ctx, 0, yt, x->ndim, x->dims);
    return OQ_OK;
}

struct q_args {
    const float *x;
    char *y;
    const float *scale;
    const struct oq_tensor *zp; /* NULL: zero point 0 */
    enum oq_dtype yt;
    size_t ysize;
    int64_t n;        /* per tensor: elements; per axis: blocks (outer * channels) */
    int64_t channels; /* per axis */
    int64_t inner;    /* per axis: elements per block; per tensor: 0 */
};

static void q_task(void *arg, int ith, int nth) {
    const struct q_args *a = arg;
    int64_t b0, b1;
    oq_split(a->n, ith, nth, &b0, &b1);
    if (a->inner == 0) {
        int32_t zp = a->zp ? (int32_t)oq_tensor_get_i64(a->zp, 0) : 0;
        oq_quantize_f32(a->x + b0, b1 - b0, a->scale[0], zp, a->yt, a->y + (size_t)b0 * a->ysize);
        return;
    }
    for (int64_t b = b0; b < b1; b++) {
        int64_t c = b % a->channels;
        int32_t zp = a->zp ? (int32_t)oq_tensor_get_i64(a->zp, c) : 0;
        oq_quantize_f32(a->x + b * a->inner, a->inner, a->scale[c], zp, a->yt,
                        a->y + (size_t)(b * a->inner) * a->ysize);
    }
}

static oq_status q_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *s = ctx->in[1];
    const struct oq_tensor *zp = ctx->n_in > 2 ? ctx->in[2] : NULL;
    struct oq_tensor *y = ctx->out[0];
    int axis;
    OQ_TRY(oq_qdq_granularity(ctx, x, s, zp, "quantization", &axis));
    struct q_args a = {.x = x->data, .y = y->data, .scale = s->data, .zp = zp, .yt = y->dtype,
                       .ysize = oq_dtype_size(y->dtype)};
    int64_t n = oq_tensor_numel(x);
    int nth = oq_pool_threads_for(ctx->pool, n, 16384);
    if (axis < 0) {
        a.n = n;
        a.inner = 0;
    } else {
        a.channels = x->dims[axis];
        a.inner = oq_shape_numel(x->ndim - axis - 1, x->dims + axis + 1);
        a.n = a.inner > 0 ? n / a.inner : 0;
        if (nth > a.n)
            nth = a.n > 0 ? (int)a.n : 1;
    }
    if (n > 0)
        oq_pool_run(ctx->pool, q_task, &a, nth);
    return OQ_OK;
}

const struct oq_op_def oq_op_quantizelinear = {
    .domain = "",
    .name   = "QuantizeLinear",
    .since  = 10,
    .until  = OQ_OPSET_MAX,
    .check  = q_check,
    .infer  = q_infer,
    .run    = q_run,
};
