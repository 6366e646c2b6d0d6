/* Test-only driver for tests/e2e/test_qdq_ort.py until `onnxq quantize` lands: load a model, calibrate
 * min/max ranges on the given .npy batches through the session hook, make a plan, apply the QDQ writer,
 * save. Not a product: no config, one algorithm (min/max, uint8 asymmetric or int8 symmetric activations).
 *
 * usage: qdq_writer_driver MODEL OUT [--data NAME=FILE.npy]... [--weights-only] [--bits 8|16]
 *                          [--per-tensor] [--act uint8|int8] [--keep-activations]
 *
 * Every node whose op has a QDQ rule (src/quant/qdq_rules.c) is quantized. Prints one JSON line of
 * statistics on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/scale.h"
#include "exec/model.h"
#include "onnx/onnx_io.h"
#include "quant/qdq.h"

struct mm {
    const struct oq_graph *g;
    float *lo, *hi;
    char *seen;
};

static void mm_update(struct mm *mm, const char *name, const oq_tensor_ref *t) {
    int v = name ? oq_graph_find_value(mm->g, name) : -1;
    if (v < 0 || t->dtype != OQ_DTYPE_FLOAT || !t->data)
        return;
    int64_t n = oq_shape_numel(t->ndim, t->dims);
    const float *d = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (!mm->seen[v] || d[i] < mm->lo[v])
            mm->lo[v] = d[i];
        if (!mm->seen[v] || d[i] > mm->hi[v])
            mm->hi[v] = d[i];
        mm->seen[v] = 1;
    }
}

static int hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs) {
    for (int k = 0; k < n_out; k++)
        mm_update(user, outs[k].name, &outs[k]);
    return 0;
}

static int fail(const char *what, const oq_error *err) {
    fprintf(stderr, "qdq_writer_driver: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL OUT [--data NAME=FILE.npy]... [--weights-only] [--bits 8|16] "
                        "[--per-tensor] [--act uint8|int8] [--keep-activations]\n", argv[0]);
        return 2;
    }
    const char *model = argv[1], *out = argv[2];
    int weights_only = 0, bits = 8, per_tensor = 0, keep = 0, n_data = 0;
    enum oq_dtype act = OQ_DTYPE_UINT8;
    const char *data[64];
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc && n_data < 64)
            data[n_data++] = argv[++i];
        else if (!strcmp(argv[i], "--weights-only"))
            weights_only = 1;
        else if (!strcmp(argv[i], "--bits") && i + 1 < argc)
            bits = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--per-tensor"))
            per_tensor = 1;
        else if (!strcmp(argv[i], "--keep-activations"))
            keep = 1;
        else if (!strcmp(argv[i], "--act") && i + 1 < argc)
            act = !strcmp(argv[++i], "int8") ? OQ_DTYPE_INT8 : OQ_DTYPE_UINT8;
        else {
            fprintf(stderr, "qdq_writer_driver: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    oq_error err = {0};
    oq_model *m = NULL;
    if (oq_model_load(model, &m, &err))
        return fail("load", &err);
    struct oq_graph *g = m->g;
    struct mm mm = {g, calloc((size_t)g->n_values, sizeof(float)), calloc((size_t)g->n_values, sizeof(float)),
                    calloc((size_t)g->n_values, 1)};
    if (!weights_only) {
        if (n_data == 0) {
            fprintf(stderr, "qdq_writer_driver: static quantization needs --data\n");
            return 2;
        }
        oq_session_options so = oq_session_options_default();
        so.no_fusion = 1;
        so.hook = hook;
        so.hook_user = &mm;
        oq_session *s = NULL;
        if (oq_session_create(m, &so, &s, &err))
            return fail("session", &err);
        for (int b = 0; b < n_data; b++) {
            char name[256];
            const char *eq = strchr(data[b], '=');
            if (!eq || (size_t)(eq - data[b]) >= sizeof(name)) {
                fprintf(stderr, "qdq_writer_driver: --data wants NAME=FILE.npy\n");
                return 2;
            }
            memcpy(name, data[b], (size_t)(eq - data[b]));
            name[eq - data[b]] = 0;
            oq_tensor_ref t;
            if (oq_npy_read(eq + 1, &t, &err))
                return fail("read data", &err);
            t.name = name;
            mm_update(&mm, name, &t);
            if (oq_session_run(s, 1, &t, &err))
                return fail("calibration run", &err);
            free(t.data);
        }
        oq_session_free(s);
    }
    struct oq_quant_plan *p = oq_quant_plan_new(g->n_values, g->n_nodes);
    p->mode = weights_only ? OQ_QUANT_WEIGHT_ONLY : OQ_QUANT_STATIC;
    struct oq_calib_config cfg = oq_calib_config_default();
    cfg.qtype = act;
    cfg.symmetric = act == OQ_DTYPE_INT8;
    int n_act = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (!mm.seen[v])
            continue;
        struct oq_calib_result r;
        if (oq_calib_qparams_from_range(g->values[v].name, mm.lo[v], mm.hi[v], &cfg, &r, &err))
            return fail("qparams", &err);
        p->act[v] = oq_qparam_new_tensor(act, r.scale, r.zero_point);
        p->act[v]->clip_lo = r.clip_lo;
        p->act[v]->clip_hi = r.clip_hi;
        p->act[v]->algo = "min_max";
        n_act++;
    }
    for (int i = 0; i < g->n_nodes; i++)
        p->node[i] = (struct oq_node_quant){.quantize = oq_qdq_rule_find(g->nodes[i].op_type) != NULL,
                                            .weight_dtype = bits == 16 ? OQ_DTYPE_INT16 : OQ_DTYPE_INT8,
                                            .per_channel = !per_tensor};
    struct oq_qdq_stats st;
    struct oq_qdq_options opt = oq_qdq_options_default();
    opt.stats = &st;
    opt.keep_removable_activations = keep;
    if (oq_qdq_apply(g, p, &opt, &err))
        return fail("qdq", &err);
    if (oq_onnx_save(g, m->keep, out, &err))
        return fail("save", &err);
    printf("{\"opset_before\": %d, \"opset_after\": %d, \"n_quantize\": %d, \"n_dequantize\": %d, "
           "\"n_act_tensors\": %d, \"n_shared_tensors\": %d, \"n_weights\": %d, \"n_weights_per_channel\": %d, "
           "\"n_biases\": %d, \"n_weight_scales_raised\": %d, \"n_removed_activations\": %d, "
           "\"init_bytes_before\": %lld, \"init_bytes_after\": %lld, \"calibrated_tensors\": %d}\n",
           st.opset_before, st.opset_after, st.n_quantize, st.n_dequantize, st.n_act_tensors, st.n_shared_tensors,
           st.n_weights, st.n_weights_per_channel, st.n_biases, st.n_weight_scales_raised,
           st.n_removed_activations, (long long)st.init_bytes_before, (long long)st.init_bytes_after, n_act);
    oq_quant_plan_free(p);
    free(mm.lo);
    free(mm.hi);
    free(mm.seen);
    oq_model_free(m);
    return 0;
}
