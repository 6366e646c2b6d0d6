/* The calibration/evaluation data options shared by quantize, compare and dump. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/status.h"

void cli_data_init(struct cli_data *d) {
    memset(d, 0, sizeof(*d));
    d->batch_size = 1;
    d->batches = -1;
}

int cli_data_arg(struct cli_data *d, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    bool ours = !strcmp(a, "--data") || !strcmp(a, "--preprocess") || !strcmp(a, "--shape") ||
                !strcmp(a, "--batch-size") || !strcmp(a, "--batches");
    if (!ours)
        return 0;
    if (*i + 1 >= argc)
        return fprintf(stderr, "onnxq %s: %s needs a value\n", cmd, a), -1;
    const char *v = argv[++*i];
    if (!strcmp(a, "--data"))
        d->data = v;
    else if (!strcmp(a, "--preprocess"))
        d->preprocess = v;
    else if (!strcmp(a, "--batch-size") && (d->batch_size = atoi(v)) < 1)
        return fprintf(stderr, "onnxq %s: --batch-size must be >= 1\n", cmd), -1;
    else if (!strcmp(a, "--batches"))
        d->batches = atoi(v);
    else if (!strcmp(a, "--shape")) {
        if (d->nshapes == 16)
            return fprintf(stderr, "onnxq %s: too many --shape\n", cmd), -1;
        if (cli_parse_shape(v, d->shape_names[d->nshapes], sizeof(d->shape_names[0]), &d->shape_ndim[d->nshapes],
                            d->shape_dims[d->nshapes]))
            return fprintf(stderr, "onnxq %s: bad --shape '%s' (expected name=1x3x48x320)\n", cmd, v), -1;
        d->nshapes++;
    }
    return 1;
}

oq_status cli_data_open(const struct cli_data *d, const oq_model *m, int default_batches,
                        struct oq_data_source **src, oq_error *err) {
    int ni = oq_model_num_inputs(m);
    if (ni > 16)
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "models with more than 16 inputs are not supported");
    struct oq_data_input in[16];
    for (int i = 0; i < ni; i++) {
        OQ_TRY(oq_data_input_from_model(m, i, &in[i]));
        for (int k = 0; k < d->nshapes; k++)
            if (!strcmp(d->shape_names[k], in[i].name) || (!d->shape_names[k][0] && ni == 1)) {
                in[i].shape_ndim = d->shape_ndim[k];
                memcpy(in[i].shape, d->shape_dims[k], sizeof(in[i].shape));
            }
    }
    struct oq_data_options dopt = oq_data_options_default();
    dopt.spec = d->data;
    dopt.preprocess = d->preprocess;
    dopt.inputs = in;
    dopt.n_inputs = ni;
    dopt.batch_size = d->batch_size;
    dopt.max_batches = d->batches >= 0 ? d->batches : (!strncmp(d->data, "random", 6) ? default_batches : 0);
    OQ_TRY(oq_data_open(&dopt, src, err));
    struct oq_data_stats ds = oq_data_stats_get(*src);
    if (ds.samples_planned < ds.samples_requested)
        fprintf(stderr, "onnxq: warning: %s: %lld samples asked for, only %lld will be used\n",
                oq_data_describe(*src), (long long)ds.samples_requested, (long long)ds.samples_planned);
    return OQ_OK;
}
