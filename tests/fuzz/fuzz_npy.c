/* Fuzz the .npy and .npz readers (data/npy.h): every input is parsed both as a .npy image and as a .npz
 * archive (zip directory, ZIP64 records, stored and deflated members, CRC-32, the member .npy headers).
 * A parsed array must hold exactly what its shape and dtype need, and be readable to its last byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "data/npy.h"
#include "fuzz_util.h"

static void check_array(const oq_tensor_ref *t, const char *what) {
    FUZZ_REQUIRE(t->ndim >= 0 && t->ndim <= OQ_MAX_DIMS, "%s: rank %d", what, t->ndim);
    size_t es = oq_dtype_size(t->dtype);
    FUZZ_REQUIRE(es > 0, "%s: dtype %d", what, (int)t->dtype);
    FUZZ_REQUIRE(t->data != NULL, "%s: no data", what);
    int64_t n = oq_shape_numel(t->ndim, t->dims);
    FUZZ_REQUIRE(n >= 0, "%s: %lld elements", what, (long long)n);
    /* touch every byte, so ASan sees a buffer shorter than the shape claims */
    const unsigned char *p = t->data;
    unsigned sum           = 0;
    for (size_t i = 0; i < (size_t)n * es; i++)
        sum += p[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oq_error err = {0};
    oq_tensor_ref t;
    oq_status st = oq_npy_parse(data, size, "fuzz.npy", &t, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
    } else {
        check_array(&t, "npy");
    }
    free(t.data);

    memset(&err, 0, sizeof(err));
    int n                    = -1;
    struct oq_npz_array *arr = NULL;
    st                       = oq_npz_parse(data, size, "fuzz.npz", &n, &arr, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        FUZZ_REQUIRE(n == 0 && arr == NULL, "failed parse returned %d arrays", n);
    } else {
        FUZZ_REQUIRE(n > 0 && arr, "empty archive accepted");
        for (int i = 0; i < n; i++) {
            FUZZ_REQUIRE(arr[i].name && arr[i].t.name == arr[i].name, "array %d name", i);
            check_array(&arr[i].t, arr[i].name);
        }
    }
    oq_npz_free(n, arr);
    return 0;
}
