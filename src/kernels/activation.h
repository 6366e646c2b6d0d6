/* Pointwise activations shared by the elementwise ops and by fused epilogues (FusedConv, later Gemm).
 *
 * One enum names the activation, one struct carries its parameters, and one row function applies it:
 *
 *   struct oq_act act;
 *   if (!oq_act_init(&act, OQ_ACT_CLIP, (const float[]){0.f, 6.f}, 2)) ...;
 *   k->act_row(&act, bias, row, n);     // row[i] = act(row[i] + bias)
 *
 * Numerics (the reference, oq_act_apply1 / oq_act_row_ref), for x = row[i] + bias:
 *   Relu         x > 0 ? x : 0                       (NaN -> 0)
 *   Clip         min(max(x, lo), hi)                 params: lo, hi (defaults -inf, +inf)
 *   HardSigmoid  max(0, min(1, alpha*x + beta))      params: alpha, beta (defaults 0.2, 0.5)
 *   HardSwish    x * max(0, min(1, x*(1/6) + 0.5))   (ONNX: alpha = 1/6, beta = 0.5, as ONNX Runtime)
 *   Sigmoid      1 / (1 + expf(-x))
 *   LeakyRelu    x >= 0 ? x : alpha*x                params: alpha (default 0.01)
 *   Tanh         tanhf(x)
 * The AVX-512 row (x86/act_avx512.c) is exact for the piecewise-linear ones and uses a polynomial exp for
 * Sigmoid/Tanh (relative error ~1e-7, well inside the float kernels' NMSE thresholds). */
#ifndef ONNXQ_KERNELS_ACTIVATION_H
#define ONNXQ_KERNELS_ACTIVATION_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum oq_act_kind {
    OQ_ACT_NONE = 0,
    OQ_ACT_RELU,
    OQ_ACT_CLIP,
    OQ_ACT_HARDSIGMOID,
    OQ_ACT_HARDSWISH,
    OQ_ACT_SIGMOID,
    OQ_ACT_LEAKYRELU,
    OQ_ACT_TANH,
    OQ_ACT_COUNT
};

/* ONNX op names, indexed by enum oq_act_kind ("" for NONE). */
static const char *const oq_act_names[] = {
    [OQ_ACT_NONE]        = "",
    [OQ_ACT_RELU]        = "Relu",
    [OQ_ACT_CLIP]        = "Clip",
    [OQ_ACT_HARDSIGMOID] = "HardSigmoid",
    [OQ_ACT_HARDSWISH]   = "HardSwish",
    [OQ_ACT_SIGMOID]     = "Sigmoid",
    [OQ_ACT_LEAKYRELU]   = "LeakyRelu",
    [OQ_ACT_TANH]        = "Tanh",
};
_Static_assert(sizeof(oq_act_names) / sizeof(oq_act_names[0]) == OQ_ACT_COUNT, "activation name table");

struct oq_act {
    enum oq_act_kind kind;
    float a; /* Clip: lo; HardSigmoid: alpha; LeakyRelu: alpha */
    float b; /* Clip: hi; HardSigmoid: beta */
};

/* Kind from an ONNX op name; false if the name is not a supported activation. */
static inline bool oq_act_from_name(const char *name, enum oq_act_kind *kind) {
    for (int i = 1; i < OQ_ACT_COUNT; i++)
        if (strcmp(name, oq_act_names[i]) == 0) {
            *kind = (enum oq_act_kind)i;
            return true;
        }
    return false;
}

/* Number of parameters a kind takes (the ONNX attributes / Clip inputs, in order). */
static inline int oq_act_nparams(enum oq_act_kind kind) {
    switch (kind) {
    case OQ_ACT_CLIP:
    case OQ_ACT_HARDSIGMOID:
        return 2;
    case OQ_ACT_LEAKYRELU:
        return 1;
    default:
        return 0;
    }
}

/* Fill act with kind and params (n of them; missing ones take the ONNX defaults). False if n is more than
 * the kind takes. */
static inline bool oq_act_init(struct oq_act *act, enum oq_act_kind kind, const float *params, int64_t n) {
    act->kind = kind;
    act->a = 0.0f;
    act->b = 0.0f;
    switch (kind) {
    case OQ_ACT_CLIP:
        act->a = -INFINITY;
        act->b = INFINITY;
        break;
    case OQ_ACT_HARDSIGMOID:
        act->a = 0.2f;
        act->b = 0.5f;
        break;
    case OQ_ACT_LEAKYRELU:
        act->a = 0.01f;
        break;
    default:
        break;
    }
    if (n > oq_act_nparams(kind))
        return false;
    if (n > 0)
        act->a = params[0];
    if (n > 1)
        act->b = params[1];
    return true;
}

/* The reference definition of one element. */
static inline float oq_act_apply1(const struct oq_act *act, float x) {
    switch (act->kind) {
    case OQ_ACT_NONE:
        return x;
    case OQ_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case OQ_ACT_CLIP:
        return fminf(fmaxf(x, act->a), act->b);
    case OQ_ACT_HARDSIGMOID:
        return fmaxf(0.0f, fminf(1.0f, act->a * x + act->b));
    case OQ_ACT_HARDSWISH:
        return x * fmaxf(0.0f, fminf(1.0f, x * (1.0f / 6.0f) + 0.5f));
    case OQ_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case OQ_ACT_LEAKYRELU:
        return x >= 0.0f ? x : act->a * x;
    case OQ_ACT_TANH:
        return tanhf(x);
    default:
        return x;
    }
}

/* row[i] = act(row[i] + bias) for i in [0, n). */
typedef void (*oq_act_row_fn)(const struct oq_act *act, float bias, float *row, int64_t n);
void oq_act_row_ref(const struct oq_act *act, float bias, float *row, int64_t n);
void oq_act_row_avx512(const struct oq_act *act, float bias, float *row, int64_t n);

#endif
