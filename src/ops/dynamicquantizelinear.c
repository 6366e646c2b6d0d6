/* DynamicQuantizeLinear (opsets 11..28): float x -> uint8 y with the scale and zero point computed from the
 * data itself, as ONNX's spec writes it (and ONNX Runtime computes it):
 *
 *     lo = min(0, min(x)),  hi = max(0, max(x))            (the range always includes 0)
 *     y_scale = (hi - lo) / 255                             (float)
 *     y_zero_point = round_half_even(saturate(0 - lo / y_scale))      (saturate to [0, 255] first)
 *     y = saturate(round_half_even(x / y_scale) + y_zero_point)        (QuantizeLinear, calib/qmath.h)
 *
 * Two cases the spec formula leaves open:
 *   - hi == lo (all zeros, or an empty tensor): the formula divides 0 by 0. onnxq follows ONNX Runtime:
 *     y_scale = 1, y_zero_point = 0, y = 0. (ONNX's Python reference writes 1/255 instead; y and the zero
 *     point agree, only the unused scale differs.)
 *   - NaN or +-Inf in x: there is no finite range to quantize to, so run() fails with OQ_ERR_NUMERIC naming
 *     the first such element (ORT silently produces codes that depend on where the NaN sits).
 * Only uint8 exists for this op (the spec says so through opset 28). Both passes are split over the pool. */
#include <math.h>
#include <string.h>

#include "calib/qmath.h"
#include "ops/op.h"

enum { DQL_MAX_THREADS = 64 };

static oq_status dql_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 3);
}

static oq_status dql_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x has dtype %s; DynamicQuantizeLinear takes float only",
                           oq_dtype_name(x->dtype));
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, x->ndim, x->dims);
    if (ctx->n_out > 1 && ctx->out[1])
        oq_op_set_output(ctx, 1, OQ_DTYPE_FLOAT, 0, NULL);
    if (ctx->n_out > 2 && ctx->out[2])
        oq_op_set_output(ctx, 2, OQ_DTYPE_UINT8, 0, NULL);
    return OQ_OK;
}

struct dql_job {
    const float *x;
    uint8_t *y;
    int64_t n;
    float lo[DQL_MAX_THREADS], hi[DQL_MAX_THREADS];
    int64_t bad[DQL_MAX_THREADS]; /* first non-finite index of the slice, or -1 */
    float scale;
    int32_t zp;
};

static void dql_range_task(void *arg, int ith, int nth) {
    struct dql_job *j = arg;
    int64_t b, e;
    oq_split(j->n, ith, nth, &b, &e);
    float lo = 0.0f, hi = 0.0f; /* the range starts at 0: it must include 0 anyway */
    j->bad[ith] = -1;
    for (int64_t i = b; i < e; i++) {
        float v = j->x[i];
        if (!isfinite(v)) {
            j->bad[ith] = i;
            break;
        }
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    j->lo[ith] = lo;
    j->hi[ith] = hi;
}

static void dql_quant_task(void *arg, int ith, int nth) {
    struct dql_job *j = arg;
    int64_t b, e;
    oq_split(j->n, ith, nth, &b, &e);
    oq_quantize_f32(j->x + b, e - b, j->scale, j->zp, OQ_DTYPE_UINT8, j->y + b);
}

/* Scale and zero point of the range [lo, hi] (lo <= 0 <= hi), ONNX Runtime's order of float operations. */
static void dql_params(float lo, float hi, float *scale, int32_t *zp) {
    *scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    float z = 0.0f - lo / *scale;
    z = z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z;
    *zp = (int32_t)nearbyintf(z);
}

static oq_status dql_run(struct oq_op_ctx *ctx) {
    struct dql_job j;
    j.x = ctx->in[0]->data;
    j.y = ctx->out[0]->data;
    j.n = oq_tensor_numel(ctx->in[0]);
    int nth = oq_pool_threads_for(ctx->pool, j.n, 1 << 15);
    if (nth > DQL_MAX_THREADS)
        nth = DQL_MAX_THREADS;
    oq_pool_run(ctx->pool, dql_range_task, &j, nth);
    float lo = 0.0f, hi = 0.0f;
    for (int t = 0; t < nth; t++) {
        if (j.bad[t] >= 0)
            return oq_op_error(ctx, OQ_ERR_NUMERIC,
                               "x has %s at element %lld; DynamicQuantizeLinear needs finite data (no scale "
                               "covers NaN/Inf): check the layers before it",
                               isnan(j.x[j.bad[t]]) ? "NaN" : "Inf", (long long)j.bad[t]);
        lo = j.lo[t] < lo ? j.lo[t] : lo;
        hi = j.hi[t] > hi ? j.hi[t] : hi;
    }
    dql_params(lo, hi, &j.scale, &j.zp);
    oq_pool_run(ctx->pool, dql_quant_task, &j, nth);
    if (ctx->n_out > 1 && ctx->out[1])
        *(float *)ctx->out[1]->data = j.scale;
    if (ctx->n_out > 2 && ctx->out[2])
        *(uint8_t *)ctx->out[2]->data = (uint8_t)j.zp;
    return OQ_OK;
}

const struct oq_op_def oq_op_dynamicquantizelinear = {
    .domain = "",
    .name   = "DynamicQuantizeLinear",
    .since  = 11,
    .until  = OQ_OPSET_MAX,
    .check  = dql_check,
    .infer  = dql_infer,
    .run    = dql_run,
};
