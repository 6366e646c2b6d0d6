/* onnxq run MODEL --input name=file.npy ... --output-dir DIR [--threads N] [--kernels ref|avx2|avx512] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static void safe_name(const char *in, char *out, size_t cap) {
    size_t k = 0;
    for (; *in && k + 1 < cap; in++)
        out[k++] = (*in == '/' || *in == '\\' || *in == ':') ? '_' : *in;
    out[k] = 0;
}

int cmd_run(int argc, char **argv) {
    const char *path = NULL, *outdir = NULL;
    oq_tensor_ref ins[16];
    char names[16][256];
    int nin = 0, rc = 1;
    oq_session_options so = oq_session_options_default();
    memset(ins, 0, sizeof(ins));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            const char *a = argv[++i], *eq = strchr(a, '=');
            if (nin == 16)
                return fprintf(stderr, "onnxq run: too many --input\n"), 2;
            if (!eq || (size_t)(eq - a) >= sizeof(names[0]))
                return fprintf(stderr, "onnxq run: --input takes name=file.npy, got '%s'\n", a), 2;
            memcpy(names[nin], a, (size_t)(eq - a));
            names[nin][eq - a] = 0;
            oq_error err = {0};
            if (oq_npy_read(eq + 1, &ins[nin], &err)) {
                cli_fail(&err);
                goto done;
            }
            ins[nin].name = names[nin];
            nin++;
        } else if (!strcmp(argv[i], "--output-dir") && i + 1 < argc) {
            outdir = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            so.num_threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--kernels") && i + 1 < argc) {
            const char *k = argv[++i];
            so.kernels = !strcmp(k, "ref") ? OQ_KERNELS_REF : !strcmp(k, "avx2") ? OQ_KERNELS_AVX2
                         : !strcmp(k, "avx512") ? OQ_KERNELS_AVX512 : OQ_KERNELS_AUTO;
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: onnxq run MODEL --input name=file.npy ... --output-dir DIR [--threads N] "
                   "[--kernels ref|avx2|avx512]\nWrites one .npy per model output into DIR.\n");
            rc = 0;
            goto done;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "onnxq run: unknown option '%s'\n", argv[i]);
            rc = 2;
            goto done;
        } else {
            path = argv[i];
        }
    }
    if (!path || !outdir) {
        fprintf(stderr, "usage: onnxq run MODEL --input name=file.npy ... --output-dir DIR\n");
        rc = 2;
        goto done;
    }
    oq_error err = {0};
    oq_model *m = NULL;
    oq_session *s = NULL;
    if (oq_model_load(path, &m, &err) || oq_session_create(m, &so, &s, &err) ||
        oq_session_run(s, nin, ins, &err)) {
        cli_fail(&err);
        oq_session_free(s);
        oq_model_free(m);
        goto done;
    }
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "onnxq run: cannot create '%s': %s\n", outdir, strerror(errno));
        oq_session_free(s);
        oq_model_free(m);
        goto done;
    }
    rc = 0;
    for (int i = 0; i < oq_session_num_outputs(s); i++) {
        oq_tensor_ref r;
        oq_session_output(s, i, &r);
        char fname[512], file[4096];
        safe_name(r.name, fname, sizeof(fname));
        snprintf(file, sizeof(file), "%s/%s.npy", outdir, fname);
        if (oq_npy_write(file, &r, &err)) {
            rc = cli_fail(&err);
            break;
        }
        printf("%s -> %s\n", r.name, file);
    }
    oq_session_free(s);
    oq_model_free(m);
done:
    for (int i = 0; i < nin; i++)
        free(ins[i].data);
    return rc;
}
