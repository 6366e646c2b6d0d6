/* INT8 lowering of QDQ graphs: an execution-only rewrite of a session's private graph copy (like exec/fuse.h),
 * run after the float fusions. It replaces exact DequantizeLinear -> op -> QuantizeLinear patterns by
 * internal integer ops that read and write the quantized tensors directly:
 *
 *   DQ(x_q u8, sx, zx) -> Conv(., DQ(w_q s8 const, sw[, 0]) [, DQ(b_q s32 const, sx*sw[, 0])]) -> Q(., sy, zy u8)
 *       => com.onnxq.QConv(x_q, sx, zx, w_q, sw, zw, sy, zy, b_q)     (QLinearConv's input layout)
 *   DQ(x_q u8, sx, zx) -> ConvTranspose(., DQ(w_q s8 const [C, M/g, kh, kw], sw[, 0]) [, DQ(b_q s32 ...)]) -> Q(u8)
 *       => com.onnxq.QConvTranspose(x_q, sx, zx, w_q, sw, zw, sy, zy, b_q)  (as QConv; QConv's numerics;
 *          weight scale per tensor, or per output channel along axis 1 when group = 1)
 *   DQ(a_q u8, sa, za) -> MatMul(., DQ(b_q s8 const [K, N], sb[, 0])) -> Q(., sy, zy u8)
 *       => com.onnxq.QMatMul(a_q, sa, za, b_q, sb, zb, sy, zy)          (QLinearMatMul's input layout)
 *   DQ(a_q u8, sa, za) + DQ(b_q u8, sb, zb) -> Add -> Q(., sy, zy u8)
 *       => com.onnxq.QAdd(a_q, sa, za, b_q, sb, zb, sy, zy)             (QLinearAdd's input layout)
 *   DQ(x_q u8, sx, zx) -> AveragePool (2-D, explicit pads) -> Q(., sy, zy u8)
 *       => com.onnxq.QAveragePool(x_q, sx, zx, sy, zy)                   (QLinearAveragePool's layout)
 *   DQ(x_q u8, sx, zx) -> Softmax -> Q(., sy, zy u8)
 *       => com.onnxq.QSoftmax(x_q, sx, zx, sy, zy), attributes axis, opset (QLinearSoftmax's layout)
 *   DQ(x_q u8, sx, zx) -> GlobalAveragePool -> Q(., sy, zy u8)
 *       => com.onnxq.QGlobalAveragePool(x_q, sx, zx, sy, zy)           (QLinearGlobalAveragePool's layout)
 *   DQ(x_q u8 ...) -> Concat / Reshape / Transpose / MaxPool / Resize (nearest) / ... -> Q(u8)
 *       => the same op on the codes; an input whose parameters differ from Q's gets its DQ replaced by a
 *          requantizing QLut (when the op is its only reader), exact since these ops only move, select or
 *          take the max of values
 *   DQ(x u8) -> elementwise float op(s) -> Q(u8)  => com.onnxq.QLut / QTable2 lookup tables (exec/lower_table.h)
 *
 * Conditions (otherwise the nodes are left alone and run as float ops, which stays correct):
 *   - activation scale/zero point: constant scalars, zero point uint8 (present); output Q likewise (zero
 *     point uint8 or absent with a uint8 output);
 *   - weights: int8 initializers, zero point absent or all 0, scale constant per tensor or per output channel
 *     (Conv: axis 0; MatMul: axis 1 = columns of B);
 *   - bias: int32 initializer [M], zero point absent or 0, scale within 1e-6 (relative) of sx * sw[m];
 *   - the float op's output has exactly one reader, the QuantizeLinear, and is not a graph output;
 *   - no block quantization.
 * The DequantizeLinear nodes whose outputs are no longer read are removed; shared ones stay for their
 * other readers. A Relu/Clip removed by the QDQ writer needs nothing: the output Q's range clamps.
 * Numerics: the integer ops follow ONNX Runtime's QLinearConv / QLinearMatMul (kernels/requant.h) and
 * QLinearAdd (ops/qadd.c) / QLinearAveragePool (ops/qaveragepool.c) / QLinearGlobalAveragePool
 * (ops/qglobalaveragepool.c) / QLinearSoftmax (ops/qsoftmax.c), so that their integers agree with ORT's bit for
 * bit; tables and pass-through ops reproduce the float simulation exactly. */
#ifndef ONNXQ_EXEC_LOWER_QDQ_H
#define ONNXQ_EXEC_LOWER_QDQ_H

#include "graph/graph.h"

/* Returns the number of ops lowered (>= 0), or -1 with err set. The graph stays topologically sorted and
 * linked; it imports domain com.onnxq when something was lowered. Node defs of new nodes are unresolved:
 * call oq_model_resolve() after it. */
int oq_lower_qdq_graph(struct oq_graph *g, oq_error *err);

#endif
