/* Activation arena planning: first-fit offsets from value lifetimes. */
#ifndef ONNXQ_EXEC_PLAN_H
#define ONNXQ_EXEC_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "graph/graph.h"

/* Assign an arena offset to every value v with kind[v] == runtime_kind that some node (with
 * node_skip[i] false) produces, using vals[v] for sizes. A value lives from its producer to its last
 * reader among non-skipped nodes; graph outputs live to the end. Fills offset[], the arena size and the
 * peak of simultaneously live bytes, and validates the result (no two overlapping lifetimes share bytes). */
oq_status oq_plan_arena(const struct oq_graph *g, const unsigned char *kind, unsigned char runtime_kind,
                        const bool *node_skip, const struct oq_tensor *vals, size_t *offset, size_t *arena_bytes,
                        size_t *peak_live, oq_error *err);

#endif
