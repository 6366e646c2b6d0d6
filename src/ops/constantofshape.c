/* ConstantOfShape: a tensor of the shape given by input 0 (int64, read at plan time) filled with the
 * one-element `value` attribute (default float 0). Any dtype. */
#include <stdlib.h>
#include <string.h>

#include "ops/movement.h"

struct cos_priv {
    size_t esz;
    unsigned char value[16];
};

static oq_status cos_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
    const struct oq_attr *a = oq_node_attr(n, "value");
    if (a) {
        if (a->type != OQ_ATTR_TENSOR || !a->t)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'value' must be a tensor");
        if (oq_tensor_numel(a->t) != 1)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'value' must have exactly one element, has %lld",
                                 (long long)oq_tensor_numel(a->t));
        size_t esz = oq_dtype_size(a->t->dtype);
        if (esz == 0 || esz > 16)
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "attribute 'value' has unsupported dtype %s",
                                 oq_dtype_name(a->t->dtype));
    }
    return OQ_OK;
}

static oq_status cos_infer(struct oq_op_ctx *ctx) {
    int64_t shape[OQ_MAX_DIMS];
    int ns;
    OQ_TRY(oq_op_const_ints(ctx, 0, shape, OQ_MAX_DIMS, &ns));
    char b[160];
    for (int i = 0; i < ns; i++)
        if (shape[i] < 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 (shape) %s has a negative dim",
                               oq_mv_ints_str(ns, shape, b, sizeof(b)));
    const struct oq_attr *a = oq_node_attr(ctx->node, "value");
    oq_op_set_output(ctx, 0, a ? a->t->dtype : OQ_DTYPE_FLOAT, ns, shape);
    return OQ_OK;
}

static oq_status cos_prepare(struct oq_op_ctx *ctx) {
    struct cos_priv *p = oq_mv_priv(ctx, sizeof(*p));
    if (!p)
        return OQ_ERR_NOMEM;
    const struct oq_attr *a = oq_node_attr(ctx->node, "value");
    if (a) {
        p->esz = oq_dtype_size(a->t->dtype);
        memcpy(p->value, a->t->data, p->esz);
    } else {
        p->esz = sizeof(float);
        memset(p->value, 0, sizeof(p->value));
    }
    return OQ_OK;
}

static oq_status cos_run(struct oq_op_ctx *ctx) {
    const struct cos_priv *p = ctx->priv;
    struct oq_tensor *y = ctx->out[0];
    int64_t n = oq_tensor_numel(y);
    char *d = y->data;
    bool zero = true;
    for (size_t k = 0; k < p->esz; k++)
        zero = zero && p->value[k] == 0;
    if (zero) {
        memset(d, 0, (size_t)n * p->esz);
        return OQ_OK;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy(d + (size_t)i * p->esz, p->value, p->esz);
    return OQ_OK;
}

const struct oq_op_def oq_op_constantofshape = {
    .domain  = "",
    .name    = "ConstantOfShape",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = cos_check,
    .infer   = cos_infer,
    .prepare = cos_prepare,
    .run     = cos_run,
    .destroy = free,
};
