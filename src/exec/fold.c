#include "exec/fold.h"

#include <stdlib.h>
#include <string.h>

#include "exec/model.h"
#include "kernels/dispatch.h"

oq_status oq_node_eval(const struct oq_node *n, struct oq_tensor *const *in, struct oq_tensor **out,
                       const struct oq_kernels *kernels, oq_error *err) {
    struct oq_tensor meta[16];
    struct oq_tensor *outp[16];
    if (n->n_out > 16)
        return oq_node_error(n, err, OQ_ERR_UNSUPPORTED, "has %d outputs; at most 16 supported", n->n_out);
    for (int k = 0; k < n->n_out; k++) {
        memset(&meta[k], 0, sizeof(meta[k]));
        outp[k] = n->out[k] >= 0 ? &meta[k] : NULL;
        out[k] = NULL;
    }
    struct oq_op_ctx ctx = {.node = n, .n_in = n->n_in, .n_out = n->n_out, .in = in, .out = outp,
                            .kernels = kernels, .err = err};
    oq_status st = n->def->infer(&ctx);
    if (st)
        return st;
    for (int k = 0; k < n->n_out; k++) {
        if (!outp[k])
            continue;
        out[k] = oq_tensor_new(meta[k].dtype, meta[k].ndim, meta[k].dims, NULL);
        if (!out[k]) {
            st = oq_node_error(n, err, OQ_ERR_NOMEM, "out of memory for output %d", k);
            goto fail;
        }
        outp[k] = out[k];
    }
    if (n->def->prepare && (st = n->def->prepare(&ctx)))
        goto fail;
    void *scratch = NULL;
    if (ctx.scratch_bytes) {
        scratch = oq_alloc_aligned(ctx.scratch_bytes);
        if (!scratch) {
            st = oq_node_error(n, err, OQ_ERR_NOMEM, "out of memory for %zu bytes of scratch", ctx.scratch_bytes);
            goto fail;
        }
        ctx.scratch = scratch;
    }
    st = n->def->run(&ctx);
    oq_free_aligned(scratch);
    if (n->def->destroy)
        n->def->destroy(ctx.priv);
    if (st)
        goto fail;
    return OQ_OK;
fail:
    for (int k = 0; k < n->n_out; k++) {
        oq_tensor_free(out[k]);
        out[k] = NULL;
    }
    return st;
}

/* Folding stops short of materializing huge constants (e.g. Expand to an activation-sized tensor). */
enum { FOLD_MAX_BYTES = 64 << 20 };

oq_status oq_fold_constants(struct oq_graph *g, int *n_folded, oq_error *err) {
    *n_folded = 0;
    struct oq_kernels kern;
    oq_kernels_init(&kern, OQ_KERNELS_REF);
    bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!dead)
        return oq_errorf(err, OQ_ERR_NOMEM, "%s: out of memory", g->source);
    oq_status st = OQ_OK;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct oq_node *n = &g->nodes[i];
        if (!n->def || n->n_in == 0 || n->n_in > 16 || n->n_out > 16)
            continue;
        /* A DequantizeLinear of a constant is a quantized weight: folding it would store the weight as float
         * again (a re-saved QDQ model would grow 4x) and hide it from the INT8 lowering. Sessions still
         * evaluate it once per plan. */
        if (!*n->domain && !strcmp(n->op_type, "DequantizeLinear"))
            continue;
        struct oq_tensor *in[16];
        bool all_const = true;
        for (int k = 0; k < n->n_in; k++) {
            in[k] = n->in[k] >= 0 ? g->values[n->in[k]].init : NULL;
            if (n->in[k] >= 0 && !in[k])
                all_const = false;
        }
        bool outputs_are_graph_outputs = false;
        for (int k = 0; k < n->n_out; k++)
            outputs_are_graph_outputs |= n->out[k] >= 0 && g->values[n->out[k]].is_output;
        if (!all_const || outputs_are_graph_outputs)
            continue;
        struct oq_tensor *out[16];
        oq_error e2 = {0};
        if (oq_node_eval(n, in, out, &kern, &e2) != OQ_OK)
            continue; /* leave it to run time, where the error will surface with shapes */
        size_t bytes = 0;
        for (int k = 0; k < n->n_out; k++)
            bytes += out[k] ? oq_tensor_bytes(out[k]) : 0;
        if (bytes > FOLD_MAX_BYTES) {
            for (int k = 0; k < n->n_out; k++)
                oq_tensor_free(out[k]);
            continue;
        }
        for (int k = 0; k < n->n_out; k++) {
            if (n->out[k] < 0)
                continue;
            struct oq_value *v = &g->values[n->out[k]];
            v->init = out[k];
            v->dtype = out[k]->dtype;
            v->ndim = out[k]->ndim;
            memcpy(v->dims, out[k]->dims, sizeof(v->dims));
            out[k]->name = strdup(v->name);
        }
        dead[i] = true;
        (*n_folded)++;
    }
    if (*n_folded)
        oq_graph_remove_nodes(g, dead);
    free(dead);
    return st;
}
