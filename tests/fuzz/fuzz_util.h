/* Shared by the libFuzzer targets of tests/fuzz (one target per .c; tools/fuzz.sh builds and runs them).
 *
 * Every target checks, besides "no crash, no leak, no undefined behaviour" (ASan + UBSan + LeakSanitizer),
 * the library's error contract: a call that fails returns a status other than OQ_OK and leaves a non-empty
 * message, and outputs of a failed call are NULL. FUZZ_REQUIRE aborts with the broken invariant, which
 * libFuzzer reports as a crash with a reproducer file. */
#ifndef ONNXQ_FUZZ_UTIL_H
#define ONNXQ_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/onnxq.h"

#define FUZZ_REQUIRE(cond, ...)                                                                              \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

/* A failed call must say why. */
#define FUZZ_REQUIRE_ERROR(st, err)                                                                          \
    FUZZ_REQUIRE((st) != OQ_OK && (err).msg[0] != 0, "status %s with an empty message", oq_status_str(st))

/* Allocations larger than this return NULL instead of being served, so a size claimed by the input
 * exercises the library's out-of-memory path (it must answer OQ_ERR_NOMEM, not crash) rather than
 * libFuzzer's -rss_limit_mb / malloc limit. Inputs that make the library *use* that much are still caught
 * by -rss_limit_mb. */
__attribute__((used)) const char *__asan_default_options(void) {
    return "allocator_may_return_null=1:max_allocation_size_mb=512:detect_leaks=1";
}

/* The input as a NUL-terminated string (JSON parsers take C strings). Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
