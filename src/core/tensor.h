/* Internal tensor descriptor: dense, row-major, element-count dims. The quantization parameters hang off
 * the tensor (q) so observers, the QDQ writer and kernels read one source. */
#ifndef ONNXQ_CORE_TENSOR_H
#define ONNXQ_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

struct oq_tensor {
    enum oq_dtype dtype;
    int32_t ndim;
    int64_t dims[OQ_MAX_DIMS];
    void *data;
    const char *name;
};

static inline int64_t oq_shape_numel(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}
static inline int64_t oq_tensor_numel(const struct oq_tensor *t) { return oq_shape_numel(t->ndim, t->dims); }
static inline size_t oq_tensor_bytes(const struct oq_tensor *t) {
    return (size_t)oq_tensor_numel(t) * oq_dtype_size(t->dtype);
}
static inline bool oq_dtype_is_float(enum oq_dtype dt) {
    return dt == OQ_DTYPE_FLOAT || dt == OQ_DTYPE_DOUBLE || dt == OQ_DTYPE_FLOAT16 || dt == OQ_DTYPE_BFLOAT16;
}
static inline bool oq_dtype_is_int(enum oq_dtype dt) {
    switch (dt) {
    case OQ_DTYPE_UINT8: case OQ_DTYPE_INT8: case OQ_DTYPE_UINT16: case OQ_DTYPE_INT16:
    case OQ_DTYPE_INT32: case OQ_DTYPE_INT64: case OQ_DTYPE_UINT32: case OQ_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

/* "[1,3,640,640]" (unknown dims as ?) into buf; returns buf. */
const char *oq_shape_str(int ndim, const int64_t *dims, char *buf, size_t cap);

/* Read element i of an integer tensor (int8..int64, uint8..uint64, bool) as int64. */
int64_t oq_tensor_get_i64(const struct oq_tensor *t, int64_t i);
/* Read element i of a numeric tensor as double. */
double oq_tensor_get_f64(const struct oq_tensor *t, int64_t i);
/* Write element i of a numeric tensor from double (with C conversion semantics). */
void oq_tensor_set_f64(struct oq_tensor *t, int64_t i, double v);

/* IEEE half/bfloat16 conversions (round to nearest even). */
float oq_half_to_float(uint16_t h);
uint16_t oq_float_to_half(float f);
float oq_bf16_to_float(uint16_t h);
uint16_t oq_float_to_bf16(float f);

/* Row-major strides (in elements) of a shape. */
static inline void oq_shape_strides(int ndim, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* Numpy-style multidirectional broadcast of two shapes; returns false if they do not broadcast. */
bool oq_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out);

/* 64-byte aligned allocation (free with oq_free_aligned); NULL for size 0 is never returned. */
void *oq_alloc_aligned(size_t size);
void oq_free_aligned(void *p);

#endif
