#include "calib/qmath.h"

#include "core/status.h"

bool oq_qtype_valid(enum oq_dtype qtype) {
    return qtype == OQ_DTYPE_UINT8 || qtype == OQ_DTYPE_INT8 || qtype == OQ_DTYPE_UINT16 ||
           qtype == OQ_DTYPE_INT16;
}

void oq_qtype_range(enum oq_dtype qtype, bool symmetric, int32_t *qmin, int32_t *qmax) {
    switch (qtype) {
    case OQ_DTYPE_UINT8:  *qmin = 0;                       *qmax = 255;   break;
    case OQ_DTYPE_INT8:   *qmin = symmetric ? -127 : -128;   *qmax = 127;   break;
    case OQ_DTYPE_UINT16: *qmin = 0;                       *qmax = 65535; break;
    case OQ_DTYPE_INT16:  *qmin = symmetric ? -32767 : -32768; *qmax = 32767; break;
    default:
        OQ_ASSERT(!"oq_qtype_range: not a quantized type");
        *qmin = *qmax = 0;
    }
}

int32_t oq_quantize_one(float x, float scale, int32_t zero_point, enum oq_dtype qtype) {
    int32_t lo, hi;
    oq_qtype_range(qtype, false, &lo, &hi);
    if (x != x)
        return zero_point < lo ? lo : (zero_point > hi ? hi : zero_point);
    /* Round in float (exact for |v| < 2^24), add the zero point in double so nothing is lost, and clamp
     * before converting: x/scale may be +-inf or far outside int32. */
    double v = (double)nearbyintf(x / scale) + zero_point;
    if (v < lo)
        return lo;
    if (v > hi)
        return hi;
    return (int32_t)v;
}

/* Row versions of oq_quantize_one / the dequantize formula, written so the compiler vectorizes them, with
 * bit-identical results: v = x / scale is clamped to [qmin - zp, qmax - zp] first (the bounds are integers,
 * so clamping before rounding equals clamping after), which keeps |v| < 2^22, where adding and subtracting
 * 1.5 * 2^23 rounds half to even exactly as nearbyintf does under the default rounding mode. NaN maps to
 * the zero point, as in oq_quantize_one. */
#define QROW(T)                                                                                             \
    do {                                                                                                    \
        T *out = q;                                                                                         \
        for (int64_t i = 0; i < n; i++) {                                                                   \
            float v = x[i] / scale;                                                                         \
            v = v == v ? v : 0.0f;                                                                          \
            v = v < lo ? lo : v;                                                                            \
            v = v > hi ? hi : v;                                                                            \
            v = (v + 12582912.0f) - 12582912.0f;                                                            \
            out[i] = (T)((int32_t)v + zero_point);                                                          \
        }                                                                                                   \
    } while (0)

void oq_quantize_f32(const float *x, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype, void *q) {
    int32_t qmin, qmax;
    oq_qtype_range(qtype, false, &qmin, &qmax);
    const float lo = (float)(qmin - zero_point), hi = (float)(qmax - zero_point);
    switch (qtype) {
    case OQ_DTYPE_UINT8: QROW(uint8_t); break;
    case OQ_DTYPE_INT8: QROW(int8_t); break;
    case OQ_DTYPE_UINT16: QROW(uint16_t); break;
    case OQ_DTYPE_INT16: QROW(int16_t); break;
    default: OQ_ASSERT(!"oq_quantize_f32: not a quantized type");
    }
}

#define DQROW(T)                                                                                            \
    do {                                                                                                    \
        const T *in = q;                                                                                    \
        for (int64_t i = 0; i < n; i++)                                                                     \
            y[i] = (float)((int32_t)in[i] - zero_point) * scale;                                            \
    } while (0)

void oq_dequantize(const void *q, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype, float *y) {
    switch (qtype) {
    case OQ_DTYPE_UINT8: DQROW(uint8_t); break;
    case OQ_DTYPE_INT8: DQROW(int8_t); break;
    case OQ_DTYPE_UINT16: DQROW(uint16_t); break;
    case OQ_DTYPE_INT16: DQROW(int16_t); break;
    default: OQ_ASSERT(!"oq_dequantize: not a quantized type");
    }
}

double oq_quant_mse_f32(const float *x, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype) {
    if (n <= 0)
        return 0;
    double acc = 0;
    for (int64_t i = 0; i < n; i++) {
        float y = (float)(oq_quantize_one(x[i], scale, zero_point, qtype) - zero_point) * scale;
        double d = (double)x[i] - y;
        acc += d * d;
    }
    return acc / (double)n;
}
