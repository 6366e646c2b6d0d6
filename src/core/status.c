#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [OQ_OK]              = "OQ_OK",
    [OQ_ERR_ARG]         = "OQ_ERR_ARG",
    [OQ_ERR_UNSUPPORTED] = "OQ_ERR_UNSUPPORTED",
    [OQ_ERR_MODEL]       = "OQ_ERR_MODEL",
    [OQ_ERR_SHAPE]       = "OQ_ERR_SHAPE",
    [OQ_ERR_NOMEM]       = "OQ_ERR_NOMEM",
    [OQ_ERR_IO]          = "OQ_ERR_IO",
    [OQ_ERR_NUMERIC]     = "OQ_ERR_NUMERIC",
    [OQ_ERR_CANCELLED]   = "OQ_ERR_CANCELLED",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == OQ_STATUS_COUNT, "status name table");

const char *oq_status_str(oq_status st) {
    if ((unsigned)st >= OQ_STATUS_COUNT)
        return "OQ_ERR_?";
    return status_names[st];
}

oq_status oq_errorf(oq_error *err, oq_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

oq_status oq_error_prefix(oq_error *err, oq_status code, const char *fmt, ...) {
    if (!err)
        return code;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(prefix))
        n = sizeof(prefix) - 1;
    char old[sizeof(err->msg)];
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = 0;
    /* prefix, then as much of the old message as fits */
    size_t pl = strlen(prefix), cap = sizeof(err->msg) - 1;
    if (pl > cap)
        pl = cap;
    memcpy(err->msg, prefix, pl);
    size_t ol = strlen(old);
    if (ol > cap - pl)
        ol = cap - pl;
    memcpy(err->msg + pl, old, ol);
    err->msg[pl + ol] = 0;
    if (err->code == OQ_OK)
        err->code = code;
    return err->code;
}

void oq_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "onnxq: internal error at %s:%d: assertion '%s' failed (please report this)\n", file, line,
            expr);
    abort();
}
