#include "quant/plan.h"

#include <stdlib.h>
#include <string.h>

struct oq_quant_plan *oq_quant_plan_new(int n_values, int n_nodes) {
    struct oq_quant_plan *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->n_values = n_values;
    p->n_nodes = n_nodes;
    p->act = calloc((size_t)n_values + 1, sizeof(*p->act));
    p->node = calloc((size_t)n_nodes + 1, sizeof(*p->node));
    if (!p->act || !p->node) {
        oq_quant_plan_free(p);
        return NULL;
    }
    return p;
}

void oq_quant_plan_free(struct oq_quant_plan *p) {
    if (!p)
        return;
    for (int i = 0; p->act && i < p->n_values; i++)
        oq_qparam_free(p->act[i]);
    free(p->act);
    free(p->node);
    free(p);
}

struct oq_qparam *oq_qparam_new_axis(enum oq_dtype dt, int axis, int64_t n) {
    struct oq_qparam *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->dtype = dt;
    q->axis = axis;
    q->n = n;
    q->scale = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    q->zero_point = calloc((size_t)(n > 0 ? n : 1), sizeof(int32_t));
    if (!q->scale || !q->zero_point) {
        oq_qparam_free(q);
        return NULL;
    }
    return q;
}

struct oq_qparam *oq_qparam_new_tensor(enum oq_dtype dt, float scale, int32_t zero_point) {
    struct oq_qparam *q = oq_qparam_new_axis(dt, -1, 1);
    if (q) {
        q->scale[0] = scale;
        q->zero_point[0] = zero_point;
    }
    return q;
}

struct oq_qparam *oq_qparam_clone(const struct oq_qparam *src) {
    struct oq_qparam *q = oq_qparam_new_axis(src->dtype, src->axis, src->n);
    if (!q)
        return NULL;
    memcpy(q->scale, src->scale, sizeof(float) * (size_t)src->n);
    memcpy(q->zero_point, src->zero_point, sizeof(int32_t) * (size_t)src->n);
    q->clip_lo = src->clip_lo;
    q->clip_hi = src->clip_hi;
    q->algo = src->algo;
    return q;
}

void oq_qparam_free(struct oq_qparam *q) {
    if (!q)
        return;
    free(q->scale);
    free(q->zero_point);
    free(q);
}
