/* Image decoding (stb_image, compiled into data/image.c only) and raw-deflate inflation for .npz. */
#ifndef ONNXQ_DATA_IMAGE_H
#define ONNXQ_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

/* Decode a JPEG/PNG/BMP file into 8-bit interleaved pixels [h, w, channels], RGB order for 3 channels,
 * stb's luma (77 R + 150 G + 29 B) >> 8 for 1 channel. *pixels is freed with oq_image_free. An unreadable or
 * undecodable file is OQ_ERR_IO naming the file and stb's reason; so is an empty image, a JPEG with a corrupt
 * Huffman table (which stb 2.27 would overflow) and one of more than OQ_IMAGE_MAX_PIXELS (refused from its
 * header, before anything is allocated). */
oq_status oq_image_load(const char *path, int channels, uint8_t **pixels, int *h, int *w, oq_error *err);
/* 64 megapixels (8192 x 8192). */
#define OQ_IMAGE_MAX_PIXELS (1 << 26)

/* Width and height from the header of an encoded image in memory, after the checks oq_image_decode makes
 * before decoding (size limit, corrupt JPEG tables); `source` names it in messages. */
oq_status oq_image_info(const void *buf, size_t len, const char *source, int *h, int *w, oq_error *err);

/* The same as oq_image_load for an encoded image held in memory; `source` names it in messages. */
oq_status oq_image_decode(const void *buf, size_t len, const char *source, int channels, uint8_t **pixels,
                          int *h, int *w, oq_error *err);
void oq_image_free(uint8_t *pixels);

/* True when the name ends in .jpg, .jpeg, .png or .bmp (any case). */
int oq_image_name_ok(const char *name);

/* Inflate a raw deflate stream (zip method 8) of exactly `out_len` bytes into out. Returns 0 on success. */
int oq_inflate_raw(const void *in, size_t in_len, void *out, size_t out_len);

#endif
