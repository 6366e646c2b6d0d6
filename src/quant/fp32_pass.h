/* One pass of the FP32 model over a data source with a visitor: what bias correction, AdaRound, SmoothQuant and
 * high-bias absorption read from the calibration data (per-channel sums, Gram matrices, ranges), each in its own
 * visitor, all with the same session, rewind and error handling. */
#ifndef ONNXQ_QUANT_FP32_PASS_H
#define ONNXQ_QUANT_FP32_PASS_H

#include "data/source.h"
#include "exec/model.h"

struct oq_fp32_pass {
    /* every node's outputs as they are computed (oq_session_options.hook; no fusions, so every tensor is seen);
     * nonzero stops the pass */
    int (*hook)(void *user, int node_index, const char *node_name, const char *op_type, int n_out,
                const oq_tensor_ref *outs);
    /* every graph input of every batch, before the run; NULL: not needed; nonzero stops the pass */
    int (*input)(void *user, const oq_tensor_ref *in);
    void *user;
    const oq_error *user_err; /* where hook and input put their message before they stop the pass (may be NULL) */
    int threads;              /* as oq_session_options.num_threads */
};

/* Rewind src and run m on each of its batches; *batches gets the count (0 is not an error here: callers say
 * what zero batches means for them). A visitor that stops the pass makes it return the visitor's message. */
oq_status oq_fp32_pass_run(const oq_model *m, struct oq_data_source *src, const struct oq_fp32_pass *p,
                           int64_t *batches, oq_error *err);

#endif
