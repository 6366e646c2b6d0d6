/* onnxq info MODEL [--shape name=1x3x640x640]... [--ops] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct op_count {
    const char *op;
    int n;
};

static int by_count(const void *a, const void *b) {
    const struct op_count *x = a, *y = b;
    return x->n != y->n ? y->n - x->n : strcmp(x->op, y->op);
}

static void print_ref(const char *kind, const oq_model *m, int i, const oq_tensor_ref *r) {
    printf("  %s %-24s %-8s [", kind, r->name, oq_dtype_name(r->dtype));
    for (int d = 0; d < r->ndim; d++) {
        const char *p = kind[0] == 'i' ? oq_model_input_dim_param(m, i, d) : NULL;
        if (r->dims[d] >= 0)
            printf("%s%lld", d ? ", " : "", (long long)r->dims[d]);
        else
            printf("%s%s", d ? ", " : "", p ? p : "?");
    }
    printf("%s\n", r->ndim < 0 ? "unknown rank]" : "]");
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    oq_tensor_ref shapes[16];
    int nshapes = 0;
    char names[16][256];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            if (nshapes == 16)
                return fprintf(stderr, "onnxq info: too many --shape\n"), 2;
            oq_tensor_ref *r = &shapes[nshapes];
            memset(r, 0, sizeof(*r));
            if (cli_parse_shape(argv[++i], names[nshapes], sizeof(names[0]), &r->ndim, r->dims))
                return fprintf(stderr, "onnxq info: bad --shape '%s' (expected name=1x3x640x640)\n", argv[i]), 2;
            r->name = names[nshapes][0] ? names[nshapes] : NULL;
            nshapes++;
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: onnxq info MODEL [--shape name=1x3x640x640]...\n"
                   "Prints inputs and outputs, an op histogram, parameter count and bytes, unsupported ops and,\n"
                   "when every input shape is known (declared or given with --shape), the MACs and memory plan.\n");
            return 0;
        } else if (argv[i][0] == '-') {
            return fprintf(stderr, "onnxq info: unknown option '%s'\n", argv[i]), 2;
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return fprintf(stderr, "usage: onnxq info MODEL [--shape name=1x3x640x640]...\n"), 2;
    oq_error err = {0};
    oq_model *raw = NULL, *m = NULL;
    oq_load_options lo = {.no_passes = 1, .allow_unsupported = 1};
    if (oq_model_load_ex(path, &lo, &raw, &err))
        return cli_fail(&err);
    printf("model: %s (opset %d)\n", path, oq_model_opset(raw));
    printf("inputs:\n");
    for (int i = 0; i < oq_model_num_inputs(raw); i++) {
        oq_tensor_ref r;
        oq_model_input(raw, i, &r);
        print_ref("in ", raw, i, &r);
    }
    printf("outputs:\n");
    for (int i = 0; i < oq_model_num_outputs(raw); i++) {
        oq_tensor_ref r;
        oq_model_output(raw, i, &r);
        print_ref("out", raw, i, &r);
    }
    int nn = oq_model_num_nodes(raw);
    struct op_count *hist = calloc((size_t)nn + 1, sizeof(*hist));
    int nh = 0;
    for (int i = 0; hist && i < nn; i++) {
        const char *op;
        oq_model_node(raw, i, NULL, &op, NULL);
        int k = 0;
        while (k < nh && strcmp(hist[k].op, op))
            k++;
        if (k == nh)
            hist[nh++].op = op;
        hist[k].n++;
    }
    if (hist)
        qsort(hist, (size_t)nh, sizeof(*hist), by_count);
    printf("nodes: %d (Constant nodes counted as initializers)\nops:", nn);
    for (int k = 0; k < nh; k++)
        printf("%s %s x%d", k ? "," : "", hist[k].op, hist[k].n);
    printf("\n");
    free(hist);
    int64_t pc, pe, pb;
    oq_model_param_stats(raw, &pc, &pe, &pb);
    printf("parameters: %lld tensors, %lld elements, %.2f MiB\n", (long long)pc, (long long)pe,
           (double)pb / (1 << 20));
    int rc = 0;
    if (oq_model_num_unsupported(raw)) {
        oq_model *tmp = NULL;
        oq_error e2 = {0};
        oq_model_load(path, &tmp, &e2);
        printf("unsupported: %s\n", e2.msg);
        oq_model_free(tmp);
        rc = 1;
    } else {
        printf("unsupported: none\n");
    }
    oq_model_free(raw);
    if (rc)
        return rc;
    if (oq_model_load(path, &m, &err))
        return cli_fail(&err);
    printf("after passes: %d nodes\n", oq_model_num_nodes(m));
    /* plan at the given shapes: declared fixed dims fill in what --shape leaves out */
    int ni = oq_model_num_inputs(m);
    oq_tensor_ref ins[16];
    int ready = ni <= 16;
    for (int i = 0; i < ni && ready; i++) {
        oq_model_input(m, i, &ins[i]);
        for (int k = 0; k < nshapes; k++)
            if ((shapes[k].name && !strcmp(shapes[k].name, ins[i].name)) || (!shapes[k].name && ni == 1)) {
                ins[i].ndim = shapes[k].ndim;
                memcpy(ins[i].dims, shapes[k].dims, sizeof(ins[i].dims));
            }
        for (int d = 0; d < ins[i].ndim; d++)
            ready &= ins[i].dims[d] >= 0;
        ready &= ins[i].ndim >= 0;
    }
    if (!ready) {
        printf("MACs: give every input's shape with --shape to compute them\n");
        oq_model_free(m);
        return 0;
    }
    oq_session *s = NULL;
    oq_session_options so = oq_session_options_default();
    so.num_threads = 1;
    if (oq_session_create(m, &so, &s, &err) || oq_session_plan(s, ni, ins, &err)) {
        oq_session_free(s);
        oq_model_free(m);
        return cli_fail(&err);
    }
    size_t arena, peak;
    oq_session_memory(s, &arena, &peak);
    printf("at this shape: %.3f GMACs, activation arena %.2f MiB (peak live %.2f MiB)\n",
           (double)oq_session_macs(s) / 1e9, (double)arena / (1 << 20), (double)peak / (1 << 20));
    for (int i = 0; i < oq_session_num_outputs(s); i++) {
        oq_tensor_ref r;
        oq_session_output(s, i, &r);
        printf("  out %-24s [", r.name);
        for (int d = 0; d < r.ndim; d++)
            printf("%s%lld", d ? ", " : "", (long long)r.dims[d]);
        printf("]\n");
    }
    oq_session_free(s);
    oq_model_free(m);
    return 0;
}
