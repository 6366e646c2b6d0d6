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

void oq_quantize_f32(const float *x, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype, void *q) {
    switch (qtype) {
    case OQ_DTYPE_UINT8:
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)q)[i] = (uint8_t)oq_quantize_one(x[i], scale, zero_point, qtype);
        break;
    case OQ_DTYPE_INT8:
        for (int64_t i = 0; i < n; i++)
            ((int8_t *)q)[i] = (int8_t)oq_quantize_one(x[i], scale, zero_point, qtype);
        break;
    case OQ_DTYPE_UINT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)q)[i] = (uint16_t)oq_quantize_one(x[i], scale, zero_point, qtype);
        break;
    case OQ_DTYPE_INT16:
        for (int64_t i = 0; i < n; i++)
            ((int16_t *)q)[i] = (int16_t)oq_quantize_one(x[i], scale, zero_point, qtype);
        break;
    default:
        OQ_ASSERT(!"oq_quantize_f32: not a quantized type");
    }
}

void oq_dequantize(const void *q, int64_t n, float scale, int32_t zero_point, enum oq_dtype qtype, float *y) {
    for (int64_t i = 0; i < n; i++) {
        int32_t v = 0;
        switch (qtype) {
        case OQ_DTYPE_UINT8:  v = ((const uint8_t *)q)[i];  break;
        case OQ_DTYPE_INT8:   v = ((const int8_t *)q)[i];   break;
        case OQ_DTYPE_UINT16: v = ((const uint16_t *)q)[i]; break;
        case OQ_DTYPE_INT16:  v = ((const int16_t *)q)[i];  break;
        default: OQ_ASSERT(!"oq_dequantize: not a quantized type");
        }
        y[i] = (float)(v - zero_point) * scale;
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
