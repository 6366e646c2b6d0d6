/* Image preprocessing for calibration: the JSON spec, the resize geometry and the pixel pipeline
 * (bilinear resize -> normalize -> channel order -> layout). See data/source.h for the spec's keys. */
#ifndef ONNXQ_DATA_PREPROCESS_H
#define ONNXQ_DATA_PREPROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

enum oq_pp_resize {
    OQ_PP_RESIZE_STRETCH = 0,      /* to HxW, aspect ratio not kept */
    OQ_PP_RESIZE_KEEP_RATIO_PAD,   /* fit inside HxW keeping the ratio, top-left, pad the rest */
    OQ_PP_RESIZE_FIXED_HEIGHT_PAD, /* PaddleOCR rec: height H, width ceil(H*w/h) capped at W, pad right */
    OQ_PP_RESIZE_SHORT_SIDE_CROP,  /* short side to S (keep ratio), then center crop HxW */
};

enum oq_pp_layout { OQ_PP_LAYOUT_NCHW = 0, OQ_PP_LAYOUT_NHWC };

struct oq_preprocess {
    enum oq_pp_resize resize;
    int32_t height, width; /* target size; 0 when `multiple` is set (each image gets its own size) */
    int32_t multiple;      /* 32 for "size": "multiple_of_32", else 0 */
    int32_t max_side;      /* with `multiple`: longer side limit before rounding (default 960) */
    int32_t short_side;    /* short_side_crop: S (default max(H, W)) */
    int32_t channels;      /* 1 or 3; 0 until bound to an input (then from its shape, else 3) */
    float pad_value;       /* written as is into padded output elements (after normalization) */
    float scale;           /* out = (pixel * scale - mean[c]) / std[c], default 1/255 */
    float mean[3], std[3]; /* per output channel (after channel_order), default 0 and 1 */
    int32_t n_mean, n_std; /* how many values the spec gave (1 is broadcast to every channel) */
    bool bgr;              /* channel_order "BGR": output channel c is source channel 2 - c */
    enum oq_pp_layout layout;
};

/* Where a decoded h x w image lands in the output: the image is resampled to a virtual rh x rw grid, of which
 * rows [crop_y, crop_y + fill_h) and cols [crop_x, crop_x + fill_w) are written at the output's top-left;
 * output elements outside [0, fill_h) x [0, fill_w) get pad_value. */
struct oq_pp_geometry {
    int32_t out_h, out_w;
    int32_t rh, rw;
    int32_t crop_y, crop_x;
    int32_t fill_h, fill_w;
};

/* Parse the spec: JSON text (starts with '{') or the path of a JSON file. Top-level keys are input names
 * (each must be one of names[0..n)); out[i] receives input i's settings and present[i] whether it was given.
 * Errors name the key ("x.resize") and list what is accepted. */
oq_status oq_preprocess_parse(const char *spec, int n, const char *const *names, struct oq_preprocess *out,
                              bool *present, oq_error *err);

/* Complete input `name`'s settings from its shape (rank 4, dims -1 where unknown, dim 0 the batch):
 * channels from the C dim, size from fixed H/W when the spec has none, short_side default; and check the
 * spec against the shape (an error names the input, the spec's value and the shape). */
oq_status oq_preprocess_bind(struct oq_preprocess *p, const char *name, int ndim, const int64_t *dims,
                             oq_error *err);

/* Geometry of one image of size src_h x src_w (both >= 1). */
void oq_preprocess_geometry(const struct oq_preprocess *p, int32_t src_h, int32_t src_w,
                            struct oq_pp_geometry *g);

/* Run the pipeline for one image: pixels [src_h, src_w, p->channels] (RGB or gray, 8-bit) into out, which
 * holds g->out_h * g->out_w * p->channels floats in p->layout (without the batch dim). No allocation.
 *
 * Resampling is bilinear with OpenCV's INTER_LINEAR convention (cv2.resize), so PaddleOCR's preprocessing is
 * reproduced: for output column x of a target width rw from source width w,
 *   fx = (float)((x + 0.5) * (1 / (rw / w)) - 0.5);  sx = floor(fx);  fx -= sx;
 *   sx < 0       -> sx = 0, fx = 0;      sx >= w - 1 -> sx = w - 1, fx = 0;
 * rows alike; value = (1-fy)((1-fx) p[sy][sx] + fx p[sy][sx+1]) + fy((1-fx) p[sy+1][sx] + fx p[sy+1][sx+1])
 * in float, then rounded to the nearest integer (cv2 returns uint8 for uint8 images; its 11-bit fixed-point
 * weights can differ from this by one level at rounding ties). Normalization then applies to that integer. */
void oq_preprocess_run(const struct oq_preprocess *p, const struct oq_pp_geometry *g, const uint8_t *pixels,
                       int32_t src_h, int32_t src_w, float *out);

#endif
