/* onnxq compare FP32_MODEL QUANT_MODEL --data SPEC [options]: per-layer FP32 vs quantized comparison
 * (analyse/compare.h), a table on stdout and optionally JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/compare.h"
#include "analyse/report.h"
#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: onnxq compare FP32_MODEL QUANT_MODEL --data SPEC [options]\n"
            "Runs both models on the same samples and compares every tensor the quantized model shares with the\n"
            "FP32 one (by name; for a quantized tensor, its QuantizeLinear -> DequantizeLinear output): cosine\n"
            "similarity, SQNR (dB), relative L2 error, max abs error, and the share of FP32 values the quantizer\n"
            "saturates. Layers under the cosine threshold are flagged.\n"
            "  --data SPEC --preprocess JSON --shape name=dims --batch-size N --batches N   as for quantize\n"
            "                       (random data: 4 batches by default)\n"
            "  --threshold C        flag layers with cosine < C (default 0.99)\n"
            "  --all                list every layer (default: the quantized ones and the flagged ones)\n"
            "  --split              also measure each layer's SQNR with only the weights quantized and with only the\n"
            "                       activations quantized (two more runs per batch): which half to fix\n"
            "  --json FILE          write every layer's figures as JSON\n"
            "  --report DIR         write DIR/report.md and DIR/report.html (charts per layer, histograms of the\n"
            "                       worst layers with their clipping thresholds)\n"
            "  --threads N          threads per session (0: all CPUs)\n");
}

static void json_num(FILE *f, const char *key, double v, const char *sep) {
    if (isfinite(v))
        fprintf(f, "\"%s\": %.9g%s", key, v, sep);
    else
        fprintf(f, "\"%s\": %s%s", key, isnan(v) ? "null" : v > 0 ? "\"inf\"" : "\"-inf\"", sep);
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const char *path, const struct oq_compare *c, double threshold) {
    FILE *f = fopen(path, "w");
    if (!f)
        return fprintf(stderr, "onnxq compare: cannot write '%s'\n", path), 1;
    fprintf(f, "{\"batches\": %lld, \"threshold\": %g, \"layers\": [\n", (long long)oq_compare_batches(c), threshold);
    for (int i = 0; i < oq_compare_num_layers(c); i++) {
        struct oq_compare_layer L;
        oq_compare_layer_at(c, i, &L);
        fprintf(f, "  {\"tensor\": ");
        json_str(f, L.tensor);
        fprintf(f, ", \"quant_tensor\": ");
        json_str(f, L.quant_tensor);
        fprintf(f, ", \"node\": ");
        json_str(f, L.node);
        fprintf(f, ", \"op\": ");
        json_str(f, L.op);
        fprintf(f, ", \"quantized\": %s, \"count\": %lld, ", L.quantized ? "true" : "false", (long long)L.count);
        json_num(f, "cosine", L.cosine, ", ");
        json_num(f, "sqnr_db", L.sqnr_db, ", ");
        json_num(f, "rel_l2", L.rel_l2, ", ");
        json_num(f, "max_abs", L.max_abs, ", ");
        json_num(f, "clipped", L.clipped, ", ");
        json_num(f, "q_lo", L.q_lo, ", ");
        json_num(f, "q_hi", L.q_hi, ", ");
        if (L.split) {
            json_num(f, "sqnr_weights_only_db", L.sqnr_weights_db, ", ");
            json_num(f, "sqnr_activations_only_db", L.sqnr_acts_db, ", ");
        }
        fprintf(f, "\"flagged\": %s}%s\n", L.cosine < threshold ? "true" : "false",
                i + 1 < oq_compare_num_layers(c) ? "," : "");
    }
    fprintf(f, "]}\n");
    return fclose(f) ? (fprintf(stderr, "onnxq compare: cannot write '%s'\n", path), 1) : 0;
}

int cmd_compare(int argc, char **argv) {
    const char *paths[2] = {NULL, NULL}, *json = NULL, *report = NULL;
    double threshold = 0.99;
    int threads = 0, all = 0, np = 0, split = 0;
    struct cli_data d;
    cli_data_init(&d);
    for (int i = 1; i < argc; i++) {
        int dr = cli_data_arg(&d, "compare", argc, argv, &i);
        if (dr < 0)
            return 2;
        if (dr > 0)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(stdout), 0;
        if (!strcmp(a, "--all")) {
            all = 1;
        } else if (!strcmp(a, "--split")) {
            split = 1;
        } else if ((!strcmp(a, "--threshold") || !strcmp(a, "--json") || !strcmp(a, "--threads") ||
                    !strcmp(a, "--report")) && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--report"))
                report = v;
            else if (!strcmp(a, "--threshold"))
                threshold = atof(v);
            else if (!strcmp(a, "--json"))
                json = v;
            else
                threads = atoi(v);
        } else if (a[0] == '-') {
            return fprintf(stderr, "onnxq compare: unknown option '%s' (or missing value)\n", a), 2;
        } else if (np < 2) {
            paths[np++] = a;
        } else {
            return fprintf(stderr, "onnxq compare: unexpected argument '%s'\n", a), 2;
        }
    }
    if (np < 2 || !d.data)
        return usage(stderr), 2;
    oq_error err = {0};
    oq_model *mf = NULL, *mq = NULL;
    struct oq_compare *c = NULL;
    struct oq_data_source *src = NULL;
    int rc = 1;
    if (oq_model_load(paths[0], &mf, &err) || oq_model_load(paths[1], &mq, &err) ||
        oq_compare_create(mf, mq, threads, split, &c, &err) || cli_data_open(&d, mf, 4, &src, &err)) {
        cli_fail(&err);
        goto done;
    }
    int64_t samples = 0;
    for (;;) {
        const oq_tensor_ref *batch;
        int count;
        if (oq_data_next(src, &batch, &count, &err) ||
            (count > 0 && oq_compare_feed(c, oq_model_num_inputs(mf), batch, &err))) {
            cli_fail(&err);
            goto done;
        }
        if (count == 0)
            break;
        samples += count;
    }
    if (samples == 0) {
        fprintf(stderr, "onnxq compare: %s gave no samples: nothing was compared\n", oq_data_describe(src));
        goto done;
    }
    printf("compared %s with %s on %lld samples (%lld batches) from %s\n", paths[0], paths[1], (long long)samples,
           (long long)oq_compare_batches(c), oq_data_describe(src));
    printf("%-44s %-18s %9s %9s %9s %10s %8s%s\n", "tensor", "op", "cosine", "SQNR dB", "rel L2", "max abs",
           "clipped", split ? "  w-only dB  a-only dB" : "");
    int flagged = 0, shown = 0, nq = 0;
    for (int i = 0; i < oq_compare_num_layers(c); i++) {
        struct oq_compare_layer L;
        oq_compare_layer_at(c, i, &L);
        bool flag = L.cosine < threshold;
        flagged += flag;
        nq += L.quantized;
        if (!all && !flag && !L.quantized)
            continue;
        shown++;
        printf("%-44s %-18s %9.5f %9.2f %9.5f %10.4g %7.3f%%", L.tensor, L.op, L.cosine, L.sqnr_db, L.rel_l2,
               L.max_abs, 100.0 * L.clipped);
        if (split)
            printf(" %10.2f %10.2f", L.sqnr_weights_db, L.sqnr_acts_db);
        printf("%s\n", flag ? "  <-- below threshold" : "");
    }
    printf("%d tensors matched (%d quantized), %d shown; %d below cosine %.4g\n", oq_compare_num_layers(c), nq,
           shown, flagged, threshold);
    rc = json ? write_json(json, c, threshold) : 0;
    if (!rc && report) {
        struct oq_report_info ri = {.fp32_path = paths[0], .quant_path = paths[1], .data = oq_data_describe(src),
                                    .samples = samples, .threshold = threshold};
        if (oq_report_write(c, &ri, report, &err))
            rc = cli_fail(&err);
        else
            printf("wrote %s/report.md and %s/report.html\n", report, report);
    }
done:
    oq_data_close(src);
    oq_compare_free(c);
    oq_model_free(mq);
    oq_model_free(mf);
    return rc;
}
