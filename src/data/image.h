/* Image decoding (stb_image, compiled into data/image.c only) and raw-deflate inflation for .npz. */
#ifndef ONNXQ_DATA_IMAGE_H
#define ONNXQ_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

/* Decode a JPEG/PNG/BMP file into 8-bit interleaved pixels [h, w, channels], RGB order for 3 channels,
 * stb's luma (77 R + 150 G + 29 B) >> 8 for 1 channel. *pixels is freed with oq_image_free. An unreadable or
 * undecodable file is OQ_ERR_IO naming the file and stb's reason. */
oq_status oq_image_load(const char *path, int channels, uint8_t **pixels, int *h, int *w, oq_error *err);
void oq_image_free(uint8_t *pixels);

/* True when the name ends in .jpg, .jpeg, .png or .bmp (any case). */
int oq_image_name_ok(const char *name);

/* Inflate a raw deflate stream (zip method 8) of exactly `out_len` bytes into out. Returns 0 on success. */
int oq_inflate_raw(const void *in, size_t in_len, void *out, size_t out_len);

#endif
