/* The row quantizer (vectorizable) equals the scalar oracle oq_quantize_one bit for bit: ties at k + 0.5,
 * NaN, +-Inf, huge and denormal values, every quantized type, random scales and zero points. */
#include <math.h>
#include <string.h>

#include "calib/qmath.h"
#include "test_util.h"

int main(void) {
    static const enum oq_dtype types[] = {OQ_DTYPE_UINT8, OQ_DTYPE_INT8, OQ_DTYPE_UINT16, OQ_DTYPE_INT16};
    uint64_t seed = 11;
    enum { N = 4096 };
    static float x[N];
    static uint8_t row[N * 2];
    for (int trial = 0; trial < 200; trial++) {
        enum oq_dtype t = types[trial % 4];
        int32_t qmin, qmax;
        oq_qtype_range(t, false, &qmin, &qmax);
        float scale = trial % 7 == 0 ? 1.0f : expf(test_rng_uniform(&seed, -12.0f, 4.0f));
        int32_t zp = qmin + (int32_t)(test_rng_next(&seed) % (uint64_t)(qmax - qmin + 1));
        for (int i = 0; i < N; i++) {
            switch (i % 8) {
            case 0: x[i] = ((float)(int32_t)(test_rng_next(&seed) % 512) - 256.0f + 0.5f) * scale; break; /* ties */
            case 1: x[i] = test_rng_uniform(&seed, -1e9f, 1e9f); break;
            case 2: x[i] = (i & 16) ? NAN : ((i & 32) ? INFINITY : -INFINITY); break;
            case 3: x[i] = test_rng_uniform(&seed, -1e-38f, 1e-38f); break;
            default: x[i] = test_rng_uniform(&seed, (float)(qmin - zp) * scale * 1.2f, (float)(qmax - zp) * scale * 1.2f);
            }
        }
        oq_quantize_f32(x, N, scale, zp, t, row);
        int bad = 0, first = -1;
        for (int i = 0; i < N; i++) {
            int32_t want = oq_quantize_one(x[i], scale, zp, t), got;
            switch (t) {
            case OQ_DTYPE_UINT8: got = ((uint8_t *)row)[i]; break;
            case OQ_DTYPE_INT8: got = ((int8_t *)row)[i]; break;
            case OQ_DTYPE_UINT16: got = ((uint16_t *)row)[i]; break;
            default: got = ((int16_t *)row)[i]; break;
            }
            if (got != want) {
                bad++;
                if (first < 0)
                    first = i;
            }
        }
        CHECK_MSG(bad == 0, "quantize_f32/%s scale=%g zp=%d: first mismatch at %d (x=%g): %d of %d differ",
                  oq_dtype_name(t), (double)scale, zp, first, first >= 0 ? (double)x[first] : 0.0, bad, N);
    }
    /* the documented ties */
    uint8_t q[3];
    float ties[3] = {0.5f, 1.5f, 2.5f};
    oq_quantize_f32(ties, 3, 1.0f, 0, OQ_DTYPE_UINT8, q);
    CHECK(q[0] == 0 && q[1] == 2 && q[2] == 2);
    int8_t qs[1];
    float neg = -2.5f;
    oq_quantize_f32(&neg, 1, 1.0f, 0, OQ_DTYPE_INT8, qs);
    CHECK(qs[0] == -2);
    TEST_MAIN_END();
}
