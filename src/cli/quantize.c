/* onnxq quantize MODEL -o OUT --data SPEC [options]: calibrate, choose scales, write a QDQ model (or a
 * weights-only model), a calibration table beside it, and a report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/source.h"
#include "exec/model.h"
#include "onnx/onnx_io.h"
#include "quant/adaround.h"
#include "quant/bias_correct.h"
#include "quant/calibrate.h"
#include "quant/equalize.h"
#include "quant/config.h"
#include "quant/qdq.h"
#include "quant/quantize.h"
#include "quant/smoothquant.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: onnxq quantize MODEL -o OUT.onnx --data SPEC [options]\n"
            "  --data SPEC          calibration data: a folder of images (needs --preprocess), a folder of .npz or\n"
            "                       .npy files, one file, or 'random[:seed=S,n=N]' (see `onnxq quantize --help-data`)\n"
            "  --preprocess JSON    image preprocessing per input (JSON text or a .json file)\n"
            "  --shape name=1x3x48x320   fix symbolic input dims (repeatable)\n"
            "  --batch-size N       samples per calibration batch (default 1)\n"
            "  --batches N          at most N batches (default: all samples; random: 8)\n"
            "  --config FILE        quantization config (JSON; `onnxq config MODEL` writes the default)\n"
            "  --method NAME        activation algorithm (alias --algo): min_max abs_max moving_average_abs_max\n"
            "                       percentile mse kl kl_v2\n"
            "  --target PRESET      ort-cpu (uint8 asymmetric activations, int8 per-channel weights; default),\n"
            "                       tensorrt (int8 symmetric activations and weights), npu-pow2 (power-of-two scales)\n"
            "  --skip NODE,...      leave these nodes in float\n"
            "  --skip-op-type T,... leave every node of these op types in float\n"
            "  --percentile P       for --algo percentile (default 99.99)\n"
            "  --symmetric          int8 symmetric activations (default uint8 asymmetric)\n"
            "  --per-channel        one weight scale per output channel (default)\n"
            "  --per-tensor         one weight scale per tensor\n"
            "  --bits 8|16          activation and weight bits (default 8)\n"
            "  --pow2               power-of-two scales (2^-n) for integer-only NPUs\n"
            "  --bias-correction    shift each quantized Conv/Gemm bias by its mean output error on the calibration\n"
            "                       data (a second pass over it; config key bias_correction)\n"
            "  --equalize           cross-layer equalization of Conv -> (Relu) -> Conv weights before calibrating\n"
            "                       (the FP32 function is unchanged; config key equalize)\n"
            "  --absorb-bias        after --equalize (implied), high-bias absorption: move each equalized Conv's\n"
            "                       output channel minimum on --data (when > 0) into the next Conv's bias; exact on\n"
            "                       --data, skips a next Conv that pads (config key equalize_absorb_bias)\n"
            "  --adaround           AdaRound: round each Conv/Gemm/MatMul weight up or down to minimize the layer's\n"
            "                       output error on --data (a second pass; before --bias-correction; config key\n"
            "                       adaround)\n"
            "  --adaround-iters N   Adam steps per layer for --adaround (default 500)\n"
            "  --smoothquant [ALPHA] SmoothQuant: divide MatMul/Gemm input channels by s = a^ALPHA / w^(1-ALPHA)\n"
            "                       (a: activation range on --data, w: weight row range) and multiply the weight\n"
            "                       rows by s; FP32 function unchanged (ALPHA in [0, 1], default 0.5; config key\n"
            "                       smoothquant: {\"enable\": true, \"alpha\": 0.5, \"fold_only\": false})\n"
            "  --weights-only       weight-only INT8/INT16: weights stored quantized, activations float\n"
            "  --table FILE         re-quantize from a calibration table instead of calibrating\n"
            "  --table-out FILE     where to write the calibration table (default OUT without .onnx + .calib.json)\n"
            "  --threads N          calibration threads (default: all CPUs)\n"
            "  --quiet              no progress bar\n");
}


int cli_quant_parse(int argc, char **argv, const char *cmd, bool need_out, struct cli_quant_opts *o) {
    memset(o, 0, sizeof(*o));
    cli_data_init(&o->d);
    o->percentile = -1;
    o->smoothquant_alpha = -1;
    for (int i = 1; i < argc; i++) {
        int dr = cli_data_arg(&o->d, cmd, argc, argv, &i);
        if (dr < 0)
            return 2;
        if (dr > 0)
            continue;
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(dst)                                                                                           \
    do {                                                                                                    \
        if (!v)                                                                                             \
            return fprintf(stderr, "onnxq %s: %s needs a value\n", cmd, a), 2;                            \
        dst = v;                                                                                            \
        i++;                                                                                                \
    } while (0)
        const char *tmp = NULL;
        if (need_out && (!strcmp(a, "-o") || !strcmp(a, "--output"))) TAKE(o->out);
        else if (!strcmp(a, "--config")) TAKE(o->config);
        else if (!strcmp(a, "--algo") || !strcmp(a, "--method")) TAKE(o->algo);
        else if (!strcmp(a, "--target")) TAKE(o->target);
        else if (!strcmp(a, "--skip")) TAKE(o->skip);
        else if (!strcmp(a, "--skip-op-type")) TAKE(o->skip_op_types);
        else if (!strcmp(a, "--per-channel")) o->per_channel = 1;
        else if (!strcmp(a, "--table")) TAKE(o->table_in);
        else if (!strcmp(a, "--table-out")) TAKE(o->table_out);
        else if (!strcmp(a, "--threads")) { TAKE(tmp); o->threads = atoi(tmp); }
        else if (!strcmp(a, "--bits")) { TAKE(tmp); o->bits = atoi(tmp); }
        else if (!strcmp(a, "--percentile")) { TAKE(tmp); o->percentile = (float)atof(tmp); }
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) o->quiet = 1;
        else if (!strcmp(a, "--symmetric")) o->symmetric = 1;
        else if (!strcmp(a, "--per-tensor")) o->per_tensor = 1;
        else if (!strcmp(a, "--pow2")) o->pow2 = 1;
        else if (!strcmp(a, "--bias-correction")) o->bias_correction = 1;
        else if (!strcmp(a, "--equalize")) o->equalize = 1;
        else if (!strcmp(a, "--absorb-bias")) o->absorb_bias = o->equalize = 1;
        else if (!strcmp(a, "--adaround")) o->adaround = 1;
        else if (!strcmp(a, "--adaround-iters")) {
            TAKE(tmp);
            char *end = NULL;
            long n = strtol(tmp, &end, 10);
            if (!*tmp || *end || n < 1 || n > 1000000)
                return fprintf(stderr, "onnxq %s: --adaround-iters is '%s'; give a whole number of steps >= 1 "
                                       "(500 is the default)\n", cmd, tmp), 2;
            o->adaround_iters = (int)n;
            o->adaround = 1;
        }
        else if (!strcmp(a, "--smoothquant")) {
            o->smoothquant = 1;
            char *end = NULL;
            double al = v && *v ? strtod(v, &end) : 0;
            if (v && *v && end && !*end) { /* the optional ALPHA */
                if (!(al >= 0 && al <= 1))
                    return fprintf(stderr, "onnxq %s: --smoothquant ALPHA is %s; use a number in [0, 1] "
                                           "(0.5 is the usual choice)\n", cmd, v), 2;
                o->smoothquant_alpha = (float)al;
                i++;
            }
        }
        else if (!strcmp(a, "--weights-only")) o->weights_only = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { if (need_out) usage(stdout); return 1; }
        else if (a[0] == '-') return fprintf(stderr, "onnxq %s: unknown option '%s'\n", cmd, a), 2;
        else if (!o->model) o->model = a;
        else return fprintf(stderr, "onnxq %s: unexpected argument '%s'\n", cmd, a), 2;
#undef TAKE
    }
    if (!o->model || (need_out && !o->out)) {
        if (need_out)
            usage(stderr);
        else
            fprintf(stderr, "onnxq %s: give the FP32 model (see --help)\n", cmd);
        return 2;
    }
    if (!o->d.data && !o->table_in && !o->weights_only)
        return fprintf(stderr, "onnxq %s: give calibration data with --data (a folder, a file or "
                               "'random'), or --table, or use --weights-only\n", cmd), 2;
    if (o->bits && o->bits != 8 && o->bits != 16)
        return fprintf(stderr, "onnxq %s: --bits takes 8 or 16\n", cmd), 2;
    return 0;
}

/* Append the comma-separated names in `list` to a string array. */
static oq_status append_list(const char *list, char ***arr, int *n, oq_error *err) {
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            char **na = realloc(*arr, sizeof(char *) * (size_t)(*n + 1));
            char *v = malloc(len + 1);
            if (!na || !v) {
                free(v);
                if (na)
                    *arr = na;
                return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            }
            memcpy(v, p, len);
            v[len] = 0;
            *arr = na;
            (*arr)[(*n)++] = v;
        }
        p += len + (e ? 1 : 0);
    }
    return OQ_OK;
}

/* Command-line flags override the config file's global settings (layer entries that differ from the
 * global settings still win). The flags map one to one onto the library's quantize options
 * (quant/quantize.h), which the Python package and other API users go through too. */
static oq_status apply_flags(const struct cli_quant_opts *o, struct oq_quant_config *c, oq_error *err) {
    char **skip = NULL, **ops = NULL;
    int n_skip = 0, n_ops = 0;
    oq_status st = o->skip ? append_list(o->skip, &skip, &n_skip, err) : OQ_OK;
    if (!st && o->skip_op_types)
        st = append_list(o->skip_op_types, &ops, &n_ops, err);
    if (!st) {
        oq_quantize_options qo = oq_quantize_options_default();
        qo.method = o->algo;
        qo.target = o->target;
        /* --per-tensor wins over --per-channel, as it always did (it was applied last) */
        qo.per_channel = o->per_tensor ? OQ_PER_CHANNEL_OFF : o->per_channel ? OQ_PER_CHANNEL_ON
                                                                              : OQ_PER_CHANNEL_DEFAULT;
        qo.symmetric = o->symmetric;
        qo.bits = o->bits;
        qo.weights_only = o->weights_only;
        qo.pow2 = o->pow2;
        qo.percentile = o->percentile > 0 ? o->percentile : 0;
        qo.skip_nodes = (const char *const *)skip;
        qo.n_skip_nodes = n_skip;
        qo.skip_op_types = (const char *const *)ops;
        qo.n_skip_op_types = n_ops;
        st = oq_quant_config_apply_options(c, &qo, err);
        if (o->bias_correction)
            c->bias_correction = true;
        if (o->equalize)
            c->equalize = true;
        if (o->absorb_bias)
            c->equalize_absorb_bias = true;
        if (o->adaround)
            c->adaround = true;
        if (o->smoothquant)
            c->smoothquant = true;
        if (o->smoothquant_alpha >= 0)
            c->smoothquant_alpha = o->smoothquant_alpha;
    }
    for (int k = 0; k < n_skip; k++)
        free(skip[k]);
    for (int k = 0; k < n_ops; k++)
        free(ops[k]);
    free(skip);
    free(ops);
    return st;
}

static void progress(const struct cli_quant_opts *o, int64_t samples, int64_t total, double t0) {
    if (o->quiet || !isatty(STDERR_FILENO))
        return;
    double dt = now_s() - t0;
    double rate = dt > 0 ? (double)samples / dt : 0;
    double eta = rate > 0 && total > samples ? (double)(total - samples) / rate : 0;
    int width = 30, fill = total > 0 ? (int)(width * samples / total) : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\rcalibrating [%s] %lld/%lld samples, %.1f samples/s, ETA %.0f s  ", bar, (long long)samples,
            (long long)total, rate, eta);
    fflush(stderr);
}

/* Calibrate over the data source; returns the plan. */
static oq_status calibrate(const struct cli_quant_opts *o, const oq_model *m, const struct oq_quant_config *cfg,
                           struct oq_calibrator **cal_out, struct oq_quant_plan **plan, oq_error *err) {
    int ni = oq_model_num_inputs(m);
    struct oq_data_source *src = NULL;
    OQ_TRY(cli_data_open(&o->d, m, 8, &src, err));
    struct oq_data_stats ds = oq_data_stats_get(src);
    struct oq_calibrator *cal = NULL;
    oq_status st = oq_calibrator_create(m, cfg, o->threads, &cal, err);
    if (!st && o->keep_histograms)
        oq_calibrator_keep_histograms(cal);
    double t0 = now_s();
    int64_t done = 0;
    while (!st) {
        const oq_tensor_ref *batch;
        int count;
        if ((st = oq_data_next(src, &batch, &count, err)) || count == 0)
            break;
        if ((st = oq_calibrator_feed(cal, ni, batch, err)))
            break;
        done += count;
        progress(o, done, ds.samples_planned, t0);
    }
    if (!o->quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    double dt = now_s() - t0;
    if (!st)
        st = oq_calibrator_plan(cal, plan, err); /* zero batches is an error there */
    if (!st) {
        int64_t b, s;
        oq_calibrator_counts(cal, &b, &s);
        printf("calibration: %lld samples in %lld batches from %s, %.2f s (%.1f samples/s), activations by %s\n",
               (long long)s, (long long)b, oq_data_describe(src), dt, dt > 0 ? (double)s / dt : 0.0,
               oq_calib_algo_name(cfg->act.algo));
    }
    oq_data_close(src);
    if (st) {
        oq_calibrator_free(cal);
        return st;
    }
    *cal_out = cal;
    return OQ_OK;
}

static void default_table_path(const char *out, char *buf, size_t cap) {
    size_t n = strlen(out);
    if (n > 5 && !strcmp(out + n - 5, ".onnx"))
        n -= 5;
    snprintf(buf, cap, "%.*s.calib.json", (int)n, out);
}

static void report_nodes(const struct oq_graph *g, const struct oq_quant_plan *plan) {
    int q = 0, skipped = 0;
    for (int i = 0; i < g->n_nodes; i++)
        q += plan->node[i].quantize;
    printf("nodes: %d of %d marked for quantization", q, g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++)
        if (!plan->node[i].quantize && (!strcmp(g->nodes[i].op_type, "Conv") || !strcmp(g->nodes[i].op_type, "MatMul") ||
                                        !strcmp(g->nodes[i].op_type, "Gemm")))
            printf("%s%s", skipped++ ? ", " : "; left in float: ", g->nodes[i].name);
    printf("\n");
}

/* SmoothQuant (quant/smoothquant.h): one FP32 pass over --data, then the MatMul/Gemm weights and the producers of
 * their inputs are rescaled in place (the CLI owns the model); inserted Mul nodes join the config's skip list. */
static oq_status smooth(const struct cli_quant_opts *o, oq_model *m, struct oq_quant_config *cfg, oq_error *err) {
    if (cfg->mode == OQ_QUANT_WEIGHT_ONLY) {
        printf("smoothquant: not applied (weights-only mode keeps activations float; smoothing would only make the "
               "weights harder to quantize)\n");
        return OQ_OK;
    }
    if (!o->d.data)
        return oq_errorf(err, OQ_ERR_ARG, "%s: smoothquant measures activation ranges on calibration data; give "
                         "--data (also with --table), or drop --smoothquant", o->model);
    struct oq_data_source *src = NULL;
    OQ_TRY(cli_data_open(&o->d, m, 8, &src, err));
    struct oq_smoothquant_options so = {.alpha = cfg->smoothquant_alpha, .threads = o->threads,
                                        .fold_only = cfg->smoothquant_fold_only};
    struct oq_smoothquant_stats ss;
    double t0 = now_s();
    oq_status st = oq_smoothquant(m, cfg, &so, src, &ss, err);
    oq_data_close(src);
    if (st)
        return st;
    printf("smoothquant (alpha %.2f): %d MatMul/Gemm layers on %d inputs, %lld batches, %.1f s: %d folded into "
           "the producer, %d through an inserted float Mul; worst activation channel range (max/median) %.1f -> "
           "%.1f ('%s'); left alone: %d without a constant weight, %d not quantized, %d with a shared weight, "
           "%d of another shape, %d not seen, %d not foldable\n",
           (double)cfg->smoothquant_alpha, ss.layers, ss.groups, (long long)ss.batches, now_s() - t0, ss.folded,
           ss.inserted, ss.max_ratio_before, ss.max_ratio_after, ss.worst, ss.skip_no_weight,
           ss.skip_not_quantized, ss.skip_shared_weight, ss.skip_shape, ss.skip_not_seen, ss.skip_no_fold);
    return OQ_OK;
}

/* High-bias absorption (quant/equalize.h): one FP32 pass over --data on the equalized model, then Conv biases
 * are shifted in place (the CLI owns the model). */
static oq_status absorb_bias(const struct cli_quant_opts *o, oq_model *m, const struct oq_quant_config *cfg,
                             oq_error *err) {
    if (cfg->mode == OQ_QUANT_WEIGHT_ONLY) {
        printf("high-bias absorption: not applied (weights-only mode keeps activations float; it only narrows "
               "activation ranges)\n");
        return OQ_OK;
    }
    if (!o->d.data)
        return oq_errorf(err, OQ_ERR_ARG, "%s: high-bias absorption measures Conv output ranges on calibration "
                         "data; give --data (also with --table), or drop --absorb-bias (config key "
                         "equalize_absorb_bias)", o->model);
    struct oq_data_source *src = NULL;
    OQ_TRY(cli_data_open(&o->d, m, 8, &src, err));
    struct oq_absorb_bias_stats as;
    double t0 = now_s();
    oq_status st = oq_equalize_absorb_bias(m, src, o->threads, &as, err);
    oq_data_close(src);
    if (st)
        return st;
    printf("high-bias absorption: %d of %d Conv pairs, %d channels, %lld batches, %.1f s; largest |Conv1 bias| "
           "%.3g -> %.3g; output range %.3g -> %.3g ('%s'); %d biases created; left alone: %d whose next Conv "
           "pads, %d with a shared bias, %d not seen\n",
           as.absorbed_pairs, as.pairs, as.channels, (long long)as.batches, now_s() - t0, as.max_bias_before,
           as.max_bias_after, as.range_before, as.range_after, as.layer[0] ? as.layer : "-", as.created_biases,
           as.skip_padding, as.skip_shared_bias, as.skip_not_seen);
    return OQ_OK;
}

oq_status cli_quant_plan(const struct cli_quant_opts *o, oq_model **m, struct oq_quant_config **cfg,
                         struct oq_calibrator **cal, struct oq_quant_plan **plan, oq_error *err) {
    OQ_TRY(oq_model_load(o->model, m, err));
    if (o->config ? oq_quant_config_load(o->config, cfg, err) : !(*cfg = oq_quant_config_default()))
        return err && err->code ? err->code : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    OQ_TRY(apply_flags(o, *cfg, err));
    if ((*cfg)->equalize) { /* the CLI owns this model: its weights are rescaled before anything reads them */
        struct oq_equalize_stats es;
        OQ_TRY(oq_equalize((*m)->g, &es, err));
        printf("equalization: %d Conv pairs in %d sweeps; worst per-channel weight range spread %.1f -> %.1f\n",
               es.pairs, es.sweeps, es.max_ratio_before, es.max_ratio_after);
    }
    if ((*cfg)->equalize_absorb_bias) /* on the equalized biases, before smoothquant measures activations */
        OQ_TRY(absorb_bias(o, *m, *cfg, err));
    if ((*cfg)->smoothquant) /* after equalize: it measures the activations of the model as calibrated */
        OQ_TRY(smooth(o, *m, *cfg, err));
    if ((*cfg)->mode == OQ_QUANT_WEIGHT_ONLY)
        return oq_quant_plan_from_config(*m, *cfg, plan, err);
    if (o->table_in) {
        OQ_TRY(oq_quant_plan_from_config(*m, *cfg, plan, err));
        OQ_TRY(oq_calib_table_read(*m, o->table_in, *plan, err));
        printf("calibration: from table %s\n", o->table_in);
        return OQ_OK;
    }
    return calibrate(o, *m, *cfg, cal, plan, err);
}

/* Bias correction (quant/bias_correct.h): a second pass over the calibration data; *out gets the model's graph
 * with corrected biases. */
static oq_status bias_correct(const struct cli_quant_opts *o, const oq_model *m, const struct oq_quant_plan *plan,
                              struct oq_graph **out, oq_error *err) {
    struct oq_data_source *src = NULL;
    OQ_TRY(cli_data_open(&o->d, m, 8, &src, err));
    /* *out: AdaRound's graph when it ran (its weights are what gets quantized, so the biases are measured with
     * them), corrected in place */
    struct oq_graph *g = *out ? *out : oq_graph_clone(oq_model_graph(m), true);
    struct oq_qdq_options qo = oq_qdq_options_default();
    struct oq_bias_correct_stats bs;
    double t0 = now_s();
    oq_status st = g ? oq_bias_correct(m, g, plan, &qo, src, o->threads, &bs, err)
                     : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    oq_data_close(src);
    if (st) {
        if (g != *out)
            oq_graph_free(g);
        return st;
    }
    printf("bias correction: %d layers corrected over %lld batches in %.1f s (largest shift %.3g of the bias, "
           "'%s'); left alone: %d without a float bias or weight, %d with a shared bias, %d whose input was not "
           "seen\n", bs.corrected, (long long)bs.batches, now_s() - t0, bs.max_rel_shift, bs.max_layer, bs.no_bias,
           bs.shared_bias, bs.no_input);
    *out = g;
    return OQ_OK;
}

/* AdaRound (quant/adaround.h): FP32 passes over the calibration data; *out gets the model's graph with the
 * weights AdaRound rounded. Weights only: the same (weights are what it changes); needs --data. */
static oq_status adaround(const struct cli_quant_opts *o, const oq_model *m, const struct oq_quant_plan *plan,
                          struct oq_graph **out, oq_error *err) {
    if (!o->d.data)
        return oq_errorf(err, OQ_ERR_ARG, "%s: --adaround chooses each weight's rounding on calibration data; give "
                         "--data (also with --table), or drop --adaround", o->model);
    struct oq_data_source *src = NULL;
    OQ_TRY(cli_data_open(&o->d, m, 8, &src, err));
    struct oq_graph *g = oq_graph_clone(oq_model_graph(m), true);
    struct oq_qdq_options qo = oq_qdq_options_default(); /* what oq_quant_write_model uses */
    struct oq_adaround_options ao = oq_adaround_options_default();
    ao.threads = o->threads;
    if (o->adaround_iters > 0)
        ao.iters = o->adaround_iters;
    struct oq_adaround_stats as;
    oq_status st = g ? oq_adaround(m, g, plan, &qo, src, &ao, &as, err)
                     : oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    oq_data_close(src);
    if (st) {
        oq_graph_free(g);
        return st;
    }
    printf("adaround: %d layers rounded, %d kept nearest rounding (%d steps each; layer output error %.1f%% lower "
           "on average, at most %.1f%% '%s'); %lld batches in %d pass%s; %.1f s (%.1f s in FP32 passes); left "
           "alone: %d shared weights, %d computed weights, %d unsupported, %d too large, %d not run\n",
           as.rounded, as.kept_nearest, ao.iters, 100 * as.mean_rel_reduction, 100 * as.max_rel_reduction,
           as.max_layer, (long long)as.batches, as.passes, as.passes == 1 ? "" : "es", as.seconds,
           as.collect_seconds, as.skipped_shared, as.skipped_not_init, as.skipped_unsupported,
           as.skipped_too_large, as.no_input);
    *out = g;
    return OQ_OK;
}

int cmd_quantize(int argc, char **argv) {
    struct cli_quant_opts o;
    int rc = cli_quant_parse(argc, argv, "quantize", true, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    oq_error err = {0};
    oq_model *m = NULL;
    struct oq_quant_config *cfg = NULL;
    struct oq_calibrator *cal = NULL;
    struct oq_quant_plan *plan = NULL;
    struct oq_graph *bc_graph = NULL;
    double t0 = now_s();
    if (oq_quant_check_output(o.model, "-o", o.out, &err) ||
        (o.table_out && oq_quant_check_output(o.model, "--table-out", o.table_out, &err)))
        goto fail;
    if (cli_quant_plan(&o, &m, &cfg, &cal, &plan, &err))
        goto fail;
    report_nodes(oq_model_graph(m), plan);
    char table[4096] = "";
    if (cfg->mode != OQ_QUANT_WEIGHT_ONLY) {
        if (o.table_out)
            snprintf(table, sizeof(table), "%s", o.table_out);
        else
            default_table_path(o.out, table, sizeof(table));
    }
    /* AdaRound first: it changes the weights, and bias correction must measure the weights that get written */
    if (cfg->adaround && adaround(&o, m, plan, &bc_graph, &err))
        goto fail;
    if (cfg->bias_correction && cfg->mode != OQ_QUANT_WEIGHT_ONLY && bias_correct(&o, m, plan, &bc_graph, &err))
        goto fail;
    if (oq_quant_write_model(m, bc_graph, plan, cal, o.out, table[0] ? table : NULL, NULL, &err))
        goto fail;
    if (table[0])
        printf("calibration table: %s\n", table);
    long long a = file_size(o.model), b = file_size(o.out);
    printf("size: %.2f MiB -> %.2f MiB (%.2fx smaller)\n", (double)a / (1 << 20), (double)b / (1 << 20),
           b > 0 ? (double)a / (double)b : 0.0);
    printf("wrote %s (%s) in %.1f s\n", o.out, cfg->mode == OQ_QUANT_WEIGHT_ONLY ? "weights only" : "QDQ",
           now_s() - t0);
    rc = 0;
    goto done;
fail:
    rc = cli_fail(&err);
done:
    oq_graph_free(bc_graph);
    oq_quant_plan_free(plan);
    oq_calibrator_free(cal);
    oq_quant_config_free(cfg);
    oq_model_free(m);
    return rc;
}

/* onnxq config MODEL [--config FILE] [-o OUT.json]: the (default or given) config with every quantizable node
 * listed under "layers", ready to edit. */
int cmd_config(int argc, char **argv) {
    const char *model = NULL, *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            in = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: onnxq config MODEL [--config FILE] [-o OUT.json]\n"
                   "Writes the quantization config (default, or FILE checked against MODEL) with every node of a\n"
                   "quantized op type listed under \"layers\", to edit and pass to `onnxq quantize --config`.\n");
            return 0;
        } else if (argv[i][0] == '-')
            return fprintf(stderr, "onnxq config: unknown option '%s'\n", argv[i]), 2;
        else
            model = argv[i];
    }
    if (!model)
        return fprintf(stderr, "usage: onnxq config MODEL [--config FILE] [-o OUT.json]\n"), 2;
    oq_error err = {0};
    oq_model *m = NULL;
    struct oq_quant_config *cfg = NULL;
    int rc = 1;
    if (oq_model_load(model, &m, &err) ||
        (in ? oq_quant_config_load(in, &cfg, &err) : !(cfg = oq_quant_config_default())) ||
        oq_quant_config_validate(cfg, oq_model_graph(m), &err)) {
        rc = cli_fail(&err);
        goto done;
    }
    char *json = oq_quant_config_to_json(cfg, oq_model_graph(m));
    if (!json) {
        fprintf(stderr, "onnxq config: out of memory\n");
        goto done;
    }
    if (out) {
        size_t len = strlen(json);
        json[len] = '\n';
        rc = oq_write_file_atomic(out, json, len + 1, &err) ? cli_fail(&err) : 0;
        if (!rc)
            printf("wrote %s\n", out);
    } else {
        printf("%s\n", json);
        rc = 0;
    }
    free(json);
done:
    oq_quant_config_free(cfg);
    oq_model_free(m);
    return rc;
}
