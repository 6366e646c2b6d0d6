/* ModelProto -> IR. Every failure names the model and the tensor or node involved. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "onnx/onnx_keep.h"

static const char *str_or(const char *s, const char *d) { return s && *s ? s : d; }

/* ---- tensors ---- */

static oq_status read_external(const Onnx__TensorProto *tp, const char *base_dir, void *dst, size_t bytes,
                               const char *source, oq_error *err) {
    const char *loc = NULL;
    long long offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value)
            continue;
        if (strcmp(e->key, "location") == 0)
            loc = e->value;
        else if (strcmp(e->key, "offset") == 0)
            offset = strtoll(e->value, NULL, 10);
        else if (strcmp(e->key, "length") == 0)
            length = strtoll(e->value, NULL, 10);
    }
    const char *tname = str_or(tp->name, "?");
    if (!loc || !*loc)
        return oq_errorf(err, OQ_ERR_MODEL, "%s: tensor '%s' has external data without a 'location'", source,
                         tname);
    if (loc[0] == '/' || strstr(loc, ".."))
        return oq_errorf(err, OQ_ERR_MODEL,
                         "%s: tensor '%s' has external data at '%s', outside the model's folder; external files "
                         "must sit beside the model",
                         source, tname, loc);
    if (offset < 0 || (length >= 0 && (size_t)length != bytes))
        return oq_errorf(err, OQ_ERR_MODEL,
                         "%s: tensor '%s': external data length %lld does not match its shape (%zu bytes)", source,
                         tname, length, bytes);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", base_dir && *base_dir ? base_dir : ".", loc);
    FILE *f = fopen(path, "rb");
    if (!f)
        return oq_errorf(err, OQ_ERR_IO,
                         "%s: tensor '%s' keeps its data in '%s', which cannot be opened (%s); copy the external "
                         "data file beside the model",
                         source, tname, path, strerror(errno));
    oq_status st = OQ_OK;
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(dst, 1, bytes, f) != bytes)
        st = oq_errorf(err, OQ_ERR_IO, "%s: tensor '%s': '%s' is shorter than offset %lld + %zu bytes", source,
                       tname, path, offset, bytes);
    fclose(f);
    return st;
}

/* Fill t->data from the typed repeated fields of tp (the non-raw encodings). */
static oq_status copy_typed_fields(const Onnx__TensorProto *tp, struct oq_tensor *t, const char *source,
                                   oq_error *err) {
    int64_t n = oq_tensor_numel(t);
    size_t have;
    switch (t->dtype) {
    case OQ_DTYPE_FLOAT: have = tp->n_float_data; break;
    case OQ_DTYPE_DOUBLE: have = tp->n_double_data; break;
    case OQ_DTYPE_INT64: have = tp->n_int64_data; break;
    case OQ_DTYPE_UINT32: case OQ_DTYPE_UINT64: have = tp->n_uint64_data; break;
    default: have = tp->n_int32_data; break; /* int32, int16, int8, uint8, uint16, bool, float16, bfloat16 */
    }
    if ((int64_t)have != n)
        return oq_errorf(err, OQ_ERR_MODEL, "%s: tensor '%s' has %zu values but its shape needs %lld", source,
                         str_or(tp->name, "?"), have, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case OQ_DTYPE_FLOAT: ((float *)t->data)[i] = tp->float_data[i]; break;
        case OQ_DTYPE_DOUBLE: ((double *)t->data)[i] = tp->double_data[i]; break;
        case OQ_DTYPE_INT64: ((int64_t *)t->data)[i] = tp->int64_data[i]; break;
        case OQ_DTYPE_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i]; break;
        case OQ_DTYPE_UINT64: ((uint64_t *)t->data)[i] = tp->uint64_data[i]; break;
        case OQ_DTYPE_INT32: ((int32_t *)t->data)[i] = tp->int32_data[i]; break;
        case OQ_DTYPE_INT16: ((int16_t *)t->data)[i] = (int16_t)tp->int32_data[i]; break;
        case OQ_DTYPE_UINT16: case OQ_DTYPE_FLOAT16: case OQ_DTYPE_BFLOAT16:
            ((uint16_t *)t->data)[i] = (uint16_t)tp->int32_data[i];
            break;
        case OQ_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)tp->int32_data[i]; break;
        case OQ_DTYPE_UINT8: case OQ_DTYPE_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)tp->int32_data[i]; break;
        default: break;
        }
    }
    return OQ_OK;
}

oq_status oq_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir, const char *source,
                                    struct oq_tensor **out, oq_error *err) {
    *out = NULL;
    const char *tname = str_or(tp->name, "?");
    enum oq_dtype dt = (enum oq_dtype)tp->data_type;
    if (oq_dtype_size(dt) == 0)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: tensor '%s' has data type %d (%s), which onnxq does not "
                         "support in initializers",
                         source, tname, tp->data_type, oq_dtype_name(dt));
    if (tp->n_dims > OQ_MAX_DIMS)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: tensor '%s' has rank %zu; at most %d is supported", source,
                         tname, tp->n_dims, OQ_MAX_DIMS);
    int64_t numel = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0 || (tp->dims[i] > 0 && numel > (INT64_MAX / 16) / tp->dims[i]))
            return oq_errorf(err, OQ_ERR_MODEL, "%s: tensor '%s' has an invalid dim %lld", source, tname,
                             (long long)tp->dims[i]);
        numel *= tp->dims[i];
    }
    if (tp->segment)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: tensor '%s' is segmented; re-save the model unsegmented",
                         source, tname);
    /* check the stored data against the shape before allocating anything: a corrupt file must not make us
     * allocate what its dims claim */
    size_t want = (size_t)numel * oq_dtype_size(dt);
    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    char shape[160];
    oq_shape_str((int)tp->n_dims, tp->dims, shape, sizeof(shape));
    if (!external && tp->has_raw_data && tp->raw_data.len != want)
        return oq_errorf(err, OQ_ERR_MODEL, "%s: tensor '%s' has %zu bytes of raw data but its shape %s of %s needs "
                         "%zu; the file is corrupt or truncated",
                         source, tname, tp->raw_data.len, shape, oq_dtype_name(dt), want);
    if (!external && !tp->has_raw_data) {
        size_t have = dt == OQ_DTYPE_FLOAT ? tp->n_float_data
                      : dt == OQ_DTYPE_DOUBLE ? tp->n_double_data
                      : dt == OQ_DTYPE_INT64 ? tp->n_int64_data
                      : (dt == OQ_DTYPE_UINT32 || dt == OQ_DTYPE_UINT64) ? tp->n_uint64_data
                      : tp->n_int32_data;
        if ((int64_t)have != numel)
            return oq_errorf(err, OQ_ERR_MODEL, "%s: tensor '%s' has %zu values but its shape %s needs %lld; the file "
                             "is corrupt or truncated",
                             source, tname, have, shape, (long long)numel);
    }
    if (external && want > ((size_t)1 << 40))
        return oq_errorf(err, OQ_ERR_MODEL, "%s: tensor '%s' claims shape %s (%zu bytes) in external data; refusing "
                         "to allocate that", source, tname, shape, want);
    struct oq_tensor *t = oq_tensor_new(dt, (int)tp->n_dims, tp->dims, tp->name);
    if (!t)
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory for tensor '%s' (%lld elements)", source, tname,
                         (long long)numel);
    size_t bytes = oq_tensor_bytes(t);
    oq_status st = OQ_OK;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        st = read_external(tp, base_dir, t->data, bytes, source, err);
    } else if (tp->has_raw_data) {
        if (bytes)
            memcpy(t->data, tp->raw_data.data, bytes); /* ONNX raw data is little-endian, as is x86 */
    } else {
        st = copy_typed_fields(tp, t, source, err);
    }
    if (st) {
        oq_tensor_free(t);
        return st;
    }
    *out = t;
    return OQ_OK;
}

oq_status oq_onnx_tensor_parse(const void *buf, size_t len, struct oq_tensor **out, oq_error *err) {
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!tp)
        return oq_errorf(err, OQ_ERR_MODEL, "not a valid serialized ONNX TensorProto (protobuf parse failed)");
    oq_status st = oq_onnx_tensor_from_proto(tp, ".", "tensor file", out, err);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

/* ---- value types ---- */

static oq_status set_value_type(struct oq_graph *g, int vid, const Onnx__ValueInfoProto *vi, oq_error *err) {
    struct oq_value *v = &g->values[vid];
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return OQ_OK; /* sequences/maps: left undefined; ops that need them are unsupported anyway */
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type)
        v->dtype = (enum oq_dtype)tt->elem_type;
    if (!tt->shape)
        return OQ_OK;
    if (tt->shape->n_dim > OQ_MAX_DIMS)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: value '%s' has rank %zu; at most %d is supported",
                         g->source, v->name, tt->shape->n_dim, OQ_MAX_DIMS);
    v->ndim = (int32_t)tt->shape->n_dim;
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        v->dims[d] = -1;
        free(v->dim_param[d]);
        v->dim_param[d] = NULL;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value >= 0)
            v->dims[d] = dim->dim_value;
        else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param)
            v->dim_param[d] = strdup(dim->dim_param);
    }
    return OQ_OK;
}

/* ---- attributes ---- */

static oq_status copy_attr(struct oq_graph *g, struct oq_node *n, const Onnx__AttributeProto *ap,
                           const char *base_dir, oq_error *err) {
    const char *aname = str_or(ap->name, "?");
    if (ap->ref_attr_name && *ap->ref_attr_name)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED,
                         "%s: node '%s' (%s): attribute '%s' refers to a function attribute, which is only valid "
                         "inside functions",
                         g->source, n->name, n->op_type, aname);
    enum oq_attr_type type = ap->has_type ? (enum oq_attr_type)ap->type : OQ_ATTR_UNDEFINED;
    if (type == OQ_ATTR_UNDEFINED) { /* old models: infer from which field is set */
        if (ap->has_f) type = OQ_ATTR_FLOAT;
        else if (ap->has_i) type = OQ_ATTR_INT;
        else if (ap->has_s) type = OQ_ATTR_STRING;
        else if (ap->t) type = OQ_ATTR_TENSOR;
        else if (ap->n_floats) type = OQ_ATTR_FLOATS;
        else if (ap->n_ints) type = OQ_ATTR_INTS;
        else if (ap->n_strings) type = OQ_ATTR_STRINGS;
    }
    struct oq_attr *a = oq_node_add_attr(n, aname, type);
    if (!a)
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
    switch (type) {
    case OQ_ATTR_FLOAT: a->f = ap->f; break;
    case OQ_ATTR_INT: a->i = ap->i; break;
    case OQ_ATTR_STRING:
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        a->s_len = ap->s.len;
        break;
    case OQ_ATTR_FLOATS:
        a->n = (int64_t)ap->n_floats;
        a->floats = malloc(sizeof(float) * (ap->n_floats ? ap->n_floats : 1));
        if (!a->floats)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        if (ap->n_floats)
            memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
        break;
    case OQ_ATTR_INTS:
        a->n = (int64_t)ap->n_ints;
        a->ints = malloc(sizeof(int64_t) * (ap->n_ints ? ap->n_ints : 1));
        if (!a->ints)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        if (ap->n_ints)
            memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
        break;
    case OQ_ATTR_STRINGS:
        a->n = (int64_t)ap->n_strings;
        a->strings = calloc(ap->n_strings ? ap->n_strings : 1, sizeof(char *));
        if (!a->strings)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        for (size_t i = 0; i < ap->n_strings; i++) {
            a->strings[i] = malloc(ap->strings[i].len + 1);
            if (!a->strings[i])
                return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
            if (ap->strings[i].len)
                memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
            a->strings[i][ap->strings[i].len] = 0;
        }
        break;
    case OQ_ATTR_TENSOR:
        if (!ap->t)
            return oq_errorf(err, OQ_ERR_MODEL, "%s: node '%s': tensor attribute '%s' has no tensor", g->source,
                             n->name, aname);
        OQ_TRY(oq_onnx_tensor_from_proto(ap->t, base_dir, g->source, &a->t, err));
        break;
    default: {
        /* graphs, sparse tensors, type protos: kept packed so save can write them back unchanged */
        size_t sz = onnx__attribute_proto__get_packed_size(ap);
        a->opaque = malloc(sz ? sz : 1);
        if (!a->opaque)
            return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        a->opaque_len = onnx__attribute_proto__pack(ap, a->opaque);
        break;
    }
    }
    return OQ_OK;
}

/* ---- Constant -> initializer ---- */

static oq_status constant_to_tensor(struct oq_graph *g, const Onnx__NodeProto *np, const char *base_dir,
                                    struct oq_tensor **out, oq_error *err) {
    const char *nname = str_or(np->name, str_or(np->n_output ? np->output[0] : NULL, "?"));
    if (np->n_attribute != 1)
        return oq_errorf(err, OQ_ERR_MODEL, "%s: Constant node '%s' must have exactly one attribute, has %zu",
                         g->source, nname, np->n_attribute);
    const Onnx__AttributeProto *a = np->attribute[0];
    const char *an = str_or(a->name, "");
    int64_t one = 1;
    struct oq_tensor *t = NULL;
    if (strcmp(an, "value") == 0 && a->t) {
        return oq_onnx_tensor_from_proto(a->t, base_dir, g->source, out, err);
    } else if (strcmp(an, "value_float") == 0) {
        t = oq_tensor_new(OQ_DTYPE_FLOAT, 0, NULL, NULL);
        if (t) ((float *)t->data)[0] = a->f;
    } else if (strcmp(an, "value_int") == 0) {
        t = oq_tensor_new(OQ_DTYPE_INT64, 0, NULL, NULL);
        if (t) ((int64_t *)t->data)[0] = a->i;
    } else if (strcmp(an, "value_floats") == 0) {
        one = (int64_t)a->n_floats;
        t = oq_tensor_new(OQ_DTYPE_FLOAT, 1, &one, NULL);
        if (t && one) memcpy(t->data, a->floats, sizeof(float) * a->n_floats);
    } else if (strcmp(an, "value_ints") == 0) {
        one = (int64_t)a->n_ints;
        t = oq_tensor_new(OQ_DTYPE_INT64, 1, &one, NULL);
        if (t && one) memcpy(t->data, a->ints, sizeof(int64_t) * a->n_ints);
    } else {
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "%s: Constant node '%s' uses attribute '%s', which onnxq does "
                         "not support (sparse or string constants)",
                         g->source, nname, an);
    }
    if (!t)
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
    *out = t;
    return OQ_OK;
}

/* ---- graph ---- */

/* A name index speeds up value lookup for big graphs: simple open-addressing hash on the names. */
struct name_index {
    int cap;
    int *slot;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int ni_find(const struct name_index *ni, const struct oq_graph *g, const char *name) {
    uint64_t h = hash_str(name);
    for (int k = 0; k < ni->cap; k++) {
        int s = ni->slot[(h + (uint64_t)k) & (uint64_t)(ni->cap - 1)];
        if (s < 0)
            return -1;
        if (strcmp(g->values[s].name, name) == 0)
            return s;
    }
    return -1;
}

static void ni_insert(struct name_index *ni, const struct oq_graph *g, int id) {
    uint64_t h = hash_str(g->values[id].name);
    for (int k = 0; k < ni->cap; k++) {
        int *s = &ni->slot[(h + (uint64_t)k) & (uint64_t)(ni->cap - 1)];
        if (*s < 0) {
            *s = id;
            return;
        }
    }
}

static int ni_get(struct name_index *ni, struct oq_graph *g, const char *name, oq_error *err) {
    int id = ni_find(ni, g, name);
    if (id >= 0)
        return id;
    id = oq_graph_add_value(g, name);
    if (id < 0) {
        oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        return -1;
    }
    ni_insert(ni, g, id);
    return id;
}

static oq_status load_graph(struct oq_graph *g, const Onnx__GraphProto *gp, const char *base_dir, oq_error *err) {
    oq_status st = OQ_OK;
    size_t total = gp->n_initializer + gp->n_input + gp->n_output + gp->n_value_info;
    for (size_t i = 0; i < gp->n_node; i++)
        total += gp->node[i]->n_output + gp->node[i]->n_input;
    struct name_index ni = {.cap = 64};
    while ((size_t)ni.cap < total * 2)
        ni.cap *= 2;
    ni.slot = malloc(sizeof(int) * (size_t)ni.cap);
    if (!ni.slot)
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
    memset(ni.slot, 0xff, sizeof(int) * (size_t)ni.cap);
    g->name = strdup(str_or(gp->name, "graph"));
    if (!g->name) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        goto done;
    }

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name) {
            st = oq_errorf(err, OQ_ERR_MODEL, "%s: initializer %zu has no name", g->source, i);
            goto done;
        }
        int id = ni_get(&ni, g, tp->name, err);
        if (id < 0) { st = OQ_ERR_NOMEM; goto done; }
        if (g->values[id].init) {
            st = oq_errorf(err, OQ_ERR_MODEL, "%s: initializer '%s' is defined twice", g->source, tp->name);
            goto done;
        }
        if ((st = oq_onnx_tensor_from_proto(tp, base_dir, g->source, &g->values[id].init, err)))
            goto done;
    }
    g->inputs = malloc(sizeof(int) * (gp->n_input ? gp->n_input : 1));
    g->outputs = malloc(sizeof(int) * (gp->n_output ? gp->n_output : 1));
    if (!g->inputs || !g->outputs) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
        goto done;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !*vi->name) {
            st = oq_errorf(err, OQ_ERR_MODEL, "%s: graph input %zu has no name", g->source, i);
            goto done;
        }
        int id = ni_get(&ni, g, vi->name, err);
        if (id < 0) { st = OQ_ERR_NOMEM; goto done; }
        if ((st = set_value_type(g, id, vi, err)))
            goto done;
        if (g->values[id].init)
            continue; /* IR < 4 lists initializers among the inputs: they are not runtime inputs */
        if (g->values[id].is_input) {
            st = oq_errorf(err, OQ_ERR_MODEL, "%s: graph input '%s' is listed twice", g->source, vi->name);
            goto done;
        }
        g->values[id].is_input = true;
        g->inputs[g->n_inputs++] = id;
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        if (!vi->name || !*vi->name)
            continue;
        int id = ni_get(&ni, g, vi->name, err);
        if (id < 0) { st = OQ_ERR_NOMEM; goto done; }
        if (!g->values[id].init && (st = set_value_type(g, id, vi, err)))
            goto done;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *op = str_or(np->op_type, "");
        const char *domain = np->domain ? np->domain : "";
        if (!*op) {
            st = oq_errorf(err, OQ_ERR_MODEL, "%s: node %zu ('%s') has no op_type", g->source, i,
                           str_or(np->name, "?"));
            goto done;
        }
        if (strcmp(op, "Constant") == 0 && (!*domain || strcmp(domain, "ai.onnx") == 0)) {
            if (np->n_output != 1 || !np->output[0] || !*np->output[0]) {
                st = oq_errorf(err, OQ_ERR_MODEL, "%s: Constant node '%s' must have one named output", g->source,
                               str_or(np->name, "?"));
                goto done;
            }
            int id = ni_get(&ni, g, np->output[0], err);
            if (id < 0) { st = OQ_ERR_NOMEM; goto done; }
            if (g->values[id].init || g->values[id].is_input) {
                st = oq_errorf(err, OQ_ERR_MODEL, "%s: Constant node '%s' writes '%s', which is already defined",
                               g->source, str_or(np->name, "?"), np->output[0]);
                goto done;
            }
            if ((st = constant_to_tensor(g, np, base_dir, &g->values[id].init, err)))
                goto done;
            continue;
        }
        int nin = (int)np->n_input, nout = (int)np->n_output;
        int *ids = malloc(sizeof(int) * (size_t)(nin + nout + 1));
        if (!ids) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
            goto done;
        }
        for (int k = 0; k < nin + nout; k++) {
            const char *vn = k < nin ? np->input[k] : np->output[k - nin];
            ids[k] = -1;
            if (vn && *vn && (ids[k] = ni_get(&ni, g, vn, err)) < 0) {
                free(ids);
                st = OQ_ERR_NOMEM;
                goto done;
            }
        }
        char autoname[64];
        const char *nname = np->name;
        if (!nname || !*nname) { /* unnamed nodes get a stable name for messages and configs */
            snprintf(autoname, sizeof(autoname), "%s_%zu", op, i);
            nname = autoname;
        }
        int nid = oq_graph_add_node(g, nname, op, domain, nin, ids, nout, ids + nin);
        free(ids);
        if (nid < 0) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
            goto done;
        }
        struct oq_node *n = &g->nodes[nid];
        if (np->doc_string && *np->doc_string)
            n->doc = strdup(np->doc_string);
        n->opset = (int)oq_graph_opset(g, domain);
        for (size_t k = 0; k < np->n_attribute; k++)
            if ((st = copy_attr(g, n, np->attribute[k], base_dir, err)))
                goto done;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi->name || !*vi->name) {
            st = oq_errorf(err, OQ_ERR_MODEL, "%s: graph output %zu has no name", g->source, i);
            goto done;
        }
        int id = ni_find(&ni, g, vi->name);
        if (id < 0) {
            st = oq_errorf(err, OQ_ERR_MODEL,
                           "%s: graph output '%s' is not produced by any node, input or initializer", g->source,
                           vi->name);
            goto done;
        }
        if ((st = set_value_type(g, id, vi, err)))
            goto done;
        g->values[id].is_output = true;
        g->outputs[g->n_outputs++] = id;
    }
done:
    free(ni.slot);
    return st;
}

oq_status oq_onnx_load(const void *buf, size_t len, const char *base_dir, const char *source,
                       struct oq_graph **g_out, struct oq_onnx_keep **keep_out, oq_error *err) {
    *g_out = NULL;
    if (keep_out)
        *keep_out = NULL;
    if (!source)
        source = "model";
    if (len == 0)
        return oq_errorf(err, OQ_ERR_MODEL, "%s: the file is empty, not an ONNX model", source);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    if (!mp)
        return oq_errorf(err, OQ_ERR_MODEL,
                         "%s: not a valid ONNX model (protobuf parse failed: the file is truncated, corrupt, or "
                         "not ONNX); re-export or re-download it",
                         source);
    oq_status st = OQ_OK;
    struct oq_graph *g = oq_graph_new();
    if (!g || !(g->source = strdup(source))) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", source);
        goto fail;
    }
    if (!mp->graph || (!mp->graph->n_node && !mp->graph->n_output)) {
        st = oq_errorf(err, OQ_ERR_MODEL,
                       "%s: the file parsed as protobuf but holds no ONNX graph (no nodes, no outputs): it is "
                       "not an ONNX model, or it is corrupt",
                       source);
        goto fail;
    }
    if (!mp->has_ir_version || mp->ir_version < 3) {
        st = oq_errorf(err, OQ_ERR_MODEL,
                       "%s: ir_version %lld is missing or too old (onnxq reads IR 3 and later); re-export with a "
                       "current exporter",
                       source, (long long)mp->ir_version);
        goto fail;
    }
    g->opsets = calloc(mp->n_opset_import ? mp->n_opset_import : 1, sizeof(struct oq_opset));
    if (!g->opsets) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", source);
        goto fail;
    }
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        g->opsets[i].domain = strdup(mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "");
        g->opsets[i].version = mp->opset_import[i]->version;
        g->n_opsets++;
        if (!g->opsets[i].domain) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", source);
            goto fail;
        }
    }
    if ((st = load_graph(g, mp->graph, base_dir, err)))
        goto fail;
    if (keep_out) {
        if ((st = oq_onnx_keep_new(mp, keep_out, err)))
            goto fail;
        mp = NULL; /* owned by keep now */
    }
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    *g_out = g;
    return OQ_OK;
fail:
    oq_graph_free(g);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    return st;
}
