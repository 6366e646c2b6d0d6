/* Shared helpers for the data-movement ops (Reshape, Transpose, Slice, Concat, Expand, Pad, Gather, ...).
 *
 * Data movement is dtype-agnostic: everything copies by element size (oq_dtype_size), so the same code moves
 * float, int64 shape tensors, bool masks and the int8/uint8 activations of quantized models. Strides are in
 * elements, may be negative (Slice with negative steps) or 0 (Expand). Large copies are split over the
 * session's thread pool.
 */
#ifndef ONNXQ_OPS_MOVEMENT_H
#define ONNXQ_OPS_MOVEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* Minimum bytes per thread before a copy is split over the pool. */
#define OQ_MV_MIN_BYTES_PER_THREAD (64 * 1024)

/* memcpy split over the pool when large (Reshape/Flatten/Squeeze/Unsqueeze/Dropout: the executor does not
 * alias buffers yet). No-op when dst == src. */
void oq_mv_memcpy(struct oq_pool *pool, void *dst, const void *src, size_t bytes);

/* Dense copy of a strided view: for every index (i_0..i_{n-1}) of `dims` in row-major order,
 *   dst[k++] = src[sum_d i_d * strides[d]]      (strides in elements; negative and 0 allowed)
 * `src` points at the element of index (0,...,0). Picks a row-memcpy path when the innermost stride is 1,
 * a cache-blocked 2-D transpose when another dim has stride 1, and an element loop otherwise. */
void oq_mv_copy_strided(struct oq_pool *pool, void *dst, const void *src, size_t esz, int ndim,
                        const int64_t *dims, const int64_t *strides);

/* Per-node state: allocate ctx->priv (zeroed, `bytes` long) on first use and return it; later calls return
 * the same block. NULL (with an error in ctx->err) when out of memory. Free it with the op's .destroy = free. */
void *oq_mv_priv(struct oq_op_ctx *ctx, size_t bytes);

/* True when optional input i is given (present and not the empty name). */
static inline bool oq_mv_has_input(const struct oq_op_ctx *ctx, int i) { return i < ctx->n_in && ctx->in[i]; }

/* Read a float/double/float16 (or integer) input known at plan time, like oq_op_const_ints. */
oq_status oq_mv_const_floats(const struct oq_op_ctx *ctx, int input, double *vals, int cap, int *count);

/* Normalize a list of axes against rank (negative allowed), rejecting out-of-range and repeated axes.
 * `what` names the list in messages ("axes", "perm"). */
oq_status oq_mv_axes(const struct oq_op_ctx *ctx, const char *what, const int64_t *axes, int n, int rank,
                     int *out);

/* "[1,-1,7]" (negative values printed as is, unlike oq_shape_str) into buf; returns buf. */
const char *oq_mv_ints_str(int n, const int64_t *v, char *buf, size_t cap);

/* Check-time helper: node attribute `name` (ints) must have every value in [lo, hi]. */
oq_status oq_mv_check_ints_range(const struct oq_node *n, oq_error *err, const char *name, int64_t lo,
                                 int64_t hi);

#endif
