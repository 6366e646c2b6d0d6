/* Reference u8 x s8 GEMM: the oracle for every fast qgemm (kernels/qgemm.h states the numerics). Plain
 * loops over the packed layout, never optimized: one int32 dot product per output, then the epilogue
 * through kernels/requant.h. The sum is exact (K <= OQ_QGEMM_MAX_K bounds it below 2^31), so the order of
 * the additions does not matter and the SIMD kernels must match it bit for bit. */
#include "kernels/qgemm.h"
#include "kernels/requant.h"

static int32_t wat(const struct oq_qgemm_packed *p, int64_t m, int64_t k) {
    const int64_t Q = p->K4 / OQ_QGEMM_KU;
    return p->w[(((m / OQ_QGEMM_MR) * Q + k / OQ_QGEMM_KU) * OQ_QGEMM_MR + m % OQ_QGEMM_MR) * OQ_QGEMM_KU +
                k % OQ_QGEMM_KU];
}

oq_status oq_qgemm_ref(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a, void *scratch, int ith,
                       int nth) {
    oq_status st = oq_qgemm_check(w, a);
    if (st != OQ_OK)
        return st;
    int64_t m0, m1, n0, n1;
    oq_qgemm_slice(w, a->N, ith, nth, &m0, &m1, &n0, &n1);
    const struct oq_qgemm_epilogue *e = &a->ep;
    for (int64_t m = m0; m < m1; m++) {
        float scale = e->scale ? e->scale[e->per_channel ? m : 0] : 0.0f;
        int32_t bias = e->bias ? e->bias[m] : 0;
        for (int64_t n = n0; n < n1; n++) {
            int32_t acc = 0;
            for (int64_t k = 0; k < w->K; k++)
                acc += wat(w, m, k) * (int32_t)a->x[k * a->ldx + n];
            int32_t v = oq_requant_acc(acc, a->x_zp, w->wsum[m], bias);
            switch (e->out) {
            case OQ_QGEMM_OUT_U8:
                ((uint8_t *)a->y)[m * a->ldy + n] =
                    oq_requant_narrow_u8(oq_requant_f32(v, scale, e->out_zp, e->act_min, e->act_max));
                break;
            case OQ_QGEMM_OUT_S8:
                ((int8_t *)a->y)[m * a->ldy + n] =
                    oq_requant_narrow_s8(oq_requant_f32(v, scale, e->out_zp, e->act_min, e->act_max));
                break;
            case OQ_QGEMM_OUT_S32:
                ((int32_t *)a->y)[m * a->ldy + n] = v;
                break;
            case OQ_QGEMM_OUT_F32:
                ((float *)a->y)[m * a->ldy + n] = oq_requant_dequant_f32(v, scale);
                break;
            }
        }
    }
    return OQ_OK;
}
