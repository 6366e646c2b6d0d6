/* Conv, FusedConv and ConvTranspose ops driven directly through their oq_op_def (check, infer, prepare,
 * run, destroy) with a hand-built oq_op_ctx, against naive direct loops written here from the ONNX
 * definitions. Covers 1-D and 2-D, groups, depthwise, dilation, stride, asymmetric pads, every auto_pad,
 * 1x1, bias, every fused activation, tiling (several tasks per image), a second prepare with new shapes,
 * ref and fast kernels, with and without a thread pool, and the load-time errors. */
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"
#include "test_util.h"

#define CONV_MAX_NMSE 1e-10

extern const struct oq_op_def oq_op_conv, oq_op_fusedconv, oq_op_convtranspose;

/* ---------------------------------------------------------------- harness */

static void set_ints(struct oq_node *n, const char *name, const int64_t *v, int cnt) {
    struct oq_attr *a = oq_node_add_attr(n, name, OQ_ATTR_INTS);
    a->n = cnt;
    a->ints = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}
static void set_int(struct oq_node *n, const char *name, int64_t v) {
    oq_node_add_attr(n, name, OQ_ATTR_INT)->i = v;
}
static void set_str(struct oq_node *n, const char *name, const char *s) {
    struct oq_attr *a = oq_node_add_attr(n, name, OQ_ATTR_STRING);
    a->s_len = strlen(s);
    a->s = malloc(a->s_len + 1);
    memcpy(a->s, s, a->s_len + 1);
}
static void set_floats(struct oq_node *n, const char *name, const float *v, int cnt) {
    struct oq_attr *a = oq_node_add_attr(n, name, OQ_ATTR_FLOATS);
    a->n = cnt;
    a->floats = malloc(sizeof(float) * (size_t)(cnt ? cnt : 1));
    memcpy(a->floats, v, sizeof(float) * (size_t)cnt);
}

/* One node in its own graph. */
static struct oq_node *make_node(struct oq_graph **gp, const char *op, const char *domain, int n_in) {
    struct oq_graph *g = oq_graph_new();
    int ins[3], out;
    const char *names[3] = {"x", "w", "b"};
    for (int i = 0; i < n_in; i++)
        ins[i] = oq_graph_add_value(g, names[i]);
    out = oq_graph_add_value(g, "y");
    int ni = oq_graph_add_node(g, "node0", op, domain, n_in, ins, 1, &out);
    *gp = g;
    g->nodes[ni].opset = op[0] == 'F' ? 1 : 17;
    return &g->nodes[ni];
}

static struct oq_tensor tensor(int ndim, const int64_t *dims, float *data, const char *name) {
    struct oq_tensor t = {.dtype = OQ_DTYPE_FLOAT, .ndim = ndim, .data = data, .name = name};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)ndim);
    return t;
}

/* Runs the op on the given inputs; y is allocated here (caller frees *y). Returns the status of the first
 * failing callback. *y_t receives the inferred output shape. */
static oq_status run_op(const struct oq_op_def *def, struct oq_node *n, const struct oq_graph *g, int n_in,
                        struct oq_tensor *in, struct oq_tensor *y_t, float **y, const struct oq_kernels *k,
                        struct oq_pool *pool, oq_error *err) {
    struct oq_tensor *ins[3] = {&in[0], &in[1], n_in > 2 ? &in[2] : NULL};
    struct oq_tensor *outs[1] = {y_t};
    memset(y_t, 0, sizeof(*y_t));
    y_t->name = "y";
    struct oq_op_ctx ctx = {.node = n, .n_in = n_in, .n_out = 1, .in = ins, .out = outs, .pool = pool,
                            .kernels = k, .err = err};
    *y = NULL;
    oq_status st = def->check(n, g, err);
    if (!st)
        st = def->infer(&ctx);
    if (!st) {
        *y = malloc(sizeof(float) * (size_t)(oq_tensor_numel(y_t) + 1));
        y_t->data = *y;
        st = def->prepare(&ctx);
    }
    if (!st) {
        ctx.scratch = ctx.scratch_bytes ? oq_alloc_aligned(ctx.scratch_bytes) : NULL;
        st = def->run(&ctx);
        oq_free_aligned(ctx.scratch);
    }
    if (def->destroy)
        def->destroy(ctx.priv);
    return st;
}

static float act_ref(const char *act, const float *p, float x) {
    if (!act)
        return x;
    if (!strcmp(act, "Relu"))
        return x < 0 ? 0 : x;
    if (!strcmp(act, "Clip"))
        return x < p[0] ? p[0] : x > p[1] ? p[1] : x;
    if (!strcmp(act, "HardSigmoid")) {
        double h = (double)p[0] * x + p[1];
        return (float)(h < 0 ? 0 : h > 1 ? 1 : h);
    }
    if (!strcmp(act, "HardSwish")) {
        double h = x / 6.0 + 0.5;
        return (float)(x * (h < 0 ? 0 : h > 1 ? 1 : h));
    }
    if (!strcmp(act, "Sigmoid"))
        return (float)(1.0 / (1.0 + exp(-(double)x)));
    if (!strcmp(act, "LeakyRelu"))
        return x < 0 ? p[0] * x : x;
    if (!strcmp(act, "Tanh"))
        return (float)tanh(x);
    return NAN;
}

/* ---------------------------------------------------------------- Conv */

struct conv_case {
    int nsp; /* 1 or 2 */
    int N, C, H, W, M, G, kh, kw, sh, sw, dh, dw;
    int pads[4]; /* 2-D: t, l, b, r (ONNX order h_begin, w_begin, h_end, w_end); 1-D: [1] begin, [3] end */
    const char *auto_pad; /* NULL = attribute absent */
    bool bias;
    const char *act;      /* NULL = plain Conv */
    float act_p[2];
    int n_act_p;
};

/* ONNX output size and begin pad for one dim (written independently of conv.c). */
static void onnx_out(const char *ap, int in, int k, int s, int d, int pb, int pe, int *out, int *pbeg) {
    int ek = (k - 1) * d + 1;
    if (ap && (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))) {
        int o = (in + s - 1) / s, total = (o - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        *pbeg = !strcmp(ap, "SAME_UPPER") ? total / 2 : (total + 1) / 2;
        *out = o;
        return;
    }
    if (ap && !strcmp(ap, "VALID"))
        pb = pe = 0;
    *pbeg = pb;
    *out = (in + pb + pe - ek) / s + 1;
}

static void naive_conv(const struct conv_case *c, const float *x, const float *w, const float *b, float *y,
                       int OH, int OW, int pt, int pl) {
    int Cg = c->C / c->G, Mg = c->M / c->G;
    for (int n = 0; n < c->N; n++)
        for (int m = 0; m < c->M; m++) {
            int g = m / Mg;
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double acc = b ? b[m] : 0;
                    for (int ci = 0; ci < Cg; ci++)
                        for (int ky = 0; ky < c->kh; ky++)
                            for (int kx = 0; kx < c->kw; kx++) {
                                int iy = oy * c->sh - pt + ky * c->dh, ix = ox * c->sw - pl + kx * c->dw;
                                if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W)
                                    continue;
                                acc += (double)x[((n * c->C + g * Cg + ci) * c->H + iy) * c->W + ix] *
                                       w[((m * Cg + ci) * c->kh + ky) * c->kw + kx];
                            }
                    y[((n * c->M + m) * OH + oy) * OW + ox] = act_ref(c->act, c->act_p, (float)acc);
                }
        }
}

static struct oq_node *conv_node(struct oq_graph **g, const struct conv_case *c) {
    int n_in = c->bias ? 3 : 2;
    struct oq_node *n = c->act ? make_node(g, "FusedConv", "com.onnxq", n_in) : make_node(g, "Conv", "", n_in);
    if (c->nsp == 2) {
        set_ints(n, "kernel_shape", (const int64_t[]){c->kh, c->kw}, 2);
        set_ints(n, "strides", (const int64_t[]){c->sh, c->sw}, 2);
        set_ints(n, "dilations", (const int64_t[]){c->dh, c->dw}, 2);
        if (!c->auto_pad)
            set_ints(n, "pads", (const int64_t[]){c->pads[0], c->pads[1], c->pads[2], c->pads[3]}, 4);
    } else {
        set_ints(n, "kernel_shape", (const int64_t[]){c->kw}, 1);
        set_ints(n, "strides", (const int64_t[]){c->sw}, 1);
        set_ints(n, "dilations", (const int64_t[]){c->dw}, 1);
        if (!c->auto_pad)
            set_ints(n, "pads", (const int64_t[]){c->pads[1], c->pads[3]}, 2);
    }
    if (c->auto_pad)
        set_str(n, "auto_pad", c->auto_pad);
    set_int(n, "group", c->G);
    if (c->act) {
        set_str(n, "activation", c->act);
        if (c->n_act_p)
            set_floats(n, "activation_params", c->act_p, c->n_act_p);
    }
    return n;
}

static void conv_case_run(const struct conv_case *c, const struct oq_kernels *k, struct oq_pool *pool,
                          uint64_t *rng, const char *label) {
    int Cg = c->C / c->G;
    int OH, OW, pt, pl;
    if (c->nsp == 2)
        onnx_out(c->auto_pad, c->H, c->kh, c->sh, c->dh, c->pads[0], c->pads[2], &OH, &pt);
    else
        OH = 1, pt = 0;
    onnx_out(c->auto_pad, c->W, c->kw, c->sw, c->dw, c->pads[1], c->pads[3], &OW, &pl);
    int64_t nx = (int64_t)c->N * c->C * c->H * c->W, nw = (int64_t)c->M * Cg * c->kh * c->kw;
    int64_t ny = (int64_t)c->N * c->M * OH * OW;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)c->M), *r = malloc(sizeof(float) * (size_t)ny);
    for (int64_t i = 0; i < nx; i++)
        x[i] = test_rng_uniform(rng, -1, 1);
    for (int64_t i = 0; i < nw; i++)
        w[i] = test_rng_uniform(rng, -1, 1);
    for (int i = 0; i < c->M; i++)
        b[i] = test_rng_uniform(rng, -1, 1);
    naive_conv(c, x, w, c->bias ? b : NULL, r, OH, OW, pt, pl);

    struct oq_graph *g;
    struct oq_node *n = conv_node(&g, c);
    struct oq_tensor in[3];
    if (c->nsp == 2) {
        in[0] = tensor(4, (const int64_t[]){c->N, c->C, c->H, c->W}, x, "x");
        in[1] = tensor(4, (const int64_t[]){c->M, Cg, c->kh, c->kw}, w, "w");
    } else {
        in[0] = tensor(3, (const int64_t[]){c->N, c->C, c->W}, x, "x");
        in[1] = tensor(3, (const int64_t[]){c->M, Cg, c->kw}, w, "w");
    }
    in[2] = tensor(1, (const int64_t[]){c->M}, b, "b");
    struct oq_tensor yt;
    float *y;
    oq_error err = {0};
    const struct oq_op_def *def = c->act ? &oq_op_fusedconv : &oq_op_conv;
    oq_status st = run_op(def, n, g, c->bias ? 3 : 2, in, &yt, &y, k, pool, &err);
    CHECK_MSG(st == OQ_OK, "%s: %s", label, err.msg);
    if (st == OQ_OK) {
        bool shape_ok = yt.ndim == c->nsp + 2 && yt.dims[0] == c->N && yt.dims[1] == c->M &&
                        yt.dims[yt.ndim - 1] == OW && (c->nsp == 1 || yt.dims[2] == OH);
        double e = shape_ok ? test_nmse(y, r, ny) : INFINITY;
        CHECK_MSG(shape_ok && e <= CONV_MAX_NMSE,
                  "conv/%s/%s C=%d H=%d W=%d M=%d G=%d k=%dx%d s=%d,%d d=%d,%d pads=%d,%d,%d,%d auto_pad=%s act=%s: "
                  "shape_ok=%d nmse=%g", k->sgemm_name, label, c->C, c->H, c->W, c->M, c->G, c->kh, c->kw, c->sh,
                  c->sw, c->dh, c->dw, c->pads[0], c->pads[1], c->pads[2], c->pads[3],
                  c->auto_pad ? c->auto_pad : "-", c->act ? c->act : "-", shape_ok, e);
        struct oq_tensor *ins[3] = {&in[0], &in[1], &in[2]};
        struct oq_tensor *outs[1] = {&yt};
        struct oq_op_ctx mctx = {.node = n, .n_in = c->bias ? 3 : 2, .n_out = 1, .in = ins, .out = outs};
        CHECK(def->macs(&mctx) == ny * Cg * c->kh * c->kw);
    }
    free(y);
    oq_graph_free(g);
    free(x);
    free(w);
    free(b);
    free(r);
}

static struct conv_case cc2(int N, int C, int H, int W, int M, int G, int k, int s, int p) {
    return (struct conv_case){.nsp = 2, .N = N, .C = C, .H = H, .W = W, .M = M, .G = G, .kh = k, .kw = k,
                              .sh = s, .sw = s, .dh = 1, .dw = 1, .pads = {p, p, p, p}, .bias = true};
}

static void conv_cases(const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng, const char *label) {
    struct conv_case c;
    c = cc2(1, 3, 17, 19, 8, 1, 3, 1, 1), conv_case_run(&c, k, pool, rng, label);       /* basic 3x3 */
    c = cc2(2, 4, 9, 7, 6, 2, 3, 2, 1), conv_case_run(&c, k, pool, rng, label);         /* groups, stride 2 */
    c = cc2(1, 6, 11, 13, 9, 3, 1, 1, 0), conv_case_run(&c, k, pool, rng, label);       /* grouped 1x1 */
    c = cc2(2, 32, 33, 35, 16, 1, 1, 1, 0), conv_case_run(&c, k, pool, rng, label);     /* 1x1 GEMM path */
    c = cc2(1, 8, 15, 16, 8, 8, 3, 1, 1), conv_case_run(&c, k, pool, rng, label);       /* depthwise 3x3 */
    c = cc2(2, 5, 17, 31, 5, 5, 5, 2, 2), conv_case_run(&c, k, pool, rng, label);       /* depthwise 5x5 s2 */
    c = cc2(1, 16, 64, 64, 24, 1, 3, 1, 1), conv_case_run(&c, k, pool, rng, label);     /* several tiles */
    c = cc2(1, 4, 8, 8, 8, 4, 3, 1, 1), conv_case_run(&c, k, pool, rng, label);         /* grouped, 2 out/grp */
    c = cc2(1, 4, 13, 12, 6, 2, 3, 1, 0);
    c.dh = 2, c.dw = 3;                                                                 /* dilation */
    conv_case_run(&c, k, pool, rng, label);
    c = cc2(1, 6, 10, 11, 6, 6, 3, 1, 0);
    c.dh = 2, c.dw = 2, c.pads[0] = 2, c.pads[1] = 2, c.pads[2] = 2, c.pads[3] = 2;     /* dilated depthwise */
    conv_case_run(&c, k, pool, rng, label);
    c = cc2(1, 3, 9, 10, 4, 1, 3, 1, 0);
    c.pads[0] = 0, c.pads[1] = 1, c.pads[2] = 2, c.pads[3] = 0;                        /* asymmetric pads */
    conv_case_run(&c, k, pool, rng, label);
    c = cc2(1, 7, 12, 9, 7, 7, 3, 1, 0);
    c.sh = 2, c.sw = 1, c.pads[0] = 1, c.pads[1] = 0, c.pads[2] = 0, c.pads[3] = 2;    /* dw (2,1) asym */
    conv_case_run(&c, k, pool, rng, label);
    c = cc2(1, 7, 12, 9, 7, 7, 5, 1, 2);
    c.sh = 1, c.sw = 2;                                                                 /* dw (1,2) 5x5 */
    conv_case_run(&c, k, pool, rng, label);
    const char *aps[] = {"SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"};
    for (int i = 0; i < 4; i++) {
        c = cc2(1, 3, 10, 11, 4, 1, 4, 2, 0); /* even kernel + stride 2: SAME pads differ by side */
        c.kw = 3;
        c.auto_pad = aps[i];
        conv_case_run(&c, k, pool, rng, label);
        c = cc2(1, 4, 10, 11, 4, 4, 3, 2, 0);
        c.auto_pad = aps[i];
        conv_case_run(&c, k, pool, rng, label);
    }
    c = cc2(1, 3, 5, 5, 2, 1, 3, 1, 1);
    c.bias = false;                                                                     /* no bias */
    conv_case_run(&c, k, pool, rng, label);
    /* fused activations on each path (im2col, 1x1, depthwise) */
    const struct {
        const char *name;
        float p[2];
        int np;
    } acts[] = {{"Relu", {0}, 0},   {"Clip", {-0.5f, 0.75f}, 2}, {"HardSigmoid", {0.3f, 0.45f}, 2},
                {"HardSwish", {0}, 0}, {"Sigmoid", {0}, 0}, {"LeakyRelu", {0.2f}, 1}, {"Tanh", {0}, 0},
                {"HardSigmoid", {0}, 0}, {"LeakyRelu", {0}, 0}};
    for (unsigned i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
        struct conv_case cs[3] = {cc2(1, 3, 9, 8, 5, 1, 3, 1, 1), cc2(1, 8, 7, 9, 4, 1, 1, 1, 0),
                                  cc2(1, 6, 9, 10, 6, 6, 3, 2, 1)};
        for (int j = 0; j < 3; j++) {
            cs[j].act = acts[i].name;
            cs[j].n_act_p = acts[i].np;
            cs[j].act_p[0] = acts[i].p[0];
            cs[j].act_p[1] = acts[i].p[1];
            if (!acts[i].np && !strcmp(acts[i].name, "HardSigmoid"))
                cs[j].act_p[0] = 0.2f, cs[j].act_p[1] = 0.5f; /* ONNX defaults */
            if (!acts[i].np && !strcmp(acts[i].name, "LeakyRelu"))
                cs[j].act_p[0] = 0.01f;
            conv_case_run(&cs[j], k, pool, rng, label);
        }
    }
    /* 1-D: grouped, strided, padded, dilated; depthwise 1-D; SAME_UPPER 1-D */
    c = (struct conv_case){.nsp = 1, .N = 2, .C = 4, .H = 1, .W = 19, .M = 6, .G = 2, .kh = 1, .kw = 3, .sh = 1,
                           .sw = 2, .dh = 1, .dw = 2, .pads = {0, 1, 0, 2}, .bias = true};
    conv_case_run(&c, k, pool, rng, label);
    c.G = 4, c.M = 4, c.C = 4, c.sw = 1, c.dw = 1, c.kw = 5;
    conv_case_run(&c, k, pool, rng, label);
    c.auto_pad = "SAME_UPPER", c.G = 1, c.sw = 2;
    conv_case_run(&c, k, pool, rng, label);
    /* seeded random */
    for (int i = 0; i < 25; i++) {
        int G = 1 + (int)(test_rng_next(rng) % 3);
        c = (struct conv_case){.nsp = 2, .N = 1 + (int)(test_rng_next(rng) % 2), .G = G,
                               .C = G * (1 + (int)(test_rng_next(rng) % 4)), .M = G * (1 + (int)(test_rng_next(rng) % 5)),
                               .H = 3 + (int)(test_rng_next(rng) % 20), .W = 3 + (int)(test_rng_next(rng) % 20),
                               .kh = 1 + (int)(test_rng_next(rng) % 3), .kw = 1 + (int)(test_rng_next(rng) % 3),
                               .sh = 1 + (int)(test_rng_next(rng) % 2), .sw = 1 + (int)(test_rng_next(rng) % 2),
                               .dh = 1 + (int)(test_rng_next(rng) % 2), .dw = 1, .bias = i % 2,
                               .pads = {(int)(test_rng_next(rng) % 2), (int)(test_rng_next(rng) % 2),
                                        (int)(test_rng_next(rng) % 2), (int)(test_rng_next(rng) % 2)}};
        if (c.H + c.pads[0] + c.pads[2] < (c.kh - 1) * c.dh + 1)
            continue; /* no output */
        conv_case_run(&c, k, pool, rng, label);
    }
}

/* prepare twice on one ctx (shapes change between runs): priv is reused, scratch re-sized. */
static void conv_reprepare(const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng) {
    struct conv_case c = cc2(1, 4, 6, 6, 4, 1, 3, 1, 1);
    struct oq_graph *g;
    struct oq_node *n = conv_node(&g, &c);
    float *w = malloc(sizeof(float) * 4 * 4 * 9), *b = malloc(sizeof(float) * 4);
    for (int i = 0; i < 144; i++)
        w[i] = test_rng_uniform(rng, -1, 1);
    for (int i = 0; i < 4; i++)
        b[i] = test_rng_uniform(rng, -1, 1);
    struct oq_tensor xt, wt = tensor(4, (const int64_t[]){4, 4, 3, 3}, w, "w");
    struct oq_tensor bt = tensor(1, (const int64_t[]){4}, b, "b"), yt = {0};
    struct oq_tensor *ins[3] = {&xt, &wt, &bt}, *outs[1] = {&yt};
    oq_error err = {0};
    struct oq_op_ctx ctx = {.node = n, .n_in = 3, .n_out = 1, .in = ins, .out = outs, .pool = pool, .kernels = k,
                            .err = &err};
    const int sizes[][2] = {{6, 6}, {21, 40}, {5, 3}};
    for (int s = 0; s < 3; s++) {
        c.H = sizes[s][0], c.W = sizes[s][1];
        int64_t nx = 4LL * c.H * c.W, ny = nx;
        float *x = malloc(sizeof(float) * (size_t)nx), *y = malloc(sizeof(float) * (size_t)ny);
        float *r = malloc(sizeof(float) * (size_t)ny);
        for (int64_t i = 0; i < nx; i++)
            x[i] = test_rng_uniform(rng, -1, 1);
        xt = tensor(4, (const int64_t[]){1, 4, c.H, c.W}, x, "x");
        naive_conv(&c, x, w, b, r, c.H, c.W, 1, 1);
        CHECK_OK(oq_op_conv.infer(&ctx), (&err));
        yt.data = y;
        CHECK_OK(oq_op_conv.prepare(&ctx), (&err));
        ctx.scratch = oq_alloc_aligned(ctx.scratch_bytes ? ctx.scratch_bytes : 64);
        CHECK_OK(oq_op_conv.run(&ctx), (&err));
        oq_free_aligned(ctx.scratch);
        double e = test_nmse(y, r, ny);
        CHECK_MSG(e <= CONV_MAX_NMSE, "conv/reprepare H=%d W=%d: nmse=%g", c.H, c.W, e);
        free(x);
        free(y);
        free(r);
    }
    oq_op_conv.destroy(ctx.priv);
    oq_graph_free(g);
    free(w);
    free(b);
}

static void conv_errors(const struct oq_kernels *k) {
    oq_error err = {0};
    struct oq_graph *g;
    /* 3-D conv: rejected at load (check) as unsupported */
    struct oq_node *n = make_node(&g, "Conv", "", 2);
    set_ints(n, "kernel_shape", (const int64_t[]){3, 3, 3}, 3);
    CHECK(oq_op_conv.check(n, g, &err) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "3-D") && strstr(err.msg, "node0"));
    oq_graph_free(g);
    /* unknown fused activation */
    n = make_node(&g, "FusedConv", "com.onnxq", 2);
    set_str(n, "activation", "Gelu");
    CHECK(oq_op_fusedconv.check(n, g, &err) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "Gelu"));
    oq_graph_free(g);
    /* too many activation params */
    n = make_node(&g, "FusedConv", "com.onnxq", 2);
    set_str(n, "activation", "Relu");
    set_floats(n, "activation_params", (const float[]){1.0f}, 1);
    CHECK(oq_op_fusedconv.check(n, g, &err) == OQ_ERR_MODEL);
    oq_graph_free(g);
    /* bad auto_pad; pads together with auto_pad */
    n = make_node(&g, "Conv", "", 2);
    set_str(n, "auto_pad", "SAME");
    CHECK(oq_op_conv.check(n, g, &err) == OQ_ERR_MODEL && strstr(err.msg, "auto_pad"));
    oq_graph_free(g);
    /* int8 input: infer names the dtype */
    n = make_node(&g, "Conv", "", 2);
    int8_t xq[16] = {0};
    float wv[4] = {0};
    struct oq_tensor xt = {.dtype = OQ_DTYPE_INT8, .ndim = 4, .dims = {1, 1, 4, 4}, .data = xq, .name = "x"};
    struct oq_tensor wt = tensor(4, (const int64_t[]){1, 1, 2, 2}, wv, "w"), yt = {0};
    struct oq_tensor *ins[2] = {&xt, &wt}, *outs[1] = {&yt};
    struct oq_op_ctx ctx = {.node = n, .n_in = 2, .n_out = 1, .in = ins, .out = outs, .kernels = k, .err = &err};
    CHECK(oq_op_conv.infer(&ctx) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "int8"));
    /* channel mismatch */
    xt.dtype = OQ_DTYPE_FLOAT;
    xt.dims[1] = 2;
    CHECK(oq_op_conv.infer(&ctx) == OQ_ERR_SHAPE);
    /* 5-D input */
    xt.ndim = 5;
    CHECK(oq_op_conv.infer(&ctx) == OQ_ERR_UNSUPPORTED);
    oq_graph_free(g);
}

/* ---------------------------------------------------------------- ConvTranspose */

struct ct_case {
    int nsp, N, C, H, W, Mg, G, kh, kw, sh, sw, dh, dw, oph, opw;
    int pads[4];
    const char *auto_pad;
    int out_shape[2]; /* 0 = absent */
    bool bias;
};

/* Output size and begin pad per ONNX Runtime's ComputeTransposePadAndOutputShape. */
static void ct_out(const struct ct_case *c, int in, int k, int s, int d, int op, int pb, int pe, int oshape,
                   int *out, int *pbeg) {
    int natural = (in - 1) * s + op + (k - 1) * d + 1;
    bool same = c->auto_pad && (!strcmp(c->auto_pad, "SAME_UPPER") || !strcmp(c->auto_pad, "SAME_LOWER"));
    if (oshape || same) {
        int o = oshape ? oshape : in * s, total = natural - o;
        if (total < 0)
            total = 0;
        *pbeg = c->auto_pad && !strcmp(c->auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        *out = o;
        return;
    }
    if (c->auto_pad && !strcmp(c->auto_pad, "VALID"))
        pb = pe = 0;
    *pbeg = pb;
    *out = natural - pb - pe;
}

static void naive_ct(const struct ct_case *c, const float *x, const float *w, const float *b, float *y, int OH,
                     int OW, int pt, int pl) {
    int Cg = c->C / c->G, M = c->Mg * c->G;
    double *acc = calloc((size_t)c->N * M * OH * OW, sizeof(double));
    for (int n = 0; n < c->N; n++)
        for (int ci = 0; ci < c->C; ci++) {
            int g = ci / Cg;
            for (int iy = 0; iy < c->H; iy++)
                for (int ix = 0; ix < c->W; ix++)
                    for (int co = 0; co < c->Mg; co++)
                        for (int ky = 0; ky < c->kh; ky++)
                            for (int kx = 0; kx < c->kw; kx++) {
                                int oy = iy * c->sh - pt + ky * c->dh, ox = ix * c->sw - pl + kx * c->dw;
                                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW)
                                    continue;
                                acc[((n * M + g * c->Mg + co) * OH + oy) * OW + ox] +=
                                    (double)x[((n * c->C + ci) * c->H + iy) * c->W + ix] *
                                    w[((ci * c->Mg + co) * c->kh + ky) * c->kw + kx];
                            }
        }
    for (int n = 0; n < c->N; n++)
        for (int m = 0; m < M; m++)
            for (int i = 0; i < OH * OW; i++) {
                int64_t o = (int64_t)(n * M + m) * OH * OW + i;
                y[o] = (float)(acc[o] + (b ? b[m] : 0));
            }
    free(acc);
}

static void ct_case_run(const struct ct_case *c, const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng,
                        const char *label) {
    int OH = 1, OW, pt = 0, pl;
    if (c->nsp == 2)
        ct_out(c, c->H, c->kh, c->sh, c->dh, c->oph, c->pads[0], c->pads[2], c->out_shape[0], &OH, &pt);
    ct_out(c, c->W, c->kw, c->sw, c->dw, c->opw, c->pads[1], c->pads[3], c->out_shape[c->nsp - 1], &OW, &pl);
    int M = c->Mg * c->G;
    int64_t nx = (int64_t)c->N * c->C * c->H * c->W, nw = (int64_t)c->C * c->Mg * c->kh * c->kw;
    int64_t ny = (int64_t)c->N * M * OH * OW;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)M), *r = malloc(sizeof(float) * (size_t)ny);
    for (int64_t i = 0; i < nx; i++)
        x[i] = test_rng_uniform(rng, -1, 1);
    for (int64_t i = 0; i < nw; i++)
        w[i] = test_rng_uniform(rng, -1, 1);
    for (int i = 0; i < M; i++)
        b[i] = test_rng_uniform(rng, -1, 1);
    naive_ct(c, x, w, c->bias ? b : NULL, r, OH, OW, pt, pl);

    struct oq_graph *g;
    struct oq_node *n = make_node(&g, "ConvTranspose", "", c->bias ? 3 : 2);
    struct oq_tensor in[3];
    if (c->nsp == 2) {
        set_ints(n, "strides", (const int64_t[]){c->sh, c->sw}, 2);
        set_ints(n, "dilations", (const int64_t[]){c->dh, c->dw}, 2);
        if (c->oph || c->opw)
            set_ints(n, "output_padding", (const int64_t[]){c->oph, c->opw}, 2);
        if (!c->auto_pad)
            set_ints(n, "pads", (const int64_t[]){c->pads[0], c->pads[1], c->pads[2], c->pads[3]}, 4);
        if (c->out_shape[0])
            set_ints(n, "output_shape", (const int64_t[]){c->out_shape[0], c->out_shape[1]}, 2);
        in[0] = tensor(4, (const int64_t[]){c->N, c->C, c->H, c->W}, x, "x");
        in[1] = tensor(4, (const int64_t[]){c->C, c->Mg, c->kh, c->kw}, w, "w");
    } else {
        set_ints(n, "strides", (const int64_t[]){c->sw}, 1);
        set_ints(n, "pads", (const int64_t[]){c->pads[1], c->pads[3]}, 2);
        in[0] = tensor(3, (const int64_t[]){c->N, c->C, c->W}, x, "x");
        in[1] = tensor(3, (const int64_t[]){c->C, c->Mg, c->kw}, w, "w");
    }
    if (c->auto_pad)
        set_str(n, "auto_pad", c->auto_pad);
    set_int(n, "group", c->G);
    in[2] = tensor(1, (const int64_t[]){M}, b, "b");
    struct oq_tensor yt;
    float *y;
    oq_error err = {0};
    oq_status st = run_op(&oq_op_convtranspose, n, g, c->bias ? 3 : 2, in, &yt, &y, k, pool, &err);
    CHECK_MSG(st == OQ_OK, "%s: %s", label, err.msg);
    if (st == OQ_OK) {
        bool shape_ok = yt.dims[1] == M && yt.dims[yt.ndim - 1] == OW && (c->nsp == 1 || yt.dims[2] == OH);
        double e = shape_ok ? test_nmse(y, r, ny) : INFINITY;
        CHECK_MSG(shape_ok && e <= CONV_MAX_NMSE,
                  "convtranspose/%s/%s C=%d H=%d W=%d Mg=%d G=%d k=%dx%d s=%d,%d d=%d,%d op=%d,%d pads=%d,%d,%d,%d "
                  "auto_pad=%s out_shape=%d,%d: shape_ok=%d (%lldx%lld vs %dx%d) nmse=%g", k->sgemm_name, label, c->C,
                  c->H, c->W, c->Mg, c->G, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->oph, c->opw, c->pads[0],
                  c->pads[1], c->pads[2], c->pads[3], c->auto_pad ? c->auto_pad : "-", c->out_shape[0],
                  c->out_shape[1], shape_ok, (long long)(c->nsp == 2 ? yt.dims[2] : 1),
                  (long long)yt.dims[yt.ndim - 1], OH, OW, e);
        struct oq_tensor *ins[3] = {&in[0], &in[1], &in[2]};
        struct oq_tensor *outs[1] = {&yt};
        struct oq_op_ctx mctx = {.node = n, .n_in = 2, .n_out = 1, .in = ins, .out = outs};
        CHECK(oq_op_convtranspose.macs(&mctx) == nx * c->Mg * c->kh * c->kw);
    }
    free(y);
    oq_graph_free(g);
    free(x);
    free(w);
    free(b);
    free(r);
}

static void ct_cases(const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng, const char *label) {
    struct ct_case base = {.nsp = 2, .N = 1, .C = 8, .H = 10, .W = 12, .Mg = 6, .G = 1, .kh = 2, .kw = 2,
                           .sh = 2, .sw = 2, .dh = 1, .dw = 1, .bias = true};
    struct ct_case c = base;
    ct_case_run(&c, k, pool, rng, label); /* the det model's 2x2 stride 2 */
    c = base, c.C = 64, c.H = 40, c.W = 40, c.Mg = 32;
    ct_case_run(&c, k, pool, rng, label); /* bigger: several tiles / chunks */
    c = base, c.kh = c.kw = 3, c.pads[0] = 1, c.pads[1] = 0, c.pads[2] = 0, c.pads[3] = 2, c.oph = 1;
    ct_case_run(&c, k, pool, rng, label); /* overlapping taps, asymmetric pads, output_padding */
    c = base, c.G = 2, c.C = 6, c.Mg = 2, c.kh = 3, c.kw = 2, c.dh = 2, c.sh = 1, c.N = 2, c.bias = false;
    ct_case_run(&c, k, pool, rng, label); /* groups, dilation, batch, no bias */
    c = base, c.kh = c.kw = 3, c.out_shape[0] = 21, c.out_shape[1] = 24;
    ct_case_run(&c, k, pool, rng, label); /* output_shape */
    c = base, c.kh = c.kw = 3, c.auto_pad = "SAME_UPPER";
    ct_case_run(&c, k, pool, rng, label);
    c.auto_pad = "SAME_LOWER";
    ct_case_run(&c, k, pool, rng, label);
    c.auto_pad = "VALID";
    ct_case_run(&c, k, pool, rng, label);
    c = base, c.nsp = 1, c.H = 1, c.kh = 1, c.sh = 1, c.kw = 3, c.W = 9, c.pads[1] = 1, c.pads[3] = 0;
    ct_case_run(&c, k, pool, rng, label); /* 1-D */
}

int main(void) {
    oq_error err = {0}, *errp = &err;
    struct oq_pool *pool = NULL;
    CHECK_OK(oq_pool_create(2, &pool, errp), errp);
    struct oq_kernels kf, kr;
    oq_kernels_init(&kf, OQ_KERNELS_AUTO);
    oq_kernels_init(&kr, OQ_KERNELS_REF);
    uint64_t rng = 1234;
    conv_cases(&kr, NULL, &rng, "ref");
    conv_cases(&kf, NULL, &rng, "fast");
    conv_cases(&kf, pool, &rng, "fast+pool2");
    conv_reprepare(&kf, pool, &rng);
    conv_errors(&kf);
    ct_cases(&kr, NULL, &rng, "ref");
    ct_cases(&kf, pool, &rng, "fast+pool2");
    oq_pool_free(pool);
    TEST_MAIN_END();
}
