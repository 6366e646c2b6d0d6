#include "kernels/lut.h"

void oq_lut_u8_ref(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = table[x[i]];
}
