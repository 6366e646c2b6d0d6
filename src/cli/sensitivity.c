/* onnxq sensitivity MODEL --data SPEC [quantize options]: calibrate once, then quantize one layer at a time
 * (all others float) and leave one layer in float at a time (all others quantized), and rank the layers by
 * how much they move the model's outputs (analyse/evalset.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyse/evalset.h"
#include "cli/cli.h"
#include "quant/calibrate.h"
#include "quant/config.h"

struct row {
    int node;
    double single, loo; /* output SQNR (dB) with only this node quantized / with only this node in float */
};

static int by_loo(const void *a, const void *b) { /* largest gain from leaving it float first */
    double x = ((const struct row *)a)->loo, y = ((const struct row *)b)->loo;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: onnxq sensitivity MODEL --data SPEC [--eval-batches N] [--top N] [--json FILE]\n"
               "       [quantize's options: --config, --method, --per-channel, --per-tensor, --bits, --skip, ...]\n"
               "Calibrates once, then for every quantized layer measures the model's output SQNR (dB, vs FP32, on\n"
               "the first N batches of --data, default 4) with only that layer quantized, and with only that\n"
               "layer left in float. Layers are ranked by the gain of leaving them in float: the first ones are\n"
               "those to skip (--skip) or to give more bits.\n");
}

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
    struct row *rows = NULL;
    bool *keep = NULL;
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
    const struct oq_graph *g = oq_model_graph(m);
    int nq = 0;
    keep = malloc(sizeof(bool) * (size_t)(g->n_nodes + 1));
    rows = calloc((size_t)g->n_nodes + 1, sizeof(*rows));
    if (!keep || !rows) {
        oq_errorf(&err, OQ_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        keep[i] = plan->node[i].quantize;
        if (keep[i])
            rows[nq++].node = i;
    }
    struct oq_eval_result full;
    if (oq_eval_plan(es, plan, &full, &err))
        goto fail;
    printf("%d layers quantized; all of them: output SQNR %.2f dB, cosine %.6f (%d eval batches)\n", nq,
           full.sqnr_db, full.cosine, oq_eval_set_batches(es));
    for (int r = 0; r < nq; r++) {
        int i = rows[r].node;
        struct oq_eval_result e;
        for (int k = 0; k < g->n_nodes; k++) /* only node i */
            plan->node[k].quantize = k == i;
        if (oq_eval_plan(es, plan, &e, &err))
            goto fail;
        rows[r].single = e.sqnr_db;
        for (int k = 0; k < g->n_nodes; k++) /* all but node i */
            plan->node[k].quantize = keep[k] && k != i;
        if (oq_eval_plan(es, plan, &e, &err))
            goto fail;
        rows[r].loo = e.sqnr_db - full.sqnr_db;
        if (!o.quiet && isatty(STDERR_FILENO))
            fprintf(stderr, "\r  %d/%d layers", r + 1, nq);
    }
    if (!o.quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    for (int k = 0; k < g->n_nodes; k++)
        plan->node[k].quantize = keep[k];
    qsort(rows, (size_t)nq, sizeof(*rows), by_loo);
    printf("%-4s %-40s %-14s %14s %16s\n", "rank", "node", "op", "float: +dB", "alone: SQNR dB");
    for (int r = 0; r < nq && r < top; r++) {
        const struct oq_node *n = &g->nodes[rows[r].node];
        printf("%-4d %-40s %-14s %+14.2f %16.2f\n", r + 1, n->name, n->op_type, rows[r].loo, rows[r].single);
    }
    printf("(float: +dB = output SQNR gained by leaving only this layer in float; alone = output SQNR with only this\n"
           " layer quantized; %.1f s)\n", now_s() - t0);
    if (json) {
        if (!(jf = fopen(json, "w"))) {
            fprintf(stderr, "onnxq sensitivity: cannot write '%s'\n", json);
            goto done;
        }
        fprintf(jf, "{\"full_sqnr_db\": %.6g, \"full_cosine\": %.9g, \"layers\": [\n", full.sqnr_db, full.cosine);
        for (int r = 0; r < nq; r++) {
            const struct oq_node *n = &g->nodes[rows[r].node];
            fprintf(jf, "  {\"node\": \"%s\", \"op\": \"%s\", \"float_gain_db\": %.6g, \"alone_sqnr_db\": %.6g}%s\n",
                    n->name, n->op_type, isfinite(rows[r].loo) ? rows[r].loo : 999.0,
                    isfinite(rows[r].single) ? rows[r].single : 999.0, r + 1 < nq ? "," : "");
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
    free(rows);
    free(keep);
    oq_data_close(src);
    oq_eval_set_free(es);
    oq_quant_plan_free(plan);
    oq_calibrator_free(cal);
    oq_quant_config_free(cfg);
    oq_model_free(m);
    return rc;
}
