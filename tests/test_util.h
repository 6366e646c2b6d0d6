/* Minimal test harness: CHECK records a failure with file:line and keeps going; TEST_MAIN_END prints the
 * count and returns nonzero on any failure, so CTest sees it. */
#ifndef ONNXQ_TEST_UTIL_H
#define ONNXQ_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int g_test_failures = 0;
static int g_test_checks = 0;

#define CHECK(cond)                                                                                     \
    do {                                                                                                \
        g_test_checks++;                                                                                \
        if (!(cond)) {                                                                                  \
            g_test_failures++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                                               \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                            \
    do {                                                                                                \
        g_test_checks++;                                                                                \
        if (!(cond)) {                                                                                  \
            g_test_failures++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                               \
            fprintf(stderr, "\n");                                                                      \
        }                                                                                               \
    } while (0)

#define CHECK_OK(expr, errp)                                                                            \
    do {                                                                                                \
        g_test_checks++;                                                                                \
        oq_status st_ = (expr);                                                                         \
        const oq_error *e_ = (errp);                                                                    \
        if (st_ != OQ_OK) {                                                                             \
            g_test_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr, oq_status_str(st_), \
                    e_ ? e_->msg : "");                                                                 \
        }                                                                                               \
    } while (0)

#define TEST_MAIN_END()                                                                                 \
    do {                                                                                                \
        printf("%d checks, %d failed\n", g_test_checks, g_test_failures);                              \
        return g_test_failures ? 1 : 0;                                                                 \
    } while (0)

/* Deterministic PRNG (splitmix64) for test data. */
static inline uint64_t test_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline float test_rng_uniform(uint64_t *s, float lo, float hi) {
    return lo + (hi - lo) * (float)((test_rng_next(s) >> 40) * (1.0 / 16777216.0));
}

/* Normalized mean squared error of got vs ref. */
static inline double test_nmse(const float *got, const float *ref, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

#endif
