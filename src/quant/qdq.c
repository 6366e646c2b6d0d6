/* The QDQ writer (see qdq.h for the conventions and qdq_rules.c for which tensors of which ops).
 *
 * Three passes, as ONNX Runtime's QDQQuantizer.quantize_model:
 *   1. mark    walk the nodes in graph order; each quantized node marks its tensors by its op rule: OWN
 *              (an activation with plan->act parameters, or a float initializer stored quantized with the
 *              activation type), SHARED (uses another tensor's parameters), WEIGHT (int8/int16 symmetric),
 *              and records bias jobs. Relu/Clip whose output Q/DQ implements them are removed here.
 *   2. params  weight parameters (abs_max / channel_wise_abs_max), then raise weight scales whose bias
 *              would overflow int32.
 *   3. emit    initializers and Q/DQ nodes in marking order: weights and OWN tensors first, then SHARED
 *              ones (they reuse their source's scale/zero-point initializers), then biases. Dead nodes and
 *              unused values are dropped and the graph is re-sorted.
 * Everything iterates in index order, so the output is deterministic. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/qmath.h"
#include "calib/scale.h"
#include "graph/opset_upgrade.h"
#include "quant/qdq.h"

struct oq_qdq_options oq_qdq_options_default(void) {
    struct oq_qdq_options o;
    memset(&o, 0, sizeof(o));
    return o;
}

/* ------------------------------------------------------------------ name map (string -> int) */

/* Open addressing over borrowed keys (the graph's own name strings, which do not move when the value and
 * node arrays are reallocated). Only used for lookups; nothing iterates over it. */
struct name_map {
    const char **keys;
    int *vals;
    size_t cap, n;
};

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void map_free(struct name_map *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static bool map_grow(struct name_map *m);

static bool map_put(struct name_map *m, const char *key, int val) {
    if ((m->n + 1) * 2 > m->cap && !map_grow(m))
        return false;
    size_t i = name_hash(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            m->vals[i] = val;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return true;
}

static bool map_grow(struct name_map *m) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    struct name_map nm = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(int)), cap, 0};
    if (!nm.keys || !nm.vals) {
        map_free(&nm);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            map_put(&nm, m->keys[i], m->vals[i]);
    map_free(m);
    *m = nm;
    return true;
}

static int map_get(const struct name_map *m, const char *key) {
    if (!m->cap)
        return -1;
    size_t i = name_hash(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

/* ------------------------------------------------------------------ state */

enum mark_kind { M_NONE = 0, M_OWN, M_SHARED, M_WEIGHT };

struct vmark {
    enum mark_kind kind;
    int src;               /* M_SHARED: the tensor whose parameters it takes */
    enum oq_dtype dtype;   /* M_WEIGHT: int8/int16; M_OWN initializer: the activation type to use */
    int axis;              /* M_WEIGHT: channel axis or -1 */
    bool symmetric;        /* M_OWN initializer */
};

struct bias_job {
    int node, bias, input, weight;
    float beta;
};

struct qdq {
    struct oq_graph *g;
    const struct oq_qdq_options *opt;
    oq_error *err;
    enum oq_quant_mode mode;
    int nv0, nn0;                  /* values / nodes before emission (marks are indexed by these) */
    const struct oq_qparam **act;  /* [nv0] plan parameters */
    const struct oq_node_quant *nq;/* [nn0] */
    struct vmark *mark;            /* [nv0] */
    int *order, n_order;           /* marked values in marking order */
    struct bias_job *bias;
    int n_bias, cap_bias;
    bool *dead;                    /* [nn0] */
    int *uses;                     /* [nv0] node-input + graph-output uses */
    struct oq_qparam **wq;         /* [nv0] parameters of quantized initializers (owned) */
    int *scale_v, *zp_v;           /* [nv0] emitted scale / zero-point initializers, -1 */
    struct name_map vnames, nnames;
    struct oq_qdq_stats st;
    int opset;
};

static oq_status nomem(struct qdq *q) {
    return oq_errorf(q->err, OQ_ERR_NOMEM, "%s: out of memory writing the QDQ graph",
                     q->g->source ? q->g->source : "graph");
}

static bool is_float_init(const struct qdq *q, int v) {
    return v >= 0 && q->g->values[v].init && q->g->values[v].init->dtype == OQ_DTYPE_FLOAT;
}

/* An activation onnxq may quantize: not an initializer, not integer-typed, with plan parameters. */
static bool act_ok(const struct qdq *q, int v) {
    if (v < 0 || v >= q->nv0 || q->g->values[v].init || !q->act[v])
        return false;
    enum oq_dtype dt = q->g->values[v].dtype;
    return dt == OQ_DTYPE_FLOAT || dt == OQ_DTYPE_UNDEFINED;
}

static bool is_marked(const struct qdq *q, int v) { return v >= 0 && v < q->nv0 && q->mark[v].kind != M_NONE; }

static void push_order(struct qdq *q, int v) { q->order[q->n_order++] = v; }

/* Symmetric parameters: the zero point sits in the middle of the type's range. */
static bool qparam_symmetric(const struct oq_qparam *p) {
    int32_t zp = p->zero_point[0];
    switch (p->dtype) {
    case OQ_DTYPE_UINT8:  return zp == 128;
    case OQ_DTYPE_UINT16: return zp == 32768;
    default:              return zp == 0;
    }
}

/* The activation type for a float initializer read by node n: that of the node's first output with
 * parameters, else of an input with parameters, else uint8 asymmetric (ORT: activation_qType). */
static void node_act_type(const struct qdq *q, const struct oq_node *n, enum oq_dtype *dt, bool *sym) {
    *dt = OQ_DTYPE_UINT8;
    *sym = false;
    const struct oq_qparam *p = NULL;
    for (int k = 0; !p && k < n->n_out; k++)
        if (n->out[k] >= 0 && n->out[k] < q->nv0 && q->act[n->out[k]])
            p = q->act[n->out[k]];
    for (int k = 0; !p && k < n->n_in; k++)
        if (act_ok(q, n->in[k]))
            p = q->act[n->in[k]];
    if (p) {
        *dt = p->dtype;
        *sym = qparam_symmetric(p);
    }
}

/* Mark v for its own parameters; true when v is (now or already) quantized. */
static bool mark_own(struct qdq *q, const struct oq_node *n, int v) {
    if (v < 0 || v >= q->nv0)
        return false;
    if (q->mark[v].kind != M_NONE)
        return true;
    if (is_float_init(q, v)) {
        q->mark[v].kind = M_OWN;
        node_act_type(q, n, &q->mark[v].dtype, &q->mark[v].symmetric);
        q->mark[v].axis = -1;
        push_order(q, v);
        return true;
    }
    if (!act_ok(q, v))
        return false;
    q->mark[v].kind = M_OWN;
    push_order(q, v);
    return true;
}

/* Mark `out` to take `src`'s parameters (overrides an own mark, as ORT's provider does). */
static void mark_shared(struct qdq *q, int out, int src) {
    if (out < 0 || out >= q->nv0 || out == src || q->g->values[out].init || !is_marked(q, src))
        return;
    enum oq_dtype dt = q->g->values[out].dtype;
    if (dt != OQ_DTYPE_FLOAT && dt != OQ_DTYPE_UNDEFINED)
        return;
    if (q->mark[out].kind == M_NONE)
        push_order(q, out);
    q->mark[out].kind = M_SHARED;
    q->mark[out].src = src;
}

/* Mark a weight initializer (int8/int16 symmetric, axis or -1). A weight that is not a float initializer is
 * treated as an activation (ORT does the same). Returns true when v is a WEIGHT afterwards. */
static bool mark_weight(struct qdq *q, const struct oq_node *n, int v, enum oq_dtype dt, int axis) {
    if (!is_float_init(q, v)) {
        if (q->mode == OQ_QUANT_STATIC)
            mark_own(q, n, v);
        return false;
    }
    if (q->mark[v].kind == M_NONE) { /* the first node to claim a shared weight decides its form */
        q->mark[v].kind = M_WEIGHT;
        q->mark[v].dtype = dt;
        q->mark[v].axis = axis;
        push_order(q, v);
    }
    return q->mark[v].kind == M_WEIGHT;
}

/* The tensor whose parameters v's Q/DQ uses (follows SHARED links). */
static int param_root(const struct qdq *q, int v) {
    for (int guard = 0; guard < q->nv0 && v >= 0 && q->mark[v].kind == M_SHARED; guard++)
        v = q->mark[v].src;
    return v;
}

static const struct oq_qparam *root_params(const struct qdq *q, int v) {
    int r = param_root(q, v);
    if (r < 0 || q->mark[r].kind == M_NONE || q->mark[r].kind == M_SHARED)
        return NULL;
    return q->wq[r] ? q->wq[r] : q->act[r];
}

/* Scalar float value of an initializer input (Clip bounds, Pad value); false if not a constant. */
static bool const_scalar(const struct qdq *q, int v, float *out) {
    if (v < 0 || !q->g->values[v].init)
        return false;
    const struct oq_tensor *t = q->g->values[v].init;
    if (oq_tensor_numel(t) != 1 || !oq_dtype_is_float(t->dtype))
        return false;
    *out = (float)oq_tensor_get_f64(t, 0);
    return true;
}

/* Relu/Clip removal test: the output's quantized range lies within the clip range, within half a step (the
 * nudged zero point and float rounding of the top step). Relu: zero point at the bottom of the range. */
static bool removable(const struct qdq *q, const struct oq_node *n, int r) {
    const struct oq_qparam *p = q->act[r];
    if (!p || p->n != 1)
        return false;
    float lo = -INFINITY, hi = INFINITY;
    if (!strcmp(n->op_type, "Relu")) {
        lo = 0;
    } else if (q->opset < 11) {
        lo = oq_attr_float(n, "min", -FLT_MAX);
        hi = oq_attr_float(n, "max", FLT_MAX);
    } else {
        if (n->n_in > 1 && n->in[1] >= 0 && !const_scalar(q, n->in[1], &lo))
            return false;
        if (n->n_in > 2 && n->in[2] >= 0 && !const_scalar(q, n->in[2], &hi))
            return false;
    }
    int32_t qmin, qmax;
    oq_qtype_range(p->dtype, false, &qmin, &qmax);
    double s = p->scale[0], tol = 0.5 * s;
    double rep_lo = (double)(qmin - p->zero_point[0]) * s, rep_hi = (double)(qmax - p->zero_point[0]) * s;
    return rep_lo >= (double)lo - tol && rep_hi <= (double)hi + tol;
}

static oq_status add_bias_job(struct qdq *q, int node, int bias, int input, int weight, float beta) {
    if (q->n_bias == q->cap_bias) {
        int cap = q->cap_bias ? q->cap_bias * 2 : 32;
        struct bias_job *nb = realloc(q->bias, sizeof(*nb) * (size_t)cap);
        if (!nb)
            return nomem(q);
        q->bias = nb;
        q->cap_bias = cap;
    }
    q->bias[q->n_bias++] = (struct bias_job){node, bias, input, weight, beta};
    return OQ_OK;
}

/* ------------------------------------------------------------------ pass 1: mark */

static oq_status weight_axis(struct qdq *q, const struct oq_node *n, int w, bool per_channel, int *axis) {
    *axis = -1;
    const struct oq_tensor *t = q->g->values[w].init;
    if (!per_channel || !t || t->ndim < 2)
        return OQ_OK;
    if (!strcmp(n->op_type, "ConvTranspose") && oq_attr_int(n, "group", 1) != 1)
        return OQ_OK; /* axis 1 holds Co/group channels, the bias Co: keep the weight per tensor */
    bool trans_b = oq_attr_int(n, "transB", 0) != 0;
    return oq_calib_weight_axis(n->op_type, t->ndim, trans_b, axis, q->err);
}

static oq_status mark_weighted(struct qdq *q, int i, const struct oq_qdq_rule *rule) {
    const struct oq_node *n = &q->g->nodes[i];
    const struct oq_node_quant *d = &q->nq[i];
    enum oq_dtype wdt = d->weight_dtype == OQ_DTYPE_INT16 ? OQ_DTYPE_INT16 : OQ_DTYPE_INT8;
    bool stat = q->mode == OQ_QUANT_STATIC;
    bool matmul = !strcmp(n->op_type, "MatMul");
    int w = n->n_in > 1 ? n->in[1] : -1;
    bool in_q = false, w_q = false;
    if (stat)
        in_q = matmul && is_float_init(q, n->in[0]) ? false : mark_own(q, n, n->in[0]);
    if (matmul && is_float_init(q, n->in[0])) /* a constant A: per tensor */
        mark_weight(q, n, n->in[0], wdt, -1);
    if (w >= 0) {
        int axis = -1;
        if (is_float_init(q, w))
            OQ_TRY(weight_axis(q, n, w, d->per_channel, &axis));
        w_q = mark_weight(q, n, w, wdt, axis);
    }
    if (!stat)
        return OQ_OK;
    int b = rule->bias_input >= 0 && n->n_in > rule->bias_input ? n->in[rule->bias_input] : -1;
    if (b >= 0 && in_q && w_q && !q->opt->float_bias && is_float_init(q, b)) {
        bool gemm = !strcmp(n->op_type, "Gemm");
        if (!gemm || oq_attr_float(n, "alpha", 1.0f) == 1.0f)
            OQ_TRY(add_bias_job(q, i, b, n->in[0], w, gemm ? oq_attr_float(n, "beta", 1.0f) : 1.0f));
    }
    for (int k = 0; k < n->n_out; k++)
        mark_own(q, n, n->out[k]);
    return OQ_OK;
}

static bool pad_keeps_values(const struct qdq *q, const struct oq_node *n) {
    const char *mode = oq_attr_string(n, "mode", "constant");
    if (!strcmp(mode, "reflect") || !strcmp(mode, "edge") || !strcmp(mode, "wrap"))
        return true;
    float v = 0;
    if (q->opset < 11)
        v = oq_attr_float(n, "value", 0.0f);
    else if (n->n_in > 2 && n->in[2] >= 0 && !const_scalar(q, n->in[2], &v))
        return false;
    return v == 0.0f; /* every quantized range contains 0 exactly */
}

/* A Softmax output is quantized for [0, 1) with the fixed parameters of ORT's QLinearSoftmax (QOperator
 * mode: scale 1/256 and the type's lowest value as zero point; 1/65536 for 16-bit types), whatever
 * calibration saw: ORT only fuses DQ -> Softmax -> Q into QLinearSoftmax with those, and its kernel computes
 * wrong values (all zeros here) for smaller output scales. Only the type of the plan is kept. */
static oq_status softmax_params(struct qdq *q, int y) {
    const struct oq_qparam *p = q->act[y];
    int32_t qmin, qmax;
    oq_qtype_range(p->dtype, false, &qmin, &qmax);
    bool wide = p->dtype == OQ_DTYPE_UINT16 || p->dtype == OQ_DTYPE_INT16;
    struct oq_qparam *np = oq_qparam_new_tensor(p->dtype, wide ? 1.0f / 65536.0f : 1.0f / 256.0f, qmin);
    if (!np)
        return nomem(q);
    np->clip_lo = 0.0f;
    np->clip_hi = 1.0f;
    np->algo = "softmax_fixed";
    q->wq[y] = np;
    return OQ_OK;
}

static oq_status mark_node(struct qdq *q, int i) {
    struct oq_node *n = &q->g->nodes[i];
    if (!q->nq[i].quantize || (n->domain[0] && strcmp(n->domain, "ai.onnx")))
        return OQ_OK;
    const struct oq_qdq_rule *rule = oq_qdq_rule_find(n->op_type);
    if (!rule || q->opset < rule->min_opset || n->n_in < 1)
        return OQ_OK;
    if (rule->kind == OQ_QDQ_WEIGHTED)
        return mark_weighted(q, i, rule);
    if (q->mode != OQ_QUANT_STATIC)
        return OQ_OK;
    int x = n->in[0], y = n->n_out > 0 ? n->out[0] : -1;
    switch (rule->kind) {
    case OQ_QDQ_GENERIC:
        for (int k = 0; k < n->n_in; k++)
            mark_own(q, n, n->in[k]);
        for (int k = 0; k < n->n_out; k++)
            mark_own(q, n, n->out[k]);
        if (!strcmp(n->op_type, "Softmax") && y >= 0 && q->mark[y].kind == M_OWN && !q->wq[y])
            OQ_TRY(softmax_params(q, y));
        break;
    case OQ_QDQ_SHARE:
        if (is_marked(q, x))
            mark_shared(q, y, x);
        break;
    case OQ_QDQ_SPLIT:
        if (mark_own(q, n, x))
            for (int k = 0; k < n->n_out; k++)
                mark_shared(q, n->out[k], x);
        break;
    case OQ_QDQ_GATHER:
        if (is_float_init(q, x))
            mark_own(q, n, x);
        if (is_marked(q, x))
            mark_shared(q, y, x);
        break;
    case OQ_QDQ_PAD:
        /* Only the data input: a quantized constant_value would turn a constant into a computed value. */
        if (mark_own(q, n, x)) {
            if (pad_keeps_values(q, n))
                mark_shared(q, y, x);
            else
                mark_own(q, n, y);
        }
        break;
    case OQ_QDQ_REMOVABLE: {
        if (!is_marked(q, x) || y < 0)
            break;
        const struct oq_value *xv = &q->g->values[x];
        int p = xv->producer;
        if (!q->opt->keep_removable_activations && act_ok(q, y) && p >= 0 && !xv->is_output && !xv->is_input &&
            q->uses[x] == 1 && removable(q, n, y)) {
            /* the producer writes the activation's output; the activation disappears */
            struct oq_node *pn = &q->g->nodes[p];
            for (int k = 0; k < pn->n_out; k++)
                if (pn->out[k] == x)
                    pn->out[k] = y;
            q->g->values[y].producer = p;
            q->g->values[x].producer = -1;
            q->mark[x].kind = M_NONE;
            q->dead[i] = true;
            q->uses[x] = 0;
            q->st.n_removed_activations++;
            mark_own(q, n, y);
        } else {
            mark_own(q, n, x);
            mark_own(q, n, y);
            /* ORT adjust_tensor_ranges: the kept activation's input takes its output's range */
            if (q->uses[x] == 1 && q->mark[x].kind == M_OWN && !q->g->values[x].init && !q->wq[x] &&
                act_ok(q, y) && !(q->wq[x] = oq_qparam_clone(q->act[y])))
                return nomem(q);
        }
        break;
    }
    default:
        break;
    }
    return OQ_OK;
}

/* ------------------------------------------------------------------ pass 2: parameters */

static oq_status check_qparam(const struct qdq *q, int v, const struct oq_qparam *p, int ndim,
                              const int64_t *dims) {
    const char *name = q->g->values[v].name;
    if (!oq_qtype_valid(p->dtype))
        return oq_errorf(q->err, OQ_ERR_ARG, "tensor '%s': quantization type %s is not uint8, int8, uint16 or int16",
                         name, oq_dtype_name(p->dtype));
    if (p->n < 1 || (p->axis < 0 && p->n != 1))
        return oq_errorf(q->err, OQ_ERR_ARG, "tensor '%s': %lld scales for axis %d", name, (long long)p->n,
                         p->axis);
    if (p->axis >= 0 && ndim >= 0 && (p->axis >= ndim || (dims[p->axis] >= 0 && dims[p->axis] != p->n)))
        return oq_errorf(q->err, OQ_ERR_ARG, "tensor '%s': %lld scales along axis %d do not fit its shape", name,
                         (long long)p->n, p->axis);
    int32_t lo, hi;
    oq_qtype_range(p->dtype, false, &lo, &hi);
    for (int64_t i = 0; i < p->n; i++) {
        float s = p->scale[i];
        if (!(s > 0) || !isfinite(s) || !isnormal(s))
            return oq_errorf(q->err, OQ_ERR_ARG, "tensor '%s': scale[%lld] = %g is not a positive normal float",
                             name, (long long)i, (double)s);
        if (p->zero_point[i] < lo || p->zero_point[i] > hi)
            return oq_errorf(q->err, OQ_ERR_ARG, "tensor '%s': zero point %d is outside %s's range [%d, %d]", name,
                             (int)p->zero_point[i], oq_dtype_name(p->dtype), (int)lo, (int)hi);
    }
    return OQ_OK;
}

static oq_status init_params(struct qdq *q, int v) {
    const struct oq_tensor *t = q->g->values[v].init;
    const char *name = q->g->values[v].name;
    const struct vmark *m = &q->mark[v];
    if (q->act[v]) { /* the caller chose them (e.g. a calibration table) */
        OQ_TRY(check_qparam(q, v, q->act[v], t->ndim, t->dims));
        return (q->wq[v] = oq_qparam_clone(q->act[v])) ? OQ_OK : nomem(q);
    }
    struct oq_calib_config cfg = oq_calib_config_default();
    cfg.qtype = m->dtype;
    cfg.symmetric = m->kind == M_WEIGHT || m->symmetric;
    int64_t n = 1;
    if (m->kind == M_WEIGHT) {
        cfg.algo = m->axis >= 0 ? OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX : OQ_CALIB_ALGO_ABS_MAX;
        if (q->opt->weight_pow2) {
            cfg.pow2 = true;
            if (q->opt->pow2_min || q->opt->pow2_max) {
                cfg.pow2_min = q->opt->pow2_min;
                cfg.pow2_max = q->opt->pow2_max;
            }
        }
        n = m->axis >= 0 ? t->dims[m->axis] : 1;
    }
    struct oq_qparam *p = oq_qparam_new_axis(m->dtype, m->kind == M_WEIGHT ? m->axis : -1, n);
    if (!p)
        return nomem(q);
    q->wq[v] = p;
    p->algo = oq_calib_algo_name(cfg.algo);
    if (m->kind == M_WEIGHT)
        return oq_calib_weight_qparams(name, t->data, t->ndim, t->dims, m->axis, &cfg, p->scale, p->zero_point,
                                       q->err);
    /* a constant input of an elementwise op: min/max range, the activation type (ORT) */
    const float *d = t->data;
    int64_t cnt = oq_tensor_numel(t);
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < cnt; i++) {
        if (!isfinite(d[i]))
            return oq_errorf(q->err, OQ_ERR_NUMERIC, "initializer '%s': element %lld is %g", name, (long long)i,
                             (double)d[i]);
        lo = d[i] < lo ? d[i] : lo;
        hi = d[i] > hi ? d[i] : hi;
    }
    struct oq_calib_result r;
    OQ_TRY(oq_calib_qparams_from_range(name, lo, hi, &cfg, &r, q->err));
    p->scale[0] = r.scale;
    p->zero_point[0] = r.zero_point;
    p->clip_lo = r.clip_lo;
    p->clip_hi = r.clip_hi;
    p->algo = "min_max";
    return OQ_OK;
}

/* ORT's _adjust_weight_scale_for_int32_bias: raise the weight scale so that b / (s_in * s_w) fits int32. */
static void adjust_weight_scale(struct qdq *q, const struct bias_job *j) {
    struct oq_qparam *pw = q->wq[j->weight];
    const struct oq_qparam *pin = root_params(q, j->input);
    const struct oq_tensor *b = q->g->values[j->bias].init;
    if (!pw || !pin || pin->n != 1 || (pw->dtype != OQ_DTYPE_INT8 && pw->dtype != OQ_DTYPE_INT16))
        return;
    for (int64_t c = 0; c < pw->n; c++)
        if (pw->zero_point[c] != 0)
            return;
    int64_t nb = oq_tensor_numel(b);
    if (pw->n > 1 && nb != pw->n)
        return;
    const double qrange = (double)INT32_MAX - (double)(INT32_MIN + 1);
    const float *bd = b->data;
    bool raised = false;
    for (int64_t c = 0; c < pw->n; c++) {
        double absmax = 0;
        for (int64_t i = pw->n > 1 ? c : 0; i < (pw->n > 1 ? c + 1 : nb); i++)
            absmax = fmax(absmax, fabs((double)bd[i] * j->beta));
        double smallest = 1.0001 * 2.0 * absmax / qrange;
        double cand = (double)pin->scale[0] * (double)pw->scale[c];
        if (cand < smallest && cand > 0) {
            float s = (float)((double)pw->scale[c] * (smallest / cand));
            if (q->opt->weight_pow2) /* stay a power of two: round up */
                s = exp2f(ceilf(log2f(s)));
            pw->scale[c] = s;
            raised = true;
        }
    }
    q->st.n_weight_scales_raised += raised;
}

/* ------------------------------------------------------------------ pass 3: emit */

/* name, or name_1, name_2, ... : the first not yet used in `m` (caller frees). */
static char *unique_name(const struct name_map *m, const char *base, const char *suffix) {
    size_t len = strlen(base) + strlen(suffix) + 24;
    char *s = malloc(len);
    if (!s)
        return NULL;
    snprintf(s, len, "%s%s", base, suffix);
    for (int k = 1; map_get(m, s) >= 0; k++)
        snprintf(s, len, "%s%s_%d", base, suffix, k);
    return s;
}

static int new_value(struct qdq *q, const char *base, const char *suffix, enum oq_dtype dt, int ndim,
                     const int64_t *dims) {
    char *name = unique_name(&q->vnames, base, suffix);
    int v = name ? oq_graph_add_value(q->g, name) : -1;
    free(name);
    if (v < 0 || !map_put(&q->vnames, q->g->values[v].name, v))
        return -1;
    struct oq_value *val = &q->g->values[v];
    val->dtype = dt;
    val->ndim = ndim;
    for (int d = 0; d < ndim && d < OQ_MAX_DIMS; d++)
        val->dims[d] = dims[d];
    return v;
}

/* An initializer value owning t (freed here on failure). */
static int new_init(struct qdq *q, const char *base, const char *suffix, struct oq_tensor *t) {
    if (!t)
        return -1;
    int v = new_value(q, base, suffix, t->dtype, t->ndim, t->dims);
    if (v < 0) {
        oq_tensor_free(t);
        return -1;
    }
    q->g->values[v].init = t;
    return v;
}

static int new_node(struct qdq *q, const char *base, const char *op, int n_in, const int *in, int out,
                    int axis) {
    char *name = unique_name(&q->nnames, base, "");
    int i = name ? oq_graph_add_node(q->g, name, op, "", n_in, in, 1, &out) : -1;
    free(name);
    if (i < 0 || !map_put(&q->nnames, q->g->nodes[i].name, i))
        return -1;
    q->g->nodes[i].opset = q->opset;
    if (axis >= 0) {
        struct oq_attr *a = oq_node_add_attr(&q->g->nodes[i], "axis", OQ_ATTR_INT);
        if (!a)
            return -1;
        a->i = axis;
    }
    if (!strcmp(op, "QuantizeLinear"))
        q->st.n_quantize++;
    else
        q->st.n_dequantize++;
    return i;
}

/* Marks a weight whose zero points are implicit zeros (no initializer yet). */
enum { ZP_IMPLICIT = -2 };

/* The scale initializer data of p: a scalar, or a 1-D vector along p->axis. */
static struct oq_tensor *scale_tensor(const struct oq_qparam *p) {
    int64_t n = p->n;
    struct oq_tensor *s = oq_tensor_new(OQ_DTYPE_FLOAT, p->axis >= 0 ? 1 : 0, &n, NULL);
    if (s)
        memcpy(s->data, p->scale, sizeof(float) * (size_t)n);
    return s;
}

/* Scale and zero-point initializers of p, named <base>_scale / <base>_zero_point. */
static oq_status emit_qparams(struct qdq *q, const char *base, const struct oq_qparam *p, enum oq_dtype zp_dt,
                              int *sv, int *zv) {
    int64_t n = p->n;
    int ndim = p->axis >= 0 ? 1 : 0;
    struct oq_tensor *s = oq_tensor_new(OQ_DTYPE_FLOAT, ndim, &n, NULL);
    struct oq_tensor *z = oq_tensor_new(zp_dt, ndim, &n, NULL);
    if (s)
        memcpy(s->data, p->scale, sizeof(float) * (size_t)n);
    for (int64_t i = 0; z && i < n; i++)
        oq_tensor_set_f64(z, i, p->zero_point[i]);
    if (!z)
        oq_tensor_free(s);
    *sv = new_init(q, base, "_scale", s);
    *zv = z ? new_init(q, base, "_zero_point", z) : -1;
    return *sv >= 0 && *zv >= 0 ? OQ_OK : nomem(q);
}

/* QuantizeLinear with p, in place of the float data (oq_quantize_f32 per channel). */
static void quantize_data(const struct oq_tensor *w, const struct oq_qparam *p, struct oq_tensor *out) {
    size_t es = oq_dtype_size(p->dtype);
    if (p->axis < 0) {
        oq_quantize_f32(w->data, oq_tensor_numel(w), p->scale[0], p->zero_point[0], p->dtype, out->data);
        return;
    }
    int64_t outer = oq_shape_numel(p->axis, w->dims), ch = w->dims[p->axis];
    int64_t inner = oq_shape_numel(w->ndim - p->axis - 1, w->dims + p->axis + 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < ch; c++) {
            int64_t off = (o * ch + c) * inner;
            oq_quantize_f32((const float *)w->data + off, inner, p->scale[c], p->zero_point[c], p->dtype,
                            (char *)out->data + (size_t)off * es);
        }
}

/* w (float initializer) -> w_quantized -> w_DequantizeLinear -> w_DequantizeLinear_Output, read by every
 * former reader of w. */
static oq_status emit_initializer(struct qdq *q, int w) {
    const struct oq_qparam *p = q->wq[w];
    if (q->g->values[w].is_output)
        return OQ_OK; /* an initializer that is a graph output keeps its float form and name */
    char *base = strdup(q->g->values[w].name);
    if (!base)
        return nomem(q);
    oq_status st = OQ_OK;
    const struct oq_tensor *t = q->g->values[w].init;
    struct oq_tensor *qt = oq_tensor_new(p->dtype, t->ndim, t->dims, NULL);
    if (qt)
        quantize_data(t, p, qt);
    int ndim = t->ndim;
    int64_t dims[OQ_MAX_DIMS];
    memcpy(dims, t->dims, sizeof(dims));
    int qv = new_init(q, base, "_quantized", qt);
    int sv, zv;
    /* Signed, all-zero zero points (symmetric weights, int32 biases) are left out of the DequantizeLinear:
     * the input is optional with that exact meaning, ONNX Runtime fuses the same, and the file is smaller.
     * An activation that shares these parameters (Gather) creates the initializer then (shared_zero_point). */
    bool implicit_zp = p->dtype == OQ_DTYPE_INT8 || p->dtype == OQ_DTYPE_INT16 || p->dtype == OQ_DTYPE_INT32;
    for (int64_t c = 0; implicit_zp && c < p->n; c++)
        implicit_zp = p->zero_point[c] == 0;
    if (qv < 0)
        goto done;
    if (implicit_zp) {
        sv = new_init(q, base, "_scale", scale_tensor(p));
        zv = -1;
        if (sv < 0) {
            st = nomem(q);
            goto done;
        }
    } else if ((st = emit_qparams(q, base, p, p->dtype, &sv, &zv))) {
        goto done;
    }
    q->scale_v[w] = sv;
    q->zp_v[w] = implicit_zp ? ZP_IMPLICIT : zv;
    int dq = new_value(q, base, "_DequantizeLinear_Output", OQ_DTYPE_FLOAT, ndim, dims);
    if (dq < 0) {
        st = nomem(q);
        goto done;
    }
    oq_graph_replace_uses(q->g, w, dq);
    int in[3] = {qv, sv, zv};
    char *nb = malloc(strlen(base) + 20);
    if (nb)
        sprintf(nb, "%s_DequantizeLinear", base);
    if (!nb || new_node(q, nb, "DequantizeLinear", implicit_zp ? 2 : 3, in, dq, p->axis) < 0)
        st = nomem(q);
    free(nb);
    q->st.n_weights++;
    q->st.n_weights_per_channel += p->axis >= 0;
done:
    if (!st && qv < 0)
        st = nomem(q);
    free(base);
    return st;
}

/* An activation t: t -> Q -> DQ -> readers, with its own parameters or its root's initializers. */
static oq_status emit_activation(struct qdq *q, int t) {
    int root = param_root(q, t);
    const struct oq_qparam *p = root_params(q, t);
    if (!p)
        return OQ_OK;
    char *base = strdup(q->g->values[t].name);
    if (!base)
        return nomem(q);
    oq_status st = OQ_OK;
    int sv, zv;
    if (root == t) {
        if ((st = emit_qparams(q, base, p, p->dtype, &sv, &zv)))
            goto done;
        q->scale_v[t] = sv;
        q->zp_v[t] = zv;
        q->st.n_act_tensors++;
    } else {
        sv = q->scale_v[root];
        zv = q->zp_v[root];
        if (zv == ZP_IMPLICIT) { /* a QuantizeLinear needs the zero point's type: materialize it now */
            const struct oq_qparam *rp = root_params(q, root);
            int64_t n = rp->n;
            struct oq_tensor *z = oq_tensor_new(rp->dtype, rp->axis >= 0 ? 1 : 0, &n, NULL);
            zv = q->zp_v[root] = z ? new_init(q, q->g->values[root].name, "_zero_point", z) : -1;
            if (zv < 0) {
                st = nomem(q);
                goto done;
            }
        }
        if (sv < 0 || zv < 0)
            goto done; /* the source was not emitted: leave t float */
        q->st.n_shared_tensors++;
    }
    struct oq_value *val = &q->g->values[t];
    int ndim = val->ndim;
    int64_t dims[OQ_MAX_DIMS];
    memcpy(dims, val->dims, sizeof(dims));
    int producer = val->producer;
    bool out_rename = val->is_output && producer >= 0;
    int q_in = t, dq_out;
    int qo = new_value(q, base, "_QuantizeLinear_Output", p->dtype, ndim, dims);
    if (qo < 0) {
        st = nomem(q);
        goto done;
    }
    if (out_rename) {
        /* a graph output keeps its name: the producer writes t_QuantizeLinear_Input, the DQ writes t */
        q_in = new_value(q, base, "_QuantizeLinear_Input", OQ_DTYPE_FLOAT, ndim, dims);
        if (q_in < 0) {
            st = nomem(q);
            goto done;
        }
        struct oq_node *pn = &q->g->nodes[producer];
        for (int k = 0; k < pn->n_out; k++)
            if (pn->out[k] == t)
                pn->out[k] = q_in;
        dq_out = t;
    } else {
        dq_out = new_value(q, base, "_DequantizeLinear_Output", OQ_DTYPE_FLOAT, ndim, dims);
        if (dq_out < 0) {
            st = nomem(q);
            goto done;
        }
        for (int i = 0; i < q->g->n_nodes; i++) { /* every reader (not graph outputs: t is none) */
            struct oq_node *n = &q->g->nodes[i];
            for (int k = 0; k < n->n_in; k++)
                if (n->in[k] == t)
                    n->in[k] = dq_out;
        }
    }
    char *nb = malloc(strlen(base) + 20);
    if (!nb) {
        st = nomem(q);
        goto done;
    }
    int qin3[3] = {q_in, sv, zv}, dqin3[3] = {qo, sv, zv};
    sprintf(nb, "%s_QuantizeLinear", base);
    if (new_node(q, nb, "QuantizeLinear", 3, qin3, qo, p->axis) < 0)
        st = nomem(q);
    sprintf(nb, "%s_DequantizeLinear", base);
    if (!st && new_node(q, nb, "DequantizeLinear", 3, dqin3, dq_out, p->axis) < 0)
        st = nomem(q);
    free(nb);
done:
    free(base);
    return st;
}

/* Bias b of node j->node: int32 b_quantized, scale s_in * s_w, dequantized into a value named b. */
static oq_status emit_bias(struct qdq *q, const struct bias_job *j) {
    const struct oq_qparam *pw = q->wq[j->weight];
    const struct oq_qparam *pin = root_params(q, j->input);
    int b = j->bias;
    if (!pw || !pin || pin->n != 1 || q->scale_v[param_root(q, j->input)] < 0 || q->scale_v[j->weight] < 0)
        return OQ_OK; /* input or weight ended up float: the bias stays float */
    const struct oq_tensor *bt = q->g->values[b].init;
    if (!bt || bt->dtype != OQ_DTYPE_FLOAT)
        return OQ_OK; /* already rewritten by another node: that node's scales apply, keep it */
    int64_t nb = oq_tensor_numel(bt);
    if (pw->n > 1 && (bt->ndim != 1 || nb != pw->n))
        return OQ_OK;
    /* a bias read by other nodes too gets its own copy (ORT: _dup_initializer) */
    if (q->uses[b] > 1 || q->g->values[b].is_output) {
        struct oq_tensor *copy = oq_tensor_clone(bt, NULL);
        int nbv = new_init(q, q->g->values[b].name, "", copy);
        if (nbv < 0)
            return nomem(q);
        struct oq_node *n = &q->g->nodes[j->node];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == b)
                n->in[k] = nbv;
        q->uses[b]--;
        b = nbv;
        bt = q->g->values[b].init;
    }
    char *base = malloc(strlen(q->g->values[b].name) + 16);
    if (!base)
        return nomem(q);
    sprintf(base, "%s_quantized", q->g->values[b].name);
    oq_status st = OQ_OK;
    /* bias scale in float (numpy float32 product, as ORT), quantized in double, ties to even */
    struct oq_qparam *ps = oq_qparam_new_axis(OQ_DTYPE_INT32, pw->n > 1 ? 0 : -1, pw->n);
    struct oq_tensor *qt = oq_tensor_new(OQ_DTYPE_INT32, bt->ndim, bt->dims, NULL);
    if (!ps || !qt) {
        oq_qparam_free(ps);
        oq_tensor_free(qt);
        free(base);
        return nomem(q);
    }
    for (int64_t c = 0; c < pw->n; c++)
        ps->scale[c] = pin->scale[0] * pw->scale[c];
    const float *bd = bt->data;
    int32_t *qd = qt->data;
    for (int64_t i = 0; i < nb; i++) {
        double v = nearbyint((double)bd[i] * j->beta / (double)ps->scale[pw->n > 1 ? i : 0]);
        qd[i] = v < (double)INT32_MIN ? INT32_MIN : (v > (double)INT32_MAX ? INT32_MAX : (int32_t)v);
    }
    int qv = new_init(q, base, "", qt);
    int sv = -1, zv = -1;
    if (qv < 0)
        st = nomem(q);
    else if ((sv = new_init(q, base, "_scale", scale_tensor(ps))) < 0) /* zero point: implicit 0 */
        st = nomem(q);
    if (!st) {
        /* b becomes the DequantizeLinear's output; its float data goes */
        struct oq_value *bv = &q->g->values[b];
        bv->dtype = OQ_DTYPE_FLOAT;
        bv->ndim = bv->init->ndim;
        memcpy(bv->dims, bv->init->dims, sizeof(bv->dims));
        if (!q->g->inits_borrowed)
            oq_tensor_free(bv->init);
        bv->init = NULL;
        int in[3] = {qv, sv, zv};
        char *nb2 = malloc(strlen(bv->name) + 20);
        if (nb2)
            sprintf(nb2, "%s_DequantizeLinear", q->g->values[b].name);
        if (!nb2 || new_node(q, nb2, "DequantizeLinear", 2, in, b, ps->axis) < 0)
            st = nomem(q);
        free(nb2);
        q->st.n_biases++;
        if (j->beta != 1.0f) { /* beta is folded into the values */
            struct oq_node *n = &q->g->nodes[j->node];
            for (int k = 0; k < n->n_attr; k++)
                if (!strcmp(n->attrs[k].name, "beta"))
                    n->attrs[k].f = 1.0f;
        }
    }
    oq_qparam_free(ps);
    free(base);
    return st;
}

/* ------------------------------------------------------------------ driver */

static int64_t init_bytes(const struct oq_graph *g) {
    int64_t s = 0;
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i].init)
            s += (int64_t)oq_tensor_bytes(g->values[i].init);
    return s;
}

/* The opset the plan's Q/DQ need: 10; 13 for per-axis; 21 for 16-bit types. */
static int needed_opset(const struct oq_graph *g, const struct oq_quant_plan *plan, bool *any) {
    int need = 10;
    *any = false;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node_quant *d = &plan->node[i];
        if (!d->quantize)
            continue;
        const struct oq_qdq_rule *r = oq_qdq_rule_find(g->nodes[i].op_type);
        if (!r || (plan->mode != OQ_QUANT_STATIC && r->kind != OQ_QDQ_WEIGHTED))
            continue;
        *any = true;
        if (r->kind == OQ_QDQ_WEIGHTED) {
            if (d->per_channel && need < 13)
                need = 13;
            if (d->weight_dtype == OQ_DTYPE_INT16)
                need = 21;
        }
    }
    for (int v = 0; v < plan->n_values; v++) {
        const struct oq_qparam *p = plan->act[v];
        if (!p || (plan->mode != OQ_QUANT_STATIC && !g->values[v].init)) /* weight-only: weight overrides */
            continue;
        if (p->dtype == OQ_DTYPE_UINT16 || p->dtype == OQ_DTYPE_INT16)
            need = 21;
        else if (p->axis >= 0 && need < 13)
            need = 13;
    }
    return need;
}

/* Carry the plan over an opset upgrade: values by name, nodes by the name of their first output. */
static oq_status upgrade(struct qdq *q, const struct oq_quant_plan *plan, int target, const struct oq_qparam ***act,
                         struct oq_node_quant **nq) {
    struct oq_graph *g = q->g;
    int nv = g->n_values, nn = g->n_nodes;
    char **vname = calloc((size_t)nv + 1, sizeof(char *));
    char **nkey = calloc((size_t)nn + 1, sizeof(char *));
    struct name_map m = {0};
    oq_status st = OQ_OK;
    if (!vname || !nkey) {
        st = nomem(q);
        goto done;
    }
    for (int v = 0; v < nv; v++)
        if (!(vname[v] = strdup(g->values[v].name))) {
            st = nomem(q);
            goto done;
        }
    for (int i = 0; i < nn; i++)
        if (g->nodes[i].n_out > 0 && g->nodes[i].out[0] >= 0 && !(nkey[i] = strdup(g->values[g->nodes[i].out[0]].name))) {
            st = nomem(q);
            goto done;
        }
    if ((st = oq_graph_upgrade_opset(g, target, q->err))) {
        oq_error_prefix(q->err, st, "%s: raising the opset from %d to %d for the Q/DQ nodes: ",
                        g->source ? g->source : "graph", q->st.opset_before, target);
        goto done;
    }
    if ((st = oq_graph_link(g, q->err)))
        goto done;
    *act = calloc((size_t)g->n_values + 1, sizeof(**act));
    *nq = calloc((size_t)g->n_nodes + 1, sizeof(**nq));
    if (!*act || !*nq) {
        st = nomem(q);
        goto done;
    }
    for (int v = 0; v < g->n_values; v++)
        if (!map_put(&m, g->values[v].name, v)) {
            st = nomem(q);
            goto done;
        }
    for (int v = 0; v < nv; v++) {
        int nvid = map_get(&m, vname[v]);
        if (nvid >= 0)
            (*act)[nvid] = plan->act[v];
    }
    for (int i = 0; i < nn; i++) {
        int v = nkey[i] ? map_get(&m, nkey[i]) : -1;
        if (v >= 0 && g->values[v].producer >= 0)
            (*nq)[g->values[v].producer] = plan->node[i];
    }
done:
    for (int v = 0; vname && v < nv; v++)
        free(vname[v]);
    for (int i = 0; nkey && i < nn; i++)
        free(nkey[i]);
    free(vname);
    free(nkey);
    map_free(&m);
    return st;
}

static void qdq_free(struct qdq *q) {
    for (int v = 0; q->wq && v < q->nv0; v++)
        oq_qparam_free(q->wq[v]);
    free(q->wq);
    free(q->mark);
    free(q->order);
    free(q->bias);
    free(q->dead);
    free(q->uses);
    free(q->scale_v);
    free(q->zp_v);
    map_free(&q->vnames);
    map_free(&q->nnames);
}

oq_status oq_qdq_apply(struct oq_graph *g, const struct oq_quant_plan *plan, const struct oq_qdq_options *opt,
                       oq_error *err) {
    struct oq_qdq_options dflt = oq_qdq_options_default();
    if (!opt)
        opt = &dflt;
    if (!g || !plan)
        return oq_errorf(err, OQ_ERR_ARG, "oq_qdq_apply: graph or plan is NULL");
    if (plan->n_values != g->n_values || plan->n_nodes != g->n_nodes)
        return oq_errorf(err, OQ_ERR_ARG,
                         "%s: the quantization plan was made for another graph (%d values, %d nodes; the graph "
                         "has %d, %d)",
                         g->source ? g->source : "graph", plan->n_values, plan->n_nodes, g->n_values, g->n_nodes);
    if (plan->mode != OQ_QUANT_STATIC && plan->mode != OQ_QUANT_WEIGHT_ONLY)
        return oq_errorf(err, OQ_ERR_ARG, "oq_qdq_apply: unknown plan mode %d", (int)plan->mode);

    struct qdq q;
    memset(&q, 0, sizeof(q));
    q.g = g;
    q.opt = opt;
    q.err = err;
    q.mode = plan->mode;
    q.st.opset_before = (int)oq_graph_opset(g, "");
    q.st.init_bytes_before = init_bytes(g);
    q.act = (const struct oq_qparam **)plan->act;
    q.nq = plan->node;
    for (int v = 0; plan->mode == OQ_QUANT_STATIC && v < g->n_values; v++)
        if (plan->act[v]) {
            const struct oq_value *val = &g->values[v];
            const struct oq_tensor *t = val->init;
            OQ_TRY(check_qparam(&q, v, plan->act[v], t ? t->ndim : val->ndim, t ? t->dims : val->dims));
        }

    oq_status st = OQ_OK;
    const struct oq_qparam **act_w = NULL;
    struct oq_node_quant *nq_w = NULL;
    bool any;
    int need = needed_opset(g, plan, &any);
    if (!any) {
        q.st.opset_after = q.st.opset_before;
        q.st.init_bytes_after = q.st.init_bytes_before;
        if (opt->stats)
            *opt->stats = q.st;
        return OQ_OK;
    }
    int target = need > opt->target_opset ? need : opt->target_opset;
    if (q.st.opset_before < 10 && target < 11)
        target = 11; /* ORT: opset 10 cannot fuse; below 10 there is no Q/DQ */
    if (q.st.opset_before < target) {
        if ((st = upgrade(&q, plan, target, &act_w, &nq_w)))
            goto done;
        q.act = act_w;
        q.nq = nq_w;
    }
    q.opset = (int)oq_graph_opset(g, "");

    q.nv0 = g->n_values;
    q.nn0 = g->n_nodes;
    size_t nv = (size_t)q.nv0 + 1, nn = (size_t)q.nn0 + 1;
    q.mark = calloc(nv, sizeof(*q.mark));
    q.order = malloc(nv * sizeof(int));
    q.dead = calloc(nn, sizeof(bool));
    q.uses = calloc(nv, sizeof(int));
    q.wq = calloc(nv, sizeof(*q.wq));
    q.scale_v = malloc(nv * sizeof(int));
    q.zp_v = malloc(nv * sizeof(int));
    if (!q.mark || !q.order || !q.dead || !q.uses || !q.wq || !q.scale_v || !q.zp_v) {
        st = nomem(&q);
        goto done;
    }
    for (int v = 0; v < q.nv0; v++) {
        q.scale_v[v] = q.zp_v[v] = -1;
        if (!map_put(&q.vnames, g->values[v].name, v)) {
            st = nomem(&q);
            goto done;
        }
    }
    for (int i = 0; i < q.nn0; i++) {
        const struct oq_node *n = &g->nodes[i];
        if (!map_put(&q.nnames, n->name, i)) {
            st = nomem(&q);
            goto done;
        }
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                q.uses[n->in[k]]++;
    }
    for (int i = 0; i < g->n_outputs; i++)
        q.uses[g->outputs[i]]++;
    if ((st = oq_graph_link(g, err)))
        goto done;

    /* 1. mark */
    for (int i = 0; i < q.nn0; i++)
        if ((st = mark_node(&q, i)))
            goto done;

    /* 2. parameters of quantized initializers, then the int32-bias adjustment of weight scales */
    for (int k = 0; k < q.n_order; k++) {
        int v = q.order[k];
        if ((q.mark[v].kind == M_WEIGHT || q.mark[v].kind == M_OWN) && g->values[v].init &&
            (st = init_params(&q, v)))
            goto done;
    }
    for (int k = 0; !opt->no_weight_scale_adjust && k < q.n_bias; k++)
        adjust_weight_scale(&q, &q.bias[k]);

    /* 3. emit: initializers and own activations, then shared activations, then biases */
    for (int k = 0; k < q.n_order; k++) {
        int v = q.order[k];
        enum mark_kind kind = q.mark[v].kind;
        if (kind == M_WEIGHT || (kind == M_OWN && g->values[v].init))
            st = emit_initializer(&q, v);
        else if (kind == M_OWN)
            st = emit_activation(&q, v);
        if (st)
            goto done;
    }
    for (int k = 0; k < q.n_order; k++)
        if (q.mark[q.order[k]].kind == M_SHARED && (st = emit_activation(&q, q.order[k])))
            goto done;
    for (int k = 0; k < q.n_bias; k++)
        if ((st = emit_bias(&q, &q.bias[k])))
            goto done;

    /* drop removed activations and the float initializers nothing reads any more; re-sort */
    {
        bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
        if (!dead) {
            st = nomem(&q);
            goto done;
        }
        memcpy(dead, q.dead, sizeof(bool) * (size_t)q.nn0);
        oq_graph_remove_nodes(g, dead);
        free(dead);
    }
    if ((st = oq_graph_toposort(g, err)))
        goto done;
    q.st.opset_after = (int)oq_graph_opset(g, "");
    q.st.init_bytes_after = init_bytes(g);
    if (opt->stats)
        *opt->stats = q.st;
done:
    qdq_free(&q);
    free(act_w);
    free(nq_w);
    return st;
}
