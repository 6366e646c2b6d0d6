/* oq_session: plan and run a model.
 *
 * Planning happens per set of input shapes. Walking the nodes in topological order, a node whose inputs
 * are all known at plan time (initializers, or values computed from them or from Shape) is evaluated
 * right away: this resolves the Shape -> Gather -> Concat -> Reshape chains of exported models for the
 * concrete shapes. Every other node gets its output shapes from infer(), and its outputs get offsets in
 * one activation arena, first-fit by liveness: a buffer is reused once its last reader has run. Graph
 * outputs are pinned (never reused). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "exec/fold.h"
#include "exec/fuse.h"
#include "exec/lower_qdq.h"
#include "exec/model.h"
#include "exec/plan.h"
#include "exec/session.h"
#include "kernels/dispatch.h"

enum val_kind { VAL_RUNTIME = 0, VAL_CONST, VAL_FOLDED, VAL_INPUT, VAL_INPUT_KNOWN };

/* Integer graph inputs of at most this many elements are treated as known at plan time. */
enum { OQ_PLAN_KNOWN_MAX = 64 };

static bool input_is_plan_known(const oq_tensor_ref *t) {
    return (t->dtype == OQ_DTYPE_INT64 || t->dtype == OQ_DTYPE_INT32) && t->data &&
           oq_shape_numel(t->ndim, t->dims) <= OQ_PLAN_KNOWN_MAX;
}

struct xnode {
    struct oq_op_ctx ctx;
    bool folded;  /* evaluated at plan time */
    int64_t runs, ns; /* profile */
};

struct oq_session {
    const struct oq_model *m;
    struct oq_graph *g;          /* the session's own copy of the model graph, with execution-only fusions */
    oq_session_options opt;
    struct oq_kernels kernels;
    struct oq_pool *pool;

    struct oq_tensor *vals;      /* one per graph value */
    unsigned char *kind;         /* enum val_kind per value */
    struct oq_tensor **folded;   /* owned plan-time results (VAL_FOLDED) */
    size_t *offset;              /* arena offset per runtime value */
    struct oq_tensor **in_ptrs;  /* per node slices of pointers into vals */
    struct oq_tensor **out_ptrs;
    struct xnode *xn;

    unsigned char *arena;
    size_t arena_bytes, peak_live;
    void *scratch;
    size_t scratch_bytes;
    bool planned;
    int64_t planned_dims[16][OQ_MAX_DIMS];
    int planned_ndim[16];
    /* Small integer inputs (shapes, axes, pads, sizes...) are known at plan time: the plan depends on their
     * values, so they are part of the plan key. */
    bool planned_known[16];
    int64_t planned_vals[16][OQ_PLAN_KNOWN_MAX];
    int64_t macs;
};

oq_session_options oq_session_options_default(void) {
    oq_session_options o;
    memset(&o, 0, sizeof(o));
    o.check_nan = 1;
    return o;
}

static void clear_plan(struct oq_session *s) {
    const struct oq_graph *g = s->g;
    for (int i = 0; i < g->n_values; i++) {
        oq_tensor_free(s->folded[i]);
        s->folded[i] = NULL;
    }
    s->planned = false;
}

void oq_session_free(oq_session *s) {
    if (!s)
        return;
    if (s->xn) {
        for (int i = 0; i < s->g->n_nodes; i++) {
            const struct oq_node *n = &s->g->nodes[i];
            if (s->xn[i].ctx.priv && n->def && n->def->destroy)
                n->def->destroy(s->xn[i].ctx.priv);
        }
    }
    if (s->folded)
        clear_plan(s);
    free(s->folded);
    free(s->vals);
    free(s->kind);
    free(s->offset);
    free(s->in_ptrs);
    free(s->out_ptrs);
    free(s->xn);
    oq_free_aligned(s->arena);
    oq_free_aligned(s->scratch);
    oq_pool_free(s->pool);
    oq_graph_free(s->g);
    free(s);
}

oq_status oq_session_create(const oq_model *m, const oq_session_options *opt, oq_session **out, oq_error *err) {
    *out = NULL;
    if (!m)
        return oq_errorf(err, OQ_ERR_ARG, "oq_session_create: model is NULL");
    if (m->n_unsupported)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED,
                         "%s: cannot run: %d nodes use unsupported ops (load without allow_unsupported to see "
                         "the list)",
                         m->path, m->n_unsupported);
    if (m->g->n_inputs > 16)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: %d graph inputs; at most 16 are supported", m->path,
                         m->g->n_inputs);
    struct oq_session *s = calloc(1, sizeof(*s));
    if (!s)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    s->m = m;
    s->opt = opt ? *opt : oq_session_options_default();
    oq_kernels_init(&s->kernels, s->opt.kernels);
    oq_status st = OQ_OK;
    s->g = oq_graph_clone(m->g, false);
    if (!s->g) {
        free(s);
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory creating a session", m->path);
    }
    if (!s->opt.no_fusion) {
        int unsupported = 0;
        if (oq_fuse_graph(s->g, err) < 0 || (!s->opt.no_int8_lowering && oq_lower_qdq_graph(s->g, err) < 0) ||
            oq_model_resolve(s->g, &unsupported, err)) {
            st = err ? err->code : OQ_ERR_MODEL;
            goto fail;
        }
    }
    const struct oq_graph *g = s->g;
    int nv = g->n_values, nn = g->n_nodes;
    size_t n_in = 0, n_out = 0;
    for (int i = 0; i < nn; i++) {
        n_in += (size_t)g->nodes[i].n_in;
        n_out += (size_t)g->nodes[i].n_out;
    }
    s->vals = calloc((size_t)nv + 1, sizeof(*s->vals));
    s->kind = calloc((size_t)nv + 1, 1);
    s->folded = calloc((size_t)nv + 1, sizeof(*s->folded));
    s->offset = calloc((size_t)nv + 1, sizeof(*s->offset));
    s->in_ptrs = calloc(n_in + 1, sizeof(*s->in_ptrs));
    s->out_ptrs = calloc(n_out + 1, sizeof(*s->out_ptrs));
    s->xn = calloc((size_t)nn + 1, sizeof(*s->xn));
    if (!s->vals || !s->kind || !s->folded || !s->offset || !s->in_ptrs || !s->out_ptrs || !s->xn) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory creating a session", m->path);
        goto fail;
    }
    int threads = s->opt.num_threads;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)nc : 1;
    }
    if ((st = oq_pool_create(threads, &s->pool, err)))
        goto fail;
    for (int i = 0; i < nv; i++) {
        s->vals[i].name = g->values[i].name;
        if (g->values[i].init) {
            s->vals[i] = *g->values[i].init;
            s->vals[i].name = g->values[i].name;
            s->kind[i] = VAL_CONST;
        } else if (g->values[i].is_input) {
            s->kind[i] = VAL_INPUT;
        }
    }
    size_t pi = 0, po = 0;
    for (int i = 0; i < nn; i++) {
        const struct oq_node *n = &g->nodes[i];
        struct oq_op_ctx *c = &s->xn[i].ctx;
        c->node = n;
        c->n_in = n->n_in;
        c->n_out = n->n_out;
        for (int k = 0; k < n->n_in; k++)
            s->in_ptrs[pi + (size_t)k] = n->in[k] >= 0 ? &s->vals[n->in[k]] : NULL;
        for (int k = 0; k < n->n_out; k++)
            s->out_ptrs[po + (size_t)k] = n->out[k] >= 0 ? &s->vals[n->out[k]] : NULL;
        c->in = &s->in_ptrs[pi];
        c->out = &s->out_ptrs[po];
        c->kernels = &s->kernels;
        c->pool = s->pool;
        pi += (size_t)n->n_in;
        po += (size_t)n->n_out;
    }
    *out = s;
    return OQ_OK;
fail:
    oq_session_free(s);
    return st;
}

/* ---- input validation ---- */

/* Every shape the plan lays out must have an element count far from int64 overflow, with any zero dims
 * left out (ops multiply leading dims before they look at the rest): a declared or inferred shape beyond it
 * is an error here, before any op or the arena planner computes sizes from it. */
enum { OQ_PLAN_NUMEL_LOG2 = 56 };

static bool shape_too_large(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] <= 0)
            continue;
        if (dims[d] > ((int64_t)1 << OQ_PLAN_NUMEL_LOG2) / n)
            return true;
        n *= dims[d];
    }
    return false;
}

static oq_status check_input(const struct oq_session *s, int gi, const oq_tensor_ref *t, bool plan_only,
                             oq_error *err) {
    const struct oq_value *v = &s->g->values[s->g->inputs[gi]];
    char want[128], got[128];
    if (v->dtype != OQ_DTYPE_UNDEFINED && t->dtype != v->dtype)
        return oq_errorf(err, OQ_ERR_SHAPE, "%s: input '%s' has dtype %s, the model expects %s", s->m->path,
                         v->name, oq_dtype_name(t->dtype), oq_dtype_name(v->dtype));
    if (t->ndim < 0 || t->ndim > OQ_MAX_DIMS)
        return oq_errorf(err, OQ_ERR_SHAPE, "%s: input '%s' has rank %d; ranks 0..%d are supported", s->m->path,
                         v->name, t->ndim, OQ_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++)
        if (t->dims[d] < 0)
            return oq_errorf(err, OQ_ERR_SHAPE, "%s: input '%s' has a negative dim %lld", s->m->path, v->name,
                             (long long)t->dims[d]);
    if (shape_too_large(t->ndim, t->dims))
        return oq_errorf(err, OQ_ERR_SHAPE, "%s: input '%s' has shape %s, more than 2^%d elements; check the shape",
                         s->m->path, v->name, oq_shape_str(t->ndim, t->dims, got, sizeof(got)), OQ_PLAN_NUMEL_LOG2);
    if (!t->data && !plan_only && oq_shape_numel(t->ndim, t->dims) > 0)
        return oq_errorf(err, OQ_ERR_ARG, "%s: input '%s' has no data", s->m->path, v->name);
    if (v->ndim >= 0) {
        oq_shape_str(v->ndim, v->dims, want, sizeof(want));
        oq_shape_str(t->ndim, t->dims, got, sizeof(got));
        if (t->ndim != v->ndim)
            return oq_errorf(err, OQ_ERR_SHAPE,
                             "%s: input '%s' has rank %d (shape %s), the model expects rank %d (shape %s, ? = any "
                             "size)",
                             s->m->path, v->name, t->ndim, got, v->ndim, want);
        for (int d = 0; d < v->ndim; d++)
            if (v->dims[d] >= 0 && v->dims[d] != t->dims[d])
                return oq_errorf(err, OQ_ERR_SHAPE,
                                 "%s: input '%s' has shape %s, the model expects %s (? = any size): dim %d must be "
                                 "%lld, got %lld",
                                 s->m->path, v->name, got, want, d, (long long)v->dims[d], (long long)t->dims[d]);
    }
    if (s->opt.check_nan && t->dtype == OQ_DTYPE_FLOAT && t->data) {
        const float *x = t->data;
        int64_t n = oq_shape_numel(t->ndim, t->dims);
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return oq_errorf(err, OQ_ERR_NUMERIC,
                                 "%s: input '%s' has %s at element %lld; clean the input data (NaN/Inf would "
                                 "propagate through every layer)",
                                 s->m->path, v->name, isnan(x[i]) ? "NaN" : "Inf", (long long)i);
    }
    return OQ_OK;
}

/* ---- planning ---- */

static bool node_is_shape_only(const struct oq_node *n) {
    /* ops whose output depends only on input shapes, never on input data */
    return !*n->domain && (!strcmp(n->op_type, "Shape") || !strcmp(n->op_type, "Size"));
}

static oq_status plan(struct oq_session *s, oq_error *err) {
    const struct oq_graph *g = s->g;
    int nv = g->n_values, nn = g->n_nodes;
    clear_plan(s);
    for (int i = 0; i < nv; i++)
        if (s->kind[i] == VAL_RUNTIME || s->kind[i] == VAL_FOLDED) {
            memset(&s->vals[i], 0, sizeof(s->vals[i]));
            s->vals[i].name = g->values[i].name;
            s->kind[i] = VAL_RUNTIME;
        }
    /* inputs: shapes known, data not (set per run), except small integer inputs (VAL_INPUT_KNOWN) */
    for (int i = 0; i < g->n_inputs; i++)
        if (s->kind[g->inputs[i]] != VAL_INPUT_KNOWN)
            s->vals[g->inputs[i]].data = NULL;

    s->macs = 0;
    size_t max_scratch = 0;
    for (int i = 0; i < nn; i++) {
        const struct oq_node *n = &g->nodes[i];
        struct xnode *x = &s->xn[i];
        x->folded = false;
        bool known = n->n_in > 0 || !strcmp(n->op_type, "Constant");
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v >= 0 && s->kind[v] != VAL_CONST && s->kind[v] != VAL_FOLDED && s->kind[v] != VAL_INPUT_KNOWN)
                known = false;
        }
        bool out_is_graph_output = false;
        for (int k = 0; k < n->n_out; k++)
            out_is_graph_output |= n->out[k] >= 0 && g->values[n->out[k]].is_output;
        if ((known || node_is_shape_only(n)) && !out_is_graph_output) {
            struct oq_tensor *outs[16];
            if (n->n_out > 16)
                return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "too many outputs");
            OQ_TRY(oq_node_eval(n, x->ctx.in, outs, &s->kernels, err));
            for (int k = 0; k < n->n_out; k++) {
                if (n->out[k] < 0)
                    continue;
                int v = n->out[k];
                s->folded[v] = outs[k];
                s->vals[v] = *outs[k];
                s->vals[v].name = g->values[v].name;
                s->kind[v] = VAL_FOLDED;
            }
            x->folded = true;
            continue;
        }
        /* runtime node: shapes only */
        for (int k = 0; k < n->n_out; k++)
            if (x->ctx.out[k])
                x->ctx.out[k]->data = NULL;
        x->ctx.err = err;
        oq_status st = n->def->infer(&x->ctx);
        if (st)
            return st;
        for (int k = 0; k < n->n_out; k++) {
            const struct oq_tensor *t = x->ctx.out[k];
            if (t && (t->ndim < 0 || t->ndim > OQ_MAX_DIMS || oq_dtype_size(t->dtype) == 0))
                return oq_node_error(n, err, OQ_ERR_SHAPE, "output %d has no valid shape/dtype after inference",
                                     k);
            for (int d = 0; t && d < t->ndim; d++)
                if (t->dims[d] < 0)
                    return oq_node_error(n, err, OQ_ERR_SHAPE, "output %d has a negative dim after inference", k);
            char sh[160];
            if (t && shape_too_large(t->ndim, t->dims))
                return oq_node_error(n, err, OQ_ERR_SHAPE,
                                     "output %d would have shape %s, more than 2^%d elements; check the model's "
                                     "declared shapes and the input shapes given",
                                     k, oq_shape_str(t->ndim, t->dims, sh, sizeof(sh)), OQ_PLAN_NUMEL_LOG2);
        }
        if (n->def->macs)
            s->macs += n->def->macs(&x->ctx);
    }

    /* liveness + arena */
    bool *skip = malloc(sizeof(bool) * (size_t)(nn + 1));
    if (!skip)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory planning '%s'", s->m->path);
    for (int i = 0; i < nn; i++)
        skip[i] = s->xn[i].folded;
    oq_status pst = oq_plan_arena(g, s->kind, VAL_RUNTIME, skip, s->vals, s->offset, &s->arena_bytes,
                                  &s->peak_live, err);
    free(skip);
    if (pst)
        return pst;
    oq_free_aligned(s->arena);
    s->arena = oq_alloc_aligned(s->arena_bytes);
    if (!s->arena)
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: cannot allocate the %zu-byte activation arena", s->m->path,
                         s->arena_bytes);
    for (int v = 0; v < nv; v++)
        if (s->kind[v] == VAL_RUNTIME && !g->values[v].is_input)
            s->vals[v].data = s->arena + s->offset[v];

    /* prepare (after buffers exist, so ops may inspect constant inputs' data) */
    for (int i = 0; i < nn; i++) {
        struct xnode *x = &s->xn[i];
        const struct oq_node *n = &g->nodes[i];
        if (x->folded)
            continue;
        x->ctx.scratch_bytes = 0;
        x->ctx.err = err;
        if (n->def->prepare)
            OQ_TRY(n->def->prepare(&x->ctx));
        if (x->ctx.scratch_bytes > max_scratch)
            max_scratch = x->ctx.scratch_bytes;
    }
    if (max_scratch > s->scratch_bytes) {
        oq_free_aligned(s->scratch);
        s->scratch = oq_alloc_aligned(max_scratch);
        if (!s->scratch)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: cannot allocate %zu bytes of scratch", s->m->path,
                             max_scratch);
        s->scratch_bytes = max_scratch;
    }
    s->planned = true;
    return OQ_OK;
}

/* ---- running ---- */

static void to_ref(const struct oq_tensor *t, oq_tensor_ref *r) {
    memset(r, 0, sizeof(*r));
    r->name = t->name;
    r->dtype = t->dtype;
    r->ndim = t->ndim;
    memcpy(r->dims, t->dims, sizeof(int64_t) * (size_t)(t->ndim > 0 ? t->ndim : 0));
    r->data = t->data;
}

static oq_status bind_and_plan(oq_session *s, int n_inputs, const oq_tensor_ref *inputs, bool plan_only,
                               oq_error *err) {
    if (!s)
        return oq_errorf(err, OQ_ERR_ARG, "oq_session_run: session is NULL");
    const struct oq_graph *g = s->g;
    if (n_inputs != g->n_inputs)
        return oq_errorf(err, OQ_ERR_ARG, "%s: %d inputs given, the model has %d (%s%s)", s->m->path, n_inputs,
                         g->n_inputs, g->n_inputs ? g->values[g->inputs[0]].name : "",
                         g->n_inputs > 1 ? ", ..." : "");
    const oq_tensor_ref *bound[16];
    for (int i = 0; i < g->n_inputs; i++) {
        const struct oq_value *v = &g->values[g->inputs[i]];
        bound[i] = NULL;
        for (int k = 0; k < n_inputs; k++)
            if (inputs[k].name && !strcmp(inputs[k].name, v->name))
                bound[i] = &inputs[k];
        if (!bound[i] && !inputs[i].name)
            bound[i] = &inputs[i];
        if (!bound[i])
            return oq_errorf(err, OQ_ERR_ARG, "%s: no data given for input '%s'", s->m->path, v->name);
        OQ_TRY(check_input(s, i, bound[i], plan_only, err));
    }
    bool same = s->planned;
    for (int i = 0; i < g->n_inputs && same; i++) {
        bool known = !plan_only && input_is_plan_known(bound[i]);
        same = s->planned_ndim[i] == bound[i]->ndim &&
               !memcmp(s->planned_dims[i], bound[i]->dims, sizeof(int64_t) * (size_t)bound[i]->ndim) &&
               s->planned_known[i] == known;
        struct oq_tensor tmp = {.dtype = bound[i]->dtype, .ndim = bound[i]->ndim, .data = bound[i]->data};
        memcpy(tmp.dims, bound[i]->dims, sizeof(tmp.dims));
        for (int64_t k = 0; known && same && k < oq_tensor_numel(&tmp); k++)
            same = s->planned_vals[i][k] == oq_tensor_get_i64(&tmp, k);
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        struct oq_tensor *t = &s->vals[v];
        t->dtype = bound[i]->dtype;
        t->ndim = bound[i]->ndim;
        memcpy(t->dims, bound[i]->dims, sizeof(int64_t) * (size_t)bound[i]->ndim);
        bool known = !plan_only && input_is_plan_known(bound[i]);
        s->kind[v] = known ? VAL_INPUT_KNOWN : VAL_INPUT;
        t->data = known ? bound[i]->data : NULL;
    }
    if (!same) {
        oq_status st = plan(s, err);
        if (st) {
            s->planned = false;
            return st;
        }
        for (int i = 0; i < g->n_inputs; i++) {
            s->planned_ndim[i] = bound[i]->ndim;
            memcpy(s->planned_dims[i], bound[i]->dims, sizeof(int64_t) * (size_t)bound[i]->ndim);
            s->planned_known[i] = s->kind[g->inputs[i]] == VAL_INPUT_KNOWN;
            for (int64_t k = 0; s->planned_known[i] && k < oq_tensor_numel(&s->vals[g->inputs[i]]); k++)
                s->planned_vals[i][k] = oq_tensor_get_i64(&s->vals[g->inputs[i]], k);
        }
    }
    for (int i = 0; i < g->n_inputs; i++)
        s->vals[g->inputs[i]].data = bound[i]->data;
    return OQ_OK;
}

oq_status oq_session_plan(oq_session *s, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    return bind_and_plan(s, n_inputs, inputs, true, err);
}

oq_status oq_session_run(oq_session *s, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    OQ_TRY(bind_and_plan(s, n_inputs, inputs, false, err));
    const struct oq_graph *g = s->g;
    for (int i = 0; i < g->n_nodes; i++) {
        struct xnode *x = &s->xn[i];
        if (x->folded)
            continue;
        const struct oq_node *n = &g->nodes[i];
        x->ctx.scratch = s->scratch;
        x->ctx.err = err;
        struct timespec t0, t1;
        if (s->opt.profile)
            clock_gettime(CLOCK_MONOTONIC, &t0);
        oq_status st = n->def->run(&x->ctx);
        if (st)
            return st;
        if (s->opt.profile) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            x->ns += (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
            x->runs++;
        }
        if (s->opt.hook) {
            oq_tensor_ref outs[16];
            int no = n->n_out < 16 ? n->n_out : 16;
            for (int k = 0; k < no; k++) {
                if (x->ctx.out[k])
                    to_ref(x->ctx.out[k], &outs[k]);
                else
                    memset(&outs[k], 0, sizeof(outs[k]));
            }
            if (s->opt.hook(s->opt.hook_user, i, n->name, n->op_type, no, outs))
                return oq_errorf(err, OQ_ERR_CANCELLED, "%s: run stopped by the hook after node '%s'", s->m->path,
                                 n->name);
        }
    }
    return OQ_OK;
}

int oq_session_num_outputs(const oq_session *s) { return s->g->n_outputs; }

oq_status oq_session_output(const oq_session *s, int i, oq_tensor_ref *out) {
    if (!s || i < 0 || i >= s->g->n_outputs || !s->planned)
        return OQ_ERR_ARG;
    to_ref(&s->vals[s->g->outputs[i]], out);
    return OQ_OK;
}

void oq_session_memory(const oq_session *s, size_t *arena_bytes, size_t *peak_live_bytes) {
    if (arena_bytes)
        *arena_bytes = s->arena_bytes;
    if (peak_live_bytes)
        *peak_live_bytes = s->peak_live;
}

int64_t oq_session_macs(const oq_session *s) { return s->macs; }

int64_t oq_session_node_macs(const oq_session *s, int i) {
    if (!s || !s->planned || i < 0 || i >= s->g->n_nodes || s->xn[i].folded)
        return 0;
    const struct oq_node *n = &s->g->nodes[i];
    return n->def && n->def->macs ? n->def->macs(&s->xn[i].ctx) : 0;
}

int oq_session_num_nodes(const oq_session *s) { return s->g->n_nodes; }

oq_status oq_session_node_profile(const oq_session *s, int i, const char **name, const char **op_type,
                                  int64_t *runs, int64_t *total_ns) {
    if (!s || i < 0 || i >= s->g->n_nodes)
        return OQ_ERR_ARG;
    if (name) *name = s->g->nodes[i].name;
    if (op_type) *op_type = s->g->nodes[i].op_type;
    if (runs) *runs = s->xn[i].runs;
    if (total_ns) *total_ns = s->xn[i].ns;
    return OQ_OK;
}
