/* The operator contract. One file per ONNX operator exports one `const struct oq_op_def`, listed in
 * registry.c. Lifecycle (see TEMPLATE.c):
 *
 *   check   at load time, once per node: arity, attributes, constant-input requirements. Uses the node name
 *           in messages. Must not look at shapes (they may be symbolic).
 *   infer   at plan time, for concrete input shapes: set each output's dtype, ndim and dims. Inputs whose
 *           data is known at plan time (initializers and values folded from them or from Shape) have
 *           `data` set; all others have data == NULL. Ops whose output shape depends on an input's values
 *           (Reshape, Slice, Expand, ...) read it here and fail with a clear message when it is not known.
 *   prepare optional, at plan time after infer: build per-node state in ctx->priv (packed weights, lookup
 *           tables) and set ctx->scratch_bytes. Called again when shapes change; ctx->priv keeps its value
 *           across calls so the op can reuse what does not depend on shapes.
 *   run     hot path: compute outputs into preallocated buffers. No allocation, no string work.
 *           May use ctx->pool for parallel loops and ctx->scratch (scratch_bytes long, 64-byte aligned).
 *   destroy optional: free ctx->priv.
 *
 * Every callback returns oq_status and writes its message with oq_errorf(ctx->err, ...) naming the node.
 */
#ifndef ONNXQ_OPS_OP_H
#define ONNXQ_OPS_OP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pool.h"
#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

/* Highest opset accepted. Every registered op was reviewed against its ONNX revisions up to here: those
 * above 21 only widen type lists (rejected by dtype checks), or add attributes for float8/float16 only
 * (Cast 24, Range 27). tools/check_op_versions.py fails when the onnx wheel has an unreviewed revision. */
#define OQ_OPSET_MAX 28

struct oq_kernels; /* kernels/dispatch.h: the session's kernel table */

struct oq_op_ctx {
    const struct oq_node *node;       /* attributes, name, op_type, opset */
    int n_in, n_out;
    struct oq_tensor *const *in;      /* in[i] NULL for an absent optional input */
    struct oq_tensor *const *out;     /* out[i] NULL for an absent optional output */
    void *priv;                       /* op-owned state (prepare/destroy) */
    size_t scratch_bytes;             /* set by prepare */
    void *scratch;                    /* run: scratch_bytes of 64-byte-aligned memory */
    struct oq_pool *pool;             /* run: thread pool (may be NULL = single thread) */
    const struct oq_kernels *kernels; /* run/prepare: kernel table chosen for the session */
    oq_error *err;
};

struct oq_op_def {
    const char *domain; /* "" for ai.onnx */
    const char *name;
    int since;          /* first opset this implementation covers */
    int until;          /* last opset (inclusive) */
    oq_status (*check)(const struct oq_node *n, const struct oq_graph *g, oq_error *err);
    oq_status (*infer)(struct oq_op_ctx *ctx);
    oq_status (*prepare)(struct oq_op_ctx *ctx);
    oq_status (*run)(struct oq_op_ctx *ctx);
    void (*destroy)(void *priv);
    /* Multiply-accumulates of one run at the inferred shapes (NULL: not counted). */
    int64_t (*macs)(const struct oq_op_ctx *ctx);
};

/* Look up an implementation for (domain, op_type, opset); NULL if none. */
const struct oq_op_def *oq_op_find(const char *domain, const char *op_type, int opset);
/* The whole registry (sorted by domain, name, since), for tests and `onnxq info`. */
const struct oq_op_def *const *oq_op_registry(int *count);

/* ---- helpers for op implementations ---- */

/* Error with the node context prefixed: "node 'name' (OpType): <message>". Returns code. */
oq_status oq_op_error(const struct oq_op_ctx *ctx, oq_status code, const char *fmt, ...) OQ_PRINTF(3, 4);
oq_status oq_node_error(const struct oq_node *n, oq_error *err, oq_status code, const char *fmt, ...)
    OQ_PRINTF(4, 5);

/* Set an output's dtype and shape (at infer). */
void oq_op_set_output(struct oq_op_ctx *ctx, int i, enum oq_dtype dt, int ndim, const int64_t *dims);

/* Check input count is in [lo, hi] at check time. */
oq_status oq_check_arity(const struct oq_node *n, oq_error *err, int in_lo, int in_hi, int out_lo, int out_hi);

/* Normalize a possibly negative axis against rank; fails with a message naming the node. */
oq_status oq_op_axis(const struct oq_op_ctx *ctx, int64_t axis, int rank, int *out);

/* Read an integer input tensor (int32/int64) known at plan time into a caller buffer; fails if the data is
 * not known at plan time ("input 1 'shape' must be a constant or computed from shapes only"). */
oq_status oq_op_const_ints(const struct oq_op_ctx *ctx, int input, int64_t *vals, int cap, int *count);

/* Broadcasted elementwise iteration for up to 3 inputs: computes, for the output shape, per-input strides
 * (0 on broadcast dims) over a shape collapsed to at most OQ_MAX_DIMS dims. */
struct oq_bcast {
    int ndim;
    int64_t dims[OQ_MAX_DIMS];
    int64_t strides[3][OQ_MAX_DIMS];
    int n_in;
    bool same[3]; /* input i has exactly the output shape (contiguous fast path) */
};
void oq_bcast_init(struct oq_bcast *b, const struct oq_tensor *out, int n_in, const struct oq_tensor *const *in);

#endif
