#include "quant/adaround.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib/qmath.h"
#include "core/pool.h"
#include "core/status.h"
#include "kernels/conv.h"
#include "kernels/dispatch.h"
#include "ops/conv2d_attrs.h"
#include "quant/fp32_pass.h"

/* Rows of one Adam task: a GEMM of ROW_BLOCK x K x K per step keeps the GEMM efficient and the state of a task
 * small. Tasks are fixed by the layer's shape, not by the thread count, so results do not depend on it. */
enum { ROW_BLOCK = 64 };
/* im2col tile: at most this many floats of columns at a time. */
enum { TILE_FLOATS = 1 << 20 };

enum layer_kind { L_CONV, L_GEMM, L_MATMUL };

struct layer {
    int node, wv;          /* node and its weight value in g */
    const char *name;      /* for messages and to find the node in the QDQ copy */
    const char *in_name;   /* the node's input 0 (the same name in fp) */
    enum layer_kind kind;
    bool trans_a, trans_b;
    int64_t R, K, G;       /* output rows, inputs per row (per group), groups */
    struct oq_conv2d_attrs a;
    int64_t cin, kh, kw;   /* Conv: input channels and kernel (1-D: kh = 1) */
    /* from the QDQ writer */
    enum oq_dtype wdt;
    int64_t n_scale;       /* 1 or R */
    float *scale;          /* [n_scale] */
    int32_t *near;         /* [R*K] its codes, by row */
    /* data */
    double *H;             /* [G][K][K] during its pass */
    int64_t cols;          /* columns (rows of X) accumulated, per group */
    bool seen;
};

struct ctx {
    const oq_model *fp;
    struct oq_graph *g;
    const struct oq_adaround_options *o;
    struct oq_adaround_stats *st;
    struct oq_kernels k;
    struct oq_pool *pool;
    struct layer *L;
    int n;
    int p0, p1;            /* layers of the current pass */
    float *col, *tmp;      /* accumulation scratch (hook thread only) */
    size_t col_cap, tmp_cap;
    oq_error herr;         /* a shape surprise inside the hook */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct oq_adaround_options oq_adaround_options_default(void) {
    return (struct oq_adaround_options){.iters = 500, .lr = 1e-2f, .lambda = 10.0f, .warmup = 0.2f, .threads = 0,
                                        .max_k = 4096, .max_gram_bytes = (int64_t)512 << 20};
}

static const char *model_name(const oq_model *m) {
    const struct oq_graph *g = oq_model_graph(m);
    return m->path ? m->path : g && g->source ? g->source : "model";
}

static bool grow(float **buf, size_t *cap, size_t need) {
    if (need <= *cap)
        return true;
    float *nb = realloc(*buf, need * sizeof(float));
    if (!nb)
        return false;
    *buf = nb;
    *cap = need;
    return true;
}

/* ------------------------------------------------------------------ which layers */

static void free_layers(struct layer *L, int n) {
    for (int i = 0; L && i < n; i++)
        free(L[i].scale), free(L[i].near), free(L[i].H);
    free(L);
}

/* Quantized Conv / Gemm / MatMul of g with a float weight initializer read by that node only and a shape
 * AdaRound handles; the others are counted in st. */
static oq_status find_layers(struct ctx *c, const struct oq_quant_plan *plan, oq_error *err) {
    const struct oq_graph *g = c->g;
    int *readers = calloc((size_t)g->n_values + 1, sizeof(int));
    c->L = calloc((size_t)g->n_nodes + 1, sizeof(*c->L));
    if (!readers || !c->L) {
        free(readers);
        return oq_errorf(err, OQ_ERR_NOMEM, "AdaRound: out of memory");
    }
    oq_graph_count_all_uses(g, readers);
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *nd = &g->nodes[i];
        enum layer_kind kind;
        if (!strcmp(nd->op_type, "Conv"))
            kind = L_CONV;
        else if (!strcmp(nd->op_type, "Gemm"))
            kind = L_GEMM;
        else if (!strcmp(nd->op_type, "MatMul"))
            kind = L_MATMUL;
        else
            continue;
        if (*nd->domain || !plan->node[i].quantize || nd->n_in < 2 || nd->n_out < 1 || nd->in[0] < 0 ||
            nd->in[1] < 0 || nd->out[0] < 0)
            continue;
        const struct oq_tensor *wt = g->values[nd->in[1]].init;
        if (!wt || wt->dtype != OQ_DTYPE_FLOAT) {
            c->st->skipped_not_init++;
            continue;
        }
        if (readers[nd->in[1]] != 1) {
            c->st->skipped_shared++;
            continue;
        }
        struct layer y = {.node = i, .wv = nd->in[1], .kind = kind, .G = 1, .kh = 1};
        y.name = nd->name && *nd->name ? nd->name : g->values[nd->out[0]].name;
        y.in_name = g->values[nd->in[0]].name;
        bool ok = !g->values[nd->in[0]].init; /* a constant input is not calibration data */
        if (kind == L_CONV) {
            oq_error e = {0};
            ok = ok && (wt->ndim == 3 || wt->ndim == 4) && !oq_conv2d_attrs_parse(nd, "AdaRound", &e, &y.a) &&
                 (y.a.nsp == 0 || y.a.nsp == wt->ndim - 2);
            if (ok) {
                y.G = y.a.group;
                y.kw = wt->dims[wt->ndim - 1];
                y.kh = wt->ndim == 4 ? wt->dims[2] : 1;
                if (y.a.has_kernel)
                    ok = y.a.kernel[0] == y.kh && y.a.kernel[1] == y.kw;
                y.a.kernel[0] = y.kh, y.a.kernel[1] = y.kw;
                y.R = wt->dims[0];
                y.K = wt->dims[1] * y.kh * y.kw;
                y.cin = wt->dims[1] * y.G;
                ok = ok && y.R % y.G == 0;
            }
        } else if (kind == L_GEMM) {
            y.trans_a = oq_attr_int(nd, "transA", 0) != 0;
            y.trans_b = oq_attr_int(nd, "transB", 0) != 0;
            ok = ok && wt->ndim == 2;
            y.K = wt->dims[y.trans_b ? 1 : 0];
            y.R = wt->dims[y.trans_b ? 0 : 1];
        } else {
            ok = ok && wt->ndim == 2; /* a batched B [..., K, N] has one weight matrix per batch: not handled */
            y.K = wt->dims[0];
            y.R = wt->dims[1];
        }
        if (!ok || y.R < 1 || y.K < 1) {
            c->st->skipped_unsupported++;
            continue;
        }
        if (y.K > c->o->max_k) {
            c->st->skipped_too_large++;
            continue;
        }
        c->L[c->n++] = y;
    }
    free(readers);
    return OQ_OK;
}

/* Weight element (row r, input k) in the initializer's layout. */
static int64_t w_index(const struct layer *y, int64_t r, int64_t k) {
    return y->kind == L_CONV || (y->kind == L_GEMM && y->trans_b) ? r * y->K + k : k * y->R + r;
}

static int32_t read_code(const struct oq_tensor *t, int64_t i) {
    return t->dtype == OQ_DTYPE_INT8 ? ((const int8_t *)t->data)[i] : ((const int16_t *)t->data)[i];
}

/* The scales and nearest codes the QDQ writer gives each layer's weight: the writer run on a copy of g; the node
 * found by name (or by its output, which the writer renames when it is a graph output), its weight input traced
 * to the DequantizeLinear of the quantized initializer. Layers the writer left float are dropped (unsupported). */
static oq_status writer_params(struct ctx *c, const struct oq_quant_plan *plan, const struct oq_qdq_options *qo,
                               oq_error *err) {
    struct oq_graph *gq = oq_graph_clone(c->g, true);
    if (!gq)
        return oq_errorf(err, OQ_ERR_NOMEM, "AdaRound: out of memory copying the graph");
    struct oq_qdq_options o = qo ? *qo : oq_qdq_options_default();
    o.stats = NULL;
    oq_status st = oq_qdq_apply(gq, plan, &o, err);
    if (st) {
        oq_graph_free(gq);
        return oq_error_prefix(err, st, "AdaRound: writing the QDQ model to read its weight scales: ");
    }
    char alt[1024];
    int kept = 0;
    for (int l = 0; l < c->n; l++) {
        struct layer *y = &c->L[l];
        const struct oq_node *on = &c->g->nodes[y->node];
        const char *oname = c->g->values[on->out[0]].name;
        snprintf(alt, sizeof(alt), "%s_QuantizeLinear_Input", oname);
        const struct oq_node *dq = NULL;
        for (int i = 0; i < gq->n_nodes && !dq; i++) {
            const struct oq_node *nd = &gq->nodes[i];
            const char *o0 = nd->n_out > 0 && nd->out[0] >= 0 ? gq->values[nd->out[0]].name : "";
            bool same = (on->name && *on->name) ? !strcmp(nd->name ? nd->name : "", on->name)
                                                : !strcmp(o0, oname) || !strcmp(o0, alt);
            if (!same || strcmp(nd->op_type, on->op_type) || nd->n_in < 2 || nd->in[1] < 0)
                continue;
            int p = gq->values[nd->in[1]].producer;
            if (p >= 0 && !strcmp(gq->nodes[p].op_type, "DequantizeLinear"))
                dq = &gq->nodes[p];
            else
                break;
        }
        const struct oq_tensor *qt = dq && dq->n_in >= 2 && dq->in[0] >= 0 ? gq->values[dq->in[0]].init : NULL;
        const struct oq_tensor *stt = dq && dq->in[1] >= 0 ? gq->values[dq->in[1]].init : NULL;
        bool zp_ok = !dq || dq->n_in < 3 || dq->in[2] < 0;
        if (dq && !zp_ok) { /* an explicit zero point: all zeros is fine */
            const struct oq_tensor *zt = gq->values[dq->in[2]].init;
            zp_ok = zt && (zt->dtype == OQ_DTYPE_INT8 || zt->dtype == OQ_DTYPE_INT16);
            for (int64_t i = 0; zp_ok && i < oq_tensor_numel(zt); i++)
                zp_ok = read_code(zt, i) == 0;
        }
        int64_t ns = stt ? oq_tensor_numel(stt) : 0;
        if (!qt || !stt || !zp_ok || (qt->dtype != OQ_DTYPE_INT8 && qt->dtype != OQ_DTYPE_INT16) ||
            stt->dtype != OQ_DTYPE_FLOAT || oq_tensor_numel(qt) != y->R * y->K || (ns != 1 && ns != y->R)) {
            c->st->skipped_unsupported++;
            continue;
        }
        y->wdt = qt->dtype;
        y->n_scale = ns;
        y->scale = malloc(sizeof(float) * (size_t)ns);
        y->near = malloc(sizeof(int32_t) * (size_t)(y->R * y->K));
        if (!y->scale || !y->near) {
            free(y->scale), free(y->near);
            y->scale = NULL, y->near = NULL;
            oq_graph_free(gq);
            return oq_errorf(err, OQ_ERR_NOMEM, "AdaRound: out of memory");
        }
        memcpy(y->scale, stt->data, sizeof(float) * (size_t)ns);
        for (int64_t r = 0; r < y->R; r++)
            for (int64_t k = 0; k < y->K; k++)
                y->near[r * y->K + k] = read_code(qt, w_index(y, r, k));
        if (kept != l) {
            c->L[kept] = *y;
            y->scale = NULL, y->near = NULL;
        }
        kept++;
    }
    c->n = kept;
    oq_graph_free(gq);
    return OQ_OK;
}

/* ------------------------------------------------------------------ Gram matrices */

/* H[K][K] += tmp[K][K] */
static void add_gram(double *H, const float *tmp, int64_t K) {
    for (int64_t i = 0; i < K * K; i++)
        H[i] += tmp[i];
}

/* Conv input x [N, Cin, (H,) W]: im2col columns per image and group, in tiles, X X^T into H of the group. */
static bool gram_conv(struct ctx *c, struct layer *y, const oq_tensor_ref *x) {
    int sp = y->kh > 1 || x->ndim == 4 ? 2 : 1;
    if (x->ndim != 2 + sp || x->dims[1] != y->cin)
        return false;
    int64_t in[2] = {sp == 2 ? x->dims[2] : 1, x->dims[x->ndim - 1]}, out[2], pb[2];
    for (int d = 0; d < 2; d++) { /* as ops/conv2d_attrs.c: oq_conv2d_out_dim */
        const struct oq_conv2d_attrs *a = &y->a;
        int64_t k = a->kernel[d], s = a->strides[d], ek = (k - 1) * a->dil[d] + 1;
        int64_t b = a->pads[d], e = a->pads[d + 2];
        if (a->auto_pad == OQ_AUTO_PAD_VALID) {
            b = e = 0;
        } else if (a->auto_pad != OQ_AUTO_PAD_NOTSET) {
            int64_t o = (in[d] + s - 1) / s, total = (o - 1) * s + ek - in[d];
            total = total < 0 ? 0 : total;
            b = a->auto_pad == OQ_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            e = total - b;
        }
        if (in[d] + b + e - ek < 0)
            return false;
        out[d] = (in[d] + b + e - ek) / s + 1;
        pb[d] = b;
    }
    struct oq_conv2d_geom geo = {.in_h = in[0], .in_w = in[1], .out_h = out[0], .out_w = out[1],
                                 .k_h = (int32_t)y->kh, .k_w = (int32_t)y->kw,
                                 .stride_h = (int32_t)y->a.strides[0], .stride_w = (int32_t)y->a.strides[1],
                                 .pad_t = (int32_t)pb[0], .pad_l = (int32_t)pb[1],
                                 .dil_h = (int32_t)y->a.dil[0], .dil_w = (int32_t)y->a.dil[1]};
    int64_t K = y->K, cg = y->cin / y->G, npos = out[0] * out[1], plane = in[0] * in[1];
    int64_t tile = TILE_FLOATS / K < 1 ? 1 : TILE_FLOATS / K;
    tile = tile > npos ? npos : tile;
    if (!grow(&c->col, &c->col_cap, (size_t)(K * tile)) || !grow(&c->tmp, &c->tmp_cap, (size_t)(K * K)))
        return false;
    const float *xd = x->data;
    for (int64_t n = 0; n < x->dims[0]; n++)
        for (int64_t grp = 0; grp < y->G; grp++)
            for (int64_t p0 = 0; p0 < npos; p0 += tile) {
                int64_t p1 = p0 + tile < npos ? p0 + tile : npos, P = p1 - p0;
                c->k.im2col(&geo, cg, xd + (n * y->cin + grp * cg) * plane, p0, p1, c->col, P);
                c->k.sgemm(&c->k, NULL, false, true, K, K, P, 1.0f, c->col, P, c->col, P, 0.0f, c->tmp, K);
                add_gram(y->H + grp * K * K, c->tmp, K);
            }
    y->cols += x->dims[0] * npos;
    return true;
}

/* Gemm / MatMul input: rows of length K (Gemm transA: columns of A [K, M]). */
static bool gram_rows(struct ctx *c, struct layer *y, const oq_tensor_ref *x) {
    int64_t K = y->K, numel = 1;
    for (int d = 0; d < x->ndim; d++)
        numel *= x->dims[d];
    if (y->kind == L_GEMM ? x->ndim != 2 || x->dims[y->trans_a ? 0 : 1] != K : x->ndim < 1 || x->dims[x->ndim - 1] != K)
        return false;
    if (!grow(&c->tmp, &c->tmp_cap, (size_t)(K * K)))
        return false;
    int64_t rows = numel / K;
    if (y->trans_a)
        c->k.sgemm(&c->k, NULL, false, true, K, K, rows, 1.0f, x->data, rows, x->data, rows, 0.0f, c->tmp, K);
    else
        c->k.sgemm(&c->k, NULL, true, false, K, K, rows, 1.0f, x->data, K, x->data, K, 0.0f, c->tmp, K);
    add_gram(y->H, c->tmp, K);
    y->cols += rows;
    return true;
}

/* Accumulate y into every layer of the pass whose input it is; false (message in herr) on a surprise. */
static bool take(struct ctx *c, const oq_tensor_ref *t) {
    for (int l = c->p0; l < c->p1; l++) {
        struct layer *y = &c->L[l];
        if (!t->name || strcmp(t->name, y->in_name))
            continue;
        bool ok = t->dtype == OQ_DTYPE_FLOAT && (y->kind == L_CONV ? gram_conv(c, y, t) : gram_rows(c, y, t));
        if (!ok) {
            oq_errorf(&c->herr, OQ_ERR_SHAPE, "AdaRound: input '%s' of node '%s' (%s, %s) has a shape or type the "
                      "layer's weight does not fit, or memory ran out; quantize without --adaround, or skip that "
                      "node", t->name, y->name, c->g->nodes[y->node].op_type, model_name(c->fp));
            return false;
        }
        y->seen = true;
    }
    return true;
}

static int hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs) {
    (void)node_index, (void)node_name, (void)op_type;
    struct ctx *c = user;
    for (int k = 0; k < n_out; k++)
        if (!take(c, &outs[k]))
            return 1;
    return 0;
}

static int input(void *user, const oq_tensor_ref *in) { return take(user, in) ? 0 : 1; }

/* One FP32 pass over src for layers [p0, p1). */
static oq_status collect(struct ctx *c, struct oq_data_source *src, int64_t *batches, oq_error *err) {
    struct oq_fp32_pass fp = {.hook = hook, .input = input, .user = c, .user_err = &c->herr,
                              .threads = c->o->threads};
    OQ_TRY(oq_fp32_pass_run(c->fp, src, &fp, batches, err));
    if (*batches == 0)
        return oq_errorf(err, OQ_ERR_ARG, "AdaRound on %s: the calibration data gave no batch; give --data with at "
                         "least one sample, or quantize without --adaround", model_name(c->fp));
    return OQ_OK;
}

/* ------------------------------------------------------------------ optimization */

/* Per layer, by row (r, k) = r * K + k. */
struct opt {
    struct ctx *c;
    struct layer *y;
    const float *Hf;     /* [G][K][K] float copy of H for the GEMMs */
    float *w;            /* original weights */
    float *s;            /* scale per row */
    int32_t *lo;         /* code for h = 0 */
    uint8_t *fixed;      /* 1: the code is lo, not optimized (clamped, or it sets the abs max) */
    float *V;            /* soft variable */
    int32_t *q;          /* chosen codes */
    double *e_near, *e_ada; /* per row */
    double inv;          /* normalization of the reconstruction term */
    int64_t n_tasks, blocks_per_group;
    const struct oq_adaround_options *o;
    bool nomem;
};

static inline float rect_sigmoid(float v, float *dh) {
    float sg = 1.0f / (1.0f + expf(-v)), h = 1.2f * sg - 0.1f;
    *dh = h > 0.0f && h < 1.0f ? 1.2f * sg * (1.0f - sg) : 0.0f;
    return h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h;
}

/* sum over rows [r0, r1) of d_r H d_r^T, d = fl(q * s) - w, in double with the double H; per row into e. */
static void row_errors(const struct opt *p, const double *H, int64_t r0, int64_t r1, const int32_t *q, double *e,
                       double *d) {
    int64_t K = p->y->K;
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t k = 0; k < K; k++)
            d[k] = (double)((float)q[r * K + k] * p->s[r]) - (double)p->w[r * K + k];
        double acc = 0;
        for (int64_t i = 0; i < K; i++) {
            double hi = 0;
            const double *Hi = H + i * K;
            for (int64_t j = 0; j < K; j++)
                hi += Hi[j] * d[j];
            acc += d[i] * hi;
        }
        e[r] = acc;
    }
}

static void task_range(const struct opt *p, int64_t t, int64_t *grp, int64_t *r0, int64_t *r1) {
    int64_t rg = p->y->R / p->y->G;
    *grp = t / p->blocks_per_group;
    int64_t b = t % p->blocks_per_group;
    *r0 = *grp * rg + b * ROW_BLOCK;
    *r1 = *r0 + ROW_BLOCK < (*grp + 1) * rg ? *r0 + ROW_BLOCK : (*grp + 1) * rg;
}

/* Nearest rounding's error per row. */
static void near_task(void *arg, int ith, int nth) {
    struct opt *p = arg;
    double *d = malloc(sizeof(double) * (size_t)p->y->K);
    if (!d) {
        p->nomem = true;
        return;
    }
    for (int64_t t = ith; t < p->n_tasks; t += nth) {
        int64_t grp, r0, r1;
        task_range(p, t, &grp, &r0, &r1);
        row_errors(p, p->y->H + grp * p->y->K * p->y->K, r0, r1, p->y->near, p->e_near, d);
    }
    free(d);
}

/* Adam on V for the rows of each task, then hard rounding and its error. */
static void adam_task(void *arg, int ith, int nth) {
    struct opt *p = arg;
    const struct layer *y = p->y;
    const struct oq_adaround_options *o = p->o;
    int64_t K = y->K;
    size_t nb = (size_t)(ROW_BLOCK * K);
    float *D = malloc(sizeof(float) * nb), *Gr = malloc(sizeof(float) * nb), *dh = malloc(sizeof(float) * nb);
    float *hh = malloc(sizeof(float) * nb), *m1 = malloc(sizeof(float) * nb), *m2 = malloc(sizeof(float) * nb);
    double *d = malloc(sizeof(double) * (size_t)K);
    if (!D || !Gr || !dh || !hh || !m1 || !m2 || !d) {
        p->nomem = true;
        goto done;
    }
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    int warm = (int)(o->warmup * (float)o->iters);
    for (int64_t t = ith; t < p->n_tasks; t += nth) {
        int64_t grp, r0, r1;
        task_range(p, t, &grp, &r0, &r1);
        int64_t rows = r1 - r0, base = r0 * K;
        memset(m1, 0, sizeof(float) * nb);
        memset(m2, 0, sizeof(float) * nb);
        double b1t = 1, b2t = 1;
        for (int it = 0; it < o->iters; it++) {
            float lam = 0, beta = 20.0f;
            if (it >= warm) { /* the paper's schedule: beta 20 -> 2, linear after the warm-up */
                float rel = (float)(it - warm) / (float)(o->iters - warm > 0 ? o->iters - warm : 1);
                beta = 2.0f + 18.0f * (1.0f - rel);
                lam = o->lambda;
            }
            for (int64_t i = 0; i < rows * K; i++) {
                int64_t e = base + i;
                float h = p->fixed[e] ? 0.0f : rect_sigmoid(p->V[e], &dh[i]);
                hh[i] = h;
                D[i] = p->s[r0 + i / K] * ((float)p->lo[e] + h) - p->w[e];
            }
            /* gradient of sum_r D_r H D_r^T: 2 D H (H symmetric) */
            p->c->k.sgemm(&p->c->k, NULL, false, false, rows, K, K, 1.0f, D, K, p->Hf + grp * K * K, K, 0.0f, Gr, K);
            b1t *= b1, b2t *= b2;
            float c1 = (float)(1.0 / (1.0 - b1t)), c2 = (float)(1.0 / (1.0 - b2t));
            for (int64_t i = 0; i < rows * K; i++) {
                int64_t e = base + i;
                if (p->fixed[e])
                    continue;
                float gh = (float)(2.0 * p->inv) * p->s[r0 + i / K] * Gr[i];
                if (lam > 0) { /* d/dh lambda (1 - |2h - 1|^beta) */
                    float u = 2.0f * hh[i] - 1.0f, au = fabsf(u);
                    float pw = au > 0 ? powf(au, beta - 1.0f) : 0.0f;
                    gh += lam * -2.0f * beta * pw * (u < 0 ? -1.0f : 1.0f);
                }
                float gv = gh * dh[i];
                m1[i] = b1 * m1[i] + (1 - b1) * gv;
                m2[i] = b2 * m2[i] + (1 - b2) * gv * gv;
                p->V[e] -= o->lr * (m1[i] * c1) / (sqrtf(m2[i] * c2) + eps);
            }
        }
        for (int64_t i = 0; i < rows * K; i++) {
            int64_t e = base + i;
            float unused;
            p->q[e] = p->lo[e] + (!p->fixed[e] && rect_sigmoid(p->V[e], &unused) >= 0.5f);
        }
        row_errors(p, y->H + grp * K * K, r0, r1, p->q, p->e_ada, d);
    }
done:
    free(D), free(Gr), free(dh), free(hh), free(m1), free(m2), free(d);
}

/* The code nearest to x with scale s, as the writer computes it. */
static int32_t quant_one(float x, float s, enum oq_dtype dt) {
    int16_t q16 = 0;
    int8_t q8 = 0;
    if (dt == OQ_DTYPE_INT8) {
        oq_quantize_f32(&x, 1, s, 0, dt, &q8);
        return q8;
    }
    oq_quantize_f32(&x, 1, s, 0, dt, &q16);
    return q16;
}

static oq_status optimize(struct ctx *c, struct layer *y, oq_error *err) {
    struct oq_tensor *wt = c->g->values[y->wv].init;
    float *wd = wt->data;
    int64_t R = y->R, K = y->K, n = R * K, ns = y->n_scale;
    struct opt p = {.c = c, .y = y, .o = c->o};
    p.blocks_per_group = (R / y->G + ROW_BLOCK - 1) / ROW_BLOCK;
    p.n_tasks = p.blocks_per_group * y->G;
    float *Hf = malloc(sizeof(float) * (size_t)(y->G * K * K));
    float *wmax = calloc((size_t)ns, sizeof(float));
    int32_t *cmax = calloc((size_t)ns, sizeof(int32_t));
    p.Hf = Hf;
    p.w = malloc(sizeof(float) * (size_t)n);
    p.s = malloc(sizeof(float) * (size_t)R);
    p.lo = malloc(sizeof(int32_t) * (size_t)n);
    p.fixed = malloc((size_t)n);
    p.V = malloc(sizeof(float) * (size_t)n);
    p.q = malloc(sizeof(int32_t) * (size_t)n);
    p.e_near = calloc((size_t)R, sizeof(double));
    p.e_ada = calloc((size_t)R, sizeof(double));
    oq_status st = OQ_OK;
    if (!Hf || !wmax || !cmax || !p.w || !p.s || !p.lo || !p.fixed || !p.V || !p.q || !p.e_near || !p.e_ada) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "AdaRound: out of memory for layer '%s'", y->name);
        goto done;
    }
    for (int64_t i = 0; i < y->G * K * K; i++)
        Hf[i] = (float)y->H[i];
    for (int64_t r = 0; r < R; r++) {
        p.s[r] = y->scale[ns > 1 ? r : 0];
        for (int64_t k = 0; k < K; k++) {
            float v = wd[w_index(y, r, k)];
            p.w[r * K + k] = v;
            wmax[ns > 1 ? r : 0] = fmaxf(wmax[ns > 1 ? r : 0], fabsf(v));
        }
    }
    /* the largest code the writer gives (that of the abs max): AdaRound never goes beyond, so the abs max and
     * with it the scale stay */
    for (int64_t j = 0; j < ns; j++)
        cmax[j] = abs(quant_one(wmax[j], y->scale[j], y->wdt));
    int64_t n_free = 0;
    for (int64_t e = 0; e < n; e++) {
        int64_t j = ns > 1 ? e / K : 0;
        double x = (double)p.w[e] / (double)p.s[e / K];
        double f = floor(x);
        int32_t lo = (int32_t)fmax(-cmax[j], fmin(cmax[j], f)), hi = (int32_t)fmax(-cmax[j], fmin(cmax[j], f + 1));
        int32_t nq = y->near[e];
        bool fix = lo == hi || fabsf(p.w[e]) == wmax[j] || (nq != lo && nq != hi);
        p.fixed[e] = fix;
        p.lo[e] = fix ? nq : lo;
        float frac = (float)(x - f);
        frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
        float sg = (frac + 0.1f) / 1.2f;
        p.V[e] = fix ? 0.0f : logf(sg / (1.0f - sg));
        n_free += !fix;
    }
    oq_pool_run(c->pool, near_task, &p, oq_pool_size(c->pool));
    double e_near = 0, e_ada = 0;
    for (int64_t r = 0; r < R; r++)
        e_near += p.e_near[r];
    if (p.nomem) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "AdaRound: out of memory for layer '%s'", y->name);
        goto done;
    }
    if (!(e_near > 0) || n_free == 0) { /* nothing to gain: exact already, or the layer saw only zeros */
        c->st->kept_nearest++;
        goto done;
    }
    p.inv = (double)n_free / e_near; /* nearest rounding costs 1 per free element */
    oq_pool_run(c->pool, adam_task, &p, oq_pool_size(c->pool));
    if (p.nomem) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "AdaRound: out of memory for layer '%s'", y->name);
        goto done;
    }
    for (int64_t r = 0; r < R; r++)
        e_ada += p.e_ada[r];
    if (!(e_ada < e_near)) {
        c->st->kept_nearest++;
        goto done;
    }
    double red = 1.0 - e_ada / e_near;
    c->st->rounded++;
    c->st->mean_rel_reduction += red;
    if (red > c->st->max_rel_reduction) {
        c->st->max_rel_reduction = red;
        snprintf(c->st->max_layer, sizeof(c->st->max_layer), "%s", y->name);
    }
    for (int64_t e = 0; e < n; e++) {
        int64_t j = ns > 1 ? e / K : 0;
        int32_t q = p.q[e];
        /* the abs max element's own value for its code: no new max from float rounding of q * s */
        float v = cmax[j] > 0 && abs(q) == cmax[j] ? (q < 0 ? -wmax[j] : wmax[j]) : (float)q * p.s[e / K];
        wd[w_index(y, e / K, e % K)] = v;
    }
done:
    free(Hf), free(wmax), free(cmax), free(p.w), free(p.s), free(p.lo), free(p.fixed), free(p.V), free(p.q);
    free(p.e_near), free(p.e_ada);
    return st;
}

/* ------------------------------------------------------------------ driver */

oq_status oq_adaround(const oq_model *fp, struct oq_graph *g, const struct oq_quant_plan *plan,
                      const struct oq_qdq_options *qo, struct oq_data_source *src,
                      const struct oq_adaround_options *opt, struct oq_adaround_stats *stats, oq_error *err) {
    double t0 = now_s();
    struct oq_adaround_stats st_local;
    struct oq_adaround_stats *st = stats ? stats : &st_local;
    memset(st, 0, sizeof(*st));
    struct oq_adaround_options o = oq_adaround_options_default();
    if (opt) {
        if (opt->iters > 0)
            o.iters = opt->iters;
        if (opt->lr > 0)
            o.lr = opt->lr;
        if (opt->lambda >= 0)
            o.lambda = opt->lambda;
        if (opt->warmup >= 0 && opt->warmup < 1)
            o.warmup = opt->warmup;
        o.threads = opt->threads;
        if (opt->max_k > 0)
            o.max_k = opt->max_k;
        if (opt->max_gram_bytes > 0)
            o.max_gram_bytes = opt->max_gram_bytes;
    }
    if (!fp || !g || !plan || !src)
        return oq_errorf(err, OQ_ERR_ARG, "oq_adaround: model, graph, plan or data source is NULL");
    if (plan->n_values != g->n_values || plan->n_nodes != g->n_nodes ||
        g->n_nodes != oq_model_graph(fp)->n_nodes)
        return oq_errorf(err, OQ_ERR_ARG, "AdaRound on %s: the plan or the graph copy was made for another graph "
                         "(%d/%d nodes, plan %d); pass a clone of the model's graph and its plan",
                         model_name(fp), g->n_nodes, oq_model_graph(fp)->n_nodes, plan->n_nodes);
    struct ctx c = {.fp = fp, .g = g, .o = &o, .st = st};
    int threads = o.threads;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)nc : 1;
    }
    oq_kernels_init(&c.k, OQ_KERNELS_AUTO);
    oq_status s = oq_pool_create(threads, &c.pool, err);
    if (!s)
        s = find_layers(&c, plan, err);
    if (!s && c.n > 0)
        s = writer_params(&c, plan, qo, err);
    int n_opt = 0;
    for (int l0 = 0; !s && l0 < c.n;) {
        /* layers of this pass: Gram matrices up to max_gram_bytes (at least one layer) */
        int64_t bytes = 0;
        int l1 = l0;
        while (l1 < c.n) {
            int64_t b = c.L[l1].G * c.L[l1].K * c.L[l1].K * (int64_t)sizeof(double);
            if (l1 > l0 && bytes + b > o.max_gram_bytes)
                break;
            bytes += b;
            l1++;
        }
        for (int l = l0; l < l1 && !s; l++)
            if (!(c.L[l].H = calloc((size_t)(c.L[l].G * c.L[l].K * c.L[l].K), sizeof(double))))
                s = oq_errorf(err, OQ_ERR_NOMEM, "AdaRound on %s: out of memory for the Gram matrix of '%s' "
                              "(%lld x %lld per group); lower max_gram_bytes", model_name(fp), c.L[l].name,
                              (long long)c.L[l].K, (long long)c.L[l].K);
        c.p0 = l0, c.p1 = l1;
        double tc = now_s();
        if (!s)
            s = collect(&c, src, &st->batches, err);
        st->collect_seconds += now_s() - tc;
        st->passes++;
        for (int l = l0; l < l1 && !s; l++) {
            if (!c.L[l].seen) {
                st->no_input++;
            } else {
                s = optimize(&c, &c.L[l], err);
                n_opt++;
            }
            free(c.L[l].H);
            c.L[l].H = NULL;
        }
        l0 = l1;
    }
    if (n_opt > 0)
        st->mean_rel_reduction /= n_opt;
    free(c.col), free(c.tmp);
    free_layers(c.L, c.n);
    oq_pool_free(c.pool);
    st->seconds = now_s() - t0;
    return s;
}
