/* ONNX I/O: load -> save -> load keeps the graph (nodes, attributes of every kind, initializers, symbolic
 * dims, opsets); unknown protobuf fields and metadata survive; Constant nodes become initializers;
 * external-data tensors load, and a missing external file is a clear error. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "graph_builder.h"
#include "onnx.pb-c.h" /* test-only: to craft inputs the saver never writes (external data, unknown fields) */
#include "test_util.h"

static char tmpdir[256];

static void path_in_tmp(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

static struct oq_graph *sample_graph(void) {
    struct oq_graph *g = gb_new(17);
    int64_t xd[4] = {-1, 3, 8, 8}, wd[4] = {4, 3, 3, 3}, sd[1] = {3};
    int x = gb_input(g, "x", OQ_DTYPE_FLOAT, 4, xd);
    g->values[x].dim_param[0] = strdup("batch");
    float w[108];
    for (int i = 0; i < 108; i++)
        w[i] = (float)i * 0.01f - 0.5f;
    gb_init_f32(g, "W", 4, wd, w);
    gb_init_i64(g, "axes", 3, (int64_t[]){0, 2, 3});
    struct oq_node *c = gb_node(g, "Conv", "conv", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"c"});
    gb_attr_ints(c, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_attr_int(c, "group", 1);
    gb_attr_string(c, "auto_pad", "NOTSET");
    struct oq_node *l = gb_node(g, "LeakyRelu", "lrelu", 1, (const char *[]){"c"}, 1, (const char *[]){"l"});
    gb_attr_float(l, "alpha", 0.125f);
    gb_node(g, "ReduceMean", "rm", 2, (const char *[]){"l", "axes"}, 1, (const char *[]){"y"});
    struct oq_attr *fa = oq_node_add_attr(&g->nodes[2], "floats_attr", OQ_ATTR_FLOATS);
    fa->n = 2;
    fa->floats = malloc(2 * sizeof(float));
    fa->floats[0] = 1.5f;
    fa->floats[1] = -2.0f;
    struct oq_attr *ta = oq_node_add_attr(&g->nodes[2], "tensor_attr", OQ_ATTR_TENSOR);
    ta->t = oq_tensor_new(OQ_DTYPE_FLOAT, 1, sd, NULL);
    ((float *)ta->t->data)[1] = 7.0f;
    gb_output(g, "y", OQ_DTYPE_FLOAT, 4, (int64_t[]){1, 4, 1, 1});
    return g;
}

static bool attrs_equal(const struct oq_attr *a, const struct oq_attr *b) {
    if (strcmp(a->name, b->name) || a->type != b->type)
        return false;
    switch (a->type) {
    case OQ_ATTR_FLOAT: return a->f == b->f;
    case OQ_ATTR_INT: return a->i == b->i;
    case OQ_ATTR_STRING: return a->s_len == b->s_len && !memcmp(a->s, b->s, a->s_len);
    case OQ_ATTR_INTS: return a->n == b->n && !memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n);
    case OQ_ATTR_FLOATS: return a->n == b->n && !memcmp(a->floats, b->floats, sizeof(float) * (size_t)a->n);
    case OQ_ATTR_TENSOR:
        return a->t->dtype == b->t->dtype && a->t->ndim == b->t->ndim &&
               !memcmp(a->t->data, b->t->data, oq_tensor_bytes(a->t));
    default: return a->opaque_len == b->opaque_len && !memcmp(a->opaque, b->opaque, a->opaque_len);
    }
}

/* Structural equality: same nodes (name, op, inputs/outputs by name, attributes), values, initializers. */
static bool graphs_equal(const struct oq_graph *a, const struct oq_graph *b) {
    if (a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
        a->n_opsets != b->n_opsets)
        return false;
    for (int i = 0; i < a->n_nodes; i++) {
        const struct oq_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (strcmp(x->name, y->name) || strcmp(x->op_type, y->op_type) || strcmp(x->domain, y->domain) ||
            x->n_in != y->n_in || x->n_out != y->n_out || x->n_attr != y->n_attr)
            return false;
        for (int k = 0; k < x->n_in; k++)
            if ((x->in[k] < 0) != (y->in[k] < 0) ||
                (x->in[k] >= 0 && strcmp(a->values[x->in[k]].name, b->values[y->in[k]].name)))
                return false;
        for (int k = 0; k < x->n_out; k++)
            if (strcmp(a->values[x->out[k]].name, b->values[y->out[k]].name))
                return false;
        for (int k = 0; k < x->n_attr; k++)
            if (!attrs_equal(&x->attrs[k], &y->attrs[k]))
                return false;
    }
    for (int i = 0; i < a->n_values; i++) {
        const struct oq_value *va = &a->values[i];
        int j = oq_graph_find_value(b, va->name);
        if (j < 0)
            return false;
        const struct oq_value *vb = &b->values[j];
        if (!va->init != !vb->init)
            return false;
        if (va->init && (va->init->dtype != vb->init->dtype || va->init->ndim != vb->init->ndim ||
                         memcmp(va->init->dims, vb->init->dims, sizeof(int64_t) * (size_t)va->init->ndim) ||
                         memcmp(va->init->data, vb->init->data, oq_tensor_bytes(va->init))))
            return false;
        if (va->is_input || va->is_output) {
            if (va->dtype != vb->dtype || va->ndim != vb->ndim)
                return false;
            for (int d = 0; d < va->ndim; d++)
                if (va->dims[d] != vb->dims[d] || !va->dim_param[d] != !vb->dim_param[d] ||
                    (va->dim_param[d] && strcmp(va->dim_param[d], vb->dim_param[d])))
                    return false;
        }
    }
    for (int i = 0; i < a->n_opsets; i++)
        if (strcmp(a->opsets[i].domain, b->opsets[i].domain) || a->opsets[i].version != b->opsets[i].version)
            return false;
    return true;
}

static struct oq_graph *load_graph(const char *path, struct oq_onnx_keep **keep, oq_error *err) {
    void *buf;
    size_t len;
    if (oq_read_file(path, &buf, &len, err))
        return NULL;
    struct oq_graph *g = NULL;
    oq_onnx_load(buf, len, tmpdir, path, &g, keep, err);
    free(buf);
    return g;
}

static void test_roundtrip(void) {
    char p1[300], p2[300];
    path_in_tmp(p1, sizeof(p1), "a.onnx");
    path_in_tmp(p2, sizeof(p2), "b.onnx");
    struct oq_graph *g = sample_graph();
    oq_error err = {0};
    CHECK_OK(oq_onnx_save(g, NULL, p1, &err), &err);
    struct oq_onnx_keep *keep = NULL;
    struct oq_graph *g1 = load_graph(p1, &keep, &err);
    CHECK_MSG(g1 != NULL, "%s", err.msg);
    if (!g1)
        return;
    CHECK(graphs_equal(g, g1));
    CHECK_OK(oq_onnx_save(g1, keep, p2, &err), &err);
    struct oq_graph *g2 = load_graph(p2, NULL, &err);
    CHECK(g2 && graphs_equal(g1, g2));
    /* saving twice gives identical bytes (deterministic output) */
    void *b1, *b2;
    size_t l1, l2;
    char p3[300];
    path_in_tmp(p3, sizeof(p3), "c.onnx");
    CHECK_OK(oq_onnx_save(g1, keep, p3, &err), &err);
    CHECK(!oq_read_file(p2, &b1, &l1, &err) && !oq_read_file(p3, &b2, &l2, &err));
    CHECK(l1 == l2 && !memcmp(b1, b2, l1));
    free(b1);
    free(b2);
    oq_graph_free(g);
    oq_graph_free(g1);
    oq_graph_free(g2);
    oq_onnx_keep_free(keep);
}

/* A ModelProto written with protobuf-c directly: an unknown top-level field, metadata, a Constant node, and
 * an initializer whose data lives in an external file. */
static void write_crafted(const char *path, const char *weights_name, bool write_weights) {
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.producer_name = "crafted";
    Onnx__OperatorSetIdProto op;
    onnx__operator_set_id_proto__init(&op);
    op.domain = "";
    op.has_version = 1;
    op.version = 13;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    m.n_opset_import = 1;
    m.opset_import = ops;
    Onnx__StringStringEntryProto md;
    onnx__string_string_entry_proto__init(&md);
    md.key = "character";
    md.value = "abc";
    Onnx__StringStringEntryProto *mds[1] = {&md};
    m.n_metadata_props = 1;
    m.metadata_props = mds;

    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    g.name = "crafted";
    /* initializer W [2] external */
    float wv[2] = {3.0f, -4.0f};
    if (write_weights) {
        char wp[300];
        path_in_tmp(wp, sizeof(wp), weights_name);
        FILE *f = fopen(wp, "wb");
        fwrite("PADDING!", 1, 8, f);
        fwrite(wv, sizeof(float), 2, f);
        fclose(f);
    }
    Onnx__TensorProto w;
    onnx__tensor_proto__init(&w);
    w.name = "W";
    int64_t wd[1] = {2};
    w.n_dims = 1;
    w.dims = wd;
    w.has_data_type = 1;
    w.data_type = OQ_DTYPE_FLOAT;
    w.has_data_location = 1;
    w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto e1, e2, e3;
    onnx__string_string_entry_proto__init(&e1);
    onnx__string_string_entry_proto__init(&e2);
    onnx__string_string_entry_proto__init(&e3);
    e1.key = "location";
    e1.value = (char *)weights_name;
    e2.key = "offset";
    e2.value = "8";
    e3.key = "length";
    e3.value = "8";
    Onnx__StringStringEntryProto *es[3] = {&e1, &e2, &e3};
    w.n_external_data = 3;
    w.external_data = es;
    Onnx__TensorProto *inits[1] = {&w};
    g.n_initializer = 1;
    g.initializer = inits;
    /* Constant node c = [10, 20] (value_floats), then y = Identity(c) ... keep it to Identity chain */
    Onnx__AttributeProto ca;
    onnx__attribute_proto__init(&ca);
    ca.name = "value_floats";
    ca.has_type = 1;
    ca.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    float cv[2] = {10.0f, 20.0f};
    ca.n_floats = 2;
    ca.floats = cv;
    Onnx__AttributeProto *cas[1] = {&ca};
    Onnx__NodeProto cn, n1;
    onnx__node_proto__init(&cn);
    onnx__node_proto__init(&n1);
    char *cout[1] = {"c"};
    cn.op_type = "Constant";
    cn.name = "const";
    cn.n_output = 1;
    cn.output = cout;
    cn.n_attribute = 1;
    cn.attribute = cas;
    char *in1[1] = {"x"}, *out1[1] = {"y"};
    n1.op_type = "Identity";
    n1.name = "id";
    n1.n_input = 1;
    n1.input = in1;
    n1.n_output = 1;
    n1.output = out1;
    Onnx__NodeProto *nodes[2] = {&cn, &n1};
    g.n_node = 2;
    g.node = nodes;
    Onnx__TypeProto__Tensor tt;
    onnx__type_proto__tensor__init(&tt);
    tt.has_elem_type = 1;
    tt.elem_type = OQ_DTYPE_FLOAT;
    Onnx__TypeProto tp;
    onnx__type_proto__init(&tp);
    tp.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp.tensor_type = &tt;
    Onnx__ValueInfoProto xi, yo;
    onnx__value_info_proto__init(&xi);
    onnx__value_info_proto__init(&yo);
    xi.name = "x";
    xi.type = &tp;
    yo.name = "y";
    yo.type = &tp;
    Onnx__ValueInfoProto *gi[1] = {&xi}, *go[1] = {&yo};
    g.n_input = 1;
    g.input = gi;
    g.n_output = 1;
    g.output = go;
    m.graph = &g;
    size_t sz = onnx__model_proto__get_packed_size(&m);
    unsigned char *buf = malloc(sz + 3);
    onnx__model_proto__pack(&m, buf);
    /* unknown field 99 (varint 42): tag (99 << 3 | 0) = 792 = 0x98 0x06 */
    buf[sz] = 0x98;
    buf[sz + 1] = 0x06;
    buf[sz + 2] = 42;
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, sz + 3, f);
    fclose(f);
    free(buf);
}

static bool contains(const unsigned char *h, size_t hl, const unsigned char *n, size_t nl) {
    for (size_t i = 0; i + nl <= hl; i++)
        if (!memcmp(h + i, n, nl))
            return true;
    return false;
}

static void test_crafted_preserved(void) {
    char p[300], p2[300];
    path_in_tmp(p, sizeof(p), "crafted.onnx");
    path_in_tmp(p2, sizeof(p2), "crafted_resaved.onnx");
    write_crafted(p, "weights.bin", true);
    oq_error err = {0};
    struct oq_onnx_keep *keep = NULL;
    struct oq_graph *g = load_graph(p, &keep, &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    if (!g)
        return;
    int w = oq_graph_find_value(g, "W"), c = oq_graph_find_value(g, "c");
    CHECK(w >= 0 && g->values[w].init && ((float *)g->values[w].init->data)[1] == -4.0f);
    CHECK(c >= 0 && g->values[c].init && ((float *)g->values[c].init->data)[1] == 20.0f); /* Constant -> init */
    CHECK(g->n_nodes == 1);
    CHECK(!strcmp(oq_onnx_keep_producer(keep), "crafted"));
    CHECK_OK(oq_onnx_save(g, keep, p2, &err), &err);
    void *buf;
    size_t len;
    CHECK(!oq_read_file(p2, &buf, &len, &err));
    CHECK_MSG(contains(buf, len, (const unsigned char *)"\x98\x06\x2a", 3), "unknown field 99 lost on save");
    CHECK_MSG(contains(buf, len, (const unsigned char *)"character", 9), "metadata lost on save");
    free(buf);
    oq_graph_free(g);
    oq_onnx_keep_free(keep);

    /* missing external file: clear error naming the tensor and the file */
    path_in_tmp(p, sizeof(p), "crafted_missing.onnx");
    write_crafted(p, "nope.bin", false);
    memset(&err, 0, sizeof(err));
    g = load_graph(p, NULL, &err);
    CHECK(g == NULL && err.code == OQ_ERR_IO);
    CHECK_MSG(strstr(err.msg, "'W'") && strstr(err.msg, "nope.bin"), "%s", err.msg);
    oq_graph_free(g);
}

int main(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/onnxq_test_io_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_roundtrip();
    test_crafted_preserved();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_MAIN_END();
}
