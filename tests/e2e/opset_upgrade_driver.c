/* Test-only driver for tests/e2e/test_opset_upgrade.py:
 *
 *   opset_upgrade_driver IN.onnx OUT.onnx TARGET
 *
 * loads IN as written (no graph passes, unsupported ops allowed: the upgrade does not need to run it),
 * upgrades the graph to opset TARGET with oq_graph_upgrade_opset, and saves it to OUT with the model's other
 * fields kept. Prints the old and new opset and the node count; exit 1 with the error message on failure. */
#include <stdio.h>
#include <stdlib.h>

#include "exec/model.h"
#include "graph/opset_upgrade.h"
#include "onnx/onnx_io.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN.onnx OUT.onnx TARGET_OPSET\n", argv[0]);
        return 2;
    }
    int target = atoi(argv[3]);
    oq_error err = {0};
    oq_load_options opt = {.no_passes = 1, .allow_unsupported = 1};
    struct oq_model *m = NULL;
    oq_status st = oq_model_load_ex(argv[1], &opt, &m, &err);
    if (st) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    /* The model's graph, upgraded in place: struct oq_model is visible in exec/model.h and nothing else
     * holds the model. */
    struct oq_graph *g = m->g;
    int64_t from = oq_graph_opset(g, "");
    int n_before = g->n_nodes;
    st = oq_graph_upgrade_opset(g, target, &err);
    if (!st)
        st = oq_onnx_save(g, m->keep, argv[2], &err);
    if (st) {
        fprintf(stderr, "%s\n", err.msg);
        oq_model_free(m);
        return 1;
    }
    printf("%s: opset %lld -> %d, %d -> %d nodes\n", argv[1], (long long)from, target, n_before, g->n_nodes);
    oq_model_free(m);
    return 0;
}
