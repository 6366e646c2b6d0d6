#include "quant/calibrate.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/observer.h"
#include "calib/qmath.h"

struct oq_calibrator {
    const struct oq_model *m;
    const struct oq_quant_config *cfg;
    oq_session *s;
    struct oq_observer **obs; /* per value id of the model graph; NULL = not observed (yet) */
    int64_t batches, samples;
    oq_error hook_err;        /* an observer error raised inside the hook */
    bool all_hist;            /* histograms for every tensor, whatever its algorithm */
};

void oq_calibrator_keep_histograms(struct oq_calibrator *c) { c->all_hist = true; }

/* Observe one float tensor of value v. */
static oq_status observe(struct oq_calibrator *c, int v, const float *x, int64_t n, oq_error *err) {
    const struct oq_graph *g = oq_model_graph(c->m);
    if (!c->obs[v]) {
        struct oq_calib_config act;
        oq_quant_config_tensor(c->cfg, g, v, &act);
        /* histograms only where the tensor's algorithm reads one: min/max-style calibration runs much faster */
        OQ_TRY(oq_observer_create_ex(g->values[v].name, &act, c->all_hist || oq_calib_algo_needs_hist(act.algo),
                                      &c->obs[v], err));
    }
    return oq_observer_update(c->obs[v], x, n, err);
}

static int hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs) {
    struct oq_calibrator *c = user;
    const struct oq_graph *g = oq_model_graph(c->m);
    const struct oq_node *n = &g->nodes[node_index];
    for (int k = 0; k < n_out && k < n->n_out; k++) {
        int v = n->out[k];
        if (v < 0 || outs[k].dtype != OQ_DTYPE_FLOAT || !outs[k].data)
            continue;
        int64_t numel = 1;
        for (int d = 0; d < outs[k].ndim; d++)
            numel *= outs[k].dims[d];
        if (observe(c, v, outs[k].data, numel, &c->hook_err) != OQ_OK) {
            oq_error_prefix(&c->hook_err, c->hook_err.code, "output of node '%s' (%s): ", node_name, op_type);
            return 1;
        }
    }
    return 0;
}

/* A NaN or Inf in the weight or bias of a Conv/ConvTranspose/Gemm/MatMul is the model's fault, not the
 * data's: say so before calibration runs into the NaN activations it makes. (Other initializers may hold
 * Inf on purpose, e.g. -Inf attention masks or Clip bounds.) */
static oq_status check_weights_finite(const struct oq_graph *g, oq_error *err) {
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        bool w = !*n->domain && oq_quant_op_is_weighted(n->op_type);
        for (int k = 0; w && k < n->n_in; k++) {
            const struct oq_tensor *t = n->in[k] >= 0 ? g->values[n->in[k]].init : NULL;
            if (!t || t->dtype != OQ_DTYPE_FLOAT)
                continue;
            const float *x = t->data;
            for (int64_t e = 0; e < oq_tensor_numel(t); e++)
                if (!isfinite(x[e]))
                    return oq_errorf(err, OQ_ERR_NUMERIC,
                                     "%s: initializer '%s' (input %d of node '%s', %s) has %s at element %lld; a "
                                     "model with non-finite weights cannot be calibrated or quantized: fix the "
                                     "weights or re-export the model",
                                     g->source, g->values[n->in[k]].name, k, n->name, n->op_type,
                                     isnan(x[e]) ? "NaN" : "Inf", (long long)e);
        }
    }
    return OQ_OK;
}

oq_status oq_calibrator_create(const struct oq_model *m, const struct oq_quant_config *cfg, int threads,
                               struct oq_calibrator **out, oq_error *err) {
    *out = NULL;
    const struct oq_graph *g = oq_model_graph(m);
    OQ_TRY(oq_quant_config_validate(cfg, g, err));
    OQ_TRY(check_weights_finite(g, err));
    struct oq_calibrator *c = calloc(1, sizeof(*c));
    if (!c)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    c->m = m;
    c->cfg = cfg;
    c->obs = calloc((size_t)g->n_values + 1, sizeof(*c->obs));
    if (!c->obs) {
        free(c);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    oq_session_options so = oq_session_options_default();
    so.num_threads = threads;
    so.no_fusion = 1; /* observe every tensor the model names */
    so.hook = hook;
    so.hook_user = c;
    oq_status st = oq_session_create(m, &so, &c->s, err);
    if (st) {
        oq_calibrator_free(c);
        return st;
    }
    *out = c;
    return OQ_OK;
}

void oq_calibrator_free(struct oq_calibrator *c) {
    if (!c)
        return;
    const struct oq_graph *g = oq_model_graph(c->m);
    for (int i = 0; c->obs && i < g->n_values; i++)
        oq_observer_free(c->obs[i]);
    free(c->obs);
    oq_session_free(c->s);
    free(c);
}

oq_status oq_calibrator_feed(struct oq_calibrator *c, int n_inputs, const oq_tensor_ref *inputs, oq_error *err) {
    const struct oq_graph *g = oq_model_graph(c->m);
    memset(&c->hook_err, 0, sizeof(c->hook_err));
    oq_status st = oq_session_run(c->s, n_inputs, inputs, err);
    if (st == OQ_ERR_CANCELLED && c->hook_err.code) {
        if (err)
            *err = c->hook_err;
        return c->hook_err.code;
    }
    if (st)
        return oq_error_prefix(err, st, "calibration batch %lld: ", (long long)c->batches);
    /* graph inputs (after the run: the session has validated and matched them by name) */
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        const oq_tensor_ref *t = NULL;
        for (int k = 0; k < n_inputs && !t; k++)
            if (inputs[k].name ? !strcmp(inputs[k].name, g->values[v].name) : k == i)
                t = &inputs[k];
        if (!t || t->dtype != OQ_DTYPE_FLOAT)
            continue; /* integer inputs are never quantized */
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= t->dims[d];
        if ((st = observe(c, v, t->data, numel, err)))
            return oq_error_prefix(err, st, "graph input: ");
    }
    c->batches++;
    c->samples += n_inputs > 0 && inputs[0].ndim > 0 ? inputs[0].dims[0] : 1;
    return OQ_OK;
}

void oq_calibrator_counts(const struct oq_calibrator *c, int64_t *batches, int64_t *samples) {
    if (batches)
        *batches = c->batches;
    if (samples)
        *samples = c->samples;
}

static oq_status node_decisions(const struct oq_model *m, const struct oq_quant_config *cfg,
                                struct oq_quant_plan *p) {
    const struct oq_graph *g = oq_model_graph(m);
    p->mode = cfg->mode;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_calib_config w;
        oq_quant_config_node(cfg, &g->nodes[i], &p->node[i].quantize, &w);
        p->node[i].weight_dtype = w.qtype;
        p->node[i].per_channel = w.algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
    }
    return OQ_OK;
}

oq_status oq_quant_plan_from_config(const struct oq_model *m, const struct oq_quant_config *cfg,
                                    struct oq_quant_plan **out, oq_error *err) {
    const struct oq_graph *g = oq_model_graph(m);
    OQ_TRY(oq_quant_config_validate(cfg, g, err));
    struct oq_quant_plan *p = oq_quant_plan_new(g->n_values, g->n_nodes);
    if (!p)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    node_decisions(m, cfg, p);
    *out = p;
    return OQ_OK;
}

oq_status oq_calibrator_plan(const struct oq_calibrator *c, struct oq_quant_plan **out, oq_error *err) {
    *out = NULL;
    const struct oq_graph *g = oq_model_graph(c->m);
    if (c->batches == 0)
        return oq_errorf(err, OQ_ERR_ARG,
                         "%s: calibration ran zero batches, so no scale can be chosen; give calibration data "
                         "(--data DIR or --data random)",
                         g->source);
    struct oq_quant_plan *p;
    OQ_TRY(oq_quant_plan_from_config(c->m, c->cfg, &p, err));
    for (int v = 0; v < g->n_values; v++) {
        if (!c->obs[v])
            continue;
        struct oq_calib_config act;
        oq_quant_config_tensor(c->cfg, g, v, &act);
        struct oq_calib_result r;
        oq_status st = oq_calib_compute(c->obs[v], &act, &r, err);
        if (st) {
            oq_quant_plan_free(p);
            char who[300];
            snprintf(who, sizeof(who), "tensor '%s'", g->values[v].name);
            if (err && strncmp(err->msg, who, strlen(who)) != 0) /* most messages name it already */
                oq_error_prefix(err, st, "%s: ", who);
            return st;
        }
        struct oq_qparam *q = oq_qparam_new_tensor(r.qtype, r.scale, r.zero_point);
        if (!q) {
            oq_quant_plan_free(p);
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        }
        q->clip_lo = r.clip_lo;
        q->clip_hi = r.clip_hi;
        q->algo = oq_calib_algo_name(act.algo);
        p->act[v] = q;
    }
    *out = p;
    return OQ_OK;
}

/* ---- calibration table ---- */

oq_status oq_calib_table_write(const struct oq_model *m, const struct oq_calibrator *c,
                               const struct oq_quant_plan *plan, const char *path, oq_error *err) {
    const struct oq_graph *g = oq_model_graph(m);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", g->source ? g->source : "");
    if (c) {
        cJSON_AddNumberToObject(root, "batches", (double)c->batches);
        cJSON_AddNumberToObject(root, "samples", (double)c->samples);
    }
    cJSON *tensors = cJSON_CreateObject();
    for (int v = 0; v < g->n_values && v < plan->n_values; v++) {
        const struct oq_qparam *q = plan->act[v];
        if (!q)
            continue;
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "scale", q->scale[0]);
        cJSON_AddNumberToObject(t, "zero_point", q->zero_point[0]);
        cJSON_AddStringToObject(t, "type", oq_dtype_name(q->dtype));
        cJSON_AddStringToObject(t, "algorithm", q->algo ? q->algo : "");
        cJSON *clip = cJSON_CreateArray();
        cJSON_AddItemToArray(clip, cJSON_CreateNumber(q->clip_lo));
        cJSON_AddItemToArray(clip, cJSON_CreateNumber(q->clip_hi));
        cJSON_AddItemToObject(t, "clip", clip);
        const struct oq_observer *o = c ? c->obs[v] : NULL;
        if (o) {
            cJSON *obs = cJSON_CreateArray();
            cJSON_AddItemToArray(obs, cJSON_CreateNumber(o->min));
            cJSON_AddItemToArray(obs, cJSON_CreateNumber(o->max));
            cJSON_AddItemToObject(t, "observed", obs);
            cJSON_AddNumberToObject(t, "values", (double)o->n_values);
        }
        cJSON_AddItemToObject(tensors, g->values[v].name, t);
    }
    cJSON_AddItemToObject(root, "tensors", tensors);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory writing '%s'", path);
    size_t len = strlen(s);
    s[len] = '\n'; /* cJSON's buffer is one byte longer than the text: replace the NUL */
    oq_status st = oq_write_file_atomic(path, s, len + 1, err);
    free(s);
    return st;
}

static bool dtype_from_name(const char *s, enum oq_dtype *dt) {
    static const enum oq_dtype types[] = {OQ_DTYPE_UINT8, OQ_DTYPE_INT8, OQ_DTYPE_UINT16, OQ_DTYPE_INT16};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(s, oq_dtype_name(types[i]))) {
            *dt = types[i];
            return true;
        }
    return false;
}

oq_status oq_calib_table_read(const struct oq_model *m, const char *path, struct oq_quant_plan *plan,
                              oq_error *err) {
    const struct oq_graph *g = oq_model_graph(m);
    void *buf;
    size_t len;
    OQ_TRY(oq_read_file(path, &buf, &len, err));
    char *text = realloc(buf, len + 1);
    if (!text) {
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    text[len] = 0;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return oq_errorf(err, OQ_ERR_ARG, "%s: not valid JSON; expected a calibration table written by `onnxq "
                         "quantize`", path);
    oq_status st = OQ_OK;
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    if (!cJSON_IsObject(tensors)) {
        st = oq_errorf(err, OQ_ERR_ARG, "%s: no \"tensors\" object; expected a calibration table", path);
        goto done;
    }
    for (const cJSON *t = tensors->child; t; t = t->next) {
        int v = oq_graph_find_value(g, t->string);
        if (v < 0) {
            st = oq_errorf(err, OQ_ERR_ARG, "%s: tensor '%s' is not in %s; was the table made for another model?",
                           path, t->string, g->source);
            goto done;
        }
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(t, "scale");
        const cJSON *zp = cJSON_GetObjectItemCaseSensitive(t, "zero_point");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(t, "type");
        enum oq_dtype dt;
        if (!cJSON_IsNumber(sc) || !cJSON_IsNumber(zp) || !cJSON_IsString(ty) || !dtype_from_name(ty->valuestring, &dt)) {
            st = oq_errorf(err, OQ_ERR_ARG, "%s: tensor '%s' needs numeric scale and zero_point and a type "
                           "(uint8, int8, uint16, int16)", path, t->string);
            goto done;
        }
        float s = (float)sc->valuedouble;
        int32_t qmin, qmax;
        oq_qtype_range(dt, false, &qmin, &qmax);
        if (!(s > 0) || !isfinite(s) || zp->valuedouble < qmin || zp->valuedouble > qmax) {
            st = oq_errorf(err, OQ_ERR_ARG, "%s: tensor '%s' has scale %g and zero point %g; the scale must be a "
                           "positive finite number and the zero point within [%d, %d]",
                           path, t->string, sc->valuedouble, zp->valuedouble, qmin, qmax);
            goto done;
        }
        struct oq_qparam *q = oq_qparam_new_tensor(dt, s, (int32_t)zp->valuedouble);
        if (!q) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            goto done;
        }
        const cJSON *clip = cJSON_GetObjectItemCaseSensitive(t, "clip");
        if (cJSON_IsArray(clip) && cJSON_GetArraySize(clip) == 2) {
            q->clip_lo = (float)cJSON_GetArrayItem(clip, 0)->valuedouble;
            q->clip_hi = (float)cJSON_GetArrayItem(clip, 1)->valuedouble;
        }
        q->algo = "table";
        oq_qparam_free(plan->act[v]);
        plan->act[v] = q;
    }
done:
    cJSON_Delete(root);
    return st;
}
