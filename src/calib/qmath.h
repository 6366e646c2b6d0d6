/* Reference QuantizeLinear / DequantizeLinear numerics for the calibration module and its tests.
 *
 *   q = saturate(round_half_to_even(x / scale) + zero_point)      (ONNX QuantizeLinear)
 *   y = (q - zero_point) * scale                                   (ONNX DequantizeLinear)
 *
 * x / scale is a float division (as the ONNX spec writes it, not a multiply by 1/scale); rounding is
 * nearbyintf() under the default FE_TONEAREST mode, so ties go to even: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2.
 * roundf() (ties away from zero) is never used. Saturation is to the full range of the type
 * (uint8 [0,255], int8 [-128,127], uint16 [0,65535], int16 [-32768,32767]); a NaN input maps to zero_point.
 * These are oracles: plain loops, never "optimized"; kernels are checked against them. */
#ifndef ONNXQ_CALIB_QMATH_H
#define ONNXQ_CALIB_QMATH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

/** True for the quantized types the calibrator produces: UINT8, INT8, UINT16, INT16. */
bool oq_qtype_valid(enum oq_dtype qtype);

/** Integer range [*qmin, *qmax] of qtype. With `symmetric` the signed types drop their most negative
 *  value (int8 [-127,127], int16 [-32767,32767]) so that +-A map to +-qmax; unsigned types keep their
 *  full range (a symmetric zero point then sits in the middle, see scale.h). */
void oq_qtype_range(enum oq_dtype qtype, bool symmetric, int32_t *qmin, int32_t *qmax);

/** Round half to even (nearbyintf under FE_TONEAREST). */
static inline float oq_round_half_even(float x) { return nearbyintf(x); }

/** One value through QuantizeLinear, as int32 (already saturated to the full range of qtype). */
int32_t oq_quantize_one(float x, float scale, int32_t zero_point, enum oq_dtype qtype);

/**
 * QuantizeLinear over n values, per tensor.
 * @param x      n floats
 * @param q      n elements of qtype (uint8_t/int8_t/uint16_t/int16_t), caller-owned
 * @param scale  > 0, finite
 */
void oq_quantize_f32(const float *x, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype, void *q);

/** DequantizeLinear over n values of qtype, per tensor. */
void oq_dequantize(const void *q, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype, float *y);

/** Mean of (x - dequantize(quantize(x)))^2 over n values (double accumulation); the measure the calibration
 *  tests and benchmark use to compare scale algorithms. 0 for n == 0. */
double oq_quant_mse_f32(const float *x, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype);

#endif
