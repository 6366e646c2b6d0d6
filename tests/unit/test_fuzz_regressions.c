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
    bmp_sizes();
    plan_huge_shapes();
    resize_scale_overflow();
    conv_empty_batch();
    TEST_MAIN_END();
}
