/* oq_graph_upgrade_opset: small graphs for every rewritten op, built at opset 9 (or 10/11 where the op's old
 * form lives there), upgraded to 13 and 21. Each upgraded graph must be in the target form (attributes moved
 * to inputs, new attributes written) and must run in onnxq with outputs bit-identical to the original's.
 * Refusals must name the node, the op and the opsets, and leave the graph unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/opset_upgrade.h"
#include "graph_builder.h"
#include "test_util.h"

#define MAXO 8

/* ---------------------------------------------------------------- running a graph */

struct result {
    int n;
    oq_tensor_ref t[MAXO];
    void *data[MAXO];
};

static void result_free(struct result *r) {
    for (int i = 0; i < r->n; i++)
        free(r->data[i]);
    memset(r, 0, sizeof(*r));
}

/* Run g (taken) on one float input; copies the outputs. */
static bool run_graph(struct oq_graph *g, int ndim, const int64_t *dims, const float *x, struct result *r) {
    memset(r, 0, sizeof(*r));
    oq_error err = {0};
    struct oq_model *m = NULL;
    oq_session *s = NULL;
    oq_status st = oq_model_from_graph(g, &m, &err);
    if (!st) {
        oq_session_options opt = oq_session_options_default();
        opt.num_threads = 1;
        st = oq_session_create(m, &opt, &s, &err);
    }
    oq_tensor_ref in = {.name = NULL, .dtype = OQ_DTYPE_FLOAT, .ndim = ndim, .data = (void *)x};
    memcpy(in.dims, dims, sizeof(int64_t) * (size_t)ndim);
    if (!st)
        st = oq_session_run(s, 1, &in, &err);
    if (!st) {
        r->n = oq_session_num_outputs(s);
        if (r->n > MAXO)
            r->n = MAXO;
        for (int i = 0; i < r->n && i < MAXO; i++) {
            oq_session_output(s, i, &r->t[i]);
            size_t bytes = oq_dtype_size(r->t[i].dtype) * (size_t)oq_shape_numel(r->t[i].ndim, r->t[i].dims);
            r->data[i] = malloc(bytes ? bytes : 1);
            memcpy(r->data[i], r->t[i].data, bytes);
            r->t[i].data = r->data[i];
            r->t[i].name = NULL;
        }
    }
    if (st)
        fprintf(stderr, "  run failed: %s\n", err.msg);
    oq_session_free(s);
    oq_model_free(m);
    return st == OQ_OK;
}

static bool same_results(const char *what, const struct result *a, const struct result *b) {
    if (a->n != b->n) {
        fprintf(stderr, "  %s: %d outputs vs %d\n", what, a->n, b->n);
        return false;
    }
    for (int i = 0; i < a->n; i++) {
        const oq_tensor_ref *x = &a->t[i], *y = &b->t[i];
        if (x->dtype != y->dtype || x->ndim != y->ndim ||
            memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->ndim)) {
            fprintf(stderr, "  %s: output %d differs in dtype/shape: %s/%d [%lld %lld %lld %lld] vs %s/%d [%lld %lld %lld %lld]\n",
                    what, i, oq_dtype_name(x->dtype), x->ndim, (long long)x->dims[0], (long long)x->dims[1],
                    (long long)x->dims[2], (long long)x->dims[3], oq_dtype_name(y->dtype), y->ndim,
                    (long long)y->dims[0], (long long)y->dims[1], (long long)y->dims[2], (long long)y->dims[3]);
            return false;
        }
        size_t bytes = oq_dtype_size(x->dtype) * (size_t)oq_shape_numel(x->ndim, x->dims);
        if (memcmp(x->data, y->data, bytes)) {
            fprintf(stderr, "  %s: output %d values differ\n", what, i);
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- graph inspection */

static const struct oq_node *find_node(const struct oq_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return &g->nodes[i];
    return NULL;
}

static int count_op(const struct oq_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !strcmp(g->nodes[i].op_type, op);
    return c;
}

/* Input k of node n is an int64 initializer holding vals. */
static bool input_is_ints(const struct oq_graph *g, const struct oq_node *n, int k, int cnt, const int64_t *vals) {
    if (!n || k >= n->n_in || n->in[k] < 0)
        return false;
    const struct oq_tensor *t = g->values[n->in[k]].init;
    if (!t || t->dtype != OQ_DTYPE_INT64 || t->ndim != 1 || oq_tensor_numel(t) != cnt)
        return false;
    for (int i = 0; i < cnt; i++)
        if (((const int64_t *)t->data)[i] != vals[i])
            return false;
    return true;
}

static bool input_is_scalar(const struct oq_graph *g, const struct oq_node *n, int k, enum oq_dtype dt, double v) {
    if (!n || k >= n->n_in || n->in[k] < 0)
        return false;
    const struct oq_tensor *t = g->values[n->in[k]].init;
    return t && t->dtype == dt && t->ndim == 0 && oq_tensor_get_f64(t, 0) == v;
}

static bool input_absent(const struct oq_node *n, int k) { return !n || k >= n->n_in || n->in[k] < 0; }

/* ---------------------------------------------------------------- cases */

#define S(...) ((const char *const[]){__VA_ARGS__})
#define I64(...) ((const int64_t[]){__VA_ARGS__})

struct ucase {
    const char *name;
    int from;
    int ndim;
    int64_t dims[OQ_MAX_DIMS];
    void (*build)(struct oq_graph *g);
    void (*check)(const struct oq_graph *g, int to);
};

static void in_x(struct oq_graph *g, const struct ucase *c);
static const struct ucase *g_cur;

static void b_squeeze(struct oq_graph *g) {
    in_x(g, g_cur);
    gb_attr_ints(gb_node(g, "Squeeze", "sq", 1, S("x"), 1, S("t")), "axes", 1, I64(1));
    gb_attr_ints(gb_node(g, "Unsqueeze", "usq", 1, S("t"), 1, S("y")), "axes", 2, I64(0, 3));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_squeeze(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "sq"), *b = find_node(g, "usq");
    if (to < 13) {
        CHECK(a && oq_node_attr(a, "axes") && a->n_in == 1 && b && oq_node_attr(b, "axes") && b->n_in == 1);
        return;
    }
    CHECK(a && !oq_node_attr(a, "axes") && input_is_ints(g, a, 1, 1, I64(1)));
    CHECK(b && !oq_node_attr(b, "axes") && input_is_ints(g, b, 1, 2, I64(0, 3)));
}

static void b_split(struct oq_graph *g) {
    in_x(g, g_cur);
    struct oq_node *n = gb_node(g, "Split", "sp", 1, S("x"), 2, S("y0", "y1"));
    gb_attr_int(n, "axis", 1);
    gb_attr_ints(n, "split", 2, I64(1, 2));
    gb_attr_int(gb_node(g, "Split", "sp_even", 1, S("x"), 2, S("z0", "z1")), "axis", 2);
    gb_output(g, "y0", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "y1", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "z0", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "z1", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_split(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "sp"), *b = find_node(g, "sp_even");
    CHECK(a && !oq_node_attr(a, "split") && input_is_ints(g, a, 1, 2, I64(1, 2)) && !oq_node_attr(a, "num_outputs"));
    CHECK(b && input_absent(b, 1));
    CHECK(b && oq_attr_int(b, "num_outputs", -1) == (to >= 18 ? 2 : -1));
}

static void b_reduce(struct oq_graph *g) {
    in_x(g, g_cur);
    struct oq_node *n = gb_node(g, "ReduceSum", "rsum", 1, S("x"), 1, S("a"));
    gb_attr_ints(n, "axes", 1, I64(1));
    gb_attr_int(n, "keepdims", 0);
    gb_attr_ints(gb_node(g, "ReduceMean", "rmean", 1, S("x"), 1, S("b")), "axes", 1, I64(-1));
    gb_attr_ints(gb_node(g, "ReduceMax", "rmax", 1, S("x"), 1, S("c")), "axes", 2, I64(0, 2));
    gb_node(g, "ReduceMin", "rmin", 1, S("x"), 1, S("d")); /* no axes: all */
    gb_attr_ints(gb_node(g, "ReduceL2", "rl2", 1, S("x"), 1, S("e")), "axes", 0, I64(0)); /* empty: all */
    gb_attr_ints(gb_node(g, "ReduceSumSquare", "rss", 1, S("x"), 1, S("f")), "axes", 1, I64(2));
    gb_attr_ints(gb_node(g, "ReduceL1", "rl1", 1, S("x"), 1, S("h")), "axes", 1, I64(0));
    const char *outs[] = {"a", "b", "c", "d", "e", "f", "h"};
    for (int i = 0; i < 7; i++)
        gb_output(g, outs[i], OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_reduce(const struct oq_graph *g, int to) {
    const struct oq_node *s = find_node(g, "rsum"), *m = find_node(g, "rmean"), *x = find_node(g, "rmax");
    CHECK(s && !oq_node_attr(s, "axes") && input_is_ints(g, s, 1, 1, I64(1)));
    if (to >= 18) {
        CHECK(m && !oq_node_attr(m, "axes") && input_is_ints(g, m, 1, 1, I64(-1)));
        CHECK(x && !oq_node_attr(x, "axes") && input_is_ints(g, x, 1, 2, I64(0, 2)));
        const struct oq_node *e = find_node(g, "rl2");
        CHECK(e && !oq_node_attr(e, "axes") && input_absent(e, 1));
    } else {
        const int64_t *v;
        CHECK(m && oq_attr_ints(m, "axes", &v) == 1 && v[0] == -1 && input_absent(m, 1));
    }
    CHECK(input_absent(find_node(g, "rmin"), 1));
}

static void b_clip(struct oq_graph *g) {
    in_x(g, g_cur);
    struct oq_node *n = gb_node(g, "Clip", "clip", 1, S("x"), 1, S("t"));
    gb_attr_float(n, "min", -0.5f);
    gb_attr_float(n, "max", 0.75f);
    gb_attr_float(gb_node(g, "Clip", "clip_hi", 1, S("t"), 1, S("u")), "max", 0.25f);
    gb_node(g, "Clip", "clip_none", 1, S("u"), 1, S("y"));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_clip(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "clip"), *b = find_node(g, "clip_hi"), *c = find_node(g, "clip_none");
    CHECK(a && !oq_node_attr(a, "min") && !oq_node_attr(a, "max"));
    CHECK(input_is_scalar(g, a, 1, OQ_DTYPE_FLOAT, -0.5) && input_is_scalar(g, a, 2, OQ_DTYPE_FLOAT, 0.75));
    CHECK(b && input_absent(b, 1) && input_is_scalar(g, b, 2, OQ_DTYPE_FLOAT, 0.25));
    CHECK(c && c->n_in == 1);
}

static void b_pad(struct oq_graph *g) {
    in_x(g, g_cur);
    struct oq_node *n = gb_node(g, "Pad", "pad", 1, S("x"), 1, S("t"));
    gb_attr_ints(n, "pads", 8, I64(0, 0, 1, 2, 0, 0, 2, 1));
    gb_attr_float(n, "value", 1.5f);
    n = gb_node(g, "Pad", "pad_reflect", 1, S("t"), 1, S("y"));
    gb_attr_ints(n, "pads", 8, I64(0, 0, 1, 1, 0, 0, 0, 2));
    gb_attr_string(n, "mode", "reflect");
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_pad(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "pad"), *b = find_node(g, "pad_reflect");
    CHECK(a && !oq_node_attr(a, "pads") && !oq_node_attr(a, "value"));
    CHECK(input_is_ints(g, a, 1, 8, I64(0, 0, 1, 2, 0, 0, 2, 1)) && input_is_scalar(g, a, 2, OQ_DTYPE_FLOAT, 1.5));
    CHECK(b && input_is_ints(g, b, 1, 8, I64(0, 0, 1, 1, 0, 0, 0, 2)) && input_absent(b, 2));
    CHECK(b && !strcmp(oq_attr_string(b, "mode", ""), "reflect"));
}

static void b_slice(struct oq_graph *g) {
    in_x(g, g_cur);
    struct oq_node *n = gb_node(g, "Slice", "sl", 1, S("x"), 1, S("t"));
    gb_attr_ints(n, "starts", 2, I64(1, 0));
    gb_attr_ints(n, "ends", 2, I64(1000, -1));
    gb_attr_ints(n, "axes", 2, I64(1, 2));
    n = gb_node(g, "Slice", "sl_noaxes", 1, S("t"), 1, S("y"));
    gb_attr_ints(n, "starts", 1, I64(1));
    gb_attr_ints(n, "ends", 1, I64(2));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_slice(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "sl"), *b = find_node(g, "sl_noaxes");
    CHECK(a && a->n_attr == 0 && input_is_ints(g, a, 1, 2, I64(1, 0)) && input_is_ints(g, a, 2, 2, I64(1000, -1)) &&
          input_is_ints(g, a, 3, 2, I64(1, 2)));
    CHECK(b && b->n_in == 3 && input_is_ints(g, b, 1, 1, I64(1)) && input_is_ints(g, b, 2, 1, I64(2)));
}

static void b_dropout_bn(struct oq_graph *g) {
    in_x(g, g_cur);
    gb_attr_float(gb_node(g, "Dropout", "drop", 1, S("x"), 2, S("t", "mask_unused")), "ratio", 0.25f);
    float sc[3] = {1.5f, -0.5f, 2.0f}, b[3] = {0.1f, 0.2f, -0.3f}, mean[3] = {0.5f, -1.0f, 0.0f},
          var[3] = {1.0f, 0.25f, 4.0f};
    gb_init_f32(g, "bn_s", 1, I64(3), sc);
    gb_init_f32(g, "bn_b", 1, I64(3), b);
    gb_init_f32(g, "bn_m", 1, I64(3), mean);
    gb_init_f32(g, "bn_v", 1, I64(3), var);
    struct oq_node *n = gb_node(g, "BatchNormalization", "bn", 5, S("t", "bn_s", "bn_b", "bn_m", "bn_v"), 3,
                                S("y", "bn_rm", "bn_rv"));
    gb_attr_float(n, "epsilon", 1e-3f);
    gb_attr_int(n, "spatial", 1); /* stale attribute some exporters write at opset 9 */
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_dropout_bn(const struct oq_graph *g, int to) {
    const struct oq_node *d = find_node(g, "drop"), *bn = find_node(g, "bn");
    CHECK(d && d->n_out == 1 && !oq_node_attr(d, "ratio") && input_is_scalar(g, d, 1, OQ_DTYPE_FLOAT, 0.25));
    /* the unused mask goes at 10 (it turns bool), the unused training outputs at 14 (valid until then) */
    CHECK(oq_graph_find_value(g, "mask_unused") < 0);
    CHECK((oq_graph_find_value(g, "bn_rm") < 0) == (to >= 14));
    CHECK(bn && bn->n_out == (to >= 14 ? 1 : 3) && !oq_node_attr(bn, "spatial") && oq_attr_float(bn, "epsilon", 0) == 1e-3f);
}

static void b_softmax(struct oq_graph *g) {
    in_x(g, g_cur); /* [2, 3, 4] */
    gb_attr_int(gb_node(g, "Softmax", "sm_wrap", 1, S("x"), 1, S("a")), "axis", 1);
    gb_node(g, "Softmax", "sm_dflt", 1, S("x"), 1, S("b")); /* axis 1 by default before 13 */
    gb_attr_int(gb_node(g, "LogSoftmax", "lsm_last", 1, S("x"), 1, S("c")), "axis", -1);
    gb_attr_int(gb_node(g, "LogSoftmax", "lsm_0", 1, S("x"), 1, S("d")), "axis", 0);
    /* [2,3,4] -> Reshape [6,4,1,1]: axis 1 with trailing ones is provably the same */
    gb_init_i64(g, "shp", 4, I64(6, 4, 1, 1));
    gb_node(g, "Reshape", "rs", 2, S("x", "shp"), 1, S("r"));
    gb_attr_int(gb_node(g, "Softmax", "sm_ones", 1, S("r"), 1, S("e")), "axis", 1);
    const char *outs[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        gb_output(g, outs[i], OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_softmax(const struct oq_graph *g, int to) {
    const struct oq_node *w = find_node(g, "sm_wrap"), *d = find_node(g, "sm_dflt");
    const struct oq_node *c = find_node(g, "lsm_last"), *z = find_node(g, "lsm_0"), *e = find_node(g, "sm_ones");
    /* wrapped: input is a Flatten output, output feeds a Reshape */
    CHECK(w && oq_attr_int(w, "axis", 0) == -1 && g->values[w->in[0]].producer >= 0 &&
          !strcmp(g->nodes[g->values[w->in[0]].producer].op_type, "Flatten"));
    CHECK(d && oq_attr_int(d, "axis", 0) == -1 && strcmp(g->values[d->in[0]].name, "x"));
    CHECK(z && oq_attr_int(z, "axis", 9) == -1 && strcmp(g->values[z->in[0]].name, "x"));
    CHECK(c && oq_attr_int(c, "axis", 0) == 2 && !strcmp(g->values[c->in[0]].name, "x"));
    CHECK(e && oq_attr_int(e, "axis", 0) == 1 && !strcmp(g->values[e->in[0]].name, "r"));
    CHECK(count_op(g, "Flatten") == 3 && count_op(g, "Shape") == 3 && count_op(g, "Reshape") == 4);
}

static void b_upsample(struct oq_graph *g) {
    in_x(g, g_cur); /* [1, 2, 3, 4] */
    float s1[4] = {1, 1, 2, 3}, s2[4] = {1, 1, 2, 1.5f};
    gb_init_f32(g, "up_s1", 1, I64(4), s1);
    gb_init_f32(g, "up_s2", 1, I64(4), s2);
    gb_node(g, "Upsample", "up_nn", 2, S("x", "up_s1"), 1, S("a"));
    gb_attr_string(gb_node(g, "Upsample", "up_lin", 2, S("x", "up_s2"), 1, S("b")), "mode", "linear");
    gb_output(g, "a", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "b", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_upsample(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "up_nn"), *b = find_node(g, "up_lin");
    if (to < 11) { /* Resize-10 has Upsample-9's form and meaning */
        CHECK(a && !strcmp(a->op_type, "Resize") && a->n_in == 2 && a->n_attr == 0);
        CHECK(b && !strcmp(b->op_type, "Resize") && b->n_in == 2 && !strcmp(oq_attr_string(b, "mode", ""), "linear"));
        return;
    }
    CHECK(a && !strcmp(a->op_type, "Resize") && !strcmp(oq_attr_string(a, "coordinate_transformation_mode", ""),
                                                        "asymmetric"));
    CHECK(a && !strcmp(oq_attr_string(a, "nearest_mode", ""), "floor") && !strcmp(oq_attr_string(a, "mode", "nearest"),
                                                                                   "nearest"));
    CHECK(a && a->n_in == 3 && !strcmp(g->values[a->in[2]].name, "up_s1"));
    if (to >= 13) {
        CHECK(input_absent(a, 1));
    } else { /* roi is required at 11 and 12: an empty constant */
        CHECK(a && a->in[1] >= 0 && g->values[a->in[1]].init && oq_tensor_numel(g->values[a->in[1]].init) == 0);
    }
    CHECK(b && !strcmp(b->op_type, "Resize") && !strcmp(oq_attr_string(b, "mode", ""), "linear"));
    CHECK(count_op(g, "Upsample") == 0);
}

static void b_resize10(struct oq_graph *g) {
    in_x(g, g_cur); /* [1, 2, 6, 8] */
    float s1[4] = {1, 1, 0.5f, 0.75f}, s2[4] = {1, 1, 2, 2.5f};
    gb_init_f32(g, "rz_s1", 1, I64(4), s1);
    gb_init_f32(g, "rz_s2", 1, I64(4), s2);
    gb_node(g, "Resize", "rz_down", 2, S("x", "rz_s1"), 1, S("a"));
    gb_node(g, "Resize", "rz_up", 2, S("x", "rz_s2"), 1, S("b"));
    gb_output(g, "a", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "b", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_resize10(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "rz_down"), *b = find_node(g, "rz_up");
    CHECK(a && !strcmp(oq_attr_string(a, "nearest_mode", ""), "ceil") && input_absent(a, 1) && a->n_in == 3);
    CHECK(b && !strcmp(oq_attr_string(b, "nearest_mode", ""), "floor"));
}

static void b_resize11(struct oq_graph *g) {
    in_x(g, g_cur); /* [1, 2, 3, 4] */
    float s[4] = {1, 1, 2, 2};
    gb_init_f32(g, "rz_roi", 1, I64(0), NULL);
    gb_init_f32(g, "rz_sc", 1, I64(4), s);
    gb_init_f32(g, "rz_empty", 1, I64(0), NULL);
    gb_init_i64(g, "rz_sizes", 4, I64(1, 2, 5, 7));
    struct oq_node *n = gb_node(g, "Resize", "rz_sc", 3, S("x", "rz_roi", "rz_sc"), 1, S("a"));
    gb_attr_string(n, "coordinate_transformation_mode", "asymmetric");
    gb_attr_string(n, "nearest_mode", "floor");
    n = gb_node(g, "Resize", "rz_sz", 4, S("x", "rz_roi", "rz_empty", "rz_sizes"), 1, S("b"));
    gb_attr_string(n, "mode", "linear");
    gb_output(g, "a", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "b", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_resize11(const struct oq_graph *g, int to) {
    const struct oq_node *a = find_node(g, "rz_sc"), *b = find_node(g, "rz_sz");
    if (to < 13) {
        CHECK(a && a->n_in == 3 && b && b->n_in == 4 && !input_absent(b, 1) && !input_absent(b, 2));
        return;
    }
    CHECK(a && a->n_in == 3 && input_absent(a, 1) && !strcmp(g->values[a->in[2]].name, "rz_sc"));
    CHECK(oq_graph_find_value(g, "rz_roi") < 0 && oq_graph_find_value(g, "rz_empty") < 0); /* detached: dropped */
    CHECK(b && b->n_in == 4 && input_absent(b, 1) && input_absent(b, 2) && !strcmp(g->values[b->in[3]].name,
                                                                                    "rz_sizes"));
}

static void b_unchanged(struct oq_graph *g) {
    in_x(g, g_cur); /* [1, 2, 4, 4] */
    float w[3 * 2 * 3 * 3], gw[3 * 5], gbias[5];
    uint64_t seed = 7;
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
        w[i] = test_rng_uniform(&seed, -1, 1);
    for (size_t i = 0; i < sizeof(gw) / sizeof(gw[0]); i++)
        gw[i] = test_rng_uniform(&seed, -1, 1);
    for (size_t i = 0; i < 5; i++)
        gbias[i] = test_rng_uniform(&seed, -1, 1);
    gb_init_f32(g, "w", 4, I64(3, 2, 3, 3), w);
    gb_init_f32(g, "gw", 2, I64(3, 5), gw);
    gb_init_f32(g, "gb", 1, I64(5), gbias);
    gb_attr_ints(gb_node(g, "Conv", "conv", 2, S("x", "w"), 1, S("c")), "pads", 4, I64(1, 1, 1, 1));
    gb_node(g, "HardSigmoid", "hs", 1, S("c"), 1, S("h"));
    gb_node(g, "Mul", "mul", 2, S("c", "h"), 1, S("m"));
    gb_node(g, "GlobalAveragePool", "gap", 1, S("m"), 1, S("p"));
    gb_node(g, "Flatten", "fl", 1, S("p"), 1, S("f"));
    gb_node(g, "Gemm", "gemm", 3, S("f", "gw", "gb"), 1, S("y"));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
}
static void c_unchanged(const struct oq_graph *g, int to) { CHECK(g->n_nodes == 6); }

static const struct ucase cases[] = {
    {"squeeze", 9, 3, {2, 1, 3}, b_squeeze, c_squeeze},
    {"squeeze11", 11, 3, {2, 1, 3}, b_squeeze, c_squeeze},
    {"split", 9, 3, {2, 3, 4}, b_split, c_split},
    {"split11", 11, 3, {2, 3, 4}, b_split, c_split},
    {"reduce", 9, 3, {2, 3, 4}, b_reduce, c_reduce},
    {"reduce11", 11, 3, {2, 3, 4}, b_reduce, c_reduce},
    {"clip", 9, 2, {3, 5}, b_clip, c_clip},
    {"pad", 9, 4, {1, 2, 3, 4}, b_pad, c_pad},
    {"slice", 9, 3, {2, 3, 4}, b_slice, c_slice},
    {"dropout_bn", 9, 4, {2, 3, 2, 2}, b_dropout_bn, c_dropout_bn},
    {"softmax", 9, 3, {2, 3, 4}, b_softmax, c_softmax},
    {"softmax11", 11, 3, {2, 3, 4}, b_softmax, c_softmax},
    {"upsample", 9, 4, {1, 2, 3, 4}, b_upsample, c_upsample},
    {"resize10", 10, 4, {1, 2, 6, 8}, b_resize10, c_resize10},
    {"resize11", 11, 4, {1, 2, 3, 4}, b_resize11, c_resize11},
    {"unchanged", 9, 4, {1, 2, 4, 4}, b_unchanged, c_unchanged},
};

static void in_x(struct oq_graph *g, const struct ucase *c) { gb_input(g, "x", OQ_DTYPE_FLOAT, c->ndim, c->dims); }

static struct oq_graph *build(const struct ucase *c, int opset) {
    struct oq_graph *g = gb_new(opset);
    g_cur = c;
    c->build(g);
    return g;
}

static void run_case(const struct ucase *c, int to, bool via_clone) {
    int64_t numel = oq_shape_numel(c->ndim, c->dims);
    float *x = malloc(sizeof(float) * (size_t)numel);
    uint64_t seed = 1234;
    for (int64_t i = 0; i < numel; i++)
        x[i] = test_rng_uniform(&seed, -3, 3);
    struct result ref, got;
    oq_error err = {0};
    bool ok_ref = run_graph(build(c, c->from), c->ndim, c->dims, x, &ref);
    CHECK_MSG(ok_ref, "%s: original graph (opset %d) runs", c->name, c->from);

    struct oq_graph *src = build(c, c->from), *g = src;
    if (via_clone) { /* borrowed initializers: the pass must take its own copies */
        g = oq_graph_clone(src, false);
        CHECK(g != NULL);
    }
    oq_status st = oq_graph_upgrade_opset(g, to, &err);
    CHECK_MSG(st == OQ_OK, "%s: upgrade %d -> %d: %s", c->name, c->from, to, err.msg);
    if (st == OQ_OK) {
        CHECK_MSG(oq_graph_opset(g, "") == to, "%s: opset import is %lld", c->name, (long long)oq_graph_opset(g, ""));
        bool all = true;
        for (int i = 0; i < g->n_nodes; i++)
            all &= g->nodes[i].opset == to;
        CHECK_MSG(all, "%s: node opsets set to %d", c->name, to);
        int before = g_test_failures;
        c->check(g, to);
        if (g_test_failures != before)
            fprintf(stderr, "  (in case %s, %d -> %d)\n", c->name, c->from, to);
        bool ok = run_graph(g, c->ndim, c->dims, x, &got);
        g = NULL;
        CHECK_MSG(ok, "%s: upgraded graph (opset %d) runs", c->name, to);
        if (ok && ok_ref)
            CHECK_MSG(same_results(c->name, &ref, &got), "%s: %d -> %d gives identical outputs", c->name, c->from, to);
        result_free(&got);
    }
    oq_graph_free(g);
    if (via_clone)
        oq_graph_free(src);
    result_free(&ref);
    free(x);
}

/* ---------------------------------------------------------------- refusals and names */

/* The graph is refused with `code`, the message names the node and op, and nothing changed. */
static void expect_refusal(struct oq_graph *g, int to, oq_status code, const char *node, const char *op) {
    int n_nodes = g->n_nodes, n_values = g->n_values;
    int64_t opset = oq_graph_opset(g, "");
    oq_error err = {0};
    oq_status st = oq_graph_upgrade_opset(g, to, &err);
    CHECK_MSG(st == code, "refusal of %s: got %s (%s)", node, oq_status_str(st), err.msg);
    char want[128];
    snprintf(want, sizeof(want), "node '%s' (%s)", node, op);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message names the node: %s", err.msg);
    snprintf(want, sizeof(want), "from opset %lld to %d", (long long)opset, to);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message names the opsets: %s", err.msg);
    CHECK(g->n_nodes == n_nodes && g->n_values == n_values && oq_graph_opset(g, "") == opset);
    oq_graph_free(g);
}

static void test_refusals(void) {
    int64_t d4[4] = {1, 2, 3, 4};
    struct oq_graph *g = gb_new(9);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    gb_attr_ints(gb_node(g, "Squeeze", "ok_before", 1, S("x"), 1, S("t")), "axes", 1, I64(0));
    gb_node(g, "FancyOp", "fancy", 1, S("t"), 1, S("y"));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    expect_refusal(g, 13, OQ_ERR_UNSUPPORTED, "fancy", "FancyOp");

    g = gb_new(9);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    gb_node(g, "Dropout", "drop", 1, S("x"), 2, S("y", "mask"));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "mask", OQ_DTYPE_FLOAT, -1, NULL);
    expect_refusal(g, 13, OQ_ERR_UNSUPPORTED, "drop", "Dropout");

    g = gb_new(10);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    gb_init_f32(g, "s", 1, I64(4), (const float[]){1, 1, 2, 0.5f});
    gb_node(g, "Resize", "mixed", 2, S("x", "s"), 1, S("y"));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    expect_refusal(g, 13, OQ_ERR_UNSUPPORTED, "mixed", "Resize");

    g = gb_new(11);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    gb_init_f32(g, "roi", 1, I64(0), NULL);
    gb_init_f32(g, "s", 1, I64(4), (const float[]){1, 1, 2, 2});
    gb_attr_string(gb_node(g, "Resize", "tfnn", 3, S("x", "roi", "s"), 1, S("y")), "coordinate_transformation_mode",
                   "tf_half_pixel_for_nn");
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    expect_refusal(g, 13, OQ_ERR_UNSUPPORTED, "tfnn", "Resize");

    g = gb_new(9);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    float p[3] = {1, 1, 1};
    gb_init_f32(g, "p", 1, I64(3), p);
    gb_node(g, "BatchNormalization", "bn_train", 5, S("x", "p", "p", "p", "p"), 2, S("y", "mean"));
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "mean", OQ_DTYPE_FLOAT, -1, NULL);
    expect_refusal(g, 14, OQ_ERR_UNSUPPORTED, "bn_train", "BatchNormalization");

    /* Clip bounds need the input type: unknown here (input of a non-reviewed domain op) */
    g = gb_new(9);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d4);
    struct oq_node *n = gb_node(g, "Custom", "cust", 1, S("x"), 1, S("t"));
    free(n->domain);
    n->domain = strdup("com.example");
    gb_attr_float(gb_node(g, "Clip", "clip", 1, S("t"), 1, S("y")), "max", 1.0f);
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    expect_refusal(g, 11, OQ_ERR_UNSUPPORTED, "clip", "Clip");

    /* target out of range / downgrade / no default opset */
    oq_error err = {0};
    g = gb_new(11);
    CHECK(oq_graph_upgrade_opset(g, 22, &err) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "21"));
    CHECK(oq_graph_upgrade_opset(g, 9, &err) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "downgrading"));
    CHECK(oq_graph_upgrade_opset(g, 11, &err) == OQ_OK);
    oq_graph_free(g);
    g = gb_new(7);
    CHECK(oq_graph_upgrade_opset(g, 13, &err) == OQ_ERR_UNSUPPORTED);
    oq_graph_free(g);
}

/* New constants are named "<node>_<input>", with a suffix when that name is taken; reruns give the same. */
static void test_names(void) {
    for (int rep = 0; rep < 2; rep++) {
        int64_t d[3] = {2, 1, 3};
        struct oq_graph *g = gb_new(9);
        gb_input(g, "x", OQ_DTYPE_FLOAT, 3, d);
        gb_init_f32(g, "sq_axes", 1, I64(1), (const float[]){0}); /* collides with the natural name */
        gb_node(g, "Add", "add", 2, S("x", "sq_axes"), 1, S("t"));
        gb_attr_ints(gb_node(g, "Squeeze", "sq", 1, S("t"), 1, S("y")), "axes", 1, I64(1));
        gb_attr_ints(gb_node(g, "Squeeze", "", 1, S("t"), 1, S("z")), "axes", 1, I64(1)); /* unnamed node */
        gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
        gb_output(g, "z", OQ_DTYPE_FLOAT, -1, NULL);
        oq_error err = {0};
        CHECK_OK(oq_graph_upgrade_opset(g, 13, &err), &err);
        const struct oq_node *n = find_node(g, "sq");
        CHECK(n && n->n_in == 2 && !strcmp(g->values[n->in[1]].name, "sq_axes_1"));
        CHECK(oq_graph_find_value(g, "Squeeze_2_axes") >= 0);
        oq_graph_free(g);
    }
}

/* TopK (not run by onnxq): k moves to a [1] int64 input at 10. */
static void test_topk_form(void) {
    int64_t d[2] = {2, 5};
    struct oq_graph *g = gb_new(9);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, d);
    gb_attr_int(gb_node(g, "TopK", "topk", 1, S("x"), 2, S("v", "i")), "k", 3);
    gb_output(g, "v", OQ_DTYPE_FLOAT, -1, NULL);
    gb_output(g, "i", OQ_DTYPE_INT64, -1, NULL);
    oq_error err = {0};
    CHECK_OK(oq_graph_upgrade_opset(g, 13, &err), &err);
    const struct oq_node *n = find_node(g, "topk");
    CHECK(n && !oq_node_attr(n, "k") && input_is_ints(g, n, 1, 1, I64(3)));
    oq_graph_free(g);
}

int main(void) {
    const int targets[] = {13, 21};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        for (size_t t = 0; t < 2; t++)
            run_case(&cases[c], targets[t], false);
    /* intermediate targets and a borrowed-initializer clone */
    run_case(&cases[0], 12, false);
    run_case(&cases[4], 17, false);
    run_case(&cases[4], 18, true);
    run_case(&cases[7], 11, true);
    run_case(&cases[12], 10, false);
    run_case(&cases[12], 11, true);
    run_case(&cases[14], 12, false);
    test_refusals();
    test_names();
    test_topk_form();
    TEST_MAIN_END();
}
