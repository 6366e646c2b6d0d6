/* Saving never leaves a partial file: a write that fails because the disk is full (simulated with
 * RLIMIT_FSIZE in a child process) keeps the previous file byte for byte and leaves no temporary behind;
 * an output folder that does not exist is a clear error naming the path. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "graph_builder.h"
#include "test_util.h"

static struct oq_graph *big_graph(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[1] = {262144}; /* 1 MiB of weights */
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_init_f32(g, "w", 1, d, NULL);
    gb_node(g, "Add", "add", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    return g;
}

int main(void) {
    char dir[] = "/tmp/onnxq_test_atomic_XXXXXX", path[300];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    oq_error err = {0};
    CHECK(!oq_write_file_atomic(path, "previous contents", 17, &err));

    /* disk full: the child may write at most 64 KiB per file; the 1 MiB model cannot fit */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* get EFBIG from write() instead of being killed */
        struct rlimit rl = {65536, 65536};
        setrlimit(RLIMIT_FSIZE, &rl);
        struct oq_graph *g = big_graph();
        oq_error e = {0};
        oq_status st = oq_onnx_save(g, NULL, path, &e);
        oq_graph_free(g);
        /* exit 0 only if the save failed with an I/O error that names the file */
        _exit(st == OQ_ERR_IO && strstr(e.msg, "model.onnx") && strstr(e.msg, "unchanged") ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the disk-full save did not fail cleanly");
    void *buf = NULL;
    size_t len = 0;
    CHECK(!oq_read_file(path, &buf, &len, &err));
    CHECK_MSG(len == 17 && !memcmp(buf, "previous contents", 17), "the previous file did not survive");
    free(buf);
    int entries = 0;
    DIR *dd = opendir(dir);
    for (struct dirent *e; dd && (e = readdir(dd));)
        entries += e->d_name[0] != '.';
    if (dd)
        closedir(dd);
    CHECK_MSG(entries == 1, "%d files in the folder: a temporary file was left behind", entries);

    /* a folder that does not exist */
    struct oq_graph *g = big_graph();
    char bad[320];
    snprintf(bad, sizeof(bad), "%s/no/such/folder/out.onnx", dir);
    memset(&err, 0, sizeof(err));
    CHECK(oq_onnx_save(g, NULL, bad, &err) == OQ_ERR_IO);
    CHECK_MSG(strstr(err.msg, "no/such/folder/out.onnx") && strstr(err.msg, "writable"), "%s", err.msg);
    oq_graph_free(g);

    unlink(path);
    rmdir(dir);
    TEST_MAIN_END();
}
