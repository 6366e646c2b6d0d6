/* QLut (com.onnxq): y = table[x] elementwise on uint8, made by the session's INT8 lowering
 * (exec/lower_table.c) from DequantizeLinear -> float elementwise op(s) -> QuantizeLinear. The table holds the
 * float simulation evaluated on all 256 codes, so the lowered op gives exactly the integers of the QDQ
 * graph it replaces (Sigmoid, HardSwish, Clip, Mul by a constant, ... and chains of them composed).
 *
 *   input 0 x (uint8)
 *   attribute table (tensor uint8 [256])
 *   attribute rank (int, default 0): the output has at least this rank (leading 1s), as the constants the
 *            replaced ops broadcast against would give it. */
#include "kernels/dispatch.h"
#include "ops/elementwise.h"

static oq_status lut_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    const struct oq_attr *a = oq_node_attr(n, "table");
    if (!a || a->type != OQ_ATTR_TENSOR || !a->t || a->t->dtype != OQ_DTYPE_UINT8 || oq_tensor_numel(a->t) != 256)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'table' must be a uint8 tensor of 256 values");
    return OQ_OK;
}

/* x's shape with leading 1s up to rank `rank` (shared with QTable2's infer through oq_ew_broadcast_shape) */
static oq_status lut_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    if (x->dtype != OQ_DTYPE_UINT8)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "x must be uint8 (got %s)", oq_dtype_name(x->dtype));
    int64_t rank = oq_attr_int(ctx->node, "rank", 0);
    if (rank < 0 || rank > OQ_MAX_DIMS)
        return oq_op_error(ctx, OQ_ERR_MODEL, "rank %lld out of range", (long long)rank);
    int64_t dims[OQ_MAX_DIMS];
    int nd = x->ndim > rank ? x->ndim : (int)rank, off = nd - x->ndim;
    for (int d = 0; d < nd; d++)
        dims[d] = d < off ? 1 : x->dims[d - off];
    oq_op_set_output(ctx, 0, OQ_DTYPE_UINT8, nd, dims);
    return OQ_OK;
}

struct lut_args {
    const uint8_t *table;
    oq_lut_u8_fn lut;
};

static void lut_row(void *y, const void *const *x, const int64_t *s, int64_t n, const void *params) {
    const struct lut_args *a = params;
    const uint8_t *xb = x[0];
    if (s[0] == 0)
        memset(y, a->table[xb[0]], (size_t)n);
    else
        a->lut(a->table, xb, y, n);
}

static oq_status lut_run(struct oq_op_ctx *ctx) {
    const struct oq_tensor *in[1] = {ctx->in[0]};
    struct lut_args a = {oq_node_attr(ctx->node, "table")->t->data, ctx->kernels->lut_u8};
    oq_ew_run(ctx->pool, ctx->out[0], 1, in, lut_row, &a);
    return OQ_OK;
}

const struct oq_op_def oq_op_qlut = {
    .domain = "com.onnxq",
    .name   = "QLut",
    .since  = 1,
    .until  = 1,
    .check  = lut_check,
    .infer  = lut_infer,
    .run    = lut_run,
};
