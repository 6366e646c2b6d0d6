/* Shared parts of the u8 conv helpers (kernels/qgemm.h): the depthwise scratch rule and the padded-plane
 * copy used by the SIMD depthwise kernels, a portable fast im2col, and the layout rules of the implicit-GEMM
 * conv (xi geometry, k' offsets, weight packing, a portable xpack). */
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

/* ---- implicit-GEMM conv: layout rules shared by every implementation (kernels/qgemm.h) ---- */

void oq_qconv_xi_dims(const struct oq_conv2d_geom *g, int64_t channels, struct oq_qconv_xi_dims *d) {
    d->CQ = (channels + 3) / 4;
    d->sw = g->stride_w;
    d->Hp = (g->out_h - 1) * g->stride_h + (int64_t)(g->k_h - 1) * g->dil_h + 1;
    int64_t wp = (g->out_w - 1) * g->stride_w + (int64_t)(g->k_w - 1) * g->dil_w + 1;
    /* multiple of 16 pixels: every phase row starts 64-byte aligned and the SIMD xpack writes whole vectors */
    d->Wq = ((wp + d->sw - 1) / d->sw + 15) & ~(int64_t)15;
    d->rows = d->CQ * d->Hp;
    d->bytes = d->rows * d->sw * d->Wq * 4 + OQ_QCONV_XI_SLACK;
}

int64_t oq_qconv_igemm_depth(int64_t channels, int64_t k_h, int64_t k_w) {
    if (channels <= 0 || k_h <= 0 || k_w <= 0)
        return 0;
    int64_t kp = (channels + 3) / 4 * 4 * k_h * k_w;
    return kp <= OQ_QGEMM_MAX_K ? kp : 0;
}

void oq_qconv_igemm_offsets(const struct oq_conv2d_geom *g, int64_t channels, int64_t *koff) {
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, channels, &d);
    int64_t q = 0;
    for (int64_t cq = 0; cq < d.CQ; cq++)
        for (int64_t ky = 0; ky < g->k_h; ky++)
            for (int64_t kx = 0; kx < g->k_w; kx++) {
                int64_t dx = kx * g->dil_w;
                koff[q++] = ((cq * d.Hp + ky * g->dil_h) * d.sw + dx % d.sw) * d.Wq * 4 + dx / d.sw * 4;
            }
}

oq_status oq_qconv_igemm_pack(struct oq_qgemm_packed *out, const int8_t *W, int64_t M, int64_t channels,
                              int64_t k_h, int64_t k_w, void *buf) {
    int64_t kp = oq_qconv_igemm_depth(channels, k_h, k_w);
    if (!out || !W || !buf || M <= 0 || M > INT32_MAX || !kp || ((uintptr_t)buf & 63))
        return OQ_ERR_ARG;
    const int64_t taps = k_h * k_w, Q = kp / OQ_QGEMM_KU, K = channels * taps;
    out->M = (int32_t)M;
    out->K = (int32_t)kp;
    out->K4 = (int32_t)kp;
    out->panels = (int32_t)((M + OQ_QGEMM_MR - 1) / OQ_QGEMM_MR);
    out->w = buf;
    out->wsum = (int32_t *)((char *)buf + ((out->panels * kp * OQ_QGEMM_MR + 63) & ~(int64_t)63));
    for (int64_t p = 0; p < out->panels; p++)
        for (int64_t q = 0; q < Q; q++)
            for (int r = 0; r < OQ_QGEMM_MR; r++)
                for (int j = 0; j < OQ_QGEMM_KU; j++) {
                    int64_t m = p * OQ_QGEMM_MR + r, c = q / taps * 4 + j, tap = q % taps;
                    out->w[((p * Q + q) * OQ_QGEMM_MR + r) * OQ_QGEMM_KU + j] =
                        m < M && c < channels ? W[m * K + c * taps + tap] : 0;
                }
    for (int64_t m = 0; m < (int64_t)out->panels * OQ_QGEMM_MR; m++) {
        int32_t s = 0;
        for (int64_t k = 0; m < M && k < K; k++)
            s += W[m * K + k];
        out->wsum[m] = s;
    }
    return OQ_OK;
}

void oq_qconv_igemm_unpack_ref(const struct oq_qgemm_packed *p, int64_t channels, int64_t k_h, int64_t k_w,
                               int8_t *W) {
    const int64_t taps = k_h * k_w, Q = p->K4 / OQ_QGEMM_KU;
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t tap = 0; tap < taps; tap++) {
                int64_t q = c / 4 * taps + tap;
                W[(m * channels + c) * taps + tap] =
                    p->w[(((m / OQ_QGEMM_MR) * Q + q) * OQ_QGEMM_MR + m % OQ_QGEMM_MR) * OQ_QGEMM_KU + c % 4];
            }
}

oq_status oq_qconv_igemm_check(const struct oq_qgemm_packed *w, const struct oq_qconv_igemm_args *a) {
    if (!w || !a)
        return OQ_ERR_ARG;
    const struct oq_conv2d_geom *g = &a->g;
    if (g->k_h < 1 || g->k_w < 1 || g->stride_h < 1 || g->stride_w < 1 || g->dil_h < 1 || g->dil_w < 1 ||
        g->out_h < 0 || g->out_w < 0 || w->K != oq_qconv_igemm_depth(a->channels, g->k_h, g->k_w) ||
        w->K4 != w->K)
        return OQ_ERR_ARG;
    /* the GEMM checks of the equivalent explicit problem: N = out_h*out_w columns, row stride ldy */
    int64_t P = g->out_h * g->out_w;
    struct oq_qgemm_args ga = {.N = P, .x = (const uint8_t *)"", .ldx = P, .x_zp = a->x_zp, .y = a->y,
                               .ldy = a->ldy, .ep = a->ep};
    return oq_qgemm_check(w, &ga);
}

/* Portable xpack: per padded row and stride phase, the in-range span of each channel is a strided byte copy
 * (for stride 1 GCC turns the 4-channel interleave into vector shuffles); the rest is pad. */
void oq_qconv_xpack_fast(const struct oq_conv2d_geom *g, int64_t channels, const uint8_t *x, uint8_t pad,
                         int64_t r0, int64_t r1, uint8_t *xi) {
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, channels, &d);
    const int64_t sw = d.sw, Wq = d.Wq;
    for (int64_t r = r0; r < r1; r++) {
        int64_t cq = r / d.Hp, iy = r % d.Hp - g->pad_t;
        uint8_t *row = xi + r * sw * Wq * 4;
        if (iy < 0 || iy >= g->in_h) {
            memset(row, pad, (size_t)(sw * Wq * 4));
            continue;
        }
        for (int64_t ph = 0; ph < sw; ph++) {
            uint8_t *dst = row + ph * Wq * 4;
            /* u in [ua, ub) reads ix = u*sw + ph - pad_l inside [0, in_w) */
            int64_t ua = g->pad_l > ph ? (g->pad_l - ph + sw - 1) / sw : 0;
            int64_t ub = (g->in_w + g->pad_l - ph + sw - 1) / sw;
            if (ub > Wq)
                ub = Wq;
            if (ua > ub)
                ua = ub;
            memset(dst, pad, (size_t)(ua * 4));
            memset(dst + ub * 4, pad, (size_t)((Wq - ub) * 4));
            const int64_t off = ph - g->pad_l; /* ix = u*sw + off, >= 0 for u >= ua */
            if (sw == 1 && cq * 4 + 4 <= channels) {
                const uint8_t *s0 = x + ((cq * 4 + 0) * g->in_h + iy) * g->in_w;
                const uint8_t *s1 = x + ((cq * 4 + 1) * g->in_h + iy) * g->in_w;
                const uint8_t *s2 = x + ((cq * 4 + 2) * g->in_h + iy) * g->in_w;
                const uint8_t *s3 = x + ((cq * 4 + 3) * g->in_h + iy) * g->in_w;
                for (int64_t u = ua; u < ub; u++) {
                    dst[u * 4 + 0] = s0[u + off];
                    dst[u * 4 + 1] = s1[u + off];
                    dst[u * 4 + 2] = s2[u + off];
                    dst[u * 4 + 3] = s3[u + off];
                }
                continue;
            }
            for (int j = 0; j < 4; j++) {
                int64_t c = cq * 4 + j;
                if (c >= channels) {
                    for (int64_t u = ua; u < ub; u++)
                        dst[u * 4 + j] = pad;
                    continue;
                }
                const uint8_t *s = x + (c * g->in_h + iy) * g->in_w;
                for (int64_t u = ua; u < ub; u++)
                    dst[u * 4 + j] = s[u * sw + off];
            }
        }
    }
}
