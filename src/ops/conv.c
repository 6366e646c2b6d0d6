/* Conv (ai.onnx) and FusedConv (com.onnxq, Conv + activation fused by the session): FP32, NCHW, 1-D and 2-D.
 *
 * Three execution paths, chosen in prepare from the resolved geometry:
 *   depthwise  group == C_in == C_out: k->dwconv per channel plane, planes split over the pool
 *   1x1        1x1 kernel, stride 1, no padding: Y_g = W_g * X_g, one GEMM per (image, group, column tile)
 *              straight from the input (no im2col)
 *   im2col     everything else: per (image, group, column tile) im2col into the thread's scratch, GEMM
 * The GEMM paths cut the output positions of each (image, group) into column tiles sized so that a
 * tile's im2col block and output block stay in L2; the tasks (image x group x tile) are split over the
 * pool and each runs a single-threaded k->sgemm, then adds bias and applies the activation to its output
 * block while it is still in cache. Weights are used as stored ([M, C/g, kh, kw] is already the row-major
 * A operand of each group's GEMM), so prepare packs nothing: oneDNN's sgemm packs internally, per call.
 *
 * FusedConv has Conv's inputs and attributes plus `activation` (Relu, Clip, HardSigmoid, HardSwish,
 * Sigmoid, LeakyRelu, Tanh) and `activation_params` (Clip: min, max; HardSigmoid: alpha, beta;
 * LeakyRelu: alpha). 3-D convolution is rejected at load with OQ_ERR_UNSUPPORTED. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"

enum conv_auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

/* Attributes, independent of shapes. Arrays are indexed by spatial dim (h, w); for 1-D only [0] is read
 * from the node and the op runs as 2-D with H = 1. */
struct conv_attrs {
    int nsp;               /* spatial dims given by attribute lengths, 0 if none says */
    bool has_kernel, has_pads;
    int64_t kernel[2], strides[2], dil[2];
    int64_t pads[4];       /* begin h, begin w, end h, end w (ONNX order for 2-D) */
    int64_t group;
    enum conv_auto_pad auto_pad;
    struct oq_act act;
};

/* Everything resolved for concrete shapes. */
struct conv_shape {
    int64_t N, C, H, W, M, G, Cg, Mg, OH, OW, P, Kdim;
    struct oq_conv2d_geom geom;
    int out_ndim;
    int64_t out_dims[4];
};

enum conv_path { PATH_DEPTHWISE, PATH_1X1, PATH_IM2COL };

struct conv_priv {
    struct conv_attrs a;
    struct conv_shape s;
    enum conv_path path;
    int64_t tile;        /* output positions per GEMM task */
    int64_t ntiles;      /* tiles per (image, group) */
    size_t col_stride;   /* floats of scratch per thread (64-byte multiple) */
    int nth_scratch;     /* threads the scratch was sized for */
};

static oq_status read_ints(const struct oq_node *n, oq_error *err, const char *name, int64_t *out, int cap,
                           int *nsp, bool *present, int64_t min_value) {
    const int64_t *v;
    int64_t cnt = oq_attr_ints(n, name, &v);
    if (cnt < 0) {
        if (present)
            *present = false;
        return OQ_OK;
    }
    if (present)
        *present = true;
    bool is_pads = strcmp(name, "pads") == 0;
    int64_t dims = is_pads ? cnt / 2 : cnt;
    if ((is_pads && cnt % 2) || dims < 1 || dims > 3)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' has %lld values; expected one per spatial "
                             "dimension%s", name, (long long)cnt, is_pads ? " twice (begins, then ends)" : "");
    if (dims == 3)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "3-D convolution ('%s' has %lld values) is not "
                             "supported; only 1-D and 2-D", name, (long long)cnt);
    if (*nsp && *nsp != dims)
        return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' describes %lld spatial dimensions but "
                             "another attribute describes %d", name, (long long)dims, *nsp);
    *nsp = (int)dims;
    for (int64_t i = 0; i < cnt && i < cap; i++) {
        if (v[i] < min_value)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute '%s' has value %lld at index %lld; values "
                                 "must be >= %lld", name, (long long)v[i], (long long)i, (long long)min_value);
        out[i] = v[i];
    }
    return OQ_OK;
}

static oq_status parse_attrs(const struct oq_node *n, oq_error *err, bool fused, struct conv_attrs *a) {
    memset(a, 0, sizeof(*a));
    int64_t k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0};
    OQ_TRY(read_ints(n, err, "kernel_shape", k, 2, &a->nsp, &a->has_kernel, 1));
    OQ_TRY(read_ints(n, err, "strides", s, 2, &a->nsp, NULL, 1));
    OQ_TRY(read_ints(n, err, "dilations", d, 2, &a->nsp, NULL, 1));
    OQ_TRY(read_ints(n, err, "pads", p, 4, &a->nsp, &a->has_pads, 0));
    if (a->nsp == 1) { /* 1-D: the one spatial dim is w; h is a unit dim */
        a->kernel[0] = 1, a->kernel[1] = k[0];
        a->strides[0] = 1, a->strides[1] = s[0];
        a->dil[0] = 1, a->dil[1] = d[0];
        a->pads[0] = 0, a->pads[1] = p[0], a->pads[2] = 0, a->pads[3] = p[1];
    } else {
        memcpy(a->kernel, k, sizeof(k));
        memcpy(a->strides, s, sizeof(s));
        memcpy(a->dil, d, sizeof(d));
        memcpy(a->pads, p, sizeof(p));
    }
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
    if (a->auto_pad != PAD_NOTSET && a->has_pads)
        return oq_node_error(n, err, OQ_ERR_MODEL, "has both 'pads' and auto_pad=%s; ONNX allows pads only with "
                             "auto_pad=NOTSET", ap);
    a->act.kind = OQ_ACT_NONE;
    if (fused) {
        /* no activation attribute: a FusedConv that only adds its summand Z */
        const char *name = oq_attr_string(n, "activation", NULL);
        enum oq_act_kind kind;
        if (!name)
            return OQ_OK;
        if (!oq_act_from_name(name, &kind))
            return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "activation '%s' cannot be fused; supported: Relu, "
                                 "Clip, HardSigmoid, HardSwish, Sigmoid, LeakyRelu, Tanh", name);
        const float *pv = NULL;
        int64_t np = oq_attr_floats(n, "activation_params", &pv);
        if (np < 0)
            np = 0;
        if (!oq_act_init(&a->act, kind, pv, np))
            return oq_node_error(n, err, OQ_ERR_MODEL, "activation %s takes %d parameters in "
                                 "'activation_params', got %lld", name, oq_act_nparams(kind), (long long)np);
    }
    return OQ_OK;
}

static bool node_is_fused(const struct oq_node *n) { return strcmp(n->op_type, "FusedConv") == 0; }

static oq_status conv_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    /* FusedConv may carry a summand Z (input 3) and a post-activation affine (inputs 4, 5):
     * y = act(conv(x, w) + b + Z) * S + T */
    OQ_TRY(oq_check_arity(n, err, 2, node_is_fused(n) ? 6 : 3, 1, 1));
    struct conv_attrs a;
    return parse_attrs(n, err, node_is_fused(n), &a);
}

/* Output size and begin pad of one spatial dim. */
static oq_status out_dim(const struct oq_op_ctx *ctx, const struct conv_attrs *a, int d, int64_t in,
                         int64_t *out, int64_t *pad_begin) {
    int64_t k = a->kernel[d], s = a->strides[d], dl = a->dil[d];
    int64_t ek = (k - 1) * dl + 1; /* effective kernel extent */
    int64_t pb = a->pads[d], pe = a->pads[d + 2];
    switch (a->auto_pad) {
    case PAD_NOTSET:
        break;
    case PAD_VALID:
        pb = pe = 0;
        break;
    case PAD_SAME_UPPER:
    case PAD_SAME_LOWER: {
        int64_t o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        pb = a->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
        break;
    }
    }
    int64_t span = in + pb + pe - ek;
    if (span < 0)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input extent %lld (+ pads %lld, %lld) is smaller than the "
                           "dilated kernel extent %lld", (long long)in, (long long)pb, (long long)pe,
                           (long long)ek);
    *out = span / s + 1;
    *pad_begin = pb;
    return OQ_OK;
}

/* Validate inputs and resolve every shape-dependent quantity. */
static oq_status resolve(const struct oq_op_ctx *ctx, struct conv_attrs *a, struct conv_shape *s) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1];
    const struct oq_tensor *b = ctx->n_in > 2 ? ctx->in[2] : NULL;
    for (int i = 0; i < 6; i++) {
        const struct oq_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
        if (t && t->dtype != OQ_DTYPE_FLOAT)
            return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "input %d ('%s') has dtype %s; only float is supported "
                               "(quantized convolutions run as QLinearConv / QDQ)", i, t->name ? t->name : "?",
                               oq_dtype_name(t->dtype));
    }
    if (x->ndim == 5)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "3-D convolution (input rank 5) is not supported; only 1-D "
                           "and 2-D");
    if (x->ndim != 3 && x->ndim != 4)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input 0 has rank %d; Conv needs [N, C, L] or [N, C, H, W]",
                           x->ndim);
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
    s->M = w->dims[0];
    s->G = a->group;
    int64_t kh = nsp == 2 ? w->dims[2] : 1, kw = w->dims[w->ndim - 1];
    if (a->has_kernel && (a->kernel[0] != kh || a->kernel[1] != kw))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "kernel_shape does not match the weight's spatial dims %lldx%lld",
                           (long long)kh, (long long)kw);
    a->kernel[0] = kh;
    a->kernel[1] = kw;
    if (s->C % s->G || s->M % s->G)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "group=%lld does not divide input channels %lld and output "
                           "channels %lld", (long long)s->G, (long long)s->C, (long long)s->M);
    s->Cg = s->C / s->G;
    s->Mg = s->M / s->G;
    if (w->dims[1] != s->Cg)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "weight has %lld input channels per group; input 0 has %lld "
                           "channels in %lld groups, so expected %lld", (long long)w->dims[1], (long long)s->C,
                           (long long)s->G, (long long)s->Cg);
    if (b && (b->ndim != 1 || b->dims[0] != s->M))
        return oq_op_error(ctx, OQ_ERR_SHAPE, "bias (input 2) must have shape [%lld]", (long long)s->M);
    int64_t pt = 0, pl = 0;
    if (nsp == 2)
        OQ_TRY(out_dim(ctx, a, 0, s->H, &s->OH, &pt));
    else
        s->OH = 1;
    OQ_TRY(out_dim(ctx, a, 1, s->W, &s->OW, &pl));
    s->P = s->OH * s->OW;
    s->Kdim = s->Cg * kh * kw;
    s->geom = (struct oq_conv2d_geom){
        .in_h = s->H, .in_w = s->W, .out_h = s->OH, .out_w = s->OW,
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

static oq_status conv_infer(struct oq_op_ctx *ctx) {
    struct conv_attrs a;
    struct conv_shape s;
    OQ_TRY(parse_attrs(ctx->node, ctx->err, node_is_fused(ctx->node), &a));
    OQ_TRY(resolve(ctx, &a, &s));
    for (int i = 4; i < 6 && i < ctx->n_in; i++) {
        const struct oq_tensor *t = ctx->in[i];
        int64_t n = t ? oq_tensor_numel(t) : 1;
        if (t && n != 1 && n != s.M)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "post-activation %s (input %d) has %lld values; expected 1 or %lld",
                               i == 4 ? "scale" : "shift", i, (long long)n, (long long)s.M);
    }
    const struct oq_tensor *z = ctx->n_in > 3 ? ctx->in[3] : NULL;
    if (z) {
        int nd;
        int64_t bd[OQ_MAX_DIMS];
        if (!oq_broadcast_shape(s.out_ndim, s.out_dims, z->ndim, z->dims, &nd, bd) || nd != s.out_ndim ||
            memcmp(bd, s.out_dims, sizeof(int64_t) * (size_t)nd))
            return oq_op_error(ctx, OQ_ERR_SHAPE, "summand Z (input 3) does not broadcast to the output shape");
    }
    oq_op_set_output(ctx, 0, OQ_DTYPE_FLOAT, s.out_ndim, s.out_dims);
    return OQ_OK;
}

/* L2-sized working set per GEMM task: the im2col block [Kdim, tile] and the output block [Mg, tile]. */
enum { CONV_TILE_BYTES = 512 * 1024, CONV_TILE_MIN = 64 };

static oq_status conv_prepare(struct oq_op_ctx *ctx) {
    struct conv_priv *p = ctx->priv;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for the op state");
        ctx->priv = p;
        OQ_TRY(parse_attrs(ctx->node, ctx->err, node_is_fused(ctx->node), &p->a));
    }
    OQ_TRY(resolve(ctx, &p->a, &p->s));
    const struct conv_shape *s = &p->s;
    const struct oq_conv2d_geom *g = &s->geom;
    int nth = oq_pool_size(ctx->pool);
    p->nth_scratch = nth;
    p->col_stride = 0;
    ctx->scratch_bytes = 0;
    if (s->G == s->C && s->G == s->M) {
        p->path = PATH_DEPTHWISE;
        return OQ_OK;
    }
    bool is1x1 = g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_t == 0 &&
                 g->pad_l == 0 && s->OH == s->H && s->OW == s->W;
    p->path = is1x1 ? PATH_1X1 : PATH_IM2COL;
    int64_t rows = s->Kdim > s->Mg ? s->Kdim : s->Mg;
    int64_t tile = CONV_TILE_BYTES / (int64_t)sizeof(float) / (rows > 0 ? rows : 1);
    if (tile < CONV_TILE_MIN)
        tile = CONV_TILE_MIN;
    /* enough tasks for every thread */
    int64_t per_img = s->N * s->G;
    if (per_img > 0 && per_img < nth) { /* batch 0: nothing to split */
        int64_t want = (nth + per_img - 1) / per_img;
        int64_t t = (s->P + want - 1) / want;
        if (t < tile)
            tile = t;
    }
    tile = (tile + 15) / 16 * 16;
    if (tile >= s->P || tile < 1)
        tile = s->P > 0 ? s->P : 1;
    p->tile = tile;
    p->ntiles = (s->P + tile - 1) / tile;
    if (p->path == PATH_IM2COL) {
        size_t bytes = (size_t)(s->Kdim * tile) * sizeof(float);
        p->col_stride = (bytes + 63) / 64 * 64 / sizeof(float);
        ctx->scratch_bytes = p->col_stride * sizeof(float) * (size_t)nth;
    }
    return OQ_OK;
}

struct conv_job {
    const struct conv_priv *p;
    const struct oq_kernels *k;
    const float *x, *w, *b;
    const float *z;  /* FusedConv summand with the output's shape, added in the epilogue; NULL if none */
    const float *ps, *pt; /* post-activation per-channel scale and shift (1 or M values each); NULL if none */
    bool ps_all, pt_all;  /* true: one value per channel; false: a single value */
    float *y, *scratch;
    int64_t ntasks;
};

static const struct oq_act act_none = {.kind = OQ_ACT_NONE};

/* row = row * S[c] + T[c] after the activation (the "learnable affine block" some exporters emit) */
static void post_affine(const struct conv_job *j, int64_t c, float *row, int64_t n) {
    if (!j->ps && !j->pt)
        return;
    float sc = j->ps ? j->ps[j->ps_all ? c : 0] : 1.0f, sh = j->pt ? j->pt[j->pt_all ? c : 0] : 0.0f;
    for (int64_t i = 0; i < n; i++)
        row[i] = row[i] * sc + sh;
}

static void conv_dw_task(void *arg, int ith, int nth) {
    const struct conv_job *j = arg;
    const struct conv_shape *s = &j->p->s;
    const struct oq_act *act = &j->p->a.act;
    int64_t b0, b1;
    oq_split(s->N * s->C, ith, nth, &b0, &b1);
    int64_t kk = (int64_t)s->geom.k_h * s->geom.k_w;
    for (int64_t pl = b0; pl < b1; pl++) {
        int64_t c = pl % s->C;
        float *y = j->y + pl * s->P;
        if (!j->z) {
            j->k->dwconv(&s->geom, j->x + pl * s->H * s->W, j->w + c * kk, j->b ? j->b[c] : 0.0f, y, act);
            post_affine(j, c, y, s->P);
            continue;
        }
        /* with a summand the activation comes after the add */
        j->k->dwconv(&s->geom, j->x + pl * s->H * s->W, j->w + c * kk, j->b ? j->b[c] : 0.0f, y, &act_none);
        const float *z = j->z + pl * s->P;
        for (int64_t i = 0; i < s->P; i++)
            y[i] += z[i];
        if (act->kind != OQ_ACT_NONE)
            j->k->act_row(act, 0.0f, y, s->P);
        post_affine(j, c, y, s->P);
    }
}

static void conv_gemm_task(void *arg, int ith, int nth) {
    const struct conv_job *j = arg;
    const struct conv_priv *p = j->p;
    const struct conv_shape *s = &p->s;
    const struct oq_act *act = &p->a.act;
    float *col = j->scratch ? j->scratch + (size_t)ith * p->col_stride : NULL;
    int64_t t0, t1;
    oq_split(j->ntasks, ith, nth, &t0, &t1);
    bool epilogue = j->b || j->z || j->ps || j->pt || act->kind != OQ_ACT_NONE;
    for (int64_t t = t0; t < t1; t++) {
        int64_t tile = t % p->ntiles, ng = t / p->ntiles;
        int64_t n = ng / s->G, g = ng % s->G;
        int64_t p0 = tile * p->tile, p1 = p0 + p->tile < s->P ? p0 + p->tile : s->P;
        const float *x = j->x + (n * s->C + g * s->Cg) * s->H * s->W;
        float *y = j->y + (n * s->M + g * s->Mg) * s->P;
        const float *B;
        int64_t ldb;
        if (p->path == PATH_1X1) {
            B = x + p0;
            ldb = s->P;
        } else {
            j->k->im2col(&s->geom, s->Cg, x, p0, p1, col, p1 - p0);
            B = col;
            ldb = p1 - p0;
        }
        j->k->sgemm(j->k, NULL, false, false, s->Mg, p1 - p0, s->Kdim, 1.0f, j->w + g * s->Mg * s->Kdim,
                    s->Kdim, B, ldb, 0.0f, y + p0, s->P);
        if (!epilogue)
            continue;
        for (int64_t m = 0; m < s->Mg; m++) {
            float *row = y + m * s->P + p0;
            if (j->z) { /* while the tile is in cache: row += z, then act(row + bias) */
                const float *zr = j->z + (n * s->M + g * s->Mg + m) * s->P + p0;
                for (int64_t i = 0; i < p1 - p0; i++)
                    row[i] += zr[i];
            }
            j->k->act_row(act, j->b ? j->b[g * s->Mg + m] : 0.0f, row, p1 - p0);
            post_affine(j, g * s->Mg + m, row, p1 - p0);
        }
    }
}

/* Rare path: y = act(y + Z) for a Z that broadcasts to y (numpy rules; checked in infer). */
static void add_broadcast_then_act(const struct oq_op_ctx *ctx, const struct oq_tensor *zt, const struct oq_act *act) {
    struct oq_tensor *y = ctx->out[0];
    const struct oq_tensor *ins[2] = {y, zt};
    struct oq_bcast b;
    oq_bcast_init(&b, y, 2, ins);
    float *yd = y->data;
    const float *zd = zt->data;
    int64_t n = oq_tensor_numel(y), idx[OQ_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < b.ndim; d++)
            off += idx[d] * b.strides[1][d];
        yd[i] += zd[off];
        for (int d = b.ndim - 1; d >= 0; d--) {
            if (++idx[d] < b.dims[d])
                break;
            idx[d] = 0;
        }
    }
    if (act->kind != OQ_ACT_NONE)
        ctx->kernels->act_row(act, 0.0f, yd, n);
}

static oq_status conv_run(struct oq_op_ctx *ctx) {
    const struct conv_priv *p = ctx->priv;
    if (!p)
        return oq_op_error(ctx, OQ_ERR_ARG, "run before prepare");
    const struct oq_tensor *bt = ctx->n_in > 2 ? ctx->in[2] : NULL;
    const struct oq_tensor *zt = ctx->n_in > 3 ? ctx->in[3] : NULL;
    /* a summand of the output's exact shape is added in the epilogue; any other (broadcast) shape after */
    bool z_same = zt && zt->ndim == ctx->out[0]->ndim &&
                  !memcmp(zt->dims, ctx->out[0]->dims, sizeof(int64_t) * (size_t)zt->ndim);
    struct conv_priv pz;
    if (zt && !z_same) {
        pz = *p;
        pz.a.act = act_none;
        p = &pz;
    }
    const struct oq_tensor *st = ctx->n_in > 4 ? ctx->in[4] : NULL, *tt = ctx->n_in > 5 ? ctx->in[5] : NULL;
    struct conv_job j = {
        .p = p, .k = ctx->kernels,
        .x = ctx->in[0]->data, .w = ctx->in[1]->data, .b = bt ? bt->data : NULL,
        .z = z_same ? zt->data : NULL,
        .ps = st ? st->data : NULL, .pt = tt ? tt->data : NULL,
        .ps_all = st && oq_tensor_numel(st) > 1, .pt_all = tt && oq_tensor_numel(tt) > 1,
        .y = ctx->out[0]->data, .scratch = ctx->scratch,
    };
    if ((st || tt) && zt && !z_same)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "a broadcast summand with a post-activation affine");
    const struct conv_shape *s = &p->s;
    if (oq_tensor_numel(ctx->out[0]) == 0)
        return OQ_OK;
    if (p->path == PATH_DEPTHWISE) {
        int64_t work = s->N * s->C * s->P * s->geom.k_h * s->geom.k_w;
        int nth = oq_pool_threads_for(ctx->pool, work, 1 << 16);
        if (nth > s->N * s->C)
            nth = (int)(s->N * s->C);
        oq_pool_run(ctx->pool, conv_dw_task, &j, nth);
        if (zt && !z_same)
            add_broadcast_then_act(ctx, zt, &((const struct conv_priv *)ctx->priv)->a.act);
        return OQ_OK;
    }
    if (p->path == PATH_IM2COL && (!ctx->scratch || ctx->scratch_bytes < p->col_stride * sizeof(float)))
        return oq_op_error(ctx, OQ_ERR_ARG, "needs %zu bytes of scratch, got %zu", p->col_stride * sizeof(float),
                           ctx->scratch_bytes);
    j.ntasks = s->N * s->G * p->ntiles;
    int64_t macs = s->N * s->M * s->P * s->Kdim;
    int nth = oq_pool_threads_for(ctx->pool, macs, 1 << 18);
    if (nth > j.ntasks)
        nth = (int)j.ntasks;
    if (p->path == PATH_IM2COL) { /* one scratch slice per thread */
        int slots = (int)(ctx->scratch_bytes / (p->col_stride * sizeof(float)));
        if (nth > slots)
            nth = slots;
    }
    oq_pool_run(ctx->pool, conv_gemm_task, &j, nth);
    if (zt && !z_same)
        add_broadcast_then_act(ctx, zt, &((const struct conv_priv *)ctx->priv)->a.act);
    return OQ_OK;
}

static void conv_destroy(void *priv) { free(priv); }

static int64_t conv_macs(const struct oq_op_ctx *ctx) {
    const struct oq_tensor *x = ctx->in[0], *w = ctx->in[1], *y = ctx->out[0];
    if (!x || !w || !y || w->ndim < 2)
        return 0;
    /* each output element takes (C/group) * kh * kw products = numel(W) / M */
    int64_t per_out = w->dims[0] > 0 ? oq_tensor_numel(w) / w->dims[0] : 0;
    return oq_tensor_numel(y) * per_out;
}

const struct oq_op_def oq_op_conv = {
    .domain  = "",
    .name    = "Conv",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = conv_check,
    .infer   = conv_infer,
    .prepare = conv_prepare,
    .run     = conv_run,
    .destroy = conv_destroy,
    .macs    = conv_macs,
};

const struct oq_op_def oq_op_fusedconv = {
    .domain  = "com.onnxq",
    .name    = "FusedConv",
    .since   = 1,
    .until   = OQ_OPSET_MAX,
    .check   = conv_check,
    .infer   = conv_infer,
    .prepare = conv_prepare,
    .run     = conv_run,
    .destroy = conv_destroy,
    .macs    = conv_macs,
};
