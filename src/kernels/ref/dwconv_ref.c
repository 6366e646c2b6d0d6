/* Reference depthwise conv of one plane (conv.h). Numerics: acc starts at 0 and adds w*x in ky, kx order
 * (out-of-range taps skipped), then y = act(acc + bias) with oq_act_apply1. */
#include "kernels/conv.h"

void oq_dwconv_ref(const struct oq_conv2d_geom *g, const float *x, const float *w, float bias, float *y,
                   const struct oq_act *act) {
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            float acc = 0.0f;
            for (int32_t ky = 0; ky < g->k_h; ky++) {
                int64_t iy = oy * g->stride_h - g->pad_t + (int64_t)ky * g->dil_h;
                if (iy < 0 || iy >= g->in_h)
                    continue;
                for (int32_t kx = 0; kx < g->k_w; kx++) {
                    int64_t ix = ox * g->stride_w - g->pad_l + (int64_t)kx * g->dil_w;
                    if (ix < 0 || ix >= g->in_w)
                        continue;
                    acc += w[ky * g->k_w + kx] * x[iy * g->in_w + ix];
                }
            }
            float v = acc + bias;
            y[oy * g->out_w + ox] = act ? oq_act_apply1(act, v) : v;
        }
    }
}
