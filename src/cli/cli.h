/* onnxq command: one file per subcommand. */
#ifndef ONNXQ_CLI_CLI_H
#define ONNXQ_CLI_CLI_H

#include "onnxq/onnxq.h"

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_config(int argc, char **argv);

/* Parse "name=1x3x640x640" (or "1x3x640x640" for the only input); returns 0 on success. */
int cli_parse_shape(const char *arg, char *name, size_t name_cap, int *ndim, int64_t *dims);
/* Print "onnxq: <message>" to stderr and return exit code 1. */
int cli_fail(const oq_error *err);

#endif
