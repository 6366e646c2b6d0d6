/* Whole-file read and atomic write (temp file in the same folder + fsync + rename). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx_io.h"

oq_status oq_read_file(const char *path, void **buf, size_t *len, oq_error *err) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return oq_errorf(err, OQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fileno(f), &stt) != 0 || !S_ISREG(stt.st_mode)) {
        fclose(f);
        return oq_errorf(err, OQ_ERR_IO, "'%s' is not a regular file", path);
    }
    size_t n = (size_t)stt.st_size;
    void *b = malloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return oq_errorf(err, OQ_ERR_NOMEM, "cannot allocate %zu bytes to read '%s'", n, path);
    }
    if (n && fread(b, 1, n, f) != n) {
        int e = errno;
        free(b);
        fclose(f);
        return oq_errorf(err, OQ_ERR_IO, "cannot read '%s': %s", path, e ? strerror(e) : "short read");
    }
    fclose(f);
    *buf = b;
    *len = n;
    return OQ_OK;
}

oq_status oq_write_file_atomic(const char *path, const void *buf, size_t len, oq_error *err) {
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory writing '%s'", path);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        oq_status st = oq_errorf(err, OQ_ERR_IO,
                                 "cannot create a temporary file beside '%s': %s; check that the folder exists "
                                 "and is writable",
                                 path, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = buf;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return oq_errorf(err, OQ_ERR_IO, "cannot write '%s': %s (the previous file, if any, is unchanged)",
                             path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return oq_errorf(err, OQ_ERR_IO, "cannot write '%s': %s (the previous file, if any, is unchanged)", path,
                         strerror(e));
    }
    (void)chmod(tmp, 0644);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return oq_errorf(err, OQ_ERR_IO, "cannot rename the temporary file to '%s': %s", path, strerror(e));
    }
    free(tmp);
    return OQ_OK;
}
