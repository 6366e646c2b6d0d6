/* Shared parts of the u8 x s8 GEMM (kernels/qgemm.h): weight packing, argument checks, the thread-slice
 * rule every implementation uses, scratch sizing and the pool wrapper. */
#include <stdatomic.h>
#include <string.h>

#include "core/pool.h"
#include "kernels/dispatch.h"
#include "kernels/qgemm.h"

/* Below this many multiply-adds per extra thread a GEMM stays on the calling thread (a wake-up costs a few
 * microseconds, ~2^20 VNNI MACs). */
enum { QGEMM_MIN_MACS_PER_THREAD = 1 << 20 };

static int64_t align64(int64_t n) { return (n + 63) & ~(int64_t)63; }

size_t oq_qgemm_packed_bytes(int64_t M, int64_t K) {
    if (M <= 0 || K <= 0 || K > OQ_QGEMM_MAX_K)
        return 0;
    int64_t panels = (M + OQ_QGEMM_MR - 1) / OQ_QGEMM_MR, K4 = (K + 3) & ~(int64_t)3;
    return (size_t)(align64(panels * K4 * OQ_QGEMM_MR) + align64(panels * OQ_QGEMM_MR * 4));
}

oq_status oq_qgemm_pack(struct oq_qgemm_packed *out, const int8_t *W, int64_t M, int64_t K, int64_t ldw,
                        void *buf) {
    if (!out || !W || !buf || M <= 0 || K <= 0 || K > OQ_QGEMM_MAX_K || M > INT32_MAX || ldw < K ||
        ((uintptr_t)buf & 63))
        return OQ_ERR_ARG;
    out->M = (int32_t)M;
    out->K = (int32_t)K;
    out->K4 = (int32_t)((K + 3) & ~(int64_t)3);
    out->panels = (int32_t)((M + OQ_QGEMM_MR - 1) / OQ_QGEMM_MR);
    out->w = buf;
    out->wsum = (int32_t *)((char *)buf + align64((int64_t)out->panels * out->K4 * OQ_QGEMM_MR));
    const int64_t Q = out->K4 / OQ_QGEMM_KU;
    for (int64_t p = 0; p < out->panels; p++)
        for (int64_t q = 0; q < Q; q++)
            for (int r = 0; r < OQ_QGEMM_MR; r++)
                for (int j = 0; j < OQ_QGEMM_KU; j++) {
                    int64_t m = p * OQ_QGEMM_MR + r, k = q * OQ_QGEMM_KU + j;
                    out->w[((p * Q + q) * OQ_QGEMM_MR + r) * OQ_QGEMM_KU + j] = m < M && k < K ? W[m * ldw + k] : 0;
                }
    for (int64_t m = 0; m < (int64_t)out->panels * OQ_QGEMM_MR; m++) {
        int32_t s = 0;
        for (int64_t k = 0; m < M && k < K; k++)
            s += W[m * ldw + k];
        out->wsum[m] = s;
    }
    return OQ_OK;
}

void oq_qgemm_unpack_ref(const struct oq_qgemm_packed *p, int8_t *W, int64_t ldw) {
    const int64_t Q = p->K4 / OQ_QGEMM_KU;
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t k = 0; k < p->K; k++)
            W[m * ldw + k] = p->w[(((m / OQ_QGEMM_MR) * Q + k / OQ_QGEMM_KU) * OQ_QGEMM_MR + m % OQ_QGEMM_MR) *
                                      OQ_QGEMM_KU +
                                  k % OQ_QGEMM_KU];
}

size_t oq_qgemm_scratch_slice(int64_t K) {
    int64_t K4 = (K + 3) & ~(int64_t)3;
    /* VNNI: packed X tile K4 x 48 bytes. AVX2: X tile widened to int16 (K4 x 24 x 2 bytes) plus one weight
     * panel widened to int16 (K4 x 8 x 2 bytes). */
    return (size_t)(align64(K4 * OQ_QGEMM_NR) + align64(K4 * OQ_QGEMM_MR * 2) + 64);
}

size_t oq_qgemm_scratch_size(int64_t K, int nth) { return (size_t)(nth < 1 ? 1 : nth) * oq_qgemm_scratch_slice(K); }

void oq_qgemm_slice(const struct oq_qgemm_packed *w, int64_t N, int ith, int nth, int64_t *m0, int64_t *m1,
                    int64_t *n0, int64_t *n1) {
    *m0 = 0;
    *m1 = w->M;
    *n0 = 0;
    *n1 = N;
    if (nth <= 1)
        return;
    int64_t nblk = (N + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR;
    if (nblk >= nth || nblk >= w->panels) { /* column slices: every thread reads all weights, own X */
        oq_split(nblk, ith, nth, n0, n1);
        *n0 *= OQ_QGEMM_NR;
        *n1 *= OQ_QGEMM_NR;
        if (*n1 > N)
            *n1 = N;
        if (*n0 > N)
            *n0 = N;
    } else { /* narrow N: row-panel slices */
        oq_split(w->panels, ith, nth, m0, m1);
        *m0 *= OQ_QGEMM_MR;
        *m1 *= OQ_QGEMM_MR;
        if (*m1 > w->M)
            *m1 = w->M;
        if (*m0 > w->M)
            *m0 = w->M;
    }
}

oq_status oq_qgemm_check(const struct oq_qgemm_packed *w, const struct oq_qgemm_args *a) {
    if (!w || !a || !w->w || !w->wsum || w->M <= 0 || w->K <= 0 || w->K > OQ_QGEMM_MAX_K || a->N < 0 ||
        (a->N > 0 && (!a->x || !a->y || a->ldx < a->N || a->ldy < a->N)) || a->x_zp < 0 || a->x_zp > 255)
        return OQ_ERR_ARG;
    const struct oq_qgemm_epilogue *e = &a->ep;
    switch (e->out) {
    case OQ_QGEMM_OUT_U8:
    case OQ_QGEMM_OUT_S8: {
        int32_t lo = e->out == OQ_QGEMM_OUT_U8 ? 0 : -128, hi = e->out == OQ_QGEMM_OUT_U8 ? 255 : 127;
        if (!e->scale || e->act_min < lo || e->act_max > hi || e->act_min > e->act_max)
            return OQ_ERR_ARG;
        break;
    }
    case OQ_QGEMM_OUT_F32:
        if (!e->scale)
            return OQ_ERR_ARG;
        break;
    case OQ_QGEMM_OUT_S32:
        break;
    default:
        return OQ_ERR_ARG;
    }
    return OQ_OK;
}

struct qgemm_job {
    oq_qgemm_fn fn;
    const struct oq_qgemm_packed *w;
    const struct oq_qgemm_args *a;
    void *scratch;
    oq_status st[64];
};

static void qgemm_task(void *arg, int ith, int nth) {
    struct qgemm_job *j = arg;
    j->st[ith] = j->fn(j->w, j->a, j->scratch, ith, nth);
}

oq_status oq_qgemm(const struct oq_kernels *k, struct oq_pool *pool, const struct oq_qgemm_packed *w,
                   const struct oq_qgemm_args *a, void *scratch, size_t scratch_bytes) {
    oq_status st = oq_qgemm_check(w, a);
    if (st != OQ_OK)
        return st;
    int64_t slices = (int64_t)(scratch_bytes / oq_qgemm_scratch_slice(w->K));
    int nth = oq_pool_threads_for(pool, (int64_t)w->M * a->N * w->K, QGEMM_MIN_MACS_PER_THREAD);
    int64_t units = (a->N + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR;
    if (units < w->panels)
        units = w->panels;
    if (nth > slices)
        nth = (int)slices;
    if (nth > units)
        nth = (int)units;
    if (nth > 64)
        nth = 64;
    if (nth <= 1)
        return k->qgemm(w, a, scratch, 0, 1);
    struct qgemm_job j = {.fn = k->qgemm, .w = w, .a = a, .scratch = scratch};
    oq_pool_run(pool, qgemm_task, &j, nth);
    for (int i = 0; i < nth; i++)
        if (j.st[i] != OQ_OK)
            return j.st[i];
    return OQ_OK;
}

/* ---- implicit-GEMM conv over the pool (kernels/qgemm.h) ---- */

/* xi bytes of one band: written by the band's xpack and read back by its GEMM right away, so a band should stay
 * in L2 (a whole conv's xi, ~ the input size, often does not: 2.7 MB at 96x160x160). */
enum { QCONV_BAND_BYTES = 192 * 1024 };

size_t oq_qconv_igemm_scratch_slice(int64_t Kp) {
    /* koff table, then what the AVX2 kernel needs to widen a tile (the qgemm slice of the same depth) */
    return (size_t)align64(Kp / OQ_QGEMM_KU * (int64_t)sizeof(int64_t)) + oq_qgemm_scratch_slice(Kp);
}

/* Output rows per band (at most; the wrapper may take fewer to give every thread work). */
static int64_t band_rows(const struct oq_conv2d_geom *g, int64_t channels) {
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(g, channels, &d);
    int64_t per_row = d.CQ * d.sw * d.Wq * 4 * g->stride_h; /* xi bytes each further output row adds */
    int64_t b = QCONV_BAND_BYTES / (per_row > 0 ? per_row : 1);
    return b < 1 ? 1 : b > g->out_h ? (g->out_h > 0 ? g->out_h : 1) : b;
}

/* The band of output rows [oy0, oy0 + rows) is itself a conv: the same input with the top padding moved up by
 * oy0 * stride_h (negative pad_t = the band starts inside the input). */
static struct oq_conv2d_geom band_geom(const struct oq_conv2d_geom *g, int64_t oy0, int64_t rows) {
    struct oq_conv2d_geom b = *g;
    b.out_h = rows;
    b.pad_t = (int32_t)(g->pad_t - oy0 * g->stride_h);
    return b;
}

/* Per thread: the xi of one band, then the kernels' slice. */
static size_t thread_bytes(const struct oq_conv2d_geom *g, int64_t channels, int64_t band) {
    struct oq_conv2d_geom b = band_geom(g, 0, band);
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(&b, channels, &d);
    return (size_t)align64(d.bytes) + oq_qconv_igemm_scratch_slice(oq_qconv_igemm_depth(channels, g->k_h, g->k_w));
}

size_t oq_qconv_igemm_scratch_size(const struct oq_conv2d_geom *g, int64_t channels, int nth) {
    return (size_t)(nth < 1 ? 1 : nth) * thread_bytes(g, channels, band_rows(g, channels));
}

void oq_qconv_igemm_kernels(const struct oq_kernels *k, oq_qconv_xpack_fn *xpack, oq_qconv_igemm_fn *gemm) {
    if (k->qgemm == oq_qgemm_avx512vnni) {
        *xpack = oq_qconv_xpack_avx512; /* VNNI implies AVX512-BW */
        *gemm = oq_qconv_igemm_avx512vnni;
    } else if (k->qgemm == oq_qgemm_avx2) {
        *xpack = oq_qconv_xpack_fast;
        *gemm = oq_qconv_igemm_avx2;
    } else {
        *xpack = oq_qconv_xpack_ref;
        *gemm = oq_qconv_igemm_ref;
    }
}

struct igemm_job {
    oq_qconv_xpack_fn xpack;
    oq_qconv_igemm_fn gemm;
    const struct oq_qgemm_packed *w;
    const struct oq_qconv_igemm_args *a;
    unsigned char *scratch;
    size_t per_thread, xi_bytes;
    int64_t band, nbands, parts; /* work item i: band i / parts, its tiles' share i % parts of parts */
    atomic_llong next;           /* the next item to take */
    oq_status st[64];
};

/* Threads take work items in order from a shared counter (a thread that the OS delays mid-conv leaves its
 * later bands to the others instead of holding the conv up): xpack of the item's band into the thread's xi
 * (unless its previous item had the same band), then the GEMM of the item's share of the band's tiles. */
static void igemm_task(void *arg, int ith, int nth) {
    (void)nth;
    struct igemm_job *j = arg;
    const struct oq_qconv_igemm_args *a = j->a;
    size_t es = a->ep.out == OQ_QGEMM_OUT_U8 || a->ep.out == OQ_QGEMM_OUT_S8 ? 1 : 4;
    uint8_t *xi = j->scratch + (size_t)ith * j->per_thread;
    int64_t packed = -1, items = j->nbands * j->parts;
    j->st[ith] = OQ_OK;
    while (j->st[ith] == OQ_OK) {
        int64_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (i >= items)
            break;
        int64_t b = i / j->parts, oy0 = b * j->band;
        int64_t rows = a->g.out_h - oy0 < j->band ? a->g.out_h - oy0 : j->band;
        struct oq_qconv_igemm_args ab = *a;
        ab.g = band_geom(&a->g, oy0, rows);
        ab.y = (char *)a->y + (size_t)(oy0 * a->g.out_w) * es;
        if (packed != b) {
            struct oq_qconv_xi_dims d;
            oq_qconv_xi_dims(&ab.g, a->channels, &d);
            j->xpack(&ab.g, a->channels, a->x, (uint8_t)a->x_zp, 0, d.rows, xi);
            packed = b;
        }
        j->st[ith] = j->gemm(j->w, &ab, xi, xi + j->xi_bytes, (int)(i % j->parts), (int)j->parts);
    }
}

oq_status oq_qconv_igemm(const struct oq_kernels *k, struct oq_pool *pool, const struct oq_qgemm_packed *w,
                         const struct oq_qconv_igemm_args *a, void *scratch, size_t scratch_bytes) {
    oq_status st = oq_qconv_igemm_check(w, a);
    if (st != OQ_OK)
        return st;
    const struct oq_conv2d_geom *g = &a->g;
    if (g->out_h * g->out_w == 0)
        return OQ_OK;
    int64_t band = band_rows(g, a->channels);
    size_t per_thread = thread_bytes(g, a->channels, band);
    if (!scratch || !a->x || ((uintptr_t)scratch & 63) || scratch_bytes < per_thread)
        return OQ_ERR_ARG;
    int nth = oq_pool_threads_for(pool, (int64_t)w->M * g->out_h * g->out_w * w->K, QGEMM_MIN_MACS_PER_THREAD);
    if (nth > (int64_t)(scratch_bytes / per_thread))
        nth = (int)(scratch_bytes / per_thread);
    int64_t tiles = g->out_h * ((g->out_w + OQ_QGEMM_NR - 1) / OQ_QGEMM_NR);
    if (nth > tiles)
        nth = (int)tiles;
    if (nth > 64)
        nth = 64;
    /* a multiple of nth bands of equal height, so that the threads finish together; with fewer output rows
     * than threads, one row a band and its tiles shared by several threads (each packs the band itself) */
    int64_t nb = (g->out_h + band - 1) / band, parts = 1;
    if (g->out_h >= nth) {
        nb = (nb + nth - 1) / nth * nth;
        band = (g->out_h + nb - 1) / nb;
    } else {
        band = 1;
        parts = (nth + g->out_h - 1) / g->out_h;
    }
    struct igemm_job j = {.w = w, .a = a, .scratch = scratch, .per_thread = per_thread,
                          .xi_bytes = per_thread - oq_qconv_igemm_scratch_slice(w->K), .band = band,
                          .nbands = (g->out_h + band - 1) / band, .parts = parts};
    atomic_init(&j.next, 0);
    oq_qconv_igemm_kernels(k, &j.xpack, &j.gemm);
    oq_pool_run(pool, igemm_task, &j, nth);
    for (int i = 0; i < nth; i++)
        if (j.st[i] != OQ_OK)
            return j.st[i];
    return OQ_OK;
}
