/* The one translation unit that compiles stb_image (Debian libstb-dev, header-only). STB_IMAGE_STATIC keeps
 * every stbi_* symbol private to this file, so libonnxq never clashes with an application's own copy of
 * stb_image. Only JPEG, PNG and BMP are compiled in (PNG brings the zlib inflater that .npz reading reuses).
 * stb's code is not written for -Wall -Wextra; its warnings are silenced for the include only. */
#include "data/image.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_FAILURE_USERMSG
/* -Wunused-function stays off for this whole file: with STB_IMAGE_STATIC, GCC reports unused and
 * declared-but-undefined static stbi_* functions (GIF, unpremultiply) at the end of the translation unit. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wshift-negative-value"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

int oq_image_name_ok(const char *name) {
    static const char *const exts[] = {".jpg", ".jpeg", ".png", ".bmp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t k = strlen(exts[i]);
        if (n > k && strcasecmp(name + n - k, exts[i]) == 0)
            return 1;
    }
    return 0;
}

oq_status oq_image_load(const char *path, int channels, uint8_t **pixels, int *h, int *w, oq_error *err) {
    *pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return oq_errorf(err, OQ_ERR_IO, "cannot open image '%s': %s", path, strerror(errno));
    int iw = 0, ih = 0, ic = 0;
    stbi_uc *px = stbi_load_from_file(f, &iw, &ih, &ic, channels);
    fclose(f);
    if (!px)
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': %s (JPEG, PNG and BMP are supported)", path,
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
    *pixels = px;
    *h = ih;
    *w = iw;
    return OQ_OK;
}

void oq_image_free(uint8_t *pixels) { stbi_image_free(pixels); }

int oq_inflate_raw(const void *in, size_t in_len, void *out, size_t out_len) {
    if (in_len > INT_MAX - 16 || out_len > INT_MAX)
        return -1;
    /* stb's inflater wants a non-empty output buffer; an empty member has nothing to inflate. */
    if (out_len == 0)
        return 0;
    /* stb_image 2.27's bit reader fails a stream whose last code ends within a few bytes of the input's end
     * (it reads ahead and treats that as EOF); numpy's deflated members do. Zero padding after the final
     * block is never decoded, and the caller checks the CRC-32 of the result. */
    char *padded = malloc(in_len + 16);
    if (!padded)
        return -1;
    memcpy(padded, in, in_len);
    memset(padded + in_len, 0, 16);
    int got = stbi_zlib_decode_noheader_buffer(out, (int)out_len, padded, (int)in_len + 16);
    free(padded);
    return got == (int)out_len ? 0 : -1;
}
