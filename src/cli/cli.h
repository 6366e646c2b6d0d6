/* onnxq command: one file per subcommand. */
#ifndef ONNXQ_CLI_CLI_H
#define ONNXQ_CLI_CLI_H

#include <stdbool.h>

#include "data/source.h"
#include "onnxq/onnxq.h"

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_sensitivity(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Data options shared by quantize, compare and dump: --data SPEC, --preprocess JSON, --shape name=dims
 * (repeatable), --batch-size N, --batches N. */
struct cli_data {
    const char *data, *preprocess;
    int batch_size, batches; /* batches -1: all samples (random data: default_batches of cli_data_open) */
    int nshapes;
    char shape_names[16][256];
    int shape_ndim[16];
    int64_t shape_dims[16][OQ_MAX_DIMS];
};
void cli_data_init(struct cli_data *d);
/* argv[*i] a data option: consume it and its value (advancing *i), return 1; not one: 0; a bad value: message
 * printed ("onnxq CMD: ..."), -1. */
int cli_data_arg(struct cli_data *d, const char *cmd, int argc, char **argv, int *i);
/* Open the data source for m's inputs (--shape applied); warns on stderr when fewer samples than asked. */
oq_status cli_data_open(const struct cli_data *d, const oq_model *m, int default_batches,
                        struct oq_data_source **src, oq_error *err);

/* Parse "name=1x3x640x640" (or "1x3x640x640" for the only input); returns 0 on success. */
int cli_parse_shape(const char *arg, char *name, size_t name_cap, int *ndim, int64_t *dims);
/* Print "onnxq: <message>" to stderr and return exit code 1. */
int cli_fail(const oq_error *err);

/* Options of quantize, shared with sensitivity (cli/quantize.c). */
struct cli_quant_opts {
    const char *model, *out, *config, *algo, *table_in, *table_out, *target;
    const char *skip, *skip_op_types;
    int per_channel;
    int threads, bits, quiet, symmetric, per_tensor, pow2, weights_only, bias_correction, equalize;
    float percentile;
    int smoothquant;         /* --smoothquant [ALPHA] */
    int adaround, adaround_iters; /* --adaround, --adaround-iters N (0: the default) */
    int absorb_bias;         /* --absorb-bias (implies --equalize) */
    float smoothquant_alpha; /* < 0: not given */
    int keep_histograms;     /* calibrate with a histogram for every tensor (tune: every algorithm plannable) */
    struct cli_data d;
};
/* Parse quantize's options for command `cmd` (-o only with need_out). 0 ok, 1 --help was printed, 2 usage
 * error (printed). */
int cli_quant_parse(int argc, char **argv, const char *cmd, bool need_out, struct cli_quant_opts *o);
struct oq_quant_config;
struct oq_calibrator;
struct oq_quant_plan;
/* Load the model and config, apply the flags, and calibrate (or read --table): the quantization plan. The
 * caller frees what was set, also on error. */
oq_status cli_quant_plan(const struct cli_quant_opts *o, oq_model **m, struct oq_quant_config **cfg,
                         struct oq_calibrator **cal, struct oq_quant_plan **plan, oq_error *err);

#endif
