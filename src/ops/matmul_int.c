/* Plain-C integer matmul for MatMulInteger / QLinearMatMul (see matmul_int.h). */
#include "ops/matmul_int.h"

#include <string.h>

static bool mmi_is_8bit(enum oq_dtype dt) { return dt == OQ_DTYPE_UINT8 || dt == OQ_DTYPE_INT8; }

static int32_t mmi_get(const struct oq_tensor *t, int64_t i) {
    return t->dtype == OQ_DTYPE_UINT8 ? ((const uint8_t *)t->data)[i] : ((const int8_t *)t->data)[i];
}

oq_status oq_mmi_shape(const struct oq_op_ctx *ctx, const struct oq_tensor *a, const struct oq_tensor *az,
                       const struct oq_tensor *b, const struct oq_tensor *bz, struct oq_mmi_shape *s) {
    if (!mmi_is_8bit(a->dtype) || !mmi_is_8bit(b->dtype))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "the matrices must be uint8 or int8 (got %s, %s)",
                           oq_dtype_name(a->dtype), oq_dtype_name(b->dtype));
    if (a->ndim < 1 || b->ndim < 1)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "the matrices must have rank >= 1 (got %d, %d)", a->ndim, b->ndim);
    memset(s, 0, sizeof(*s));
    int64_t ad[OQ_MAX_DIMS + 1], bd[OQ_MAX_DIMS + 1]; /* promoted: A [..., M, K], B [..., K, N] */
    int na = a->ndim, nb = b->ndim;
    if (na == 1) {
        ad[0] = 1, ad[1] = a->dims[0], na = 2;
    } else {
        memcpy(ad, a->dims, sizeof(int64_t) * (size_t)na);
    }
    if (nb == 1) {
        bd[0] = b->dims[0], bd[1] = 1, nb = 2;
    } else {
        memcpy(bd, b->dims, sizeof(int64_t) * (size_t)nb);
    }
    s->M = ad[na - 2];
    s->K = ad[na - 1];
    s->N = bd[nb - 1];
    if (bd[nb - 2] != s->K)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "the first matrix has %lld columns, the second %lld rows",
                           (long long)s->K, (long long)bd[nb - 2]);
    int ba = na - 2, bb = nb - 2;
    s->nb = ba > bb ? ba : bb;
    if (s->nb + 2 > OQ_MAX_DIMS)
        return oq_op_error(ctx, OQ_ERR_SHAPE, "the output rank exceeds %d", OQ_MAX_DIMS);
    int64_t sa = s->M * s->K, sb = s->K * s->N; /* element stride of the next batch dim, innermost first */
    s->batch = s->b_batches = 1;
    for (int d = s->nb - 1; d >= 0; d--) {
        int ia = d - (s->nb - ba), ib = d - (s->nb - bb);
        int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return oq_op_error(ctx, OQ_ERR_SHAPE, "batch dims %lld and %lld do not broadcast", (long long)da,
                               (long long)db);
        s->bdims[d] = da == 1 ? db : da;
        s->astr[d] = da == 1 ? 0 : sa;
        s->bstr[d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        s->batch *= s->bdims[d];
        s->b_batches *= db;
    }
    for (int d = 0; d < s->nb; d++)
        s->od[s->nd++] = s->bdims[d];
    if (a->ndim > 1)
        s->od[s->nd++] = s->M;
    if (b->ndim > 1)
        s->od[s->nd++] = s->N;
    if (az && (az->dtype != a->dtype || (oq_tensor_numel(az) != 1 && oq_tensor_numel(az) != s->M)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "the first zero point must be %s with 1 value or %lld (one per "
                           "row); got %s with %lld (N-D zero points of batched inputs are not supported)",
                           oq_dtype_name(a->dtype), (long long)s->M, oq_dtype_name(az->dtype),
                           (long long)oq_tensor_numel(az));
    if (bz && (bz->dtype != b->dtype || (oq_tensor_numel(bz) != 1 && oq_tensor_numel(bz) != s->N)))
        return oq_op_error(ctx, OQ_ERR_UNSUPPORTED, "the second zero point must be %s with 1 value or %lld (one per "
                           "column); got %s with %lld (N-D zero points of batched inputs are not supported)",
                           oq_dtype_name(b->dtype), (long long)s->N, oq_dtype_name(bz->dtype),
                           (long long)oq_tensor_numel(bz));
    return OQ_OK;
}

size_t oq_mmi_b16_bytes(const struct oq_mmi_shape *s) {
    return (sizeof(int16_t) * (size_t)(s->b_batches * s->K * s->N) + 63) / 64 * 64;
}

void oq_mmi_widen_b(const struct oq_mmi_shape *s, const struct oq_tensor *b, const struct oq_tensor *bz,
                    int16_t *b16) {
    int64_t total = s->b_batches * s->K * s->N, nbz = bz ? oq_tensor_numel(bz) : 0;
    for (int64_t i = 0; i < total; i++) {
        int32_t z = bz ? mmi_get(bz, nbz == 1 ? 0 : i % s->N) : 0;
        b16[i] = (int16_t)(mmi_get(b, i) - z);
    }
}

void oq_mmi_row(const struct oq_mmi_shape *s, const struct oq_tensor *a, const struct oq_tensor *az,
                const int16_t *b16, int64_t r, int32_t *acc) {
    int64_t bi = r / s->M, m = r % s->M, ao = 0, bo = 0;
    for (int d = s->nb - 1; d >= 0; d--) { /* batch index -> offsets into A and B */
        int64_t i = bi % s->bdims[d];
        bi /= s->bdims[d];
        ao += i * s->astr[d];
        bo += i * s->bstr[d];
    }
    ao += m * s->K;
    int32_t za = az ? mmi_get(az, oq_tensor_numel(az) == 1 ? 0 : m) : 0;
    uint32_t *y = (uint32_t *)acc;
    memset(y, 0, sizeof(uint32_t) * (size_t)s->N);
    const int16_t *b = b16 + bo;
    bool u8 = a->dtype == OQ_DTYPE_UINT8;
    for (int64_t k = 0; k < s->K; k++) {
        int32_t av = (u8 ? (int32_t)((const uint8_t *)a->data)[ao + k] : (int32_t)((const int8_t *)a->data)[ao + k]) - za;
        if (!av)
            continue;
        const int16_t *brow = b + k * s->N;
        for (int64_t n = 0; n < s->N; n++)
            y[n] += (uint32_t)(av * (int32_t)brow[n]);
    }
}
