/* Pow: y = a ^ b with numpy broadcasting; the output has the base's dtype (float, int32 or int64). The
 * exponent may have another numeric dtype (opset 12+, e.g. float ^ int64): it is converted to the base's
 * dtype into scratch first, so one kernel per base dtype serves every pair. Float uses powf, except that a
 * scalar exponent of 1, 2 or 3 (x^2 in decomposed norms) becomes multiplications. Integer powers are exact
 * by repeated squaring (wrapping on overflow); a negative integer exponent gives 0 unless |base| is 1. */
#include "ops/elementwise.h"

static void pow_f32(void *y_, const void *const *x_, const int64_t *s, int64_t n, const void *p) {
    const float *a = x_[0], *b = x_[1];
    float *y = y_;
    (void)p;
    if (!s[1]) {
        float e = b[0];
        if (s[0] && e == 2.0f) {
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] * a[i];
            return;
        }
        if (s[0] && e == 1.0f) {
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i];
            return;
        }
        if (s[0] && e == 3.0f) {
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] * a[i] * a[i];
            return;
        }
    }
    for (int64_t i = 0; i < n; i++)
        y[i] = powf(a[s[0] ? i : 0], b[s[1] ? i : 0]);
}

static inline int64_t ipow(int64_t base, int64_t e) {
    if (e < 0)
        return base == 1 ? 1 : base == -1 ? (e % 2 ? -1 : 1) : 0;
    uint64_t r = 1, x = (uint64_t)base;
    while (e) {
        if (e & 1)
            r *= x;
        x *= x;
        e >>= 1;
    }
    return (int64_t)r;
}

#define IROW(sfx, T)                                                                                         \
    static void pow_##sfx(void *y_, const void *const *x_, const int64_t *s, int64_t n, const void *p) {     \
        const T *a = x_[0], *b = x_[1];                                                                      \
        T *y = y_;                                                                                           \
        (void)p;                                                                                             \
        for (int64_t i = 0; i < n; i++)                                                                      \
            y[i] = (T)ipow(a[s[0] ? i : 0], b[s[1] ? i : 0]);                                                \
    }
IROW(i32, int32_t)
IROW(i64, int64_t)

static const struct oq_ew_kernel pow_kernels[] = {
    {OQ_DTYPE_FLOAT, pow_f32}, {OQ_DTYPE_INT32, pow_i32}, {OQ_DTYPE_INT64, pow_i64}};
enum { POW_NK = sizeof(pow_kernels) / sizeof(pow_kernels[0]) };

static oq_status pow_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status pow_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (!oq_ew_find(pow_kernels, POW_NK, a->dtype))
        return oq_ew_dtype_error(ctx, 0, pow_kernels, POW_NK);
    if (!oq_ew_cast_supported(b->dtype) || b->dtype == OQ_DTYPE_BOOL)
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 1 ('%s', the exponent) has dtype %s; Pow supports "
                           "numeric exponents",
                           b->name ? b->name : "?",
                           oq_dtype_name(b->dtype));
    int nd;
    int64_t dims[OQ_MAX_DIMS];
    OQ_TRY(oq_ew_broadcast_shape(ctx, 2, &nd, dims));
    oq_op_set_output(ctx, 0, a->dtype, nd, dims);
    return OQ_OK;
}

static oq_status pow_prepare(struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (a->dtype != b->dtype)
        ctx->scratch_bytes = (size_t)oq_tensor_numel(b) * oq_dtype_size(a->dtype);
    return OQ_OK;
}

static oq_status pow_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0];
    struct oq_tensor b        = *ctx->in[1];
    if (b.dtype != a->dtype) {
        struct oq_tensor conv = b;
        conv.dtype            = a->dtype;
        conv.data             = ctx->scratch;
        oq_ew_cast(NULL, &b, &conv);
        b = conv;
    }
    const struct oq_tensor *in[2] = {a, &b};
    oq_ew_run(ctx->pool, ctx->out[0], 2, in, oq_ew_find(pow_kernels, POW_NK, a->dtype), NULL);
    return OQ_OK;
}

const struct oq_op_def oq_op_pow = {
    .domain  = "",
    .name    = "Pow",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = pow_check,
    .infer   = pow_infer,
    .prepare = pow_prepare,
    .run     = pow_run,
};
