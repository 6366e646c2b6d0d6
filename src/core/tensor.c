#include "core/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *oq_dtype_name(oq_dtype dt) {
    switch (dt) {
    case OQ_DTYPE_FLOAT: return "float";
    case OQ_DTYPE_UINT8: return "uint8";
    case OQ_DTYPE_INT8: return "int8";
    case OQ_DTYPE_UINT16: return "uint16";
    case OQ_DTYPE_INT16: return "int16";
    case OQ_DTYPE_INT32: return "int32";
    case OQ_DTYPE_INT64: return "int64";
    case OQ_DTYPE_STRING: return "string";
    case OQ_DTYPE_BOOL: return "bool";
    case OQ_DTYPE_FLOAT16: return "float16";
    case OQ_DTYPE_DOUBLE: return "double";
    case OQ_DTYPE_UINT32: return "uint32";
    case OQ_DTYPE_UINT64: return "uint64";
    case OQ_DTYPE_BFLOAT16: return "bfloat16";
    default: return "?";
    }
}

size_t oq_dtype_size(oq_dtype dt) {
    switch (dt) {
    case OQ_DTYPE_UINT8: case OQ_DTYPE_INT8: case OQ_DTYPE_BOOL: return 1;
    case OQ_DTYPE_UINT16: case OQ_DTYPE_INT16: case OQ_DTYPE_FLOAT16: case OQ_DTYPE_BFLOAT16: return 2;
    case OQ_DTYPE_FLOAT: case OQ_DTYPE_INT32: case OQ_DTYPE_UINT32: return 4;
    case OQ_DTYPE_INT64: case OQ_DTYPE_DOUBLE: case OQ_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

const char *oq_shape_str(int ndim, const int64_t *dims, char *buf, size_t cap) {
    size_t k = 0;
    if (cap == 0)
        return buf;
    buf[0] = 0;
    if (ndim < 0) {
        snprintf(buf, cap, "[unknown rank]");
        return buf;
    }
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < ndim && k < cap; i++) {
        if (dims[i] < 0)
            k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "");
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    }
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}

int64_t oq_tensor_get_i64(const struct oq_tensor *t, int64_t i) {
    switch (t->dtype) {
    case OQ_DTYPE_INT64: return ((const int64_t *)t->data)[i];
    case OQ_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case OQ_DTYPE_INT16: return ((const int16_t *)t->data)[i];
    case OQ_DTYPE_INT8: return ((const int8_t *)t->data)[i];
    case OQ_DTYPE_UINT8: case OQ_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
    case OQ_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
    case OQ_DTYPE_UINT32: return ((const uint32_t *)t->data)[i];
    case OQ_DTYPE_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case OQ_DTYPE_FLOAT: return (int64_t)((const float *)t->data)[i];
    case OQ_DTYPE_DOUBLE: return (int64_t)((const double *)t->data)[i];
    default: return 0;
    }
}

double oq_tensor_get_f64(const struct oq_tensor *t, int64_t i) {
    switch (t->dtype) {
    case OQ_DTYPE_FLOAT: return ((const float *)t->data)[i];
    case OQ_DTYPE_DOUBLE: return ((const double *)t->data)[i];
    case OQ_DTYPE_FLOAT16: return oq_half_to_float(((const uint16_t *)t->data)[i]);
    case OQ_DTYPE_BFLOAT16: return oq_bf16_to_float(((const uint16_t *)t->data)[i]);
    case OQ_DTYPE_UINT64: return (double)((const uint64_t *)t->data)[i];
    default: return (double)oq_tensor_get_i64(t, i);
    }
}

void oq_tensor_set_f64(struct oq_tensor *t, int64_t i, double v) {
    switch (t->dtype) {
    case OQ_DTYPE_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case OQ_DTYPE_DOUBLE: ((double *)t->data)[i] = v; break;
    case OQ_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = oq_float_to_half((float)v); break;
    case OQ_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = oq_float_to_bf16((float)v); break;
    case OQ_DTYPE_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    case OQ_DTYPE_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case OQ_DTYPE_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
    case OQ_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
    case OQ_DTYPE_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
    case OQ_DTYPE_BOOL: ((uint8_t *)t->data)[i] = v != 0.0; break;
    case OQ_DTYPE_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case OQ_DTYPE_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    case OQ_DTYPE_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)v; break;
    default: break;
    }
}

float oq_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalize */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t oq_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t man = x & 0x7fffff;
    if (exp == 255)
        return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, which is the correct rounding */
    return (uint16_t)half;
}

float oq_bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t oq_float_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

bool oq_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out) {
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return false;
    }
    *nout = n;
    return true;
}

void *oq_alloc_aligned(size_t size) {
    if (size == 0)
        size = 64;
    size = (size + 63) & ~(size_t)63;
    return aligned_alloc(64, size);
}

void oq_free_aligned(void *p) { free(p); }
