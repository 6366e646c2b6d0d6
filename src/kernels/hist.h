/* Calibration statistics kernels (calib/observer.c): one block of a tensor, scanned for min/max/non-finite/zeros,
 * then counted into a histogram. The observer picks them once at creation (oq_hist_kernels_select), so
 * ONNXQ_KERNELS=ref forces the reference path as everywhere else.
 *
 *   scan   min and max (a NaN never replaces a finite value: `v < m ? v : m`), a non-finite flag, and the count
 *          of exact zeros (+0 and -0); LANES-wide lanes reduced in lane order, so every kernel gives the same
 *          bits, signed zeros included.
 *   count  for each x[i]: f = x[i] * inv_w + h in float (a rounded multiply, then a rounded add: never fused,
 *          these files build with -ffp-contract=off), clamped to [0, last], truncated to int; the count goes
 *          to sub-histogram i % 4 of c (4 interleaved histograms of `stride` uint32 counters, so that runs of
 *          one bin do not serialize on one counter). x must be finite (scan first). Kernels agree exactly on
 *          the sum of the four sub-histograms. */
#ifndef ONNXQ_KERNELS_HIST_H
#define ONNXQ_KERNELS_HIST_H

#include <stdint.h>

enum { OQ_HIST_LANES = 16, OQ_HIST_NSUB = 4 };

struct oq_block_stats {
    float mn, mx;
    uint32_t bad;  /* nonzero: the block holds NaN or +-Inf */
    int64_t zeros; /* exact zeros */
};

typedef struct oq_block_stats (*oq_hist_scan_fn)(const float *x, int64_t n);
typedef void (*oq_hist_count_fn)(const float *x, int64_t n, float inv_w, float h, float last, uint32_t *c,
                                 int64_t stride);

struct oq_hist_kernels {
    oq_hist_scan_fn scan;
    oq_hist_count_fn count;
    const char *name;
};

/* CPU features and ONNXQ_KERNELS (ref|avx2|avx512) decide. */
void oq_hist_kernels_select(struct oq_hist_kernels *k);

struct oq_block_stats oq_hist_scan_ref(const float *x, int64_t n);
void oq_hist_count_ref(const float *x, int64_t n, float inv_w, float h, float last, uint32_t *c, int64_t stride);
struct oq_block_stats oq_hist_scan_avx512(const float *x, int64_t n);
void oq_hist_count_avx512(const float *x, int64_t n, float inv_w, float h, float last, uint32_t *c,
                          int64_t stride);

#endif
