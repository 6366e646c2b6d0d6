/* QTable2 (com.onnxq): y = table[a * 256 + b] elementwise on two broadcast uint8 tensors, made by the session's
 * INT8 lowering (exec/lower_table.c) from DequantizeLinear x2 -> binary float op (Mul, Sub, Div, Max, Min) ->
 * QuantizeLinear. The 64 KiB table is the float simulation evaluated on all 65536 code pairs, so the lowered
 * op gives exactly the integers of the QDQ graph it replaces.
 *
 *   inputs 0 a (uint8), 1 b (uint8)
 *   attribute table (tensor uint8 [65536], row a, column b)
 *   attribute rank (int, default 0): the output has at least this rank (see QLut)
 *
 * The common squeeze-excite shape [N,C,H,W] x [N,C,1,1] reaches the row kernel as rows where b is constant:
 * there one column of the table is a 256-entry lookup, read from a transposed copy made at prepare. */
#include <stdlib.h>

#include "kernels/dispatch.h"
#include "ops/elementwise.h"

struct qt_priv {
    const uint8_t *t; /* [a][b] */
    oq_lut_u8_fn lut; /* rows where one input is constant are 256-entry lookups */
    uint8_t tt[65536]; /* [b][a] */
};

static oq_status qt_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 2, 1, 1));
    const struct oq_attr *a = oq_node_attr(n, "table");
    if (!a || a->type != OQ_ATTR_TENSOR || !a->t || a->t->dtype != OQ_DTYPE_UINT8 ||
        oq_tensor_numel(a->t) != 65536)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'table' must be a uint8 tensor of 65536 values");
    return OQ_OK;
}

static oq_status qt_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (a->dtype != OQ_DTYPE_UINT8 || b->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "inputs must be uint8 (got %s, %s)", oq_dtype_name(a->dtype),
                           oq_dtype_name(b->dtype));
    int64_t rank = oq_attr_int(ctx->node, "rank", 0);
    if (rank < 0 || rank > OQ_MAX_DIMS)
        return oq_op_error(ctx, OQ_ERR_MODEL, "rank %lld out of range", (long long)rank);
    int nd;
    int64_t dims[OQ_MAX_DIMS];
    OQ_TRY(oq_ew_broadcast_shape(ctx, 2, &nd, dims));
    if (nd < rank) {
        int off = (int)rank - nd;
        memmove(dims + off, dims, sizeof(int64_t) * (size_t)nd);
        for (int d = 0; d < off; d++)
            dims[d] = 1;
        nd = (int)rank;
    }
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, nd, dims);
    return OQ_OK;
}

static oq_status qt_prepare(struct oq_op_ctx *ctx) {
    if (ctx->priv)
        return OQ_OK;
    struct qt_priv *p = malloc(sizeof(*p));
    if (!p)
        return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory");
    p->t = oq_node_attr(ctx->node, "table")->t->data;
    p->lut = ctx->kernels->lut_u8;
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++)
            p->tt[b * 256 + a] = p->t[a * 256 + b];
    ctx->priv = p;
    return OQ_OK;
}

static void qt_row(void *yv, const void *const *xv, const int64_t *s, int64_t n, const void *params) {
    const struct qt_priv *p = params;
    const uint8_t *a = xv[0], *b = xv[1];
    uint8_t *y = yv;
    if (s[0] && s[1]) {
        for (int64_t i = 0; i < n; i++)
            y[i] = p->t[a[i] << 8 | b[i]];
    } else if (s[0]) { /* b constant along the row: one column */
        p->lut(p->tt + (b[0] << 8), a, y, n);
    } else if (s[1]) { /* a constant: one row */
        p->lut(p->t + (a[0] << 8), b, y, n);
    } else {
        memset(y, p->t[a[0] << 8 | b[0]], (size_t)n);
    }
}

static oq_status qt_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *in[2] = {ctx->in[0], ctx->in[1]};
    oq_ew_run(ctx->pool, ctx->out[0], 2, in, qt_row, ctx->priv);
    return OQ_OK;
}

const struct oq_op_def oq_op_qtable2 = {
    .domain  = "com.onnxq",
    .name    = "QTable2",
    .since   = 1,
    .until   = 1,
    .check   = qt_check,
    .infer   = qt_infer,
    .prepare = qt_prepare,
    .run     = qt_run,
    .destroy = free,
};
