/* Shared parts of the u8 x s8 GEMM (kernels/qgemm.h): weight packing, argument checks, the thread-slice
 * rule every implementation uses, scratch sizing and the pool wrapper. */
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
