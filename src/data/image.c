/* The one translation unit that compiles stb_image (Debian libstb-dev, header-only). STB_IMAGE_STATIC keeps
 * every stbi_* symbol private to this file, so libonnxq never clashes with an application's own copy of
 * stb_image. Only JPEG, PNG and BMP are compiled in (PNG brings the zlib inflater that .npz reading reuses).
 * stb's code is not written for -Wall -Wextra; its warnings are silenced for the include only. */
#include "data/image.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "onnx/onnx_io.h"

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
#if defined(__GNUC__) && !defined(__clang__)
/* Also file-wide, GCC only: inlined into oq_image_decode, stbi_load_from_memory's context has callback-only
 * fields (buflen, io_user_data) that stbi__start_mem leaves unset and the memory path never reads. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
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
    void *buf;
    size_t len;
    oq_status st = oq_read_file(path, &buf, &len, err);
    if (st)
        return oq_error_prefix(err, st, "cannot read image: ");
    st = oq_image_decode(buf, len, path, channels, pixels, h, w, err);
    free(buf);
    return st;
}

/* stb_image 2.27 (Debian bookworm's libstb-dev) builds a JPEG Huffman table from the 16 code counts of a
 * DHT segment without checking that they total at most 256, and then writes past the table's 257-entry
 * arrays (a heap overflow on a crafted or corrupt file; fixed upstream in 2.28). This walks the markers the
 * way stb does (stbi__get_marker / stbi__process_marker / the scan loop of stbi__decode_jpeg_image) and
 * finds every DHT stb would read. It also refuses a scan (SOS) that decodes with a table no DHT before it
 * defined: stb 2.27 would use the table's uninitialized memory (a negative symbol index). Bytes past the end
 * count as 0, as stb's reader returns them. */
static bool jpeg_huffman_tables_ok(const uint8_t *b, size_t n) {
    /* SOI, after any number of 0xFF fill bytes */
    size_t p = 1;
    while (p < n && b[p] == 0xFF)
        p++;
    if (n < 2 || b[0] != 0xFF || p >= n || b[p] != 0xD8)
        return true; /* not a JPEG */
    p++;
    bool progressive = false;
    unsigned defined = 0; /* bit th: DC table th defined, bit 4 + th: AC table th */
    while (p + 1 < n) {
        uint8_t m = b[p + 1];
        if (b[p] != 0xFF || m == 0xFF) { /* entropy-coded data, fill bytes, garbage: on to the next 0xFF */
            p++;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) { /* stuffed byte, TEM, RSTn, SOI, EOI */
            p += 2;
            continue;
        }
        size_t len = p + 3 < n ? ((size_t)b[p + 2] << 8) | b[p + 3] : 0;
        if (m == 0xC2)
            progressive = true;
        if (m == 0xDA) { /* SOS: every table the scan decodes with must have been defined (stb reads an undefined
                          * one from uninitialized memory): DC tables in DC scans, AC tables in AC scans */
            unsigned ns = p + 4 < n ? b[p + 4] : 0;
            size_t at = p + 5 + 2 * (size_t)ns;
            unsigned ss = at < n ? b[at] : 0;
            for (unsigned c = 0; c < ns && c < 4; c++) {
                unsigned t = p + 6 + 2 * c < n ? b[p + 6 + 2 * c] : 0, td = t >> 4, ta = t & 15;
                bool dc = !progressive || ss == 0, ac = !progressive || ss != 0;
                if ((dc && (td > 3 || !(defined & (1u << td)))) || (ac && (ta > 3 || !(defined & (16u << ta)))))
                    return false;
            }
        }
        if (m == 0xC4) {
            long left = (long)len - 2;
            size_t q = p + 4;
            while (left > 0) {
                unsigned total = 0;
                for (size_t i = 1; i <= 16; i++)
                    total += q + i < n ? b[q + i] : 0;
                if (total > 256)
                    return false;
                unsigned tc = q < n ? b[q] >> 4 : 0, th = q < n ? b[q] & 15 : 0;
                if (tc <= 1 && th <= 3)
                    defined |= (tc ? 16u : 1u) << th;
                q += 17 + total;
                left -= 17 + (long)total;
            }
            if (left != 0)
                return true; /* stb rejects a DHT that overruns its length: nothing after it is read */
        }
        p += 2 + len;
    }
    return true;
}

oq_status oq_image_info(const void *buf, size_t len, const char *source, int *h, int *w, oq_error *err) {
    *h = *w = 0;
    if (len > INT_MAX)
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': larger than 2 GiB", source);
    /* before stbi_info: reading a JPEG header builds its Huffman tables */
    if (!jpeg_huffman_tables_ok(buf, len))
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': corrupt JPEG (a Huffman table has more than "
                         "256 codes, or a scan uses a table never defined)", source);
    int iw = 0, ih = 0, ic = 0;
    if (!stbi_info_from_memory(buf, (int)len, &iw, &ih, &ic))
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': %s (JPEG, PNG and BMP are supported)",
                         source, stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
    /* stb allocates what the header claims and decodes missing data as zeros, so without this a 100-byte
     * file could cost gigabytes and minutes */
    if ((int64_t)iw * ih > OQ_IMAGE_MAX_PIXELS)
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': it is %dx%d pixels; onnxq decodes images of "
                         "up to %d megapixels (downscale it, or check that the file is not corrupt)",
                         source, iw, ih, OQ_IMAGE_MAX_PIXELS >> 20);
    *h = ih;
    *w = iw;
    return OQ_OK;
}

oq_status oq_image_decode(const void *buf, size_t len, const char *source, int channels, uint8_t **pixels,
                          int *h, int *w, oq_error *err) {
    *pixels = NULL;
    int iw = 0, ih = 0, ic = 0;
    OQ_TRY(oq_image_info(buf, len, source, &ih, &iw, err));
    stbi_uc *px = stbi_load_from_memory(buf, (int)len, &iw, &ih, &ic, channels);
    if (!px)
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': %s (JPEG, PNG and BMP are supported)",
                         source, stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
    if (ih < 1 || iw < 1) { /* stb returns an empty BMP (height 0) as a valid image */
        stbi_image_free(px);
        return oq_errorf(err, OQ_ERR_IO, "cannot decode image '%s': it is %dx%d pixels, an empty image", source,
                         iw, ih);
    }
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
