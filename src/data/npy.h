/* .npy / .npz readers used by the calibration data sources. oq_npy_read/oq_npy_write are public
 * (include/onnxq/onnxq.h); these are the in-memory and archive variants. */
#ifndef ONNXQ_DATA_NPY_H
#define ONNXQ_DATA_NPY_H

#include <stddef.h>

#include "onnxq/onnxq.h"

/* Parse a .npy image held in memory. `source` names it in messages ("calib/a.npz:x.npy").
 * out->data is malloc'd (caller frees); out->name is NULL. */
oq_status oq_npy_parse(const void *buf, size_t len, const char *source, oq_tensor_ref *out, oq_error *err);

/* One array of a .npz archive: `name` is the member name without ".npy" (the key given to numpy.savez). */
struct oq_npz_array {
    char *name;
    oq_tensor_ref t; /* t.name == name; t.data malloc'd */
};

/* Read every array of a .npz (numpy.savez: stored; numpy.savez_compressed: deflate; ZIP64 records as numpy
 * writes them). Each member's CRC-32 is checked. Members that are not .npy files are an error.
 * On success *arrays holds *n entries; free with oq_npz_free (also safe on partial results). */
oq_status oq_npz_read(const char *path, int *n, struct oq_npz_array **arrays, oq_error *err);
/* The same for an archive held in memory; `source` names it in messages. */
oq_status oq_npz_parse(const void *buf, size_t len, const char *source, int *n, struct oq_npz_array **arrays,
                       oq_error *err);
void oq_npz_free(int n, struct oq_npz_array *arrays);

#endif
