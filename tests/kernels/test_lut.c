/* Byte lookup kernels (kernels/lut.h): every implementation the CPU runs equals the reference, byte for byte,
 * on lengths around the 64-byte vector width (tails through masked loads), misaligned starts, in place, and
 * every index value; the reference itself against the definition. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "test_util.h"

static void check_impl(const char *name, oq_lut_u8_fn fn, uint64_t seed) {
    uint8_t table[256];
    for (int i = 0; i < 256; i++)
        table[i] = (uint8_t)test_rng_next(&seed);
    const int64_t lens[] = {0, 1, 2, 31, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 4099};
    for (size_t li = 0; li < sizeof(lens) / sizeof(*lens); li++)
        for (int off = 0; off < 3; off++) {
            int64_t n = lens[li];
            uint8_t *x = malloc((size_t)n + 8), *y = malloc((size_t)n + 8), *r = malloc((size_t)n + 8);
            for (int64_t i = 0; i < n + 8; i++)
                x[i] = (uint8_t)(i < 256 ? (uint64_t)(255 - i) : test_rng_next(&seed));
            memset(y, 0xAB, (size_t)n + 8);
            memset(r, 0xAB, (size_t)n + 8);
            fn(table, x + off, y + off, n);
            oq_lut_u8_ref(table, x + off, r + off, n);
            int64_t bad = 0, defn = 0;
            for (int64_t i = 0; i < n + 8; i++) {
                bad += y[i] != r[i]; /* also the bytes around the span: untouched */
                if (i >= off && i < off + n)
                    defn += r[i] != table[x[i]];
            }
            CHECK_MSG(bad == 0 && defn == 0, "%s: n=%lld off=%d: %lld bytes differ from ref, ref wrong at %lld",
                      name, (long long)n, off, (long long)bad, (long long)defn);
            memcpy(y, x, (size_t)n + 8); /* in place */
            fn(table, y + off, y + off, n);
            CHECK_MSG(!memcmp(y + off, r + off, (size_t)n), "%s: in-place result differs (n=%lld)", name,
                      (long long)n);
            free(x), free(y), free(r);
        }
}

int main(void) {
    check_impl("ref", oq_lut_u8_ref, 1);
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    printf("lut kernel at AUTO: %s\n", k.lut_name);
    check_impl(k.lut_name, k.lut_u8, 2);
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    if (f.avx512vbmi)
        check_impl("avx512vbmi", oq_lut_u8_avx512vbmi, 3);
    TEST_MAIN_END();
}
