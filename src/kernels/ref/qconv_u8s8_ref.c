/* Reference u8 convolution helpers (kernels/qgemm.h): im2col with the zero point as padding, the direct
 * depthwise conv of one plane, and the implicit-GEMM conv (xpack and the GEMM over xi, written from the layout
 * definitions in kernels/qgemm.h rather than through the koff table the fast kernels use). Oracles: plain
 * loops, never optimized. */
#include "core/pool.h"
#include "kernels/qgemm.h"
#include "kernels/requant.h"

void oq_qim2col_ref(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad, int64_t p0,
                    int64_t p1, uint8_t *col, int64_t ldc) {
    for (int64_t c = 0; c < channels; c++)
        for (int64_t ky = 0; ky < g->k_h; ky++)
            for (int64_t kx = 0; kx < g->k_w; kx++) {
                uint8_t *row = col + ((c * g->k_h + ky) * g->k_w + kx) * ldc;
                for (int64_t p = p0; p < p1; p++) {
                    int64_t oy = p / g->out_w, ox = p % g->out_w;
                    int64_t iy = oy * g->stride_h - g->pad_t + ky * g->dil_h;
                    int64_t ix = ox * g->stride_w - g->pad_l + kx * g->dil_w;
                    bool in = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
                    row[p - p0] = in ? x[(c * g->in_h + iy) * g->in_w + ix] : pad;
                }
            }
}

oq_status oq_qdwconv_ref(const struct oq_conv2d_geom *g, const struct oq_qdw_params *p, const uint8_t *x,
                         const int8_t *w, uint8_t *y, void *scratch) {
    if (!g || !p || !x || !w || !y || p->act_min < 0 || p->act_max > 255 || p->act_min > p->act_max)
        return OQ_ERR_ARG;
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            int32_t acc = 0;
            for (int64_t ky = 0; ky < g->k_h; ky++)
                for (int64_t kx = 0; kx < g->k_w; kx++) {
                    int64_t iy = oy * g->stride_h - g->pad_t + ky * g->dil_h;
                    int64_t ix = ox * g->stride_w - g->pad_l + kx * g->dil_w;
                    if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w)
                        acc += w[ky * g->k_w + kx] * ((int32_t)x[iy * g->in_w + ix] - p->x_zp);
                }
            int32_t v = oq_requant_acc(acc, 0, 0, p->bias);
            y[oy * g->out_w + ox] = oq_requant_narrow_u8(oq_requant_f32(v, p->scale, p->out_zp, p->act_min, p->act_max));
        }
    return OQ_OK;
}

void oq_qconv_xpack_ref(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad, int64_t r0,
                        int64_t r1, uint8_t *xi) {
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, channels, &d);
    for (int64_t r = r0; r < r1; r++)
        for (int64_t ph = 0; ph < d.sw; ph++)
            for (int64_t u = 0; u < d.Wq; u++)
                for (int64_t j = 0; j < 4; j++) {
                    int64_t c = r / d.Hp * 4 + j, iy = r % d.Hp - g->pad_t, ix = u * d.sw + ph - g->pad_l;
                    bool in = c < channels && iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
                    xi[((r * d.sw + ph) * d.Wq + u) * 4 + j] = in ? x[(c * g->in_h + iy) * g->in_w + ix] : pad;
                }
}

static int32_t igemm_wat(const struct oq_qgemm_packed *p, int64_t m, int64_t k) {
    const int64_t Q = p->K4 / OQ_QGEMM_KU;
    return p->w[(((m / OQ_QGEMM_MR) * Q + k / OQ_QGEMM_KU) * OQ_QGEMM_MR + m % OQ_QGEMM_MR) * OQ_QGEMM_KU +
                k % OQ_QGEMM_KU];
}

oq_status oq_qconv_igemm_ref(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a,
                             const uint8_t *xi, void *scratch, int ith, int nth) {
    (void)scratch;
    oq_status st = oq_qconv_igemm_check(w, a);
    if (st != OQ_OK)
        return st;
    const struct oq_conv2d_geom *g = &a->g;
    if (g->out_h * g->out_w == 0)
        return OQ_OK;
    if (!xi)
        return OQ_ERR_ARG;
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, a->channels, &d);
    const int64_t T = (g->out_w + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR, taps = (int64_t)g->k_h * g->k_w;
    int64_t t0, t1;
    oq_split(g->out_h * T, ith, nth < 1 ? 1 : nth, &t0, &t1);
    const struct oq_qgemm_epilogue *e = &a->ep;
    for (int64_t t = t0; t < t1; t++) {
        int64_t oy = t / T, ox0 = t % T * OQ_QGEMM_NR;
        int64_t ox1 = ox0 + OQ_QGEMM_NR < g->out_w ? ox0 + OQ_QGEMM_NR : g->out_w;
        for (int64_t m = 0; m < w->M; m++) {
            float scale = e->scale ? e->scale[e->per_channel ? m : 0] : 0.0f;
            int32_t bias = e->bias ? e->bias[m] : 0;
            for (int64_t ox = ox0; ox < ox1; ox++) {
                int32_t acc = 0;
                for (int64_t k = 0; k < w->K; k++) {
                    /* k' = (cq*taps + tap)*4 + j reads padded (oy*sh + ky*dh, ox*sw + kx*dw) of channel 4cq+j */
                    int64_t q = k / 4, j = k % 4, cq = q / taps, ky = q % taps / g->k_w, kx = q % taps % g->k_w;
                    int64_t pr = oy * g->stride_h + ky * g->dil_h, pc = ox * g->stride_w + kx * g->dil_w;
                    acc += igemm_wat(w, m, k) *
                           (int32_t)xi[(((cq * d.Hp + pr) * d.sw + pc % d.sw) * d.Wq + pc / d.sw) * 4 + j];
                }
                int32_t v = oq_requant_acc(acc, a->x_zp, w->wsum[m], bias);
                int64_t at = m * a->ldy + oy * g->out_w + ox;
                switch (e->out) {
                case OQ_QGEMM_OUT_U8:
                    ((uint8_t *)a->y)[at] =
                        oq_requant_narrow_u8(oq_requant_f32(v, scale, e->out_zp, e->act_min, e->act_max));
                    break;
                case OQ_QGEMM_OUT_S8:
                    ((int8_t *)a->y)[at] =
                        oq_requant_narrow_s8(oq_requant_f32(v, scale, e->out_zp, e->act_min, e->act_max));
                    break;
                case OQ_QGEMM_OUT_S32:
                    ((int32_t *)a->y)[at] = v;
                    break;
                case OQ_QGEMM_OUT_F32:
                    ((float *)a->y)[at] = oq_requant_dequant_f32(v, scale);
                    break;
                }
            }
        }
    }
    return OQ_OK;
}
