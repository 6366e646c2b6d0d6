/* Where: y = cond ? x : y2, numpy broadcasting of all three inputs. cond is bool; x and y2 share any
 * fixed-size dtype (the kernel only moves elements, so it is chosen by element size). */
#include "ops/elementwise.h"

#define WHERE_ROW(bits)                                                                                      \
    static void where_##bits(void *y_, const void *const *x_, const int64_t *s, int64_t n, const void *p) {  \
        const uint8_t *c        = x_[0];                                                                     \
        const uint##bits##_t *a = x_[1], *b = x_[2];                                                         \
        uint##bits##_t *y = y_;                                                                              \
        (void)p;                                                                                             \
        if (s[0] && s[1] && s[2]) {                                                                          \
            for (int64_t i = 0; i < n; i++)                                                                  \
                y[i] = c[i] ? a[i] : b[i];                                                                   \
        } else if (!s[0]) {                                                                                  \
            const uint##bits##_t *src = c[0] ? a : b;                                                        \
            int64_t ss                = c[0] ? s[1] : s[2];                                                  \
            for (int64_t i = 0; i < n; i++)                                                                  \
                y[i] = src[i * ss];                                                                          \
        } else {                                                                                             \
            for (int64_t i = 0; i < n; i++)                                                                  \
                y[i] = c[i] ? a[i * s[1]] : b[i * s[2]];                                                     \
        }                                                                                                    \
    }
WHERE_ROW(8)
WHERE_ROW(16)
WHERE_ROW(32)
WHERE_ROW(64)

static oq_status where_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 3, 3, 1, 1);
}

static oq_ew_row_fn where_kernel(enum oq_dtype dt) {
    switch (oq_dtype_size(dt)) {
    case 1:
        return where_8;
    case 2:
        return where_16;
    case 4:
        return where_32;
    case 8:
        return where_64;
    default:
        return NULL;
    }
}

static oq_status where_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *c = ctx->in[0], *x = ctx->in[1];
    if (c->dtype != OQ_DTYPE_BOOL)
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 0 ('%s', the condition) has dtype %s; it must be bool",
                           c->name ? c->name : "?",
                           oq_dtype_name(c->dtype));
    OQ_TRY(oq_ew_same_dtype(ctx, 1, 2));
    if (x->dtype == OQ_DTYPE_STRING || !where_kernel(x->dtype))
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 1 ('%s') has dtype %s, which Where does not support",
                           x->name ? x->name : "?",
                           oq_dtype_name(x->dtype));
    int nd;
    int64_t dims[OQ_MAX_DIMS];
    OQ_TRY(oq_ew_broadcast_shape(ctx, 3, &nd, dims));
    oq_op_set_output(ctx, 0, x->dtype, nd, dims);
    return OQ_OK;
}

static oq_status where_run(struct oq_op_ctx *ctx) {
    oq_ew_run(ctx->pool,
              ctx->out[0],
              3,
              (const struct oq_tensor *const *)ctx->in,
              where_kernel(ctx->in[1]->dtype),
              NULL);
    return OQ_OK;
}

const struct oq_op_def oq_op_where = {
    .domain = "",
    .name   = "Where",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = where_check,
    .infer  = where_infer,
    .run    = where_run,
};
