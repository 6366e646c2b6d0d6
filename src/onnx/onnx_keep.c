#include <stdlib.h>

#include "onnx/onnx_keep.h"

oq_status oq_onnx_keep_new(Onnx__ModelProto *mp, struct oq_onnx_keep **out, oq_error *err) {
    struct oq_onnx_keep *k = calloc(1, sizeof(*k));
    if (!k)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    Onnx__GraphProto *gp = mp->graph;
    if (gp) { /* free what the IR now owns; protobuf-c frees the (now empty) arrays with the parent */
        for (size_t i = 0; i < gp->n_node; i++)
            onnx__node_proto__free_unpacked(gp->node[i], NULL);
        gp->n_node = 0;
        for (size_t i = 0; i < gp->n_initializer; i++)
            onnx__tensor_proto__free_unpacked(gp->initializer[i], NULL);
        gp->n_initializer = 0;
    }
    k->mp = mp;
    *out = k;
    return OQ_OK;
}

void oq_onnx_keep_free(struct oq_onnx_keep *k) {
    if (!k)
        return;
    if (k->mp)
        onnx__model_proto__free_unpacked(k->mp, NULL);
    free(k);
}

int64_t oq_onnx_keep_ir_version(const struct oq_onnx_keep *k) {
    return k && k->mp && k->mp->has_ir_version ? k->mp->ir_version : 0;
}

const char *oq_onnx_keep_producer(const struct oq_onnx_keep *k) {
    return k && k->mp && k->mp->producer_name ? k->mp->producer_name : "";
}
