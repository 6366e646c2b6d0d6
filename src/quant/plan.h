/* The quantization plan: what calibration decided, in the form the QDQ writer consumes.
 *
 * Calibration (src/quant/calibrate.c) fills one `struct oq_qparam` per float activation value it observed
 * (graph inputs and node outputs), computed by the chosen scale algorithm. The config (src/quant/config.c)
 * decides per node whether it is quantized and with which weight settings. The QDQ writer
 * (src/quant/qdq.c) then applies ONNX Runtime's QDQ conventions: which inputs of which op types get
 * Q/DQ pairs, weights as int8/int16 initializers with DequantizeLinear (per axis where configured), bias
 * as int32 with scale = input scale x weight scale, and shared parameters for ops that must keep their
 * input's scale (MaxPool, Resize, Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Concat inputs...).
 *
 * Ownership: the plan owns every array; oq_quant_plan_free releases it. Value and node indices refer to the
 * graph the plan was made for (the model's graph after load-time passes). */
#ifndef ONNXQ_QUANT_PLAN_H
#define ONNXQ_QUANT_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"

/* Quantization parameters of one tensor: per tensor (axis = -1, n = 1) or per channel along `axis`. */
struct oq_qparam {
    enum oq_dtype dtype;  /* OQ_DTYPE_UINT8, INT8, UINT16 or INT16 */
    int axis;             /* -1: per tensor */
    int64_t n;            /* number of scales: 1 or the size of `axis` */
    float *scale;         /* n values, each > 0, finite, not denormal */
    int32_t *zero_point;  /* n values within dtype's range */
    float clip_lo, clip_hi; /* the float range the scale was chosen for (for reports) */
    const char *algo;     /* name of the algorithm that chose it (static string) */
};

enum oq_quant_mode {
    OQ_QUANT_STATIC = 0, /* QDQ on activations and weights (calibrated) */
    OQ_QUANT_WEIGHT_ONLY /* weights as int8/int16 + DequantizeLinear; activations stay float */
};

/* Per node decision. */
struct oq_node_quant {
    bool quantize;        /* false: the node stays float (skipped by config or not a quantizable op) */
    enum oq_dtype weight_dtype; /* INT8 or INT16 (symmetric) */
    bool per_channel;     /* weights per output channel (Conv, ConvTranspose, Gemm, MatMul) */
};

struct oq_quant_plan {
    enum oq_quant_mode mode;
    int n_values, n_nodes;
    struct oq_qparam **act;      /* [n_values]: activation parameters, NULL = unknown / not quantized */
    struct oq_node_quant *node;  /* [n_nodes] */
};

struct oq_quant_plan *oq_quant_plan_new(int n_values, int n_nodes);
void oq_quant_plan_free(struct oq_quant_plan *p);
/* A per-tensor qparam (scale, zero point) of the given dtype; NULL on OOM. */
struct oq_qparam *oq_qparam_new_tensor(enum oq_dtype dt, float scale, int32_t zero_point);
/* A qparam with n scales along axis (arrays zeroed); NULL on OOM. */
struct oq_qparam *oq_qparam_new_axis(enum oq_dtype dt, int axis, int64_t n);
struct oq_qparam *oq_qparam_clone(const struct oq_qparam *q);
void oq_qparam_free(struct oq_qparam *q);

#endif
