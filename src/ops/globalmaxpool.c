/* GlobalMaxPool: max over every spatial dim of [N, C, ...] -> [N, C, 1, ...]. Float, int8, uint8. */
#include <math.h>

#include "ops/op.h"
#include "ops/pool_common.h"

static oq_status gmp_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 1, 1, 1, 1);
}

static oq_status gmp_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT && x->dtype != OQ_DTYPE_INT8 && x->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input 0 has dtype %s; float, int8 and uint8 are supported",
                           oq_dtype_name(x->dtype));
    return oq_global_pool_infer(ctx);
}

struct gmp_args {
    const void *x;
    void *y;
    int64_t planes, hw;
};

#define OQ_GMP_TASK(NAME, T, LOWEST)                                                                    \
    static void NAME(void *arg, int ith, int nth) {                                                     \
        const struct gmp_args *a = arg;                                                                 \
        int64_t p0, p1;                                                                                 \
        oq_split(a->planes, ith, nth, &p0, &p1);                                                        \
        for (int64_t p = p0; p < p1; p++) {                                                             \
            const T *x = (const T *)a->x + p * a->hw;                                                   \
            T m = LOWEST;                                                                               \
            for (int64_t i = 0; i < a->hw; i++)                                                         \
                m = x[i] > m ? x[i] : m;                                                                \
            ((T *)a->y)[p] = m;                                                                         \
        }                                                                                               \
    }

OQ_GMP_TASK(gmp_f32, float, -INFINITY)
OQ_GMP_TASK(gmp_s8, int8_t, INT8_MIN)
OQ_GMP_TASK(gmp_u8, uint8_t, 0)

static oq_status gmp_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    struct gmp_args a = {x->data, ctx->out[0]->data, x->dims[0] * x->dims[1], 0};
    a.hw = oq_shape_numel(x->ndim - 2, x->dims + 2);
    oq_task_fn fn = x->dtype == OQ_DTYPE_FLOAT ? gmp_f32 : x->dtype == OQ_DTYPE_INT8 ? gmp_s8 : gmp_u8;
    oq_pool_run(ctx->pool, fn, &a, oq_pool_threads_for(ctx->pool, a.planes * a.hw, 16384));
    return OQ_OK;
}

const struct oq_op_def oq_op_globalmaxpool = {
    .domain = "",
    .name   = "GlobalMaxPool",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = gmp_check,
    .infer  = gmp_infer,
    .run    = gmp_run,
};
