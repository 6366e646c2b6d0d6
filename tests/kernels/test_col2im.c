/* oq_col2im_rows vs oq_col2im_ref: bit-identical on odd and random geometries and position ranges. */
#include <string.h>

#include "kernels/conv.h"
#include "test_util.h"

static void check_one(uint64_t *seed, int64_t ch, int64_t in_h, int64_t in_w, int kh, int kw, int sh, int sw,
                      int pt, int pl, int dh, int dw) {
    struct oq_conv2d_geom g = {.in_h = in_h, .in_w = in_w, .k_h = kh, .k_w = kw, .stride_h = sh,
                               .stride_w = sw, .pad_t = pt, .pad_l = pl, .dil_h = dh, .dil_w = dw};
    g.out_h = (in_h + 2 * pt - dh * (kh - 1) - 1) / sh + 1;
    g.out_w = (in_w + 2 * pl - dw * (kw - 1) - 1) / sw + 1;
    if (g.out_h < 1 || g.out_w < 1)
        return;
    int64_t np = g.out_h * g.out_w;
    int64_t p0 = (int64_t)(test_rng_next(seed) % (uint64_t)np);
    int64_t p1 = p0 + 1 + (int64_t)(test_rng_next(seed) % (uint64_t)(np - p0));
    int64_t ldc = p1 - p0 + (int64_t)(test_rng_next(seed) % 3);
    int64_t rows = ch * kh * kw, img_n = ch * in_h * in_w;
    float *col = malloc(sizeof(float) * (size_t)(rows * ldc));
    float *a = malloc(sizeof(float) * (size_t)img_n), *b = malloc(sizeof(float) * (size_t)img_n);
    for (int64_t i = 0; i < rows * ldc; i++)
        col[i] = test_rng_uniform(seed, -1, 1);
    for (int64_t i = 0; i < img_n; i++)
        a[i] = b[i] = test_rng_uniform(seed, -1, 1);
    oq_col2im_ref(&g, ch, col, p0, p1, ldc, a);
    oq_col2im_rows(&g, ch, col, p0, p1, ldc, b);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < img_n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) {
            bad++;
            if (first < 0)
                first = i;
        }
    CHECK_MSG(bad == 0,
              "col2im/rows C=%lld in=%lldx%lld k=%dx%d s=%dx%d p=%d,%d d=%dx%d [%lld,%lld): first mismatch at "
              "%lld: got %g ref %g (%lld of %lld differ)",
              (long long)ch, (long long)in_h, (long long)in_w, kh, kw, sh, sw, pt, pl, dh, dw, (long long)p0,
              (long long)p1, (long long)first, first >= 0 ? b[first] : 0, first >= 0 ? a[first] : 0,
              (long long)bad, (long long)img_n);
    free(col);
    free(a);
    free(b);
}

int main(void) {
    uint64_t seed = 42;
    static const int sizes[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++)
            check_one(&seed, 1 + (int64_t)(i % 3), sizes[i], sizes[j], 2, 2, 2, 2, 0, 0, 1, 1);
    for (int t = 0; t < 400; t++) {
        int kh = 1 + (int)(test_rng_next(&seed) % 5), kw = 1 + (int)(test_rng_next(&seed) % 5);
        int sh = 1 + (int)(test_rng_next(&seed) % 3), sw = 1 + (int)(test_rng_next(&seed) % 3);
        int dh = 1 + (int)(test_rng_next(&seed) % 2), dw = 1 + (int)(test_rng_next(&seed) % 2);
        int pt = (int)(test_rng_next(&seed) % (uint64_t)kh), pl = (int)(test_rng_next(&seed) % (uint64_t)kw);
        check_one(&seed, 1 + (int64_t)(test_rng_next(&seed) % 4), 1 + (int64_t)(test_rng_next(&seed) % 40),
                  1 + (int64_t)(test_rng_next(&seed) % 40), kh, kw, sh, sw, pt, pl, dh, dw);
    }
    TEST_MAIN_END();
}
