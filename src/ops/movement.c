/* Data-movement helpers shared by the layout ops; see movement.h. */
#include "ops/movement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parallel memcpy ---- */

struct memcpy_args {
    char *dst;
    const char *src;
    size_t bytes;
};

static void memcpy_task(void *arg, int ith, int nth) {
    const struct memcpy_args *a = arg;
    int64_t b, e;
    /* split on 64-byte lines so threads do not share cache lines */
    int64_t lines = (int64_t)((a->bytes + 63) / 64);
    oq_split(lines, ith, nth, &b, &e);
    size_t lo = (size_t)b * 64, hi = (size_t)e * 64;
    if (hi > a->bytes)
        hi = a->bytes;
    if (hi > lo)
        memcpy(a->dst + lo, a->src + lo, hi - lo);
}

void oq_mv_memcpy(struct oq_pool *pool, void *dst, const void *src, size_t bytes) {
    if (dst == src || bytes == 0)
        return;
    int nth = oq_pool_threads_for(pool, (int64_t)bytes, 4 * OQ_MV_MIN_BYTES_PER_THREAD);
    struct memcpy_args a = {dst, src, bytes};
    if (nth <= 1)
        memcpy(dst, src, bytes);
    else
        oq_pool_run(pool, memcpy_task, &a, nth);
}

/* ---- strided copy ---- */

enum strided_mode { MODE_ROWS, MODE_TILE, MODE_ELEM };

struct strided_args {
    char *dst;
    const char *src;
    size_t esz;
    int nd;
    int64_t dims[OQ_MAX_DIMS];
    int64_t str[OQ_MAX_DIMS]; /* source strides in elements */
    int64_t numel;
    enum strided_mode mode;
    int tj;                   /* MODE_TILE: the output dim whose source stride is 1 */
    int64_t n_outer, n_atiles; /* MODE_TILE: work units = n_outer * n_atiles */
};

/* Copy n elements of size esz from a source with element stride s (bytes: s*esz) to dense dst. */
static void copy_elems(char *dst, const char *src, int64_t n, int64_t s, size_t esz) {
    if (s == 1) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
#define OQ_MV_LOOP(T)                                                                                   \
    do {                                                                                                \
        T *d_ = (T *)(void *)dst;                                                                       \
        const T *s_ = (const T *)(const void *)src;                                                     \
        if (s == 0) {                                                                                   \
            T v_ = s_[0];                                                                               \
            for (int64_t i_ = 0; i_ < n; i_++)                                                          \
                d_[i_] = v_;                                                                            \
        } else {                                                                                        \
            for (int64_t i_ = 0; i_ < n; i_++)                                                          \
                d_[i_] = s_[i_ * s];                                                                    \
        }                                                                                               \
    } while (0)
    switch (esz) {
    case 1: OQ_MV_LOOP(uint8_t); break;
    case 2: OQ_MV_LOOP(uint16_t); break;
    case 4: OQ_MV_LOOP(uint32_t); break;
    case 8: OQ_MV_LOOP(uint64_t); break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)i * esz, src + (i * s) * (int64_t)esz, esz);
        break;
    }
#undef OQ_MV_LOOP
}

/* MODE_ROWS / MODE_ELEM: thread ith copies the dense output range [e0, e1). */
static void strided_rows_task(void *arg, int ith, int nth) {
    const struct strided_args *a = arg;
    int64_t e0, e1;
    oq_split(a->numel, ith, nth, &e0, &e1);
    if (e0 >= e1)
        return;
    int nd = a->nd;
    int64_t idx[OQ_MAX_DIMS];
    int64_t rem = e0, off = 0;
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = rem % a->dims[d];
        rem /= a->dims[d];
        off += idx[d] * a->str[d];
    }
    int64_t inner = a->dims[nd - 1], s_in = a->str[nd - 1];
    int64_t e = e0;
    while (e < e1) {
        int64_t n = inner - idx[nd - 1];
        if (n > e1 - e)
            n = e1 - e;
        copy_elems(a->dst + (size_t)e * a->esz, a->src + off * (int64_t)a->esz, n, s_in, a->esz);
        e += n;
        /* advance the odometer by n along the inner dim (carrying at most once since n <= remaining) */
        idx[nd - 1] += n;
        off += n * s_in;
        for (int d = nd - 1; d > 0 && idx[d] == a->dims[d]; d--) {
            off -= idx[d] * a->str[d];
            idx[d] = 0;
            idx[d - 1]++;
            off += a->str[d - 1];
        }
    }
}

enum { TILE = 16 };

/* 2-D blocked transpose of one tile band: rows [a0, a1) of dim tj (source stride 1), all of the last dim. */
static void transpose_band(char *dst, const char *src, size_t esz, int64_t a0, int64_t a1, int64_t nb,
                           int64_t dst_a_stride, int64_t src_b_stride) {
#define OQ_MV_TILE(T)                                                                                   \
    do {                                                                                                \
        T *d_ = (T *)(void *)dst;                                                                       \
        const T *s_ = (const T *)(const void *)src;                                                     \
        for (int64_t b0 = 0; b0 < nb; b0 += TILE) {                                                     \
            int64_t b1 = b0 + TILE < nb ? b0 + TILE : nb;                                               \
            for (int64_t a = a0; a < a1; a++) {                                                         \
                T *dr = d_ + a * dst_a_stride;                                                          \
                const T *sr = s_ + a;                                                                   \
                for (int64_t b = b0; b < b1; b++)                                                       \
                    dr[b] = sr[b * src_b_stride];                                                       \
            }                                                                                           \
        }                                                                                               \
    } while (0)
    switch (esz) {
    case 1: OQ_MV_TILE(uint8_t); break;
    case 2: OQ_MV_TILE(uint16_t); break;
    case 4: OQ_MV_TILE(uint32_t); break;
    case 8: OQ_MV_TILE(uint64_t); break;
    default:
        for (int64_t a = a0; a < a1; a++)
            for (int64_t b = 0; b < nb; b++)
                memcpy(dst + (a * dst_a_stride + b) * (int64_t)esz, src + (a + b * src_b_stride) * (int64_t)esz,
                       esz);
        break;
    }
#undef OQ_MV_TILE
}

static void strided_tile_task(void *arg, int ith, int nth) {
    const struct strided_args *a = arg;
    int64_t u0, u1;
    oq_split(a->n_outer * a->n_atiles, ith, nth, &u0, &u1);
    int nd = a->nd, tj = a->tj;
    int64_t dstr[OQ_MAX_DIMS];
    oq_shape_strides(nd, a->dims, dstr);
    int64_t na = a->dims[tj], nb = a->dims[nd - 1];
    for (int64_t u = u0; u < u1; u++) {
        int64_t outer = u / a->n_atiles, at = u % a->n_atiles;
        /* decompose `outer` over every dim except tj and the last */
        int64_t soff = 0, doff = 0, rem = outer;
        for (int d = nd - 2; d >= 0; d--) {
            if (d == tj)
                continue;
            int64_t i = rem % a->dims[d];
            rem /= a->dims[d];
            soff += i * a->str[d];
            doff += i * dstr[d];
        }
        int64_t a0 = at * TILE, a1 = a0 + TILE < na ? a0 + TILE : na;
        transpose_band(a->dst + doff * (int64_t)a->esz, a->src + soff * (int64_t)a->esz, a->esz, a0, a1, nb,
                       dstr[tj], a->str[nd - 1]);
    }
}

void oq_mv_copy_strided(struct oq_pool *pool, void *dst, const void *src, size_t esz, int ndim,
                        const int64_t *dims, const int64_t *strides) {
    struct strided_args a;
    memset(&a, 0, sizeof(a));
    a.dst = dst;
    a.src = src;
    a.esz = esz;
    a.numel = oq_shape_numel(ndim, dims);
    if (a.numel == 0)
        return;
    /* drop size-1 dims, then merge dim d into d+1 when the source is contiguous across them */
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 1)
            continue;
        if (nd > 0 && a.str[nd - 1] == strides[d] * dims[d]) {
            a.dims[nd - 1] *= dims[d];
            a.str[nd - 1] = strides[d];
        } else {
            a.dims[nd] = dims[d];
            a.str[nd] = strides[d];
            nd++;
        }
    }
    if (nd == 0) {
        a.dims[0] = 1;
        a.str[0] = 0;
        nd = 1;
    }
    a.nd = nd;
    if (nd == 1 && a.str[0] == 1) {
        oq_mv_memcpy(pool, dst, src, (size_t)a.numel * esz);
        return;
    }
    a.mode = a.str[nd - 1] == 1 ? MODE_ROWS : MODE_ELEM;
    if (a.mode == MODE_ELEM && a.dims[nd - 1] >= 4) {
        for (int d = nd - 2; d >= 0; d--)
            if (a.str[d] == 1 && a.dims[d] >= 4) {
                a.mode = MODE_TILE;
                a.tj = d;
                break;
            }
    }
    int64_t bytes = a.numel * (int64_t)esz;
    int nth = oq_pool_threads_for(pool, bytes, OQ_MV_MIN_BYTES_PER_THREAD);
    if (a.mode == MODE_TILE) {
        a.n_atiles = (a.dims[a.tj] + TILE - 1) / TILE;
        a.n_outer = a.numel / (a.dims[a.tj] * a.dims[nd - 1]);
        if (nth > a.n_outer * a.n_atiles)
            nth = (int)(a.n_outer * a.n_atiles);
        oq_pool_run(pool, strided_tile_task, &a, nth);
    } else {
        oq_pool_run(pool, strided_rows_task, &a, nth);
    }
}

/* ---- misc ---- */

void *oq_mv_priv(struct oq_op_ctx *ctx, size_t bytes) {
    if (!ctx->priv) {
        ctx->priv = calloc(1, bytes);
        if (!ctx->priv)
            oq_op_error(ctx, OQ_ERR_NOMEM, "out of memory for %zu bytes of node state", bytes);
    }
    return ctx->priv;
}

oq_status oq_mv_const_floats(const struct oq_op_ctx *ctx, int input, double *vals, int cap, int *count) {
    const struct oq_tensor *t = input < ctx->n_in ? ctx->in[input] : NULL;
    if (!t)
        return oq_op_error(ctx, OQ_ERR_MODEL, "input %d is missing", input);
    if (!t->data && oq_tensor_numel(t) > 0)
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED,
                           "input %d ('%s') must be known before the run (a constant, or computed from shapes "
                           "only); data-dependent shapes are not supported",
                           input, t->name ? t->name : "?");
    if (!oq_dtype_is_float(t->dtype) && !oq_dtype_is_int(t->dtype))
        return oq_op_error(ctx, OQ_ERR_MODEL, "input %d ('%s') has dtype %s, expected a numeric type", input,
                           t->name ? t->name : "?", oq_dtype_name(t->dtype));
    int64_t n = oq_tensor_numel(t);
    if (n > cap)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "input %d ('%s') has %lld values, at most %d are supported", input,
                           t->name ? t->name : "?", (long long)n, cap);
    for (int64_t i = 0; i < n; i++)
        vals[i] = oq_tensor_get_f64(t, i);
    *count = (int)n;
    return OQ_OK;
}

oq_status oq_mv_axes(const struct oq_op_ctx *ctx, const char *what, const int64_t *axes, int n, int rank,
                     int *out) {
    for (int i = 0; i < n; i++) {
        if (axes[i] < -rank || axes[i] >= rank)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "%s[%d] = %lld is out of range for rank %d", what, i,
                               (long long)axes[i], rank);
        out[i] = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
        for (int k = 0; k < i; k++)
            if (out[k] == out[i])
                return oq_op_error(ctx, OQ_ERR_SHAPE, "%s repeats axis %d", what, out[i]);
    }
    return OQ_OK;
}

oq_status oq_mv_check_ints_range(const struct oq_node *n, oq_error *err, const char *name, int64_t lo,
                                 int64_t hi) {
    const int64_t *v;
    int64_t c = oq_attr_ints(n, name, &v);
    for (int64_t i = 0; i < c; i++)
        if (v[i] < lo || v[i] > hi)
            return oq_node_error(n, err, OQ_ERR_MODEL, "attribute %s[%lld] = %lld must be in [%lld, %lld]", name,
                                 (long long)i, (long long)v[i], (long long)lo, (long long)hi);
    return OQ_OK;
}

const char *oq_mv_ints_str(int n, const int64_t *v, char *buf, size_t cap) {
    size_t k = 0;
    if (cap == 0)
        return buf;
    k += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)v[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}
