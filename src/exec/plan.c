#include "exec/plan.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

struct block {
    size_t off, size;
    int last; /* node index of the last reader */
    int v;
};

static size_t align_up(size_t x) { return (x + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

oq_status oq_plan_arena(const struct oq_graph *g, const unsigned char *kind, unsigned char runtime_kind,
                        const bool *node_skip, const struct oq_tensor *vals, size_t *offset, size_t *arena_bytes,
                        size_t *peak_live, oq_error *err) {
    int nv = g->n_values, nn = g->n_nodes;
    int *last = malloc(sizeof(int) * (size_t)(nv + 1));
    int *first = malloc(sizeof(int) * (size_t)(nv + 1));
    struct block *live = malloc(sizeof(struct block) * (size_t)(nv + 1));
    if (!last || !first || !live) {
        free(last);
        free(first);
        free(live);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory planning the arena");
    }
    for (int v = 0; v < nv; v++) {
        last[v] = -1;
        first[v] = -1;
    }
    for (int i = 0; i < nn; i++) {
        if (node_skip[i])
            continue;
        const struct oq_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                last[n->in[k]] = i;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) {
                first[n->out[k]] = i;
                if (last[n->out[k]] < i)
                    last[n->out[k]] = i;
            }
    }
    for (int k = 0; k < g->n_outputs; k++)
        last[g->outputs[k]] = nn; /* pinned */

    int nlive = 0;
    size_t top = 0, cur = 0, peak = 0;
    for (int i = 0; i < nn; i++) {
        if (node_skip[i])
            continue;
        const struct oq_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0 || kind[v] != runtime_kind || first[v] != i)
                continue;
            size_t sz = align_up(oq_tensor_bytes(&vals[v]));
            if (sz == 0)
                sz = ALIGN;
            /* live is kept sorted by offset: take the first gap that fits */
            size_t off = 0;
            int pos = 0;
            for (; pos < nlive; pos++) {
                if (live[pos].off >= off + sz)
                    break;
                size_t end = live[pos].off + live[pos].size;
                if (end > off)
                    off = end;
            }
            memmove(&live[pos + 1], &live[pos], sizeof(struct block) * (size_t)(nlive - pos));
            live[pos] = (struct block){.off = off, .size = sz, .last = last[v], .v = v};
            nlive++;
            offset[v] = off;
            if (off + sz > top)
                top = off + sz;
            cur += sz;
            if (cur > peak)
                peak = cur;
        }
        int w = 0;
        for (int b = 0; b < nlive; b++) {
            if (live[b].last <= i)
                cur -= live[b].size;
            else
                live[w++] = live[b];
        }
        nlive = w;
    }
    /* validate: no two values with overlapping lifetimes overlap in memory (debug aid, O(V^2) on runtime
     * values only; cheap next to planning cost for model-sized graphs) */
    oq_status st = OQ_OK;
    for (int a = 0; a < nv && !st; a++) {
        if (kind[a] != runtime_kind || first[a] < 0)
            continue;
        size_t sa = align_up(oq_tensor_bytes(&vals[a]));
        for (int b = a + 1; b < nv; b++) {
            if (kind[b] != runtime_kind || first[b] < 0)
                continue;
            bool time = first[a] <= last[b] && first[b] <= last[a];
            size_t sb = align_up(oq_tensor_bytes(&vals[b]));
            bool mem = offset[a] < offset[b] + sb && offset[b] < offset[a] + sa;
            if (time && mem && sa && sb) {
                st = oq_errorf(err, OQ_ERR_MODEL, "internal error: arena plan overlaps '%s' and '%s'",
                               g->values[a].name, g->values[b].name);
                break;
            }
        }
    }
    *arena_bytes = top;
    *peak_live = peak;
    free(last);
    free(first);
    free(live);
    return st;
}
