#include "quant/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_io.h"

/* Op types quantized by default: the weighted ops, and the ops that keep int8 flowing between them (ONNX
 * Runtime fuses these into integer kernels in QDQ form, or moves int8 through them). */
static const char *const default_op_types[] = {
    "Conv",    "ConvTranspose", "Gemm",        "MatMul",            "Add",    "Mul",       "Concat",  "MaxPool",
    "AveragePool", "GlobalAveragePool", "Resize", "Reshape", "Transpose", "Sigmoid", "HardSigmoid", "HardSwish",
};

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static struct oq_calib_config default_act(void) {
    struct oq_calib_config c = oq_calib_config_default();
    c.algo = OQ_CALIB_ALGO_MIN_MAX;
    c.qtype = OQ_DTYPE_UINT8;
    c.symmetric = false;
    return c;
}

static struct oq_calib_config default_weight(void) {
    struct oq_calib_config c = oq_calib_config_default();
    c.algo = OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
    c.qtype = OQ_DTYPE_INT8;
    c.symmetric = true;
    return c;
}

struct oq_quant_config *oq_quant_config_default(void) {
    struct oq_quant_config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->mode = OQ_QUANT_STATIC;
    c->smoothquant_alpha = 0.5f;
    c->act = default_act();
    c->weight = default_weight();
    int n = (int)(sizeof(default_op_types) / sizeof(default_op_types[0]));
    c->op_types = calloc((size_t)n, sizeof(char *));
    if (!c->op_types) {
        free(c);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!(c->op_types[i] = dupstr(default_op_types[i]))) {
            oq_quant_config_free(c);
            return NULL;
        }
        c->n_op_types++;
    }
    return c;
}

static void free_strs(char **v, int n) {
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void oq_quant_config_free(struct oq_quant_config *c) {
    if (!c)
        return;
    free_strs(c->op_types, c->n_op_types);
    free_strs(c->skip, c->n_skip);
    for (int i = 0; i < c->n_layers; i++)
        free(c->layers[i].name);
    free(c->layers);
    for (int i = 0; i < c->n_tensors; i++)
        free(c->tensors[i].name);
    free(c->tensors);
    free(c);
}

/* ---- parsing ---- */

struct ctx {
    const char *source;
    oq_error *err;
};

static oq_status bad(const struct ctx *x, const char *where, const char *what) {
    return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s: %s", x->source, where, what);
}

static oq_status check_keys(const struct ctx *x, const cJSON *obj, const char *where, const char *const *allowed) {
    if (!cJSON_IsObject(obj))
        return bad(x, where, "expected a JSON object");
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, it->string);
        if (!ok) {
            char list[256] = "";
            size_t k = 0;
            for (const char *const *a = allowed; *a && k < sizeof(list); a++)
                k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", k ? ", " : "", *a);
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s: unknown key '%s' (allowed: %s)", x->source, where,
                             it->string, list);
        }
    }
    return OQ_OK;
}

static oq_status get_bool(const struct ctx *x, const cJSON *o, const char *key, const char *where, bool *v) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return OQ_OK;
    if (!cJSON_IsBool(it))
        return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.%s must be true or false", x->source, where, key);
    *v = cJSON_IsTrue(it);
    return OQ_OK;
}

static oq_status get_num(const struct ctx *x, const cJSON *o, const char *key, const char *where, double *v,
                         bool *found) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (found)
        *found = it != NULL;
    if (!it)
        return OQ_OK;
    if (!cJSON_IsNumber(it))
        return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.%s must be a number", x->source, where, key);
    *v = it->valuedouble;
    return OQ_OK;
}

/* Parse an activation or weight settings object into cfg (fields absent keep their value). */
static oq_status parse_qsettings(const struct ctx *x, const cJSON *o, const char *where, bool weight,
                                 struct oq_calib_config *cfg) {
    static const char *const act_keys[] = {"algorithm", "bits", "symmetric", "percentile", "ema_rate",
                                           "power_of_two", "pow2_range", "hist_bins", NULL};
    static const char *const w_keys[] = {"algorithm", "bits", "per_channel", "power_of_two", "pow2_range", NULL};
    OQ_TRY(check_keys(x, o, where, weight ? w_keys : act_keys));
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(o, "algorithm");
    if (alg) {
        if (!cJSON_IsString(alg))
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.algorithm must be a string", x->source, where);
        oq_status st = oq_calib_algo_parse(alg->valuestring, &cfg->algo, x->err);
        if (st)
            return oq_error_prefix(x->err, st, "%s: %s.algorithm: ", x->source, where);
        bool weight_algo = cfg->algo == OQ_CALIB_ALGO_ABS_MAX || cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
        if (weight && !weight_algo)
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.algorithm '%s': weights take abs_max or "
                             "channel_wise_abs_max", x->source, where, alg->valuestring);
        if (!weight && cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX)
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.algorithm 'channel_wise_abs_max' is for weights; "
                             "activations take min_max, abs_max, moving_average_abs_max, percentile, mse, kl "
                             "or kl_v2", x->source, where);
    }
    double v = 0;
    bool found;
    OQ_TRY(get_bool(x, o, "symmetric", where, &cfg->symmetric));
    OQ_TRY(get_num(x, o, "bits", where, &v, &found));
    if (found) {
        if (v != 8 && v != 16)
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.bits is %g; use 8 or 16", x->source, where, v);
        if (weight)
            cfg->qtype = v == 8 ? OQ_DTYPE_INT8 : OQ_DTYPE_INT16;
        else
            cfg->qtype = v == 8 ? OQ_DTYPE_UINT8 : OQ_DTYPE_UINT16;
    }
    if (weight) {
        bool pc = cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX;
        const cJSON *pcj = cJSON_GetObjectItemCaseSensitive(o, "per_channel");
        OQ_TRY(get_bool(x, o, "per_channel", where, &pc));
        if (pcj && alg && pc != (cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX))
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s: per_channel %s contradicts algorithm '%s'", x->source,
                             where, pc ? "true" : "false", alg->valuestring);
        cfg->algo = pc ? OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX : OQ_CALIB_ALGO_ABS_MAX;
        cfg->symmetric = true;
    }
    else if (cfg->symmetric) /* symmetric activations use the signed type */
        cfg->qtype = cfg->qtype == OQ_DTYPE_UINT16 || cfg->qtype == OQ_DTYPE_INT16 ? OQ_DTYPE_INT16 : OQ_DTYPE_INT8;
    else
        cfg->qtype = cfg->qtype == OQ_DTYPE_UINT16 || cfg->qtype == OQ_DTYPE_INT16 ? OQ_DTYPE_UINT16 : OQ_DTYPE_UINT8;
    OQ_TRY(get_num(x, o, "percentile", where, &v, &found));
    if (found)
        cfg->percentile = (float)v;
    OQ_TRY(get_num(x, o, "ema_rate", where, &v, &found));
    if (found)
        cfg->ema_rate = (float)v;
    OQ_TRY(get_num(x, o, "hist_bins", where, &v, &found));
    if (found) {
        /* range-checked before the conversion: (int32_t) of a double outside int32 is undefined */
        if (!(v >= 128 && v <= (1 << 20)) || v != floor(v))
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.hist_bins is %g; use a whole number in 128 .. 1048576",
                             x->source, where, v);
        cfg->hist_bins = (int32_t)v;
    }
    OQ_TRY(get_bool(x, o, "power_of_two", where, &cfg->pow2));
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "pow2_range");
    if (r) {
        if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 2 || !cJSON_IsNumber(cJSON_GetArrayItem(r, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(r, 1)))
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.pow2_range must be [n_min, n_max]", x->source, where);
        double lo = cJSON_GetArrayItem(r, 0)->valuedouble, hi = cJSON_GetArrayItem(r, 1)->valuedouble;
        if (!(lo >= -126 && hi <= 126 && lo <= hi) || lo != floor(lo) || hi != floor(hi))
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s.pow2_range [%g, %g] is invalid; use whole numbers "
                             "-126 <= n_min <= n_max <= 126 (scale = 2^-n)",
                             x->source, where, lo, hi);
        cfg->pow2_min = (int32_t)lo;
        cfg->pow2_max = (int32_t)hi;
    }
    oq_status st = oq_calib_config_check(cfg, x->err);
    if (st)
        return oq_error_prefix(x->err, st, "%s: %s: ", x->source, where);
    return OQ_OK;
}

static bool calib_cfg_equal(const struct oq_calib_config *a, const struct oq_calib_config *b) {
    return a->algo == b->algo && a->qtype == b->qtype && a->symmetric == b->symmetric &&
           a->percentile == b->percentile && a->ema_rate == b->ema_rate && a->hist_bins == b->hist_bins &&
           a->pow2 == b->pow2 && a->pow2_min == b->pow2_min && a->pow2_max == b->pow2_max;
}

static oq_status parse_strings(const struct ctx *x, const cJSON *a, const char *where, char ***out, int *n) {
    if (!cJSON_IsArray(a))
        return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s must be an array of strings", x->source, where);
    int cnt = cJSON_GetArraySize(a);
    char **v = calloc((size_t)cnt + 1, sizeof(char *));
    if (!v)
        return oq_errorf(x->err, OQ_ERR_NOMEM, "out of memory");
    int k = 0;
    for (const cJSON *it = a->child; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            free_strs(v, k);
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: %s must be an array of strings", x->source, where);
        }
        if (!(v[k] = dupstr(it->valuestring))) {
            free_strs(v, k);
            return oq_errorf(x->err, OQ_ERR_NOMEM, "out of memory");
        }
        k++;
    }
    free_strs(*out, *n);
    *out = v;
    *n = k;
    return OQ_OK;
}

/* "smoothquant": true | false | {"enable": bool, "alpha": number in [0, 1], "fold_only": bool} */
static oq_status parse_smoothquant(const struct ctx *x, const cJSON *o, struct oq_quant_config *c) {
    static const char *const keys[] = {"enable", "alpha", "fold_only", NULL};
    if (cJSON_IsBool(o)) {
        c->smoothquant = cJSON_IsTrue(o);
        return OQ_OK;
    }
    if (!cJSON_IsObject(o))
        return bad(x, "smoothquant", "expected true, false or {\"enable\": true, \"alpha\": 0.5}");
    OQ_TRY(check_keys(x, o, "smoothquant", keys));
    c->smoothquant = true; /* an object turns it on unless it says "enable": false */
    OQ_TRY(get_bool(x, o, "enable", "smoothquant", &c->smoothquant));
    OQ_TRY(get_bool(x, o, "fold_only", "smoothquant", &c->smoothquant_fold_only));
    double a = c->smoothquant_alpha;
    OQ_TRY(get_num(x, o, "alpha", "smoothquant", &a, NULL));
    if (!(a >= 0 && a <= 1))
        return oq_errorf(x->err, OQ_ERR_ARG, "%s: smoothquant.alpha is %g; use a number in [0, 1] (the share of "
                         "each activation channel's range moved into the weights; 0.5 is the usual choice)",
                         x->source, a);
    c->smoothquant_alpha = (float)a;
    return OQ_OK;
}

static oq_status parse_root(const struct ctx *x, const cJSON *root, struct oq_quant_config *c) {
    static const char *const keys[] = {"mode", "activation", "weight", "op_types", "skip_layers", "layers",
                                       "tensors", "bias_correction", "equalize", "equalize_absorb_bias", "adaround",
                                       "smoothquant", "version", NULL};
    OQ_TRY(check_keys(x, root, "top level", keys));
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(root, "mode");
    if (mode) {
        if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "static"))
            c->mode = OQ_QUANT_STATIC;
        else if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "weights_only"))
            c->mode = OQ_QUANT_WEIGHT_ONLY;
        else
            return bad(x, "mode", "expected \"static\" or \"weights_only\"");
    }
    const cJSON *o;
    if (cJSON_GetObjectItemCaseSensitive(root, "bias_correction"))
        OQ_TRY(get_bool(x, root, "bias_correction", "top level", &c->bias_correction));
    if (cJSON_GetObjectItemCaseSensitive(root, "equalize"))
        OQ_TRY(get_bool(x, root, "equalize", "top level", &c->equalize));
    if (cJSON_GetObjectItemCaseSensitive(root, "equalize_absorb_bias"))
        OQ_TRY(get_bool(x, root, "equalize_absorb_bias", "top level", &c->equalize_absorb_bias));
    if (c->equalize_absorb_bias) { /* absorption works on the equalized pairs (quant/equalize.h) */
        const cJSON *eq = cJSON_GetObjectItemCaseSensitive(root, "equalize");
        if (eq && !c->equalize)
            return oq_errorf(x->err, OQ_ERR_ARG, "%s: equalize_absorb_bias is true but equalize is false; "
                             "absorption works on the equalized Conv pairs: set equalize to true (or drop it: "
                             "equalize_absorb_bias implies it), or equalize_absorb_bias to false", x->source);
        c->equalize = true;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "adaround"))
        OQ_TRY(get_bool(x, root, "adaround", "top level", &c->adaround));
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "smoothquant")))
        OQ_TRY(parse_smoothquant(x, o, c));
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "activation")))
        OQ_TRY(parse_qsettings(x, o, "activation", false, &c->act));
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "weight")))
        OQ_TRY(parse_qsettings(x, o, "weight", true, &c->weight));
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "op_types")))
        OQ_TRY(parse_strings(x, o, "op_types", &c->op_types, &c->n_op_types));
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "skip_layers")))
        OQ_TRY(parse_strings(x, o, "skip_layers", &c->skip, &c->n_skip));
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "layers"))) {
        if (!cJSON_IsObject(o))
            return bad(x, "layers", "expected an object mapping node names to settings");
        int n = cJSON_GetArraySize(o);
        c->layers = calloc((size_t)n + 1, sizeof(*c->layers));
        if (!c->layers)
            return oq_errorf(x->err, OQ_ERR_NOMEM, "out of memory");
        for (const cJSON *it = o->child; it; it = it->next) {
            static const char *const lkeys[] = {"quant_enable", "activation", "weight", "op_type", NULL};
            char where[300];
            snprintf(where, sizeof(where), "layers.%s", it->string);
            struct oq_layer_config *l = &c->layers[c->n_layers];
            if (!(l->name = dupstr(it->string)))
                return oq_errorf(x->err, OQ_ERR_NOMEM, "out of memory");
            c->n_layers++;
            OQ_TRY(check_keys(x, it, where, lkeys));
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "quant_enable");
            if (e) {
                OQ_TRY(get_bool(x, it, "quant_enable", where, &l->quant_enable));
                l->has_enable = true;
            }
            l->act = c->act;
            l->weight = c->weight;
            const cJSON *s;
            char sub[320];
            if ((s = cJSON_GetObjectItemCaseSensitive(it, "activation"))) {
                snprintf(sub, sizeof(sub), "%s.activation", where);
                OQ_TRY(parse_qsettings(x, s, sub, false, &l->act));
                /* an entry that repeats the global settings (as `onnxq config` writes them) follows them */
                l->has_act = !calib_cfg_equal(&l->act, &c->act);
            }
            if ((s = cJSON_GetObjectItemCaseSensitive(it, "weight"))) {
                snprintf(sub, sizeof(sub), "%s.weight", where);
                OQ_TRY(parse_qsettings(x, s, sub, true, &l->weight));
                l->has_weight = !calib_cfg_equal(&l->weight, &c->weight);
            }
        }
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "tensors"))) {
        if (!cJSON_IsObject(o))
            return bad(x, "tensors", "expected an object mapping tensor names to activation settings");
        int n = cJSON_GetArraySize(o);
        c->tensors = calloc((size_t)n + 1, sizeof(*c->tensors));
        if (!c->tensors)
            return oq_errorf(x->err, OQ_ERR_NOMEM, "out of memory");
        for (const cJSON *it = o->child; it; it = it->next) {
            char where[300];
            snprintf(where, sizeof(where), "tensors.%s", it->string);
            struct oq_tensor_config *t = &c->tensors[c->n_tensors];
            if (!(t->name = dupstr(it->string)))
                return oq_errorf(x->err, OQ_ERR_NOMEM, "out of memory");
            c->n_tensors++;
            t->act = c->act;
            OQ_TRY(parse_qsettings(x, it, where, false, &t->act));
        }
    }
    return OQ_OK;
}

oq_status oq_quant_config_parse(const char *json, const char *source, struct oq_quant_config **out,
                                oq_error *err) {
    *out = NULL;
    struct ctx x = {.source = source ? source : "config", .err = err};
    const char *at = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &at, 0);
    if (!root) {
        int line = 1, col = 1;
        for (const char *p = json; at && p < at && *p; p++, col++)
            if (*p == '\n')
                line++, col = 0;
        char near[24] = "";
        for (size_t k = 0; at && at[k] && k + 1 < sizeof(near); k++) /* printable: a newline would end it */
            near[k] = (unsigned char)at[k] < ' ' ? ' ' : at[k], near[k + 1] = 0;
        return oq_errorf(err, OQ_ERR_ARG, "%s: not valid JSON: error at line %d, column %d (%s%s%s)", x.source, line,
                         col, *near ? "near '" : "at the end of the text", near, *near ? "'" : "");
    }
    struct oq_quant_config *c = oq_quant_config_default();
    oq_status st = c ? parse_root(&x, root, c) : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (st) {
        oq_quant_config_free(c);
        return st;
    }
    *out = c;
    return OQ_OK;
}

oq_status oq_quant_config_load(const char *path, struct oq_quant_config **out, oq_error *err) {
    void *buf;
    size_t len;
    *out = NULL;
    OQ_TRY(oq_read_file(path, &buf, &len, err));
    char *s = realloc(buf, len + 1);
    if (!s) {
        free(buf);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    s[len] = 0;
    oq_status st = oq_quant_config_parse(s, path, out, err);
    free(s);
    return st;
}

oq_status oq_quant_config_add_skip(struct oq_quant_config *c, const char *name, oq_error *err) {
    char **ns = realloc(c->skip, sizeof(char *) * (size_t)(c->n_skip + 1));
    if (!ns)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    c->skip = ns;
    if (!(c->skip[c->n_skip] = strdup(name)))
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    c->n_skip++;
    return OQ_OK;
}

/* ---- queries ---- */

bool oq_quant_config_has_op(const struct oq_quant_config *c, const char *op_type) {
    for (int i = 0; i < c->n_op_types; i++)
        if (!strcmp(c->op_types[i], op_type))
            return true;
    return false;
}

static const struct oq_layer_config *find_layer(const struct oq_quant_config *c, const char *name) {
    for (int i = 0; i < c->n_layers; i++)
        if (!strcmp(c->layers[i].name, name))
            return &c->layers[i];
    return NULL;
}

void oq_quant_config_node(const struct oq_quant_config *c, const struct oq_node *n, bool *quantize,
                          struct oq_calib_config *weight) {
    const struct oq_layer_config *l = find_layer(c, n->name);
    bool q = !*n->domain && oq_quant_config_has_op(c, n->op_type);
    for (int i = 0; i < c->n_skip && q; i++)
        q = strcmp(c->skip[i], n->name) != 0;
    if (l && l->has_enable)
        q = l->quant_enable;
    *quantize = q;
    *weight = l && l->has_weight ? l->weight : c->weight;
}

void oq_quant_config_tensor(const struct oq_quant_config *c, const struct oq_graph *g, int v,
                            struct oq_calib_config *act) {
    const char *name = g->values[v].name;
    for (int i = 0; i < c->n_tensors; i++)
        if (!strcmp(c->tensors[i].name, name)) {
            *act = c->tensors[i].act;
            return;
        }
    int p = g->values[v].producer;
    const struct oq_layer_config *l = p >= 0 ? find_layer(c, g->nodes[p].name) : NULL;
    *act = l && l->has_act ? l->act : c->act;
}

/* ---- validation against a graph ---- */

/* A node name sharing the longest prefix with `name`, for "did you mean". */
static const char *closest_node(const struct oq_graph *g, const char *name) {
    const char *best = g->n_nodes ? g->nodes[0].name : "";
    size_t best_len = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *a = g->nodes[i].name;
        size_t k = 0;
        while (a[k] && a[k] == name[k])
            k++;
        if (k > best_len) {
            best_len = k;
            best = a;
        }
    }
    return best;
}

static bool has_node(const struct oq_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return true;
    return false;
}

oq_status oq_quant_config_validate(const struct oq_quant_config *c, const struct oq_graph *g, oq_error *err) {
    for (int i = 0; i < c->n_skip; i++)
        if (!has_node(g, c->skip[i]))
            return oq_errorf(err, OQ_ERR_ARG,
                             "config: skip_layers names node '%s', which is not in %s (after load-time folding); "
                             "nearest name: '%s'. `onnxq config MODEL` lists the nodes",
                             c->skip[i], g->source, closest_node(g, c->skip[i]));
    for (int i = 0; i < c->n_layers; i++)
        if (!has_node(g, c->layers[i].name))
            return oq_errorf(err, OQ_ERR_ARG,
                             "config: layers names node '%s', which is not in %s (after load-time folding); "
                             "nearest name: '%s'. `onnxq config MODEL` lists the nodes",
                             c->layers[i].name, g->source, closest_node(g, c->layers[i].name));
    for (int i = 0; i < c->n_tensors; i++)
        if (oq_graph_find_value(g, c->tensors[i].name) < 0)
            return oq_errorf(err, OQ_ERR_ARG, "config: tensors names '%s', which is not a tensor of %s",
                             c->tensors[i].name, g->source);
    return OQ_OK;
}

/* ---- writing ---- */

bool oq_quant_op_is_weighted(const char *op) {
    return !strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "Gemm") || !strcmp(op, "MatMul");
}

static cJSON *qsettings_json(const struct oq_calib_config *cfg, bool weight) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "algorithm", oq_calib_algo_name(cfg->algo));
    cJSON_AddNumberToObject(o, "bits", cfg->qtype == OQ_DTYPE_INT16 || cfg->qtype == OQ_DTYPE_UINT16 ? 16 : 8);
    if (weight)
        cJSON_AddBoolToObject(o, "per_channel", cfg->algo == OQ_CALIB_ALGO_CHANNEL_WISE_ABS_MAX);
    if (!weight) {
        cJSON_AddBoolToObject(o, "symmetric", cfg->symmetric);
        cJSON_AddNumberToObject(o, "percentile", cfg->percentile);
        cJSON_AddNumberToObject(o, "ema_rate", cfg->ema_rate);
    }
    cJSON_AddBoolToObject(o, "power_of_two", cfg->pow2);
    cJSON *r = cJSON_CreateArray();
    cJSON_AddItemToArray(r, cJSON_CreateNumber(cfg->pow2_min));
    cJSON_AddItemToArray(r, cJSON_CreateNumber(cfg->pow2_max));
    cJSON_AddItemToObject(o, "pow2_range", r);
    return o;
}

char *oq_quant_config_to_json(const struct oq_quant_config *c, const struct oq_graph *g) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "mode", c->mode == OQ_QUANT_WEIGHT_ONLY ? "weights_only" : "static");
    cJSON_AddItemToObject(root, "activation", qsettings_json(&c->act, false));
    cJSON_AddItemToObject(root, "weight", qsettings_json(&c->weight, true));
    cJSON *ops = cJSON_CreateArray();
    for (int i = 0; i < c->n_op_types; i++)
        cJSON_AddItemToArray(ops, cJSON_CreateString(c->op_types[i]));
    cJSON_AddItemToObject(root, "op_types", ops);
    cJSON *skip = cJSON_CreateArray();
    for (int i = 0; i < c->n_skip; i++)
        cJSON_AddItemToArray(skip, cJSON_CreateString(c->skip[i]));
    cJSON_AddItemToObject(root, "skip_layers", skip);
    cJSON_AddBoolToObject(root, "bias_correction", c->bias_correction);
    cJSON_AddBoolToObject(root, "equalize", c->equalize);
    cJSON_AddBoolToObject(root, "equalize_absorb_bias", c->equalize_absorb_bias);
    cJSON_AddBoolToObject(root, "adaround", c->adaround);
    cJSON *sq = cJSON_CreateObject();
    cJSON_AddBoolToObject(sq, "enable", c->smoothquant);
    cJSON_AddNumberToObject(sq, "alpha", round((double)c->smoothquant_alpha * 1e6) / 1e6); /* 0.3, not 0.30000001 */
    cJSON_AddBoolToObject(sq, "fold_only", c->smoothquant_fold_only);
    cJSON_AddItemToObject(root, "smoothquant", sq);
    cJSON *layers = cJSON_CreateObject();
    for (int i = 0; g && i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        bool q;
        struct oq_calib_config w;
        oq_quant_config_node(c, n, &q, &w);
        const struct oq_layer_config *l = find_layer(c, n->name);
        if (!q && !l && !oq_quant_config_has_op(c, n->op_type))
            continue;
        cJSON *lo = cJSON_CreateObject();
        cJSON_AddStringToObject(lo, "op_type", n->op_type);
        cJSON_AddBoolToObject(lo, "quant_enable", q);
        cJSON_AddItemToObject(lo, "activation", qsettings_json(l && l->has_act ? &l->act : &c->act, false));
        if (oq_quant_op_is_weighted(n->op_type))
            cJSON_AddItemToObject(lo, "weight", qsettings_json(&w, true));
        cJSON_AddItemToObject(layers, n->name, lo);
    }
    for (int i = 0; !g && i < c->n_layers; i++) {
        const struct oq_layer_config *l = &c->layers[i];
        cJSON *lo = cJSON_CreateObject();
        if (l->has_enable)
            cJSON_AddBoolToObject(lo, "quant_enable", l->quant_enable);
        if (l->has_act)
            cJSON_AddItemToObject(lo, "activation", qsettings_json(&l->act, false));
        if (l->has_weight)
            cJSON_AddItemToObject(lo, "weight", qsettings_json(&l->weight, true));
        cJSON_AddItemToObject(layers, l->name, lo);
    }
    cJSON_AddItemToObject(root, "layers", layers);
    cJSON *tensors = cJSON_CreateObject();
    for (int i = 0; i < c->n_tensors; i++)
        cJSON_AddItemToObject(tensors, c->tensors[i].name, qsettings_json(&c->tensors[i].act, false));
    cJSON_AddItemToObject(root, "tensors", tensors);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}
