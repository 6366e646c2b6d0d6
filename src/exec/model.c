#include "exec/model.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/passes.h"
#include "ops/op.h"

oq_status oq_model_resolve(struct oq_graph *g, int *n_unsupported, oq_error *err) {
    *n_unsupported = 0;
    char list[768] = "";
    size_t len = 0;
    int first_check_fail = -1;
    oq_error check_err = {0};
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        n->opset = (int)oq_graph_opset(g, n->domain);
        n->def = oq_op_find(n->domain, n->op_type, n->opset);
        if (!n->def) {
            /* list each distinct op once, with its first node name */
            bool seen = false;
            for (int j = 0; j < i && !seen; j++)
                seen = !g->nodes[j].def && !strcmp(g->nodes[j].op_type, n->op_type) &&
                       !strcmp(g->nodes[j].domain, n->domain);
            (*n_unsupported)++;
            if (!seen && len + 1 < sizeof(list))
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s%s%s (opset %d, e.g. node '%s')",
                                        len ? ", " : "", *n->domain ? n->domain : "", *n->domain ? "." : "",
                                        n->op_type, n->opset, n->name);
            if (len >= sizeof(list))
                len = sizeof(list) - 1;
            continue;
        }
        if (n->def->check && first_check_fail < 0 && n->def->check(n, g, &check_err) != OQ_OK)
            first_check_fail = i;
    }
    if (*n_unsupported)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED,
                         "%s: %d node%s use ops onnxq does not support: %s. Supported ops: see `onnxq info "
                         "--ops`",
                         g->source, *n_unsupported, *n_unsupported == 1 ? "" : "s", list);
    if (first_check_fail >= 0) {
        if (err)
            *err = check_err;
        return oq_error_prefix(err, check_err.code, "%s: ", g->source);
    }
    return OQ_OK;
}

static oq_status load_graph_file(const char *path, const void *buf, size_t len, const char *base_dir,
                                 const oq_load_options *opt, oq_model **out, oq_error *err) {
    *out = NULL;
    struct oq_model *m = calloc(1, sizeof(*m));
    if (!m)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    m->path = strdup(path ? path : "model");
    oq_status st = oq_onnx_load(buf, len, base_dir, m->path, &m->g, &m->keep, err);
    if (st)
        goto fail;
    /* opsets: the default domain must be imported and within what onnxq implements */
    int64_t opset = oq_graph_opset(m->g, "");
    if (opset == 0 && m->g->n_nodes > 0) {
        st = oq_errorf(err, OQ_ERR_MODEL, "%s: the model imports no default-domain opset; add an opset_import "
                       "for domain '' (ai.onnx)", m->path);
        goto fail;
    }
    if (opset > OQ_OPSET_MAX) {
        st = oq_errorf(err, OQ_ERR_UNSUPPORTED,
                       "%s: opset %lld is newer than onnxq supports (up to %d); convert the model with "
                       "onnx.version_converter to opset %d",
                       m->path, (long long)opset, OQ_OPSET_MAX, OQ_OPSET_MAX);
        goto fail;
    }
    if ((st = oq_graph_toposort(m->g, err)))
        goto fail;
    if (!opt->no_passes) {
        oq_pass_remove_identity(m->g);
        oq_pass_fold_batchnorm(m->g, err);
        oq_pass_fold_conv_affine(m->g, err);
    }
    st = oq_model_resolve(m->g, &m->n_unsupported, err);
    if (st == OQ_ERR_UNSUPPORTED && opt->allow_unsupported && m->n_unsupported)
        st = OQ_OK;
    if (st)
        goto fail;
    if (!opt->no_passes && !m->n_unsupported) {
        int nf = 0;
        if ((st = oq_fold_constants(m->g, &nf, err)))
            goto fail;
    }
    *out = m;
    return OQ_OK;
fail:
    oq_model_free(m);
    return st;
}

oq_status oq_model_load_ex(const char *path, const oq_load_options *opt, oq_model **out, oq_error *err) {
    *out = NULL;
    oq_load_options dflt = {0};
    if (!opt)
        opt = &dflt;
    if (!path)
        return oq_errorf(err, OQ_ERR_ARG, "oq_model_load: path is NULL");
    void *buf;
    size_t len;
    OQ_TRY(oq_read_file(path, &buf, &len, err));
    char *pcopy = strdup(path);
    if (!pcopy) {
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    oq_status st = load_graph_file(path, buf, len, dirname(pcopy), opt, out, err);
    free(pcopy);
    free(buf);
    return st;
}

oq_status oq_model_load(const char *path, oq_model **out, oq_error *err) {
    return oq_model_load_ex(path, NULL, out, err);
}

oq_status oq_model_load_buffer(const void *buf, size_t len, const char *base_dir, oq_model **out,
                               oq_error *err) {
    oq_load_options dflt = {0};
    return load_graph_file("<memory>", buf, len, base_dir ? base_dir : ".", &dflt, out, err);
}

oq_status oq_model_from_graph(struct oq_graph *g, struct oq_model **out, oq_error *err) {
    *out = NULL;
    struct oq_model *m = calloc(1, sizeof(*m));
    if (!m) {
        oq_graph_free(g);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    m->g = g;
    m->path = strdup(g->source ? g->source : "<graph>");
    oq_status st = oq_graph_toposort(g, err);
    if (!st)
        st = oq_model_resolve(g, &m->n_unsupported, err);
    if (st) {
        oq_model_free(m);
        return st;
    }
    *out = m;
    return OQ_OK;
}

const struct oq_graph *oq_model_graph(const struct oq_model *m) { return m->g; }

oq_status oq_model_save(const oq_model *m, const char *path, oq_error *err) {
    if (!m || !path)
        return oq_errorf(err, OQ_ERR_ARG, "oq_model_save: model or path is NULL");
    return oq_onnx_save(m->g, m->keep, path, err);
}

void oq_model_free(oq_model *m) {
    if (!m)
        return;
    oq_graph_free(m->g);
    oq_onnx_keep_free(m->keep);
    free(m->path);
    free(m);
}

int oq_model_num_inputs(const oq_model *m) { return m->g->n_inputs; }
int oq_model_num_outputs(const oq_model *m) { return m->g->n_outputs; }

static oq_status value_ref(const struct oq_graph *g, int id, oq_tensor_ref *out) {
    const struct oq_value *v = &g->values[id];
    memset(out, 0, sizeof(*out));
    out->name = v->name;
    out->dtype = v->init ? v->init->dtype : v->dtype;
    out->ndim = v->init ? v->init->ndim : v->ndim;
    for (int d = 0; d < out->ndim && d < OQ_MAX_DIMS; d++)
        out->dims[d] = v->init ? v->init->dims[d] : v->dims[d];
    return OQ_OK;
}

oq_status oq_model_input(const oq_model *m, int i, oq_tensor_ref *out) {
    if (i < 0 || i >= m->g->n_inputs)
        return OQ_ERR_ARG;
    return value_ref(m->g, m->g->inputs[i], out);
}

oq_status oq_model_output(const oq_model *m, int i, oq_tensor_ref *out) {
    if (i < 0 || i >= m->g->n_outputs)
        return OQ_ERR_ARG;
    return value_ref(m->g, m->g->outputs[i], out);
}

const char *oq_model_input_dim_param(const oq_model *m, int i, int d) {
    if (i < 0 || i >= m->g->n_inputs || d < 0 || d >= OQ_MAX_DIMS)
        return NULL;
    return m->g->values[m->g->inputs[i]].dim_param[d];
}

int oq_model_num_nodes(const oq_model *m) { return m->g->n_nodes; }
int oq_model_num_unsupported(const oq_model *m) { return m->n_unsupported; }

oq_status oq_model_node(const oq_model *m, int i, const char **name, const char **op_type, const char **domain) {
    if (i < 0 || i >= m->g->n_nodes)
        return OQ_ERR_ARG;
    if (name) *name = m->g->nodes[i].name;
    if (op_type) *op_type = m->g->nodes[i].op_type;
    if (domain) *domain = m->g->nodes[i].domain;
    return OQ_OK;
}

int oq_model_opset(const oq_model *m) { return (int)oq_graph_opset(m->g, ""); }

void oq_model_param_stats(const oq_model *m, int64_t *count, int64_t *elements, int64_t *bytes) {
    int64_t c = 0, e = 0, b = 0;
    for (int i = 0; i < m->g->n_values; i++) {
        const struct oq_tensor *t = m->g->values[i].init;
        if (!t)
            continue;
        c++;
        e += oq_tensor_numel(t);
        b += (int64_t)oq_tensor_bytes(t);
    }
    if (count) *count = c;
    if (elements) *elements = e;
    if (bytes) *bytes = b;
}
