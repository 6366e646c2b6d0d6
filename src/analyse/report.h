/* The comparison report (`onnxq compare --report DIR`): DIR/report.md and DIR/report.html, one self-contained page
 * (inline SVG, no scripts, no external files) with
 *   - a summary: models, samples, layers matched / quantized / under the cosine threshold;
 *   - per-layer charts of cosine similarity (with the threshold) and SQNR (with the weights-only and
 *     activations-only halves when measured);
 *   - the histograms of the FP32 values of the worst quantized layers, with the quantizer's range (the clipping
 *     thresholds calibration chose) drawn on them;
 *   - the worst layers, and every layer, as tables.
 * Writes go through a temporary file and a rename. */
#ifndef ONNXQ_ANALYSE_REPORT_H
#define ONNXQ_ANALYSE_REPORT_H

#include "analyse/compare.h"

struct oq_report_info {
    const char *fp32_path, *quant_path, *data; /* for the header */
    int64_t samples;
    double threshold;                          /* cosine threshold */
    int worst;                                 /* layers in the worst-layers table and histograms (default 6) */
};

oq_status oq_report_write(const struct oq_compare *c, const struct oq_report_info *info, const char *dir,
                          oq_error *err);

#endif
