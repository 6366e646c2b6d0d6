/* ConvTranspose (ai.onnx): FP32, NCHW, 1-D and 2-D, groups, strides, pads, dilations, output_padding,
 * output_shape, auto_pad. Output padding and pads follow ONNX Runtime's ComputeTransposePadAndOutputShape:
 * with output_shape (or auto_pad SAME_*, whose output is input*stride) the total padding is derived from
 * the output size and split with the odd unit at the end for SAME_UPPER, at the beginning otherwise.
 *
 * Y[n, g*Mg + co] = bias + sum_ci X[n, g*Cg + ci] (x) W[g*Cg + ci, co] is computed as a GEMM
 *   col[Mg*kh*kw, H*W] = W_g^T [Mg*kh*kw, Cg] * X_g [Cg, H*W]   (W_g is [Cg, Mg*kh*kw] row-major: trans_a)
 * followed by col2im, which scatters-adds each column back into the output image; col2im is the adjoint of
 * im2col for the forward conv that maps the output grid to the input grid. Work is split over the pool by
 * (image, group, block of output channels): each task owns its output channels, so scatters never race;
 * within a task the input positions are walked in tiles whose col block fits in L2 (the thread's scratch). */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"

enum ct_auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

struct ct_attrs {
    int nsp;
    bool has_kernel, has_pads, has_out_shape;
    int64_t kernel[2], strides[2], dil[2], out_pad[2], out_shape[2];
    int64_t pads[4]; /* begin h, begin w, end h, end w */
    int64_t group;
    enum ct_auto_pad auto_pad;
};

struct ct_shape {
    int64_t N, C, H, W, M, G, Cg, Mg, OH, OW, Pin, Pout, KK;
    struct oq_conv2d_geom geom; /* forward-conv geometry: image = output, grid = input */
    int out_ndim;
    int64_t out_dims[4];
};

struct ct_priv {
    struct ct_attrs a;
    struct ct_shape s;
    int64_t chunk;      /* output channels per task */
    int64_t nchunks;    /* tasks per (image, group) */
    int64_t tile;       /* input positions per GEMM */
    size_t col_stride;  /* floats of scratch per thread */
};

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

static oq_status parse_attrs(const struct oq_node *n, oq_error *err, struct ct_attrs *a) {
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
        a->auto_pad = PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        a->auto_pad = PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        a->auto_pad = PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        a->auto_pad = PAD_VALID;
    else
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute 'auto_pad' is '%s'; expected NOTSET, SAME_UPPER, "
                             "SAME_LOWER or VALID", ap);
    return OQ_OK;
}

static oq_status ct_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    OQ_TRY(oq_check_arity(n, err, 2, 3, 1, 1));
    struct ct_attrs a;
    return parse_attrs(n, err, &a);
}

static oq_status ct_dim(const struct oq_op_ctx *ctx, const struct ct_attrs *a, int d, int64_t in, int64_t k,
                        int64_t *out, int64_t *pad_begin) {
    int64_t s = a->strides[d], ek = (k - 1) * a->dil[d] + 1, op = a->out_pad[d];
    int64_t natural = (in - 1) * s + op + ek; /* output size with no padding */
    int64_t o, pb, pe;
    if (a->has_out_shape || a->auto_pad == PAD_SAME_UPPER || a->auto_pad == PAD_SAME_LOWER) {
        o = a->has_out_shape ? a->out_shape[d] : in * s;
        int64_t total = natural - o;
        if (total < 0)
            total = 0;
        pb = a->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
    } else {
        pb = a->auto_pad == PAD_VALID ? 0 : a->pads[d];
        pe = a->auto_pad == PAD_VALID ? 0 : a->pads[d + 2];
        o = natural - pb - pe;
    }
    if (o <= 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "output extent along spatial dim %d would be %lld; check pads "
                           "and output_shape", d, (long long)o);
    *out = o;
    *pad_begin = pb;
    return OQ_OK;
}

static oq_status resolve(const struct oq_op_ctx *ctx, const struct ct_attrs *a, struct ct_shape *s) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1];
    const struct oq_tensor *b = ctx->n_in > 2 ? ctx->in[2] : NULL;
    for (int i = 0; i < 3; i++) {
        const struct oq_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
        if (t && t->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input %d ('%s') has dtype %s; only float is supported",
                               i, t->name ? t->name : "?", oq_dtype_name(t->dtype));
    }
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
        return oq_op_error(ctx, OQ_ERR_SHAPE, "weight (input 1) has rank %d, input 0 has rank %d; they must "
                           "match", w->ndim, x->ndim);
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
        return oq_op_error(ctx, OQ_ERR_SHAPE, "weight has %lld input channels, input 0 has %lld in %lld groups; "
                           "ConvTranspose weights are [C_in, C_out/group, kh, kw]", (long long)w->dims[0],
                           (long long)s->C, (long long)s->G);
    s->Cg = s->C / s->G;
    s->Mg = w->dims[1];
    s->M = s->Mg * s->G;
    if (b && (b->ndim != 1 || b->dims[0] != s->M))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "bias (input 2) must have shape [%lld]", (long long)s->M);
    int64_t pt = 0, pl = 0;
    s->OH = 1;
    if (nsp == 2)
        OQ_TRY(ct_dim(ctx, a, 0, s->H, kh, &s->OH, &pt));
    OQ_TRY(ct_dim(ctx, a, 1, s->W, kw, &s->OW, &pl));
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

static oq_status ct_infer(struct oq_op_ctx *ctx) {
    struct ct_attrs a;
    struct ct_shape s;
    OQ_TRY(parse_attrs(ctx->node, ctx->err, &a));
    OQ_TRY(resolve(ctx, &a, &s));
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, s.out_ndim, s.out_dims);
    return OQ_OK;
}

enum { CT_TILE_BYTES = 512 * 1024 };

static oq_status ct_prepare(struct oq_op_ctx *ctx) {
    struct ct_priv *p = ctx->priv;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
        OQ_TRY(parse_attrs(ctx->node, ctx->err, &p->a));
    }
    OQ_TRY(resolve(ctx, &p->a, &p->s));
    const struct ct_shape *s = &p->s;
    int nth = oq_pool_size(ctx->pool);
    int64_t per = s->N * s->G;
    p->nchunks = per >= nth ? 1 : (nth + per - 1) / per;
    if (p->nchunks > s->Mg)
        p->nchunks = s->Mg > 0 ? s->Mg : 1;
    p->chunk = s->Mg > 0 ? (s->Mg + p->nchunks - 1) / p->nchunks : 1;
    p->nchunks = s->Mg > 0 ? (s->Mg + p->chunk - 1) / p->chunk : 1;
    int64_t rows = p->chunk * s->KK;
    int64_t tile = CT_TILE_BYTES / (int64_t)sizeof(float) / (rows > 0 ? rows : 1);
    tile = tile < 16 ? 16 : tile / 16 * 16;
    if (tile > s->Pin)
        tile = s->Pin > 0 ? s->Pin : 1;
    p->tile = tile;
    size_t bytes = (size_t)(rows * tile) * sizeof(float);
    p->col_stride = (bytes + 63) / 64 * 64 / sizeof(float);
    ctx->scratch_bytes = p->col_stride * sizeof(float) * (size_t)nth;
    return OQ_OK;
}

struct ct_job {
    const struct ct_priv *p;
    const struct oq_kernels *k;
    const float *x, *w, *b;
    float *y, *scratch;
};

static void ct_task(void *arg, int ith, int nth) {
    const struct ct_job *j = arg;
    const struct ct_priv *p = j->p;
    const struct ct_shape *s = &p->s;
    float *col = j->scratch + (size_t)ith * p->col_stride;
    int64_t t0, t1;
    oq_split(s->N * s->G * p->nchunks, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        int64_t ch = t % p->nchunks, ng = t / p->nchunks;
        int64_t n = ng / s->G, g = ng % s->G;
        int64_t c0 = ch * p->chunk, c1 = c0 + p->chunk < s->Mg ? c0 + p->chunk : s->Mg;
        float *y = j->y + (n * s->M + g * s->Mg + c0) * s->Pout;
        for (int64_t c = c0; c < c1; c++) {
            float bias = j->b ? j->b[g * s->Mg + c] : 0.0f;
            float *yc = y + (c - c0) * s->Pout;
            for (int64_t i = 0; i < s->Pout; i++)
                yc[i] = bias;
        }
        const float *x = j->x + (n * s->C + g * s->Cg) * s->Pin;
        const float *a = j->w + g * s->Cg * s->Mg * s->KK + c0 * s->KK;
        for (int64_t p0 = 0; p0 < s->Pin; p0 += p->tile) {
            int64_t p1 = p0 + p->tile < s->Pin ? p0 + p->tile : s->Pin;
            j->k->sgemm(j->k, NULL, true, false, (c1 - c0) * s->KK, p1 - p0, s->Cg, 1.0f, a, s->Mg * s->KK,
                        x + p0, s->Pin, 0.0f, col, p1 - p0);
            j->k->col2im(&s->geom, c1 - c0, col, p0, p1, p1 - p0, y);
        }
    }
}

static oq_status ct_run(struct oq_op_ctx *ctx) {
    const struct ct_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    if (oq_tensor_numel(ctx->out[0]) == 0)
        return OQ_OK;
    size_t slot = p->col_stride * sizeof(float);
    if (!ctx->scratch || ctx->scratch_bytes < slot)
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", slot, ctx->scratch_bytes);
    const struct oq_tensor *bt = ctx->n_in > 2 ? ctx->in[2] : NULL;
    struct ct_job j = {
        .p = p, .k = ctx->kernels,
        .x = ctx->in[0]->data, .w = ctx->in[1]->data, .b = bt ? bt->data : NULL,
        .y = ctx->out[0]->data, .scratch = ctx->scratch,
    };
    const struct ct_shape *s = &p->s;
    int64_t tasks = s->N * s->G * p->nchunks;
    int nth = oq_pool_threads_for(ctx->pool, s->N * s->C * s->Pin * s->Mg * s->KK, 1 << 18);
    if (nth > tasks)
        nth = (int)tasks;
    if (nth > (int)(ctx->scratch_bytes / slot))
        nth = (int)(ctx->scratch_bytes / slot);
    oq_pool_run(ctx->pool, ct_task, &j, nth);
    return OQ_OK;
}

static void ct_destroy(void *priv) { free(priv); }

static int64_t ct_macs(const struct oq_op_ctx *ctx) {
    /* every input element meets (C_out/group) * kh * kw weights: numel(X) * numel(W) / C_in */
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1];
    if (!x || !w || w->ndim < 2 || w->dims[0] <= 0)
        return 0;
    return oq_tensor_numel(x) * (oq_tensor_numel(w) / w->dims[0]);
}

const struct oq_op_def oq_op_convtranspose = {
    .domain  = "",
    .name    = "ConvTranspose",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = ct_check,
    .infer   = ct_infer,
    .prepare = ct_prepare,
    .run     = ct_run,
    .destroy = ct_destroy,
    .macs    = ct_macs,
};
