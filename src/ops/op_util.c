/* Shared helpers for operator implementations (see op.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

static oq_status node_verror(const struct oq_node *n, oq_error *err, oq_status code, const char *fmt,
                             va_list ap) {
    if (!err)
        return code;
    char body[768];
    vsnprintf(body, sizeof(body), fmt, ap);
    return oq_errorf(err, code, "node '%s' (%s, opset %d): %s", n->name, n->op_type, n->opset, body);
}

oq_status oq_node_error(const struct oq_node *n, oq_error *err, oq_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    oq_status st = node_verror(n, err, code, fmt, ap);
    va_end(ap);
    return st;
}

oq_status oq_op_error(const struct oq_op_ctx *ctx, oq_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    oq_status st = node_verror(ctx->node, ctx->err, code, fmt, ap);
    va_end(ap);
    return st;
}

void oq_op_set_output(struct oq_op_ctx *ctx, int i, enum oq_dtype dt, int ndim, const int64_t *dims) {
    struct oq_tensor *t = ctx->out[i];
    if (!t)
        return;
    t->dtype = dt;
    t->ndim = ndim;
    for (int k = 0; k < ndim; k++)
        t->dims[k] = dims[k];
}

oq_status oq_check_arity(const struct oq_node *n, oq_error *err, int in_lo, int in_hi, int out_lo, int out_hi) {
    /* trailing absent optional inputs count as not given */
    int nin = n->n_in;
    while (nin > 0 && n->in[nin - 1] < 0)
        nin--;
    if (nin < in_lo || nin > in_hi)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has %d inputs, expected %d to %d", nin, in_lo, in_hi);
    if (n->n_out < out_lo || n->n_out > out_hi)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has %d outputs, expected %d to %d", n->n_out, out_lo,
                             out_hi);
    for (int i = 0; i < in_lo; i++)
        if (n->in[i] < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "required input %d is empty", i);
    return OQ_OK;
}

oq_status oq_op_axis(const struct oq_op_ctx *ctx, int64_t axis, int rank, int *out) {
    if (axis < -rank || axis >= (rank > 0 ? rank : 1))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "axis %lld is out of range for an input of rank %d",
                           (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return OQ_OK;
}

oq_status oq_op_const_ints(const struct oq_op_ctx *ctx, int input, int64_t *vals, int cap, int *count) {
    const struct oq_tensor *t = input < ctx->n_in ? ctx->in[input] : NULL;
    if (!t)
        return oq_op_error(ctx, OQ_ERR_MODEL, "input %d is missing", input);
    if (!t->data)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED,
                           "input %d ('%s') must be known before the run (a constant, or computed from shapes "
                           "only); data-dependent shapes are not supported",
                           input, t->name ? t->name : "?");
    if (t->dtype != OQ_DTYPE_INT64 && t->dtype != OQ_DTYPE_INT32)
        return oq_op_error(ctx, OQ_ERR_MODEL, "input %d ('%s') has dtype %s, expected int64 or int32", input,
                           t->name ? t->name : "?", oq_dtype_name(t->dtype));
    int64_t n = oq_tensor_numel(t);
    if (n > cap)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input %d ('%s') has %lld values, at most %d are supported", input,
                           t->name ? t->name : "?", (long long)n, cap);
    for (int64_t i = 0; i < n; i++)
        vals[i] = oq_tensor_get_i64(t, i);
    *count = (int)n;
    return OQ_OK;
}

void oq_bcast_init(struct oq_bcast *b, const struct oq_tensor *out, int n_in, const struct oq_tensor *const *in) {
    memset(b, 0, sizeof(*b));
    b->n_in = n_in;
    int nd = out->ndim;
    int64_t st[3][OQ_MAX_DIMS];
    for (int i = 0; i < n_in; i++) {
        const struct oq_tensor *t = in[i];
        b->same[i] = t->ndim == nd && memcmp(t->dims, out->dims, sizeof(int64_t) * (size_t)nd) == 0;
        int64_t s = 1;
        for (int d = nd - 1; d >= 0; d--) {
            int td = d - (nd - t->ndim);
            int64_t dim = td >= 0 ? t->dims[td] : 1;
            st[i][d] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    /* collapse adjacent dims where every input's stride pattern is contiguous across them */
    int k = -1;
    for (int d = 0; d < nd; d++) {
        if (out->dims[d] == 1)
            continue; /* size-1 dims contribute nothing */
        bool merge = k >= 0;
        for (int i = 0; merge && i < n_in; i++)
            merge = st[i][d] * out->dims[d] == b->strides[i][k] || (st[i][d] == 0 && b->strides[i][k] == 0);
        if (merge) {
            b->dims[k] *= out->dims[d];
            for (int i = 0; i < n_in; i++)
                b->strides[i][k] = st[i][d];
        } else {
            k++;
            b->dims[k] = out->dims[d];
            for (int i = 0; i < n_in; i++)
                b->strides[i][k] = st[i][d];
        }
    }
    b->ndim = k + 1;
    if (b->ndim == 0) { /* scalar output */
        b->ndim = 1;
        b->dims[0] = 1;
        for (int i = 0; i < n_in; i++)
            b->strides[i][0] = 0;
    }
}
