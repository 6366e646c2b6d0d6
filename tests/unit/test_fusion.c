/* Load-time folds (BN, per-channel affine into Conv) and execution-only fusions (HardSwish chains,
 * Conv + activation) preserve the model's outputs, and the saved model stays plain ONNX. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "graph_builder.h"
#include "test_util.h"

static char tmpdir[256];

/* x[1,4,9,9] -> Conv(3x3, pad 1) -> Mul(per-channel) -> Add(per-channel) -> HardSwish spelled as
 * Add(3)/Clip(0,6)/Mul/Div(6) -> Conv(1x1) -> Mul(scalar) -> Relu -> y */
static struct oq_graph *build(int opset, uint64_t seed) {
    struct oq_graph *g = gb_new(opset);
    int64_t xd[4] = {1, 4, 9, 9}, w1d[4] = {6, 4, 3, 3}, w2d[4] = {5, 6, 1, 1}, cd[3] = {6, 1, 1}, sd[1] = {1};
    int64_t yd[4] = {1, 5, 9, 9};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    float w1[216], w2[30], sc[6], sh[6];
    for (int i = 0; i < 216; i++)
        w1[i] = test_rng_uniform(&seed, -0.5f, 0.5f);
    for (int i = 0; i < 30; i++)
        w2[i] = test_rng_uniform(&seed, -0.5f, 0.5f);
    for (int i = 0; i < 6; i++) {
        sc[i] = test_rng_uniform(&seed, 0.5f, 2.0f);
        sh[i] = test_rng_uniform(&seed, -1.0f, 1.0f);
    }
    gb_init_f32(g, "w1", 4, w1d, w1);
    gb_init_f32(g, "w2", 4, w2d, w2);
    gb_init_f32(g, "scale", 3, cd, sc);
    gb_init_f32(g, "shift", 3, cd, sh);
    gb_init_f32(g, "three", 1, sd, (float[]){3.0f});
    gb_init_f32(g, "six", 1, sd, (float[]){6.0f});
    gb_init_f32(g, "zero", 1, sd, (float[]){0.0f});
    gb_init_f32(g, "k", 1, sd, (float[]){0.75f});
    struct oq_node *c1 = gb_node(g, "Conv", "c1", 2, (const char *[]){"x", "w1"}, 1, (const char *[]){"a"});
    gb_attr_ints(c1, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_node(g, "Mul", "m1", 2, (const char *[]){"scale", "a"}, 1, (const char *[]){"b"});
    gb_node(g, "Add", "a1", 2, (const char *[]){"b", "shift"}, 1, (const char *[]){"h"});
    gb_node(g, "Add", "hs_add", 2, (const char *[]){"h", "three"}, 1, (const char *[]){"h3"});
    if (opset >= 11) {
        gb_node(g, "Clip", "hs_clip", 3, (const char *[]){"h3", "zero", "six"}, 1, (const char *[]){"hc"});
    } else {
        struct oq_node *cl = gb_node(g, "Clip", "hs_clip", 1, (const char *[]){"h3"}, 1, (const char *[]){"hc"});
        gb_attr_float(cl, "min", 0.0f);
        gb_attr_float(cl, "max", 6.0f);
    }
    gb_node(g, "Mul", "hs_mul", 2, (const char *[]){"h", "hc"}, 1, (const char *[]){"hm"});
    gb_node(g, "Div", "hs_div", 2, (const char *[]){"hm", "six"}, 1, (const char *[]){"hs"});
    gb_node(g, "Conv", "c2", 2, (const char *[]){"hs", "w2"}, 1, (const char *[]){"c"});
    gb_node(g, "Mul", "m2", 2, (const char *[]){"c", "k"}, 1, (const char *[]){"r"});
    gb_node(g, "Relu", "relu", 1, (const char *[]){"r"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, yd);
    return g;
}

static void run(const char *path, int no_passes, int no_fusion, float *out, int *n_nodes) {
    oq_error err = {0};
    oq_model *m = NULL;
    oq_session *s = NULL;
    oq_load_options lo = {.no_passes = no_passes};
    CHECK_OK(oq_model_load_ex(path, &lo, &m, &err), &err);
    oq_session_options so = oq_session_options_default();
    so.no_fusion = no_fusion;
    so.num_threads = 1;
    CHECK_OK(oq_session_create(m, &so, &s, &err), &err);
    float x[324];
    uint64_t seed = 99;
    for (int i = 0; i < 324; i++)
        x[i] = test_rng_uniform(&seed, -3.0f, 3.0f);
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4, .dims = {1, 4, 9, 9}, .data = x};
    CHECK_OK(oq_session_run(s, 1, &in, &err), &err);
    oq_tensor_ref o;
    CHECK_OK(oq_session_output(s, 0, &o), NULL);
    memcpy(out, o.data, sizeof(float) * 405);
    *n_nodes = oq_session_num_nodes(s);
    oq_session_free(s);
    oq_model_free(m);
}

static void test_equivalence(int opset) {
    char path[300];
    snprintf(path, sizeof(path), "%s/fuse_%d.onnx", tmpdir, opset);
    oq_error err = {0};
    struct oq_graph *g = build(opset, 1234);
    CHECK_OK(oq_onnx_save(g, NULL, path, &err), &err);
    oq_graph_free(g);
    float plain[405], folded[405], fused[405];
    int n_plain, n_folded, n_fused;
    run(path, 1, 1, plain, &n_plain);
    run(path, 0, 1, folded, &n_folded);
    run(path, 0, 0, fused, &n_fused);
    CHECK_MSG(n_plain == 10, "opset %d: %d nodes as written", opset, n_plain);
    CHECK_MSG(n_folded == 7, "opset %d: %d nodes after folds (Mul/Add/Mul into convs)", opset, n_folded);
    CHECK_MSG(n_fused == 2, "opset %d: %d nodes after fusion (2 FusedConv expected)", opset, n_fused);
    double maxd = 0, maxv = 0;
    for (int i = 0; i < 405; i++) {
        maxd = fmax(maxd, fabs((double)folded[i] - plain[i]));
        maxd = fmax(maxd, fabs((double)fused[i] - plain[i]));
        maxv = fmax(maxv, fabs((double)plain[i]));
    }
    CHECK_MSG(maxv > 0.1 && maxd <= 1e-5 * maxv, "opset %d: max diff %g (max value %g)", opset, maxd, maxv);

    /* the model as loaded with passes still saves as plain ONNX (no com.onnxq nodes) */
    oq_model *m = NULL;
    CHECK_OK(oq_model_load(path, &m, &err), &err);
    char out[300];
    snprintf(out, sizeof(out), "%s/fuse_%d_saved.onnx", tmpdir, opset);
    CHECK_OK(oq_model_save(m, out, &err), &err);
    for (int i = 0; i < oq_model_num_nodes(m); i++) {
        const char *dom;
        oq_model_node(m, i, NULL, NULL, &dom);
        CHECK(dom[0] == 0);
    }
    oq_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/onnxq_test_fuse_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_equivalence(9);
    test_equivalence(13);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_MAIN_END();
}
