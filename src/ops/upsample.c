/* Upsample (deprecated in opset 10 in favour of Resize): scales as an attribute (opset 7-8) or input 1
 * (opset 9+); mode nearest or linear ("bilinear" accepted). Coordinates are asymmetric and nearest truncates,
 * as in ONNX Runtime; output size floor(in * scale). Runs on the Resize engine (resize.h). */
#include <math.h>
#include <string.h>

#include "ops/movement.h"
#include "ops/resize.h"

static oq_status upsample_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    if (n->opset >= 9) {
        OQ_TRY(oq_check_arity(n, err, 2, 2, 1, 1));
    } else {
        OQ_TRY(oq_check_arity(n, err, 1, 1, 1, 1));
        const float *v;
        if (oq_attr_floats(n, "scales", &v) < 0)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'scales' is required before opset 9");
    }
    const char *m = oq_attr_string(n, "mode", "nearest");
    if (strcmp(m, "nearest") && strcmp(m, "linear") && strcmp(m, "bilinear"))
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "mode '%s' is not supported (nearest, linear)", m);
    return OQ_OK;
}

static oq_status upsample_params(struct oq_op_ctx *ctx, struct oq_resize_params *p) {
    const struct oq_tensor *x = ctx->in[0];
    int r = x->ndim;
    memset(p, 0, sizeof(*p));
    p->mode = strcmp(oq_attr_string(ctx->node, "mode", "nearest"), "nearest") ? OQ_RESIZE_LINEAR : OQ_RESIZE_NEAREST;
    p->ctm = OQ_CTM_ASYMMETRIC;
    p->nearest = OQ_NEAREST_SIMPLE;
    p->rank = r;
    if (r < 1)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 is a scalar; Upsample needs rank >= 1");
    double sc[OQ_MAX_DIMS];
    int ns;
    if (ctx->node->opset >= 9) {
        OQ_TRY(oq_mv_const_floats(ctx, 1, sc, OQ_MAX_DIMS, &ns));
    } else {
        const float *v;
        int64_t c = oq_attr_floats(ctx->node, "scales", &v);
        if (c > OQ_MAX_DIMS)
            c = OQ_MAX_DIMS + 1;
        for (ns = 0; ns < c && ns < OQ_MAX_DIMS; ns++)
            sc[ns] = v[ns];
        ns = (int)c;
    }
    char xs[160];
    if (ns != r)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "scales has %d values, expected %d for input 0 of shape %s", ns, r,
                           oq_shape_str(r, x->dims, xs, sizeof(xs)));
    for (int d = 0; d < r; d++) {
        if (!(sc[d] > 0) || !isfinite(sc[d]))
            return oq_op_error(ctx, OQ_ERR_SHAPE, "scales[%d] = %g must be positive", d, sc[d]);
        p->scale[d] = sc[d];
        p->out[d] = (int64_t)floor(sc[d] * (double)x->dims[d]);
    }
    return oq_resize_check_dtype(ctx, p);
}

static oq_status upsample_infer(struct oq_op_ctx *ctx) {
    struct oq_resize_params p;
    OQ_TRY(upsample_params(ctx, &p));
    oq_op_set_output(ctx, 0, ctx->in[0]->dtype, p.rank, p.out);
    return OQ_OK;
}

static oq_status upsample_prepare(struct oq_op_ctx *ctx) {
    struct oq_resize_params p;
    OQ_TRY(upsample_params(ctx, &p));
    return oq_resize_prepare(ctx, &p);
}

const struct oq_op_def oq_op_upsample = {
    .domain  = "",
    .name    = "Upsample",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = upsample_check,
    .infer   = upsample_infer,
    .prepare = upsample_prepare,
    .run     = oq_resize_run,
    .destroy = oq_resize_destroy,
};
