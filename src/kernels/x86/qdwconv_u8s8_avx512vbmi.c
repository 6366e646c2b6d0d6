/* Depthwise u8 conv of one plane with AVX-512 VBMI + VNNI (contract in kernels/qgemm.h).
 *
 * Four horizontal taps of one kernel row share a 32-bit lane, so one vpdpbusd (u8 x s8, four products summed
 * into int32) does 64 MACs. For output columns ox..ox+15 and taps kx0..kx0+3, lane j needs the bytes
 * x[(ox+j)*sw + (kx0+t)*dil], t = 0..3, which lie in one 64-byte window when 15*sw + 3*dil <= 63: one load
 * and one vpermb with a constant index fill the 16 lanes, against the broadcast 4-byte weight group
 * w[ky][kx0..kx0+3] (zero past k_w, so the extra bytes add nothing). 3x3 is 3 vpdpbusd per 16 outputs
 * (9 vpdpwssd in the VNNI kernel), 5x5 is 10. A tile (2 output rows x 64 columns, or 4 rows x 32 or 16
 * at the right end and in narrow planes) permutes each input row once for all its output rows that use it.
 * The common shapes (k_h 3 with k_w <= 4 at strides 1x1, 2x2, 2x1; k_h 5 with k_w 5..8 at 1x1, 2x2; no
 * dilation) are compiled with constant loop bounds; any other geometry runs the same scheme with runtime
 * bounds, one output row per tile.
 *
 * No padded copy of the plane: rows above and below the input read a row of x_zp in scratch, and blocks that
 * cross the left or right edge use masked loads that merge x_zp outside [0, in_w) and never touch those
 * bytes. Every tap so reads x or x_zp, and sum_k w_k (x_k - x_zp) = sum_k w_k x_k - x_zp sum_k w_k exactly,
 * as in the reference; |sum| <= taps * 255 * 128 stays far inside int32 for the kernels handled here.
 *
 * Epilogue: requant.h's steps with the same float operations (cvt, mul, min(hi), round to nearest even).
 * The lower clamp and + out_zp run after narrowing: packssdw, paddsw zp, packuswb, then max/min with
 * act_min/act_max in u8. Each saturation is monotone with integer bounds outside [act_min, act_max], so the
 * result equals clamp-then-round; the min(hi) keeps huge values from turning into 0x80000000 in cvtps2dq.
 * Geometries this scheme does not cover (15*sw + 3*dil_w > 63, k_w > 16, (k_h - 1)*dil_h >= 64) use the
 * VNNI kernel. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/qconv_internal.h"
#include "kernels/requant.h"

#define DW_MAX_NG 4       /* 4-tap groups per kernel row: k_w <= 16 */
#define DW_MAX_GROUPS 256 /* k_h * ceil(k_w / 4) held in wq[] */
#define DW_MAX_ROWS 64    /* padded input rows one row tile touches */

#define DW_INLINE static inline __attribute__((always_inline))

/* Kernel rows, 4-tap groups per row, strides, dilations. The common shapes pass constants, so that every
 * loop below unrolls and the row sharing of a tile resolves at compile time. */
struct dw_shape {
    int kh, ng, sh, sw, dh, dw;
};

struct dw_plane {
    const uint8_t *x, *zrow; /* zrow: a row of x_zp, stands in for rows outside the input */
    uint8_t *y;
    const int32_t *wq; /* [k_h][ng] groups of 4 int8 weights */
    int64_t in_h, in_w, out_h, out_w, pad_t, pad_l;
    struct dw_shape k; /* at run time, for dw_any */
    __m512i idx, zpv, corr, zp16, amin, amax, perm;
    __m512 vs, hi;
};

/* Address of padded column 0 of padded row pr: real rows are shifted by pad_l (columns outside the input
 * are only reached through masked loads), the others map to the zero-point row. Integer arithmetic because
 * the shifted address may lie before x. */
DW_INLINE uintptr_t dw_row(const struct dw_plane *c, int64_t pr) {
    int64_t iy = pr - c->pad_t;
    if (iy < 0 || iy >= c->in_h)
        return (uintptr_t)c->zrow;
    return (uintptr_t)(c->x + iy * c->in_w) - (uintptr_t)c->pad_l;
}

/* Load mask for the 64 bytes from input column col: ones where 0 <= col + b < in_w. */
DW_INLINE __mmask64 dw_mask(const struct dw_plane *c, int64_t col) {
    int64_t lo = col < 0 ? -col : 0, hi = c->in_w - col;
    lo = lo > 64 ? 64 : lo;
    hi = hi < 0 ? 0 : hi > 64 ? 64 : hi;
    return _bzhi_u64(~0ULL, (unsigned)hi) & ~_bzhi_u64(~0ULL, (unsigned)lo);
}

DW_INLINE __m512i dw_requant(const struct dw_plane *c, __m512i acc) {
    return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), c->vs), c->hi));
}

/* Four vectors of 16 rounded values -> 64 clamped bytes in order. packs/packus interleave per 128-bit lane
 * (lane L holds a[4L..4L+3], b[..], c[..], d[..]); perm is the 4x4 dword transpose that undoes it. */
DW_INLINE __m512i dw_narrow(const struct dw_plane *c, __m512i a, __m512i b, __m512i d, __m512i e) {
    __m512i ab = _mm512_adds_epi16(_mm512_packs_epi32(a, b), c->zp16);
    __m512i de = _mm512_adds_epi16(_mm512_packs_epi32(d, e), c->zp16);
    __m512i q  = _mm512_permutexvar_epi32(c->perm, _mm512_packus_epi16(ab, de));
    return _mm512_min_epu8(_mm512_max_epu8(q, c->amin), c->amax);
}

/* Store 16-byte piece i of b (the output of unit i of a dw_narrow group) to out, n <= 16 bytes. */
DW_INLINE void dw_store16(uint8_t *out, __m512i b, const int i, int64_t n) {
    /* literal lane numbers: clang wants the immediate before inlining */
    const __m128i q = i == 0   ? _mm512_castsi512_si128(b)
                      : i == 1 ? _mm512_extracti32x4_epi32(b, 1)
                      : i == 2 ? _mm512_extracti32x4_epi32(b, 2)
                               : _mm512_extracti32x4_epi32(b, 3);
    if (n >= 16)
        _mm_storeu_si128((__m128i *)out, q);
    else
        _mm_mask_storeu_epi8(out, (__mmask16)_bzhi_u32(~0u, (unsigned)n), q);
}

/* Pieces i, i+1 of b (units (r, 0), (r, 1) of a row) to out, n <= 32 bytes. */
DW_INLINE void dw_store32(uint8_t *out, __m512i b, const int i, int64_t n) {
    const __m256i q = i == 0 ? _mm512_castsi512_si256(b) : _mm512_extracti64x4_epi64(b, 1);
    if (n >= 32)
        _mm256_storeu_si256((__m256i *)out, q);
    else
        _mm256_mask_storeu_epi8(out, _bzhi_u32(~0u, (unsigned)n), q);
}

/* Requantize and store the [NR][NV] units of a tile: rows (from oy) and cnt (columns from ox) say how
 * much of it is inside the output. Units in row-major order, four per dw_narrow (fewer: repeated, the
 * copies are not stored). */
DW_INLINE void dw_finish(const struct dw_plane *c,
                         __m512i acc[4][4],
                         int64_t oy,
                         int64_t ox,
                         int64_t rows,
                         int64_t cnt,
                         const int NR,
                         const int NV) {
    const int nu = NR * NV;
    for (int u0 = 0; u0 < nu; u0 += 4) {
        __m512i q[4];
        for (int i = 0; i < 4; i++)
            q[i] = u0 + i < nu ? dw_requant(c, acc[(u0 + i) / NV][(u0 + i) % NV]) : q[i % nu];
        const __m512i b = dw_narrow(c, q[0], q[1], q[2], q[3]);
        const int un    = nu - u0 < 4 ? nu - u0 : 4;
        for (int i = 0; i < un; i += NV) {
            const int r = (u0 + i) / NV;
            if (r >= rows)
                break;
            uint8_t *out = c->y + (oy + r) * c->out_w + ox;
            if (NV == 4)
                _mm512_storeu_si512(out, b);
            else if (NV == 2)
                dw_store32(out, b, i, cnt);
            else
                dw_store16(out, b, i, cnt);
        }
    }
}

/* NR output rows from oy x NV vectors of 16 columns from ox, of which the first `rows` rows and `cnt`
 * columns are stored (NV == 4 only for full blocks). row[ri] is dw_row(oy * sh + ri). MASKED: some load of
 * the tile crosses an input edge. */
DW_INLINE void dw_tile(const struct dw_plane *c,
                       const struct dw_shape k,
                       const uintptr_t *row,
                       int64_t oy,
                       int64_t ox,
                       int64_t rows,
                       int64_t cnt,
                       const int NR,
                       const int NV,
                       const bool MASKED) {
    /* [NR][NV] units of 16 outputs, NR * NV <= 8; fixed sizes so that all of it stays in registers once the
     * loops unroll */
    __m512i acc[4][4];
    __mmask64 lm[DW_MAX_NG][4] = {{0}};
    for (int r = 0; r < NR; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = c->corr;
    const int64_t x0 = ox * k.sw;
    if (MASKED)
        for (int gi = 0; gi < k.ng; gi++)
            for (int v = 0; v < NV; v++)
                lm[gi][v] = dw_mask(c, x0 + 16 * v * k.sw + 4 * gi * k.dw - c->pad_l);
    /* Every input row the tile needs, once; each feeds the output rows r with ri = r*sh + ky*dh. */
    const int nrows = (NR - 1) * k.sh + (k.kh - 1) * k.dh + 1;
    /* Unrolled, so that the row sharing resolves at compile time (GCC leaves 5x5 rolled without it; more
     * pragmas only slow the compile, with sanitizers most). */
#pragma GCC unroll 16
    for (int ri = 0; ri < nrows; ri++) {
        const uintptr_t base = row[ri] + (uintptr_t)x0;
        for (int gi = 0; gi < k.ng; gi++) {
            __m512i xv[4];
            for (int v = 0; v < NV; v++) {
                const void *p = (const void *)(base + (uintptr_t)(16 * v * k.sw + 4 * gi * k.dw));
                __m512i raw   = MASKED ? _mm512_mask_loadu_epi8(c->zpv, lm[gi][v], p) : _mm512_loadu_si512(p);
                xv[v]         = _mm512_permutexvar_epi8(c->idx, raw);
            }
            for (int r = 0; r < NR; r++) {
                const int d = ri - r * k.sh;
                if (d < 0 || d % k.dh != 0 || d / k.dh >= k.kh)
                    continue;
                const __m512i wv = _mm512_set1_epi32(c->wq[(d / k.dh) * k.ng + gi]);
                for (int v = 0; v < NV; v++)
                    acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv[v], wv);
            }
        }
    }
    dw_finish(c, acc, oy, ox, rows, cnt, NR, NV);
}

DW_INLINE void dw_block(const struct dw_plane *c,
                        const struct dw_shape k,
                        const uintptr_t *row,
                        int64_t oy,
                        int64_t ox,
                        int64_t rows,
                        int64_t cnt,
                        const int NR,
                        const int NV) {
    int64_t first = ox * k.sw - c->pad_l;
    int64_t last  = (ox + 16 * (NV - 1)) * k.sw + 4 * (k.ng - 1) * k.dw - c->pad_l;
    if (first >= 0 && last + 64 <= c->in_w)
        dw_tile(c, k, row, oy, ox, rows, cnt, NR, NV, false);
    else
        dw_tile(c, k, row, oy, ox, rows, cnt, NR, NV, true);
}

/* Output rows oy..oy+3 (the ones past out_h are computed from zero-point rows and not stored), all columns:
 * 64-column blocks as two tiles of 2 rows (8 accumulators each), then blocks of 32 while more than 16
 * columns remain, then one of 16, as tiles of 4 rows. The last block may be partial, but a vector never
 * starts past out_w - 1, so no load starts past padded column wp - 1. */
DW_INLINE void dw_rows4(const struct dw_plane *c, const struct dw_shape k, int64_t oy) {
    uintptr_t row[DW_MAX_ROWS];
    const int nrows = 3 * k.sh + (k.kh - 1) * k.dh + 1;
    for (int ri = 0; ri < nrows; ri++)
        row[ri] = dw_row(c, oy * k.sh + ri);
    const int64_t rows = c->out_h - oy;
    int64_t ox         = 0;
    for (; c->out_w - ox >= 64; ox += 64)
        for (int r = 0; r < 4 && r < rows; r += 2)
            dw_block(c, k, row + r * k.sh, oy + r, ox, rows - r, 64, 2, 4);
    for (; c->out_w - ox > 16; ox += 32)
        dw_block(c, k, row, oy, ox, rows, c->out_w - ox, 4, 2);
    if (ox < c->out_w)
        dw_block(c, k, row, oy, ox, rows, c->out_w - ox, 4, 1);
}

DW_INLINE void dw_run(const struct dw_plane *cp, const struct dw_shape k) {
    const struct dw_plane c = *cp; /* a local copy: stores to y cannot alias it, so nothing is reloaded */
    for (int64_t oy = 0; oy < c.out_h; oy += 4)
        dw_rows4(&c, k, oy);
}

/* The common shapes, with every loop bound a constant: {kh, ng, sh, sw, dh, dw} */
static void dw_3x4_s11(const struct dw_plane *c) {
    dw_run(c, (struct dw_shape){3, 1, 1, 1, 1, 1});
}
static void dw_3x4_s22(const struct dw_plane *c) {
    dw_run(c, (struct dw_shape){3, 1, 2, 2, 1, 1});
}
static void dw_3x4_s21(const struct dw_plane *c) {
    dw_run(c, (struct dw_shape){3, 1, 2, 1, 1, 1});
}
static void dw_5x8_s11(const struct dw_plane *c) {
    dw_run(c, (struct dw_shape){5, 2, 1, 1, 1, 1});
}
static void dw_5x8_s22(const struct dw_plane *c) {
    dw_run(c, (struct dw_shape){5, 2, 2, 2, 1, 1});
}

/* Any other geometry: one output row x NV vectors per tile, loops over the kernel at run time (no row
 * sharing, no unrolling beyond the vectors, so that the code stays small). */
DW_INLINE void dw_tile_any(const struct dw_plane *c,
                           const struct dw_shape *k,
                           const uintptr_t *row,
                           int64_t oy,
                           int64_t ox,
                           int64_t cnt,
                           const int NV,
                           const bool MASKED) {
    __m512i acc[4][4];
    __mmask64 lm[DW_MAX_NG][4] = {{0}};
    for (int v = 0; v < NV; v++)
        acc[0][v] = c->corr;
    const int64_t x0 = ox * k->sw;
    if (MASKED)
        for (int gi = 0; gi < k->ng; gi++)
            for (int v = 0; v < NV; v++)
                lm[gi][v] = dw_mask(c, x0 + 16 * v * k->sw + 4 * gi * k->dw - c->pad_l);
    for (int ky = 0; ky < k->kh; ky++)
        for (int gi = 0; gi < k->ng; gi++) {
            const uintptr_t base = row[ky * k->dh] + (uintptr_t)(x0 + 4 * gi * k->dw);
            const __m512i wv     = _mm512_set1_epi32(c->wq[ky * k->ng + gi]);
            for (int v = 0; v < NV; v++) {
                const void *p = (const void *)(base + (uintptr_t)(16 * v * k->sw));
                __m512i raw   = MASKED ? _mm512_mask_loadu_epi8(c->zpv, lm[gi][v], p) : _mm512_loadu_si512(p);
                acc[0][v]     = _mm512_dpbusd_epi32(acc[0][v], _mm512_permutexvar_epi8(c->idx, raw), wv);
            }
        }
    dw_finish(c, acc, oy, ox, 1, cnt, 1, NV);
}

DW_INLINE void dw_block_any(const struct dw_plane *c,
                            const struct dw_shape *k,
                            const uintptr_t *row,
                            int64_t oy,
                            int64_t ox,
                            int64_t cnt,
                            const int NV) {
    int64_t first = ox * k->sw - c->pad_l;
    int64_t last  = (ox + 16 * (NV - 1)) * k->sw + 4 * (k->ng - 1) * k->dw - c->pad_l;
    if (first >= 0 && last + 64 <= c->in_w)
        dw_tile_any(c, k, row, oy, ox, cnt, NV, false);
    else
        dw_tile_any(c, k, row, oy, ox, cnt, NV, true);
}

static void dw_any(const struct dw_plane *cp) {
    const struct dw_plane c = *cp;
    const struct dw_shape k = cp->k;
    uintptr_t row[DW_MAX_ROWS];
    const int nrows = (k.kh - 1) * k.dh + 1;
    for (int64_t oy = 0; oy < c.out_h; oy++) {
        for (int ri = 0; ri < nrows; ri++)
            row[ri] = dw_row(&c, oy * k.sh + ri);
        int64_t ox = 0;
        for (; c.out_w - ox >= 64; ox += 64)
            dw_block_any(&c, &k, row, oy, ox, 64, 4);
        for (; c.out_w - ox > 16; ox += 32)
            dw_block_any(&c, &k, row, oy, ox, c.out_w - ox, 2);
        if (ox < c.out_w)
            dw_block_any(&c, &k, row, oy, ox, c.out_w - ox, 1);
    }
}

oq_status oq_qdwconv_avx512vbmi(const struct oq_conv2d_geom *g,
                                const struct oq_qdw_params *p,
                                const uint8_t *x,
                                const int8_t *w,
                                uint8_t *y,
                                void *scratch) {
    if (!g || !p || !x || !w || !y || !scratch || p->act_min < 0 || p->act_max > 255 ||
        p->act_min > p->act_max)
        return OQ_ERR_ARG;
    /* zero points outside u8 fit neither the byte padding nor the 16-bit + out_zp */
    if (p->x_zp < 0 || p->x_zp > 255 || p->out_zp < 0 || p->out_zp > 255)
        return oq_qdwconv_ref(g, p, x, w, y, scratch);
    const int ng = (g->k_w + 3) / 4;
    if (g->k_h < 1 || g->k_w < 1 || g->stride_h < 1 || g->stride_w < 1 || g->dil_h < 1 || g->dil_w < 1 ||
        g->pad_t < 0 || g->pad_l < 0 || g->stride_w > 4 || g->dil_w > 16 ||
        15 * g->stride_w + 3 * g->dil_w > 63 || ng > DW_MAX_NG ||
        (int64_t)(g->k_h - 1) * g->dil_h + 1 > DW_MAX_ROWS || g->k_h * ng > DW_MAX_GROUPS)
        return oq_qdwconv_avx512vnni(g, p, x, w, y, scratch);
    if (g->out_h <= 0 || g->out_w <= 0)
        return OQ_OK;

    /* The zero-point row: loads start at padded columns <= wp - 1 and read 64 bytes, so it needs wp + 63
     * bytes; rounded up to 64 that is at most st (kernels/qconv.c), within oq_qdwconv_scratch_size(). */
    const __m512i zpv = _mm512_set1_epi8((char)p->x_zp);
    const int64_t wp  = (g->out_w - 1) * g->stride_w + (int64_t)(g->k_w - 1) * g->dil_w + 1;
    for (int64_t i = 0; i < wp + 63; i += 64)
        _mm512_storeu_si512((uint8_t *)scratch + i, zpv);

    /* wq[ky][gi] = w[ky][4gi..4gi+3], zero past k_w (<= 16): one masked load and store per kernel row */
    int32_t wq[DW_MAX_GROUPS];
    int32_t wsum = 0;
    for (int t = 0; t < g->k_h * g->k_w; t++)
        wsum += w[t];
    for (int ky = 0; ky < g->k_h; ky++)
        _mm_mask_storeu_epi32(
            wq + ky * ng,
            (__mmask8)_bzhi_u32(~0u, (unsigned)ng),
            _mm_maskz_loadu_epi8((__mmask16)_bzhi_u32(~0u, (unsigned)g->k_w), w + ky * g->k_w));
    /* index byte 4j + t = j*sw + t*dil (< 64): 16-bit multiplies act per byte since no product carries */
    const __m512i jb =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(0x01010101));
    const __m512i idx = _mm512_add_epi8(
        _mm512_mullo_epi16(jb, _mm512_set1_epi16((short)g->stride_w)),
        _mm512_mullo_epi16(_mm512_set1_epi32(0x03020100), _mm512_set1_epi16((short)g->dil_w)));

    struct dw_plane c = {
        .x     = x,
        .zrow  = scratch,
        .y     = y,
        .wq    = wq,
        .in_h  = g->in_h,
        .in_w  = g->in_w,
        .out_h = g->out_h,
        .out_w = g->out_w,
        .pad_t = g->pad_t,
        .pad_l = g->pad_l,
        .k   = {.kh = g->k_h, .ng = ng, .sh = g->stride_h, .sw = g->stride_w, .dh = g->dil_h, .dw = g->dil_w},
        .idx = idx,
        .zpv = zpv,
        .corr = _mm512_set1_epi32(oq_requant_acc(0, p->x_zp, wsum, p->bias)),
        .zp16 = _mm512_set1_epi16((short)p->out_zp),
        .amin = _mm512_set1_epi8((char)p->act_min),
        .amax = _mm512_set1_epi8((char)p->act_max),
        .perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
        .vs   = _mm512_set1_ps(p->scale),
        .hi   = _mm512_set1_ps((float)(p->act_max - p->out_zp)),
    };
    const bool d1  = g->dil_h == 1 && g->dil_w == 1;
    const bool k3  = d1 && g->k_h == 3 && ng == 1;
    const bool k5  = d1 && g->k_h == 5 && ng == 2;
    const bool s11 = g->stride_h == 1 && g->stride_w == 1;
    const bool s22 = g->stride_h == 2 && g->stride_w == 2;
    const bool s21 = g->stride_h == 2 && g->stride_w == 1;
    if (k3 && s11)
        dw_3x4_s11(&c);
    else if (k3 && s22)
        dw_3x4_s22(&c);
    else if (k3 && s21)
        dw_3x4_s21(&c);
    else if (k5 && s11)
        dw_5x8_s11(&c);
    else if (k5 && s22)
        dw_5x8_s22(&c);
    else
        dw_any(&c);
    return OQ_OK;
}
