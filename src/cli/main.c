#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: onnxq <command> [options]\n\n"
               "commands:\n"
               "  quantize MODEL -o OUT --data SPEC       calibrate and write an INT8 QDQ model (see --help)\n"
               "  config MODEL [-o config.json]           the default quantization config, every layer listed\n"
               "  info MODEL [--shape name=1x3x640x640]   inputs, outputs, ops, parameters, MACs\n"
               "  run MODEL --input name=file.npy ... --output-dir DIR [--threads N] [--kernels ref]\n"
               "  bench MODEL [--compare OTHER] [--shape name=1x3x640x640] [--threads N]  latency, RSS, ratio\n"
               "  compare FP32_MODEL QUANT_MODEL --data SPEC  per-layer cosine, SQNR, max error, clipping\n"
               "  sensitivity MODEL --data SPEC           rank layers by how much quantizing them costs\n"
               "  tune MODEL --data SPEC -o OUT [--max-loss PCT] [--eval CMD]   search a config meeting a target\n"
               "  dump MODEL --data SPEC --output-dir DIR [--tensors A,B | --all]   intermediate tensors as .npy\n"
               "\n"
               "Run 'onnxq <command> --help' for a command's options.\n");
}

int cli_fail(const oq_error *err) {
    fprintf(stderr, "onnxq: error: %s\n", err->msg[0] ? err->msg : oq_status_str(err->code));
    return 1;
}

int cli_parse_shape(const char *arg, char *name, size_t name_cap, int *ndim, int64_t *dims) {
    const char *eq = strchr(arg, '=');
    const char *s = arg;
    name[0] = 0;
    if (eq) {
        size_t l = (size_t)(eq - arg);
        if (l + 1 > name_cap)
            return -1;
        memcpy(name, arg, l);
        name[l] = 0;
        s = eq + 1;
    }
    *ndim = 0;
    while (*s) {
        char *e;
        long long v = strtoll(s, &e, 10);
        if (e == s || v < 0 || *ndim >= OQ_MAX_DIMS)
            return -1;
        dims[(*ndim)++] = v;
        s = e;
        if (*s == 'x' || *s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return *ndim > 0 || eq ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("onnxq 0.1.0\n");
        return 0;
    }
    if (!strcmp(argv[1], "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(argv[1], "quantize"))
        return cmd_quantize(argc - 1, argv + 1);
    if (!strcmp(argv[1], "config"))
        return cmd_config(argc - 1, argv + 1);
    if (!strcmp(argv[1], "compare"))
        return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sensitivity"))
        return cmd_sensitivity(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tune"))
        return cmd_tune(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dump"))
        return cmd_dump(argc - 1, argv + 1);
    fprintf(stderr, "onnxq: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
