/* Shared parts of the u8 conv helpers (kernels/qgemm.h): the depthwise scratch rule and the padded-plane
 * copy used by the SIMD depthwise kernels, and a portable fast im2col. */
#include <string.h>

#include "kernels/qconv_internal.h"

/* The padded plane covers every tap of every output: rows (out_h-1)*stride_h + (k_h-1)*dil_h + 1, columns
 * likewise plus 64 bytes of slack, so a vector load for the last (partial) block of a row stays inside. */
void oq_qdw_padded_dims(const struct oq_conv2d_geom *g, int64_t *hp, int64_t *wp, int64_t *stride) {
    *hp = (g->out_h - 1) * g->stride_h + (int64_t)(g->k_h - 1) * g->dil_h + 1;
    *wp = (g->out_w - 1) * g->stride_w + (int64_t)(g->k_w - 1) * g->dil_w + 1;
    *stride = (*wp + 64 + 63) & ~(int64_t)63;
}

size_t oq_qdwconv_scratch_size(const struct oq_conv2d_geom *g) {
    if (g->out_h <= 0 || g->out_w <= 0)
        return 64;
    int64_t hp, wp, st;
    oq_qdw_padded_dims(g, &hp, &wp, &st);
    return (size_t)((hp + 1) * st + 64);
}

void oq_qdw_pad_plane(const struct oq_conv2d_geom *g, const uint8_t *x, uint8_t zp, uint8_t *buf) {
    int64_t hp, wp, st;
    oq_qdw_padded_dims(g, &hp, &wp, &st);
    for (int64_t r = 0; r < hp + 1; r++) {
        uint8_t *d = buf + r * st;
        int64_t iy = r - g->pad_t;
        if (r >= hp || iy < 0 || iy >= g->in_h) {
            memset(d, zp, (size_t)st);
            continue;
        }
        /* columns c map to ix = c - pad_l */
        int64_t c0 = g->pad_l > 0 ? g->pad_l : 0;               /* first column with ix >= 0 */
        int64_t c1 = g->in_w + g->pad_l;                          /* first column with ix >= in_w */
        if (c1 > st)
            c1 = st;
        if (c0 > c1)
            c0 = c1;
        memset(d, zp, (size_t)c0);
        if (c1 > c0)
            memcpy(d + c0, x + iy * g->in_w + (c0 - g->pad_l), (size_t)(c1 - c0));
        memset(d + c1, zp, (size_t)(st - c1));
    }
}

/* im2col for one kernel tap row at a time: runs of consecutive output columns map to consecutive input
 * columns when stride_w == 1, so each in-range run is one memcpy. */
void oq_qim2col_fast(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad, int64_t p0,
                     int64_t p1, uint8_t *col, int64_t ldc) {
    for (int64_t c = 0; c < channels; c++)
        for (int64_t ky = 0; ky < g->k_h; ky++)
            for (int64_t kx = 0; kx < g->k_w; kx++) {
                uint8_t *row = col + ((c * g->k_h + ky) * g->k_w + kx) * ldc;
                int64_t p = p0;
                while (p < p1) {
                    int64_t oy = p / g->out_w, ox = p % g->out_w;
                    int64_t run = g->out_w - ox;
                    if (run > p1 - p)
                        run = p1 - p;
                    uint8_t *d = row + (p - p0);
                    int64_t iy = oy * g->stride_h - g->pad_t + ky * g->dil_h;
                    if (iy < 0 || iy >= g->in_h) {
                        memset(d, pad, (size_t)run);
                    } else {
                        const uint8_t *s = x + (c * g->in_h + iy) * g->in_w;
                        int64_t ix0 = ox * g->stride_w - g->pad_l + kx * g->dil_w;
                        if (g->stride_w == 1) {
                            /* in range for ox with 0 <= ix0 + i < in_w */
                            int64_t lo = ix0 < 0 ? -ix0 : 0, hi = g->in_w - ix0;
                            if (lo > run)
                                lo = run;
                            if (hi > run)
                                hi = run;
                            if (hi < lo)
                                hi = lo;
                            memset(d, pad, (size_t)lo);
                            if (hi > lo)
                                memcpy(d + lo, s + ix0 + lo, (size_t)(hi - lo));
                            memset(d + hi, pad, (size_t)(run - hi));
                        } else {
                            for (int64_t i = 0; i < run; i++) {
                                int64_t ix = ix0 + i * g->stride_w;
                                d[i] = ix >= 0 && ix < g->in_w ? s[ix] : pad;
                            }
                        }
                    }
                    p += run;
                }
            }
}
