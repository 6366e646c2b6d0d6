/* Calibration data from .npy folders (flat for one input, one sub-folder per input), .npz files (numpy's own
 * savez and savez_compressed output, embedded below), raw .bin files; dtype conversion; shape rules (leading 1,
 * symbolic dims, --shape); and the error paths: NaN/Inf naming file and element, shape mismatch naming input,
 * expected and got, mismatched sub-folders, missing/extra .npz keys, corrupt archives. */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/npy.h"
#include "data/source.h"
#include "test_util.h"

/* numpy 2.4.6: x = (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1), y = np.array([[7, 3]], dtype=np.int64) */
static const unsigned char npz_compressed[397] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x4b, 0x4a,
    0x68, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x14, 0x00, 0x78, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x57,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50,
    0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66, 0xa2,
    0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a,
    0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a,
    0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x86, 0x86, 0xfd,
    0x0c, 0x0c, 0x0c, 0x20, 0x0c, 0x02, 0xf6, 0x40, 0x3e, 0x10, 0x1f, 0xb0, 0x07, 0x00, 0x50, 0x4b,
    0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0xb3, 0xd5, 0x53, 0x49,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x14, 0x00, 0x79, 0x2e, 0x6e, 0x70,
    0x79, 0x01, 0x00, 0x10, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50,
    0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x69, 0xa1, 0xae, 0xa3,
    0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77,
    0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a, 0x86, 0x3a,
    0x0a, 0x46, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x76, 0x06, 0x08, 0x60, 0x86, 0xd2,
    0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21,
    0x00, 0x4b, 0x4a, 0x68, 0x01, 0x57, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x78,
    0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00,
    0x00, 0x00, 0x21, 0x00, 0xb3, 0xd5, 0x53, 0x49, 0x4c, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x8e, 0x00,
    0x00, 0x00, 0x79, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x02, 0x00, 0x66, 0x00, 0x00, 0x00, 0x11, 0x01, 0x00, 0x00, 0x00, 0x00,
};
static const unsigned char npz_stored[530] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x4b, 0x4a,
    0x68, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x14, 0x00, 0x78, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76,
    0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27,
    0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72,
    0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65,
    0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20, 0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0xbf, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0xc0, 0x3f, 0x50,
    0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0xb3, 0xd5, 0x53,
    0x49, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x14, 0x00, 0x79, 0x2e, 0x6e,
    0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00,
    0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x38, 0x27, 0x2c,
    0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27,
    0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27,
    0x3a, 0x20, 0x28, 0x31, 0x2c, 0x20, 0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x4b, 0x4a, 0x68, 0x01, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00,
    0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x78, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0xb3, 0xd5, 0x53, 0x49, 0x90, 0x00, 0x00,
    0x00, 0x90, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x80, 0x01, 0xcf, 0x00, 0x00, 0x00, 0x79, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x66, 0x00, 0x00, 0x00, 0x96, 0x01, 0x00, 0x00,
    0x00, 0x00,
};

static char g_root[256];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void make_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", g_root, name);
    CHECK(mkdir(out, 0755) == 0);
}

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static void write_npy(const char *dir, const char *name, oq_dtype dt, int nd, const int64_t *dims, void *data) {
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    oq_tensor_ref t = {.dtype = dt, .ndim = nd, .data = data};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)nd);
    oq_error err = {0};
    CHECK_OK(oq_npy_write(p, &t, &err), &err);
}

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

static void expect_open_fail(const char *spec, struct oq_data_input *in, int n_in, int bs, oq_status code,
                             const char *n1, const char *n2) {
    struct oq_data_source *s = NULL;
    oq_error err;
    oq_status st = open_src(spec, in, n_in, bs, 0, &s, &err);
    CHECK_MSG(st == code, "spec '%s': got %s (%s), want %s", spec, oq_status_str(st), err.msg, oq_status_str(code));
    CHECK_MSG(!n1 || strstr(err.msg, n1), "message '%s' lacks '%s'", err.msg, n1);
    CHECK_MSG(!n2 || strstr(err.msg, n2), "message '%s' lacks '%s'", err.msg, n2);
    oq_data_close(s);
}

/* Open, then expect the first oq_data_next to fail with code and the needles. */
static void expect_next_fail(const char *spec, struct oq_data_input *in, int n_in, int bs, oq_status code,
                             const char *n1, const char *n2) {
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(spec, in, n_in, bs, 0, &s, &err), &err);
    if (!s)
        return;
    const oq_tensor_ref *b;
    int n;
    oq_status st = oq_data_next(s, &b, &n, &err);
    CHECK_MSG(st == code, "spec '%s': next got %s (%s), want %s", spec, oq_status_str(st), err.msg,
              oq_status_str(code));
    CHECK_MSG(!n1 || strstr(err.msg, n1), "message '%s' lacks '%s'", err.msg, n1);
    CHECK_MSG(!n2 || strstr(err.msg, n2), "message '%s' lacks '%s'", err.msg, n2);
    oq_data_close(s);
}

static void test_npy_flat(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "flat");
    /* three samples for x [?,3,4,5]: two as [3,4,5], one as [1,3,4,5]; values encode (sample, index) */
    float buf[60];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 60; i++)
            buf[i] = (float)(k * 1000 + i);
        char nm[32];
        snprintf(nm, sizeof(nm), "s%d.npy", k);
        int64_t d3[3] = {3, 4, 5}, d4[4] = {1, 3, 4, 5};
        if (k == 1)
            write_npy(dir, nm, OQ_DTYPE_FLOAT, 4, d4, buf);
        else
            write_npy(dir, nm, OQ_DTYPE_FLOAT, 3, d3, buf);
    }
    write_file(dir, "labels.txt", "0 1 2", 5);
    struct oq_data_input in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, 4, 5}};
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(dir, &in, 1, 2, 0, &s, &err), &err);
    if (s) {
        struct oq_data_stats st = oq_data_stats_get(s);
        CHECK(st.samples_found == 3 && st.files_skipped == 1 && st.batches_planned == 2);
        const oq_tensor_ref *b;
        int n;
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 2 && b[0].ndim == 4 && b[0].dims[0] == 2 && b[0].dims[1] == 3 && b[0].dims[3] == 5);
        if (n == 2) {
            const float *v = b[0].data;
            CHECK(v[0] == 0 && v[59] == 59 && v[60] == 1000 && v[119] == 1059);
            CHECK(!strcmp(b[0].name, "x") && b[0].dtype == OQ_DTYPE_FLOAT);
        }
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 1 && b[0].dims[0] == 1 && ((float *)b[0].data)[0] == 2000);
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 0);
    }
    oq_data_close(s);
    /* float64 files convert to a float input */
    char d64[300];
    make_dir(d64, sizeof(d64), "f64");
    double dv[3] = {0.5, -2.25, 1e3};
    int64_t dd[1] = {3};
    write_npy(d64, "a.npy", OQ_DTYPE_DOUBLE, 1, dd, dv);
    struct oq_data_input v = {.name = "v", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 3}};
    CHECK_OK(open_src(d64, &v, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 1);
        if (n == 1)
            CHECK(((float *)b[0].data)[1] == -2.25f && ((float *)b[0].data)[2] == 1000.0f);
    }
    oq_data_close(s);
}

static void test_npy_per_input(void) {
    char dir[300], dx[320], dy[320];
    make_dir(dir, sizeof(dir), "multi");
    snprintf(dx, sizeof(dx), "%s/x", dir);
    snprintf(dy, sizeof(dy), "%s/y", dir);
    CHECK(mkdir(dx, 0755) == 0 && mkdir(dy, 0755) == 0);
    for (int k = 0; k < 4; k++) {
        float xv[2] = {(float)k, (float)-k};
        int32_t yv[3] = {k, k + 1, k + 2}; /* int32 files for an int64 input: converted */
        int64_t d1[1] = {2}, d2[1] = {3};
        char nm[32];
        snprintf(nm, sizeof(nm), "%03d.npy", k);
        write_npy(dx, nm, OQ_DTYPE_FLOAT, 1, d1, xv);
        write_npy(dy, nm, OQ_DTYPE_INT32, 1, d2, yv);
    }
    struct oq_data_input in[2] = {
        {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 2}},
        {.name = "y", .dtype = OQ_DTYPE_INT64, .ndim = 2, .dims = {-1, 3}},
    };
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(dir, in, 2, 3, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 3 && b[0].dims[0] == 3 && b[1].dims[0] == 3 && b[1].dtype == OQ_DTYPE_INT64);
        if (n == 3) {
            CHECK(((float *)b[0].data)[4] == 2.0f && ((float *)b[0].data)[5] == -2.0f);
            CHECK(((int64_t *)b[1].data)[6] == 2 && ((int64_t *)b[1].data)[8] == 4);
        }
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 1 && ((int64_t *)b[1].data)[0] == 3);
    }
    oq_data_close(s);
    /* unequal sub-folders */
    int64_t d2[1] = {3};
    int32_t yv[3] = {0, 0, 0};
    write_npy(dy, "999.npy", OQ_DTYPE_INT32, 1, d2, yv);
    expect_open_fail(dir, in, 2, 1, OQ_ERR_ARG, "holds 4 .npy/.bin files", "holds 5");
    /* a model with two inputs cannot take a flat folder of .npy */
    expect_open_fail(dx, in, 2, 1, OQ_ERR_ARG, "holds .npy/.bin files directly", "sub-folder named after it");
    /* sub-folder for only one of two inputs */
    char half[300], hx[320];
    make_dir(half, sizeof(half), "half");
    snprintf(hx, sizeof(hx), "%s/x", half);
    CHECK(mkdir(hx, 0755) == 0);
    expect_open_fail(half, in, 2, 1, OQ_ERR_ARG, "not for y/", NULL);
    /* an int input fed a value out of its range */
    char r8[300];
    make_dir(r8, sizeof(r8), "range");
    int32_t big[2] = {5, 300};
    int64_t d[1] = {2};
    write_npy(r8, "a.npy", OQ_DTYPE_INT32, 1, d, big);
    struct oq_data_input u8 = {.name = "ids", .dtype = OQ_DTYPE_UINT8, .ndim = 2, .dims = {-1, 2}};
    expect_next_fail(r8, &u8, 1, 1, OQ_ERR_NUMERIC, "element 1", "300 does not fit");
    /* float data for an int input */
    struct oq_data_input i64 = {.name = "ids", .dtype = OQ_DTYPE_INT64, .ndim = 2, .dims = {-1, 3}};
    char fl[300];
    make_dir(fl, sizeof(fl), "float_for_int");
    float f3[3] = {1, 2, 3};
    int64_t d3[1] = {3};
    write_npy(fl, "a.npy", OQ_DTYPE_FLOAT, 1, d3, f3);
    expect_next_fail(fl, &i64, 1, 1, OQ_ERR_SHAPE, "holds float data", "input 'ids' is int64");
}

static void test_npz(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "npz");
    write_file(dir, "a.npz", npz_compressed, sizeof(npz_compressed));
    write_file(dir, "b.npz", npz_stored, sizeof(npz_stored));
    struct oq_data_input in[2] = {
        {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 3}},
        {.name = "y", .dtype = OQ_DTYPE_INT64, .ndim = 2, .dims = {-1, 2}},
    };
    struct oq_data_source *s = NULL;
    oq_error err;
    /* each .npz holds x [2,3], which is not [3] or [1,3]: batch dim 2 is not a sample */
    expect_next_fail(dir, in, 2, 1, OQ_ERR_SHAPE, "input 'x' takes samples of shape [3] (or [1,3])",
                     "a.npz['x']' has [2,3]");
    /* with x declared [?,2,3] it fits; y [1,2] is given with the leading 1 */
    in[0].ndim = 3;
    in[0].dims[1] = 2;
    in[0].dims[2] = 3;
    CHECK_OK(open_src(dir, in, 2, 2, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 2 && b[0].dims[0] == 2 && b[0].dims[1] == 2 && b[1].dims[0] == 2 && b[1].dims[1] == 2);
        if (n == 2) {
            const float *x = b[0].data;
            const int64_t *y = b[1].data;
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < 6; i++)
                    CHECK(x[j * 6 + i] == (float)i * 0.5f - 1.0f);
                CHECK(y[j * 2] == 7 && y[j * 2 + 1] == 3);
            }
        }
    }
    oq_data_close(s);
    /* a single .npz file as the spec */
    char one[400];
    snprintf(one, sizeof(one), "%s/a.npz", dir);
    CHECK_OK(open_src(one, in, 2, 1, 0, &s, &err), &err);
    CHECK(s && oq_data_stats_get(s).samples_found == 1);
    oq_data_close(s);
    /* an input missing from the archive, and an array that is no input */
    struct oq_data_input only_x[1] = {in[0]};
    expect_next_fail(dir, only_x, 1, 1, OQ_ERR_ARG, "holds array 'y', which is not a model input", "inputs: x");
    struct oq_data_input xz[2] = {in[0], {.name = "z", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {-1, 2}}};
    xz[1].dims[0] = -1;
    char dz[300];
    make_dir(dz, sizeof(dz), "npz_missing");
    /* build an archive holding only x: reuse the stored one, drop nothing: y is extra, z missing */
    write_file(dz, "a.npz", npz_stored, sizeof(npz_stored));
    expect_next_fail(dz, xz, 2, 1, OQ_ERR_ARG, "holds array 'y'", NULL);
    /* corrupt archives: flipped data byte (CRC), truncated file, not a zip */
    char bad[300];
    make_dir(bad, sizeof(bad), "npz_bad");
    unsigned char cp[sizeof(npz_stored)];
    memcpy(cp, npz_stored, sizeof(cp));
    cp[200] ^= 0x40; /* inside x's float data */
    write_file(bad, "a.npz", cp, sizeof(cp));
    expect_next_fail(bad, in, 2, 1, OQ_ERR_IO, "CRC-32 mismatch", "a.npz:x.npy");
    write_file(bad, "a.npz", npz_compressed, 100);
    expect_next_fail(bad, in, 2, 1, OQ_ERR_IO, "a.npz", "not a .npz");
    memcpy(cp, npz_compressed, sizeof(npz_compressed));
    cp[70] ^= 0xff; /* inside x's deflate stream */
    write_file(bad, "a.npz", cp, sizeof(npz_compressed));
    struct oq_data_source *s2 = NULL;
    CHECK_OK(open_src(bad, in, 2, 1, 0, &s2, &err), &err);
    if (s2) {
        const oq_tensor_ref *b;
        int n;
        CHECK(oq_data_next(s2, &b, &n, &err) == OQ_ERR_IO && strstr(err.msg, "a.npz:x.npy"));
    }
    oq_data_close(s2);
}

static void test_bin(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "bin");
    float v[6] = {1, 2, 3, 4, 5, 6};
    write_file(dir, "a.bin", v, sizeof(v));
    write_file(dir, "b.bin", v, sizeof(v) - 4);
    struct oq_data_input in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 3, .dims = {-1, 2, 3}};
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(dir, &in, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 1 && b[0].dims[1] == 2 && ((float *)b[0].data)[5] == 6.0f);
        oq_status st = oq_data_next(s, &b, &n, &err);
        CHECK(st == OQ_ERR_SHAPE && strstr(err.msg, "b.bin") && strstr(err.msg, "20 bytes") &&
              strstr(err.msg, "24 bytes"));
    }
    oq_data_close(s);
    /* a .bin needs the whole sample shape */
    struct oq_data_input sym = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 3, .dims = {-1, 2, -1},
                                .dim_params = {"batch", NULL, "width"}};
    expect_open_fail(dir, &sym, 1, 1, OQ_ERR_SHAPE, "dim 2 ('width') is symbolic", "--shape x=1x2x<width>");
    sym.shape_ndim = 3;
    sym.shape[0] = 1, sym.shape[1] = 2, sym.shape[2] = 3;
    CHECK_OK(open_src(dir, &sym, 1, 1, 0, &s, &err), &err);
    oq_data_close(s);
}

static void test_shapes_and_nan(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "nan");
    float v[12];
    for (int i = 0; i < 12; i++)
        v[i] = (float)i;
    int64_t d[3] = {3, 2, 2};
    write_npy(dir, "a.npy", OQ_DTYPE_FLOAT, 3, d, v);
    v[7] = NAN;
    write_npy(dir, "b.npy", OQ_DTYPE_FLOAT, 3, d, v);
    struct oq_data_input in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, 2, 2}};
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(dir, &in, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        oq_status st = oq_data_next(s, &b, &n, &err);
        CHECK_MSG(st == OQ_ERR_NUMERIC && strstr(err.msg, "b.npy") && strstr(err.msg, "element 7") &&
                      strstr(err.msg, "[1,1,1]") && strstr(err.msg, "NaN"),
                  "%s", err.msg);
    }
    oq_data_close(s);
    /* Inf too */
    char dinf[300];
    make_dir(dinf, sizeof(dinf), "inf");
    v[7] = -INFINITY;
    write_npy(dinf, "a.npy", OQ_DTYPE_FLOAT, 3, d, v);
    expect_next_fail(dinf, &in, 1, 1, OQ_ERR_NUMERIC, "element 7", "Inf");
    /* shape mismatch: names the input, the expected and the got */
    struct oq_data_input wrong = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, 48, -1}};
    expect_next_fail(dinf, &wrong, 1, 1, OQ_ERR_SHAPE, "input 'x' takes samples of shape [3,48,?] (or [1,3,48,?])",
                     "has [3,2,2]");
    /* --shape fixes a symbolic dim; a file that disagrees is an error */
    struct oq_data_input sh = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, -1, -1},
                               .shape_ndim = 4, .shape = {1, 3, 2, 5}};
    expect_next_fail(dinf, &sh, 1, 1, OQ_ERR_SHAPE, "[3,2,5]", "has [3,2,2]");
    /* --shape that contradicts the model */
    struct oq_data_input bad = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, -1, -1},
                                .shape_ndim = 4, .shape = {1, 4, 2, 2}};
    expect_open_fail(dinf, &bad, 1, 1, OQ_ERR_SHAPE, "--shape for input 'x' is [1,4,2,2]", "dim 1");
    /* symbolic dims take the file's value; samples of one batch must agree */
    char var[300];
    make_dir(var, sizeof(var), "var");
    int64_t da[3] = {3, 2, 2}, db[3] = {3, 2, 4};
    float w[24] = {0};
    write_npy(var, "a.npy", OQ_DTYPE_FLOAT, 3, da, w);
    write_npy(var, "b.npy", OQ_DTYPE_FLOAT, 3, db, w);
    struct oq_data_input sym = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 3, -1, -1}};
    CHECK_OK(open_src(var, &sym, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 1 && b[0].dims[3] == 2);
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 1 && b[0].dims[3] == 4);
    }
    oq_data_close(s);
    expect_next_fail(var, &sym, 1, 2, OQ_ERR_SHAPE, "same batch", "--batch-size 1");
    /* empty folder: zero samples is an error that says what was expected */
    char empty[300];
    make_dir(empty, sizeof(empty), "empty");
    write_file(empty, "x.csv", "1", 1);
    expect_open_fail(empty, &in, 1, 1, OQ_ERR_ARG, "no calibration samples found", "1 other file was skipped");
    /* fixed batch dim larger than the data */
    struct oq_data_input fb = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {4, 3, 2, 2}};
    expect_open_fail(var, &fb, 1, 4, OQ_ERR_SHAPE, "cannot fill one batch", "fixed at 4");
    /* a model input without a batch dim and batch size 1: the sample is the whole tensor */
    struct oq_data_input nob = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 3, .dims = {3, 2, 2}};
    CHECK_OK(open_src(dinf, &nob, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        oq_status st = oq_data_next(s, &b, &n, &err);
        CHECK(st == OQ_ERR_NUMERIC); /* the -Inf file, read as a whole-tensor sample */
    }
    oq_data_close(s);
}

int main(void) {
    snprintf(g_root, sizeof(g_root), "%s/oq_data_npy_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_npy_flat();
    test_npy_per_input();
    test_npz();
    test_bin();
    test_shapes_and_nan();
    nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
