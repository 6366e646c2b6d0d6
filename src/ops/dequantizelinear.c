/* DequantizeLinear (opsets 10..28): y = (x - x_zero_point) * x_scale, in float.
 *
 * For the 8/16-bit types this is calib/qmath.h's oq_dequantize ((float)(q - zp) * scale, the oracle the
 * calibration tests use). int32 input (biases, zero point 0 by the spec, accepted when given) is computed as
 * (float)((int64_t)q - zp) * scale: the difference cannot overflow in int64, and its conversion to float
 * rounds to nearest like ONNX Runtime's static_cast<float>.
 *
 * Supported: x uint8/int8/int32 (opset 10+) and uint16/int16 (21+); x_scale float; output float (an
 * `output_dtype` (23+) other than float is rejected). Granularity as QuantizeLinear: one scale = per tensor,
 * a 1-D scale of x.dims[axis] elements = per axis (opset 13+, `axis` default 1). Blocked quantization
 * (`block_size` != 0 or a scale of rank > 1) and float8/int4/int2/float4 inputs are OQ_ERR_UNSUPPORTED. */
#include <string.h>

#include "calib/qmath.h"
#include "ops/op.h"
#include "ops/qdq_params.h"

static bool dq_in_type_ok(enum oq_dtype dt, int opset) {
    if (dt == OQ_DTYPE_UINT8 || dt == OQ_DTYPE_INT8 || dt == OQ_DTYPE_INT32)
        return true;
    return opset >= 21 && (dt == OQ_DTYPE_UINT16 || dt == OQ_DTYPE_INT16);
}

static oq_status dq_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 3, 1, 1));
    OQ_TRY(oq_qdq_check_block_size(n, err));
    int64_t odt = n->opset >= 23 ? oq_attr_int(n, "output_dtype", 0) : 0;
    if (odt != 0 && odt != OQ_DTYPE_FLOAT)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "output_dtype %lld (%s) is not supported; only float",
                             (long long)odt, oq_dtype_name((enum oq_dtype)odt));
    return OQ_OK;
}


static oq_status dq_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *s = ctx->in[1];
    const struct oq_tensor *zp = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!dq_in_type_ok(x->dtype, ctx->node->opset))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 ('%s') has dtype %s; supported: uint8, int8, int32%s",
                           x->name ? x->name : "?", oq_dtype_name(x->dtype),
                           ctx->node->opset >= 21 ? ", uint16, int16" : " (16-bit types need opset 21)");
    if (zp && zp->dtype != x->dtype)
        return oq_op_error(ctx, OQ_ERR_MODEL, "zero point '%s' has dtype %s, input 0 has %s",
                           zp->name ? zp->name : "?", oq_dtype_name(zp->dtype), oq_dtype_name(x->dtype));
    if (s->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "scale '%s' has dtype %s; only float is supported",
                           s->name ? s->name : "?", oq_dtype_name(s->dtype));
    int axis;
    OQ_TRY(oq_qdq_granularity(ctx, x, s, zp, "dequantization", &axis));
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, x->ndim, x->dims);
    return OQ_OK;
}

struct dq_args {
    const char *x;
    float *y;
    const float *scale;
    const struct oq_tensor *zp; /* NULL: zero point 0 */
    enum oq_dtype xt;
    size_t xsize;
    int64_t n;        /* per tensor: elements; per axis: blocks (outer * channels) */
    int64_t channels; /* per axis */
    int64_t inner;    /* per axis: elements per block; per tensor: 0 */
};

static void dq_span(const struct dq_args *a, int64_t off, int64_t n, float scale, int32_t zp) {
    if (a->xt == OQ_DTYPE_INT32) {
        const int32_t *q = (const int32_t *)a->x + off;
        for (int64_t i = 0; i < n; i++)
            a->y[off + i] = (float)((int64_t)q[i] - zp) * scale;
    } else {
        oq_dequantize(a->x + (size_t)off * a->xsize, n, scale, zp, a->xt, a->y + off);
    }
}

static void dq_task(void *arg, int ith, int nth) {
    const struct dq_args *a = arg;
    int64_t b0, b1;
    oq_split(a->n, ith, nth, &b0, &b1);
    if (a->inner == 0) {
        dq_span(a, b0, b1 - b0, a->scale[0], a->zp ? (int32_t)oq_tensor_get_i64(a->zp, 0) : 0);
        return;
    }
    for (int64_t b = b0; b < b1; b++) {
        int64_t c = b % a->channels;
        dq_span(a, b * a->inner, a->inner, a->scale[c], a->zp ? (int32_t)oq_tensor_get_i64(a->zp, c) : 0);
    }
}

static oq_status dq_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *s = ctx->in[1];
    const struct oq_tensor *zp = ctx->n_in > 2 ? ctx->in[2] : NULL;
    int axis;
    OQ_TRY(oq_qdq_granularity(ctx, x, s, zp, "dequantization", &axis));
    struct dq_args a = {.x = x->data, .y = ctx->out[0]->data, .scale = s->data, .zp = zp, .xt = x->dtype,
                        .xsize = oq_dtype_size(x->dtype)};
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
        oq_pool_run(ctx->pool, dq_task, &a, nth);
    return OQ_OK;
}

const struct oq_op_def oq_op_dequantizelinear = {
    .domain = "",
    .name   = "DequantizeLinear",
    .since  = 10,
    .until  = OQ_OPSET_MAX,
    .check  = dq_check,
    .infer  = dq_infer,
    .run    = dq_run,
};
