/* ONNX <-> IR. The only module that sees protobuf-c types; nothing past this folder includes onnx.pb-c.h.
 * Model-level fields the IR does not model (producer, doc strings, metadata, functions, training info,
 * unknown fields) are kept in an opaque `struct oq_onnx_keep` and written back on save. */
#ifndef ONNXQ_ONNX_IO_H
#define ONNXQ_ONNX_IO_H

#include <stddef.h>

#include "graph/graph.h"

struct oq_onnx_keep;

/* Parse a serialized ModelProto into a new graph. Constant nodes become initializers. External-data
 * tensors are read relative to base_dir. `source` names the model in messages. */
oq_status oq_onnx_load(const void *buf, size_t len, const char *base_dir, const char *source,
                       struct oq_graph **g_out, struct oq_onnx_keep **keep_out, oq_error *err);
/* Serialize graph (+ kept fields, may be NULL) to path via a temp file + rename. */
oq_status oq_onnx_save(const struct oq_graph *g, const struct oq_onnx_keep *keep, const char *path,
                       oq_error *err);
void oq_onnx_keep_free(struct oq_onnx_keep *k);
/* The model's ir_version (0 if unknown) and producer name ("" if none). */
int64_t oq_onnx_keep_ir_version(const struct oq_onnx_keep *k);
const char *oq_onnx_keep_producer(const struct oq_onnx_keep *k);

/* Parse one serialized TensorProto (as in the ONNX backend test data). */
oq_status oq_onnx_tensor_parse(const void *buf, size_t len, struct oq_tensor **out, oq_error *err);

/* Read a whole file into a malloc'd buffer. */
oq_status oq_read_file(const char *path, void **buf, size_t *len, oq_error *err);
/* Write a buffer to path through path.tmp.XXXXXX + fsync + rename, so a failed write never leaves a
 * partial file and never replaces an existing one. */
oq_status oq_write_file_atomic(const char *path, const void *buf, size_t len, oq_error *err);

#endif
