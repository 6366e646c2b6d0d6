/* Table lowering, part of the INT8 lowering of QDQ graphs (exec/lower_qdq.h): uint8 -> uint8 functions become
 * lookup tables computed by running the float simulation on every code.
 *
 *   DQ(x u8) -> elementwise op (other inputs scalar constants) -> Q(u8)      => com.onnxq.QLut(x), 256 entries
 *   DQ(a u8), DQ(b u8) -> Add/Sub/Mul/Div/Max/Min (+ scalar constants) -> Q(u8)
 *                                                                           => com.onnxq.QTable2(a, b), 256 x 256
 * (QAdd, tried first, takes Add of two activations with ORT's numerics.) Elementwise ops: Relu, Clip, Sigmoid,
 * HardSigmoid, HardSwish, Tanh, LeakyRelu, Exp, ... and Add/Sub/Mul/Div/Pow/Max/Min with scalar constants.
 * The tables reproduce the QDQ float simulation bit for bit (the same op implementations evaluate them), so
 * lowering never changes a result.
 *
 * oq_compose_tables then merges chains, each exactly (tables of tables): QLut -> QLut, QLut -> QTable2 input,
 * QTable2 -> QLut, and QTable2(x, x). A HardSwish written as x * Clip(x + 3, 0, 6) / 6 with QDQ around every op
 * (PP-OCRv4 det) becomes one QLut. */
#ifndef ONNXQ_EXEC_LOWER_TABLE_H
#define ONNXQ_EXEC_LOWER_TABLE_H

#include <stdbool.h>

#include "graph/graph.h"

/* Lower node i when it matches (its output's QuantizeLinear marked in dead). 1 lowered, 0 no match, -1 OOM. */
int oq_lower_table_node(struct oq_graph *g, const int *uses, const int *reader, bool *dead, int i);

/* Requantization from a DequantizeLinear of a uint8 activation (qm_act_dq) to q's parameters: table[c] = Q(DQ(c)),
 * exactly what DQ -> (values moved unchanged) -> q gives. 1 with *table (256 entries, caller-owned), 0 when the
 * simulation cannot run, -1 on OOM. oq_dq_to_lut then turns the DQ node into that QLut (taking the table; its
 * output then holds codes): 1, or -1 on OOM. */
int oq_requant_table(const struct oq_graph *g, const struct oq_node *dq, const struct oq_node *q,
                     struct oq_tensor **table);
int oq_dq_to_lut(struct oq_graph *g, struct oq_node *dq, struct oq_tensor *table);

/* Merge table chains until none is left; returns the number of merges or -1 (err set). Links the graph. */
int oq_compose_tables(struct oq_graph *g, oq_error *err);

#endif
