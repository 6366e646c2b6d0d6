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
 * the FP32 function (the paper replaces Relu6 by Relu; onnxq does not).
 *
 * High-bias absorption (the paper's section 4.2; oq_equalize_absorb_bias, after oq_equalize) moves a constant
 * a_c out of Conv1's output channel c and into Conv2's bias, so that the tensor between them, which is
 * quantized, spans a smaller range: b1_c -= a_c and b2_m += a_c * sum of W2[m, c, taps] over Conv2's taps (for
 * the output channels m of c's group). Exact when Relu(x - a_c) + a_c = Relu(x), i.e. x >= a_c >= 0, and when
 * every tap of Conv2 reads a real value (a zero-padded border reads 0 where it should read -a_c). The paper
 * takes a_c = max(0, b_c - 3 sigma_c) from the folded BatchNorm, which onnxq does not have; here a_c is the
 * measured minimum of Conv1's pre-activation output channel c over the calibration data, max(0, min x_c):
 * then the rewrite is exact on every value the data produced (the FP32 outputs on it are unchanged to float
 * rounding), and on other inputs it only differs where x_c falls below that minimum (the output reads a_c
 * there instead of max(x_c, 0)). A Gaussian model (b_c - 3 sigma_c, sigma_c from the data or from ||W1[c]||)
 * absorbs more but changes the function on about 0.1% of the values of every absorbed channel, with no bound
 * on how much. The same rule is used with no activation between the convs (where any a_c would be exact):
 * it shrinks the range of a channel that never reaches 0, the only case where a shift lowers a quantization
 * range that must hold 0.
 * Left alone (counted): pairs whose Conv2 pads (pads not all 0, or auto_pad SAME with a kernel larger than
 * 1x1) and pairs whose Conv2 bias is not a float vector only it reads. A conv without a bias that needs one
 * gets "<node>_bias_absorbed". */
#ifndef ONNXQ_QUANT_EQUALIZE_H
#define ONNXQ_QUANT_EQUALIZE_H

#include "data/source.h"
#include "exec/model.h"
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

struct oq_absorb_bias_stats {
    int pairs;              /* Conv -> (Relu | none) -> Conv pairs looked at (oq_equalize's) */
    int absorbed_pairs;     /* ... with at least one channel absorbed */
    int channels;           /* Conv1 output channels with a_c > 0 */
    int created_biases;     /* convs given a bias ("<node>_bias_absorbed") */
    int skip_padding;       /* Conv2 pads its input: absorbing would not be exact at the border */
    int skip_shared_bias;   /* Conv2's bias is not a float vector only it reads */
    int skip_not_seen;      /* Conv1's output never produced on the data with its channel count */
    int64_t batches;        /* batches measured */
    double max_bias_before; /* largest |b1| over the absorbed Conv1s before any absorption (0: no bias) */
    double max_bias_after;  /* ... and after all of them */
    double range_before;    /* per-tensor range max(hi, 0) - min(lo, 0) of Conv1's output on the data, for the */
    double range_after;     /* absorbed Conv1 whose range fell the most (relative), before and after */
    char layer[256];        /* that Conv1 */
};

/* High-bias absorption on m's graph (see the overview), in place: the caller owns m and holds no session on
 * it. src is rewound and read to the end once by the FP32 model (threads as oq_session_options.num_threads);
 * zero batches is an error. Every error except OQ_ERR_NOMEM is found before anything changes. */
oq_status oq_equalize_absorb_bias(oq_model *m, struct oq_data_source *src, int threads,
                                  struct oq_absorb_bias_stats *st, oq_error *err);

#endif
