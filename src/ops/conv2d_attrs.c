#include "ops/conv2d_attrs.h"

#include <string.h>

static oq_status attr_ints(const struct oq_node *n, const char *op, oq_error *err, const char *name, int64_t *out,
                           int *nsp, bool *present, int64_t minv) {
    const int64_t *v;
    int64_t cnt = oq_attr_ints(n, name, &v);
    if (present)
        *present = cnt >= 0;
    if (cnt < 0)
        return OQ_OK;
    bool pads = !strcmp(name, "pads");
    int64_t dims = pads ? cnt / 2 : cnt;
    if ((pads && cnt % 2) || dims < 1 || dims > 2 || (*nsp && *nsp != dims))
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "attribute '%s' has %lld values; %s supports 1-D and 2-D "
                             "convolution with consistent attributes", name, (long long)cnt, op);
    *nsp = (int)dims;
    for (int64_t i = 0; i < cnt; i++) {
        if (v[i] < minv)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' has value %lld; values must be >= %lld",
                                 name, (long long)v[i], (long long)minv);
        out[i] = v[i];
    }
    return OQ_OK;
}

oq_status oq_conv2d_attrs_parse(const struct oq_node *n, const char *op, oq_error *err, struct oq_conv2d_attrs *a) {
    memset(a, 0, sizeof(*a));
    int64_t k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0};
    OQ_TRY(attr_ints(n, op, err, "kernel_shape", k, &a->nsp, &a->has_kernel, 1));
    OQ_TRY(attr_ints(n, op, err, "strides", s, &a->nsp, NULL, 1));
    OQ_TRY(attr_ints(n, op, err, "dilations", d, &a->nsp, NULL, 1));
    bool has_pads;
    OQ_TRY(attr_ints(n, op, err, "pads", p, &a->nsp, &has_pads, 0));
    if (a->nsp == 1) {
        int64_t k1[2] = {1, k[0]}, s1[2] = {1, s[0]}, d1[2] = {1, d[0]}, p1[4] = {0, p[0], 0, p[1]};
        memcpy(k, k1, sizeof(k));
        memcpy(s, s1, sizeof(s));
        memcpy(d, d1, sizeof(d));
        memcpy(p, p1, sizeof(p));
    }
    memcpy(a->kernel, k, sizeof(k));
    memcpy(a->strides, s, sizeof(s));
    memcpy(a->dil, d, sizeof(d));
    memcpy(a->pads, p, sizeof(p));
    a->group = oq_attr_int(n, "group", 1);
    if (a->group < 1)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'group' is %lld; it must be >= 1", (long long)a->group);
    const char *ap = oq_attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET"))
        a->auto_pad = OQ_AUTO_PAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER"))
        a->auto_pad = OQ_AUTO_PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER"))
        a->auto_pad = OQ_AUTO_PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID"))
        a->auto_pad = OQ_AUTO_PAD_VALID;
    else
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'auto_pad' is '%s'; expected NOTSET, SAME_UPPER, "
                             "SAME_LOWER or VALID", ap);
    return OQ_OK;
}

oq_status oq_conv2d_out_dim(const struct oq_op_ctx *ctx, const struct oq_conv2d_attrs *a, int d, int64_t in,
                            int64_t *out, int64_t *pb_out) {
    int64_t k = a->kernel[d], s = a->strides[d], ek = (k - 1) * a->dil[d] + 1;
    int64_t pb = a->pads[d], pe = a->pads[d + 2];
    if (a->auto_pad == OQ_AUTO_PAD_VALID) {
        pb = pe = 0;
    } else if (a->auto_pad != OQ_AUTO_PAD_NOTSET) {
        int64_t o = (in + s - 1) / s, total = (o - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        pb = a->auto_pad == OQ_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
    }
    int64_t span = in + pb + pe - ek;
    if (span < 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input extent %lld is smaller than the kernel extent %lld",
                           (long long)in, (long long)ek);
    *out = span / s + 1;
    *pb_out = pb;
    return OQ_OK;
}
