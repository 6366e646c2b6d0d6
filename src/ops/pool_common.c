/* Pooling window geometry; see pool_common.h. */
#include "ops/pool_common.h"

#include <string.h>

#include "ops/movement.h"

oq_status oq_pool_geom_check(const struct oq_node *n, oq_error *err, bool has_dilations) {
    const int64_t *k;
    int64_t nk = oq_attr_ints(n, "kernel_shape", &k);
    if (nk < 1 || nk > 3)
        return oq_node_error(n, err, nk < 0 ? OQ_ERR_MODEL : OQ_ERR_UNSUPPORTED,
                             nk < 0 ? "attribute 'kernel_shape' is required"
                                    : "kernel_shape must have 1 to 3 entries (1-D to 3-D pooling)");
    OQ_TRY(oq_mv_check_ints_range(n, err, "kernel_shape", 1, INT32_MAX));
    OQ_TRY(oq_mv_check_ints_range(n, err, "strides", 1, INT32_MAX));
    OQ_TRY(oq_mv_check_ints_range(n, err, "pads", 0, INT32_MAX));
    if (has_dilations)
        OQ_TRY(oq_mv_check_ints_range(n, err, "dilations", 1, INT32_MAX));
    else if (oq_node_attr(n, "dilations"))
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'dilations' is not defined for opset %d", n->opset);
    const char *names[3] = {"strides", "dilations", "pads"};
    for (int i = 0; i < 3; i++) {
        const int64_t *v;
        int64_t c = oq_attr_ints(n, names[i], &v);
        int64_t want = i == 2 ? 2 * nk : nk;
        if (c >= 0 && c != want)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' has %lld entries, expected %lld", names[i],
                                 (long long)c, (long long)want);
    }
    const char *ap = oq_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER") && strcmp(ap, "VALID"))
        return oq_node_error(n, err, OQ_ERR_MODEL, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID",
                             ap);
    int64_t so = oq_attr_int(n, "storage_order", 0);
    if (so != 0 && so != 1)
        return oq_node_error(n, err, OQ_ERR_MODEL, "storage_order must be 0 or 1, got %lld", (long long)so);
    return OQ_OK;
}

oq_status oq_pool_geom_init(const struct oq_op_ctx *ctx, bool has_dilations, struct oq_pool_geom *g) {
    const struct oq_node *n = ctx->node;
    const struct oq_tensor *x = ctx->in[0];
    const int64_t *k, *s = NULL, *d = NULL, *p = NULL;
    int nk = (int)oq_attr_ints(n, "kernel_shape", &k);
    char xs[160];
    if (x->ndim != nk + 2)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 has shape %s, expected rank %d ([N, C] + %d spatial dims of kernel_shape)",
                           oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)), nk + 2, nk);
    bool hs = oq_attr_ints(n, "strides", &s) >= 0, hp = oq_attr_ints(n, "pads", &p) >= 0;
    bool hd = has_dilations && oq_attr_ints(n, "dilations", &d) >= 0;
    const char *ap = oq_attr_string(n, "auto_pad", "NOTSET");
    bool ceil_mode = oq_attr_int(n, "ceil_mode", 0) != 0;
    memset(g, 0, sizeof(*g));
    g->nsp = nk;
    g->planes = x->dims[0] * x->dims[1];
    g->count_include_pad = oq_attr_int(n, "count_include_pad", 0) != 0;
    g->storage_order = (int)oq_attr_int(n, "storage_order", 0);
    for (int a = 0; a < 3; a++) {
        g->in[a] = g->out[a] = g->k[a] = g->s[a] = g->d[a] = 1;
        g->pb[a] = g->pe[a] = 0;
    }
    for (int i = 0; i < nk; i++) {
        int a = 3 - nk + i;
        int64_t in = x->dims[2 + i];
        g->in[a] = in;
        g->k[a] = k[i];
        g->s[a] = hs ? s[i] : 1;
        g->d[a] = hd ? d[i] : 1;
        int64_t win = (g->k[a] - 1) * g->d[a] + 1;
        int64_t out;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            out = (in + g->s[a] - 1) / g->s[a];
            int64_t total = (out - 1) * g->s[a] + win - in;
            if (total < 0)
                total = 0;
            g->pb[a] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            g->pe[a] = total - g->pb[a];
        } else if (!strcmp(ap, "VALID")) {
            out = in >= win ? (in - win) / g->s[a] + 1 : 0;
        } else {
            g->pb[a] = hp ? p[i] : 0;
            g->pe[a] = hp ? p[nk + i] : 0;
            if (g->pb[a] >= win || g->pe[a] >= win)
                return oq_op_error(ctx, OQ_ERR_SHAPE,
                                   "pads (%lld, %lld) on spatial axis %d must be smaller than the window %lld",
                                   (long long)g->pb[a], (long long)g->pe[a], i, (long long)win);
            int64_t span = in + g->pb[a] + g->pe[a] - win;
            if (span < 0) {
                out = 0;
            } else if (ceil_mode) {
                out = (span + g->s[a] - 1) / g->s[a] + 1;
                if ((out - 1) * g->s[a] >= in + g->pb[a])
                    out--;
            } else {
                out = span / g->s[a] + 1;
            }
        }
        if (out <= 0)
            return oq_op_error(ctx, OQ_ERR_SHAPE,
                               "input 0 of shape %s is too small for kernel %lld (dilation %lld) with pads %lld+%lld "
                               "on spatial axis %d",
                               oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)), (long long)g->k[a],
                               (long long)g->d[a], (long long)g->pb[a], (long long)g->pe[a], i);
        g->out[a] = out;
    }
    return OQ_OK;
}

void oq_pool_geom_out_dims(const struct oq_op_ctx *ctx, const struct oq_pool_geom *g, int64_t *dims) {
    const struct oq_tensor *x = ctx->in[0];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < g->nsp; i++)
        dims[2 + i] = g->out[3 - g->nsp + i];
}

oq_status oq_global_pool_infer(struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0];
    char xs[160];
    if (x->ndim < 2)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 has shape %s; expected [N, C, ...]",
                           oq_shape_str(x->ndim, x->dims, xs, sizeof(xs)));
    int64_t d[OQ_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        d[i] = i < 2 ? x->dims[i] : 1;
    oq_op_set_output(ctx, 0, x->dtype, x->ndim, d);
    return OQ_OK;
}
