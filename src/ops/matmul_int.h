/* Plain-C integer matmul shared by MatMulInteger and QLinearMatMul (their general paths):
 *
 *     acc[r, n] = sum_k (A[r, k] - a_zp[m]) * (B[k, n] - b_zp[n])      exact in int32 for K < 33025
 *
 * with numpy matmul semantics: A [..., M, K], B [..., K, N], a 1-D operand promoted (and the added dim
 * dropped from the output), batch dims broadcast. A and B are uint8 or int8; zero points have the operand's
 * type and 1 value (per tensor) or M (per row of A) / N (per column of B) values. Row r of the output is
 * (batch r / M, row r % M). Sums wrap in uint32 like numpy's int32 (no undefined overflow). */
#ifndef ONNXQ_OPS_MATMUL_INT_H
#define ONNXQ_OPS_MATMUL_INT_H

#include "ops/op.h"

struct oq_mmi_shape {
    int nd;                  /* output rank */
    int64_t od[OQ_MAX_DIMS]; /* output dims */
    int nb;                  /* batch rank */
    int64_t bdims[OQ_MAX_DIMS];
    int64_t astr[OQ_MAX_DIMS], bstr[OQ_MAX_DIMS]; /* element strides of A's / B's batches (0 = broadcast) */
    int64_t M, K, N;
    int64_t batch, b_batches; /* output batches; batches stored in B */
};

/* Shape of a x b with zero points az, bz (NULL = absent); fails naming the node. Checks dtypes (8-bit, zero
 * point of the operand's type) and zero-point sizes. */
oq_status oq_mmi_shape(const struct oq_op_ctx *ctx, const struct oq_tensor *a, const struct oq_tensor *az,
                       const struct oq_tensor *b, const struct oq_tensor *bz, struct oq_mmi_shape *s);

/* Bytes of the widened B (b16 below). */
size_t oq_mmi_b16_bytes(const struct oq_mmi_shape *s);
/* b16[i] = B[i] - b_zp[i % N] for all of B's elements (int16: the difference of two 8-bit values). */
void oq_mmi_widen_b(const struct oq_mmi_shape *s, const struct oq_tensor *b, const struct oq_tensor *bz,
                    int16_t *b16);
/* acc[0..N) = output row r, from A (with zero point az) and the widened B. */
void oq_mmi_row(const struct oq_mmi_shape *s, const struct oq_tensor *a, const struct oq_tensor *az,
                const int16_t *b16, int64_t r, int32_t *acc);

#endif
