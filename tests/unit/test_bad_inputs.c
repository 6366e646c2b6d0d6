/* Bad input gets a clear error, never a crash: truncated and random files, missing initializer, dangling
 * input, cycle, unsupported op, opset too new, wrong input rank/shape/dtype, NaN input. Each message must
 * name the thing at fault. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "graph_builder.h"
#include "ops/op.h"
#include "test_util.h"

static char tmpdir[256];

static void tmp_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

static void save(struct oq_graph *g, const char *path) {
    oq_error err = {0};
    if (oq_onnx_save(g, NULL, path, &err))
        fprintf(stderr, "save failed: %s\n", err.msg);
    oq_graph_free(g);
}

/* x [?,3,4,4] -> Identity -> y */
static struct oq_graph *identity_graph(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[4] = {-1, 3, 4, 4};
    int x = gb_input(g, "x", OQ_DTYPE_FLOAT, 4, d);
    g->values[x].dim_param[0] = strdup("batch");
    gb_node(g, "Identity", "id0", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, d);
    return g;
}

#define EXPECT_LOAD_ERROR(path, code_, ...)                                                                  \
    do {                                                                                                     \
        oq_error e_ = {0};                                                                                   \
        oq_model *m_ = NULL;                                                                                 \
        oq_status s_ = oq_model_load(path, &m_, &e_);                                                        \
        CHECK_MSG(s_ == (code_) && m_ == NULL, "%s: got %s: %s", path, oq_status_str(s_), e_.msg);          \
        const char *needles_[] = {__VA_ARGS__};                                                              \
        for (size_t k_ = 0; k_ < sizeof(needles_) / sizeof(needles_[0]); k_++)                               \
            CHECK_MSG(strstr(e_.msg, needles_[k_]) != NULL, "message lacks '%s': %s", needles_[k_], e_.msg); \
        oq_model_free(m_);                                                                                   \
    } while (0)

static void test_files(void) {
    char good[300], p[300];
    tmp_path(good, sizeof(good), "good.onnx");
    save(identity_graph(), good);
    void *buf;
    size_t len;
    oq_error err = {0};
    CHECK(!oq_read_file(good, &buf, &len, &err));

    /* truncated at every 7th byte: never a crash, always an error (or, rarely, a different valid prefix) */
    int errors = 0;
    for (size_t cut = 1; cut < len; cut += 7) {
        oq_model *m = NULL;
        oq_error e = {0};
        if (oq_model_load_buffer(buf, cut, tmpdir, &m, &e) != OQ_OK) {
            errors++;
            CHECK_MSG(e.msg[0] != 0, "empty message for a cut at %zu", cut);
        }
        oq_model_free(m);
    }
    CHECK(errors > 0);
    tmp_path(p, sizeof(p), "truncated.onnx");
    CHECK(!oq_write_file_atomic(p, buf, len / 2, &err));
    EXPECT_LOAD_ERROR(p, OQ_ERR_MODEL, "truncated.onnx");
    free(buf);

    /* random bytes */
    uint64_t seed = 7;
    for (int trial = 0; trial < 200; trial++) {
        unsigned char rnd[512];
        size_t n = 1 + test_rng_next(&seed) % sizeof(rnd);
        for (size_t i = 0; i < n; i++)
            rnd[i] = (unsigned char)test_rng_next(&seed);
        oq_model *m = NULL;
        oq_error e = {0};
        CHECK(oq_model_load_buffer(rnd, n, tmpdir, &m, &e) != OQ_OK && e.msg[0]);
        oq_model_free(m);
    }
    tmp_path(p, sizeof(p), "empty.onnx");
    CHECK(!oq_write_file_atomic(p, "", 0, &err));
    EXPECT_LOAD_ERROR(p, OQ_ERR_MODEL, "empty");
    tmp_path(p, sizeof(p), "does_not_exist.onnx");
    EXPECT_LOAD_ERROR(p, OQ_ERR_IO, "does_not_exist.onnx");
}

static void test_structure(void) {
    char p[300];
    int64_t d[1] = {4};
    /* missing initializer: Add reads W that nothing defines */
    struct oq_graph *g = gb_new(13);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Identity", "uses_W", 1, (const char *[]){"W"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    tmp_path(p, sizeof(p), "missing_init.onnx");
    save(g, p);
    EXPECT_LOAD_ERROR(p, OQ_ERR_MODEL, "'uses_W'", "'W'");

    /* cycle */
    g = gb_new(13);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Identity", "n1", 1, (const char *[]){"b"}, 1, (const char *[]){"a"});
    gb_node(g, "Identity", "n2", 1, (const char *[]){"a"}, 1, (const char *[]){"b"});
    gb_node(g, "Identity", "n3", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    tmp_path(p, sizeof(p), "cycle.onnx");
    save(g, p);
    EXPECT_LOAD_ERROR(p, OQ_ERR_MODEL, "cycle");

    /* two producers of one value */
    g = gb_new(13);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Identity", "p1", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    gb_node(g, "Identity", "p2", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    tmp_path(p, sizeof(p), "ssa.onnx");
    save(g, p);
    EXPECT_LOAD_ERROR(p, OQ_ERR_MODEL, "'y'", "'p1'", "'p2'");

    /* unsupported ops: every op and a node name listed, at load time */
    g = gb_new(13);
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "FooBar", "foo_node", 1, (const char *[]){"x"}, 1, (const char *[]){"t"});
    gb_node(g, "BazQux", "baz_node", 1, (const char *[]){"t"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    tmp_path(p, sizeof(p), "unsupported.onnx");
    save(g, p);
    EXPECT_LOAD_ERROR(p, OQ_ERR_UNSUPPORTED, "FooBar", "foo_node", "BazQux", "baz_node");

    /* opset newer than supported */
    g = identity_graph();
    g->opsets[0].version = OQ_OPSET_MAX + 5;
    tmp_path(p, sizeof(p), "opset_new.onnx");
    save(g, p);
    EXPECT_LOAD_ERROR(p, OQ_ERR_UNSUPPORTED, "opset", "version_converter");
}

static void test_run_inputs(void) {
    char p[300];
    tmp_path(p, sizeof(p), "ident.onnx");
    save(identity_graph(), p);
    oq_error err = {0};
    oq_model *m = NULL;
    oq_session *s = NULL;
    CHECK_OK(oq_model_load(p, &m, &err), &err);
    if (!m)
        return;
    CHECK_OK(oq_session_create(m, NULL, &s, &err), &err);
    float data[2 * 3 * 4 * 4] = {0};
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {2, 3, 4, 4}, .data = data};
    CHECK_OK(oq_session_run(s, 1, &in, &err), &err);

    oq_tensor_ref bad = in;
    bad.ndim = 3;
    memset(&err, 0, sizeof(err));
    CHECK(oq_session_run(s, 1, &bad, &err) == OQ_ERR_SHAPE);
    CHECK_MSG(strstr(err.msg, "'x'") && strstr(err.msg, "rank 3") && strstr(err.msg, "rank 4"), "%s", err.msg);

    bad = in;
    bad.dims[1] = 4;
    memset(&err, 0, sizeof(err));
    CHECK(oq_session_run(s, 1, &bad, &err) == OQ_ERR_SHAPE);
    CHECK_MSG(strstr(err.msg, "'x'") && strstr(err.msg, "[2,4,4,4]") && strstr(err.msg, "[?,3,4,4]"), "%s",
              err.msg);

    bad = in;
    bad.dtype = OQ_DTYPE_INT32;
    memset(&err, 0, sizeof(err));
    CHECK(oq_session_run(s, 1, &bad, &err) == OQ_ERR_SHAPE);
    CHECK_MSG(strstr(err.msg, "'x'") && strstr(err.msg, "int32") && strstr(err.msg, "float"), "%s", err.msg);

    data[5] = NAN;
    memset(&err, 0, sizeof(err));
    CHECK(oq_session_run(s, 1, &in, &err) == OQ_ERR_NUMERIC);
    CHECK_MSG(strstr(err.msg, "'x'") && strstr(err.msg, "NaN") && strstr(err.msg, "element 5"), "%s", err.msg);
    data[5] = 0.0f;

    oq_tensor_ref named_wrong = in;
    named_wrong.name = "image";
    memset(&err, 0, sizeof(err));
    CHECK(oq_session_run(s, 1, &named_wrong, &err) == OQ_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "'x'"), "%s", err.msg);

    /* after errors the session still works */
    CHECK_OK(oq_session_run(s, 1, &in, &err), &err);
    oq_session_free(s);
    oq_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/onnxq_test_bad_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_files();
    test_structure();
    test_run_inputs();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_MAIN_END();
}
