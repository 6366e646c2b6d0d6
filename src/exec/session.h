/* Internal session accessors for the onnxq command (not public API; the public ones are in onnxq/onnxq.h). */
#ifndef ONNXQ_EXEC_SESSION_H
#define ONNXQ_EXEC_SESSION_H

#include <stdint.h>

#include "onnxq/onnxq.h"

/* Multiply-accumulates of node i of the session's (fused, lowered) graph at the current plan's shapes, as
 * counted by its op's macs() (Conv, FusedConv, ConvTranspose, Gemm, MatMul, QConv, QMatMul); 0 for other
 * ops, nodes evaluated at plan time, a bad index or a session not planned yet. Node indices are those of
 * oq_session_node_profile(), so `onnxq bench --profile` can give GOP/s per op type without repeating the
 * ops' shape arithmetic. */
int64_t oq_session_node_macs(const oq_session *s, int i);

#endif
