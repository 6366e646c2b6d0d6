/* Window geometry shared by MaxPool and AveragePool: kernel_shape, strides, pads, dilations, auto_pad,
 * ceil_mode, for 1 to 3 spatial dims over an [N, C, spatial...] input. Spatial dims are stored
 * right-aligned in 3 slots (a 2-D pool is D=1, H, W), so one loop nest serves every rank.
 *
 * Output size (explicit pads):  out = floor_or_ceil((in + pb + pe - ((k - 1) * d + 1)) / s) + 1, and with
 * ceil_mode the last window must start inside the input or the begin padding: if (out - 1) * s >= in + pb,
 * out -= 1 (the PyTorch rule the ONNX reference and ONNX Runtime follow).
 * auto_pad SAME_UPPER/SAME_LOWER: out = ceil(in / s), total padding max((out - 1) * s + (k - 1) * d + 1 - in, 0),
 * the odd element at the end (UPPER) or the beginning (LOWER). VALID: no padding.
 */
#ifndef ONNXQ_OPS_POOL_COMMON_H
#define ONNXQ_OPS_POOL_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

struct oq_pool_geom {
    int nsp;                        /* spatial dims of the node (1..3) */
    int64_t planes;                 /* N * C */
    int64_t in[3], out[3];          /* spatial sizes, right-aligned; unused slots are 1 */
    int64_t k[3], s[3], d[3];       /* kernel, stride, dilation */
    int64_t pb[3], pe[3];           /* begin/end padding as given or derived from auto_pad */
    bool count_include_pad;         /* AveragePool */
    int storage_order;              /* MaxPool indices: 0 row-major, 1 column-major */
};

/* Load-time attribute validation (kernel_shape required, positive strides/dilations, auto_pad value). */
oq_status oq_pool_geom_check(const struct oq_node *n, oq_error *err, bool has_dilations);

/* Geometry for input 0 at its current shape; fails with a message naming the node and the shape. */
oq_status oq_pool_geom_init(const struct oq_op_ctx *ctx, bool has_dilations, struct oq_pool_geom *g);

/* Output dims [N, C, out...] of the geometry. */
void oq_pool_geom_out_dims(const struct oq_op_ctx *ctx, const struct oq_pool_geom *g, int64_t *dims);

/* The window of output coordinate o along slot a: first input index (may be negative) and the range
 * [*k0, *k1) of kernel taps that fall inside [lo, hi). */
static inline void oq_pool_taps(const struct oq_pool_geom *g, int a, int64_t o, int64_t lo, int64_t hi,
                                int64_t *start, int64_t *k0, int64_t *k1) {
    int64_t st = o * g->s[a] - g->pb[a], d = g->d[a], k = g->k[a];
    int64_t b = 0, e = k;
    if (st < lo)
        b = (lo - st + d - 1) / d;
    if (st + (k - 1) * d >= hi)
        e = hi - st > 0 ? (hi - st + d - 1) / d : 0;
    if (e < b)
        e = b;
    *start = st;
    *k0 = b;
    *k1 = e;
}

/* Output columns [*a, *b) along the last slot whose windows lie entirely inside the input (no clipping). */
static inline void oq_pool_interior_w(const struct oq_pool_geom *g, int64_t *a, int64_t *b) {
    int64_t s = g->s[2], lo = (g->pb[2] + s - 1) / s;
    int64_t num = g->in[2] - 1 + g->pb[2] - (g->k[2] - 1) * g->d[2];
    int64_t hi = num < 0 ? 0 : num / s + 1;
    if (hi > g->out[2])
        hi = g->out[2];
    if (lo > hi)
        lo = hi;
    *a = lo;
    *b = hi;
}

/* Output of a global pool: input [N, C, ...] (rank >= 2) -> [N, C, 1, ...] of the input's dtype. */
oq_status oq_global_pool_infer(struct oq_op_ctx *ctx);

#endif
