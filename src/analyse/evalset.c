#include "analyse/evalset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qdq.h"

struct batch {
    oq_tensor_ref in[16];
    float *out[16];
    int64_t out_n[16];
};

struct oq_eval_set {
    const struct oq_model *m;
    oq_session *fp; /* the FP32 model's session, made at the first batch */
    int threads, n_in, n_out;
    struct batch *b;
    int n, cap;
};

static int64_t numel(const oq_tensor_ref *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->dims[d];
    return n;
}

oq_status oq_eval_set_create(const struct oq_model *m, int threads, struct oq_eval_set **out, oq_error *err) {
    *out = NULL;
    if (oq_model_num_inputs(m) > 16 || oq_model_num_outputs(m) > 16)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: more than 16 inputs or outputs", m->path ? m->path : "model");
    struct oq_eval_set *es = calloc(1, sizeof(*es));
    if (!es)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    es->m = m;
    es->threads = threads;
    es->n_in = oq_model_num_inputs(m);
    es->n_out = oq_model_num_outputs(m);
    *out = es;
    return OQ_OK;
}

void oq_eval_set_free(struct oq_eval_set *es) {
    if (!es)
        return;
    for (int i = 0; i < es->n; i++)
        for (int k = 0; k < 16; k++) {
            free(es->b[i].in[k].data);
            free((char *)es->b[i].in[k].name);
            free(es->b[i].out[k]);
        }
    free(es->b);
    oq_session_free(es->fp);
    free(es);
}

int oq_eval_set_batches(const struct oq_eval_set *es) { return es->n; }

/* Run m (or a QDQ model) on batch b; with `keep` store its float outputs into b, else accumulate against them. */
static oq_status run_batch(const struct oq_eval_set *es, oq_session *s, struct batch *b, bool keep, double *aa,
                           double *bb, double *ab, double *dd, oq_error *err) {
    OQ_TRY(oq_session_run(s, es->n_in, b->in, err));
    for (int k = 0; k < es->n_out; k++) {
        oq_tensor_ref o;
        OQ_TRY(oq_session_output(s, k, &o));
        if (o.dtype != OQ_DTYPE_FLOAT)
            continue;
        int64_t n = numel(&o);
        const float *y = o.data;
        if (keep) {
            b->out[k] = malloc(sizeof(float) * (size_t)(n ? n : 1));
            if (!b->out[k])
                return oq_errorf(err, OQ_ERR_NOMEM, "out of memory keeping output %d", k);
            memcpy(b->out[k], y, sizeof(float) * (size_t)n);
            b->out_n[k] = n;
            continue;
        }
        if (n != b->out_n[k])
            return oq_errorf(err, OQ_ERR_SHAPE, "output %d ('%s') has %lld values, the FP32 model gave %lld", k,
                             o.name ? o.name : "?", (long long)n, (long long)b->out_n[k]);
        for (int64_t i = 0; i < n; i++) {
            double x = b->out[k][i], q = y[i], e = x - q;
            *aa += x * x, *bb += q * q, *ab += x * q, *dd += e * e;
        }
    }
    return OQ_OK;
}

/* Float simulation of the QDQ model (no INT8 lowering): the outputs any runtime that follows the QDQ semantics
 * gives, and exactly what `onnxq compare` measures. */
static oq_session *session(const struct oq_eval_set *es, const struct oq_model *m, oq_error *err) {
    oq_session_options so = oq_session_options_default();
    so.num_threads = es->threads;
    so.no_int8_lowering = 1;
    oq_session *s = NULL;
    return oq_session_create(m, &so, &s, err) ? NULL : s;
}

oq_status oq_eval_set_add(struct oq_eval_set *es, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    if (n_inputs != es->n_in)
        return oq_errorf(err, OQ_ERR_ARG, "eval batch has %d inputs, the model %d", n_inputs, es->n_in);
    if (es->n == es->cap) {
        int nc = es->cap ? 2 * es->cap : 8;
        struct batch *nb = realloc(es->b, sizeof(*nb) * (size_t)nc);
        if (!nb)
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        es->b = nb;
        es->cap = nc;
    }
    struct batch *b = &es->b[es->n];
    memset(b, 0, sizeof(*b));
    es->n++; /* owned from here: freed with the set even when the rest fails */
    for (int k = 0; k < n_inputs; k++) {
        size_t bytes = oq_dtype_size(inputs[k].dtype) * (size_t)numel(&inputs[k]);
        b->in[k] = inputs[k];
        b->in[k].name = inputs[k].name ? strdup(inputs[k].name) : NULL;
        b->in[k].data = malloc(bytes ? bytes : 1);
        if (!b->in[k].data || (inputs[k].name && !b->in[k].name))
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory keeping an eval batch");
        memcpy(b->in[k].data, inputs[k].data, bytes);
    }
    if (!es->fp && !(es->fp = session(es, es->m, err)))
        return err ? err->code : OQ_ERR_MODEL;
    return run_batch(es, es->fp, b, true, NULL, NULL, NULL, NULL, err);
}

oq_status oq_eval_plan(const struct oq_eval_set *es, const struct oq_quant_plan *plan, struct oq_eval_result *r,
                       oq_error *err) {
    memset(r, 0, sizeof(*r));
    struct oq_graph *g = oq_graph_clone(oq_model_graph(es->m), true);
    if (!g)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory copying the graph");
    struct oq_qdq_options qo = oq_qdq_options_default();
    oq_status st = oq_qdq_apply(g, plan, &qo, err);
    if (st) {
        oq_graph_free(g);
        return st;
    }
    struct oq_model *qm = NULL;
    OQ_TRY(oq_model_from_graph(g, &qm, err)); /* takes g, also on failure */
    oq_session *s = session(es, qm, err);
    double aa = 0, bb = 0, ab = 0, dd = 0;
    st = s ? OQ_OK : (err ? err->code : OQ_ERR_MODEL);
    for (int i = 0; !st && i < es->n; i++)
        st = run_batch(es, s, &es->b[i], false, &aa, &bb, &ab, &dd, err);
    oq_session_free(s);
    oq_model_free(qm);
    if (st)
        return st;
    r->sqnr_db = dd == 0 ? INFINITY : aa == 0 ? -INFINITY : 10.0 * log10(aa / dd);
    r->cosine = aa == 0 && bb == 0 ? 1.0 : aa == 0 || bb == 0 ? 0.0 : ab / sqrt(aa * bb);
    return OQ_OK;
}
