/* onnxq bench MODEL [--shape name=1x3x640x640]... [--threads N] [--runs R] [--warmup W] [--kernels K]
 * Times oq_session_run on seeded random inputs (U[-1,1) for float, 0 for integer inputs): median and p90
 * latency after warm-up, throughput, peak RSS. One line of key=value per model for scripts to parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct op_time {
    const char *op;
    int64_t ns;
    int nodes;
};

static int by_time(const void *a, const void *b) {
    const struct op_time *x = a, *y = b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

/* Time per op type over all timed runs (warm-up included), largest first. */
static void print_profile(const oq_session *s) {
    int nn = oq_session_num_nodes(s), nt = 0;
    struct op_time *t = calloc((size_t)nn + 1, sizeof(*t));
    int64_t total = 0, runs = 1;
    for (int i = 0; t && i < nn; i++) {
        const char *op;
        int64_t r, ns;
        oq_session_node_profile(s, i, NULL, &op, &r, &ns);
        if (r == 0)
            continue;
        runs = r;
        int k = 0;
        while (k < nt && strcmp(t[k].op, op))
            k++;
        if (k == nt)
            t[nt++].op = op;
        t[k].ns += ns;
        t[k].nodes++;
        total += ns;
    }
    if (!t)
        return;
    qsort(t, (size_t)nt, sizeof(*t), by_time);
    printf("profile (per run, over %lld runs):\n", (long long)runs);
    for (int k = 0; k < nt; k++)
        printf("  %-20s %4d nodes %9.3f ms %5.1f%%\n", t[k].op, t[k].nodes, (double)t[k].ns / 1e6 / (double)runs,
               100.0 * (double)t[k].ns / (double)(total ? total : 1));
    free(t);
}

int cmd_bench(int argc, char **argv) {
    const char *path = NULL;
    oq_tensor_ref shapes[16];
    char names[16][256];
    int nshapes = 0, runs = 20, warmup = 3;
    oq_session_options so = oq_session_options_default();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            if (nshapes == 16)
                return fprintf(stderr, "onnxq bench: too many --shape\n"), 2;
            oq_tensor_ref *r = &shapes[nshapes];
            memset(r, 0, sizeof(*r));
            if (cli_parse_shape(argv[++i], names[nshapes], sizeof(names[0]), &r->ndim, r->dims))
                return fprintf(stderr, "onnxq bench: bad --shape '%s'\n", argv[i]), 2;
            r->name = names[nshapes][0] ? names[nshapes] : NULL;
            nshapes++;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            so.num_threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--profile")) {
            so.profile = 1;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
            warmup = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--kernels") && i + 1 < argc) {
            const char *k = argv[++i];
            so.kernels = !strcmp(k, "ref") ? OQ_KERNELS_REF : !strcmp(k, "avx2") ? OQ_KERNELS_AVX2
                         : !strcmp(k, "avx512") ? OQ_KERNELS_AVX512 : OQ_KERNELS_AUTO;
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: onnxq bench MODEL [--shape name=1x3x640x640]... [--threads N] [--runs R] [--warmup W]\n"
                   "       [--kernels ref|avx2|avx512] [--profile]\n");
            return 0;
        } else if (argv[i][0] == '-') {
            return fprintf(stderr, "onnxq bench: unknown option '%s'\n", argv[i]), 2;
        } else {
            path = argv[i];
        }
    }
    if (!path || runs < 1)
        return fprintf(stderr, "usage: onnxq bench MODEL [--shape name=1x3x640x640]... [--threads N]\n"), 2;
    so.check_nan = 0; /* not part of what we time */
    oq_error err = {0};
    oq_model *m = NULL;
    oq_session *s = NULL;
    if (oq_model_load(path, &m, &err) || oq_session_create(m, &so, &s, &err)) {
        oq_session_free(s);
        oq_model_free(m);
        return cli_fail(&err);
    }
    int ni = oq_model_num_inputs(m), rc = 1;
    oq_tensor_ref ins[16];
    double *t = calloc((size_t)runs, sizeof(double));
    memset(ins, 0, sizeof(ins));
    for (int i = 0; i < ni && i < 16; i++) {
        oq_model_input(m, i, &ins[i]);
        for (int k = 0; k < nshapes; k++)
            if ((shapes[k].name && !strcmp(shapes[k].name, ins[i].name)) || (!shapes[k].name && ni == 1)) {
                ins[i].ndim = shapes[k].ndim;
                memcpy(ins[i].dims, shapes[k].dims, sizeof(ins[i].dims));
            }
        int64_t n = 1;
        for (int d = 0; d < ins[i].ndim; d++) {
            if (ins[i].dims[d] < 0) {
                fprintf(stderr, "onnxq bench: input '%s' has a symbolic dim %d; give --shape %s=...\n", ins[i].name,
                        d, ins[i].name);
                goto done;
            }
            n *= ins[i].dims[d];
        }
        size_t es = oq_dtype_size(ins[i].dtype);
        ins[i].data = calloc((size_t)n ? (size_t)n : 1, es ? es : 1);
        if (ins[i].dtype == OQ_DTYPE_FLOAT) {
            uint32_t st = 12345u + (uint32_t)i;
            for (int64_t k = 0; k < n; k++) {
                st = st * 1664525u + 1013904223u;
                ((float *)ins[i].data)[k] = (float)(st >> 8) / 8388608.0f - 1.0f;
            }
        }
    }
    for (int r = 0; r < warmup; r++)
        if (oq_session_run(s, ni, ins, &err)) {
            rc = cli_fail(&err);
            goto done;
        }
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        if (oq_session_run(s, ni, ins, &err)) {
            rc = cli_fail(&err);
            goto done;
        }
        t[r] = now_ms() - t0;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    double p90 = t[(int)((runs - 1) * 0.9 + 0.5)];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int64_t batch = ni > 0 && ins[0].ndim > 0 ? ins[0].dims[0] : 1;
    printf("model=%s threads=%d median_ms=%.3f p90_ms=%.3f min_ms=%.3f throughput_per_s=%.2f gmacs=%.3f "
           "peak_rss_mib=%.1f\n",
           path, so.num_threads, med, p90, t[0], 1000.0 * (double)batch / med, (double)oq_session_macs(s) / 1e9,
           (double)ru.ru_maxrss / 1024.0);
    if (so.profile)
        print_profile(s);
    rc = 0;
done:
    for (int i = 0; i < ni && i < 16; i++)
        free(ins[i].data);
    free(t);
    oq_session_free(s);
    oq_model_free(m);
    return rc;
}
