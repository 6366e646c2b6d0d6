/* The Reduce* engine (reduce.h). */
#include "ops/reduce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/elementwise.h"

struct reduce_plan {
    bool noop; /* identity (noop_with_empty_axes with empty axes) */
    int nd;    /* collapsed dims, >= 1 */
    int64_t dims[OQ_MAX_DIMS];
    bool red[OQ_MAX_DIMS];
    int64_t in_stride[OQ_MAX_DIMS];
    int64_t out_stride[OQ_MAX_DIMS]; /* 0 on reduced dims */
    int64_t count;                   /* input elements per output element */
};

oq_status oq_reduce_check(const struct oq_node *n, oq_error *err, int axes_input_since) {
    bool axes_input = n->opset >= axes_input_since;
    OQ_TRY(oq_check_arity(n, err, 1, axes_input ? 2 : 1, 1, 1));
    const struct oq_attr *a = oq_node_attr(n, "axes");
    if (a && (axes_input || a->type != OQ_ATTR_INTS))
        return oq_node_error(n,
                             err,
                             OQ_ERR_MODEL,
                             axes_input ? "has an 'axes' attribute, but from opset %d axes are input 1"
                                        : "attribute 'axes' must be a list of ints (opset < %d)",
                             axes_input_since);
    return OQ_OK;
}

/* Reduced-dim mask of the input; *noop when the op is an identity. */
static oq_status reduce_axes(struct oq_op_ctx *ctx, int axes_input_since, bool *red, bool *noop) {
    const struct oq_tensor *x = ctx->in[0];
    int64_t axes[OQ_MAX_DIMS];
    int na = 0;
    if (ctx->node->opset >= axes_input_since) {
        if (ctx->n_in > 1 && ctx->in[1])
            OQ_TRY(oq_op_const_ints(ctx, 1, axes, OQ_MAX_DIMS, &na));
    } else {
        const int64_t *v;
        int64_t n = oq_attr_ints(ctx->node, "axes", &v);
        if (n > OQ_MAX_DIMS)
            return oq_op_error(
                ctx, OQ_ERR_SHAPE, "has %lld axes; at most %d are supported", (long long)n, OQ_MAX_DIMS);
        for (int64_t i = 0; i < n; i++)
            axes[na++] = v[i];
    }
    *noop = na == 0 && oq_attr_int(ctx->node, "noop_with_empty_axes", 0) != 0;
    for (int d = 0; d < x->ndim; d++)
        red[d] = na == 0 && !*noop;
    for (int i = 0; i < na; i++) {
        int ax;
        OQ_TRY(oq_op_axis(ctx, axes[i], x->ndim, &ax));
        if (red[ax])
            return oq_op_error(ctx, OQ_ERR_MODEL, "axis %d is listed twice in axes", ax);
        red[ax] = true;
    }
    return OQ_OK;
}

oq_status oq_reduce_infer(struct oq_op_ctx *ctx, int axes_input_since) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_FLOAT)
        return oq_op_error(ctx,
                           OQ_ERR_UNSUPPORTED,
                           "input 0 ('%s') has dtype %s; only float is supported",
                           x->name ? x->name : "?",
                           oq_dtype_name(x->dtype));
    bool red[OQ_MAX_DIMS], noop;
    OQ_TRY(reduce_axes(ctx, axes_input_since, red, &noop));
    bool keep = oq_attr_int(ctx->node, "keepdims", 1) != 0;
    int64_t dims[OQ_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (!red[d])
            dims[nd++] = x->dims[d];
        else if (keep)
            dims[nd++] = 1;
    }
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, nd, dims);
    return OQ_OK;
}

oq_status oq_reduce_prepare(struct oq_op_ctx *ctx, int axes_input_since) {
    if (!ctx->priv && !(ctx->priv = malloc(sizeof(struct reduce_plan))))
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    struct reduce_plan *p = ctx->priv;
    memset(p, 0, sizeof(*p));
    const struct oq_tensor *x = ctx->in[0];
    bool red[OQ_MAX_DIMS];
    OQ_TRY(reduce_axes(ctx, axes_input_since, red, &p->noop));
    p->count = 1;
    int k    = -1;
    for (int d = 0; d < x->ndim; d++) {
        if (red[d])
            p->count *= x->dims[d];
        if (x->dims[d] == 1)
            continue;
        if (k >= 0 && p->red[k] == red[d]) {
            p->dims[k] *= x->dims[d];
        } else {
            k++;
            p->dims[k] = x->dims[d];
            p->red[k]  = red[d];
        }
    }
    p->nd = k + 1;
    if (p->nd == 0) { /* every dim is 1: one element in, one out */
        p->nd      = 1;
        p->dims[0] = 1;
        p->red[0]  = false;
    }
    int64_t si = 1, so = 1;
    for (int d = p->nd - 1; d >= 0; d--) {
        p->in_stride[d] = si;
        si *= p->dims[d];
        p->out_stride[d] = p->red[d] ? 0 : so;
        so *= p->red[d] ? 1 : p->dims[d];
    }
    return OQ_OK;
}

/* ---- kernels ---- */

static float row_reduce(enum oq_reduce_kind kind, const float *x, int64_t n) {
    float acc[8];
    int64_t i = 0;
    switch (kind) {
    case OQ_REDUCE_MAX:
    case OQ_REDUCE_MIN: {
        bool mx = kind == OQ_REDUCE_MAX;
        for (int k = 0; k < 8; k++)
            acc[k] = mx ? -INFINITY : INFINITY;
        if (mx) {
            for (; i + 8 <= n; i += 8)
                for (int k = 0; k < 8; k++)
                    acc[k] = x[i + k] > acc[k] ? x[i + k] : acc[k];
        } else {
            for (; i + 8 <= n; i += 8)
                for (int k = 0; k < 8; k++)
                    acc[k] = x[i + k] < acc[k] ? x[i + k] : acc[k];
        }
        float m = acc[0];
        for (int k = 1; k < 8; k++)
            m = mx ? (acc[k] > m ? acc[k] : m) : (acc[k] < m ? acc[k] : m);
        for (; i < n; i++)
            m = mx ? (x[i] > m ? x[i] : m) : (x[i] < m ? x[i] : m);
        return m;
    }
    case OQ_REDUCE_SUMSQUARE:
    case OQ_REDUCE_L2:
    case OQ_REDUCE_L1: {
        double tot = 0;
        bool sq    = kind != OQ_REDUCE_L1;
        for (int64_t b = 0; b < n; b += 4096) {
            int64_t e = n - b < 4096 ? n : b + 4096;
            for (int k = 0; k < 8; k++)
                acc[k] = 0.0f;
            for (i = b; i + 8 <= e; i += 8)
                for (int k = 0; k < 8; k++)
                    acc[k] += sq ? x[i + k] * x[i + k] : fabsf(x[i + k]);
            float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            for (; i < e; i++)
                s += sq ? x[i] * x[i] : fabsf(x[i]);
            tot += s;
        }
        return (float)tot;
    }
    default:
        return (float)oq_ew_sum_f32(x, n);
    }
}

static void col_combine(enum oq_reduce_kind kind, float *y, const float *x, int64_t n) {
    switch (kind) {
    case OQ_REDUCE_MAX:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > y[i] ? x[i] : y[i];
        break;
    case OQ_REDUCE_MIN:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] < y[i] ? x[i] : y[i];
        break;
    case OQ_REDUCE_SUMSQUARE:
    case OQ_REDUCE_L2:
        for (int64_t i = 0; i < n; i++)
            y[i] += x[i] * x[i];
        break;
    case OQ_REDUCE_L1:
        for (int64_t i = 0; i < n; i++)
            y[i] += fabsf(x[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            y[i] += x[i];
        break;
    }
}

static inline float combine1(enum oq_reduce_kind kind, float acc, float v) {
    switch (kind) {
    case OQ_REDUCE_MAX:
        return v > acc ? v : acc;
    case OQ_REDUCE_MIN:
        return v < acc ? v : acc;
    default:
        return acc + v;
    }
}

struct reduce_job {
    const struct reduce_plan *p;
    const float *x;
    float *y;
    enum oq_reduce_kind kind;
    bool split_dim0; /* else split the columns of the last (kept) dim */
};

static void reduce_task(void *arg, int ith, int nth) {
    const struct reduce_job *j  = arg;
    const struct reduce_plan *p = j->p;
    int last                    = p->nd - 1;
    int64_t lo0 = 0, hi0 = p->dims[0], c0 = 0, c1 = p->dims[last];
    if (j->split_dim0)
        oq_split(p->dims[0], ith, nth, &lo0, &hi0);
    else if (!p->red[last])
        oq_split(p->dims[last], ith, nth, &c0, &c1);
    else if (ith > 0)
        return;
    if (lo0 >= hi0 || c0 >= c1)
        return;
    int64_t idx[OQ_MAX_DIMS] = {0};
    idx[0]                   = last > 0 ? lo0 : 0;
    for (;;) {
        int64_t io = 0, oo = 0;
        for (int d = 0; d < last; d++) {
            io += idx[d] * p->in_stride[d];
            oo += idx[d] * p->out_stride[d];
        }
        if (p->red[last])
            j->y[oo] = combine1(j->kind, j->y[oo], row_reduce(j->kind, j->x + io, p->dims[last]));
        else
            col_combine(j->kind, j->y + oo + c0, j->x + io + c0, c1 - c0);
        int d = last - 1;
        for (; d >= 0; d--) {
            if (++idx[d] < (d == 0 ? hi0 : p->dims[d]))
                break;
            idx[d] = d == 0 ? lo0 : 0;
        }
        if (d < 0)
            break;
    }
}

oq_status oq_reduce_run(struct oq_op_ctx *ctx, enum oq_reduce_kind kind) {
    const struct reduce_plan *p = ctx->priv;
    const struct oq_tensor *x   = ctx->in[0];
    struct oq_tensor *out       = ctx->out[0];
    float *y                    = out->data;
    int64_t nin = oq_tensor_numel(x), nout = oq_tensor_numel(out);
    if (p->noop) {
        memcpy(y, x->data, sizeof(float) * (size_t)nin);
        return OQ_OK;
    }
    float init = kind == OQ_REDUCE_MAX ? -INFINITY : kind == OQ_REDUCE_MIN ? INFINITY : 0.0f;
    for (int64_t i = 0; i < nout; i++)
        y[i] = init;
    if (nin > 0 && nout > 0) {
        struct reduce_job j = {.p = p, .x = x->data, .y = y, .kind = kind};
        int last            = p->nd - 1;
        j.split_dim0        = p->nd > 1 && !p->red[0];
        int64_t parts       = j.split_dim0 ? p->dims[0] : !p->red[last] ? p->dims[last] / 16 : 1;
        int nth             = oq_pool_threads_for(ctx->pool, nin, 32768);
        oq_pool_run(ctx->pool, reduce_task, &j, parts < nth ? (int)(parts > 0 ? parts : 1) : nth);
    }
    if (kind == OQ_REDUCE_MEAN) {
        float s = 1.0f / (float)p->count;
        for (int64_t i = 0; i < nout; i++)
            y[i] = p->count ? y[i] * s : NAN;
    } else if (kind == OQ_REDUCE_L2) {
        for (int64_t i = 0; i < nout; i++)
            y[i] = sqrtf(y[i]);
    }
    return OQ_OK;
}
