/* The broadcast driver, activation and cast machinery of elementwise.h. */
#include "ops/elementwise.h"

#include <stdio.h>
#include <stdlib.h>

#include "kernels/dispatch.h"

/* ---- broadcast driver ---- */

struct ew_job {
    struct oq_bcast b;
    int n_in;
    const char *in[3];
    size_t in_es[3];
    char *out;
    size_t out_es;
    int64_t total;
    oq_ew_row_fn fn;
    const void *params;
};

/* Each thread takes a contiguous range of output elements and walks it row by row (a row is the innermost
 * collapsed dim), so the split is balanced even when there is only one long row. */
static void ew_task(void *arg, int ith, int nth) {
    const struct ew_job *j   = arg;
    const struct oq_bcast *b = &j->b;
    int64_t beg, end;
    oq_split(j->total, ith, nth, &beg, &end);
    if (beg >= end)
        return;
    int nd        = b->ndim;
    int64_t inner = b->dims[nd - 1];
    int64_t row = beg / inner, col = beg % inner;
    int64_t idx[OQ_MAX_DIMS] = {0};
    for (int d = nd - 2; d >= 0; d--) {
        idx[d] = row % b->dims[d];
        row /= b->dims[d];
    }
    int64_t s_inner[3] = {0, 0, 0};
    for (int k = 0; k < j->n_in; k++)
        s_inner[k] = b->strides[k][nd - 1];
    for (int64_t pos = beg; pos < end;) {
        int64_t len = inner - col;
        if (len > end - pos)
            len = end - pos;
        const void *px[3] = {NULL, NULL, NULL};
        for (int k = 0; k < j->n_in; k++) {
            int64_t off = col * s_inner[k];
            for (int d = 0; d < nd - 1; d++)
                off += idx[d] * b->strides[k][d];
            px[k] = j->in[k] + (size_t)off * j->in_es[k];
        }
        j->fn(j->out + (size_t)pos * j->out_es, px, s_inner, len, j->params);
        pos += len;
        col = 0;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < b->dims[d])
                break;
            idx[d] = 0;
        }
    }
}

void oq_ew_run(struct oq_pool *pool,
               struct oq_tensor *out,
               int n_in,
               const struct oq_tensor *const *in,
               oq_ew_row_fn fn,
               const void *params) {
    struct ew_job j;
    j.total = oq_tensor_numel(out);
    if (j.total <= 0)
        return;
    oq_bcast_init(&j.b, out, n_in, in);
    j.n_in = n_in;
    for (int k = 0; k < n_in; k++) {
        j.in[k]    = in[k]->data;
        j.in_es[k] = oq_dtype_size(in[k]->dtype);
    }
    j.out    = out->data;
    j.out_es = oq_dtype_size(out->dtype);
    j.fn     = fn;
    j.params = params;
    oq_pool_run(pool, ew_task, &j, oq_pool_threads_for(pool, j.total, 16384));
}

/* ---- shape / dtype helpers ---- */

oq_ew_row_fn oq_ew_find(const struct oq_ew_kernel *k, int nk, enum oq_dtype dt) {
    for (int i = 0; i < nk; i++)
        if (k[i].dtype == dt)
            return k[i].fn;
    return NULL;
}

static const char *in_name(const struct oq_op_ctx *ctx, int i) {
    const struct oq_tensor *t = ctx->in[i];
    return t && t->name ? t->name : "?";
}

oq_status oq_ew_dtype_error(const struct oq_op_ctx *ctx, int input, const struct oq_ew_kernel *k, int nk) {
    char list[256];
    size_t len = 0;
    list[0]    = 0;
    for (int i = 0; i < nk && len < sizeof(list); i++)
        len += (size_t)snprintf(
            list + len, sizeof(list) - len, "%s%s", i ? ", " : "", oq_dtype_name(k[i].dtype));
    return oq_op_error(ctx,
                       OQ_ERR_UNSUPPORTED,
                       "input %d ('%s') has dtype %s; %s supports %s",
                       input,
                       in_name(ctx, input),
                       oq_dtype_name(ctx->in[input]->dtype),
                       ctx->node->op_type,
                       list);
}

oq_status oq_ew_broadcast_shape(const struct oq_op_ctx *ctx, int n_in, int *ndim, int64_t *dims) {
    int nd = 0;
    int64_t d[OQ_MAX_DIMS];
    bool ok = true;
    for (int i = 0; i < n_in && ok; i++) {
        const struct oq_tensor *t = ctx->in[i];
        if (!t)
            continue;
        int64_t tmp[OQ_MAX_DIMS];
        int nt;
        ok = oq_broadcast_shape(nd, d, t->ndim, t->dims, &nt, tmp);
        if (ok) {
            nd = nt;
            memcpy(d, tmp, sizeof(int64_t) * (size_t)nt);
        }
    }
    if (!ok) {
        char msg[512], sh[128];
        size_t len = 0;
        msg[0]     = 0;
        int shown  = 0;
        for (int i = 0; i < n_in; i++) {
            const struct oq_tensor *t = ctx->in[i];
            if (!t || len >= sizeof(msg))
                continue;
            oq_shape_str(t->ndim, t->dims, sh, sizeof(sh));
            len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s", shown ? " and " : "", sh);
            shown++;
        }
        return oq_op_error(
            ctx,
            OQ_ERR_SHAPE,
            "inputs have shapes %s, which do not broadcast (numpy rules: trailing dims must be "
            "equal or 1)",
            msg);
    }
    *ndim = nd;
    memcpy(dims, d, sizeof(int64_t) * (size_t)nd);
    return OQ_OK;
}

oq_status oq_ew_same_dtype(const struct oq_op_ctx *ctx, int a, int b) {
    if (ctx->in[a]->dtype == ctx->in[b]->dtype)
        return OQ_OK;
    return oq_op_error(
        ctx,
        OQ_ERR_SHAPE,
        "input %d ('%s') has dtype %s but input %d ('%s') has dtype %s; they must match (insert a "
        "Cast)",
        a,
        in_name(ctx, a),
        oq_dtype_name(ctx->in[a]->dtype),
        b,
        in_name(ctx, b),
        oq_dtype_name(ctx->in[b]->dtype));
}

static const struct oq_tensor *const *cin(const struct oq_op_ctx *ctx) {
    return (const struct oq_tensor *const *)ctx->in;
}

oq_status oq_ew_unary_infer(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk) {
    const struct oq_tensor *x = ctx->in[0];
    if (!oq_ew_find(k, nk, x->dtype))
        return oq_ew_dtype_error(ctx, 0, k, nk);
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, x->dims);
    return OQ_OK;
}

oq_status oq_ew_unary_run(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk) {
    oq_ew_row_fn fn = oq_ew_find(k, nk, ctx->in[0]->dtype);
    if (!fn)
        return oq_ew_dtype_error(ctx, 0, k, nk);
    oq_ew_run(ctx->pool, ctx->out[0], 1, cin(ctx), fn, NULL);
    return OQ_OK;
}

oq_status
oq_ew_binary_infer(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk, enum oq_dtype out_dtype) {
    OQ_TRY(oq_ew_same_dtype(ctx, 0, 1));
    if (!oq_ew_find(k, nk, ctx->in[0]->dtype))
        return oq_ew_dtype_error(ctx, 0, k, nk);
    int nd;
    int64_t dims[OQ_MAX_DIMS];
    OQ_TRY(oq_ew_broadcast_shape(ctx, 2, &nd, dims));
    oq_op_set_output(ctx, 0, out_dtype == OQ_DTYPE_UNDEFINED ? ctx->in[0]->dtype : out_dtype, nd, dims);
    return OQ_OK;
}

oq_status oq_ew_binary_run(struct oq_op_ctx *ctx, const struct oq_ew_kernel *k, int nk) {
    oq_ew_row_fn fn = oq_ew_find(k, nk, ctx->in[0]->dtype);
    if (!fn)
        return oq_ew_dtype_error(ctx, 0, k, nk);
    oq_ew_run(ctx->pool, ctx->out[0], 2, cin(ctx), fn, NULL);
    return OQ_OK;
}

/* ---- activations ---- */

struct ew_act {
    struct oq_act act;
    oq_act_row_fn row;
};

/* act_row works in place, so copy a cache-sized block into y and activate it there while it is hot. */
static void act_row(void *y, const void *const *x, const int64_t *s, int64_t n, const void *params) {
    const struct ew_act *p = params;
    const float *px        = x[0];
    float *py              = y;
    if (!s[0]) {
        float v = oq_act_apply1(&p->act, px[0]);
        for (int64_t i = 0; i < n; i++)
            py[i] = v;
        return;
    }
    enum { BLOCK = 4096 };
    for (int64_t i = 0; i < n; i += BLOCK) {
        int64_t m = n - i < BLOCK ? n - i : BLOCK;
        if (py + i != px + i)
            memcpy(py + i, px + i, sizeof(float) * (size_t)m);
        p->row(&p->act, 0.0f, py + i, m);
    }
}

oq_status oq_ew_act_infer(struct oq_op_ctx *ctx) {
    static const struct oq_ew_kernel f32_only[] = {{OQ_DTYPE_FLOAT, act_row}};
    return oq_ew_unary_infer(ctx, f32_only, 1);
}

oq_status oq_ew_act_run(struct oq_op_ctx *ctx, const struct oq_act *act) {
    struct ew_act p = {.act = *act,
                       .row = ctx->kernels && ctx->kernels->act_row ? ctx->kernels->act_row : oq_act_row_ref};
    oq_ew_run(ctx->pool, ctx->out[0], 1, cin(ctx), act_row, &p);
    return OQ_OK;
}

oq_status oq_ew_act_prepare(struct oq_op_ctx *ctx, const struct oq_act *act) {
    if (!ctx->priv) {
        ctx->priv = malloc(sizeof(struct oq_act));
        if (!ctx->priv)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    }
    memcpy(ctx->priv, act, sizeof(*act));
    return OQ_OK;
}

oq_status oq_ew_act_run_prepared(struct oq_op_ctx *ctx) {
    return oq_ew_act_run(ctx, ctx->priv);
}

/* ---- cast ---- */

bool oq_ew_cast_supported(enum oq_dtype dt) {
    switch (dt) {
    case OQ_DTYPE_FLOAT:
    case OQ_DTYPE_DOUBLE:
    case OQ_DTYPE_FLOAT16:
    case OQ_DTYPE_BFLOAT16:
    case OQ_DTYPE_BOOL:
    case OQ_DTYPE_INT8:
    case OQ_DTYPE_INT16:
    case OQ_DTYPE_INT32:
    case OQ_DTYPE_INT64:
    case OQ_DTYPE_UINT8:
    case OQ_DTYPE_UINT16:
    case OQ_DTYPE_UINT32:
    case OQ_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

/* Elements pass through one of two canonical forms per block: int64 bits (integers and bool, uint64 kept
 * as its bit pattern) or double (floating types). */
enum { CAST_BLOCK = 256 };

struct cast_job {
    const struct oq_tensor *x;
    struct oq_tensor *y;
    int64_t n;
};

static bool cast_load(enum oq_dtype dt, const void *src, int64_t n, int64_t *iv, double *fv) {
#define LOAD_I(T)                                                                                            \
    for (int64_t i = 0; i < n; i++)                                                                          \
        iv[i] = (int64_t)((const T *)src)[i];                                                                \
    return true;
    switch (dt) {
    case OQ_DTYPE_BOOL:
        for (int64_t i = 0; i < n; i++)
            iv[i] = ((const uint8_t *)src)[i] != 0;
        return true;
    case OQ_DTYPE_INT8:
        LOAD_I(int8_t)
    case OQ_DTYPE_INT16:
        LOAD_I(int16_t)
    case OQ_DTYPE_INT32:
        LOAD_I(int32_t)
    case OQ_DTYPE_INT64:
        LOAD_I(int64_t)
    case OQ_DTYPE_UINT8:
        LOAD_I(uint8_t)
    case OQ_DTYPE_UINT16:
        LOAD_I(uint16_t)
    case OQ_DTYPE_UINT32:
        LOAD_I(uint32_t)
    case OQ_DTYPE_UINT64:
        LOAD_I(uint64_t) /* bits; conversion to int64 is implementation-defined (wraps) */
    case OQ_DTYPE_FLOAT:
        for (int64_t i = 0; i < n; i++)
            fv[i] = ((const float *)src)[i];
        return false;
    case OQ_DTYPE_DOUBLE:
        memcpy(fv, src, sizeof(double) * (size_t)n);
        return false;
    case OQ_DTYPE_FLOAT16:
        for (int64_t i = 0; i < n; i++)
            fv[i] = oq_half_to_float(((const uint16_t *)src)[i]);
        return false;
    case OQ_DTYPE_BFLOAT16:
        for (int64_t i = 0; i < n; i++)
            fv[i] = oq_bf16_to_float(((const uint16_t *)src)[i]);
        return false;
    default:
        memset(iv, 0, sizeof(int64_t) * (size_t)n);
        return true;
    }
#undef LOAD_I
}

/* float -> integer: truncate toward zero; NaN -> 0; beyond int64 saturates (uint64 keeps [2^63, 2^64)). */
static inline int64_t cast_f2i(double v, bool to_u64) {
    if (v != v)
        return 0;
    if (to_u64 && v >= 9223372036854775808.0)
        return v >= 18446744073709551616.0 ? -1 : (int64_t)(uint64_t)v;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static void
cast_store(enum oq_dtype dt, void *dst, int64_t n, bool is_int, bool src_u64, int64_t *iv, const double *fv) {
    bool dst_int =
        dt != OQ_DTYPE_FLOAT && dt != OQ_DTYPE_DOUBLE && dt != OQ_DTYPE_FLOAT16 && dt != OQ_DTYPE_BFLOAT16;
    if (dst_int && !is_int) {
        if (dt == OQ_DTYPE_BOOL) {
            for (int64_t i = 0; i < n; i++)
                ((uint8_t *)dst)[i] = fv[i] != 0.0;
            return;
        }
        for (int64_t i = 0; i < n; i++)
            iv[i] = cast_f2i(fv[i], dt == OQ_DTYPE_UINT64);
        is_int  = true;
        src_u64 = false;
    }
#define STORE_I(T)                                                                                           \
    for (int64_t i = 0; i < n; i++)                                                                          \
        ((T *)dst)[i] = (T)(uint64_t)iv[i];                                                                  \
    return;
#define STORE_F(T, CONV)                                                                                     \
    if (is_int) {                                                                                            \
        for (int64_t i = 0; i < n; i++) {                                                                    \
            double v      = src_u64 ? (double)(uint64_t)iv[i] : (double)iv[i];                               \
            ((T *)dst)[i] = CONV(v);                                                                         \
        }                                                                                                    \
    } else {                                                                                                 \
        for (int64_t i = 0; i < n; i++)                                                                      \
            ((T *)dst)[i] = CONV(fv[i]);                                                                     \
    }                                                                                                        \
    return;
#define CONV_F32(v) ((float)(v))
#define CONV_F64(v) (v)
#define CONV_F16(v) oq_float_to_half((float)(v))
#define CONV_BF16(v) oq_float_to_bf16((float)(v))
    switch (dt) {
    case OQ_DTYPE_BOOL:
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)dst)[i] = iv[i] != 0;
        return;
    case OQ_DTYPE_INT8:
        STORE_I(int8_t)
    case OQ_DTYPE_INT16:
        STORE_I(int16_t)
    case OQ_DTYPE_INT32:
        STORE_I(int32_t)
    case OQ_DTYPE_INT64:
        STORE_I(int64_t)
    case OQ_DTYPE_UINT8:
        STORE_I(uint8_t)
    case OQ_DTYPE_UINT16:
        STORE_I(uint16_t)
    case OQ_DTYPE_UINT32:
        STORE_I(uint32_t)
    case OQ_DTYPE_UINT64:
        STORE_I(uint64_t)
    case OQ_DTYPE_FLOAT:
        STORE_F(float, CONV_F32)
    case OQ_DTYPE_DOUBLE:
        STORE_F(double, CONV_F64)
    case OQ_DTYPE_FLOAT16:
        STORE_F(uint16_t, CONV_F16)
    case OQ_DTYPE_BFLOAT16:
        STORE_F(uint16_t, CONV_BF16)
    default:
        return;
    }
#undef STORE_I
#undef STORE_F
#undef CONV_F32
#undef CONV_F64
#undef CONV_F16
#undef CONV_BF16
}

static void cast_task(void *arg, int ith, int nth) {
    const struct cast_job *j = arg;
    int64_t beg, end;
    oq_split(j->n, ith, nth, &beg, &end);
    enum oq_dtype sdt = j->x->dtype, ddt = j->y->dtype;
    size_t ses = oq_dtype_size(sdt), des = oq_dtype_size(ddt);
    int64_t iv[CAST_BLOCK];
    double fv[CAST_BLOCK];
    for (int64_t i = beg; i < end; i += CAST_BLOCK) {
        int64_t m   = end - i < CAST_BLOCK ? end - i : CAST_BLOCK;
        bool is_int = cast_load(sdt, (const char *)j->x->data + (size_t)i * ses, m, iv, fv);
        cast_store(ddt, (char *)j->y->data + (size_t)i * des, m, is_int, sdt == OQ_DTYPE_UINT64, iv, fv);
    }
}

void oq_ew_cast(struct oq_pool *pool, const struct oq_tensor *x, struct oq_tensor *y) {
    int64_t n = oq_tensor_numel(x);
    if (n <= 0)
        return;
    if (x->dtype == y->dtype) {
        if (x->data != y->data)
            memcpy(y->data, x->data, (size_t)n * oq_dtype_size(x->dtype));
        return;
    }
    struct cast_job j = {.x = x, .y = y, .n = n};
    oq_pool_run(pool, cast_task, &j, oq_pool_threads_for(pool, n, 16384));
}

/* ---- exp ---- */

void oq_ew_exp_row(float *y, const float *x, int64_t n, float shift) {
    struct oq_expf_bounds b;
    oq_expf_bounds_init(b);
    for (int64_t i = 0; i < n; i++)
        y[i] = oq_expf_b(x[i] - shift, b);
}

/* ---- reductions ---- */

static float sum8(const float *x, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i    = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += x[i + k];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += x[i];
    return s;
}

double oq_ew_sum_f32(const float *x, int64_t n) {
    enum { BLOCK = 4096 };
    double s = 0;
    for (int64_t i = 0; i < n; i += BLOCK)
        s += sum8(x + i, n - i < BLOCK ? n - i : BLOCK);
    return s;
}
