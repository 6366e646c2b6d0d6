/* Calibration algorithms compared on synthetic distributions: for each distribution and each algorithm, the
 * quantization MSE (QuantizeLinear -> DequantizeLinear over all the data, oq_quant_mse_f32) and the chosen
 * range; plus the observer's update throughput. Data are fed in batches as calibration does.
 *   bench_calib [n_values=2000000] [batches=20]
 * Not a test: prints one table per quantization scheme (int8 symmetric, uint8 asymmetric). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calib/observer.h"
#include "calib/qmath.h"
#include "calib/scale.h"

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double unif(uint64_t *s) { return ((rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double gauss(uint64_t *s) { return sqrt(-2 * log(unif(s))) * cos(6.283185307179586 * unif(s)); }

enum dist { D_GAUSS, D_LAPLACE, D_RELU, D_BIMODAL, D_OUTLIERS, D_T3, D_UNIFORM, D_SPARSE_RELU, D_COUNT };
static const char *dist_names[D_COUNT] = {"gaussian", "laplace", "relu(gauss)", "bimodal", "gauss+outliers",
                                          "student-t3", "uniform", "sparse relu"};

static float sample(enum dist d, uint64_t *s) {
    switch (d) {
    case D_GAUSS: return (float)gauss(s);
    case D_LAPLACE: { double u = unif(s) - 0.5; return (float)(-(u < 0 ? -1 : 1) * log(1 - 2 * fabs(u))); }
    case D_RELU: { double g = gauss(s); return (float)(g > 0 ? g : 0); }
    case D_BIMODAL: return (float)(unif(s) < 0.7 ? gauss(s) : 6 + gauss(s));
    case D_OUTLIERS: {
        if (unif(s) < 1e-4) return (float)((unif(s) < 0.5 ? -1 : 1) * (20 + 30 * unif(s)));
        return (float)gauss(s);
    }
    case D_T3: { double z = gauss(s), v = 0; for (int k = 0; k < 3; k++) { double g = gauss(s); v += g * g; }
                 return (float)(z / sqrt(v / 3)); }
    case D_UNIFORM: return (float)(2 * unif(s) - 1);
    case D_SPARSE_RELU: { double g = gauss(s) - 1.5; return (float)(g > 0 ? g : 0); } /* ~93% zeros */
    default: return 0;
    }
}

static const enum oq_calib_algo algos[] = {OQ_CALIB_ALGO_MIN_MAX, OQ_CALIB_ALGO_ABS_MAX,
    OQ_CALIB_ALGO_MOVING_AVERAGE_ABS_MAX, OQ_CALIB_ALGO_PERCENTILE, OQ_CALIB_ALGO_MSE, OQ_CALIB_ALGO_KL,
    OQ_CALIB_ALGO_KL_V2};
#define N_ALGOS (int)(sizeof(algos) / sizeof(algos[0]))

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? atoll(argv[1]) : 2000000;
    int batches = argc > 2 ? atoi(argv[2]) : 20;
    float *x = malloc((size_t)n * sizeof(float));
    struct { enum oq_dtype t; bool sym; const char *name; } schemes[] = {
        {OQ_DTYPE_INT8, true, "int8 symmetric"}, {OQ_DTYPE_UINT8, false, "uint8 asymmetric"}};
    double upd_time = 0, calc_time[N_ALGOS] = {0};
    int64_t upd_values = 0;
    for (int si = 0; si < 2; si++) {
        printf("\n## %s: quantization MSE (x1e-6) per algorithm, %lld values in %d batches; (ratio to mse)\n",
               schemes[si].name, (long long)n, batches);
        printf("%-15s", "distribution");
        for (int a = 0; a < N_ALGOS; a++)
            printf(" %20s", oq_calib_algo_name(algos[a]));
        printf("\n");
        for (int d = 0; d < D_COUNT; d++) {
            uint64_t seed = 1234 + d;
            for (int64_t i = 0; i < n; i++)
                x[i] = sample((enum dist)d, &seed);
            struct oq_calib_config cfg = oq_calib_config_default();
            cfg.qtype = schemes[si].t;
            cfg.symmetric = schemes[si].sym;
            oq_error err = {0};
            struct oq_observer *obs = NULL;
            if (oq_observer_create(dist_names[d], &cfg, &obs, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            int64_t per = (n + batches - 1) / batches;
            double t0 = now();
            for (int64_t b = 0; b < n; b += per)
                if (oq_observer_update(obs, x + b, n - b < per ? n - b : per, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            upd_time += now() - t0;
            upd_values += n;
            double mse_ref = 0, res[N_ALGOS];
            float thr[N_ALGOS][2];
            for (int a = 0; a < N_ALGOS; a++) {
                cfg.algo = algos[a];
                struct oq_calib_result r;
                double t1 = now();
                if (oq_calib_compute(obs, &cfg, &r, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
                calc_time[a] += now() - t1;
                res[a] = oq_quant_mse_f32(x, n, r.scale, r.zero_point, r.qtype);
                thr[a][0] = r.clip_lo;
                thr[a][1] = r.clip_hi;
                if (algos[a] == OQ_CALIB_ALGO_MSE)
                    mse_ref = res[a];
            }
            printf("%-15s", dist_names[d]);
            for (int a = 0; a < N_ALGOS; a++)
                printf(" %11.3f (%6.2fx)", res[a] * 1e6, res[a] / mse_ref);
            printf("\n%-15s", "  range");
            for (int a = 0; a < N_ALGOS; a++) {
                char b[32];
                snprintf(b, sizeof b, "[%.3g,%.3g]", thr[a][0], thr[a][1]);
                printf(" %20s", b);
            }
            printf("\n");
            oq_observer_free(obs);
        }
    }
    printf("\nobserver update: %.0f Mvalues/s (%lld values)\n", upd_values / upd_time * 1e-6, (long long)upd_values);
    printf("range computation per tensor (ms):");
    for (int a = 0; a < N_ALGOS; a++)
        printf(" %s %.2f", oq_calib_algo_name(algos[a]), calc_time[a] / (2 * D_COUNT) * 1e3);
    printf("\n");
    free(x);
    return 0;
}
