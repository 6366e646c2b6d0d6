/* .npz reader: a zip archive of .npy members (numpy.savez stores them, numpy.savez_compressed deflates them).
 * The central directory is the source of truth for sizes and offsets: numpy writes members with
 * force_zip64=True, so local headers carry 0xFFFFFFFF sizes plus a ZIP64 extra field, while small archives
 * keep 32-bit values in the central directory. Both record layouts are handled. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/image.h"
#include "data/npy.h"
#include "onnx/onnx_io.h"

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | (rd16(p + 2) << 16); }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), bitwise: members are one calibration sample, not gigabytes. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void oq_npz_free(int n, struct oq_npz_array *a) {
    if (!a)
        return;
    for (int i = 0; i < n; i++) {
        free(a[i].name);
        free(a[i].t.data);
    }
    free(a);
}

#define BAD(...) (st = oq_errorf(err, OQ_ERR_IO, __VA_ARGS__))

oq_status oq_npz_read(const char *path, int *n_out, struct oq_npz_array **out, oq_error *err) {
    *n_out = 0;
    *out = NULL;
    void *buf = NULL;
    size_t len = 0;
    OQ_TRY(oq_read_file(path, &buf, &len, err));
    oq_status st = oq_npz_parse(buf, len, path, n_out, out, err);
    free(buf);
    return st;
}

oq_status oq_npz_parse(const void *buf, size_t len, const char *path, int *n_out, struct oq_npz_array **out,
                       oq_error *err) {
    *n_out = 0;
    *out = NULL;
    const unsigned char *b = buf;
    oq_status st = OQ_OK;
    struct oq_npz_array *arr = NULL;
    int n = 0;
    unsigned char *member = NULL;

    /* End of central directory: 22 bytes + a comment of up to 65535 bytes at the end of the file. */
    size_t eocd = SIZE_MAX;
    for (size_t back = 22; back <= len && back <= 22 + 65535; back++)
        if (rd32(b + len - back) == 0x06054b50u) {
            eocd = len - back;
            break;
        }
    if (eocd == SIZE_MAX) {
        BAD("'%s' is not a .npz file (no zip directory found); save samples with numpy.savez", path);
        goto fail;
    }
    uint64_t entries = rd16(b + eocd + 10), cd_size = rd32(b + eocd + 12), cd_off = rd32(b + eocd + 16);
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || rd32(b + eocd - 20) != 0x07064b50u) {
            BAD("'%s': ZIP64 archive without a ZIP64 locator", path);
            goto fail;
        }
        uint64_t z = rd64(b + eocd - 20 + 8);
        if (z > len || len - z < 56 || rd32(b + z) != 0x06064b50u) {
            BAD("'%s': bad ZIP64 end-of-directory record", path);
            goto fail;
        }
        entries = rd64(b + z + 32);
        cd_size = rd64(b + z + 40);
        cd_off = rd64(b + z + 48);
    }
    if (cd_off > len || cd_size > len - cd_off || entries > cd_size / 46 + 1) {
        BAD("'%s': zip directory lies outside the file (truncated?)", path);
        goto fail;
    }
    if (entries == 0) {
        BAD("'%s' holds no arrays", path);
        goto fail;
    }
    arr = calloc((size_t)entries, sizeof(*arr));
    if (!arr) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory reading '%s'", path);
        goto fail;
    }
    size_t p = (size_t)cd_off, end = (size_t)(cd_off + cd_size);
    for (uint64_t e = 0; e < entries; e++) {
        if (end - p < 46 || rd32(b + p) != 0x02014b50u) {
            BAD("'%s': corrupt zip directory entry %llu", path, (unsigned long long)e);
            goto fail;
        }
        uint32_t flags = rd16(b + p + 8), method = rd16(b + p + 10), crc = rd32(b + p + 16);
        uint64_t csize = rd32(b + p + 20), usize = rd32(b + p + 24), loff = rd32(b + p + 42);
        size_t nlen = rd16(b + p + 28), xlen = rd16(b + p + 30), clen = rd16(b + p + 32);
        if (end - p - 46 < nlen + xlen + clen) {
            BAD("'%s': corrupt zip directory entry %llu", path, (unsigned long long)e);
            goto fail;
        }
        const unsigned char *name = b + p + 46, *x = name + nlen, *xend = x + xlen;
        /* ZIP64 extra field: only the values that are 0xFFFFFFFF in the record, in this order. */
        while (xend - x >= 4) {
            uint32_t id = rd16(x), sz = rd16(x + 2);
            if ((size_t)(xend - x - 4) < sz)
                break;
            if (id == 1) {
                const unsigned char *v = x + 4, *vend = v + sz;
                if (usize == 0xFFFFFFFFu && vend - v >= 8)
                    usize = rd64(v), v += 8;
                if (csize == 0xFFFFFFFFu && vend - v >= 8)
                    csize = rd64(v), v += 8;
                if (loff == 0xFFFFFFFFu && vend - v >= 8)
                    loff = rd64(v), v += 8;
            }
            x += 4 + sz;
        }
        p += 46 + nlen + xlen + clen;
        if (nlen < 5 || memcmp(name + nlen - 4, ".npy", 4) != 0) {
            BAD("'%s': member '%.*s' is not a .npy array (a .npz must come from numpy.savez)", path, (int)nlen,
                (const char *)name);
            goto fail;
        }
        if (flags & 1u) {
            st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "'%s': member '%.*s' is encrypted", path, (int)nlen,
                           (const char *)name);
            goto fail;
        }
        if (loff > len || len - loff < 30 || rd32(b + loff) != 0x04034b50u) {
            BAD("'%s': member '%.*s' has a bad local header offset", path, (int)nlen, (const char *)name);
            goto fail;
        }
        uint64_t doff = loff + 30 + rd16(b + loff + 26) + rd16(b + loff + 28);
        if (doff > len || csize > len - doff) {
            BAD("'%s': member '%.*s' extends past the end of the file (truncated?)", path, (int)nlen,
                (const char *)name);
            goto fail;
        }
        char source[1200];
        snprintf(source, sizeof(source), "%s:%.*s", path, (int)nlen, (const char *)name);
        const unsigned char *data = b + doff;
        if (method == 8) {
            if (usize > ((uint64_t)1 << 31)) {
                st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "'%s': compressed member larger than 2 GiB", source);
                goto fail;
            }
            /* deflate expands at most 1032:1, so a larger claimed size is corrupt; checked before allocating */
            if (usize > csize * 1032 + 64) {
                BAD("'%s': member claims %llu bytes from %llu compressed bytes (corrupt file)", source,
                    (unsigned long long)usize, (unsigned long long)csize);
                goto fail;
            }
            member = malloc(usize ? (size_t)usize : 1);
            if (!member) {
                st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory reading '%s'", source);
                goto fail;
            }
            if (oq_inflate_raw(data, (size_t)csize, member, (size_t)usize)) {
                BAD("'%s': corrupt deflate data", source);
                goto fail;
            }
            data = member;
        } else if (method != 0) {
            st = oq_errorf(err, OQ_ERR_UNSUPPORTED,
                           "'%s': zip compression method %u is not supported (use numpy.savez or "
                           "numpy.savez_compressed)",
                           source, (unsigned)method);
            goto fail;
        } else if (csize != usize) {
            BAD("'%s': stored member with differing sizes", source);
            goto fail;
        }
        if (crc32_update(0, data, (size_t)usize) != crc) {
            BAD("'%s': CRC-32 mismatch (corrupt file)", source);
            goto fail;
        }
        arr[n].name = strndup((const char *)name, nlen - 4);
        if (!arr[n].name) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory reading '%s'", source);
            goto fail;
        }
        st = oq_npy_parse(data, (size_t)usize, source, &arr[n].t, err);
        arr[n].t.name = arr[n].name;
        n++;
        free(member);
        member = NULL;
        if (st)
            goto fail;
    }
    *n_out = n;
    *out = arr;
    return OQ_OK;
fail:
    free(member);
    oq_npz_free(n, arr);
    return st;
}
