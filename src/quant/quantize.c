/* Shared by `onnxq quantize` and the public quantizer: see quantize.h. Moved here from src/cli/quantize.c
 * so that the command and the API cannot drift apart. */
#include "quant/quantize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "exec/model.h"
#include "onnx/onnx_io.h"

/* Presets for deployment targets (applied before the other options, which may refine them). */
static oq_status apply_target(const char *t, struct oq_quant_config *c, oq_error *err) {
    if (!strcmp(t, "ort-cpu")) {
        c->act.symmetric = false;
        c->act.qtype = OQ_DTYPE_UINT8;
        c->weight.qtype = OQ_DTYPE_INT8;
        c->weight.algo = OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
    } else if (!strcmp(t, "tensorrt")) {
        c->act.symmetric = true;
        c->act.qtype = OQ_DTYPE_INT8;
        c->weight.qtype = OQ_DTYPE_INT8;
        c->weight.algo = OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
    } else if (!strcmp(t, "npu-pow2")) {
        c->act.symmetric = true;
        c->act.qtype = OQ_DTYPE_INT8;
        c->act.pow2 = c->weight.pow2 = true;
        c->weight.algo = OQ_CALIB_ALGO_ABS_MAX;
    } else {
        return oq_errorf(err, OQ_ERR_ARG, "target '%s' is not a preset; use ort-cpu, tensorrt or npu-pow2", t);
    }
    return OQ_OK;
}

static oq_status check_names(const char *what, const char *const *names, int n, oq_error *err) {
    if (n < 0 || (n > 0 && !names))
        return oq_errorf(err, OQ_ERR_ARG, "%s: %d names given with %s array", what, n, names ? "an" : "a NULL");
    for (int i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            return oq_errorf(err, OQ_ERR_ARG, "%s: entry %d is %s; give node or op type names", what, i,
                             names[i] ? "empty" : "NULL");
    return OQ_OK;
}

/* Remove these op types from the quantized list (an op type not in it is no error: nothing to leave out). */
static void drop_op_types(struct oq_quant_config *c, const char *const *names, int n) {
    for (int i = 0; i < c->n_op_types;) {
        bool hit = false;
        for (int k = 0; k < n && !hit; k++)
            hit = !strcmp(names[k], c->op_types[i]);
        if (hit) {
            free(c->op_types[i]);
            c->op_types[i] = c->op_types[--c->n_op_types];
        } else {
            i++;
        }
    }
}

oq_status oq_quant_config_apply_options(struct oq_quant_config *c, const oq_quantize_options *o, oq_error *err) {
    if (o) {
        OQ_TRY(check_names("skip_nodes", o->skip_nodes, o->n_skip_nodes, err));
        OQ_TRY(check_names("skip_op_types", o->skip_op_types, o->n_skip_op_types, err));
        if (o->per_channel < OQ_PER_CHANNEL_DEFAULT || o->per_channel > OQ_PER_CHANNEL_OFF)
            return oq_errorf(err, OQ_ERR_ARG, "per_channel is %d; use OQ_PER_CHANNEL_DEFAULT, _ON or _OFF",
                             (int)o->per_channel);
        if (o->bits != 0 && o->bits != 8 && o->bits != 16)
            return oq_errorf(err, OQ_ERR_ARG, "bits must be 8 or 16, not %d", o->bits);
        if (o->threads < 0)
            return oq_errorf(err, OQ_ERR_ARG, "threads is %d; give 0 (every CPU) or a positive count", o->threads);
        if (o->target)
            OQ_TRY(apply_target(o->target, c, err));
        for (int i = 0; i < o->n_skip_nodes; i++)
            OQ_TRY(oq_quant_config_add_skip(c, o->skip_nodes[i], err));
        drop_op_types(c, o->skip_op_types, o->n_skip_op_types);
        if (o->per_channel == OQ_PER_CHANNEL_ON)
            c->weight.algo = OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
        if (o->method)
            OQ_TRY(oq_calib_algo_parse(o->method, &c->act.algo, err));
        if (o->percentile != 0) /* out-of-range values are reported by the check below */
            c->act.percentile = o->percentile;
        if (o->symmetric) {
            c->act.symmetric = true;
            c->act.qtype = OQ_DTYPE_INT8;
        }
        if (o->bits == 16) {
            c->act.qtype = c->act.symmetric ? OQ_DTYPE_INT16 : OQ_DTYPE_UINT16;
            c->weight.qtype = OQ_DTYPE_INT16;
        } else if (o->bits == 8) { /* explicit: also over a config that asks for 16 bits */
            c->act.qtype = c->act.symmetric ? OQ_DTYPE_INT8 : OQ_DTYPE_UINT8;
            c->weight.qtype = OQ_DTYPE_INT8;
        }
        if (o->per_channel == OQ_PER_CHANNEL_OFF)
            c->weight.algo = OQ_CALIB_ALGO_ABS_MAX;
        if (o->pow2)
            c->act.pow2 = c->weight.pow2 = true;
        if (o->weights_only)
            c->mode = OQ_QUANT_WEIGHT_ONLY;
    }
    OQ_TRY(oq_calib_config_check(&c->act, err));
    return oq_calib_config_check(&c->weight, err);
}

oq_status oq_quant_config_for_api(const struct oq_model *m, const char *config_json, const oq_quantize_options *opt,
                                  struct oq_quant_config **out, oq_error *err) {
    *out = NULL;
    const char *name = m->path ? m->path : "model";
    struct oq_quant_config *c = NULL;
    oq_status st;
    if (config_json) {
        st = oq_quant_config_parse(config_json, opt ? opt->config_source : NULL, &c, err);
    } else {
        c = oq_quant_config_default();
        st = c ? OQ_OK : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = oq_quant_config_apply_options(c, opt, err);
    /* the algorithms that read the calibration data a second time or rewrite the FP32 model before calibrating:
     * the API sees each batch once and borrows the model */
    const struct {
        bool on;
        const char *key, *flag, *why;
    } cli_only[] = {
        {c && c->equalize_absorb_bias, "equalize_absorb_bias", "--absorb-bias",
         "measures Conv outputs on the calibration data and rewrites the FP32 biases before calibration"},
        {c && c->equalize, "equalize", "--equalize", "rewrites the FP32 weights before calibration"},
        {c && c->smoothquant, "smoothquant", "--smoothquant",
         "measures activations on the calibration data and rewrites the FP32 graph before calibration"},
        {c && c->adaround, "adaround", "--adaround",
         "reads the calibration data a second time to choose each weight's rounding"},
        {c && c->bias_correction && c->mode != OQ_QUANT_WEIGHT_ONLY, "bias_correction", "--bias-correction",
         "reads the calibration data a second time"},
    };
    for (size_t i = 0; !st && i < sizeof(cli_only) / sizeof(cli_only[0]); i++)
        if (cli_only[i].on)
            st = oq_errorf(err, OQ_ERR_ARG, "%s: the config asks for %s, which %s; the API does not do it yet: use "
                           "`onnxq quantize %s`, or set %s to false", name, cli_only[i].key, cli_only[i].why,
                           cli_only[i].flag, cli_only[i].key);
    if (!st) /* names in the config and the options must exist in the model (also in weights-only mode) */
        st = oq_quant_config_validate(c, oq_model_graph(m), err);
    if (st) {
        oq_quant_config_free(c);
        return st;
    }
    *out = c;
    return OQ_OK;
}

/* Checked before calibrating (which can take minutes), not only when saving: the output must not be the input
 * model, and its folder must take a new file (probed with the temporary file the atomic save also uses). */
oq_status oq_quant_check_output(const char *model_path, const char *what, const char *out, oq_error *err) {
    if (!out || !*out)
        return oq_errorf(err, OQ_ERR_ARG, "%s: give a file name for the quantized model", what);
    struct stat a, b;
    if (model_path && stat(model_path, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return oq_errorf(err, OQ_ERR_ARG, "%s '%s' is the input model; write the quantized model to another file "
                         "(onnxq never overwrites its input)", what, out);
    size_t n = strlen(out);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", out);
    int fd = mkstemp(tmp);
    oq_status st = OQ_OK;
    if (fd < 0) {
        st = oq_errorf(err, OQ_ERR_IO, "cannot create a temporary file beside '%s': %s; check that the folder "
                       "exists and is writable", out, strerror(errno));
    } else {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return st;
}

oq_status oq_quant_write_model(const struct oq_model *m, const struct oq_graph *g, const struct oq_quant_plan *plan,
                               const struct oq_calibrator *cal, const char *out, const char *table,
                               struct oq_qdq_stats *stats, oq_error *err) {
    struct oq_graph *qg = oq_graph_clone(g ? g : oq_model_graph(m), true);
    if (!qg)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory copying the graph of %s", m->path ? m->path : "the model");
    struct oq_qdq_options qo = oq_qdq_options_default();
    qo.stats = stats;
    oq_status st = oq_qdq_apply(qg, plan, &qo, err);
    if (!st)
        st = oq_onnx_save(qg, m->keep, out, err);
    oq_graph_free(qg);
    if (!st && table)
        st = oq_calib_table_write(m, cal, plan, table, err);
    return st;
}
