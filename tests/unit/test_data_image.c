/* Calibration data from image folders: every resize mode against a reference computed here (an independent
 * per-pixel transcription of cv2.resize INTER_LINEAR's half-pixel rule, in the float32 arithmetic a numpy
 * reimplementation uses), scale/mean/std, RGB/BGR, NCHW/NHWC, gray, PNG/BMP/JPEG decoding, batching and
 * sorted order, and every error path (empty folder, non-images only, unreadable image, bad JSON, unknown
 * key, size vs. input shape, multiple_of_32 with batches, missing spec). */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/preprocess.h"
#include "data/source.h"
#include "test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

/* Pillow 12.0.0: the smooth 16x24 gradient of test_formats, px = 40 + 6x + 5y + 20c, JPEG quality 95,
 * 4:4:4. libjpeg decodes it to a mean abs error of 1.079 levels. */
static const unsigned char jpeg_gradient[827] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02,
    0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02, 0x02, 0x05, 0x04,
    0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06, 0x07, 0x09, 0x08, 0x06,
    0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x06, 0x08,
    0x0b, 0x0c, 0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x02, 0x02,
    0x02, 0x02, 0x02, 0x02, 0x05, 0x03, 0x03, 0x05, 0x0a, 0x07, 0x06, 0x07, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0xff, 0xc0,
    0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x18, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
    0x01, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05,
    0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
    0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23,
    0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5,
    0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00, 0x03,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00,
    0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00,
    0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xf9,
    0xe7, 0xe0, 0x97, 0xc2, 0x4f, 0xf5, 0x3f, 0xe8, 0xbe, 0x9d, 0xab, 0xed, 0x0f, 0x8f, 0x3e, 0xc0,
    0xf8, 0x25, 0xf0, 0x93, 0xfd, 0x4f, 0xfa, 0x2f, 0xa7, 0x6a, 0x00, 0xfb, 0x03, 0xe0, 0x97, 0xc2,
    0x4f, 0xf5, 0x3f, 0xe8, 0xbe, 0x9d, 0xa8, 0x03, 0xe1, 0xff, 0x00, 0x82, 0x5f, 0x09, 0x3f, 0xd4,
    0xff, 0x00, 0xa2, 0xfa, 0x76, 0xa0, 0x0f, 0xb0, 0x3e, 0x09, 0x7c, 0x24, 0xff, 0x00, 0x53, 0xfe,
    0x8b, 0xe9, 0xda, 0x80, 0x3b, 0x3f, 0xda, 0xa7, 0xf6, 0x8e, 0xf8, 0x7f, 0xfb, 0x18, 0xfc, 0x0e,
    0x9f, 0xc7, 0x7e, 0x21, 0xd3, 0xae, 0xf5, 0x09, 0x9a, 0xed, 0x2c, 0x2c, 0x34, 0xdb, 0x01, 0xb4,
    0xea, 0x17, 0xcf, 0x1c, 0x8e, 0x96, 0x86, 0x4d, 0xa4, 0x44, 0xa5, 0x63, 0x77, 0x92, 0x43, 0xc2,
    0xa4, 0x6c, 0x00, 0x91, 0xc8, 0x8d, 0xbf, 0x8d, 0xfc, 0x74, 0xf1, 0x12, 0xb7, 0x1d, 0x66, 0x92,
    0xf0, 0xd7, 0x84, 0xf1, 0x2e, 0x35, 0x2e, 0xde, 0x3a, 0xbc, 0x64, 0xb9, 0x29, 0xd2, 0x8f, 0xbb,
    0x3c, 0x3a, 0xfb, 0x55, 0x26, 0xe5, 0x28, 0xaa, 0xb1, 0x84, 0xa2, 0x93, 0x4a, 0x8c, 0xe4, 0xd4,
    0xab, 0xaa, 0x7f, 0xb2, 0xf8, 0x37, 0xe1, 0x66, 0x6f, 0xe2, 0x57, 0x14, 0x53, 0xc0, 0xe1, 0xdc,
    0x60, 0x94, 0x5c, 0xe5, 0x39, 0x6b, 0xc9, 0x4d, 0x38, 0xa7, 0x53, 0x96, 0xe9, 0xc9, 0xde, 0x4a,
    0x30, 0x8a, 0xf8, 0xa5, 0x24, 0xdb, 0x84, 0x53, 0x9a, 0xff, 0xd9,
};

static char g_root[256];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void make_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", g_root, name);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "%s", out);
    CHECK(mkdir(cmd, 0755) == 0);
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

/* A deterministic test image with structure in both directions. */
static unsigned char *make_pixels(int h, int w, int c, uint64_t seed) {
    unsigned char *p = malloc((size_t)h * w * c);
    for (int i = 0; i < h * w * c; i++)
        p[i] = (unsigned char)(test_rng_next(&seed) & 0xff);
    return p;
}

static void write_png(const char *dir, const char *name, int h, int w, int c, const unsigned char *px) {
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    CHECK(stbi_write_png(p, w, h, c, px, w * c) != 0);
}

/* ---- reference: cv2.resize(img, (rw, rh), interpolation=cv2.INTER_LINEAR), value rounded to uint8 ---- */
static float ref_sample(const unsigned char *px, int h, int w, int c, int ch, int rh, int rw, int y, int x) {
    double scy = (double)h / rh, scx = (double)w / rw; /* OpenCV: 1/(dst/src); equal here up to an ulp */
    float fy = (float)((y + 0.5) * scy - 0.5), fx = (float)((x + 0.5) * scx - 0.5);
    int y0 = (int)floorf(fy), x0 = (int)floorf(fx);
    fy -= (float)y0;
    fx -= (float)x0;
    if (y0 < 0) y0 = 0, fy = 0;
    if (x0 < 0) x0 = 0, fx = 0;
    if (y0 >= h - 1) y0 = h - 1, fy = 0;
    if (x0 >= w - 1) x0 = w - 1, fx = 0;
    int y1 = y0 + 1 < h ? y0 + 1 : y0, x1 = x0 + 1 < w ? x0 + 1 : x0;
#define P(yy, xx) ((float)px[((yy) * w + (xx)) * c + ch])
    float v = (1 - fy) * ((1 - fx) * P(y0, x0) + fx * P(y0, x1)) + fy * ((1 - fx) * P(y1, x0) + fx * P(y1, x1));
#undef P
    return floorf(v + 0.5f);
}

/* Compare out [C, OH, OW] (NCHW) against the reference of region rows/cols of a virtual rh x rw resize. */
static void check_region(const float *out, int OH, int OW, int C, const unsigned char *px, int h, int w, int rh,
                         int rw, int cy, int cx, int fill_h, int fill_w, float pad, const char *what) {
    int bad = 0, worst_y = -1, worst_x = -1;
    float worst = 0;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
                float want = pad;
                if (y < fill_h && x < fill_w)
                    want = ref_sample(px, h, w, C, c, rh, rw, y + cy, x + cx) / 255.0f;
                float got = out[((size_t)c * OH + y) * OW + x];
                float d = fabsf(got - want);
                if (d > 1e-6f) {
                    bad++;
                    if (d > worst)
                        worst = d, worst_y = y, worst_x = x;
                }
            }
    CHECK_MSG(bad == 0, "%s: %d of %d values differ, worst %g at (%d, %d)", what, bad, C * OH * OW, worst, worst_y,
              worst_x);
}

static struct oq_data_input img_input(const char *name, int64_t c, int64_t h, int64_t w) {
    struct oq_data_input in = {.name = name, .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, c, h, w}};
    return in;
}

static oq_status open_src(const char *spec, const char *pp, struct oq_data_input *in, int n_in, int bs, int maxb,
                          struct oq_data_source **s, oq_error *err) {
    struct oq_data_options o = oq_data_options_default();
    o.spec = spec;
    o.preprocess = pp;
    o.inputs = in;
    o.n_inputs = n_in;
    o.batch_size = bs;
    o.max_batches = maxb;
    memset(err, 0, sizeof(*err));
    return oq_data_open(&o, s, err);
}

/* Open on a one-image folder and return the first batch's tensor 0 (source kept open in *s). */
static const oq_tensor_ref *one(const char *dir, const char *pp, struct oq_data_input in, struct oq_data_source **s) {
    oq_error err = {0};
    static struct oq_data_input keep;
    keep = in;
    *s = NULL;
    CHECK_OK(open_src(dir, pp, &keep, 1, 1, 0, s, &err), &err);
    if (!*s)
        return NULL;
    const oq_tensor_ref *b = NULL;
    int n = 0;
    CHECK_OK(oq_data_next(*s, &b, &n, &err), &err);
    CHECK(n == 1);
    return n == 1 ? &b[0] : NULL;
}

static void test_opencv_1d(void) {
    /* The well-known cv2.resize result: [0, 100] upsampled to 4 gives [0, 25, 75, 100]. */
    struct oq_preprocess p = {.resize = OQ_PP_RESIZE_STRETCH, .height = 1, .width = 4, .channels = 1, .scale = 1,
                              .std = {1, 1, 1}, .n_mean = 1, .n_std = 1};
    unsigned char px[2] = {0, 100};
    struct oq_pp_geometry g;
    oq_preprocess_geometry(&p, 1, 2, &g);
    float out[4];
    oq_preprocess_run(&p, &g, px, 1, 2, out);
    CHECK(out[0] == 0 && out[1] == 25 && out[2] == 75 && out[3] == 100);
    /* exact 2x downscale averages pixel pairs (what cv2's INTER_AREA shortcut for this case gives too) */
    unsigned char q[4] = {10, 20, 31, 41};
    p.width = 2;
    oq_preprocess_geometry(&p, 1, 4, &g);
    oq_preprocess_run(&p, &g, q, 1, 4, out);
    CHECK(out[0] == 15 && out[1] == 36); /* 15, 36 (35.5 rounds up) */
}

static void test_resize_modes(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "modes");
    const int h = 10, w = 20;
    unsigned char *px = make_pixels(h, w, 3, 42);
    write_png(dir, "img.png", h, w, 3, px);
    struct oq_data_source *s;
    const oq_tensor_ref *t;

    /* stretch, downscale in one direction and upscale in the other */
    t = one(dir, "{\"x\": {\"size\": [13, 9]}}", img_input("x", 3, -1, -1), &s);
    if (t) {
        CHECK(t->ndim == 4 && t->dims[0] == 1 && t->dims[1] == 3 && t->dims[2] == 13 && t->dims[3] == 9);
        check_region(t->data, 13, 9, 3, px, h, w, 13, 9, 0, 0, 13, 9, 0, "stretch 13x9");
    }
    oq_data_close(s);
    /* size taken from the input's fixed dims */
    t = one(dir, "{\"x\": {}}", img_input("x", 3, 7, 31), &s);
    if (t) {
        CHECK(t->dims[2] == 7 && t->dims[3] == 31);
        check_region(t->data, 7, 31, 3, px, h, w, 7, 31, 0, 0, 7, 31, 0, "stretch from shape");
    }
    oq_data_close(s);
    /* keep_ratio_pad: 10x20 into 8x8 is width-limited: 8 wide, ceil(8*10/20) = 4 high, top-left, pad below */
    t = one(dir, "{\"x\": {\"resize\": \"keep_ratio_pad\", \"size\": [8, 8], \"pad_value\": -1}}",
            img_input("x", 3, -1, -1), &s);
    if (t)
        check_region(t->data, 8, 8, 3, px, h, w, 4, 8, 0, 0, 4, 8, -1, "keep_ratio_pad 8x8");
    oq_data_close(s);
    /* keep_ratio_pad height-limited: 10x20 into 5x30 -> 5 x 10, pad right */
    t = one(dir, "{\"x\": {\"resize\": \"keep_ratio_pad\", \"size\": [5, 30], \"pad_value\": 0.25}}",
            img_input("x", 3, -1, -1), &s);
    if (t)
        check_region(t->data, 5, 30, 3, px, h, w, 5, 10, 0, 0, 5, 10, 0.25f, "keep_ratio_pad 5x30");
    oq_data_close(s);
    /* fixed_height_pad (PaddleOCR rec): height 6, width ceil(6*20/10) = 12 of 16, then a capped case */
    t = one(dir, "{\"x\": {\"resize\": \"fixed_height_pad\", \"size\": [6, 16]}}", img_input("x", 3, 6, -1), &s);
    if (t)
        check_region(t->data, 6, 16, 3, px, h, w, 6, 12, 0, 0, 6, 12, 0, "fixed_height_pad 6x16");
    oq_data_close(s);
    t = one(dir, "{\"x\": {\"resize\": \"fixed_height_pad\", \"size\": [6, 8]}}", img_input("x", 3, -1, -1), &s);
    if (t)
        check_region(t->data, 6, 8, 3, px, h, w, 6, 8, 0, 0, 6, 8, 0, "fixed_height_pad capped");
    oq_data_close(s);
    /* short_side_crop: short side 8 -> 8 x round(20*8/10)=16, center crop 6x6 at (1, 5) */
    t = one(dir, "{\"x\": {\"resize\": \"short_side_crop\", \"short_side\": 8, \"size\": [6, 6]}}",
            img_input("x", 3, -1, -1), &s);
    if (t)
        check_region(t->data, 6, 6, 3, px, h, w, 8, 16, 1, 5, 6, 6, 0, "short_side_crop");
    oq_data_close(s);
    free(px);

    /* multiple_of_32 (PaddleOCR det): 50x70 -> round(50/32)=2, round(70/32)=2 -> 64x64 */
    char d2[300];
    make_dir(d2, sizeof(d2), "m32");
    unsigned char *p2 = make_pixels(50, 70, 3, 7);
    write_png(d2, "a.png", 50, 70, 3, p2);
    t = one(d2, "{\"x\": {\"size\": \"multiple_of_32\"}}", img_input("x", 3, -1, -1), &s);
    if (t) {
        CHECK(t->dims[2] == 64 && t->dims[3] == 64);
        check_region(t->data, 64, 64, 3, p2, 50, 70, 64, 64, 0, 0, 64, 64, 0, "multiple_of_32");
    }
    oq_data_close(s);
    /* with max_side 64: ratio 64/70 -> int(45.7)=45 -> round(1.43)=1 -> 32; int(64.0)=64 -> 64 */
    t = one(d2, "{\"x\": {\"size\": \"multiple_of_32\", \"max_side\": 64}}", img_input("x", 3, -1, -1), &s);
    if (t)
        CHECK(t->dims[2] == 32 && t->dims[3] == 64);
    oq_data_close(s);
    free(p2);
}

static void test_normalize_layout(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "norm");
    const int h = 4, w = 5;
    unsigned char *px = make_pixels(h, w, 3, 9);
    write_png(dir, "a.png", h, w, 3, px);
    struct oq_data_source *s;
    /* same size: resize is the identity, so the values are exactly the normalized pixels */
    const char *spec = "{\"x\": {\"size\": [4, 5], \"scale\": 0.00392156862745098, \"mean\": [0.1, 0.2, 0.3], "
                       "\"std\": [0.5, 0.25, 2], \"channel_order\": \"BGR\"}}";
    const oq_tensor_ref *t = one(dir, spec, img_input("x", 3, -1, -1), &s);
    const float mean[3] = {0.1f, 0.2f, 0.3f}, sd[3] = {0.5f, 0.25f, 2.0f};
    int bad = 0;
    if (t)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < h * w; i++) {
                float want = ((float)px[i * 3 + (2 - c)] * (float)0.00392156862745098 - mean[c]) / sd[c];
                bad += fabsf(((float *)t->data)[c * h * w + i] - want) > 1e-6f;
            }
    CHECK_MSG(bad == 0, "BGR + mean/std: %d values differ", bad);
    oq_data_close(s);
    /* NHWC, RGB, scale only (mean 0, std 1) */
    t = one(dir, "{\"x\": {\"layout\": \"NHWC\", \"scale\": 1}}",
            (struct oq_data_input){.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {-1, 4, 5, 3}}, &s);
    bad = 0;
    if (t) {
        CHECK(t->dims[1] == 4 && t->dims[2] == 5 && t->dims[3] == 3);
        for (int i = 0; i < h * w * 3; i++)
            bad += ((float *)t->data)[i] != (float)px[i];
    }
    CHECK_MSG(bad == 0, "NHWC: %d values differ", bad);
    oq_data_close(s);
    /* gray input: channels from the input's C dim (1) -> stb luma */
    t = one(dir, "{\"x\": {\"scale\": 1}}", img_input("x", 1, 4, 5), &s);
    bad = 0;
    if (t)
        for (int i = 0; i < h * w; i++) {
            int luma = (px[i * 3] * 77 + px[i * 3 + 1] * 150 + px[i * 3 + 2] * 29) >> 8;
            bad += ((float *)t->data)[i] != (float)luma;
        }
    CHECK_MSG(bad == 0, "gray: %d values differ", bad);
    oq_data_close(s);
    free(px);
}

static void test_formats(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "fmt");
    const int h = 16, w = 24;
    /* a smooth image so JPEG stays close */
    unsigned char *px = malloc(h * w * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                px[(y * w + x) * 3 + c] = (unsigned char)(40 + 6 * x + 5 * y + 20 * c);
    char p[512];
    snprintf(p, sizeof(p), "%s/a.BMP", dir);
    CHECK(stbi_write_bmp(p, w, h, 3, px));
    /* JPEG from Pillow (embedded): stb_image_write's JPEG encoder shifts into the sign bit, which UBSan rejects */
    write_file(dir, "b.jpg", jpeg_gradient, sizeof(jpeg_gradient));
    snprintf(p, sizeof(p), "%s/c.png", dir);
    CHECK(stbi_write_png(p, w, h, 3, px, w * 3));
    write_file(dir, "notes.txt", "hi", 2);
    struct oq_data_input in = img_input("x", 3, h, w);
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(dir, "{\"x\": {\"scale\": 1}}", &in, 1, 3, 0, &s, &err), &err);
    if (s) {
        struct oq_data_stats st = oq_data_stats_get(s);
        CHECK(st.samples_found == 3 && st.files_skipped == 1 && st.batches_planned == 1);
        const oq_tensor_ref *b;
        int n = 0;
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 3 && b[0].dims[0] == 3);
        if (n == 3) {
            const float *o = b[0].data;
            int64_t plane = 3 * h * w;
            int bad_bmp = 0, bad_png = 0;
            double jpg_err = 0;
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < h * w; i++) {
                    float want = px[i * 3 + c];
                    bad_bmp += o[0 * plane + c * h * w + i] != want;
                    jpg_err += fabs(o[1 * plane + c * h * w + i] - want);
                    bad_png += o[2 * plane + c * h * w + i] != want;
                }
            CHECK(bad_bmp == 0 && bad_png == 0);
            CHECK_MSG(jpg_err / plane < 1.5, "jpeg mean abs error %g", jpg_err / plane);
        }
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 0 && b == NULL);
    }
    oq_data_close(s);
    free(px);
}

static void test_batching(void) {
    char dir[300];
    make_dir(dir, sizeof(dir), "batch");
    /* constant images named out of order: value tells which file a sample came from */
    const char *names[] = {"e.png", "b.png", "d.png", "a.png", "c.png"};
    const int vals[] = {50, 20, 40, 10, 30};
    for (int k = 0; k < 5; k++) {
        unsigned char px[6 * 8 * 3];
        memset(px, vals[k], sizeof(px));
        write_png(dir, names[k], 6, 8, 3, px);
    }
    struct oq_data_input in = img_input("x", 3, -1, -1);
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(dir, "{\"x\": {\"size\": [6, 8], \"scale\": 1}}", &in, 1, 2, 0, &s, &err), &err);
    if (s) {
        struct oq_data_stats st = oq_data_stats_get(s);
        CHECK(st.samples_found == 5 && st.samples_planned == 5 && st.batches_planned == 3);
        const oq_tensor_ref *b;
        int n, k = 0, sizes[3] = {2, 2, 1}, nb = 0;
        void *first = NULL;
        while (!oq_data_next(s, &b, &n, &err) && n > 0) {
            CHECK(nb < 3 && n == sizes[nb] && b[0].dims[0] == n);
            if (!first)
                first = b[0].data;
            CHECK(b[0].data == first); /* one buffer, reused */
            for (int j = 0; j < n; j++, k++)
                CHECK(((float *)b[0].data)[j * 3 * 6 * 8] == (float)(10 * (k + 1))); /* sorted a..e */
            nb++;
        }
        CHECK(nb == 3 && oq_data_stats_get(s).samples_read == 5);
        oq_data_rewind(s);
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 2 && ((float *)b[0].data)[0] == 10.0f);
    }
    oq_data_close(s);
    /* --batches caps; asking for more than exists is reported through the stats */
    CHECK_OK(open_src(dir, "{\"x\": {\"size\": [6, 8]}}", &in, 1, 2, 2, &s, &err), &err);
    if (s) {
        struct oq_data_stats st = oq_data_stats_get(s);
        CHECK(st.samples_planned == 4 && st.batches_planned == 2 && st.samples_requested == 4);
    }
    oq_data_close(s);
    CHECK_OK(open_src(dir, "{\"x\": {\"size\": [6, 8]}}", &in, 1, 4, 3, &s, &err), &err);
    if (s) {
        struct oq_data_stats st = oq_data_stats_get(s);
        CHECK(st.samples_requested == 12 && st.samples_planned == 5);
    }
    oq_data_close(s);
    /* a fixed batch dim of 2: the fifth sample cannot fill a batch, it is dropped and counted */
    struct oq_data_input fixed = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {2, 3, 6, 8}};
    CHECK_OK(open_src(dir, "{\"x\": {}}", &fixed, 1, 2, 0, &s, &err), &err);
    if (s) {
        struct oq_data_stats st = oq_data_stats_get(s);
        CHECK(st.samples_planned == 4 && st.samples_dropped == 1 && st.batches_planned == 2);
    }
    oq_data_close(s);
    /* single image file as the spec */
    char one_file[400];
    snprintf(one_file, sizeof(one_file), "%s/c.png", dir);
    CHECK_OK(open_src(one_file, "{\"x\": {\"size\": [6, 8], \"scale\": 1}}", &in, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK(!oq_data_next(s, &b, &n, &err) && n == 1 && ((float *)b[0].data)[0] == 30.0f);
    }
    oq_data_close(s);
}

/* Expect open to fail with code and a message containing every needle. */
static void expect_open_fail(const char *spec, const char *pp, struct oq_data_input *in, int n_in, int bs,
                             oq_status code, const char *n1, const char *n2) {
    struct oq_data_source *s = NULL;
    oq_error err;
    oq_status st = open_src(spec, pp, in, n_in, bs, 0, &s, &err);
    CHECK_MSG(st == code, "spec '%s' pp '%s': got %s (%s), want %s", spec, pp ? pp : "-", oq_status_str(st), err.msg,
              oq_status_str(code));
    CHECK_MSG(!n1 || strstr(err.msg, n1), "message '%s' lacks '%s'", err.msg, n1);
    CHECK_MSG(!n2 || strstr(err.msg, n2), "message '%s' lacks '%s'", err.msg, n2);
    CHECK(s == NULL);
    oq_data_close(s);
}

static void test_errors(void) {
    struct oq_data_input in = img_input("x", 3, -1, -1);
    const char *pp = "{\"x\": {\"size\": [8, 8]}}";
    char empty[300], other[300], bad[300], ok[300];
    make_dir(empty, sizeof(empty), "empty");
    expect_open_fail(empty, pp, &in, 1, 1, OQ_ERR_ARG, "no images (.jpg/.jpeg/.png/.bmp) found in", "0 other files");
    expect_open_fail(empty, NULL, &in, 1, 1, OQ_ERR_ARG, "no calibration samples found", "one sub-folder per input");
    make_dir(other, sizeof(other), "other");
    write_file(other, "a.txt", "x", 1);
    write_file(other, "b.json", "{}", 2);
    write_file(other, "readme", "", 0);
    expect_open_fail(other, pp, &in, 1, 1, OQ_ERR_ARG, "no images", "3 other files were skipped");
    expect_open_fail("/nonexistent/calib", pp, &in, 1, 1, OQ_ERR_IO, "/nonexistent/calib", "expected a folder");

    make_dir(ok, sizeof(ok), "ok");
    unsigned char px[8 * 8 * 3] = {0};
    write_png(ok, "a.png", 8, 8, 3, px);
    /* spec errors name the key and what is expected */
    expect_open_fail(ok, "{\"x\": {\"size\": [8, 8],}", &in, 1, 1, OQ_ERR_ARG, "not valid JSON", "line 1");
    expect_open_fail(ok, "{\"x\": {\"sise\": [8, 8]}}", &in, 1, 1, OQ_ERR_ARG, "unknown key \"sise\"", "valid keys");
    expect_open_fail(ok, "{\"y\": {\"size\": [8, 8]}}", &in, 1, 1, OQ_ERR_ARG, "\"y\" is not a model input",
                     "inputs: x");
    expect_open_fail(ok, "{\"x\": {\"resize\": \"crop\", \"size\": [8, 8]}}", &in, 1, 1, OQ_ERR_ARG, "x.resize",
                     "keep_ratio_pad");
    expect_open_fail(ok, "{\"x\": {\"size\": [8]}}", &in, 1, 1, OQ_ERR_ARG, "x.size", "[height, width]");
    expect_open_fail(ok, "{\"x\": {\"size\": [8, 8], \"std\": [1, 0, 1]}}", &in, 1, 1, OQ_ERR_ARG, "x.std",
                     "nonzero");
    expect_open_fail(ok, "{\"x\": {\"size\": [8, 8], \"mean\": [1, 2]}}", &in, 1, 1, OQ_ERR_ARG, "x.mean", "1 or 3");
    expect_open_fail(ok, "{\"x\": {\"size\": [8, 8], \"channel_order\": \"rgb\"}}", &in, 1, 1, OQ_ERR_ARG,
                     "x.channel_order", "\"BGR\"");
    expect_open_fail(ok, "{\"x\": {\"size\": [8, 8], \"pad_value\": 1}}", &in, 1, 1, OQ_ERR_ARG, "x.pad_value",
                     "keep_ratio_pad");
    expect_open_fail(ok, "{\"x\": {\"size\": [8, 8], \"max_side\": 640}}", &in, 1, 1, OQ_ERR_ARG, "x.max_side",
                     "multiple_of_32");
    expect_open_fail(ok, "{\"x\": {\"resize\": \"short_side_crop\", \"size\": [8, 8], \"short_side\": 4}}", &in, 1, 1,
                     OQ_ERR_ARG, "x.short_side 4", "at least 8");
    expect_open_fail(ok, "[1, 2]", &in, 1, 1, OQ_ERR_ARG, "expected an object keyed by input name", NULL);
    expect_open_fail(ok, "/nonexistent/pp.json", &in, 1, 1, OQ_ERR_IO, "neither JSON text", "pp.json");
    expect_open_fail(ok, "{\"x\": {}}", &in, 1, 1, OQ_ERR_ARG, "x.size is required", "[?,3,?,?]");
    expect_open_fail(ok, NULL, &in, 1, 1, OQ_ERR_ARG, "no preprocessing spec", "--preprocess");
    /* spec vs. input shape */
    struct oq_data_input fixed = img_input("x", 3, 48, 320);
    expect_open_fail(ok, "{\"x\": {\"size\": [32, 100]}}", &fixed, 1, 1, OQ_ERR_SHAPE, "[?,3,48,320]", "[32, 100]");
    struct oq_data_input four = img_input("x", 4, -1, -1);
    expect_open_fail(ok, pp, &four, 1, 1, OQ_ERR_SHAPE, "4 channels", "layout");
    expect_open_fail(ok, "{\"x\": {\"size\": \"multiple_of_32\"}}", &in, 1, 2, OQ_ERR_ARG, "multiple_of_32",
                     "--batch-size 1");
    struct oq_data_input two[2] = {img_input("x", 3, -1, -1), img_input("y", 3, -1, -1)};
    expect_open_fail(ok, pp, two, 2, 1, OQ_ERR_ARG, "input 'y' has no preprocessing entry", NULL);
    struct oq_data_input fb = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 3, 8, 8}};
    expect_open_fail(ok, pp, &fb, 1, 4, OQ_ERR_SHAPE, "fixed batch dim of 1", "--batch-size 4");
    /* mixed kinds */
    char mixed[300];
    make_dir(mixed, sizeof(mixed), "mixed");
    write_png(mixed, "a.png", 8, 8, 3, px);
    write_file(mixed, "b.npz", "PK", 2);
    expect_open_fail(mixed, pp, &in, 1, 1, OQ_ERR_ARG, "mixes", "1 images, 1 .npz");

    /* an unreadable image fails when it is read, naming the file; the batch before it is fine */
    make_dir(bad, sizeof(bad), "bad");
    write_png(bad, "a.png", 8, 8, 3, px);
    write_file(bad, "b.png", "not really a png", 16);
    struct oq_data_source *s = NULL;
    oq_error err;
    CHECK_OK(open_src(bad, pp, &in, 1, 1, 0, &s, &err), &err);
    if (s) {
        const oq_tensor_ref *b;
        int n;
        CHECK_OK(oq_data_next(s, &b, &n, &err), &err);
        CHECK(n == 1);
        oq_status st = oq_data_next(s, &b, &n, &err);
        CHECK(st == OQ_ERR_IO && strstr(err.msg, "b.png") && strstr(err.msg, "cannot decode"));
    }
    oq_data_close(s);
}

int main(void) {
    snprintf(g_root, sizeof(g_root), "%s/oq_data_img_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_opencv_1d();
    test_resize_modes();
    test_normalize_layout();
    test_formats();
    test_batching();
    test_errors();
    nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
