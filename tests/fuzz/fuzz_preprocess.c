/* Fuzz the preprocessing spec (data/preprocess.h): parse the JSON for a two-input model ("x", "y"), bind
 * each given entry to several input shapes (fixed, symbolic, gray, NHWC, wrong rank), and for every spec
 * that binds, compute the resize geometry for source sizes from 1x1 to the largest stb_image decodes
 * (2^24 on a side), then run the pipeline on a small synthetic image when the output is small. The
 * geometry must stay inside the output and the pipeline must write every output element.
 *
 * Only inputs that are JSON text are parsed: the parser also accepts a file path, which a fuzzer must not
 * be let loose on. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/preprocess.h"
#include "fuzz_util.h"

enum { OUT_MAX = 1 << 16, SRC_MAX = 40 };

static const int64_t shapes[][4] = {
    {1, 3, 48, 192},
    {1, 3, -1, -1},
    {-1, 3, 32, -1},
    {1, 1, 32, 32},
    {1, 24, 24, 3},
    {1, 5, 8, 8},
    {-1, -1, -1, -1},
};
static const int32_t sizes[][2] = {
    {1, 1},
    {2, 3},
    {48, 192},
    {33, 17},
    {SRC_MAX, 1},
    {1, SRC_MAX},
    {640, 480},
    {1, 1 << 24},
    {1 << 24, 1},
    {46340, 46340},
    {3, 1 << 22},
};
static float *out_buf;
static uint8_t src_px[SRC_MAX * SRC_MAX * 3];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    out_buf = malloc(sizeof(float) * OUT_MAX);
    if (!out_buf)
        abort();
    for (size_t i = 0; i < sizeof(src_px); i++)
        src_px[i] = (uint8_t)(i * 131u + 7u);
    return 0;
}

static void geometry_and_run(const struct oq_preprocess *p) {
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        int32_t sh = sizes[s][0], sw = sizes[s][1];
        struct oq_pp_geometry g;
        oq_preprocess_geometry(p, sh, sw, &g);
        FUZZ_REQUIRE(g.out_h >= 1 && g.out_w >= 1 && g.rh >= 1 && g.rw >= 1,
                     "%dx%d: out %dx%d, resized %dx%d",
                     sh,
                     sw,
                     g.out_h,
                     g.out_w,
                     g.rh,
                     g.rw);
        FUZZ_REQUIRE(g.fill_h >= 0 && g.fill_w >= 0 && g.fill_h <= g.out_h && g.fill_w <= g.out_w,
                     "%dx%d: fill %dx%d of %dx%d",
                     sh,
                     sw,
                     g.fill_h,
                     g.fill_w,
                     g.out_h,
                     g.out_w);
        FUZZ_REQUIRE(g.crop_y >= 0 && g.crop_x >= 0 && (int64_t)g.crop_y + g.fill_h <= g.rh &&
                         (int64_t)g.crop_x + g.fill_w <= g.rw,
                     "%dx%d: crop (%d,%d)+%dx%d outside the resized %dx%d",
                     sh,
                     sw,
                     g.crop_y,
                     g.crop_x,
                     g.fill_h,
                     g.fill_w,
                     g.rh,
                     g.rw);
        int64_t n = (int64_t)g.out_h * g.out_w * p->channels;
        if (sh > SRC_MAX || sw > SRC_MAX || n > OUT_MAX)
            continue;
        for (int64_t k = 0; k < n; k++)
            out_buf[k] = NAN;
        oq_preprocess_run(p, &g, src_px, sh, sw, out_buf);
        for (int64_t k = 0; k < n; k++)
            FUZZ_REQUIRE(!isnan(out_buf[k]), "%dx%d: output element %lld not written", sh, sw, (long long)k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t k = 0;
    while (k < size && isspace(data[k]))
        k++;
    if (k == size || (data[k] != '{' && data[k] != '['))
        return 0;
    char *spec          = fuzz_cstr(data, size);
    const char *names[] = {"x", "y"};
    struct oq_preprocess pp[2];
    bool present[2];
    oq_error err = {0};
    oq_status st = oq_preprocess_parse(spec, 2, names, pp, present, &err);
    free(spec);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (!present[i])
            continue;
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            struct oq_preprocess p = pp[i];
            memset(&err, 0, sizeof(err));
            st = oq_preprocess_bind(&p, names[i], 4, shapes[s], &err);
            if (st) {
                FUZZ_REQUIRE_ERROR(st, err);
                continue;
            }
            FUZZ_REQUIRE(p.channels == 1 || p.channels == 3, "bound to %d channels", p.channels);
            FUZZ_REQUIRE(
                p.multiple || (p.height >= 1 && p.width >= 1), "bound to size %dx%d", p.height, p.width);
            geometry_and_run(&p);
        }
    }
    /* wrong rank */
    if (present[0]) {
        int64_t d2[2] = {1, 3};
        memset(&err, 0, sizeof(err));
        st = oq_preprocess_bind(&pp[0], "x", 2, d2, &err);
        FUZZ_REQUIRE_ERROR(st, err);
    }
    return 0;
}
