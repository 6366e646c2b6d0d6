#include "exec/fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static bool is_op(const struct oq_node *n, const char *op) { return !*n->domain && !strcmp(n->op_type, op); }

static bool const_scalar(const struct oq_graph *g, int v, float *out) {
    if (v < 0 || !g->values[v].init)
        return false;
    const struct oq_tensor *t = g->values[v].init;
    if (oq_tensor_numel(t) != 1 || !oq_dtype_is_float(t->dtype))
        return false;
    *out = (float)oq_tensor_get_f64(t, 0);
    return true;
}

/* The node producing v when v has exactly one reader and is not a graph output; NULL otherwise. */
static struct oq_node *sole_producer(struct oq_graph *g, const int *uses, int v) {
    if (v < 0 || uses[v] != 1 || g->values[v].is_output || g->values[v].producer < 0)
        return NULL;
    return &g->nodes[g->values[v].producer];
}

/* Clip bounds from attributes (opset < 11) or constant inputs (>= 11); false if not constant. */
static bool clip_bounds(const struct oq_graph *g, const struct oq_node *n, float *lo, float *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    if (n->opset < 11) {
        *lo = oq_attr_float(n, "min", -INFINITY);
        *hi = oq_attr_float(n, "max", INFINITY);
        return true;
    }
    if (n->n_in > 1 && n->in[1] >= 0 && !const_scalar(g, n->in[1], lo))
        return false;
    if (n->n_in > 2 && n->in[2] >= 0 && !const_scalar(g, n->in[2], hi))
        return false;
    return true;
}


static void make_unary(struct oq_node *n, const char *op, int x) {
    free(n->op_type);
    n->op_type = strdup(op);
    n->in[0] = x;
    n->n_in = 1;
}

/* Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6) or Mul(x, HardSigmoid(x, 1/6, 0.5)) -> HardSwish(x) */
static int fuse_hardswish(struct oq_graph *g, const int *uses, bool *dead) {
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *d = &g->nodes[i];
        float c;
        if (dead[i])
            continue;
        if (is_op(d, "Mul") && d->n_in == 2) { /* x * HardSigmoid(x) */
            for (int side = 0; side < 2; side++) {
                struct oq_node *hs = sole_producer(g, uses, d->in[side]);
                int x = d->in[1 - side];
                if (!hs || !is_op(hs, "HardSigmoid") || hs->in[0] != x)
                    continue;
                if (fabsf(oq_attr_float(hs, "alpha", 0.2f) - 1.0f / 6.0f) > 1e-6f ||
                    fabsf(oq_attr_float(hs, "beta", 0.5f) - 0.5f) > 1e-6f)
                    continue;
                dead[hs - g->nodes] = true;
                make_unary(d, "HardSwish", x);
                count++;
                break;
            }
            continue;
        }
        if (!is_op(d, "Div") || d->n_in != 2 || !const_scalar(g, d->in[1], &c) || c != 6.0f)
            continue;
        struct oq_node *mul = sole_producer(g, uses, d->in[0]);
        if (!mul || !is_op(mul, "Mul") || mul->n_in != 2)
            continue;
        for (int side = 0; side < 2; side++) {
            struct oq_node *clip = sole_producer(g, uses, mul->in[side]);
            int x = mul->in[1 - side];
            float lo, hi, three;
            if (!clip || !is_op(clip, "Clip") || !clip_bounds(g, clip, &lo, &hi) || lo != 0.0f || hi != 6.0f)
                continue;
            struct oq_node *add = sole_producer(g, uses, clip->in[0]);
            if (!add || !is_op(add, "Add") || add->n_in != 2)
                continue;
            int ax = -1;
            if (add->in[0] == x && const_scalar(g, add->in[1], &three))
                ax = add->in[0];
            else if (add->in[1] == x && const_scalar(g, add->in[0], &three))
                ax = add->in[1];
            if (ax < 0 || three != 3.0f)
                continue;
            dead[add - g->nodes] = dead[clip - g->nodes] = dead[mul - g->nodes] = true;
            make_unary(d, "HardSwish", x);
            count++;
            break;
        }
    }
    return count;
}

static bool is_fused_conv(const struct oq_node *n) {
    return !strcmp(n->domain, "com.onnxq") && !strcmp(n->op_type, "FusedConv");
}

/* Conv -> Add(z) => FusedConv(x, w, b, z): the residual add happens in the conv's epilogue. The conv now
 * reads z, which may be computed after it in the current order, so the caller re-sorts. */
static int fuse_conv_add(struct oq_graph *g, const int *uses, bool *dead) {
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *a = &g->nodes[i];
        if (dead[i] || !is_op(a, "Add") || a->n_in != 2 || a->n_out != 1)
            continue;
        for (int side = 0; side < 2; side++) {
            struct oq_node *conv = sole_producer(g, uses, a->in[side]);
            int z = a->in[1 - side];
            if (!conv || !is_op(conv, "Conv") || conv->n_out != 1 || dead[conv - g->nodes] || z < 0 ||
                z == a->in[side] || g->values[z].init)
                continue;
            int *nin = realloc(conv->in, sizeof(int) * 4);
            if (!nin)
                return -1;
            conv->in = nin;
            for (int k = conv->n_in; k < 3; k++)
                conv->in[k] = -1;
            conv->in[3] = z;
            conv->n_in = 4;
            if (!oq_node_set_op(conv, "com.onnxq", "FusedConv"))
                return -1;
            conv->out[0] = a->out[0];
            dead[i] = true;
            count++;
            break;
        }
    }
    return count;
}

/* Conv (or an activation-less FusedConv) -> activation => FusedConv(activation=..., activation_params=[...]) */
static int fuse_conv_activation(struct oq_graph *g, const int *uses, bool *dead) {
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *a = &g->nodes[i];
        if (dead[i] || *a->domain || a->n_in < 1 || a->n_out != 1)
            continue;
        float p[2] = {0, 0};
        int np = 0;
        const char *act = a->op_type;
        if (is_op(a, "Relu") || is_op(a, "Sigmoid") || is_op(a, "Tanh") || is_op(a, "HardSwish")) {
            np = 0;
        } else if (is_op(a, "Clip")) {
            if (!clip_bounds(g, a, &p[0], &p[1]))
                continue;
            np = 2;
        } else if (is_op(a, "HardSigmoid")) {
            p[0] = oq_attr_float(a, "alpha", 0.2f);
            p[1] = oq_attr_float(a, "beta", 0.5f);
            np = 2;
        } else if (is_op(a, "LeakyRelu")) {
            p[0] = oq_attr_float(a, "alpha", 0.01f);
            np = 1;
        } else {
            continue;
        }
        struct oq_node *conv = sole_producer(g, uses, a->in[0]);
        if (!conv || conv->n_out != 1 || dead[conv - g->nodes])
            continue;
        if (!is_op(conv, "Conv") && !(is_fused_conv(conv) && !oq_node_attr(conv, "activation")))
            continue;
        if (!oq_node_set_op(conv, "com.onnxq", "FusedConv"))
            return -1;
        /* fill each attribute before adding the next: adding reallocates the node's attribute array */
        struct oq_attr *sa = oq_node_add_attr(conv, "activation", OQ_ATTR_STRING);
        if (!sa || !(sa->s = strdup(act)))
            return -1;
        sa->s_len = strlen(act);
        struct oq_attr *pa = oq_node_add_attr(conv, "activation_params", OQ_ATTR_FLOATS);
        if (!pa || !(pa->floats = malloc(sizeof(p))))
            return -1;
        pa->n = np;
        memcpy(pa->floats, p, sizeof(p));
        conv->out[0] = a->out[0];
        dead[i] = true;
        count++;
    }
    return count;
}

/* Per-channel view of a constant: scalar or M values laid out along axis 1 of a rank-`rank` output. */
static bool per_channel_const(const struct oq_graph *g, int v, int rank) {
    if (v < 0 || !g->values[v].init)
        return false;
    const struct oq_tensor *t = g->values[v].init;
    if (t->dtype != OQ_DTYPE_FLOAT || t->ndim > rank)
        return false;
    int64_t n = oq_tensor_numel(t);
    if (n == 1)
        return true;
    int axis = t->ndim - rank + 1;
    return axis >= 0 && t->dims[axis] == n;
}

/* FusedConv(with activation) -> Mul(per-channel const) [-> Add(per-channel const)]: the affine runs in the
 * conv epilogue as inputs 4 (scale) and 5 (shift). Shapes are checked again at plan time. */
static int fuse_post_affine(struct oq_graph *g, const int *uses, bool *dead) {
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *mul = &g->nodes[i];
        if (dead[i] || !is_op(mul, "Mul") || mul->n_in != 2)
            continue;
        for (int side = 0; side < 2; side++) {
            struct oq_node *conv = sole_producer(g, uses, mul->in[side]);
            int sc = mul->in[1 - side];
            if (!conv || !is_fused_conv(conv) || !oq_node_attr(conv, "activation") || conv->n_in > 4 ||
                (conv->n_in == 4 && conv->in[3] >= 0))
                continue;
            int64_t wnd = conv->n_in > 1 && g->values[conv->in[1]].init ? g->values[conv->in[1]].init->ndim : 4;
            if (!per_channel_const(g, sc, (int)wnd))
                continue;
            int sh = -1;
            struct oq_node *add = NULL;
            for (int k = 0; k < g->n_nodes && uses[mul->out[0]] == 1 && !g->values[mul->out[0]].is_output; k++) {
                struct oq_node *a = &g->nodes[k];
                if (!dead[k] && is_op(a, "Add") && a->n_in == 2 && (a->in[0] == mul->out[0] || a->in[1] == mul->out[0])) {
                    int other = a->in[0] == mul->out[0] ? a->in[1] : a->in[0];
                    if (per_channel_const(g, other, (int)wnd)) {
                        add = a;
                        sh = other;
                    }
                    break;
                }
            }
            int *nin = realloc(conv->in, sizeof(int) * 6);
            if (!nin)
                return -1;
            conv->in = nin;
            for (int k = conv->n_in; k < 4; k++)
                conv->in[k] = -1;
            conv->in[4] = sc;
            conv->in[5] = sh;
            conv->n_in = sh >= 0 ? 6 : 5;
            conv->out[0] = add ? add->out[0] : mul->out[0];
            dead[i] = true;
            if (add)
                dead[add - g->nodes] = true;
            count++;
            break;
        }
    }
    return count;
}

/* The rewrites, in order. Each marks the nodes it makes dead; `resort` when the rewrite can make a node read a
 * value produced later in the current order (the residual add's summand). */
typedef int (*fuse_fn)(struct oq_graph *g, const int *uses, bool *dead);
static const struct {
    fuse_fn fn;
    bool resort;
} fuse_passes[] = {
    {fuse_hardswish, false},
    {fuse_conv_add, true},
    {fuse_conv_activation, false},
    {fuse_post_affine, false},
};

/* Fresh per-pass scratch: use counts of the current graph and an all-false dead mask. */
static bool scratch_reset(const struct oq_graph *g, int **uses, bool **dead) {
    free(*uses);
    free(*dead);
    *uses = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!*uses || !*dead)
        return false;
    oq_graph_count_all_uses(g, *uses);
    return true;
}

int oq_fuse_graph(struct oq_graph *g, oq_error *err) {
    if (oq_graph_link(g, err))
        return -1;
    int *uses = NULL, total = 0;
    bool *dead = NULL, ok = true;
    for (size_t k = 0; ok && k < sizeof(fuse_passes) / sizeof(fuse_passes[0]); k++) {
        int n = (ok = scratch_reset(g, &uses, &dead)) ? fuse_passes[k].fn(g, uses, dead) : -1;
        if (n < 0) {
            ok = false;
            break;
        }
        if (n == 0)
            continue;
        total += n;
        oq_graph_remove_nodes(g, dead);
        if (fuse_passes[k].resort ? oq_graph_toposort(g, err) != OQ_OK : oq_graph_link(g, err) != OQ_OK) {
            free(uses);
            free(dead);
            return -1;
        }
    }
    free(uses);
    free(dead);
    if (ok && total > 0)
        ok = oq_graph_import_domain(g, "com.onnxq", 1); /* FusedConv resolves there */
    /* a fused node keeps the def of the node it was made from (a Div that became HardSwish): resolve again,
     * so that what runs before oq_model_resolve (the INT8 lowering's table evaluation) runs the right op */
    for (int i = 0; ok && total > 0 && i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        n->opset = (int)oq_graph_opset(g, n->domain);
        n->def = oq_op_find(n->domain, n->op_type, n->opset);
    }
    if (!ok) {
        oq_errorf(err, OQ_ERR_NOMEM, "out of memory fusing the graph");
        return -1;
    }
    return total;
}
