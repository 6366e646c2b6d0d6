/* Observer: running statistics, bounded memory, PaddleSlim moving average, histogram growth by integer
 * factors (exact merges, batch-boundary independence), NaN/Inf errors naming tensor and batch. */
#include <math.h>
#include <string.h>

#include "calib/observer.h"
#include "calib/scale.h"
#include "test_util.h"

static float gauss(uint64_t *s) {
    float u1 = test_rng_uniform(s, 1e-7f, 1.0f), u2 = test_rng_uniform(s, 0.0f, 1.0f);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

static uint64_t hist_total(const struct oq_observer *o) {
    uint64_t t = 0;
    for (int i = 0; i < 2 * o->hist_bins; i++)
        t += o->hist[i];
    return t;
}

static struct oq_observer *make(const char *name, int bins) {
    struct oq_calib_config cfg = oq_calib_config_default();
    if (bins)
        cfg.hist_bins = bins;
    struct oq_observer *o = NULL;
    oq_error err = {0};
    CHECK_OK(oq_observer_create(name, &cfg, &o, &err), &err);
    return o;
}

static void test_basic_stats(void) {
    struct oq_observer *o = make("t", 0);
    oq_error err = {0};
    float a[] = {0.5f, -2.0f, 0.0f, 3.0f, -0.0f, 1.0f};
    float b[] = {-1.0f, 0.0f, 2.5f};
    CHECK_OK(oq_observer_update(o, a, 6, &err), &err);
    CHECK_OK(oq_observer_update(o, b, 3, &err), &err);
    CHECK_OK(oq_observer_update(o, NULL, 0, &err), &err); /* empty batch: counted, no values */
    CHECK(o->min == -2.0f && o->max == 3.0f && o->absmax == 3.0f);
    CHECK(o->n_values == 9 && o->n_zeros == 3 && o->n_batches == 3);
    CHECK(hist_total(o) == 6); /* zeros are kept out of the histogram */
    CHECK(o->hist_range == 3.0);
    /* 0.5 lands in bin H + floor(0.5/w), -2 in bin H-1-floor(2/w) */
    double w = oq_observer_bin_width(o);
    int H = o->hist_bins;
    CHECK(o->hist[H + (int)(0.5 / w)] >= 1);
    CHECK(o->hist[H - 1 - (int)(2.0 / w)] == 1);
    oq_observer_free(o);
}

static void test_footprint_bounded(void) {
    struct oq_observer *o10 = make("a", 0), *o1000 = make("a", 0);
    oq_error err = {0};
    uint64_t s = 7;
    float buf[1000];
    for (int b = 0; b < 1000; b++) {
        for (int i = 0; i < 1000; i++)
            buf[i] = gauss(&s) * (1.0f + b * 0.01f); /* growing range: forces histogram merges */
        if (b < 10)
            CHECK_OK(oq_observer_update(o10, buf, 1000, &err), &err);
        CHECK_OK(oq_observer_update(o1000, buf, 1000, &err), &err);
    }
    CHECK(oq_observer_footprint(o10) == oq_observer_footprint(o1000));
    CHECK(oq_observer_footprint(o1000) < sizeof(struct oq_observer) + 64 + 2 * 2048 * sizeof(uint64_t));
    CHECK(o1000->n_values == 1000000 && hist_total(o1000) == 1000000);
    /* the range stays within 2x the abs-max */
    CHECK(o1000->hist_range >= o1000->absmax && o1000->hist_range < 2.0 * o1000->absmax);
    oq_observer_free(o10);
    oq_observer_free(o1000);
}

static void test_ema(void) {
    struct oq_calib_config cfg = oq_calib_config_default();
    cfg.ema_rate = 0.5f;
    struct oq_observer *o = NULL;
    oq_error err = {0};
    CHECK_OK(oq_observer_create("ema", &cfg, &o, &err), &err);
    float b1[] = {1, -0.5f}, b2[] = {-4}, b3[] = {2, 2};
    CHECK_OK(oq_observer_update(o, b1, 2, &err), &err);
    CHECK(fabs(oq_observer_ema(o) - 1.0) < 1e-12); /* first batch initializes */
    CHECK_OK(oq_observer_update(o, b2, 1, &err), &err);
    /* state = 0.5*1+1 = 1.5, accum = 0.5*1+4 = 4.5 -> 3 */
    CHECK(fabs(oq_observer_ema(o) - 3.0) < 1e-12);
    CHECK_OK(oq_observer_update(o, b3, 2, &err), &err);
    /* state = 1.75, accum = 2.25+2 = 4.25 */
    CHECK(fabs(oq_observer_ema(o) - 4.25 / 1.75) < 1e-12);
    cfg.algo = OQ_CALIB_ALGO_MOVING_AVERAGE_ABS_MAX;
    cfg.symmetric = true;
    cfg.qtype = OQ_DTYPE_INT8;
    struct oq_calib_result r;
    CHECK_OK(oq_calib_compute(o, &cfg, &r, &err), &err);
    CHECK(fabsf(r.clip_hi - (float)(4.25 / 1.75)) < 1e-6f && r.zero_point == 0);
    CHECK(fabsf(r.scale - (float)(4.25 / 1.75) / 127) < 1e-7f);
    oq_observer_free(o);
}

static void test_nonfinite(void) {
    struct oq_observer *o = make("act/relu_3", 0);
    oq_error err = {0};
    float good[5000];
    for (int i = 0; i < 5000; i++)
        good[i] = (float)i;
    CHECK_OK(oq_observer_update(o, good, 100, &err), &err);
    CHECK_OK(oq_observer_update(o, good, 100, &err), &err);
    good[4100] = NAN; /* in the second block of batch 2 */
    oq_status st = oq_observer_update(o, good, 5000, &err);
    CHECK_MSG(st == OQ_ERR_NUMERIC && strstr(err.msg, "'act/relu_3'") && strstr(err.msg, "batch 2") &&
                  strstr(err.msg, "NaN") && strstr(err.msg, "element 4100"),
              "%s: %s", oq_status_str(st), err.msg);
    /* sticky: later updates and compute report it again */
    oq_error err2 = {0};
    CHECK(oq_observer_update(o, good, 10, &err2) == OQ_ERR_NUMERIC && strstr(err2.msg, "batch 2"));
    struct oq_calib_config cfg = oq_calib_config_default();
    struct oq_calib_result r;
    oq_error err3 = {0};
    CHECK(oq_calib_compute(o, &cfg, &r, &err3) == OQ_ERR_NUMERIC && strstr(err3.msg, "act/relu_3"));
    oq_observer_free(o);

    /* -Inf in the very first batch (the range pre-pass) */
    o = make("x", 0);
    float b[3] = {1, -INFINITY, 2};
    st = oq_observer_update(o, b, 3, &err);
    CHECK_MSG(st == OQ_ERR_NUMERIC && strstr(err.msg, "'x'") && strstr(err.msg, "batch 0") &&
                  strstr(err.msg, "-Inf") && strstr(err.msg, "element 1"),
              "%s", err.msg);
    oq_observer_free(o);
}

/* Widening by an integer factor is an exact merge: every value stays in the bin that holds it. */
static void test_merge_exact(void) {
    struct oq_observer *o = make("m", 128);
    oq_error err = {0};
    float b1[] = {1.0f, -1.0f, 0.3f, -0.01f};
    CHECK_OK(oq_observer_update(o, b1, 4, &err), &err);
    CHECK(o->hist_range == 1.0);
    float b2[] = {3.5f}; /* k = 4 */
    CHECK_OK(oq_observer_update(o, b2, 1, &err), &err);
    CHECK(o->hist_range == 4.0);
    const int H = 128;
    double w = 4.0 / H;
    float all[] = {1.0f, -1.0f, 0.3f, -0.01f, 3.5f};
    for (int i = 0; i < 5; i++) {
        int bin = H + (int)floor(all[i] / w);
        if (all[i] == 1.0f)
            bin = H + 31; /* 1.0 was the top edge of the old range: it sat in the old last bin [1-w/4, 1) */
        CHECK_MSG(o->hist[bin] >= 1, "value %g expected in bin %d", (double)all[i], bin);
    }
    CHECK(hist_total(o) == 5);
    /* a jump beyond H times the range folds everything into the two bins next to zero */
    float b3[] = {1000.0f};
    CHECK_OK(oq_observer_update(o, b3, 1, &err), &err);
    CHECK(o->hist_range == 1000.0 && o->hist[H - 1] == 2 && o->hist[H] == 3 && hist_total(o) == 6);
    /* only zeros first: the range starts at the first nonzero batch */
    struct oq_observer *z = make("z", 0);
    float zeros[10] = {0};
    CHECK_OK(oq_observer_update(z, zeros, 10, &err), &err);
    CHECK(z->hist_range == 0 && z->n_zeros == 10 && hist_total(z) == 0);
    float v[] = {0.0f, 2.0f};
    CHECK_OK(oq_observer_update(z, v, 2, &err), &err);
    CHECK(z->hist_range == 2.0 && z->n_zeros == 11 && hist_total(z) == 1);
    oq_observer_free(z);
    oq_observer_free(o);
}

/* Same data in 1 batch vs 100 batches of increasing range: thresholds agree within a few bins. */
static int cmp_abs(const void *a, const void *b) {
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return (x > y) - (x < y);
}

static void test_batch_boundaries(void) {
    enum { N = 200000 };
    float *x = malloc(N * sizeof(float));
    uint64_t s = 99;
    for (int i = 0; i < N; i++)
        x[i] = gauss(&s);
    /* sort by |x| in chunks so each of the 100 batches reaches further out than the previous */
    qsort(x, N, sizeof(float), cmp_abs);
    for (int b = 0; b < 100; b++) { /* shuffle within each batch */
        float *p = x + b * (N / 100);
        for (int i = N / 100 - 1; i > 0; i--) {
            int j = (int)(test_rng_next(&s) % (uint64_t)(i + 1));
            float t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
    }
    struct oq_observer *one = make("one", 0), *many = make("many", 0);
    oq_error err = {0};
    CHECK_OK(oq_observer_update(one, x, N, &err), &err);
    for (int b = 0; b < 100; b++)
        CHECK_OK(oq_observer_update(many, x + b * (N / 100), N / 100, &err), &err);
    CHECK(hist_total(one) == hist_total(many) && one->absmax == many->absmax);
    const enum oq_calib_algo algos[] = {OQ_CALIB_ALGO_PERCENTILE, OQ_CALIB_ALGO_MSE, OQ_CALIB_ALGO_KL,
                                        OQ_CALIB_ALGO_KL_V2};
    double wmax = fmax(oq_observer_bin_width(one), oq_observer_bin_width(many));
    for (int a = 0; a < 4; a++) {
        struct oq_calib_config cfg = oq_calib_config_default();
        cfg.algo = algos[a];
        cfg.symmetric = true;
        cfg.qtype = OQ_DTYPE_INT8;
        float l1, h1, l2, h2;
        CHECK_OK(oq_calib_range(one, &cfg, &l1, &h1, &err), &err);
        CHECK_OK(oq_calib_range(many, &cfg, &l2, &h2, &err), &err);
        /* within 4 of the coarser bins (KL: the shape at 2x coarser resolution moves its optimum a little) */
        CHECK_MSG(fabs((double)h1 - h2) <= 4 * wmax, "%s: 1 batch %g vs 100 batches %g (bin %g)",
                  oq_calib_algo_name(algos[a]), (double)h1, (double)h2, wmax);
    }
    oq_observer_free(one);
    oq_observer_free(many);
    free(x);
}

static void test_bad_config(void) {
    struct oq_calib_config cfg = oq_calib_config_default();
    cfg.hist_bins = 10;
    struct oq_observer *o = NULL;
    oq_error err = {0};
    CHECK(oq_observer_create("t", &cfg, &o, &err) == OQ_ERR_ARG && o == NULL && strstr(err.msg, "'t'"));
    cfg = oq_calib_config_default();
    cfg.ema_rate = 1.0f;
    CHECK(oq_observer_create("t", &cfg, &o, &err) == OQ_ERR_ARG && strstr(err.msg, "(0, 1)"));
    o = make("never", 0);
    struct oq_calib_result r;
    cfg = oq_calib_config_default();
    CHECK(oq_calib_compute(o, &cfg, &r, &err) == OQ_ERR_ARG && strstr(err.msg, "'never'"));
    oq_observer_free(o);
    oq_observer_free(NULL);
}

/* Without a histogram: the same min/max/abs-max/EMA, a smaller footprint, and histogram algorithms refuse
 * with a message that says why. */
static void test_without_histogram(void) {
    struct oq_calib_config cfg = oq_calib_config_default();
    struct oq_observer *a = NULL, *b = NULL;
    oq_error err = {0};
    CHECK_OK(oq_observer_create_ex("with", &cfg, true, &a, &err), &err);
    CHECK_OK(oq_observer_create_ex("without", &cfg, false, &b, &err), &err);
    uint64_t seed = 5;
    float x[10000];
    for (int batch = 0; batch < 3; batch++) {
        for (int i = 0; i < 10000; i++)
            x[i] = i % 7 == 0 ? 0.0f : test_rng_uniform(&seed, -3.0f - (float)batch, 2.0f);
        CHECK_OK(oq_observer_update(a, x, 10000, &err), &err);
        CHECK_OK(oq_observer_update(b, x, 10000, &err), &err);
    }
    CHECK(a->min == b->min && a->max == b->max && a->absmax == b->absmax && a->n_zeros == b->n_zeros);
    CHECK(oq_observer_ema(a) == oq_observer_ema(b));
    CHECK(oq_observer_footprint(b) < oq_observer_footprint(a) / 10);
    float lo1, hi1, lo2, hi2;
    cfg.algo = OQ_CALIB_ALGO_MIN_MAX;
    CHECK_OK(oq_calib_range(a, &cfg, &lo1, &hi1, &err), &err);
    CHECK_OK(oq_calib_range(b, &cfg, &lo2, &hi2, &err), &err);
    CHECK(lo1 == lo2 && hi1 == hi2);
    cfg.algo = OQ_CALIB_ALGO_KL;
    memset(&err, 0, sizeof(err));
    CHECK(oq_calib_range(b, &cfg, &lo2, &hi2, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "'without'") && strstr(err.msg, "histogram"), "%s", err.msg);
    oq_observer_free(a);
    oq_observer_free(b);
}

int main(void) {
    test_without_histogram();
    test_basic_stats();
    test_footprint_bounded();
    test_ema();
    test_nonfinite();
    test_merge_exact();
    test_batch_boundaries();
    test_bad_config();
    TEST_MAIN_END();
}
