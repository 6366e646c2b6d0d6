/* onnxq dump MODEL --data SPEC --output-dir DIR [--tensors A,B,... | --all]: run the model (without execution
 * fusions, so every named tensor exists) and write intermediate tensors as .npy, one file per tensor and batch:
 * DIR/<tensor>.<batch>.npy ('/', '\' and ':' in names become '_'). Default: the model's outputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

struct dump {
    const char *dir, *list; /* list: comma-separated names, NULL with all */
    int all;
    int64_t batch;
    int written;
    oq_error err;
};

static bool listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static int write_one(struct dump *d, const oq_tensor_ref *t) {
    char safe[512], path[4096];
    size_t k = 0;
    for (const char *s = t->name; *s && k + 1 < sizeof(safe); s++)
        safe[k++] = (*s == '/' || *s == '\\' || *s == ':') ? '_' : *s;
    safe[k] = 0;
    snprintf(path, sizeof(path), "%s/%s.%lld.npy", d->dir, safe, (long long)d->batch);
    if (oq_npy_write(path, t, &d->err))
        return 1;
    d->written++;
    return 0;
}

static int hook(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs) {
    struct dump *d = user;
    (void)node_index, (void)node_name, (void)op_type;
    for (int k = 0; k < n_out; k++)
        if (outs[k].data && outs[k].name && (d->all || listed(d->list, outs[k].name)) && write_one(d, &outs[k]))
            return 1;
    return 0;
}

int cmd_dump(int argc, char **argv) {
    const char *path = NULL;
    struct dump d = {0};
    int threads = 0;
    struct cli_data dd;
    cli_data_init(&dd);
    for (int i = 1; i < argc; i++) {
        int dr = cli_data_arg(&dd, "dump", argc, argv, &i);
        if (dr < 0)
            return 2;
        if (dr > 0)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: onnxq dump MODEL --data SPEC --output-dir DIR [--tensors A,B,... | --all] [--threads N]\n"
                   "  [--preprocess JSON] [--shape name=dims] [--batch-size N] [--batches N]\n"
                   "Writes DIR/<tensor>.<batch>.npy for the listed tensors (default: the model's outputs) of every\n"
                   "batch (random data: 1 batch by default). Run it on the FP32 and the quantized model to compare\n"
                   "them yourself; `onnxq compare` does it for every layer.\n");
            return 0;
        }
        if (!strcmp(a, "--all")) {
            d.all = 1;
        } else if ((!strcmp(a, "--output-dir") || !strcmp(a, "--tensors") || !strcmp(a, "--threads")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--output-dir"))
                d.dir = v;
            else if (!strcmp(a, "--tensors"))
                d.list = v;
            else
                threads = atoi(v);
        } else if (a[0] == '-') {
            return fprintf(stderr, "onnxq dump: unknown option '%s' (or missing value)\n", a), 2;
        } else if (!path) {
            path = a;
        } else {
            return fprintf(stderr, "onnxq dump: unexpected argument '%s'\n", a), 2;
        }
    }
    if (!path || !dd.data || !d.dir)
        return fprintf(stderr, "usage: onnxq dump MODEL --data SPEC --output-dir DIR [--tensors A,B | --all]\n"), 2;
    if (mkdir(d.dir, 0777) && errno != EEXIST)
        return fprintf(stderr, "onnxq dump: cannot create '%s': %s\n", d.dir, strerror(errno)), 1;
    oq_error err = {0};
    oq_model *m = NULL;
    oq_session *s = NULL;
    struct oq_data_source *src = NULL;
    int rc = 1;
    oq_session_options so = oq_session_options_default();
    so.num_threads = threads;
    so.no_fusion = 1;
    so.hook = hook;
    so.hook_user = &d;
    if (oq_model_load(path, &m, &err) || oq_session_create(m, &so, &s, &err) || cli_data_open(&dd, m, 1, &src, &err)) {
        cli_fail(&err);
        goto done;
    }
    /* the model's outputs by default: list them */
    char outs[4096] = "";
    if (!d.all && !d.list) {
        for (int i = 0; i < oq_model_num_outputs(m); i++) {
            oq_tensor_ref r;
            if (!oq_model_output(m, i, &r) && strlen(outs) + strlen(r.name) + 2 < sizeof(outs)) {
                strcat(outs, i ? "," : "");
                strcat(outs, r.name);
            }
        }
        d.list = outs;
    }
    for (;;) {
        const oq_tensor_ref *batch;
        int count;
        if (oq_data_next(src, &batch, &count, &err)) {
            cli_fail(&err);
            goto done;
        }
        if (count == 0)
            break;
        oq_status st = oq_session_run(s, oq_model_num_inputs(m), batch, &err);
        if (st == OQ_ERR_CANCELLED && d.err.code) {
            cli_fail(&d.err);
            goto done;
        }
        if (st) {
            cli_fail(&err);
            goto done;
        }
        d.batch++;
    }
    if (d.written == 0) {
        fprintf(stderr, "onnxq dump: nothing written: %s\n",
                d.batch == 0 ? "the data gave no samples" : "no tensor of the model has the names given to --tensors");
        goto done;
    }
    printf("wrote %d .npy files for %lld batches into %s\n", d.written, (long long)d.batch, d.dir);
    rc = 0;
done:
    oq_data_close(src);
    oq_session_free(s);
    oq_model_free(m);
    return rc;
}
