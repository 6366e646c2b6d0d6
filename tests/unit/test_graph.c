/* Graph structure: topological sort, cycle and dangling-input errors, Identity removal, BN folding. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph/passes.h"
#include "graph_builder.h"
#include "test_util.h"

static void test_toposort_reorders(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[2] = {2, 3};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, d);
    /* written out of order: b reads a's output */
    gb_node(g, "Identity", "b", 1, (const char *[]){"t"}, 1, (const char *[]){"y"});
    gb_node(g, "Identity", "a", 1, (const char *[]){"x"}, 1, (const char *[]){"t"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, d);
    oq_error err = {0};
    CHECK_OK(oq_graph_toposort(g, &err), &err);
    CHECK(!strcmp(g->nodes[0].name, "a") && !strcmp(g->nodes[1].name, "b"));
    oq_graph_free(g);
}

static void test_cycle_is_an_error(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[1] = {4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Add", "n1", 2, (const char *[]){"x", "b"}, 1, (const char *[]){"a"});
    gb_node(g, "Identity", "n2", 1, (const char *[]){"a"}, 1, (const char *[]){"b"});
    gb_output(g, "a", OQ_DTYPE_FLOAT, 1, d);
    oq_error err = {0};
    CHECK(oq_graph_toposort(g, &err) == OQ_ERR_MODEL);
    CHECK_MSG(strstr(err.msg, "cycle") != NULL, "%s", err.msg);
    oq_graph_free(g);
}

static void test_dangling_input_is_an_error(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[1] = {4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Add", "add1", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    oq_error err = {0};
    CHECK(oq_graph_toposort(g, &err) == OQ_ERR_MODEL);
    CHECK_MSG(strstr(err.msg, "'add1'") && strstr(err.msg, "'W'") && strstr(err.msg, "missing initializer"),
              "%s", err.msg);
    oq_graph_free(g);
}

static void test_identity_removed_and_output_name_kept(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[1] = {4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Relu", "r", 1, (const char *[]){"x"}, 1, (const char *[]){"t"});
    gb_node(g, "Identity", "i1", 1, (const char *[]){"t"}, 1, (const char *[]){"u"});
    gb_node(g, "Relu", "r2", 1, (const char *[]){"u"}, 1, (const char *[]){"v"});
    gb_node(g, "Identity", "i2", 1, (const char *[]){"v"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    oq_error err = {0};
    CHECK_OK(oq_graph_toposort(g, &err), &err);
    CHECK(oq_pass_remove_identity(g) == 2);
    CHECK(g->n_nodes == 2);
    CHECK(!strcmp(g->nodes[1].op_type, "Relu"));
    CHECK(!strcmp(g->values[g->nodes[1].out[0]].name, "y")); /* graph output keeps its name */
    CHECK(!strcmp(g->values[g->nodes[1].in[0]].name, "t"));
    oq_graph_free(g);
}

static void test_batchnorm_folds_into_conv(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {1, 1, 1, 1}, wd[4] = {2, 1, 1, 1}, cd[1] = {2}, yd[4] = {1, 2, 1, 1};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    gb_init_f32(g, "W", 4, wd, (float[]){2.0f, -3.0f});
    gb_init_f32(g, "s", 1, cd, (float[]){0.5f, 2.0f});
    gb_init_f32(g, "b", 1, cd, (float[]){1.0f, -1.0f});
    gb_init_f32(g, "m", 1, cd, (float[]){0.25f, 4.0f});
    gb_init_f32(g, "v", 1, cd, (float[]){4.0f, 0.25f});
    gb_node(g, "Conv", "conv", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"c"});
    struct oq_node *bn = gb_node(g, "BatchNormalization", "bn", 5, (const char *[]){"c", "s", "b", "m", "v"}, 1,
                                 (const char *[]){"y"});
    gb_attr_float(bn, "epsilon", 0.0f);
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, yd);
    oq_error err = {0};
    CHECK_OK(oq_graph_toposort(g, &err), &err);
    CHECK(oq_pass_fold_batchnorm(g, &err) == 1);
    CHECK(g->n_nodes == 1 && !strcmp(g->nodes[0].op_type, "Conv") && g->nodes[0].n_in == 3);
    /* y = s*(w*x - m)/sqrt(v) + b: for x = 1 -> ch0: 0.5*(2-0.25)/2+1 = 1.4375; ch1: 2*(-3-4)/0.5-1 = -29 */
    const struct oq_tensor *w = g->values[g->nodes[0].in[1]].init, *b = g->values[g->nodes[0].in[2]].init;
    const float *wf = w->data, *bf = b->data;
    CHECK(fabsf(wf[0] * 1 + bf[0] - 1.4375f) < 1e-6f);
    CHECK(fabsf(wf[1] * 1 + bf[1] - (-29.0f)) < 1e-5f);
    CHECK(!strcmp(g->values[g->nodes[0].out[0]].name, "y"));
    oq_graph_free(g);
}

/* Several BatchNormalization nodes after several convs all fold (each fold relinks the graph). */
static void test_many_batchnorms_fold(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 1, 1, 1}, cd[1] = {1};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    const char *prev = "x";
    char names[6][3][32];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i][0], 32, "w%d", i);
        snprintf(names[i][1], 32, "c%d", i);
        snprintf(names[i][2], 32, "b%d", i);
        gb_init_f32(g, names[i][0], 4, wd, (float[]){2.0f});
        char s[4][32];
        for (int k = 0; k < 4; k++) {
            snprintf(s[k], 32, "p%d_%d", i, k);
            gb_init_f32(g, s[k], 1, cd, (float[]){k == 3 ? 4.0f : 1.0f});
        }
        gb_node(g, "Conv", names[i][1], 2, (const char *[]){prev, names[i][0]}, 1, (const char *[]){names[i][1]});
        gb_node(g, "BatchNormalization", names[i][2], 5, (const char *[]){names[i][1], s[0], s[1], s[2], s[3]}, 1,
                (const char *[]){names[i][2]});
        prev = names[i][2];
    }
    gb_output(g, prev, OQ_DTYPE_FLOAT, 4, xd);
    oq_error err = {0};
    CHECK_OK(oq_graph_toposort(g, &err), &err);
    CHECK(oq_pass_fold_batchnorm(g, &err) == 6);
    CHECK(g->n_nodes == 6);
    for (int i = 0; i < g->n_nodes; i++)
        CHECK(!strcmp(g->nodes[i].op_type, "Conv"));
    CHECK_OK(oq_graph_link(g, &err), &err);
    oq_graph_free(g);
}

/* Several Identity nodes in a chain, the last one a graph output, all go. */
static void test_identity_chain(void) {
    struct oq_graph *g = gb_new(13);
    int64_t d[1] = {4};
    gb_input(g, "x", OQ_DTYPE_FLOAT, 1, d);
    gb_node(g, "Relu", "r", 1, (const char *[]){"x"}, 1, (const char *[]){"a"});
    gb_node(g, "Identity", "i1", 1, (const char *[]){"a"}, 1, (const char *[]){"b"});
    gb_node(g, "Identity", "i2", 1, (const char *[]){"b"}, 1, (const char *[]){"c"});
    gb_node(g, "Identity", "i3", 1, (const char *[]){"c"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 1, d);
    oq_error err = {0};
    CHECK_OK(oq_graph_toposort(g, &err), &err);
    CHECK(oq_pass_remove_identity(g) == 3);
    CHECK(g->n_nodes == 1 && !strcmp(g->values[g->nodes[0].out[0]].name, "y"));
    CHECK_OK(oq_graph_link(g, &err), &err);
    oq_graph_free(g);
}

int main(void) {
    test_many_batchnorms_fold();
    test_identity_chain();
    test_toposort_reorders();
    test_cycle_is_an_error();
    test_dangling_input_is_an_error();
    test_identity_removed_and_output_name_kept();
    test_batchnorm_folds_into_conv();
    TEST_MAIN_END();
}
