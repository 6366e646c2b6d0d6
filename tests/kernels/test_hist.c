/* Calibration statistics kernels (kernels/hist.h): every implementation the CPU runs equals the reference bit for
 * bit (min/max with their signed zeros, the non-finite flag, the zero count, and the summed sub-histograms) on
 * odd lengths, misaligned starts, values on and around bin edges, runs of one value, zeros of both signs, and
 * NaN/Inf anywhere; the reference against the definition. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hist.h"
#include "test_util.h"

static bool same_bits(float a, float b) { return !memcmp(&a, &b, sizeof(a)); }

static void fill(float *x, int64_t n, int kind, uint64_t *seed) {
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = test_rng_next(seed);
        switch (kind) {
        case 0: x[i] = test_rng_uniform(seed, -3.0f, 5.0f); break;          /* plain */
        case 1: x[i] = (r % 3 == 0) ? 0.0f : (r % 3 == 1 ? -0.0f : 1.5f); break; /* zeros and a run */
        case 2: x[i] = (float)((int)(r % 41) - 20) / 8.0f; break;           /* exactly on bin edges */
        default: x[i] = ldexpf(test_rng_uniform(seed, -1.0f, 1.0f), (int)(r % 60) - 40); break; /* wide exponents */
        }
    }
}

static void check_impl(const char *name, oq_hist_scan_fn scan, oq_hist_count_fn count, uint64_t seed) {
    const int64_t lens[] = {0, 1, 3, 4, 15, 16, 17, 31, 33, 64, 100, 257, 4095, 4096};
    const int H = 128, nb = 2 * H;
    for (size_t li = 0; li < sizeof(lens) / sizeof(*lens); li++)
        for (int kind = 0; kind < 4; kind++)
            for (int off = 0; off < 2; off++) {
                int64_t n = lens[li];
                float *buf = malloc(sizeof(float) * (size_t)(n + 2)), *x = buf + off;
                fill(x, n, kind, &seed);
                struct oq_block_stats a = scan(x, n), r = oq_hist_scan_ref(x, n);
                /* the definition */
                float mn = INFINITY, mx = -INFINITY;
                int64_t z = 0;
                for (int64_t i = 0; i < n; i++)
                    mn = fminf(mn, x[i]), mx = fmaxf(mx, x[i]), z += x[i] == 0.0f;
                CHECK_MSG(same_bits(a.mn, r.mn) && same_bits(a.mx, r.mx) && !a.bad == !r.bad && a.zeros == r.zeros,
                          "%s scan n=%lld kind=%d: (%g %g %u %lld) vs ref (%g %g %u %lld)", name, (long long)n, kind,
                          (double)a.mn, (double)a.mx, a.bad, (long long)a.zeros, (double)r.mn, (double)r.mx, r.bad,
                          (long long)r.zeros);
                CHECK_MSG(r.mn == mn && r.mx == mx && !r.bad && r.zeros == z, "ref scan wrong: n=%lld kind=%d",
                          (long long)n, kind);
                /* counting: range [-4, 4] so that kinds 0 and 3 also hit the clamps */
                float inv_w = (float)H / 4.0f;
                uint32_t *ca = calloc(OQ_HIST_NSUB * (size_t)nb, sizeof(uint32_t)),
                         *cr = calloc(OQ_HIST_NSUB * (size_t)nb, sizeof(uint32_t));
                count(x, n, inv_w, (float)H, (float)(nb - 1), ca, nb);
                oq_hist_count_ref(x, n, inv_w, (float)H, (float)(nb - 1), cr, nb);
                int64_t diff = 0, defn = 0, total = 0;
                for (int b = 0; b < nb; b++) {
                    uint64_t sa = 0, sr = 0;
                    for (int k = 0; k < OQ_HIST_NSUB; k++)
                        sa += ca[k * nb + b], sr += cr[k * nb + b];
                    diff += sa != sr;
                    total += (int64_t)sr;
                    int64_t want = 0; /* the definition: float multiply, float add, clamp, truncate */
                    for (int64_t i = 0; i < n; i++) {
                        volatile float f = x[i] * inv_w;
                        f = f + (float)H;
                        want += (int)(f < 0 ? 0 : f > (float)(nb - 1) ? (float)(nb - 1) : f) == b;
                    }
                    defn += want != (int64_t)sr;
                }
                CHECK_MSG(diff == 0 && defn == 0 && total == n, "%s count n=%lld kind=%d: %lld bins differ from ref, "
                          "ref differs from the definition in %lld, total %lld", name, (long long)n, kind,
                          (long long)diff, (long long)defn, (long long)total);
                /* a NaN or Inf anywhere sets the flag */
                if (n > 0) {
                    int64_t at = (int64_t)(test_rng_next(&seed) % (uint64_t)n);
                    float keep = x[at];
                    x[at] = (kind & 1) ? NAN : -INFINITY;
                    CHECK_MSG(scan(x, n).bad && oq_hist_scan_ref(x, n).bad, "%s: non-finite at %lld of %lld missed",
                              name, (long long)at, (long long)n);
                    x[at] = keep;
                }
                free(ca), free(cr), free(buf);
            }
}

int main(void) {
    struct oq_hist_kernels k;
    oq_hist_kernels_select(&k);
    printf("selected: %s\n", k.name);
    check_impl("ref", oq_hist_scan_ref, oq_hist_count_ref, 1);
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        check_impl("avx512", oq_hist_scan_avx512, oq_hist_count_avx512, 2);
    else
        printf("no AVX-512 here: only the reference checked\n");
#endif
    TEST_MAIN_END();
}
