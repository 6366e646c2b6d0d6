/* Cross-layer equalization (issue 8; Nagel et al., "Data-Free Quantization", 2019), applied to the FP32 graph
 * before calibration.
 *
 * For Conv1 -> (Relu | none) -> Conv2, where Conv1's output channel c is Conv2's input channel c, scaling
 * Conv1's filter c and bias by 1/s_c and Conv2's input channel c by s_c leaves the function unchanged (Relu is
 * positively homogeneous), and s_c = sqrt(r1_c / r2_c) makes the two ranges equal (r1_c = max |W1[c]|,
 * r2_c = max |W2[:, c]|): per-tensor or per-channel weight quantization then loses less on the channels whose
 * range was small. Depthwise and grouped convs are included (the channel map follows the groups). Sweeps
 * repeat over all pairs until no scale moves by more than 1e-3 (or 20 sweeps), as chains share layers.
 *
 * Not through Clip (Relu6), HardSwish or any op that is not homogeneous: equalizing through them would change
 * the FP32 function (the paper replaces Relu6 by Relu; onnxq does not). High-bias absorption is not done. */
#ifndef ONNXQ_QUANT_EQUALIZE_H
#define ONNXQ_QUANT_EQUALIZE_H

#include "graph/graph.h"
#include "onnxq/onnxq.h"

struct oq_equalize_stats {
    int pairs;             /* Conv -> Conv pairs equalized */
    int sweeps;
    double max_ratio_before, max_ratio_after; /* worst max/min per-channel range of the first conv of a pair */
};

/* g's Conv weights and biases are rescaled in place (they must be float initializers used by that node only;
 * other pairs are skipped). */
oq_status oq_equalize(struct oq_graph *g, struct oq_equalize_stats *st, oq_error *err);

#endif
