/* A small evaluation set kept in memory (a few batches of model inputs and the FP32 model's outputs on them),
 * and how far a quantization plan moves the outputs: the measure `onnxq sensitivity` and `onnxq tune` rank
 * plans by.
 *
 *   struct oq_eval_set *es;
 *   oq_eval_set_create(model, threads, &es, &err);
 *   while (next batch) oq_eval_set_add(es, n_inputs, inputs, &err);    // copies inputs, runs FP32
 *   struct oq_eval_result r;
 *   oq_eval_plan(es, plan, &r, &err);       // QDQ model from plan, run on every batch, outputs vs FP32
 *   oq_eval_set_free(es);
 *
 * Output figures are over every float output element of every batch together: SQNR (dB) =
 * 10 log10(sum a^2 / sum (a - b)^2) and cosine similarity, a = FP32, b = quantized (the float-simulated QDQ
 * run, as `onnxq compare` measures it; the INT8 runtime agrees up to requantization ties). */
#ifndef ONNXQ_ANALYSE_EVALSET_H
#define ONNXQ_ANALYSE_EVALSET_H

#include "exec/model.h"
#include "quant/plan.h"

struct oq_eval_set;

struct oq_eval_result {
    double sqnr_db, cosine;
};

oq_status oq_eval_set_create(const struct oq_model *m, int threads, struct oq_eval_set **out, oq_error *err);
void oq_eval_set_free(struct oq_eval_set *es);
/* Keep one batch (copied) and the FP32 outputs on it. */
oq_status oq_eval_set_add(struct oq_eval_set *es, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
int oq_eval_set_batches(const struct oq_eval_set *es);
/* Quantize the model with plan (QDQ, in memory) and measure its outputs against FP32 on the set. */
oq_status oq_eval_plan(const struct oq_eval_set *es, const struct oq_quant_plan *plan, struct oq_eval_result *r,
                       oq_error *err);

#endif
