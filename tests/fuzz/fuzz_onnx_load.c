/* Fuzz the ONNX loader: oq_model_load_buffer (protobuf parse, IR build, Constant -> initializer, topological
 * sort, load-time passes and constant folding, op check()), then, for models that load, a session and a
 * plan for the declared input shapes (symbolic dims set to small values), which runs every op's infer()
 * and prepare(), plan-time evaluation of shape chains and the arena planner. Small models are also saved
 * and loaded again: a model onnxq loads must survive its own save.
 *
 * Bounds: plans only (no run), one thread; allocations above 512 MiB fail (fuzz_util.h) and must come back
 * as OQ_ERR_NOMEM. External data resolves against a folder that does not exist, so nothing outside the
 * input is read. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "onnxq/onnxq.h"

#define NO_DIR "/nonexistent/onnxq-fuzz"
/* Inputs up to this size are also saved and reloaded. */
enum { ROUNDTRIP_MAX = 16384 };

static char save_path[256];

/* Remove the save folder of a fuzzer process that died without its atexit cleanup (a crash, a timeout). */
static void remove_stale(const char *base) {
    DIR *d = opendir(base);
    for (struct dirent *e; d && (e = readdir(d));) {
        int pid = 0;
        if (sscanf(e->d_name, "onnxq-fuzz-%d", &pid) != 1 || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        char dir[512], f[1024];
        snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
        DIR *dd = opendir(dir);
        for (struct dirent *x; dd && (x = readdir(dd));)
            if (x->d_name[0] != '.' && snprintf(f, sizeof(f), "%s/%s", dir, x->d_name) < (int)sizeof(f))
                unlink(f);
        if (dd)
            closedir(dd);
        rmdir(dir);
    }
    if (d)
        closedir(d);
}

static void cleanup(void) {
    unlink(save_path);
    char dir[256];
    snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(save_path, '/') - save_path), save_path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; /* tmpfs: fsync is free */
    remove_stale(base);
    char dir[200];
    snprintf(dir, sizeof(dir), "%s/onnxq-fuzz-%d", base, (int)getpid());
    mkdir(dir, 0700);
    snprintf(save_path, sizeof(save_path), "%s/m.onnx", dir);
    atexit(cleanup);
    return 0;
}

static void plan_declared(const oq_model *m, int variant) {
    oq_session_options o = oq_session_options_default();
    o.num_threads        = 1;
    o.no_fusion          = variant == 1; /* calibration's view: node by node */
    o.kernels            = variant == 2 ? OQ_KERNELS_REF : OQ_KERNELS_AUTO;
    oq_error err         = {0};
    oq_session *s        = NULL;
    oq_status st         = oq_session_create(m, &o, &s, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        FUZZ_REQUIRE(s == NULL, "failed session create returned a session");
        return;
    }
    int n = oq_model_num_inputs(m);
    FUZZ_REQUIRE(n >= 0 && n <= 16, "%d inputs passed session create", n);
    oq_tensor_ref in[16];
    for (int i = 0; i < n; i++) {
        FUZZ_REQUIRE(oq_model_input(m, i, &in[i]) == OQ_OK, "input %d", i);
        if (in[i].dtype == OQ_DTYPE_UNDEFINED)
            in[i].dtype = OQ_DTYPE_FLOAT;
        if (in[i].ndim < 0 || in[i].ndim > OQ_MAX_DIMS) { /* unknown rank */
            in[i].ndim    = 1;
            in[i].dims[0] = -1;
        }
        for (int d = 0; d < in[i].ndim; d++)
            if (in[i].dims[d] < 0)
                in[i].dims[d] = d == 0 ? 1 : 8;
        in[i].data = NULL; /* plan only */
    }
    memset(&err, 0, sizeof(err));
    st = oq_session_plan(s, n, in, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
    } else {
        for (int i = 0; i < oq_session_num_outputs(s); i++) {
            oq_tensor_ref out;
            FUZZ_REQUIRE(oq_session_output(s, i, &out) == OQ_OK, "output %d of a plan", i);
            FUZZ_REQUIRE(out.ndim >= 0 && out.ndim <= OQ_MAX_DIMS, "output %d rank %d", i, out.ndim);
            for (int d = 0; d < out.ndim; d++)
                FUZZ_REQUIRE(out.dims[d] >= 0, "output %d dim %d is %lld", i, d, (long long)out.dims[d]);
        }
        size_t arena, peak;
        oq_session_memory(s, &arena, &peak);
        FUZZ_REQUIRE(peak <= arena, "peak live %zu above arena %zu", peak, arena);
        (void)oq_session_macs(s);
    }
    oq_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oq_error err = {0};
    oq_model *m  = NULL;
    oq_status st = oq_model_load_buffer(data, size, NO_DIR, &m, &err);
    if (st) {
        FUZZ_REQUIRE_ERROR(st, err);
        FUZZ_REQUIRE(m == NULL, "failed load returned a model");
        return 0;
    }
    /* what `onnxq info` reads */
    for (int i = 0; i < oq_model_num_inputs(m); i++) {
        oq_tensor_ref t;
        FUZZ_REQUIRE(oq_model_input(m, i, &t) == OQ_OK && t.name, "input %d", i);
        for (int d = 0; d < t.ndim && d < OQ_MAX_DIMS; d++)
            (void)oq_model_input_dim_param(m, i, d);
    }
    for (int i = 0; i < oq_model_num_outputs(m); i++) {
        oq_tensor_ref t;
        FUZZ_REQUIRE(oq_model_output(m, i, &t) == OQ_OK && t.name, "output %d", i);
    }
    for (int i = 0; i < oq_model_num_nodes(m); i++) {
        const char *name, *op, *domain;
        FUZZ_REQUIRE(oq_model_node(m, i, &name, &op, &domain) == OQ_OK && name && op && domain, "node %d", i);
    }
    int64_t count, elements, bytes;
    oq_model_param_stats(m, &count, &elements, &bytes);
    (void)oq_model_opset(m);

    plan_declared(m, (int)(size % 3));

    if (size <= ROUNDTRIP_MAX) {
        memset(&err, 0, sizeof(err));
        st = oq_model_save(m, save_path, &err);
        FUZZ_REQUIRE(st == OQ_OK, "a loaded model could not be saved: %s", err.msg);
        oq_model *m2 = NULL;
        st           = oq_model_load(save_path, &m2, &err);
        FUZZ_REQUIRE(st == OQ_OK, "a saved model could not be loaded again: %s", err.msg);
        FUZZ_REQUIRE(oq_model_num_inputs(m2) == oq_model_num_inputs(m) &&
                         oq_model_num_outputs(m2) == oq_model_num_outputs(m),
                     "inputs/outputs changed by save + load");
        oq_model_free(m2);
    }
    oq_model_free(m);
    return 0;
}
