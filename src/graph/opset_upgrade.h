/* Upgrade a graph's default-domain (ai.onnx) opset, rewriting every node whose form or meaning changed.
 *
 * Bumping opset_import alone (what some tools do) gives invalid or different models: attributes became
 * inputs, defaults changed, and Softmax changed meaning. The QDQ writer needs opset >= 13 (DequantizeLinear
 * `axis`) or 21 (int16 Q/DQ), so it calls oq_graph_upgrade_opset() first.
 *
 * Every registered op (src/ops/registry.c) was reviewed against onnx.defs.get_all_schemas_with_history()
 * (onnx 1.23) from opset 9 to 21: the attributes, inputs, outputs and type constraints of each revision were
 * diffed, and the doc strings of revisions whose signature did not change, and onnx's own version converter
 * adapters (onnx/version_converter/adapters) were read for comparison.
 *
 *   op                         since  what changed                                  what the pass does
 *   -------------------------  -----  --------------------------------------------  ---------------------------------
 *   Slice                      10     starts/ends/axes attrs -> inputs 1..3         move into int64 initializers
 *   TopK                       10     k attr -> input 1 ([1] int64)                 move (11: largest/sorted default
 *                                                                                   to the old behaviour)
 *   Upsample                   10     deprecated (same semantics as Resize-10)      becomes Resize-10, then as below
 *   Dropout                    10     mask output bool (was T)                      drop the mask if unused; a used
 *                                                                                   mask is an error
 *                              12     ratio attr -> input 1; training_mode input    move ratio (float scalar)
 *   Resize                     11     roi input 1, coordinate_transformation_mode   insert roi (empty const at 11/12,
 *                                     (default half_pixel) and nearest_mode         absent from 13); write the Resize-10
 *                                     (default round_prefer_floor) attrs; Resize-   meaning explicitly: asymmetric, and
 *                                     10 was asymmetric, nearest truncating (ONNX   nearest_mode floor (all constant
 *                                     Runtime: ceil on axes that shrink)            scales >= 1) or ceil (all <= 1);
 *                                                                                   mixed or unknown scales: error
 *                              13     roi/scales optional; tf_half_pixel_for_nn     empty-constant roi/scales (when
 *                                     removed                                       sizes given) become absent;
 *                                                                                   tf_half_pixel_for_nn: error
 *                              18,19  axes, antialias, keep_aspect_ratio_policy,    none (defaults = old behaviour)
 *                                     half_pixel_symmetric
 *   Clip                       11     min/max attrs -> inputs 1/2 (dtype of X)      move into scalar initializers
 *   Pad                        11     pads -> input 1 (int64), value -> input 2     move (value only for mode constant)
 *                              18,19  optional axes input; wrap mode                none
 *   Squeeze, Unsqueeze         13     axes attr -> input 1                          move (absent Squeeze axes: none)
 *   Split                      13     split attr -> input 1                         move
 *                              18     num_outputs required when split is absent     add num_outputs = #outputs
 *   ReduceSum                  13     axes attr -> input 1, noop_with_empty_axes    move (absent or empty axes: no
 *   ReduceMean/Max/Min/L1/L2/  18     (default 0 = old behaviour)                   input, still reduces all)
 *   SumSquare/Prod/LogSum/
 *   LogSumExp
 *   Softmax, LogSoftmax        13     input no longer coerced to 2-D at `axis`;     axis written explicitly; kept when
 *                                     works on that axis only; default axis 1->-1   `axis` is the last dim or every dim
 *                                                                                   after it is statically 1; otherwise
 *                                                                                   Flatten(axis) -> op(axis=-1) ->
 *                                                                                   Reshape(Shape(x)), as onnx's adapter
 *   BatchNormalization         14     training outputs mean/var/saved_* replaced    drop unused extra outputs; used
 *                                     by running_mean/var (training_mode=1 only)    ones are an error; spatial=1
 *                              15     scale/B and mean/var get own type params      (stale, pre-9) dropped, 0: error
 *   Gemm                       11     C optional                                    none
 *   ArgMax/ArgMin 12 select_last_index, Reshape 14 allowzero, Shape 15 start/end,   none: the new attributes' defaults
 *   MaxPool 10 ceil_mode+dilations, AveragePool 10 ceil_mode + 19 dilations,        are the old behaviour
 *   Cast 19 saturate (float8 only), Pad 19 wrap
 *   Concat, Flatten, Gather, ArgMax/Min, Reduce*, Slice, Split, Squeeze,            none: negative axes/indices are a
 *   Unsqueeze, Softmax, LogSoftmax (11)                                             widening
 *   Conv, ConvTranspose (11), MaxPool, AveragePool (11)                             none: doc rewording (auto_pad text;
 *                                                                                   runtimes apply one rule for all)
 *   Abs Add Ceil Concat ConstantOfShape Div Equal Erf Exp Expand Flatten Floor      none: only type lists widened
 *   Gather Identity LeakyRelu Log MatMul Mul Neg Pow (12: exponent type T1) PRelu
 *   Reciprocal Relu Sigmoid Sqrt Sub Tanh Transpose Where, Cast (13, 21),
 *   MaxPool 12, ReduceMax/Min 20
 *   GlobalAveragePool GlobalMaxPool HardSigmoid Softplus Range                      none: unchanged in 9..21
 *   HardSwish (14) LayerNormalization (17)                                          none: no earlier form exists
 *   QuantizeLinear/DequantizeLinear (13 axis: before 13 only per-tensor; 19, 21     none
 *   block_size/output_dtype defaults), Constant (11, 12, 13)
 *
 * Any other default-domain op is an error (the op was not reviewed), as is a node the pass cannot rewrite
 * exactly; the message names the node, the op and the two opsets. New constant inputs are int64 (or the input
 * dtype for Clip/Pad, float for Dropout ratio and Resize roi) initializers named "<node>_<input>", made unique
 * with a numeric suffix. Types are found by a light static inference over the graph (declared types,
 * initializers, and per-op rules); shapes the same way, only to prove Softmax equivalences. */
#ifndef ONNXQ_GRAPH_OPSET_UPGRADE_H
#define ONNXQ_GRAPH_OPSET_UPGRADE_H

#include "graph/graph.h"

/* Highest target opset whose changes are reviewed above. */
#define OQ_OPSET_UPGRADE_MAX 21

/* Rewrite g from its default-domain opset (9 or later) to `target` (current..OQ_OPSET_UPGRADE_MAX), set the
 * default-domain opset import and every default-domain node's `opset` to target, and re-sort the graph.
 * Other domains are untouched. Nodes' resolved `def` is cleared: resolve again (oq_model_from_graph or
 * oq_model_resolve) before running. All nodes are checked before anything is changed, so a refused model
 * (OQ_ERR_UNSUPPORTED, OQ_ERR_MODEL) is left as it was (apart from node order: the graph is sorted first);
 * only OQ_ERR_NOMEM can leave it half rewritten. When a rewrite drops an output or detaches a constant, values
 * no node reads or writes any more are removed (oq_graph_remove_nodes), unused initializers included.
 * A clone whose initializers are borrowed (oq_graph_clone(src, false)) gets its own copies of them the first time the
 * pass adds one, so the new constants are freed with it. */
oq_status oq_graph_upgrade_opset(struct oq_graph *g, int target, oq_error *err);

#endif
