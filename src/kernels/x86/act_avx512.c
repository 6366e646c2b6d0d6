/* AVX-512 activation row (numerics in activation.h). Relu, Clip and LeakyRelu give the reference's results
 * bit for bit; HardSigmoid/HardSwish use one fused multiply-add (one rounding fewer than the reference);
 * Sigmoid/Tanh use exp512 below (Cephes expf polynomial + scalef, a few ulp relative error). */
#include <immintrin.h>

#include "kernels/activation.h"

#define OQ_INLINE static inline __attribute__((always_inline))

/* e^x for x clamped to [-100, 100]: x = n*ln2 + r, |r| <= ln2/2, e^r by Cephes' degree-6 polynomial,
 * 2^n by vscalefps (which also produces the inf/0/denormal results at the ends of the range). */
OQ_INLINE __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-100.0f)), _mm512_set1_ps(100.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

OQ_INLINE __m512 tanh512(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    /* |x| >= 0.625: 1 - 2/(e^{2|x|} + 1), sign restored */
    __m512 e = exp512(_mm512_add_ps(ax, ax));
    __m512 big = _mm512_sub_ps(_mm512_set1_ps(1.0f),
                               _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    /* |x| < 0.625: Cephes tanhf odd polynomial x + x*z*P(z), z = x^2 (no cancellation near 0) */
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    /* copy the sign of x onto big */
    __m512 sign = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
    big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big), _mm512_castps_si512(sign)));
    return _mm512_mask_blend_ps(is_small, big, small);
}

OQ_INLINE __m512 act512(enum oq_act_kind kind, __m512 x, __m512 a, __m512 b) {
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (kind) {
    case OQ_ACT_RELU:
        return _mm512_max_ps(x, zero); /* max_ps returns the 2nd operand for NaN: 0, as the reference */
    case OQ_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(x, a), b);
    case OQ_ACT_HARDSIGMOID:
        return _mm512_max_ps(_mm512_min_ps(_mm512_fmadd_ps(a, x, b), one), zero);
    case OQ_ACT_HARDSWISH: {
        __m512 h = _mm512_fmadd_ps(x, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(x, _mm512_max_ps(_mm512_min_ps(h, one), zero));
    }
    case OQ_ACT_SIGMOID:
        return _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(zero, x))));
    case OQ_ACT_LEAKYRELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
        return _mm512_mask_mul_ps(x, neg, x, a);
    }
    case OQ_ACT_TANH:
        return tanh512(x);
    default:
        return x;
    }
}

OQ_INLINE void row_loop(enum oq_act_kind kind, const struct oq_act *act, float bias, float *row, int64_t n) {
    const __m512 a = _mm512_set1_ps(act->a), b = _mm512_set1_ps(act->b), vb = _mm512_set1_ps(bias);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(row + i, act512(kind, _mm512_add_ps(_mm512_loadu_ps(row + i), vb), a, b));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + i), vb);
        _mm512_mask_storeu_ps(row + i, m, act512(kind, v, a, b));
    }
}

void oq_act_row_avx512(const struct oq_act *act, float bias, float *row, int64_t n) {
    switch (act ? act->kind : OQ_ACT_NONE) {
    case OQ_ACT_NONE:
        if (bias != 0.0f)
            row_loop(OQ_ACT_NONE, act ? act : &(struct oq_act){0}, bias, row, n);
        return;
    case OQ_ACT_RELU: row_loop(OQ_ACT_RELU, act, bias, row, n); return;
    case OQ_ACT_CLIP: row_loop(OQ_ACT_CLIP, act, bias, row, n); return;
    case OQ_ACT_HARDSIGMOID: row_loop(OQ_ACT_HARDSIGMOID, act, bias, row, n); return;
    case OQ_ACT_HARDSWISH: row_loop(OQ_ACT_HARDSWISH, act, bias, row, n); return;
    case OQ_ACT_SIGMOID: row_loop(OQ_ACT_SIGMOID, act, bias, row, n); return;
    case OQ_ACT_LEAKYRELU: row_loop(OQ_ACT_LEAKYRELU, act, bias, row, n); return;
    case OQ_ACT_TANH: row_loop(OQ_ACT_TANH, act, bias, row, n); return;
    default: oq_act_row_ref(act, bias, row, n); return;
    }
}
