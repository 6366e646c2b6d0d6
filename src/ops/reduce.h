/* Shared engine of the Reduce* ops (float): ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare,
 * ReduceL1, ReduceL2.
 *
 * Axes come from the `axes` attribute before the opset where they became input 1 (13 for ReduceSum, 18
 * for the others), and from that (optional, plan-time constant) input after it. Empty axes mean "all
 * dims", unless noop_with_empty_axes = 1, which makes the op an identity. keepdims (default 1) keeps the
 * reduced dims as 1.
 *
 * The plan collapses the input to alternating runs of kept and reduced dims (size-1 dims dropped), so a
 * reduction over the last axes is a set of contiguous row reductions and a reduction over leading axes is
 * a set of contiguous row accumulations. Threads split the outermost kept dim, or else the columns of the
 * innermost kept dim, so no two threads write the same output. */
#ifndef ONNXQ_OPS_REDUCE_H
#define ONNXQ_OPS_REDUCE_H

#include "ops/op.h"

enum oq_reduce_kind {
    OQ_REDUCE_SUM,
    OQ_REDUCE_MEAN,
    OQ_REDUCE_MAX,
    OQ_REDUCE_MIN,
    OQ_REDUCE_SUMSQUARE,
    OQ_REDUCE_L1,
    OQ_REDUCE_L2,
};

/* axes_input_since: first opset in which axes is input 1 rather than an attribute. */
oq_status oq_reduce_check(const struct oq_node *n, oq_error *err, int axes_input_since);
oq_status oq_reduce_infer(struct oq_op_ctx *ctx, int axes_input_since);
oq_status oq_reduce_prepare(struct oq_op_ctx *ctx, int axes_input_since); /* priv: the plan; destroy: free */
oq_status oq_reduce_run(struct oq_op_ctx *ctx, enum oq_reduce_kind kind);

/* ArgMax / ArgMin bodies (argmax.c): int64 index of the extreme along axis; priv: geometry (free). */
oq_status oq_arg_check(const struct oq_node *n, oq_error *err);
oq_status oq_arg_infer(struct oq_op_ctx *ctx);
oq_status oq_arg_prepare(struct oq_op_ctx *ctx);
oq_status oq_arg_run(struct oq_op_ctx *ctx, bool is_max);

/* One Reduce op file: OQ_REDUCE_OP(reducesum, "ReduceSum", OQ_REDUCE_SUM, 13) defines oq_op_reducesum. */
#define OQ_REDUCE_OP(sym, opname, kind, since_input)                                                         \
    static oq_status sym##_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {         \
        return oq_reduce_check(n, err, since_input);                                                         \
    }                                                                                                        \
    static oq_status sym##_infer(struct oq_op_ctx *ctx) {                                                    \
        return oq_reduce_infer(ctx, since_input);                                                            \
    }                                                                                                        \
    static oq_status sym##_prepare(struct oq_op_ctx *ctx) {                                                  \
        return oq_reduce_prepare(ctx, since_input);                                                          \
    }                                                                                                        \
    static oq_status sym##_run(struct oq_op_ctx *ctx) {                                                      \
        return oq_reduce_run(ctx, kind);                                                                     \
    }                                                                                                        \
    const struct oq_op_def oq_op_##sym = {                                                                   \
        .domain  = "",                                                                                       \
        .name    = opname,                                                                                   \
        .since   = 1,                                                                                        \
        .until   = OQ_OPSET_MAX,                                                                             \
        .check   = sym##_check,                                                                              \
        .infer   = sym##_infer,                                                                              \
        .prepare = sym##_prepare,                                                                            \
        .run     = sym##_run,                                                                                \
        .destroy = free,                                                                                     \
    };

#endif
