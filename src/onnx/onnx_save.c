/* IR -> ModelProto -> file. The proto structs built here borrow names and tensor data from the IR; they
 * live in a bump arena freed after packing, so saving copies no weights. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_keep.h"

struct bump {
    struct bump_block *head;
    int oom;
};
struct bump_block {
    struct bump_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

static void *bump_alloc(struct bump *b, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!b->head || b->head->used + n > b->head->cap) {
        size_t cap = n > 65536 ? n : 65536;
        struct bump_block *blk = malloc(sizeof(*blk) + cap);
        if (!blk) {
            b->oom = 1;
            return NULL;
        }
        blk->next = b->head;
        blk->used = 0;
        blk->cap = cap;
        b->head = blk;
    }
    void *p = b->head->data + b->head->used;
    b->head->used += n;
    memset(p, 0, n);
    return p;
}

static void bump_free(struct bump *b) {
    while (b->head) {
        struct bump_block *n = b->head->next;
        free(b->head);
        b->head = n;
    }
}

#define BUMP_NEW(b, T) ((T *)bump_alloc((b), sizeof(T)))
#define BUMP_ARR(b, T, n) ((T *)bump_alloc((b), sizeof(T) * ((n) ? (n) : 1)))

static Onnx__TypeProto *make_type(struct bump *b, const struct oq_value *v) {
    Onnx__TypeProto *tp = BUMP_NEW(b, Onnx__TypeProto);
    Onnx__TypeProto__Tensor *tt = BUMP_NEW(b, Onnx__TypeProto__Tensor);
    if (!tp || !tt)
        return NULL;
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    enum oq_dtype dt = v->init ? v->init->dtype : v->dtype;
    if (dt != OQ_DTYPE_UNDEFINED) {
        tt->has_elem_type = 1;
        tt->elem_type = (int32_t)dt;
    }
    int ndim = v->init ? v->init->ndim : v->ndim;
    if (ndim < 0)
        return tp;
    Onnx__TensorShapeProto *sp = BUMP_NEW(b, Onnx__TensorShapeProto);
    Onnx__TensorShapeProto__Dimension **dims = BUMP_ARR(b, Onnx__TensorShapeProto__Dimension *, ndim);
    if (!sp || !dims)
        return NULL;
    onnx__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)ndim;
    sp->dim = dims;
    for (int d = 0; d < ndim; d++) {
        Onnx__TensorShapeProto__Dimension *dm = BUMP_NEW(b, Onnx__TensorShapeProto__Dimension);
        if (!dm)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(dm);
        int64_t dv = v->init ? v->init->dims[d] : v->dims[d];
        if (dv >= 0) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = dv;
        } else if (!v->init && v->dim_param[d]) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = v->dim_param[d];
        }
        dims[d] = dm;
    }
    tt->shape = sp;
    return tp;
}

static Onnx__ValueInfoProto *make_value_info(struct bump *b, const struct oq_value *v) {
    Onnx__ValueInfoProto *vi = BUMP_NEW(b, Onnx__ValueInfoProto);
    if (!vi)
        return NULL;
    onnx__value_info_proto__init(vi);
    vi->name = v->name;
    vi->type = make_type(b, v);
    return vi->type ? vi : NULL;
}

static Onnx__TensorProto *make_tensor(struct bump *b, const struct oq_tensor *t, const char *name) {
    Onnx__TensorProto *tp = BUMP_NEW(b, Onnx__TensorProto);
    if (!tp)
        return NULL;
    onnx__tensor_proto__init(tp);
    tp->name = (char *)(name ? name : (t->name ? t->name : ""));
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    tp->n_dims = (size_t)t->ndim;
    tp->dims = (int64_t *)t->dims;
    tp->has_raw_data = 1;
    tp->raw_data.len = oq_tensor_bytes(t);
    tp->raw_data.data = t->data;
    return tp;
}

static Onnx__AttributeProto *make_attr(struct bump *b, const struct oq_attr *a, Onnx__AttributeProto ***unpacked,
                                       size_t *n_unpacked) {
    if (a->opaque) {
        Onnx__AttributeProto *ap = onnx__attribute_proto__unpack(NULL, a->opaque_len, a->opaque);
        if (ap)
            (*unpacked)[(*n_unpacked)++] = ap;
        return ap;
    }
    Onnx__AttributeProto *ap = BUMP_NEW(b, Onnx__AttributeProto);
    if (!ap)
        return NULL;
    onnx__attribute_proto__init(ap);
    ap->name = a->name;
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OQ_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
    case OQ_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case OQ_ATTR_STRING:
        ap->has_s = 1;
        ap->s.len = a->s_len;
        ap->s.data = (uint8_t *)a->s;
        break;
    case OQ_ATTR_FLOATS: ap->n_floats = (size_t)a->n; ap->floats = a->floats; break;
    case OQ_ATTR_INTS: ap->n_ints = (size_t)a->n; ap->ints = a->ints; break;
    case OQ_ATTR_STRINGS: {
        ap->n_strings = (size_t)a->n;
        ap->strings = BUMP_ARR(b, ProtobufCBinaryData, a->n);
        if (!ap->strings)
            return NULL;
        for (int64_t i = 0; i < a->n; i++) {
            ap->strings[i].data = (uint8_t *)a->strings[i];
            ap->strings[i].len = strlen(a->strings[i]);
        }
        break;
    }
    case OQ_ATTR_TENSOR:
        ap->t = make_tensor(b, a->t, NULL);
        if (!ap->t)
            return NULL;
        break;
    default: break;
    }
    return ap;
}

oq_status oq_onnx_save(const struct oq_graph *g, const struct oq_onnx_keep *keep, const char *path,
                       oq_error *err) {
    struct bump b = {0};
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__AttributeProto **unpacked = NULL;
    size_t n_unpacked = 0;
    void *buf = NULL;
    oq_status st = OQ_OK;

    if (keep && keep->mp) {
        model = *keep->mp;
    } else {
        onnx__model_proto__init(&model);
        model.has_ir_version = 1;
        model.ir_version = 8;
        model.producer_name = "onnxq";
    }
    if (keep && keep->mp && keep->mp->graph)
        graph = *keep->mp->graph;
    else
        onnx__graph_proto__init(&graph);
    model.graph = &graph;
    graph.name = g->name ? g->name : "graph";

    /* opsets */
    model.n_opset_import = (size_t)g->n_opsets;
    model.opset_import = BUMP_ARR(&b, Onnx__OperatorSetIdProto *, g->n_opsets);
    for (int i = 0; model.opset_import && i < g->n_opsets; i++) {
        Onnx__OperatorSetIdProto *op = BUMP_NEW(&b, Onnx__OperatorSetIdProto);
        if (!op)
            break;
        onnx__operator_set_id_proto__init(op);
        op->domain = g->opsets[i].domain;
        op->has_version = 1;
        op->version = g->opsets[i].version;
        model.opset_import[i] = op;
    }

    /* initializers */
    int n_init = 0;
    for (int i = 0; i < g->n_values; i++)
        n_init += g->values[i].init != NULL;
    graph.n_initializer = (size_t)n_init;
    graph.initializer = BUMP_ARR(&b, Onnx__TensorProto *, n_init);
    for (int i = 0, k = 0; graph.initializer && i < g->n_values; i++)
        if (g->values[i].init)
            graph.initializer[k++] = make_tensor(&b, g->values[i].init, g->values[i].name);

    /* inputs (IR < 4: initializers are listed as inputs too) */
    int legacy = model.has_ir_version && model.ir_version < 4;
    size_t n_in = (size_t)g->n_inputs + (legacy ? (size_t)n_init : 0);
    graph.n_input = n_in;
    graph.input = BUMP_ARR(&b, Onnx__ValueInfoProto *, n_in);
    for (int i = 0; graph.input && i < g->n_inputs; i++)
        graph.input[i] = make_value_info(&b, &g->values[g->inputs[i]]);
    for (int i = 0, k = g->n_inputs; legacy && graph.input && i < g->n_values; i++)
        if (g->values[i].init)
            graph.input[k++] = make_value_info(&b, &g->values[i]);
    graph.n_output = (size_t)g->n_outputs;
    graph.output = BUMP_ARR(&b, Onnx__ValueInfoProto *, g->n_outputs);
    for (int i = 0; graph.output && i < g->n_outputs; i++)
        graph.output[i] = make_value_info(&b, &g->values[g->outputs[i]]);

    /* value_info: keep the original entries whose values still exist as intermediates */
    if (keep && keep->mp && keep->mp->graph) {
        const Onnx__GraphProto *og = keep->mp->graph;
        graph.value_info = BUMP_ARR(&b, Onnx__ValueInfoProto *, og->n_value_info);
        graph.n_value_info = 0;
        for (size_t i = 0; graph.value_info && i < og->n_value_info; i++) {
            const char *nm = og->value_info[i]->name;
            int id = nm ? oq_graph_find_value(g, nm) : -1;
            if (id >= 0 && !g->values[id].init && !g->values[id].is_input && !g->values[id].is_output)
                graph.value_info[graph.n_value_info++] = og->value_info[i];
        }
    }

    /* nodes */
    size_t n_attr_opaque = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_attr; k++)
            n_attr_opaque += g->nodes[i].attrs[k].opaque != NULL;
    unpacked = calloc(n_attr_opaque ? n_attr_opaque : 1, sizeof(*unpacked));
    graph.n_node = (size_t)g->n_nodes;
    graph.node = BUMP_ARR(&b, Onnx__NodeProto *, g->n_nodes);
    if (!unpacked || !graph.node) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory saving '%s'", path);
        goto done;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        Onnx__NodeProto *np = BUMP_NEW(&b, Onnx__NodeProto);
        char **ins = BUMP_ARR(&b, char *, n->n_in);
        char **outs = BUMP_ARR(&b, char *, n->n_out);
        Onnx__AttributeProto **attrs = BUMP_ARR(&b, Onnx__AttributeProto *, n->n_attr);
        if (!np || !ins || !outs || !attrs)
            break;
        onnx__node_proto__init(np);
        np->name = n->name;
        np->op_type = n->op_type;
        np->domain = n->domain;
        np->doc_string = n->doc;
        np->n_input = (size_t)n->n_in;
        np->input = ins;
        for (int k = 0; k < n->n_in; k++)
            ins[k] = n->in[k] >= 0 ? g->values[n->in[k]].name : "";
        np->n_output = (size_t)n->n_out;
        np->output = outs;
        for (int k = 0; k < n->n_out; k++)
            outs[k] = n->out[k] >= 0 ? g->values[n->out[k]].name : "";
        np->n_attribute = (size_t)n->n_attr;
        np->attribute = attrs;
        for (int k = 0; k < n->n_attr; k++) {
            attrs[k] = make_attr(&b, &n->attrs[k], &unpacked, &n_unpacked);
            if (!attrs[k]) {
                st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory saving '%s' (node '%s', attribute '%s')", path,
                               n->name, n->attrs[k].name);
                goto done;
            }
        }
        graph.node[i] = np;
    }
    if (b.oom) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory saving '%s'", path);
        goto done;
    }
    for (size_t i = 0; i < graph.n_input; i++)
        if (!graph.input[i]) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory saving '%s'", path);
            goto done;
        }

    size_t sz = onnx__model_proto__get_packed_size(&model);
    if (sz > (size_t)INT32_MAX) {
        st = oq_errorf(err, OQ_ERR_UNSUPPORTED,
                       "cannot save '%s': the model is %zu bytes, over protobuf's 2 GiB limit (external-data "
                       "saving is not implemented)",
                       path, sz);
        goto done;
    }
    buf = malloc(sz ? sz : 1);
    if (!buf) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "cannot allocate %zu bytes to save '%s'", sz, path);
        goto done;
    }
    size_t packed = onnx__model_proto__pack(&model, buf);
    st = oq_write_file_atomic(path, buf, packed, err);
done:
    for (size_t i = 0; i < n_unpacked; i++)
        onnx__attribute_proto__free_unpacked(unpacked[i], NULL);
    free(unpacked);
    free(buf);
    bump_free(&b);
    return st;
}
