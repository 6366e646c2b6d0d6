/* ConvTranspose attribute parsing and shape inference (ops/convtranspose_common.h), moved out of the float
 * op so that QConvTranspose computes exactly the same output sizes and paddings. */
#include "ops/convtranspose_common.h"

#include <string.h>

/* Reads an ints attribute for spatial dims; for 1-D the one value lands in index 1 (w), with `unit` in [0]. */
static oq_status read_sp(const struct oq_node *n, oq_error *err, const char *name, int64_t *out, int per_dim,
                         int *nsp, bool *present, int64_t min_value, int64_t unit) {
    const int64_t *v;
    int64_t cnt = oq_attr_ints(n, name, &v);
    if (present)
        *present = cnt >= 0;
    if (cnt < 0)
        return OQ_OK;
    int64_t dims = cnt / per_dim;
    if (cnt % per_dim || dims < 1 || dims > 3)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' has %lld values; expected %d per spatial "
                             "dimension", name, (long long)cnt, per_dim);
    if (dims == 3)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "3-D ConvTranspose ('%s' has %lld values) is not "
                             "supported; only 1-D and 2-D", name, (long long)cnt);
    if (*nsp && *nsp != dims)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' describes %lld spatial dimensions but "
                             "another attribute describes %d", name, (long long)dims, *nsp);
    *nsp = (int)dims;
    for (int64_t i = 0; i < cnt; i++)
        if (v[i] < min_value)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' has value %lld at index %lld; values "
                                 "must be >= %lld", name, (long long)v[i], (long long)i, (long long)min_value);
    for (int p = 0; p < per_dim; p++) {
        if (dims == 1) {
            out[p * 2 + 0] = unit;
            out[p * 2 + 1] = v[p];
        } else {
            out[p * 2 + 0] = v[p * 2 + 0];
            out[p * 2 + 1] = v[p * 2 + 1];
        }
    }
    return OQ_OK;
}

oq_status oq_convtranspose_attrs_parse(const struct oq_node *n, oq_error *err, struct oq_convtranspose_attrs *a) {
    memset(a, 0, sizeof(*a));
    OQ_TRY(read_sp(n, err, "kernel_shape", a->kernel, 1, &a->nsp, &a->has_kernel, 1, 1));
    if (!a->has_kernel)
        a->kernel[0] = a->kernel[1] = 0;
    a->strides[0] = a->strides[1] = 1;
    a->dil[0] = a->dil[1] = 1;
    OQ_TRY(read_sp(n, err, "strides", a->strides, 1, &a->nsp, NULL, 1, 1));
    OQ_TRY(read_sp(n, err, "dilations", a->dil, 1, &a->nsp, NULL, 1, 1));
    OQ_TRY(read_sp(n, err, "output_padding", a->out_pad, 1, &a->nsp, NULL, 0, 0));
    OQ_TRY(read_sp(n, err, "pads", a->pads, 2, &a->nsp, &a->has_pads, 0, 0));
    OQ_TRY(read_sp(n, err, "output_shape", a->out_shape, 1, &a->nsp, &a->has_out_shape, 1, 1));
    for (int d = 0; d < 2; d++)
        if (a->out_pad[d] >= a->strides[d] && a->out_pad[d] >= a->dil[d])
            return oq_node_error(n, err, OQ_ERR_MODEL, "output_padding %lld must be smaller than the stride "
                                 "(%lld) or the dilation (%lld)", (long long)a->out_pad[d],
                                 (long long)a->strides[d], (long long)a->dil[d]);
    a->group = oq_attr_int(n, "group", 1);
    if (a->group < 1)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'group' is %lld; it must be >= 1",
                             (long long)a->group);
    const char *ap = oq_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") == 0)
        a->auto_pad = OQ_CONVTRANSPOSE_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        a->auto_pad = OQ_CONVTRANSPOSE_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        a->auto_pad = OQ_CONVTRANSPOSE_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        a->auto_pad = OQ_CONVTRANSPOSE_VALID;
    else
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'auto_pad' is '%s'; expected NOTSET, SAME_UPPER, "
                             "SAME_LOWER or VALID", ap);
    return OQ_OK;
}

/* Output extent and begin padding of spatial dim d for input extent `in` and kernel extent k. */
static oq_status out_dim(const struct oq_op_ctx *ctx, const struct oq_convtranspose_attrs *a, int d, int64_t in,
                         int64_t k, int64_t *out, int64_t *pad_begin) {
    int64_t s = a->strides[d], ek = (k - 1) * a->dil[d] + 1, op = a->out_pad[d];
    int64_t natural = (in - 1) * s + op + ek; /* output size with no padding */
    int64_t o, pb;
    bool same = a->auto_pad == OQ_CONVTRANSPOSE_SAME_UPPER || a->auto_pad == OQ_CONVTRANSPOSE_SAME_LOWER;
    if (a->has_out_shape || same) {
        o = a->has_out_shape ? a->out_shape[d] : in * s;
        int64_t total = natural - o;
        if (total < 0)
            total = 0;
        pb = a->auto_pad == OQ_CONVTRANSPOSE_SAME_UPPER ? total / 2 : total - total / 2;
    } else {
        bool valid = a->auto_pad == OQ_CONVTRANSPOSE_VALID;
        pb = valid ? 0 : a->pads[d];
        int64_t pe = valid ? 0 : a->pads[d + 2];
        o = natural - pb - pe;
    }
    if (o <= 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "output extent along spatial dim %d would be %lld; check pads "
                           "and output_shape", d, (long long)o);
    *out = o;
    *pad_begin = pb;
    return OQ_OK;
}

oq_status oq_convtranspose_shape_resolve(const struct oq_op_ctx *ctx, const struct oq_convtranspose_attrs *a,
                                         const struct oq_tensor *x, const struct oq_tensor *w,
                                         struct oq_convtranspose_shape *s) {
    if (x->ndim == 5)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "3-D ConvTranspose (input rank 5) is not supported; only 1-D "
                           "and 2-D");
    if (x->ndim != 3 && x->ndim != 4)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 has rank %d; ConvTranspose needs [N, C, L] or "
                           "[N, C, H, W]", x->ndim);
    int nsp = x->ndim - 2;
    if (a->nsp && a->nsp != nsp)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "attributes describe %d spatial dimensions but input 0 has %d",
                           a->nsp, nsp);
    if (w->ndim != x->ndim)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "the weight has rank %d, input 0 has rank %d; they must match",
                           w->ndim, x->ndim);
    memset(s, 0, sizeof(*s));
    s->N = x->dims[0];
    s->C = x->dims[1];
    s->H = nsp == 2 ? x->dims[2] : 1;
    s->W = x->dims[x->ndim - 1];
    s->G = a->group;
    int64_t kh = nsp == 2 ? w->dims[2] : 1, kw = w->dims[w->ndim - 1];
    if (a->has_kernel && (a->kernel[0] != kh || a->kernel[1] != kw))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "kernel_shape does not match the weight's spatial dims %lldx%lld",
                           (long long)kh, (long long)kw);
    if (w->dims[0] != s->C || s->C % s->G)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "the weight has %lld input channels, input 0 has %lld in %lld "
                           "groups; ConvTranspose weights are [C_in, C_out/group, kh, kw]", (long long)w->dims[0],
                           (long long)s->C, (long long)s->G);
    s->Cg = s->C / s->G;
    s->Mg = w->dims[1];
    s->M = s->Mg * s->G;
    int64_t pt = 0, pl = 0;
    s->OH = 1;
    if (nsp == 2)
        OQ_TRY(out_dim(ctx, a, 0, s->H, kh, &s->OH, &pt));
    OQ_TRY(out_dim(ctx, a, 1, s->W, kw, &s->OW, &pl));
    s->Pin = s->H * s->W;
    s->Pout = s->OH * s->OW;
    s->KK = kh * kw;
    s->geom = (struct oq_conv2d_geom){
        .in_h = s->OH, .in_w = s->OW, .out_h = s->H, .out_w = s->W,
        .k_h = (int32_t)kh, .k_w = (int32_t)kw,
        .stride_h = (int32_t)a->strides[0], .stride_w = (int32_t)a->strides[1],
        .pad_t = (int32_t)pt, .pad_l = (int32_t)pl,
        .dil_h = (int32_t)a->dil[0], .dil_w = (int32_t)a->dil[1],
    };
    s->out_ndim = x->ndim;
    s->out_dims[0] = s->N;
    s->out_dims[1] = s->M;
    if (nsp == 2) {
        s->out_dims[2] = s->OH;
        s->out_dims[3] = s->OW;
    } else {
        s->out_dims[2] = s->OW;
    }
    return OQ_OK;
}
