/* GFLOP/s of every sgemm implementation at model shapes, on 1 and 2 pool threads, median of 5 runs, all
 * measured in this one run so the ratios are comparable. Also reports the process's thread count before
 * and after, to show that oneDNN's OpenMP does not add threads of its own (sgemm_dnnl.c).
 *
 *   bench_sgemm [reps]        (default 5; ONNXQ_BENCH_NO_REF=1 skips the slow reference) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dispatch.h"

struct shape {
    const char *what;
    int M, N, K;
};

static const struct shape shapes[] = {
    {"conv0 3x3 s1 @160x160 (3->16)", 16, 25600, 27},
    {"3x3 @80x80 (32->32)", 32, 6400, 288},
    {"1x1 @80x80 (32->64)", 64, 6400, 32},
    {"1x1 @40x40 (96->96)", 96, 1600, 96},
    {"3x3 @40x40 (112->120)", 120, 1600, 1008},
    {"1x1 @20x20 (480->480)", 480, 400, 480},
    {"rec [B*T,C]x[C,D] (200x120x96)", 200, 120, 96},
    {"attention 40x40x12", 40, 40, 12},
    {"tiny 16x256x16", 16, 256, 16},
};
enum { NSHAPES = sizeof(shapes) / sizeof(shapes[0]) };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int process_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = atoi(line + 8);
    if (f)
        fclose(f);
    return n;
}

/* median GFLOP/s of reps runs (one warm-up first); repeats small GEMMs so each timed run lasts >= 20 ms */
static double measure(const struct oq_kernels *k, oq_sgemm_fn fn, struct oq_pool *pool, const struct shape *s,
                      const float *A, const float *B, float *C, int reps) {
    double flop = 2.0 * s->M * s->N * s->K;
    int inner = (int)(2e7 / (flop > 1 ? flop : 1) * 20);
    inner = inner < 1 ? 1 : inner > 10000 ? 10000 : inner;
    fn(k, pool, false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N);
    double t[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < inner; i++)
            fn(k, pool, false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N);
        t[r] = (now() - t0) / inner;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_d);
    return flop / t[reps / 2] * 1e-9;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > 15)
        reps = 5;
    bool no_ref = getenv("ONNXQ_BENCH_NO_REF") != NULL;
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    k.sgemm_small = NULL; /* measure oneDNN itself on every shape, small ones included */
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    oq_error err = {0};
    struct oq_pool *pool2 = NULL;
    if (oq_pool_create(2, &pool2, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct {
        const char *name;
        oq_sgemm_fn fn;
    } impls[3];
    int ni = 0;
    if (!no_ref)
        impls[ni++].name = "ref", impls[ni - 1].fn = oq_sgemm_ref;
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq)
        impls[ni++].name = "avx512", impls[ni - 1].fn = oq_sgemm_avx512;
#if defined(ONNXQ_WITH_DNNL)
    impls[ni++].name = "dnnl", impls[ni - 1].fn = oq_sgemm_dnnl;
#endif
    int threads_before = process_threads();
    printf("session sgemm: %s; median of %d; GFLOP/s (1 thread / 2 threads)\n", k.sgemm_name, reps);
    printf("%-34s %5s %6s %5s", "shape", "M", "N", "K");
    for (int i = 0; i < ni; i++)
        printf("  %8s 1t/2t  ", impls[i].name);
    printf("\n");
    for (int s = 0; s < NSHAPES; s++) {
        const struct shape *sh = &shapes[s];
        float *A = malloc(sizeof(float) * (size_t)sh->M * sh->K), *B = malloc(sizeof(float) * (size_t)sh->K * sh->N);
        float *C = malloc(sizeof(float) * (size_t)sh->M * sh->N);
        for (int64_t i = 0; i < (int64_t)sh->M * sh->K; i++)
            A[i] = (float)((i * 7) % 13) * 0.1f - 0.6f;
        for (int64_t i = 0; i < (int64_t)sh->K * sh->N; i++)
            B[i] = (float)((i * 5) % 11) * 0.1f - 0.5f;
        printf("%-34s %5d %6d %5d", sh->what, sh->M, sh->N, sh->K);
        for (int i = 0; i < ni; i++) {
            bool is_ref = impls[i].fn == oq_sgemm_ref;
            double g1 = measure(&k, impls[i].fn, NULL, sh, A, B, C, is_ref ? 1 : reps);
            double g2 = is_ref ? 0 : measure(&k, impls[i].fn, pool2, sh, A, B, C, reps);
            printf("  %7.1f / %-7.1f", g1, g2);
        }
        printf("\n");
        fflush(stdout);
        free(A);
        free(B);
        free(C);
    }
    printf("process threads: %d before, %d after (pool of 2 = 1 worker + caller)\n", threads_before,
           process_threads());
    oq_pool_free(pool2);
    return 0;
}
