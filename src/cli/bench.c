/* onnxq bench MODEL [--compare OTHER] [--shape name=1x3x640x640]... [--threads N] [--runs R] [--warmup W]
 *                   [--kernels K] [--profile]
 * Times oq_session_run on seeded random inputs (U[-1,1) for float, 0 for integer inputs): median and p90
 * latency after warm-up, throughput, activation memory and peak RSS. One line of key=value per model for
 * scripts to parse. With --compare, both models get the same inputs, shapes and threads, and their runs
 * are interleaved (A, B, A, B, ...) so that machine noise (frequency changes, other processes) hits both
 * alike; a last line gives the ratio of the medians. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "exec/session.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One benchmarked model: its session, its inputs and the per-run times. */
struct bench_model {
    const char *path;
    oq_model *m;
    oq_session *s;
    int ni;
    oq_tensor_ref ins[16];
    double *t;               /* ms per timed run */
    int64_t *warm_runs;      /* per node profile counters after warm-up, subtracted so the profile */
    int64_t *warm_ns;        /* covers the timed runs only (the first run pays one-time costs) */
    double median, p90, min;
};

static void bench_close(struct bench_model *b) {
    for (int i = 0; i < b->ni; i++)
        free(b->ins[i].data);
    free(b->t);
    free(b->warm_runs);
    free(b->warm_ns);
    oq_session_free(b->s);
    oq_model_free(b->m);
}

/* Load, create the session and make the inputs; on failure prints the error (naming `role` and the file)
 * and returns the exit code. */
static int bench_open(struct bench_model *b, const char *path, const char *role, const oq_session_options *so,
                      const oq_tensor_ref *shapes, int nshapes, int runs) {
    oq_error err = {0};
    memset(b, 0, sizeof(*b));
    b->path = path;
    if (oq_model_load(path, &b->m, &err) || oq_session_create(b->m, so, &b->s, &err)) {
        const char *msg = err.msg[0] ? err.msg : oq_status_str(err.code);
        if (strstr(msg, path)) /* the message names the file already */
            fprintf(stderr, "onnxq bench: error: %s: %s\n", role, msg);
        else
            fprintf(stderr, "onnxq bench: error: %s '%s': %s\n", role, path, msg);
        return 1;
    }
    b->ni = oq_model_num_inputs(b->m);
    b->t = calloc((size_t)runs, sizeof(double));
    if (!b->t)
        return fprintf(stderr, "onnxq bench: out of memory\n"), 1;
    for (int i = 0; i < b->ni; i++) {
        oq_tensor_ref *in = &b->ins[i];
        oq_model_input(b->m, i, in);
        for (int k = 0; k < nshapes; k++)
            if ((shapes[k].name && !strcmp(shapes[k].name, in->name)) || (!shapes[k].name && b->ni == 1)) {
                in->ndim = shapes[k].ndim;
                memcpy(in->dims, shapes[k].dims, sizeof(in->dims));
            }
        int64_t n = 1;
        for (int d = 0; d < in->ndim; d++) {
            if (in->dims[d] < 0)
                return fprintf(stderr,
                               "onnxq bench: %s '%s': input '%s' has a symbolic dim %d; give --shape "
                               "%s=...\n",
                               role, path, in->name, d, in->name),
                       2;
            n *= in->dims[d];
        }
        size_t es = oq_dtype_size(in->dtype);
        in->data = calloc((size_t)n ? (size_t)n : 1, es ? es : 1);
        if (!in->data)
            return fprintf(stderr, "onnxq bench: out of memory for input '%s' of '%s'\n", in->name, path), 1;
        if (in->dtype == OQ_DTYPE_FLOAT) {
            /* fixed LCG seeded per input position: both models of --compare see the same data */
            uint32_t st = 12345u + (uint32_t)i;
            for (int64_t k = 0; k < n; k++) {
                st = st * 1664525u + 1013904223u;
                ((float *)in->data)[k] = (float)(st >> 8) / 8388608.0f - 1.0f;
            }
        }
    }
    return 0;
}

static int bench_run(struct bench_model *b, double *ms) {
    oq_error err = {0};
    double t0 = now_ms();
    if (oq_session_run(b->s, b->ni, b->ins, &err))
        return cli_fail(&err);
    if (ms)
        *ms = now_ms() - t0;
    return 0;
}

/* Remember the profile counters at the end of warm-up. */
static int bench_mark_warm(struct bench_model *b) {
    int nn = oq_session_num_nodes(b->s);
    b->warm_runs = calloc((size_t)nn + 1, sizeof(int64_t));
    b->warm_ns = calloc((size_t)nn + 1, sizeof(int64_t));
    if (!b->warm_runs || !b->warm_ns)
        return fprintf(stderr, "onnxq bench: out of memory\n"), 1;
    for (int i = 0; i < nn; i++)
        oq_session_node_profile(b->s, i, NULL, NULL, &b->warm_runs[i], &b->warm_ns[i]);
    return 0;
}

static void bench_stats(struct bench_model *b, int runs) {
    qsort(b->t, (size_t)runs, sizeof(double), cmp_double);
    b->median = runs % 2 ? b->t[runs / 2] : 0.5 * (b->t[runs / 2 - 1] + b->t[runs / 2]);
    b->p90 = b->t[(int)((runs - 1) * 0.9 + 0.5)];
    b->min = b->t[0];
}

static void bench_print(const struct bench_model *b, int threads) {
    struct rusage ru;
    size_t arena = 0, peak_live = 0;
    getrusage(RUSAGE_SELF, &ru);
    oq_session_memory(b->s, &arena, &peak_live);
    int64_t batch = b->ni > 0 && b->ins[0].ndim > 0 ? b->ins[0].dims[0] : 1;
    /* peak_rss is the whole process's (both models with --compare); arena/peak_live are this session's */
    printf("model=%s threads=%d median_ms=%.3f p90_ms=%.3f min_ms=%.3f throughput_per_s=%.2f gmacs=%.3f "
           "arena_mib=%.1f peak_live_mib=%.1f peak_rss_mib=%.1f\n",
           b->path, threads, b->median, b->p90, b->min, 1000.0 * (double)batch / b->median,
           (double)oq_session_macs(b->s) / 1e9, (double)arena / 1048576.0, (double)peak_live / 1048576.0,
           (double)ru.ru_maxrss / 1024.0);
}

struct op_time {
    const char *op;
    int64_t ns, macs;
    int nodes;
};

static int by_time(const void *a, const void *b) {
    const struct op_time *x = a, *y = b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

/* Lowered integer ops are named Q<Op> (exec/lower_qdq.h): those with MACs are the INT8 Conv/MatMul work. */
static int op_is_int8(const char *op) { return op[0] == 'Q' && op[1] >= 'A' && op[1] <= 'Z'; }

/* Time per op type over the timed runs, largest first; for op types that do multiply-accumulates, GMAC
 * per run and GOP/s (2 * MACs / time). Then one key=value line per class of MAC ops (int8: QConv/QMatMul,
 * float: Conv/FusedConv/MatMul/Gemm/...) with its share of the node time, for scripts. */
static void print_profile(const struct bench_model *b, int compare) {
    int nn = oq_session_num_nodes(b->s), nt = 0;
    struct op_time *t = calloc((size_t)nn + 1, sizeof(*t));
    struct op_time cls[2] = {{.op = "float"}, {.op = "int8"}};
    char names[2][256] = {"", ""};
    int64_t total = 0, runs = 1;
    if (!t)
        return;
    for (int i = 0; i < nn; i++) {
        const char *op;
        int64_t r, ns;
        oq_session_node_profile(b->s, i, NULL, &op, &r, &ns);
        r -= b->warm_runs[i];
        ns -= b->warm_ns[i];
        if (r == 0)
            continue;
        runs = r;
        int k = 0;
        while (k < nt && strcmp(t[k].op, op))
            k++;
        if (k == nt)
            t[nt++].op = op;
        int64_t macs = oq_session_node_macs(b->s, i);
        t[k].ns += ns;
        t[k].macs += macs;
        t[k].nodes++;
        total += ns;
        if (macs > 0) {
            struct op_time *c = &cls[op_is_int8(op)];
            c->ns += ns;
            c->macs += macs;
            c->nodes++;
        }
    }
    qsort(t, (size_t)nt, sizeof(*t), by_time);
    printf("profile%s%s (per run, over %lld timed runs, warm-up excluded; nodes %.3f ms):\n",
           compare ? " " : "", compare ? b->path : "", (long long)runs, (double)total / 1e6 / (double)runs);
    for (int k = 0; k < nt; k++) {
        double ms = (double)t[k].ns / 1e6 / (double)runs;
        printf("  %-20s %4d nodes %9.3f ms %5.1f%%", t[k].op, t[k].nodes, ms,
               100.0 * (double)t[k].ns / (double)(total ? total : 1));
        if (t[k].macs > 0) {
            /* macs are per run, ns summed over `runs` runs */
            printf(" %8.3f GMAC %8.1f GOP/s", (double)t[k].macs / 1e9,
                   2.0 * (double)t[k].macs * (double)runs / (double)(t[k].ns ? t[k].ns : 1));
            char *nm = names[op_is_int8(t[k].op)];
            size_t l = strlen(nm);
            snprintf(nm + l, sizeof(names[0]) - l, "%s%s", l ? "," : "", t[k].op);
        }
        printf("\n");
    }
    for (int c = 1; c >= 0; c--) {
        if (!cls[c].nodes)
            continue;
        printf("  gops kind=%s ops=%s nodes=%d ms=%.3f share_pct=%.1f gmac=%.3f gops=%.1f\n", cls[c].op,
               names[c], cls[c].nodes, (double)cls[c].ns / 1e6 / (double)runs,
               100.0 * (double)cls[c].ns / (double)(total ? total : 1), (double)cls[c].macs / 1e9,
               2.0 * (double)cls[c].macs * (double)runs / (double)(cls[c].ns ? cls[c].ns : 1));
    }
    free(t);
}

#define BENCH_USAGE                                                                                 \
    "usage: onnxq bench MODEL [--compare OTHER_MODEL] [--shape name=1x3x640x640]... [--threads N]\n" \
    "       [--runs R] [--warmup W] [--kernels ref|avx2|avx512] [--profile]\n"

static void bench_help(void) {
    printf(BENCH_USAGE
        "\n"
        "Times MODEL on seeded random inputs: median, p90 and min latency over R runs (default 20) after W\n"
        "warm-up runs (default 3), throughput (batch = first input's dim 0), GMAC, the session's activation\n"
        "arena and peak live bytes, and the process's peak RSS. One key=value line per model.\n"
        "\n"
        "  --compare OTHER_MODEL  also bench OTHER_MODEL with the same inputs, shapes and threads, its runs\n"
        "                         interleaved with MODEL's (A, B, A, B, ... after warm-up of both) so noise\n"
        "                         hits both alike; ends with 'ratio (OTHER/MODEL median): X.XXx'\n"
        "                         (> 1: MODEL is faster). E.g. det.int8.onnx --compare det.onnx\n"
        "  --shape name=dims      input shape (name may be omitted for a single-input model); needed for\n"
        "                         symbolic dims\n"
        "  --threads N            threads per session (0: all online CPUs)\n"
        "  --kernels K            force a kernel level (ref is the portable oracle)\n"
        "  --profile              time per op type over the timed runs; GMAC and GOP/s (2*MACs/time) for\n"
        "                         Conv/MatMul-like ops, and a 'gops kind=int8|float' line per class\n");
}

int cmd_bench(int argc, char **argv) {
    const char *path = NULL, *other = NULL;
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
        } else if (!strcmp(argv[i], "--compare") && i + 1 < argc) {
            other = argv[++i];
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
            bench_help();
            return 0;
        } else if (argv[i][0] == '-') {
            return fprintf(stderr, "onnxq bench: unknown option '%s' (or missing value)\n", argv[i]), 2;
        } else {
            path = argv[i];
        }
    }
    if (!path || runs < 1)
        return fprintf(stderr, BENCH_USAGE), 2;
    so.check_nan = 0; /* not part of what we time */

    /* Both models are loaded before anything is timed, so a bad --compare path fails fast. */
    struct bench_model bm[2];
    int nm = other ? 2 : 1, rc;
    memset(bm, 0, sizeof(bm));
    rc = bench_open(&bm[0], path, "model", &so, shapes, nshapes, runs);
    if (!rc && other)
        rc = bench_open(&bm[1], other, "--compare model", &so, shapes, nshapes, runs);
    for (int k = 0; k < nm && !rc; k++)
        for (int r = 0; r < warmup && !rc; r++)
            rc = bench_run(&bm[k], NULL);
    for (int k = 0; k < nm && !rc; k++)
        rc = bench_mark_warm(&bm[k]);
    for (int r = 0; r < runs && !rc; r++)
        for (int k = 0; k < nm && !rc; k++)
            rc = bench_run(&bm[k], &bm[k].t[r]);
    if (!rc) {
        for (int k = 0; k < nm; k++) {
            bench_stats(&bm[k], runs);
            bench_print(&bm[k], so.num_threads);
        }
        if (other)
            printf("ratio (OTHER/MODEL median): %.2fx\n", bm[1].median / bm[0].median);
        for (int k = 0; k < nm && so.profile; k++)
            print_profile(&bm[k], other != NULL);
    }
    for (int k = 0; k < nm; k++)
        bench_close(&bm[k]);
    return rc;
}
