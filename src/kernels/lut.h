/* Byte lookup: y[i] = table[x[i]] over n bytes, the kernel of the INT8 runtime's table ops (ops/qlut.c,
 * ops/qtable2.c; exec/lower_table.h).
 *
 *   oq_lut_u8_ref          plain C, the oracle
 *   oq_lut_u8_avx512vbmi   64 bytes per step: two vpermi2b lookups into the table's halves (128 entries each,
 *                          held in four registers) and a blend on the index's top bit
 * Bit-identical by construction; tests/kernels/test_lut.c compares them on odd lengths and offsets. x and y
 * may be the same buffer. */
#ifndef ONNXQ_KERNELS_LUT_H
#define ONNXQ_KERNELS_LUT_H

#include <stdint.h>

typedef void (*oq_lut_u8_fn)(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n);

void oq_lut_u8_ref(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n);
void oq_lut_u8_avx512vbmi(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n);

#endif
