/* Clip: y = min(max(x, lo), hi). Before opset 11 the bounds are the attributes min/max; from 11 they are the
 * optional scalar inputs 1 and 2 (absent = unbounded), read at run time so they may be computed values.
 * When lo > hi every output is hi, as the spec says. Float uses the session's activation kernel; the
 * integer types (opset 12+) clamp in int64 space so the default bounds never wrap. */
#include <float.h>
#include <stdlib.h>

#include "ops/elementwise.h"

struct clip_ibounds {
    int64_t lo, hi;
};

#define IROW(sfx, T, DT)                                                                                     \
    static void clip_##sfx(void *y_, const void *const *x_, const int64_t *s_, int64_t n, const void *p_) {  \
        const struct clip_ibounds *b = p_;                                                                   \
        const T *x                   = x_[0];                                                                \
        T *y                         = y_;                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                                    \
            int64_t v = x[s_[0] ? i : 0];                                                                    \
            v         = v < b->lo ? b->lo : v;                                                               \
            y[i]      = (T)(v > b->hi ? b->hi : v);                                                          \
        }                                                                                                    \
    }
OQ_EW_SINT_TYPES(IROW)
IROW(u8, uint8_t, OQ_DTYPE_UINT8)
IROW(u16, uint16_t, OQ_DTYPE_UINT16)
IROW(u32, uint32_t, OQ_DTYPE_UINT32)
#define ENTRY(sfx, T, DT) {DT, clip_##sfx},
static const struct oq_ew_kernel clip_int_kernels[] = {OQ_EW_SINT_TYPES(ENTRY){OQ_DTYPE_UINT8, clip_u8},
                                                       {OQ_DTYPE_UINT16, clip_u16},
                                                       {OQ_DTYPE_UINT32, clip_u32}};
enum { CLIP_NK = sizeof(clip_int_kernels) / sizeof(clip_int_kernels[0]) };

static oq_status clip_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->opset < 11) {
        OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
        const char *names[] = {"min", "max"};
        for (int i = 0; i < 2; i++) {
            const struct oq_attr *a = oq_node_attr(n, names[i]);
            if (a && a->type != OQ_ATTR_FLOAT)
                return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' must be a float", names[i]);
        }
        return OQ_OK;
    }
    return oq_check_arity(n, err, 1, 3, 1, 1);
}

static oq_status clip_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT && !oq_ew_find(clip_int_kernels, CLIP_NK, x->dtype))
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 0 ('%s') has dtype %s; Clip supports float, int8..int64 and uint8..uint32",
                           x->name ? x->name : "?",
                           oq_dtype_name(x->dtype));
    for (int i = 1; i < ctx->n_in && i < 3; i++) {
        const struct oq_tensor *b = ctx->in[i];
        if (!b)
            continue;
        if (b->dtype != x->dtype)
            return oq_op_error(ctx,
                               OQ_ERR_SHAPE,
                               "input %d ('%s', the %s bound) has dtype %s, input 0 has %s",
                               i,
                               b->name ? b->name : "?",
                               i == 1 ? "min" : "max",
                               oq_dtype_name(b->dtype),
                               oq_dtype_name(x->dtype));
        if (oq_tensor_numel(b) != 1)
            return oq_op_error(ctx,
                               OQ_ERR_SHAPE,
                               "input %d ('%s', the %s bound) must be a scalar, it has %lld "
                               "elements",
                               i,
                               b->name ? b->name : "?",
                               i == 1 ? "min" : "max",
                               (long long)oq_tensor_numel(b));
    }
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, x->dims);
    return OQ_OK;
}

/* Attribute bounds (opset < 11) are read once here; input bounds are read by run. */
static oq_status clip_prepare(struct oq_op_ctx *ctx) {
    if (!ctx->priv && !(ctx->priv = malloc(sizeof(struct oq_act))))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    float p[2] = {-FLT_MAX, FLT_MAX};
    if (ctx->node->opset < 11) {
        p[0] = oq_attr_float(ctx->node, "min", -FLT_MAX);
        p[1] = oq_attr_float(ctx->node, "max", FLT_MAX);
    }
    oq_act_init(ctx->priv, OQ_ACT_CLIP, p, 2);
    return OQ_OK;
}

static oq_status clip_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x  = ctx->in[0];
    const struct oq_tensor *lo = ctx->n_in > 1 ? ctx->in[1] : NULL, *hi = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (x->dtype == OQ_DTYPE_FLOAT) {
        struct oq_act act = *(const struct oq_act *)ctx->priv;
        if (lo)
            act.a = *(const float *)lo->data;
        if (hi)
            act.b = *(const float *)hi->data;
        return oq_ew_act_run(ctx, &act);
    }
    struct clip_ibounds b = {INT64_MIN, INT64_MAX};
    if (lo)
        b.lo = oq_tensor_get_i64(lo, 0);
    if (hi)
        b.hi = oq_tensor_get_i64(hi, 0);
    oq_ew_run(ctx->pool,
              ctx->out[0],
              1,
              (const struct oq_tensor *const *)ctx->in,
              oq_ew_find(clip_int_kernels, CLIP_NK, x->dtype),
              &b);
    return OQ_OK;
}

const struct oq_op_def oq_op_clip = {
    .domain  = "",
    .name    = "Clip",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = clip_check,
    .infer   = clip_infer,
    .prepare = clip_prepare,
    .run     = clip_run,
    .destroy = free,
};
