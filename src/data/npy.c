/* .npy v1/v2/v3 read and v1 write (C order, little-endian); .npz archives are read by data/npz.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/tensor.h"
#include "data/npy.h"
#include "onnx/onnx_io.h"

static const struct {
    const char *descr;
    oq_dtype dt;
} npy_types[] = {
    {"<f4", OQ_DTYPE_FLOAT}, {"<f8", OQ_DTYPE_DOUBLE}, {"<f2", OQ_DTYPE_FLOAT16}, {"|i1", OQ_DTYPE_INT8},
    {"|u1", OQ_DTYPE_UINT8}, {"<i2", OQ_DTYPE_INT16},  {"<u2", OQ_DTYPE_UINT16},  {"<i4", OQ_DTYPE_INT32},
    {"<u4", OQ_DTYPE_UINT32}, {"<i8", OQ_DTYPE_INT64}, {"<u8", OQ_DTYPE_UINT64},  {"|b1", OQ_DTYPE_BOOL},
};

oq_status oq_npy_read(const char *path, oq_tensor_ref *out, oq_error *err) {
    memset(out, 0, sizeof(*out));
    void *buf;
    size_t len;
    OQ_TRY(oq_read_file(path, &buf, &len, err));
    oq_status st = oq_npy_parse(buf, len, path, out, err);
    free(buf);
    return st;
}

/* `path` only names the data in messages (a file, or "a.npz:x.npy" for an archive member). */
oq_status oq_npy_parse(const void *buf, size_t len, const char *path, oq_tensor_ref *out, oq_error *err) {
    memset(out, 0, sizeof(*out));
    const unsigned char *b = buf;
    oq_status st = OQ_OK;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        st = oq_errorf(err, OQ_ERR_IO, "'%s' is not a .npy file (bad magic); save arrays with numpy.save", path);
        goto done;
    }
    int major = b[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        hoff = 10;
    } else if ((major == 2 || major == 3) && len >= 12) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        hoff = 12;
    } else {
        st = oq_errorf(err, OQ_ERR_IO, "'%s': unsupported .npy version %d", path, major);
        goto done;
    }
    if (hoff + hlen > len || hlen > 65536) {
        st = oq_errorf(err, OQ_ERR_IO, "'%s': truncated .npy header", path);
        goto done;
    }
    char hdr[65537];
    memcpy(hdr, b + hoff, hlen);
    hdr[hlen] = 0;
    const char *d = strstr(hdr, "'descr':");
    const char *fo = strstr(hdr, "'fortran_order':");
    const char *sh = strstr(hdr, "'shape':");
    if (!d || !fo || !sh) {
        st = oq_errorf(err, OQ_ERR_IO, "'%s': malformed .npy header", path);
        goto done;
    }
    d = strchr(d + 8, '\'');
    if (!d) {
        st = oq_errorf(err, OQ_ERR_IO, "'%s': malformed .npy header (descr)", path);
        goto done;
    }
    d++;
    oq_dtype dt = OQ_DTYPE_UNDEFINED;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++) {
        size_t l = strlen(npy_types[i].descr);
        if (!strncmp(d, npy_types[i].descr, l) && d[l] == '\'')
            dt = npy_types[i].dt;
    }
    if (dt == OQ_DTYPE_UNDEFINED) {
        st = oq_errorf(err, OQ_ERR_UNSUPPORTED,
                       "'%s': .npy dtype '%.8s' is not supported (use little-endian float32/64, int8..64, "
                       "uint8..64 or bool)",
                       path, d);
        goto done;
    }
    const char *fv = fo + strlen("'fortran_order':");
    while (*fv == ' ')
        fv++;
    if (strncmp(fv, "True", 4) == 0) {
        st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "'%s': Fortran-order arrays are not supported; save with "
                       "numpy.ascontiguousarray",
                       path);
        goto done;
    }
    const char *p = strchr(sh, '(');
    if (!p) {
        st = oq_errorf(err, OQ_ERR_IO, "'%s': malformed .npy header (shape)", path);
        goto done;
    }
    p++;
    int nd = 0;
    int64_t numel = 1; /* checked as it grows: a corrupt header must not overflow it */
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *e;
        errno = 0;
        long long v = strtoll(p, &e, 10);
        if (e == p || v < 0 || errno) {
            st = oq_errorf(err, OQ_ERR_IO, "'%s': malformed .npy shape", path);
            goto done;
        }
        if (nd >= OQ_MAX_DIMS) {
            st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "'%s': rank above %d", path, OQ_MAX_DIMS);
            goto done;
        }
        if (v > 0 && numel > (INT64_MAX / 16) / v) {
            st = oq_errorf(err, OQ_ERR_IO, "'%s': .npy shape is impossibly large (corrupt header?)", path);
            goto done;
        }
        numel *= v;
        out->dims[nd++] = v;
        p = e;
    }
    out->ndim = nd;
    out->dtype = dt;
    size_t bytes = (size_t)numel * oq_dtype_size(dt);
    if (len - hoff - hlen < bytes) {
        st = oq_errorf(err, OQ_ERR_IO, "'%s': file holds %zu data bytes, shape needs %zu (truncated?)", path,
                       len - hoff - hlen, bytes);
        goto done;
    }
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "'%s': out of memory", path);
        goto done;
    }
    memcpy(out->data, b + hoff + hlen, bytes);
done:
    return st;
}

oq_status oq_npy_write(const char *path, const oq_tensor_ref *t, oq_error *err) {
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++)
        if (npy_types[i].dt == t->dtype)
            descr = npy_types[i].descr;
    if (!descr)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "cannot write dtype %s to .npy ('%s')", oq_dtype_name(t->dtype),
                         path);
    char shape[256] = "";
    size_t k = 0;
    for (int i = 0; i < t->ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof(shape) - k, "%lld,%s", (long long)t->dims[i],
                              i + 1 < t->ndim ? " " : "");
    if (t->ndim > 1 && k > 0)
        shape[k - 1] = 0; /* (a, b) not (a, b,) */
    char hdr[512];
    int hl = snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    size_t data = (size_t)oq_shape_numel(t->ndim, t->dims) * oq_dtype_size(t->dtype);
    size_t n = (size_t)total + (size_t)pad + data;
    unsigned char *buf = malloc(n);
    if (!buf)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory writing '%s'", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    int hlen = hl + pad + 1;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, hdr, (size_t)hl);
    memset(buf + 10 + hl, ' ', (size_t)pad);
    buf[10 + hl + pad] = '\n';
    if (data)
        memcpy(buf + total + pad, t->data, data);
    oq_status st = oq_write_file_atomic(path, buf, n, err);
    free(buf);
    return st;
}

oq_status oq_tensor_pb_read(const char *path, oq_tensor_ref *out, oq_error *err) {
    memset(out, 0, sizeof(*out));
    void *buf;
    size_t len;
    OQ_TRY(oq_read_file(path, &buf, &len, err));
    struct oq_tensor *t = NULL;
    oq_status st = oq_onnx_tensor_parse(buf, len, &t, err);
    free(buf);
    if (st)
        return oq_error_prefix(err, st, "'%s': ", path);
    size_t bytes = oq_tensor_bytes(t);
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        oq_tensor_free(t);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    memcpy(out->data, t->data, bytes);
    out->dtype = t->dtype;
    out->ndim = t->ndim;
    memcpy(out->dims, t->dims, sizeof(out->dims));
    out->name = t->name ? strdup(t->name) : NULL;
    oq_tensor_free(t);
    return OQ_OK;
}
