/* Fuzz the image path of calibration: decode (data/image.h, stb_image: JPEG, PNG, BMP) and then the
 * preprocessing pipeline as data/source.c runs it (geometry + bilinear resize + normalize + layout) for four
 * fixed specs, one per resize mode: PaddleOCR cls/rec (fixed_height_pad, BGR), det (multiple_of_32, a
 * small max_side so the output stays small), PaddleClas (short_side_crop, gray, NHWC) and keep_ratio_pad.
 * The pipeline reads every source pixel it samples and writes every output element; ASan checks both.
 * oq_image_info (the header check oq_image_decode makes first) runs on every input too. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/preprocess.h"
#include "fuzz_util.h"

static const struct {
    const char *spec;
    int64_t dims[4];
} specs[] = {
    {"{\"x\": {\"resize\": \"fixed_height_pad\", \"size\": [48, 192], \"scale\": 0.00392156862745098, "
     "\"mean\": 0.5, \"std\": 0.5, \"channel_order\": \"BGR\"}}",
     {1, 3, 48, 192}},
    {"{\"x\": {\"size\": \"multiple_of_32\", \"max_side\": 96, \"mean\": [0.485, 0.456, 0.406], "
     "\"std\": [0.229, 0.224, 0.225]}}",
     {1, 3, -1, -1}},
    {"{\"x\": {\"resize\": \"short_side_crop\", \"size\": [24, 24], \"short_side\": 28, \"layout\": "
     "\"NHWC\"}}",
     {1, 24, 24, 1}},
    {"{\"x\": {\"resize\": \"keep_ratio_pad\", \"size\": [20, 30], \"pad_value\": -1}}", {1, 3, 20, 30}},
};
enum { N_SPECS = sizeof(specs) / sizeof(specs[0]) };
static struct oq_preprocess pp[N_SPECS];
static float *out_buf;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *names[] = {"x"};
    size_t max_out      = 0;
    for (int i = 0; i < N_SPECS; i++) {
        oq_error err = {0};
        bool present;
        if (oq_preprocess_parse(specs[i].spec, 1, names, &pp[i], &present, &err) ||
            oq_preprocess_bind(&pp[i], "x", 4, specs[i].dims, &err)) {
            fprintf(stderr, "fuzz_image: spec %d: %s\n", i, err.msg);
            abort();
        }
        int32_t h = pp[i].multiple ? pp[i].max_side + pp[i].multiple : pp[i].height;
        int32_t w = pp[i].multiple ? pp[i].max_side + pp[i].multiple : pp[i].width;
        size_t n  = (size_t)h * (size_t)w * 3;
        if (n > max_out)
            max_out = n;
    }
    out_buf = malloc(max_out * sizeof(float));
    if (!out_buf)
        abort();
    return 0;
}

/* Inputs whose header claims more pixels than this are not decoded: at OQ_IMAGE_MAX_PIXELS a zero-filled
 * decode under ASan + UBSan takes ~10 s (against -timeout=10). Same code paths as the small ones. */
enum { FUZZ_MAX_PIXELS = 1 << 21 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oq_error ierr = {0};
    int ih = 0, iw = 0;
    oq_status ist = oq_image_info(data, size, "fuzz.img", &ih, &iw, &ierr);
    if (ist) {
        FUZZ_REQUIRE_ERROR(ist, ierr);
    } else {
        FUZZ_REQUIRE((int64_t)ih * iw <= OQ_IMAGE_MAX_PIXELS, "info %dx%d above the limit", ih, iw);
        if ((int64_t)ih * iw > FUZZ_MAX_PIXELS)
            return 0;
    }
    uint8_t *px[4] = {NULL}; /* by channel count */
    int h[4] = {0}, w[4] = {0};
    for (int i = 0; i < N_SPECS; i++) {
        int c = pp[i].channels;
        if (!px[c]) {
            oq_error err = {0};
            oq_status st = oq_image_decode(data, size, "fuzz.img", c, &px[c], &h[c], &w[c], &err);
            if (st) {
                FUZZ_REQUIRE_ERROR(st, err);
                FUZZ_REQUIRE(px[c] == NULL, "failed decode returned pixels");
                break; /* the other channel count fails alike */
            }
            FUZZ_REQUIRE(h[c] >= 1 && w[c] >= 1, "decoded a %dx%d image", h[c], w[c]);
        }
        struct oq_pp_geometry g;
        oq_preprocess_geometry(&pp[i], h[c], w[c], &g);
        FUZZ_REQUIRE(g.out_h >= 1 && g.out_w >= 1 && g.fill_h <= g.out_h && g.fill_w <= g.out_w,
                     "spec %d, %dx%d image: output %dx%d, fill %dx%d",
                     i,
                     h[c],
                     w[c],
                     g.out_h,
                     g.out_w,
                     g.fill_h,
                     g.fill_w);
        size_t n = (size_t)g.out_h * (size_t)g.out_w * (size_t)c;
        for (size_t k = 0; k < n; k++)
            out_buf[k] = NAN;
        oq_preprocess_run(&pp[i], &g, px[c], h[c], w[c], out_buf);
        for (size_t k = 0; k < n; k++)
            FUZZ_REQUIRE(isfinite(out_buf[k]),
                         "spec %d, %dx%d image: output element %zu not written or not finite",
                         i,
                         h[c],
                         w[c],
                         k);
    }
    oq_image_free(px[1]);
    oq_image_free(px[3]);
    return 0;
}
