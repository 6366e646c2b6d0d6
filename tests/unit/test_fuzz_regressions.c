/* Regression tests for what the libFuzzer targets (tests/fuzz, tools/fuzz.sh) found. Each case is the
 * smallest input that shows the bug, written out by hand from the fuzzer's reproducer; each check fails on
 * the code before the fix (on x86-64: the old behaviour is noted per case). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "data/image.h"
#include "graph_builder.h"
#include "data/npy.h"
#include "data/preprocess.h"
#include "quant/config.h"
#include "test_util.h"

#define EXPECT_ERR(expr, err, code_, needle)                                                                 \
    do {                                                                                                     \
        oq_status s_ = (expr);                                                                               \
        CHECK_MSG(s_ == (code_) && strstr((err).msg, (needle)) != NULL,                                      \
                  "%s: got %s: %s",                                                                          \
                  #expr,                                                                                     \
                  oq_status_str(s_),                                                                         \
                  (err).msg);                                                                                \
    } while (0)

/* fuzz_npy: a .npy header whose shape product overflows int64 (4294967296 x 4294967296 x 16) was signed
 * overflow in oq_shape_numel (UB; in practice a wrapped size that could pass the length check). */
static void npy_shape_overflow(void) {
    const char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }";
    unsigned char buf[10 + sizeof(hdr) + 16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    size_t hl                                = sizeof(hdr) - 1;
    buf[8]                                   = (unsigned char)hl;
    buf[9]                                   = 0;
    memcpy(buf + 10, hdr, hl);
    oq_error err = {0};
    oq_tensor_ref t;
    EXPECT_ERR(oq_npy_parse(buf, 10 + hl + 16, "big.npy", &t, &err), err, OQ_ERR_IO, "impossibly large");
    CHECK(t.data == NULL);
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xFFFF), put16(p + 2, v >> 16); }

/* fuzz_npy: a 100-byte .npz whose deflated member claims 1.5 GiB made the reader allocate that much before
 * inflating (deflate expands at most 1032:1, so such a claim is corrupt on its face). */
static void npz_size_claim(void) {
    unsigned char z[30 + 5 + 10 + 46 + 5 + 22] = {0};
    uint32_t csize = 10, usize = 3u << 29;
    unsigned char *lh = z, *cd = z + 30 + 5 + 10, *eocd = cd + 46 + 5;
    put32(lh, 0x04034b50), put16(lh + 4, 20), put16(lh + 8, 8), put32(lh + 18, csize), put32(lh + 22, usize);
    put16(lh + 26, 5), memcpy(lh + 30, "x.npy", 5);
    put32(cd, 0x02014b50), put16(cd + 4, 20), put16(cd + 6, 20), put16(cd + 10, 8), put32(cd + 20, csize);
    put32(cd + 24, usize), put16(cd + 28, 5), memcpy(cd + 46, "x.npy", 5);
    put32(eocd, 0x06054b50), put16(eocd + 8, 1), put16(eocd + 10, 1), put32(eocd + 12, 46 + 5);
    put32(eocd + 16, (uint32_t)(cd - z));
    oq_error err = {0};
    int n = -1;
    struct oq_npz_array *a = NULL;
    EXPECT_ERR(oq_npz_parse(z, sizeof(z), "s.npz", &n, &a, &err), err, OQ_ERR_IO,
               "'s.npz:x.npy': member claims 1610612736 bytes from 10 compressed bytes (corrupt file)");
    CHECK(n == 0 && a == NULL);
}

/* fuzz_config: "hist_bins": 5.12e24 and "pow2_range": [1e10, 1e10] were converted to int32 before any range
 * check (UB; x86 gave INT_MIN, so pow2_range was silently accepted when power_of_two was off). */
static void config_int_conversion(void) {
    oq_error err              = {0};
    struct oq_quant_config *c = NULL;
    EXPECT_ERR(oq_quant_config_parse(
                   "{\"activation\": {\"algorithm\": \"mse\", \"hist_bins\": 5122222222222222222222222}}",
                   "cfg.json",
                   &c,
                   &err),
               err,
               OQ_ERR_ARG,
               "activation.hist_bins is 5.12222e+24");
    CHECK(c == NULL);
    memset(&err, 0, sizeof(err));
    EXPECT_ERR(oq_quant_config_parse("{\"weight\": {\"pow2_range\": [1e10, 1e10]}}", "cfg.json", &c, &err),
               err,
               OQ_ERR_ARG,
               "weight.pow2_range [1e+10, 1e+10] is invalid");
    CHECK(c == NULL);
    memset(&err, 0, sizeof(err));
    EXPECT_ERR(oq_quant_config_parse("{\"activation\": {\"hist_bins\": 300.5}}", "cfg.json", &c, &err),
               err,
               OQ_ERR_ARG,
               "whole number");
    /* the valid forms still parse */
    memset(&err, 0, sizeof(err));
    CHECK_OK(oq_quant_config_parse(
                 "{\"activation\": {\"hist_bins\": 4096, \"pow2_range\": [-3, 20]}}", "cfg.json", &c, &err),
             &err);
    CHECK(c && c->act.hist_bins == 4096 && c->act.pow2_min == -3 && c->act.pow2_max == 20);
    oq_quant_config_free(c);
}

/* fuzz_preprocess: short_side_crop of a 1-pixel-high image 2^24 pixels wide scales the long side to 2^32
 * (UB in the conversion to int32; x86 gave INT_MIN, which the geometry then clamped to the crop width, so the
 * whole 16M-pixel row was squeezed into the crop instead of its center being cut out). */
static void preprocess_short_side_overflow(void) {
    const char *names[] = {"x"};
    struct oq_preprocess p;
    bool present;
    oq_error err = {0};
    CHECK_OK(oq_preprocess_parse("{\"x\": {\"resize\": \"short_side_crop\", \"size\": [224, 224], "
                                 "\"short_side\": 256}}",
                                 1,
                                 names,
                                 &p,
                                 &present,
                                 &err),
             &err);
    int64_t dims[4] = {1, 1, 224, 224}; /* gray: a 16 MiB source row */
    CHECK_OK(oq_preprocess_bind(&p, "x", 4, dims, &err), &err);
    struct oq_pp_geometry g;
    oq_preprocess_geometry(&p, 1, 1 << 24, &g);
    CHECK_MSG(g.rh == 256 && g.rw == INT32_MAX, "resized to %dx%d", g.rh, g.rw);
    CHECK_MSG(g.fill_w == 224 && g.crop_x > 0 && (int64_t)g.crop_x + g.fill_w <= g.rw,
              "crop x %d + %d of %d",
              g.crop_x,
              g.fill_w,
              g.rw);
    /* the pipeline samples the middle of the row: source column ~2^23 */
    static uint8_t row[1 << 24];
    for (int32_t x = 0; x < (1 << 24); x++)
        row[x] = x < (1 << 23) - 1000 || x > (1 << 23) + 1000 ? 0 : 200;
    static float out[224 * 224];
    oq_preprocess_run(&p, &g, row, 1, 1 << 24, out);
    CHECK_MSG(fabsf(out[112] - 200.0f / 255.0f) < 1e-6f, "center pixel %g", (double)out[112]);
}

/* fuzz_image: a JPEG whose DHT segment declares 510 Huffman codes (two counts of 255): stb_image 2.27 writes
 * past its 257-entry tables (a heap overflow; stb checks this only from 2.28). SOI, DHT, EOF. */
static void jpeg_huffman_overflow(void) {
    unsigned char jpg[4 + 2 + 17] = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 19, 0x00, 0xFF, 0xFF};
    oq_error err                  = {0};
    uint8_t *px                   = NULL;
    int h = 0, w = 0;
    EXPECT_ERR(oq_image_decode(jpg, sizeof(jpg), "bad.jpg", 3, &px, &h, &w, &err),
               err,
               OQ_ERR_IO,
               "a Huffman table has more than 256 codes");
    CHECK(px == NULL);
    /* the same behind fill bytes before SOI, which stb skips */
    unsigned char jpg2[2 + sizeof(jpg)] = {0xFF, 0xFF};
    memcpy(jpg2 + 2, jpg, sizeof(jpg));
    memset(&err, 0, sizeof(err));
    EXPECT_ERR(oq_image_decode(jpg2 + 1, sizeof(jpg2) - 1, "bad.jpg", 3, &px, &h, &w, &err),
               err,
               OQ_ERR_IO,
               "more than 256 codes");
}

/* fuzz_image (CI run of 2026-12-07): an 808-byte progressive JPEG whose first AC scans use AC Huffman tables
 * that are only defined later in the file; stb 2.27 decodes with the uninitialized table and read values[-89]
 * (UBSan index out of bounds). The fuzzer's reproducer, as found. */
static const unsigned char jpeg_bad_index[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x10, 0x0b, 0x0c, 0x0e, 0x2c, 0x0a, 0x10, 0x0e, 0x0d, 0x0e, 0x12,
    0x11, 0x10, 0x13, 0x18, 0x28, 0x1a, 0x18, 0x16, 0x16, 0x18, 0x30, 0x23, 0x25, 0x1d, 0x28, 0x3a, 0x33, 0x3d,
    0x3c, 0x39, 0x33, 0x38, 0x37, 0x40, 0x48, 0x5c, 0x4e, 0x40, 0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6d, 0x51,
    0x57, 0x5f, 0x62, 0x67, 0x68, 0x67, 0x3e, 0x4d, 0x71, 0x79, 0x70, 0x64, 0x78, 0x5c, 0x65, 0x67, 0x63, 0xff,
    0xdb, 0x00, 0x43, 0x01, 0x11, 0x12, 0x12, 0x18, 0x15, 0x18, 0x2f, 0x1a, 0x1a, 0x99, 0x99, 0x99, 0x99, 0x99,
    0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99,
    0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99,
    0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99,
    0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99,
    0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99,
    0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x2f, 0x63, 0x42, 0x38, 0x42, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0xff, 0xc2, 0x00, 0x11, 0x08, 0x00, 0x2b, 0x00, 0x40, 0x03,
    0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00, 0x1a, 0x00, 0x00, 0x03, 0x01, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x04, 0x05, 0x00, 0x01,
    0x06, 0xff, 0xc4, 0x00, 0x18, 0x01, 0x00, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x10,
    0x03, 0x10, 0x00, 0x00, 0x01, 0xc5, 0xb1, 0x85, 0x8f, 0x45, 0x14, 0xa9, 0x52, 0xec, 0x94, 0xda, 0x13, 0xbe,
    0x77, 0xa1, 0x12, 0x5b, 0x9e, 0xe9, 0xd6, 0x63, 0x2e, 0xa7, 0x72, 0x34, 0xf1, 0x3b, 0x0a, 0x72, 0xff, 0xda,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x11,
    0x02, 0x10, 0x12, 0x31, 0x51, 0xff, 0xda, 0x00, 0x08, 0x01, 0x03, 0x01, 0x01, 0x3f, 0x01, 0xce, 0x08, 0x6f,
    0xd4, 0xa6, 0xe6, 0x6b, 0x38, 0x6e, 0xc4, 0x33, 0x5a, 0xf6, 0x40, 0xbe, 0xd1, 0x0c, 0xbe, 0x00, 0x6b, 0xdc,
    0x73, 0x1f, 0x03, 0x70, 0xef, 0x3d, 0xa1, 0xa4, 0xc2, 0xa7, 0x53, 0x6b, 0x22, 0xab, 0x55, 0x72, 0x57, 0x6b,
    0x76, 0x96, 0x9d, 0xaa, 0x8a, 0xb8, 0x03, 0xad, 0x01, 0xa5, 0x10, 0x45, 0xf0, 0x76, 0x7b, 0x77, 0x07, 0x44,
    0x3c, 0x3d, 0x89, 0x00, 0x66, 0xbd, 0x33, 0x47, 0x00, 0xd9, 0x87, 0x19, 0x50, 0x8a, 0xd9, 0xcd, 0x4d, 0x6b,
    0xaa, 0xb5, 0xaa, 0x02, 0xaa, 0xeb, 0x75, 0xad, 0xcc, 0xcc, 0xd3, 0x14, 0x01, 0xd4, 0x1a, 0x41, 0xa4, 0xba,
    0x2c, 0x44, 0x00, 0x6f, 0xb7, 0xbb, 0xdd, 0x6e, 0x77, 0x3c, 0xba, 0xab, 0x46, 0x8c, 0x51, 0x0a, 0x73, 0xea,
    0x67, 0x26, 0x12, 0xd1, 0x7b, 0x29, 0xd3, 0x54, 0xeb, 0x34, 0x4d, 0x13, 0xb3, 0x08, 0xa0, 0x3a, 0x46, 0x44,
    0x3e, 0x03, 0x89, 0x23, 0xed, 0x64, 0x26, 0xc2, 0xad, 0xdd, 0xde, 0xde, 0xdd, 0x9d, 0xcf, 0x22, 0x80, 0x3b,
    0xb3, 0x3b, 0x91, 0xaa, 0xaa, 0x19, 0x90, 0xfa, 0xed, 0xf7, 0xab, 0x16, 0x6f, 0x1d, 0x25, 0x4d, 0xc2, 0xd6,
    0x11, 0x55, 0x2d, 0x79, 0x10, 0xa0, 0x8c, 0x3e, 0xc2, 0x7f, 0xff, 0xc4, 0x00, 0x18, 0x11, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x21, 0x11, 0x41,
    0xff, 0xda, 0x00, 0x08, 0x01, 0x02, 0x01, 0x01, 0x3f, 0x10, 0x6c, 0x12, 0x93, 0x0e, 0x91, 0x72, 0xe3, 0x0c,
    0x39, 0x46, 0x16, 0x20, 0x43, 0x2f, 0x48, 0xbd, 0x6f, 0xff, 0xc4, 0x00, 0x21, 0x10, 0x01, 0x00, 0x02, 0x02,
    0x03, 0x00, 0x02, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x11, 0x21, 0x41, 0x31,
    0x51, 0x61, 0x71, 0x81, 0x91, 0xa1, 0xc1, 0xe1, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3f, 0x00,
    0x00, 0x00, 0xfe, 0x10, 0x00, 0x2a, 0xbc, 0x04, 0x30, 0xca, 0xfe, 0x04, 0xb8, 0x00, 0x5c, 0x1c, 0x78, 0x7b,
    0x05, 0xb3, 0xed, 0xdb, 0xf8, 0x99, 0x41, 0xd5, 0x6d, 0x9f, 0xd8, 0x90, 0x95, 0x4f, 0x50, 0x71, 0xdf, 0xb3,
    0x29, 0x9b, 0xbe, 0x61, 0xe2, 0xcb, 0xcb, 0xb6, 0x21, 0x5f, 0xe1, 0x0d, 0x72, 0xa8, 0xd1, 0x88, 0xf7, 0x57,
    0x4d, 0x7d, 0xcb, 0x3f, 0x69, 0x6e, 0xcd, 0x9c, 0x1b, 0x8c, 0x34, 0xab, 0xa3, 0x4f, 0x9e, 0xca, 0xbc, 0xf2,
    0xe4, 0xf9, 0x35, 0x2a, 0x70, 0xc4, 0x81, 0x59, 0x86, 0x7f, 0x92, 0xd9, 0x0d, 0x8c, 0x71, 0x0e, 0x66, 0xdb,
    0xbf, 0x58, 0x23, 0x3f, 0xa9, 0xb7, 0x70, 0xd9, 0x22, 0x17, 0xa7, 0xb9, 0x95, 0x64, 0xce, 0xa6, 0x0a, 0xe8,
    0x77, 0x98, 0x2d, 0x34, 0xea, 0xe8, 0x94, 0x70, 0xe6, 0x64, 0x47, 0x89, 0xbf, 0x84, 0xff, 0xd9
};

static void jpeg_huffman_index(void) {
    oq_error err = {0};
    uint8_t *px  = NULL;
    int h = 0, w = 0;
    EXPECT_ERR(oq_image_decode(jpeg_bad_index, sizeof(jpeg_bad_index), "bad.jpg", 3, &px, &h, &w, &err), err,
               OQ_ERR_IO, "a scan uses a table never defined");
    CHECK(px == NULL);
}

/* BMP: file header + BITMAPINFOHEADER, 24 bits, no pixel data. */
static size_t bmp_header(unsigned char *b, int32_t w, int32_t h) {
    memset(b, 0, 54);
    b[0] = 'B', b[1] = 'M', b[10] = 54, b[14] = 40;
    for (int k = 0; k < 4; k++) {
        b[18 + k] = (unsigned char)((uint32_t)w >> (8 * k));
        b[22 + k] = (unsigned char)((uint32_t)h >> (8 * k));
    }
    b[26] = 1, b[28] = 24;
    return 54;
}

/* fuzz_image: a BMP of height 0 decoded "successfully" as an empty image (the preprocessing then divided by
 * the height); and a 77-byte BMP claiming 3539199 x 46 pixels made stb allocate 490 MB and spend seconds
 * decoding zeros. */
static void bmp_sizes(void) {
    unsigned char b[54 + 16] = {0};
    size_t n                 = bmp_header(b, 40, 0) + 16;
    oq_error err             = {0};
    uint8_t *px              = NULL;
    int h = -1, w = -1;
    EXPECT_ERR(oq_image_decode(b, n, "empty.bmp", 3, &px, &h, &w, &err), err, OQ_ERR_IO, "empty image");
    CHECK(px == NULL);
    n = bmp_header(b, 3539199, 46) + 16;
    memset(&err, 0, sizeof(err));
    EXPECT_ERR(oq_image_decode(b, n, "huge.bmp", 3, &px, &h, &w, &err),
               err,
               OQ_ERR_IO,
               "it is 3539199x46 pixels; onnxq decodes images of up to 64 megapixels");
    CHECK(px == NULL);
    memset(&err, 0, sizeof(err));
    EXPECT_ERR(oq_image_info(b, n, "huge.bmp", &h, &w, &err), err, OQ_ERR_IO, "64 megapixels");
    /* at the limit a header is still fine */
    n = bmp_header(b, 8192, 8192) + 16;
    memset(&err, 0, sizeof(err));
    CHECK_OK(oq_image_info(b, n, "big.bmp", &h, &w, &err), &err);
    CHECK(h == 8192 && w == 8192);
}

/* fuzz_onnx_load: a Resize with scales 1e9 made a [1,1,4e9,4e9] tensor (1.6e19 elements); the MaxPool after it
 * multiplied its leading dims and overflowed int64 (UB). The plan now refuses any shape beyond 2^56 elements
 * right after the node that infers it, and any such graph input. */
static void plan_huge_shapes(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {1, 1, 4, 4}, sd[1] = {4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "scales", 1, sd, (float[]){1, 1, 1e9f, 1e9f});
    gb_node(g, "Resize", "up", 3, (const char *[]){"x", "", "scales"}, 1, (const char *[]){"r"});
    struct oq_node *mp = gb_node(g, "MaxPool", "pool", 1, (const char *[]){"r"}, 1, (const char *[]){"y"});
    gb_attr_ints(mp, "kernel_shape", 2, (int64_t[]){2, 2});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    oq_session *s = NULL;
    CHECK_OK(oq_session_create(m, NULL, &s, &err), &err);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 1, 4, 4}};
    if (s)
        EXPECT_ERR(oq_session_plan(s, 1, &in, &err), err, OQ_ERR_SHAPE,
                   "node 'up' (Resize, opset 13): output 0 would have shape [1,1,4000000000,4000000000], more "
                   "than 2^56");
    /* an input shape of that size */
    oq_tensor_ref big = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 1, 1 << 30, 1 << 30}};
    struct oq_graph *g2 = gb_new(13);
    int64_t dd[4] = {1, 1, -1, -1};
    gb_input(g2, "x", OQ_DTYPE_FLOAT, 4, dd);
    gb_node(g2, "Relu", "relu", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    gb_output(g2, "y", OQ_DTYPE_FLOAT, 4, dd);
    oq_model *m2 = NULL;
    oq_session *s2 = NULL;
    CHECK_OK(oq_model_from_graph(g2, &m2, &err), &err);
    CHECK_OK(oq_session_create(m2, NULL, &s2, &err), &err);
    memset(&err, 0, sizeof(err));
    if (s2)
        EXPECT_ERR(oq_session_plan(s2, 1, &big, &err), err, OQ_ERR_SHAPE,
                   "input 'x' has shape [1,1,1073741824,1073741824], more than 2^56 elements");
    oq_session_free(s2);
    oq_model_free(m2);
    oq_session_free(s);
    oq_model_free(m);
}

/* fuzz_onnx_load: Resize scales of 1e27: (int64_t)floor(scale * dim) was undefined (beyond int64) before the
 * plan's 2^56 guard could see the shape; resize now refuses it, naming the scale. */
static void resize_scale_overflow(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {1, 1, 4, 4}, sd[1] = {4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "scales", 1, sd, (float[]){1, 1, 1e27f, 1});
    gb_node(g, "Resize", "up", 3, (const char *[]){"x", "", "scales"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_session *s = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    CHECK_OK(oq_session_create(m, NULL, &s, &err), &err);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 1, 4, 4}};
    if (s)
        EXPECT_ERR(oq_session_plan(s, 1, &in, &err), err, OQ_ERR_SHAPE, "more than 2^56; check the scales");
    oq_session_free(s);
    oq_model_free(m);
}

/* fuzz_onnx_load: a Conv on a batch of 0 divided by N * groups = 0 when splitting work over threads (UBSan);
 * an empty batch now gives an empty output. */
static void conv_empty_batch(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {0, 3, 8, 8}, wd[4] = {4, 3, 3, 3};
    float w[4 * 3 * 3 * 3] = {0};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "w", 4, wd, w);
    gb_node(g, "Conv", "conv", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, -1, NULL);
    oq_model *m = NULL;
    oq_session *s = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    oq_session_options opt = {.num_threads = 2};
    CHECK_OK(oq_session_create(m, &opt, &s, &err), &err);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {0, 3, 8, 8}};
    if (s)
        CHECK_OK(oq_session_plan(s, 1, &in, &err), &err);
    oq_session_free(s);
    oq_model_free(m);
}

int main(void) {
    npy_shape_overflow();
    npz_size_claim();
    config_int_conversion();
    preprocess_short_side_overflow();
    jpeg_huffman_overflow();
    jpeg_huffman_index();
    bmp_sizes();
    plan_huge_shapes();
    resize_scale_overflow();
    conv_empty_batch();
    TEST_MAIN_END();
}
