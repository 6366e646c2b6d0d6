/* Pattern-matching helpers shared by the INT8 lowering passes (exec/lower_qdq.c, exec/lower_table.c): which
 * DequantizeLinear / QuantizeLinear nodes carry activations, weights or biases the integer ops can read. */
#ifndef ONNXQ_EXEC_QDQ_MATCH_H
#define ONNXQ_EXEC_QDQ_MATCH_H

#include <stdbool.h>

#include "graph/graph.h"

bool qm_is_op(const struct oq_node *n, const char *op);
const struct oq_tensor *qm_init(const struct oq_graph *g, int v);
/* Input k of node d, -1 when absent. */
int qm_in(const struct oq_node *d, int k);
/* The DequantizeLinear producing v (any number of readers, no block quantization), or NULL. */
const struct oq_node *qm_dq_producer(const struct oq_graph *g, int v);
/* DQ of a uint8 activation (not an initializer) with constant per-tensor parameters (zero point present). */
bool qm_act_dq(const struct oq_graph *g, const struct oq_node *d);
/* DQ of a constant symmetric int8 weight, scale per tensor or along `axis` (normalized) of n_ch values. */
bool qm_weight_dq(const struct oq_graph *g, const struct oq_node *d, int rank, int axis, int64_t n_ch);
/* DQ of an int32 bias [M] whose scale is sx * sw[m] (per tensor or per channel). */
bool qm_bias_dq(const struct oq_graph *g, const struct oq_node *d, float sx, const struct oq_tensor *sw, int64_t M);
/* Use counts and (last) reader node of every value; graph outputs count as a use. Arrays of n_values. */
void qm_count_uses(const struct oq_graph *g, int *uses, int *reader);
/* The QuantizeLinear that is the only reader of v (v not a graph output), to uint8 with constant per-tensor
 * parameters; NULL otherwise. */
struct oq_node *qm_sole_q_reader(struct oq_graph *g, const int *uses, const int *reader, int v);
/* Replace the node's inputs by in[0..count); false on OOM. */
bool qm_set_inputs(struct oq_node *n, int count, const int *in);
/* Turn node n into com.onnxq.<op> reading in[0..count) and writing q's output; q is marked dead (q NULL: n keeps
 * its output). 1, or -1 on OOM. */
int qm_replace(struct oq_graph *g, bool *dead, struct oq_node *n, const char *op, int count, const int *in,
               struct oq_node *q);

#endif
