#include "graph/passes.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static bool is_default_domain(const struct oq_node *n) { return !*n->domain || !strcmp(n->domain, "ai.onnx"); }

/* Make node `i`'s output value `dst` be produced where `src` was: used when removing a pass-through node
 * whose output is a graph output, so the graph output keeps its name. Returns false if not possible. */
static bool retarget_producer(struct oq_graph *g, int src, int dst) {
    int p = g->values[src].producer;
    if (p < 0 || g->values[src].is_output)
        return false;
    /* src must have no other readers than the node being removed */
    if (oq_graph_count_uses(g, src) != 1)
        return false;
    struct oq_node *pn = &g->nodes[p];
    for (int k = 0; k < pn->n_out; k++)
        if (pn->out[k] == src)
            pn->out[k] = dst;
    return true;
}

int oq_pass_remove_identity(struct oq_graph *g) {
    if (oq_graph_link(g, NULL) != OQ_OK)
        return 0;
    bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!dead)
        return 0;
    int removed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *n = &g->nodes[i];
        if (!is_default_domain(n) || n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
            continue;
        bool ident = strcmp(n->op_type, "Identity") == 0;
        if (strcmp(n->op_type, "Dropout") == 0) {
            bool mask_used = n->n_out > 1 && n->out[1] >= 0 && oq_graph_count_uses(g, n->out[1]) > 0;
            /* opset 12+: training_mode input; only constant false (or absent) is an identity */
            bool training = false;
            if (n->n_in > 2 && n->in[2] >= 0) {
                const struct oq_tensor *t = g->values[n->in[2]].init;
                training = !t || oq_tensor_get_i64(t, 0) != 0;
            }
            ident = !mask_used && !training && !(n->opset < 7 && oq_attr_int(n, "is_test", 1) == 0);
        }
        if (!ident)
            continue;
        int x = n->in[0], y = n->out[0];
        if (g->values[y].is_output) {
            if (!retarget_producer(g, x, y))
                continue;
            /* the producer now writes y directly; nothing reads x any more */
        } else {
            oq_graph_replace_uses(g, y, x);
        }
        for (int k = 0; k < n->n_out; k++) /* the dead node must stop claiming its outputs before the relink */
            n->out[k] = -1;
        n->in[0] = -1;
        dead[i] = true;
        removed++;
        oq_graph_link(g, NULL);
    }
    if (removed)
        oq_graph_remove_nodes(g, dead);
    free(dead);
    return removed;
}

int oq_pass_fold_batchnorm(struct oq_graph *g, oq_error *err) {
    if (oq_graph_link(g, err) != OQ_OK)
        return 0;
    bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!dead)
        return 0;
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct oq_node *bn = &g->nodes[i];
        if (!is_default_domain(bn) || strcmp(bn->op_type, "BatchNormalization") || bn->n_in != 5 || bn->n_out != 1)
            continue;
        int y = bn->in[0];
        int p = y >= 0 ? g->values[y].producer : -1;
        if (p < 0 || dead[p])
            continue;
        struct oq_node *cv = &g->nodes[p];
        if (!is_default_domain(cv) || strcmp(cv->op_type, "Conv") || cv->n_out != 1 || g->values[y].is_output ||
            oq_graph_count_uses(g, y) != 1)
            continue;
        struct oq_tensor *w = cv->n_in > 1 && cv->in[1] >= 0 ? g->values[cv->in[1]].init : NULL;
        const struct oq_tensor *prm[4];
        bool ok = w && w->dtype == OQ_DTYPE_FLOAT && w->ndim >= 3;
        for (int k = 0; k < 4 && ok; k++) {
            prm[k] = bn->in[k + 1] >= 0 ? g->values[bn->in[k + 1]].init : NULL;
            ok = prm[k] && prm[k]->dtype == OQ_DTYPE_FLOAT && oq_tensor_numel(prm[k]) == (w ? w->dims[0] : -1);
        }
        struct oq_tensor *b = cv->n_in > 2 && cv->in[2] >= 0 ? g->values[cv->in[2]].init : NULL;
        if (cv->n_in > 2 && cv->in[2] >= 0 && (!b || b->dtype != OQ_DTYPE_FLOAT))
            ok = false;
        /* the weight (and bias) may be shared with other nodes: only fold when this conv is their only user */
        if (ok && oq_graph_count_uses(g, cv->in[1]) != 1)
            ok = false;
        if (ok && b && oq_graph_count_uses(g, cv->in[2]) != 1)
            ok = false;
        if (!ok)
            continue;
        int64_t co = w->dims[0];
        int64_t per = oq_tensor_numel(w) / (co ? co : 1);
        float eps = oq_attr_float(bn, "epsilon", 1e-5f);
        const float *scale = prm[0]->data, *bias = prm[1]->data, *mean = prm[2]->data, *var = prm[3]->data;
        int bid = -1;
        if (!b) { /* conv had no bias: add one */
            char name[512];
            snprintf(name, sizeof(name), "%s_bias_bnfold", cv->name);
            bid = oq_graph_add_value(g, name);
            if (bid < 0)
                break;
            cv = &g->nodes[p]; /* values realloc does not move nodes, but keep it obvious */
            b = oq_tensor_new(OQ_DTYPE_FLOAT, 1, &co, name);
            if (!b)
                break;
            g->values[bid].init = b;
            g->values[bid].dtype = OQ_DTYPE_FLOAT;
            int *nin = realloc(cv->in, sizeof(int) * 3);
            if (!nin)
                break;
            cv->in = nin;
            if (cv->n_in < 3)
                cv->n_in = 3;
            cv->in[2] = bid;
        }
        float *wd = w->data, *bd = b->data;
        for (int64_t c = 0; c < co; c++) {
            /* y = scale*(conv - mean)/sqrt(var+eps) + bias, computed in double to round once */
            double s = (double)scale[c] / sqrt((double)var[c] + (double)eps);
            for (int64_t k = 0; k < per; k++)
                wd[c * per + k] = (float)(wd[c * per + k] * s);
            bd[c] = (float)(((double)bd[c] - mean[c]) * s + bias[c]);
        }
        /* the conv now writes the BN's output; the dead BN must stop claiming it before the relink */
        cv->out[0] = bn->out[0];
        bn->out[0] = -1;
        dead[i] = true;
        folded++;
        oq_graph_link(g, NULL);
    }
    if (folded)
        oq_graph_remove_nodes(g, dead);
    free(dead);
    return folded;
}

/* Per-channel view of a constant operand against a Conv output of rank `rank` with `co` channels on axis 1:
 * returns true with *per_channel = (numel == co) if it is a scalar or [co] at axis 1 with ones elsewhere. */
static bool channel_const(const struct oq_tensor *t, int rank, int64_t co, bool *per_channel) {
    if (!t || t->dtype != OQ_DTYPE_FLOAT || t->ndim > rank)
        return false;
    int64_t n = oq_tensor_numel(t);
    if (n == 1) {
        *per_channel = false;
        return true;
    }
    if (n != co)
        return false;
    int axis = t->ndim - rank + 1; /* channel axis (1 of the output) in the constant's own dims */
    if (axis < 0 || t->dims[axis] != co)
        return false;
    *per_channel = true;
    return true;
}

/* Ensure conv node p has a float bias initializer it alone uses; returns it or NULL. */
static struct oq_tensor *own_bias(struct oq_graph *g, int p, int64_t co) {
    struct oq_node *cv = &g->nodes[p];
    if (cv->n_in > 2 && cv->in[2] >= 0) {
        struct oq_tensor *b = g->values[cv->in[2]].init;
        if (!b || b->dtype != OQ_DTYPE_FLOAT || oq_graph_count_uses(g, cv->in[2]) != 1)
            return NULL;
        return b;
    }
    int bid = oq_graph_add_zero_bias(g, p, co, "_bias_folded");
    return bid < 0 ? NULL : g->values[bid].init;
}

int oq_pass_fold_conv_affine(struct oq_graph *g, oq_error *err) {
    int folded = 0;
    for (;;) {
        if (oq_graph_link(g, err) != OQ_OK)
            return folded;
        int hit = -1;
        for (int i = 0; i < g->n_nodes && hit < 0; i++) {
            struct oq_node *op = &g->nodes[i];
            if (!is_default_domain(op) || op->n_in != 2 || op->n_out != 1)
                continue;
            bool mul = !strcmp(op->op_type, "Mul"), div = !strcmp(op->op_type, "Div");
            bool add = !strcmp(op->op_type, "Add"), sub = !strcmp(op->op_type, "Sub");
            if (!mul && !div && !add && !sub)
                continue;
            /* which side is the conv output; Div and Sub only fold with the constant on the right */
            for (int side = 0; side < 2 && hit < 0; side++) {
                if ((div || sub) && side == 1)
                    break;
                int y = op->in[side], c = op->in[1 - side];
                int p = y >= 0 ? g->values[y].producer : -1;
                if (p < 0 || c < 0 || !g->values[c].init)
                    continue;
                struct oq_node *cv = &g->nodes[p];
                if (!is_default_domain(cv) || strcmp(cv->op_type, "Conv") || cv->n_out != 1 || cv->n_in < 2 ||
                    g->values[y].is_output || oq_graph_count_uses(g, y) != 1)
                    continue;
                struct oq_tensor *w = g->values[cv->in[1]].init;
                if (!w || w->dtype != OQ_DTYPE_FLOAT || w->ndim < 3 || oq_graph_count_uses(g, cv->in[1]) != 1)
                    continue;
                int64_t co = w->dims[0];
                bool per_channel;
                const struct oq_tensor *k = g->values[c].init;
                if (!channel_const(k, w->ndim, co, &per_channel))
                    continue;
                const float *kv = k->data;
                /* a divisor of 0 would turn the fold into inf weights; leave such nodes alone */
                bool ok = true;
                for (int64_t ch = 0; div && ch < (per_channel ? co : 1); ch++)
                    ok &= kv[ch] != 0.0f;
                if (!ok)
                    continue;
                struct oq_tensor *b = own_bias(g, p, co);
                if (!b)
                    continue;
                cv = &g->nodes[p];
                float *wd = w->data, *bd = b->data;
                int64_t per = oq_tensor_numel(w) / (co ? co : 1);
                for (int64_t ch = 0; ch < co; ch++) {
                    float v = kv[per_channel ? ch : 0];
                    if (mul || div) {
                        for (int64_t e = 0; e < per; e++)
                            wd[ch * per + e] = mul ? wd[ch * per + e] * v : wd[ch * per + e] / v;
                        bd[ch] = mul ? bd[ch] * v : bd[ch] / v;
                    } else {
                        bd[ch] = add ? bd[ch] + v : bd[ch] - v;
                    }
                }
                cv->out[0] = op->out[0];
                hit = i;
            }
        }
        if (hit < 0)
            break;
        bool *dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
        if (!dead)
            break;
        dead[hit] = true;
        oq_graph_remove_nodes(g, dead);
        free(dead);
        folded++;
    }
    return folded;
}
