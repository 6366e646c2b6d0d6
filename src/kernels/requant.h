/* Requantization: the only place where the integer kernels round. Every integer epilogue (qgemm.h,
 * the depthwise conv) does the same four steps through oq_requant_f32():
 *
 *     acc'  = acc - x_zp * sum_k w[m,k] + bias[m]             (int32, exact; wraps mod 2^32 like the SIMD code)
 *     y     = (float)acc' * scale[m]                          (two IEEE float roundings, ties to even)
 *     y     = min(max(y, act_min - out_zp), act_max - out_zp)  (clamp = fused Relu / Clip)
 *     q     = nearbyintf(y) + out_zp                           (round half to even: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2)
 *
 * scale[m] = x_scale * w_scale[m] / y_scale, computed once at lowering time in float, in that order (what
 * ONNX Runtime's MLAS does for QLinearConv / QDQ Conv, so the integers agree with ORT bit for bit). The
 * SIMD kernels use cvtepi32_ps / mul_ps / max_ps / min_ps / cvtps_epi32, which round under MXCSR exactly like
 * the scalar C under fenv (both default to round-to-nearest-even). Clamping before rounding equals
 * clamping after it because the bounds are integers and rounding is monotone; it also keeps huge values
 * away from the float->int conversion. Requirements: scale finite and >= 0 (NaN is never produced),
 * act_min <= act_max within the output type's range.
 *
 * oq_requant() is the fixed-point alternative (Q31 multiplier + shift, CMSIS-NN's single rounding), for
 * targets or tools that want integer-only math; the x86 kernels do not use it.
 *
 *     oq_requant(acc, mult, shift) = floor((acc * mult + 2^(s-1)) / 2^s),  s = 31 - shift, s in [1, 62]
 *
 * i.e. acc * (mult / 2^31) * 2^shift rounded half up (toward +inf): 2.5 -> 3, -2.5 -> -2, saturated to
 * int32. mult in [2^30, 2^31) from oq_requant_q31_from_float() (or 0 for a zero multiplier). */
#ifndef ONNXQ_KERNELS_REQUANT_H
#define ONNXQ_KERNELS_REQUANT_H

#include <math.h>
#include <stdint.h>

/* Step 1: zero-point correction and bias, exact in int64 then wrapped to int32 (two's complement, as the
 * vector code does; it is exact whenever the true value fits, which qgemm.h's K limit guarantees). */
static inline int32_t oq_requant_acc(int32_t acc, int32_t x_zp, int32_t wsum, int32_t bias) {
    int64_t v = (int64_t)acc - (int64_t)x_zp * wsum + bias;
    return (int32_t)(uint32_t)(uint64_t)v;
}

/* Steps 2-4 with a float multiplier: the rule every u8/s8 epilogue uses (see top of file). */
static inline int32_t oq_requant_f32(int32_t acc, float scale, int32_t out_zp, int32_t act_min, int32_t act_max) {
    float y = (float)acc * scale;
    float lo = (float)(act_min - out_zp), hi = (float)(act_max - out_zp);
    y = y < lo ? lo : y;
    y = y > hi ? hi : y;
    return (int32_t)nearbyintf(y) + out_zp;
}

/* Dequantized float output of an accumulator (for the graph's float borders): (float)acc * scale. */
static inline float oq_requant_dequant_f32(int32_t acc, float scale) { return (float)acc * scale; }

/* Fixed-point multiply: acc * mult * 2^(shift-31), rounded half up, saturated to int32. */
static inline int32_t oq_requant(int32_t acc, int32_t mult_q31, int32_t shift) {
    int s = 31 - shift;
    if (s < 1)
        s = 1;
    if (s > 62)
        s = 62;
    int64_t p = (int64_t)acc * mult_q31 + ((int64_t)1 << (s - 1));
    /* arithmetic shift of a negative int64 (GCC/Clang define it as floor division) */
    int64_t r = p >> s;
    return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}

/* m = mult / 2^31 * 2^shift with mult in [2^30, 2^31) (frexp, then round the mantissa to 31 bits).
 * m <= 0 or m < 2^-31 gives mult = 0, shift = 0 (everything requantizes to 0). shift is at most 30. */
static inline void oq_requant_q31_from_float(double m, int32_t *mult_q31, int32_t *shift) {
    *mult_q31 = 0;
    *shift = 0;
    if (!(m > 0) || m < 0x1p-31)
        return;
    int e;
    double q = frexp(m, &e); /* m = q * 2^e, q in [0.5, 1) */
    int64_t qi = (int64_t)llround(q * 2147483648.0);
    if (qi == ((int64_t)1 << 31)) {
        qi /= 2;
        e++;
    }
    if (e > 30) { /* multiplier >= 2^30: saturate */
        qi = INT32_MAX;
        e = 30;
    }
    *mult_q31 = (int32_t)qi;
    *shift = e;
}

/* Narrowing: the caller clamped to the type's range already (act_min/act_max). */
static inline uint8_t oq_requant_narrow_u8(int32_t q) { return (uint8_t)q; }
static inline int8_t oq_requant_narrow_s8(int32_t q) { return (int8_t)q; }

#endif
