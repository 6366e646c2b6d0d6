/* Reference activation row: oq_act_apply1 (activation.h states the numerics) on every element; act == NULL means none. */
#include "kernels/activation.h"

void oq_act_row_ref(const struct oq_act *act, float bias, float *row, int64_t n) {
    const struct oq_act none = {.kind = OQ_ACT_NONE};
    if (!act)
        act = &none;
    for (int64_t i = 0; i < n; i++)
        row[i] = oq_act_apply1(act, row[i] + bias);
}
