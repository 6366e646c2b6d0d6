/* Range(start, limit, delta): scalars of one numeric dtype; max(ceil((limit - start) / delta), 0) values
 * start + i * delta. The count is the output shape, so all three must be known at plan time. Integer
 * types are computed exactly in int64. */
#include <math.h>

#include "ops/movement.h"

static oq_status range_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 3, 3, 1, 1);
}

static bool range_dtype_ok(enum oq_dtype dt) {
    return dt == OQ_DTYPE_FLOAT || dt == OQ_DTYPE_DOUBLE || dt == OQ_DTYPE_FLOAT16 || dt == OQ_DTYPE_BFLOAT16 ||
           dt == OQ_DTYPE_INT16 || dt == OQ_DTYPE_INT32 || dt == OQ_DTYPE_INT64;
}

static oq_status range_infer(struct oq_op_ctx *ctx) {
    static const char *names[3] = {"start", "limit", "delta"};
    enum oq_dtype dt = ctx->in[0]->dtype;
    if (!range_dtype_ok(dt))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "dtype %s is not supported (float, double, float16, bfloat16, int16/32/64)",
                           oq_dtype_name(dt));
    double v[3];
    for (int i = 0; i < 3; i++) {
        const struct oq_tensor *t = ctx->in[i];
        if (t->dtype != dt)
            return oq_op_error(ctx, OQ_ERR_MODEL, "input %d (%s) has dtype %s, input 0 has %s", i, names[i],
                               oq_dtype_name(t->dtype), oq_dtype_name(dt));
        if (oq_tensor_numel(t) != 1)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "input %d (%s) must be a scalar, has %lld elements", i, names[i],
                               (long long)oq_tensor_numel(t));
        int cnt;
        OQ_TRY(oq_mv_const_floats(ctx, i, &v[i], 1, &cnt));
    }
    int64_t n;
    if (oq_dtype_is_int(dt)) {
        int64_t s = oq_tensor_get_i64(ctx->in[0], 0), l = oq_tensor_get_i64(ctx->in[1], 0),
                d = oq_tensor_get_i64(ctx->in[2], 0);
        if (d == 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "delta is 0");
        int64_t span = l - s;
        n = d > 0 ? (span > 0 ? (span + d - 1) / d : 0) : (span < 0 ? (-span + (-d) - 1) / (-d) : 0);
    } else {
        if (v[2] == 0 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
            return oq_op_error(ctx, OQ_ERR_SHAPE, "start %g, limit %g, delta %g do not define a finite range", v[0],
                               v[1], v[2]);
        double c = ceil((v[1] - v[0]) / v[2]);
        if (c > (double)(INT64_C(1) << 40))
            return oq_op_error(ctx, OQ_ERR_SHAPE, "range of %g elements is too large", c);
        n = c > 0 ? (int64_t)c : 0;
    }
    oq_op_set_output(ctx, 0, dt, 1, &n);
    return OQ_OK;
}

static oq_status range_run(struct oq_op_ctx *ctx) {
    struct oq_tensor *y = ctx->out[0];
    int64_t n = y->dims[0];
    const struct oq_tensor *s = ctx->in[0], *d = ctx->in[2];
    switch (y->dtype) {
    case OQ_DTYPE_FLOAT: {
        float s0 = *(const float *)s->data, dd = *(const float *)d->data;
        float *o = y->data;
        for (int64_t i = 0; i < n; i++)
            o[i] = s0 + (float)i * dd;
        break;
    }
    case OQ_DTYPE_DOUBLE: {
        double s0 = *(const double *)s->data, dd = *(const double *)d->data;
        double *o = y->data;
        for (int64_t i = 0; i < n; i++)
            o[i] = s0 + (double)i * dd;
        break;
    }
    case OQ_DTYPE_FLOAT16:
    case OQ_DTYPE_BFLOAT16: {
        float s0 = (float)oq_tensor_get_f64(s, 0), dd = (float)oq_tensor_get_f64(d, 0);
        for (int64_t i = 0; i < n; i++)
            oq_tensor_set_f64(y, i, s0 + (float)i * dd);
        break;
    }
    default: {
        int64_t s0 = oq_tensor_get_i64(s, 0), dd = oq_tensor_get_i64(d, 0);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = s0 + i * dd;
            if (y->dtype == OQ_DTYPE_INT64)
                ((int64_t *)y->data)[i] = v;
            else if (y->dtype == OQ_DTYPE_INT32)
                ((int32_t *)y->data)[i] = (int32_t)v;
            else
                ((int16_t *)y->data)[i] = (int16_t)v;
        }
        break;
    }
    }
    return OQ_OK;
}

const struct oq_op_def oq_op_range = {
    .domain = "",
    .name   = "Range",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = range_check,
    .infer  = range_infer,
    .run    = range_run,
};
