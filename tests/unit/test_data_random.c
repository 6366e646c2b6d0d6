/* Random calibration data: shapes from --shape, the error for a symbolic dim without it, ranges per dtype,
 * determinism (sample k is the same whatever the batch size), options and their errors, the batch cap, and
 * the reused batch buffer. */
#include <string.h>

#include "data/source.h"
#include "test_util.h"

static oq_status open_src(const char *spec, struct oq_data_input *in, int n_in, int bs, int maxb,
                          struct oq_data_source **s, oq_error *err) {
    struct oq_data_options o = oq_data_options_default();
    o.spec = spec;
    o.inputs = in;
    o.n_inputs = n_in;
    o.batch_size = bs;
    o.max_batches = maxb;
    memset(err, 0, sizeof(*err));
    return oq_data_open(&o, s, err);
}

static void test_shape_and_range(void) {
    struct oq_data_input in[2] = {
        {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, -1, -1},
         .dim_params = {"batch", NULL, "height", "width"}, .shape_ndim = 4, .shape = {1, 3, 8, 6}},
        {.name = "ids", .dtype = OQ_DTYPE_INT64, .ndim = 2, .dims = {-1, 5}},
    };
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src("random", in, 2, 2, 3, &s, &err), &err);
    if (!s)
        return;
    struct oq_data_stats st = oq_data_stats_get(s);
    CHECK(st.samples_found == 6 && st.samples_planned == 6 && st.batches_planned == 3);
    CHECK(strstr(oq_data_describe(s), "random") != NULL);
    const oq_tensor_ref *b;
    int n, nb = 0;
    void *buf0 = NULL;
    float lo = 1, hi = -1;
    int64_t imin = 99, imax = -1;
    while (!oq_data_next(s, &b, &n, &err) && n > 0) {
        nb++;
        CHECK(n == 2 && b[0].ndim == 4 && b[0].dims[0] == 2 && b[0].dims[1] == 3 && b[0].dims[2] == 8 &&
              b[0].dims[3] == 6);
        CHECK(b[1].ndim == 2 && b[1].dims[0] == 2 && b[1].dims[1] == 5 && b[1].dtype == OQ_DTYPE_INT64);
        if (!buf0)
            buf0 = b[0].data;
        CHECK(b[0].data == buf0);
        for (int i = 0; i < 2 * 3 * 8 * 6; i++) {
            float v = ((float *)b[0].data)[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        for (int i = 0; i < 10; i++) {
            int64_t v = ((int64_t *)b[1].data)[i];
            imin = v < imin ? v : imin;
            imax = v > imax ? v : imax;
        }
    }
    CHECK(nb == 3);
    CHECK_MSG(lo >= -1.0f && hi < 1.0f && lo < -0.9f && hi > 0.9f, "float range [%g, %g]", lo, hi);
    CHECK_MSG(imin >= 0 && imax <= 9 && imax > imin, "int range [%lld, %lld]", (long long)imin, (long long)imax);
    oq_data_close(s);
}

static void test_determinism(void) {
    struct oq_data_input in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 7}};
    struct oq_data_source *a = NULL, *b = NULL, *c = NULL;
    oq_error err;
    CHECK_OK(open_src("random:seed=5,n=4", &in, 1, 1, 0, &a, &err), &err);
    CHECK_OK(open_src("random:seed=5,n=4", &in, 1, 4, 0, &b, &err), &err);
    CHECK_OK(open_src("random:seed=6,n=4", &in, 1, 4, 0, &c, &err), &err);
    if (!a || !b || !c)
        goto done;
    const oq_tensor_ref *tb, *tc, *ta;
    int nb, nc, na;
    CHECK(!oq_data_next(b, &tb, &nb, &err) && nb == 4);
    CHECK(!oq_data_next(c, &tc, &nc, &err) && nc == 4);
    CHECK(memcmp(tb[0].data, tc[0].data, 4 * 7 * sizeof(float)) != 0);
    for (int k = 0; k < 4; k++) {
        CHECK(!oq_data_next(a, &ta, &na, &err) && na == 1);
        CHECK_MSG(memcmp(ta[0].data, (float *)tb[0].data + 7 * k, 7 * sizeof(float)) == 0,
                  "sample %d differs between batch sizes 1 and 4", k);
    }
    /* rewind gives the same data again */
    oq_data_rewind(a);
    CHECK(!oq_data_next(a, &ta, &na, &err) && na == 1 && memcmp(ta[0].data, tb[0].data, 7 * sizeof(float)) == 0);
done:
    oq_data_close(a);
    oq_data_close(b);
    oq_data_close(c);
}

static void test_options(void) {
    struct oq_data_input in[3] = {
        {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 100}},
        {.name = "m", .dtype = OQ_DTYPE_BOOL, .ndim = 2, .dims = {-1, 100}},
        {.name = "t", .dtype = OQ_DTYPE_INT32, .ndim = 2, .dims = {-1, 100}},
    };
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src("random:lo=2,hi=3,int_hi=3,n=5", in, 3, 2, 0, &s, &err), &err);
    if (s) {
        CHECK(oq_data_stats_get(s).samples_planned == 5 && oq_data_stats_get(s).batches_planned == 3);
        const oq_tensor_ref *b;
        int n;
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 2);
        int ok = 1;
        for (int i = 0; i < 200; i++) {
            float v = ((float *)b[0].data)[i];
            uint8_t m = ((uint8_t *)b[1].data)[i];
            int32_t t = ((int32_t *)b[2].data)[i];
            ok &= v >= 2.0f && v < 3.0f && m <= 1 && t >= 0 && t < 3;
        }
        CHECK(ok);
    }
    oq_data_close(s);
    /* max_batches without n */
    CHECK_OK(open_src("random", in, 1, 1, 0, &s, &err), &err);
    CHECK(s && oq_data_stats_get(s).samples_planned == 1);
    oq_data_close(s);
    struct {
        const char *spec, *needle;
    } bad[] = {
        {"random:seed", "not key=value"},  {"random:sed=1", "unknown option 'sed'"},
        {"random:n=0", "bad value '0' for n"}, {"random:lo=1,hi=1", "lo < hi"},
        {"random:hi=abc", "bad value 'abc'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = NULL;
        oq_status st = open_src(bad[i].spec, in, 1, 1, 0, &s, &err);
        CHECK_MSG(st == OQ_ERR_ARG && strstr(err.msg, bad[i].needle), "%s: %s", bad[i].spec, err.msg);
        oq_data_close(s);
    }
}

static void test_errors(void) {
    struct oq_data_source *s = NULL;
    oq_error err;
    /* symbolic dim without --shape: names the input and dim and says what to pass */
    struct oq_data_input sym = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, -1, -1},
                                .dim_params = {"N", NULL, "H", "W"}};
    oq_status st = open_src("random", &sym, 1, 2, 0, &s, &err);
    CHECK_MSG(st == OQ_ERR_SHAPE && strstr(err.msg, "input 'x'") && strstr(err.msg, "dim 2 ('H')") &&
                  strstr(err.msg, "--shape x=2x3x<H>x<W>"),
              "%s", err.msg);
    /* without names */
    struct oq_data_input anon = {.name = "y", .dtype = OQ_DTYPE_FLOAT, .ndim = 3, .dims = {-1, -1, 4}};
    st = open_src("random", &anon, 1, 1, 0, &s, &err);
    CHECK_MSG(st == OQ_ERR_SHAPE && strstr(err.msg, "dim 1 is symbolic") && strstr(err.msg, "--shape y=1x<dim1>x4"),
              "%s", err.msg);
    /* string inputs cannot be generated */
    struct oq_data_input str = {.name = "s", .dtype = OQ_DTYPE_STRING, .ndim = 1, .dims = {-1}};
    st = open_src("random", &str, 1, 1, 0, &s, &err);
    CHECK(st == OQ_ERR_UNSUPPORTED && strstr(err.msg, "input 's'"));
    /* a preprocessing spec does not apply to random data */
    struct oq_data_options o = oq_data_options_default();
    struct oq_data_input ok = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 2}};
    o.spec = "random";
    o.preprocess = "{}";
    o.inputs = &ok;
    o.n_inputs = 1;
    st = oq_data_open(&o, &s, &err);
    CHECK(st == OQ_ERR_ARG && strstr(err.msg, "image folders"));
    /* bad options */
    o.preprocess = NULL;
    o.batch_size = 0;
    CHECK(oq_data_open(&o, &s, &err) == OQ_ERR_ARG);
    CHECK(s == NULL);
}

int main(void) {
    test_shape_and_range();
    test_determinism();
    test_options();
    test_errors();
    TEST_MAIN_END();
}
