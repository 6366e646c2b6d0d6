/* Reference u8 convolution helpers (kernels/qgemm.h): im2col with the zero point as padding, and the direct
 * depthwise conv of one plane. Oracles: plain loops, never optimized. */
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
