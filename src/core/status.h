/* Errors as values: every fallible internal call returns oq_status and writes its message with oq_errorf.
 * OQ_ASSERT is for onnxq's own invariants only, never for user input. */
#ifndef ONNXQ_CORE_STATUS_H
#define ONNXQ_CORE_STATUS_H

#include "onnxq/onnxq.h"

#if defined(__GNUC__)
#define OQ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OQ_PRINTF(a, b)
#endif

/* Fill err (may be NULL) with code and a formatted message; returns code so callers can `return oq_errorf(...)`. */
oq_status oq_errorf(oq_error *err, oq_status code, const char *fmt, ...) OQ_PRINTF(3, 4);
/* Prefix an existing message with context ("node 'conv1': ..."); returns err->code (or code if err NULL). */
oq_status oq_error_prefix(oq_error *err, oq_status code, const char *fmt, ...) OQ_PRINTF(3, 4);

void oq_assert_fail(const char *file, int line, const char *expr);
#define OQ_ASSERT(x) ((x) ? (void)0 : oq_assert_fail(__FILE__, __LINE__, #x))

#define OQ_TRY(expr)                                                                                    \
    do {                                                                                                \
        oq_status oq_try_st_ = (expr);                                                                  \
        if (oq_try_st_ != OQ_OK)                                                                        \
            return oq_try_st_;                                                                          \
    } while (0)

#endif
