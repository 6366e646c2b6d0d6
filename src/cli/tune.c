/* onnxq tune MODEL --data SPEC -o OUT.onnx [--max-loss PCT] [--eval CMD] [--int16] [quantize options]: search
 * a quantization config that meets an accuracy target, and say why at every step. The search is the library's
 * (analyse/tune.c; steps in include/onnxq/onnxq_analyse.h); this file brings the data, the metric command and
 * the files: OUT.onnx, the config that reproduces it (OUT.tune.json) and the report (OUT.tune.md).
 *
 * Metric: --eval CMD runs a command with the model path in place of {model} (appended when absent) and reads
 * the last number it prints (higher is better, e.g. accuracy); without --eval, the cosine similarity of the
 * model outputs to FP32 on the evaluation batches. loss = |metric - metric_fp32| / |metric_fp32| x 100. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/tune.h"
#include "cli/cli.h"
#include "core/status.h"
#include "onnx/onnx_io.h"

/* Run the user's command on a model file; its last number. */
static oq_status run_eval_cmd(void *user, const char *model, double *metric, oq_error *err) {
    const char *cmd = user;
    char line[8192];
    const char *ph = strstr(cmd, "{model}");
    if (ph)
        snprintf(line, sizeof(line), "%.*s'%s'%s", (int)(ph - cmd), cmd, model, ph + 7);
    else
        snprintf(line, sizeof(line), "%s '%s'", cmd, model);
    FILE *p = popen(line, "r");
    if (!p)
        return oq_errorf(err, OQ_ERR_IO, "--eval: cannot run '%s'", line);
    char buf[4096];
    bool found = false;
    while (fgets(buf, sizeof(buf), p)) {
        /* the last number of the output */
        for (char *s = buf; *s; s++) {
            char *e;
            double v = strtod(s, &e);
            if (e != s && (s == buf || s[-1] == ' ' || s[-1] == '\t' || s[-1] == '=' || s[-1] == ':')) {
                *metric = v;
                found = true;
                s = e - 1;
            }
        }
    }
    int rc = pclose(p);
    if (rc != 0)
        return oq_errorf(err, OQ_ERR_IO, "--eval command failed (status %d): %s", rc, line);
    if (!found || !isfinite(*metric))
        return oq_errorf(err, OQ_ERR_IO, "--eval command printed no number: %s", line);
    return OQ_OK;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: onnxq tune MODEL --data SPEC -o OUT.onnx [--max-loss PCT] [--eval CMD] [--int16] [options]\n"
            "Searches a config meeting the accuracy target: the starting config (quantize's flags/--config), then\n"
            "each activation algorithm globally (min_max, percentile, mse, kl_v2) with the starting and with\n"
            "per-channel weights, then the first and the last layer in float, then returns the shortest prefix of\n"
            "the layers ranked most sensitive to float (1, 2, 4, ... layers, then bisection) and quantizes each of\n"
            "them again where the target still holds; with --int16, int16 instead of float for those layers where\n"
            "the target still holds.\n"
            "  --max-loss PCT       target: loss = |metric - metric_fp32| / |metric_fp32| x 100 (default 1)\n"
            "  --eval CMD           metric command: {model} is replaced by a model path (else appended); the last\n"
            "                       number printed is the metric, higher is better (e.g. an accuracy). Default:\n"
            "                       cosine similarity of the outputs to FP32 on the evaluation batches\n"
            "  --eval-batches N     batches of --data used to rank layers and for the default metric (default 4)\n"
            "  --max-steps N        evaluations spent returning layers to float (and on --int16), at most (default 30)\n"
            "  --int16              try int16 activations and weights instead of float for the layers set aside\n"
            "  --time-budget S      stop returning layers after S seconds (default: none)\n"
            "  --config-out FILE    the tuned config (default OUT.onnx with .tune.json); OUT.tune.md is the report:\n"
            "                       the outcome, every layer left in float, every step\n"
            "  plus quantize's options (--config, --method, --per-tensor, --per-channel, --skip, --shape, ...)\n"
            "Exit status 0 when the target is met, 3 when not (the best model found is written anyway).\n");
}

static void print_line(void *user, const char *line) {
    (void)user;
    printf("%s\n", line);
}

int cmd_tune(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each step shows as it happens, also in a log file */
    oq_tune_options to = oq_tune_options_default();
    int eval_batches = 4;
    const char *eval_cmd = NULL, *cfg_out = NULL, *out = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && !strcmp(a, "--max-loss"))
            to.max_loss = atof(v), i++;
        else if (v && !strcmp(a, "--eval"))
            eval_cmd = v, i++;
        else if (v && !strcmp(a, "--eval-batches"))
            eval_batches = atoi(v), i++;
        else if (v && !strcmp(a, "--max-steps"))
            to.max_steps = atoi(v), i++;
        else if (v && !strcmp(a, "--time-budget"))
            to.time_budget = atof(v), i++;
        else if (v && !strcmp(a, "--config-out"))
            cfg_out = v, i++;
        else if (v && (!strcmp(a, "-o") || !strcmp(a, "--output")))
            out = v, i++;
        else if (!strcmp(a, "--int16"))
            to.try_int16 = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            free(rest);
            return usage(stdout), 0;
        } else
            rest[nrest++] = argv[i];
    }
    struct cli_quant_opts o;
    int rc = cli_quant_parse(nrest, rest, "tune", false, &o);
    free(rest);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!out || !o.d.data)
        return usage(stderr), 2;
    if (o.weights_only || o.table_in)
        return fprintf(stderr, "onnxq tune: --weights-only and --table are not supported (tune calibrates)\n"), 2;
    if (eval_batches < 1 || to.max_steps < 0 || !(to.max_loss >= 0))
        return fprintf(stderr, "onnxq tune: --eval-batches must be >= 1, --max-steps and --max-loss >= 0\n"), 2;
    char cfg_path[4096], md_path[4096];
    size_t ol = strlen(out);
    int stem = (int)(ol > 5 && !strcmp(out + ol - 5, ".onnx") ? ol - 5 : ol); /* OUT.onnx -> OUT.tune.json, .md */
    if (cfg_out)
        snprintf(cfg_path, sizeof(cfg_path), "%s", cfg_out);
    else
        snprintf(cfg_path, sizeof(cfg_path), "%.*s.tune.json", stem, out);
    snprintf(md_path, sizeof(md_path), "%.*s.tune.md", stem, out);
    to.metric = eval_cmd ? run_eval_cmd : NULL;
    to.metric_user = (void *)eval_cmd;
    to.log = print_line;
    to.model_path = o.model;
    oq_error err = {0};
    oq_model *m = NULL;
    struct oq_quant_config *cfg = NULL;
    struct oq_calibrator *cal = NULL;
    struct oq_quant_plan *plan = NULL;
    struct oq_data_source *src = NULL;
    struct oq_eval_set *es = NULL;
    struct oq_tune_out res = {0};
    o.keep_histograms = 1; /* every algorithm can then be planned from the one calibration */
    if (cli_quant_plan(&o, &m, &cfg, &cal, &plan, &err))
        goto fail;
    if (cfg->adaround || cfg->bias_correction) { /* they change weights / biases after calibration, per model */
        oq_errorf(&err, OQ_ERR_ARG, "tune measures each config without %s (it re-plans from one calibration); tune "
                  "first, then apply it to the result: onnxq quantize MODEL --config OUT.tune.json %s",
                  cfg->adaround ? "AdaRound" : "bias correction", cfg->adaround ? "--adaround" : "--bias-correction");
        goto fail;
    }
    struct cli_data ed = o.d;
    ed.batches = eval_batches;
    if (oq_eval_set_create(m, o.threads, &es, &err) || cli_data_open(&ed, m, eval_batches, &src, &err))
        goto fail;
    for (;;) {
        const oq_tensor_ref *batch;
        int count;
        if (oq_data_next(src, &batch, &count, &err))
            goto fail;
        if (count == 0)
            break;
        if (oq_eval_set_add(es, oq_model_num_inputs(m), batch, &err))
            goto fail;
    }
    if (oq_tune_search(m, cfg, cal, es, &to, out, &res, &err) ||
        oq_write_file_atomic(cfg_path, res.pub.config_json, strlen(res.pub.config_json), &err) ||
        oq_write_file_atomic(md_path, res.pub.report_md, strlen(res.pub.report_md), &err))
        goto fail;
    printf("wrote %s and %s (reproduce: onnxq quantize MODEL -o OUT --data ... --config %s)\n", cfg_path, md_path,
           cfg_path);
    rc = res.pub.target_met ? 0 : 3;
    goto done;
fail:
    rc = cli_fail(&err);
done:
    oq_tune_out_clear(&res);
    oq_data_close(src);
    oq_eval_set_free(es);
    oq_quant_plan_free(plan);
    oq_calibrator_free(cal);
    oq_quant_config_free(cfg);
    oq_model_free(m);
    return rc;
}
