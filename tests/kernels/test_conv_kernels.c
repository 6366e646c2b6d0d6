/* Fast conv-side kernels against their reference twins: depthwise conv (odd plane sizes, 3x3/5x5/other,
 * strides 1, 2, (2,1), (1,2), 3, dilations, asymmetric pads, fused activations), im2col (exact, any tile
 * [p0, p1) and ld > width), and the activation row (every kind, odd lengths). */
#include <string.h>

#include "kernels/dispatch.h"
#include "test_util.h"

#define DWCONV_MAX_NMSE 1e-11
#define ACT_MAX_NMSE 1e-11

static const int sizes[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 67, 127, 129};
enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };

static void fill(uint64_t *rng, float *p, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        p[i] = test_rng_uniform(rng, lo, hi);
}

static bool make_geom(struct oq_conv2d_geom *g, int H, int W, int kh, int kw, int sh, int sw, int dh, int dw,
                      int pt, int pl, int pb, int pr) {
    memset(g, 0, sizeof(*g));
    int64_t eh = (int64_t)(kh - 1) * dh + 1, ew = (int64_t)(kw - 1) * dw + 1;
    if (H + pt + pb < eh || W + pl + pr < ew)
        return false;
    *g = (struct oq_conv2d_geom){.in_h = H, .in_w = W, .k_h = kh, .k_w = kw, .stride_h = sh, .stride_w = sw,
                                 .pad_t = pt, .pad_l = pl, .dil_h = dh, .dil_w = dw};
    g->out_h = (H + pt + pb - eh) / sh + 1;
    g->out_w = (W + pl + pr - ew) / sw + 1;
    return true;
}

static int n_dw_cases = 0;

static void dw_case(uint64_t *rng, const struct oq_conv2d_geom *g, const struct oq_act *act) {
    int64_t nx = g->in_h * g->in_w, ny = g->out_h * g->out_w, nw = (int64_t)g->k_h * g->k_w;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *y = malloc(sizeof(float) * (size_t)(ny + 1)), *r = malloc(sizeof(float) * (size_t)ny);
    fill(rng, x, nx, -1, 1);
    fill(rng, w, nw, -1, 1);
    float bias = test_rng_uniform(rng, -0.5f, 0.5f);
    y[ny] = 777.0f; /* guard just past the plane */
    oq_dwconv_ref(g, x, w, bias, r, act);
    oq_dwconv_avx512(g, x, w, bias, y, act);
    double e = test_nmse(y, r, ny);
    CHECK_MSG(e <= DWCONV_MAX_NMSE && y[ny] == 777.0f,
              "dwconv/avx512 H=%lld W=%lld k=%dx%d s=%d,%d d=%d,%d pad=%d,%d act=%s: nmse=%g", (long long)g->in_h,
              (long long)g->in_w, g->k_h, g->k_w, g->stride_h, g->stride_w, g->dil_h, g->dil_w, g->pad_t, g->pad_l,
              act ? oq_act_names[act->kind] : "none", e);
    n_dw_cases++;
    free(x);
    free(w);
    free(y);
    free(r);
}

static void test_dwconv(uint64_t *rng) {
    /* model shapes: 3x3 and 5x5, strides 1, 2, (2,1), (1,2), pads k/2 */
    const int ks[] = {3, 5};
    const int strides[][2] = {{1, 1}, {2, 2}, {2, 1}, {1, 2}};
    for (int a = 0; a < NSIZES; a++)
        for (int b = 0; b < NSIZES; b += 2)
            for (int ki = 0; ki < 2; ki++)
                for (int si = 0; si < 4; si++) {
                    struct oq_conv2d_geom g;
                    int k = ks[ki], p = k / 2;
                    if (make_geom(&g, sizes[b], sizes[a], k, k, strides[si][0], strides[si][1], 1, 1, p, p, p, p))
                        dw_case(rng, &g, NULL);
                }
    /* seeded random geometries: any kernel, stride up to 3, dilation up to 3, asymmetric pads, activations */
    for (int i = 0; i < 400; i++) {
        int H = 1 + (int)(test_rng_next(rng) % 40), W = 1 + (int)(test_rng_next(rng) % 70);
        int kh = 1 + (int)(test_rng_next(rng) % 5), kw = 1 + (int)(test_rng_next(rng) % 7);
        int sh = 1 + (int)(test_rng_next(rng) % 3), sw = 1 + (int)(test_rng_next(rng) % 3);
        int dh = 1 + (int)(test_rng_next(rng) % 3), dw = 1 + (int)(test_rng_next(rng) % 3);
        int pt = (int)(test_rng_next(rng) % 4), pl = (int)(test_rng_next(rng) % 4);
        int pb = (int)(test_rng_next(rng) % 4), pr = (int)(test_rng_next(rng) % 4);
        struct oq_act act;
        enum oq_act_kind kind = (enum oq_act_kind)(test_rng_next(rng) % OQ_ACT_COUNT);
        oq_act_init(&act, kind, (const float[]){-0.5f, 0.75f}, oq_act_nparams(kind));
        struct oq_conv2d_geom g;
        if (make_geom(&g, H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr))
            dw_case(rng, &g, i % 3 ? &act : NULL);
    }
}

static void test_im2col(uint64_t *rng) {
    int n_cases = 0;
    for (int i = 0; i < 300; i++) {
        int H = 1 + (int)(test_rng_next(rng) % 20), W = 1 + (int)(test_rng_next(rng) % 40);
        int kh = 1 + (int)(test_rng_next(rng) % 4), kw = 1 + (int)(test_rng_next(rng) % 5);
        int sh = 1 + (int)(test_rng_next(rng) % 3), sw = 1 + (int)(test_rng_next(rng) % 3);
        int dh = 1 + (int)(test_rng_next(rng) % 2), dw = 1 + (int)(test_rng_next(rng) % 3);
        int pt = (int)(test_rng_next(rng) % 3), pl = (int)(test_rng_next(rng) % 3);
        int pb = (int)(test_rng_next(rng) % 3), pr = (int)(test_rng_next(rng) % 3);
        struct oq_conv2d_geom g;
        if (!make_geom(&g, H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr))
            continue;
        int C = 1 + (int)(test_rng_next(rng) % 3);
        int64_t P = g.out_h * g.out_w;
        int64_t p0 = (int64_t)(test_rng_next(rng) % (uint64_t)P);
        int64_t p1 = p0 + 1 + (int64_t)(test_rng_next(rng) % (uint64_t)(P - p0));
        if (i % 4 == 0)
            p0 = 0, p1 = P;
        int64_t rows = (int64_t)C * kh * kw, ld = p1 - p0 + (i % 3);
        float *x = malloc(sizeof(float) * (size_t)(C * H * W));
        float *a = malloc(sizeof(float) * (size_t)(rows * ld)), *r = malloc(sizeof(float) * (size_t)(rows * ld));
        fill(rng, x, (int64_t)C * H * W, -1, 1);
        for (int64_t j = 0; j < rows * ld; j++)
            a[j] = r[j] = -99.0f;
        oq_im2col_ref(&g, C, x, p0, p1, r, ld);
        oq_im2col_avx512(&g, C, x, p0, p1, a, ld);
        int64_t bad = 0, first = -1;
        for (int64_t j = 0; j < rows * ld; j++)
            if (a[j] != r[j] && (bad++ == 0))
                first = j;
        CHECK_MSG(bad == 0, "im2col/avx512 H=%d W=%d k=%dx%d s=%d,%d d=%d,%d p=%d,%d,%d,%d [%lld,%lld): first "
                  "mismatch at %lld: got %g ref %g (%lld of %lld differ)", H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb,
                  pr, (long long)p0, (long long)p1, (long long)first, first >= 0 ? a[first] : 0.0,
                  first >= 0 ? r[first] : 0.0, (long long)bad, (long long)(rows * ld));
        n_cases++;
        free(x);
        free(a);
        free(r);
    }
    CHECK(n_cases > 100);
}

static void test_act(uint64_t *rng) {
    for (int kind = 0; kind < OQ_ACT_COUNT; kind++) {
        struct oq_act act;
        const float params[][2] = {{0, 0}, {0, 0}, {-1.5f, 6.0f}, {0.25f, 0.4f}, {0, 0}, {0, 0}, {0.1f, 0}, {0, 0}};
        CHECK(oq_act_init(&act, (enum oq_act_kind)kind, params[kind], oq_act_nparams((enum oq_act_kind)kind)));
        for (int s = 0; s < NSIZES; s++) {
            int n = sizes[s] * 3;
            float *a = malloc(sizeof(float) * (size_t)(n + 1)), *r = malloc(sizeof(float) * (size_t)n);
            fill(rng, a, n, -12.0f, 12.0f);
            if (n > 4) { /* edge values: zero, tiny, very large */
                a[0] = 0.0f;
                a[1] = 1e-6f;
                a[2] = -95.0f;
                a[3] = 120.0f;
            }
            a[n] = 555.0f;
            memcpy(r, a, sizeof(float) * (size_t)n);
            oq_act_row_ref(&act, 0.25f, r, n);
            oq_act_row_avx512(&act, 0.25f, a, n);
            double e = test_nmse(a, r, n);
            double maxrel = 0;
            for (int i = 0; i < n; i++) {
                double d = fabs((double)a[i] - r[i]) / (fabs(r[i]) > 1.0 ? fabs(r[i]) : 1.0); /* rel, abs near 0 */
                maxrel = d > maxrel ? d : maxrel;
            }
            CHECK_MSG(e <= ACT_MAX_NMSE && maxrel < 1e-5 && a[n] == 555.0f,
                      "act_row/avx512 %s n=%d: nmse=%g max err (rel, abs below 1)=%g", oq_act_names[kind], n, e, maxrel);
            free(a);
            free(r);
        }
    }
    /* exact kinds are bit-exact */
    struct oq_act relu = {.kind = OQ_ACT_RELU};
    float a[5] = {-1.0f, -0.0f, 0.0f, 2.5f, NAN}, r[5];
    memcpy(r, a, sizeof(a));
    oq_act_row_ref(&relu, 0.0f, r, 5);
    oq_act_row_avx512(&relu, 0.0f, a, 5);
    CHECK(memcmp(a, r, sizeof(a)) == 0);
    /* name table round trip and parameter defaults */
    enum oq_act_kind k;
    CHECK(oq_act_from_name("HardSwish", &k) && k == OQ_ACT_HARDSWISH);
    CHECK(!oq_act_from_name("Gelu", &k));
    struct oq_act hs;
    CHECK(oq_act_init(&hs, OQ_ACT_HARDSIGMOID, NULL, 0) && hs.a == 0.2f && hs.b == 0.5f);
    CHECK(!oq_act_init(&hs, OQ_ACT_RELU, (const float[]){1.0f}, 1));
    CHECK(oq_act_apply1(&(struct oq_act){.kind = OQ_ACT_HARDSWISH}, 3.0f) == 3.0f);
    CHECK(oq_act_apply1(&(struct oq_act){.kind = OQ_ACT_HARDSWISH}, -3.0f) == 0.0f);
}

int main(void) {
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq)) {
        printf("no AVX-512 on this CPU: only the reference kernels exist, nothing to compare\n");
        TEST_MAIN_END();
    }
    uint64_t rng = 7;
    test_dwconv(&rng);
    CHECK(n_dw_cases > 500);
    test_im2col(&rng);
    test_act(&rng);
    TEST_MAIN_END();
}
