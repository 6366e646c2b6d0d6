/* onnxq sensitivity MODEL --data SPEC [quantize options]: calibrate once, then quantize one layer at a time
 * (all others float) and leave one layer in float at a time (all others quantized), and rank the layers by
 * how much they move the model's outputs (analyse/evalset.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyse/tune.h"
#include "cli/cli.h"
#include "quant/calibrate.h"
#include "quant/config.h"

static void usage(FILE *f) {
    fprintf(f, "usage: onnxq sensitivity MODEL --data SPEC [--eval-batches N] [--top N] [--json FILE]\n"
               "       [quantize's options: --config, --method, --per-channel, --per-tensor, --bits, --skip, ...]\n"
               "Calibrates once, then for every quantized layer measures the model's output SQNR (dB, vs FP32, on\n"
               "the first N batches of --data, default 4) with only that layer quantized, and with only that\n"
               "layer left in float. Layers are ranked by the gain of leaving them in float: the first ones are\n"
               "those to skip (--skip) or to give more bits.\n");
}

static void progress(int done, int total) { fprintf(stderr, "\r  %d/%d layers", done, total); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_sensitivity(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each step shows as it happens, also in a log file */
    int eval_batches = 4, top = 20;
    const char *json = NULL;
    /* take our own options out, pass the rest to quantize's parser */
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return fprintf(stderr, "onnxq sensitivity: out of memory\n"), 1;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--eval-batches") || !strcmp(argv[i], "--top") || !strcmp(argv[i], "--json")) &&
            i + 1 < argc) {
            if (!strcmp(argv[i], "--json"))
                json = argv[i + 1];
            else
                *(!strcmp(argv[i], "--top") ? &top : &eval_batches) = atoi(argv[i + 1]);
            i++;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            free(rest);
            return usage(stdout), 0;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    struct cli_quant_opts o;
    int rc = cli_quant_parse(nrest, rest, "sensitivity", false, &o);
    free(rest);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!o.d.data)
        return fprintf(stderr, "onnxq sensitivity: --data is needed (calibration and evaluation samples)\n"), 2;
    if (eval_batches < 1)
        return fprintf(stderr, "onnxq sensitivity: --eval-batches must be >= 1\n"), 2;
    oq_error err = {0};
    oq_model *m = NULL;
    struct oq_quant_config *cfg = NULL;
    struct oq_calibrator *cal = NULL;
    struct oq_quant_plan *plan = NULL;
    struct oq_eval_set *es = NULL;
    struct oq_data_source *src = NULL;
    struct oq_sens_out sens = {0};
    FILE *jf = NULL;
    rc = 1;
    double t0 = now_s();
    if (cli_quant_plan(&o, &m, &cfg, &cal, &plan, &err))
        goto fail;
    if (plan->mode != OQ_QUANT_STATIC) {
        fprintf(stderr, "onnxq sensitivity: weight-only mode is not supported\n");
        goto done;
    }
    /* evaluation samples: the first batches of the same data */
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
    struct oq_sens_options so = {.alone = true, .progress = o.quiet || !isatty(STDERR_FILENO) ? NULL : progress};
    if (oq_sensitivity_measure(m, cal, es, &so, &sens, &err))
        goto fail;
    const oq_sensitivity *S = &sens.pub;
    int nq = S->n_layers;
    if (!o.quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    printf("%d layers quantized; all of them: output SQNR %.2f dB, cosine %.6f (%d eval batches)\n", nq, S->sqnr_db,
           S->cosine, oq_eval_set_batches(es));
    printf("%-4s %-40s %-14s %14s %16s\n", "rank", "node", "op", "float: +dB", "alone: SQNR dB");
    for (int r = 0; r < nq && r < top; r++)
        printf("%-4d %-40s %-14s %+14.2f %16.2f\n", r + 1, S->layers[r].node, S->layers[r].op,
               S->layers[r].float_gain_db, S->layers[r].alone_sqnr_db);
    printf("(float: +dB = output SQNR gained by leaving only this layer in float; alone = output SQNR with only this\n"
           " layer quantized; %.1f s)\n", now_s() - t0);
    if (json) {
        if (!(jf = fopen(json, "w"))) {
            fprintf(stderr, "onnxq sensitivity: cannot write '%s'\n", json);
            goto done;
        }
        fprintf(jf, "{\"full_sqnr_db\": %.6g, \"full_cosine\": %.9g, \"layers\": [\n", S->sqnr_db, S->cosine);
        for (int r = 0; r < nq; r++) {
            const oq_sensitivity_layer *L = &S->layers[r];
            fprintf(jf, "  {\"node\": \"%s\", \"op\": \"%s\", \"float_gain_db\": %.6g, \"alone_sqnr_db\": %.6g}%s\n",
                    L->node, L->op, isfinite(L->float_gain_db) ? L->float_gain_db : 999.0,
                    isfinite(L->alone_sqnr_db) ? L->alone_sqnr_db : 999.0, r + 1 < nq ? "," : "");
        }
        fprintf(jf, "]}\n");
        if (fclose(jf)) {
            jf = NULL;
            fprintf(stderr, "onnxq sensitivity: cannot write '%s'\n", json);
            goto done;
        }
        jf = NULL;
    }
    rc = 0;
    goto done;
fail:
    rc = cli_fail(&err);
done:
    if (jf)
        fclose(jf);
    oq_sens_out_clear(&sens);
    oq_data_close(src);
    oq_eval_set_free(es);
    oq_quant_plan_free(plan);
    oq_calibrator_free(cal);
    oq_quant_config_free(cfg);
    oq_model_free(m);
    return rc;
}
