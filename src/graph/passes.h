/* Graph passes run at load time. Each preserves the model's function (up to float rounding for BN fold). */
#ifndef ONNXQ_GRAPH_PASSES_H
#define ONNXQ_GRAPH_PASSES_H

#include "graph/graph.h"

/* Remove Identity, and Dropout whose mask output is unused (inference mode). Returns count removed. */
int oq_pass_remove_identity(struct oq_graph *g);
/* Fold BatchNormalization into the preceding Conv when the Conv output feeds only the BN and all
 * parameters are initializers. Returns count folded. */
int oq_pass_fold_batchnorm(struct oq_graph *g, oq_error *err);

/* Fold Mul/Div/Add/Sub by a constant that is per-output-channel (or scalar) into the preceding Conv's weights
 * and bias, repeatedly (exporters write reparameterized blocks as Conv -> Mul(scale) -> Add(shift)).
 * Returns count folded. */
int oq_pass_fold_conv_affine(struct oq_graph *g, oq_error *err);

#endif
