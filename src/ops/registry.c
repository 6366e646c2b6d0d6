/* The operator registry: a const table of every implemented op, sorted by (domain, name, since), searched
 * with bsearch. An op is listed here only when it works; anything else is reported as unsupported at load.
 * tests/unit/test_registry.c checks the table is sorted and unique. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* During bring-up an op may be declared before its file lands: weak references resolve to NULL and are
 * skipped by lookups. test_registry asserts none is NULL, so a missing op fails the tests. */
#define OQ_OP_DECL(sym) extern const struct oq_op_def sym __attribute__((weak));
OQ_OP_DECL(oq_op_abs) /* Abs */
OQ_OP_DECL(oq_op_add) /* Add */
OQ_OP_DECL(oq_op_argmax) /* ArgMax */
OQ_OP_DECL(oq_op_averagepool) /* AveragePool */
OQ_OP_DECL(oq_op_batchnormalization) /* BatchNormalization */
OQ_OP_DECL(oq_op_cast) /* Cast */
OQ_OP_DECL(oq_op_clip) /* Clip */
OQ_OP_DECL(oq_op_concat) /* Concat */
OQ_OP_DECL(oq_op_constantofshape) /* ConstantOfShape */
OQ_OP_DECL(oq_op_conv) /* Conv */
OQ_OP_DECL(oq_op_convtranspose) /* ConvTranspose */
OQ_OP_DECL(oq_op_div) /* Div */
OQ_OP_DECL(oq_op_dropout) /* Dropout */
OQ_OP_DECL(oq_op_equal) /* Equal */
OQ_OP_DECL(oq_op_erf) /* Erf */
OQ_OP_DECL(oq_op_exp) /* Exp */
OQ_OP_DECL(oq_op_expand) /* Expand */
OQ_OP_DECL(oq_op_flatten) /* Flatten */
OQ_OP_DECL(oq_op_gather) /* Gather */
OQ_OP_DECL(oq_op_gemm) /* Gemm */
OQ_OP_DECL(oq_op_globalaveragepool) /* GlobalAveragePool */
OQ_OP_DECL(oq_op_globalmaxpool) /* GlobalMaxPool */
OQ_OP_DECL(oq_op_hardsigmoid) /* HardSigmoid */
OQ_OP_DECL(oq_op_hardswish) /* HardSwish */
OQ_OP_DECL(oq_op_identity) /* Identity */
OQ_OP_DECL(oq_op_layernormalization) /* LayerNormalization */
OQ_OP_DECL(oq_op_leakyrelu) /* LeakyRelu */
OQ_OP_DECL(oq_op_log) /* Log */
OQ_OP_DECL(oq_op_matmul) /* MatMul */
OQ_OP_DECL(oq_op_maxpool) /* MaxPool */
OQ_OP_DECL(oq_op_mul) /* Mul */
OQ_OP_DECL(oq_op_neg) /* Neg */
OQ_OP_DECL(oq_op_prelu) /* PRelu */
OQ_OP_DECL(oq_op_pad) /* Pad */
OQ_OP_DECL(oq_op_pow) /* Pow */
OQ_OP_DECL(oq_op_range) /* Range */
OQ_OP_DECL(oq_op_reducemean) /* ReduceMean */
OQ_OP_DECL(oq_op_reducesum) /* ReduceSum */
OQ_OP_DECL(oq_op_relu) /* Relu */
OQ_OP_DECL(oq_op_reshape) /* Reshape */
OQ_OP_DECL(oq_op_resize) /* Resize */
OQ_OP_DECL(oq_op_shape) /* Shape */
OQ_OP_DECL(oq_op_sigmoid) /* Sigmoid */
OQ_OP_DECL(oq_op_slice) /* Slice */
OQ_OP_DECL(oq_op_softmax) /* Softmax */
OQ_OP_DECL(oq_op_split) /* Split */
OQ_OP_DECL(oq_op_sqrt) /* Sqrt */
OQ_OP_DECL(oq_op_squeeze) /* Squeeze */
OQ_OP_DECL(oq_op_sub) /* Sub */
OQ_OP_DECL(oq_op_tanh) /* Tanh */
OQ_OP_DECL(oq_op_transpose) /* Transpose */
OQ_OP_DECL(oq_op_unsqueeze) /* Unsqueeze */
OQ_OP_DECL(oq_op_upsample) /* Upsample */
OQ_OP_DECL(oq_op_where) /* Where */
OQ_OP_DECL(oq_op_fusedconv) /* com.onnxq.FusedConv: Conv + activation, made by the session's fusion pass */

static const struct oq_op_def *const registry[] = {
    &oq_op_abs,
    &oq_op_add,
    &oq_op_argmax,
    &oq_op_averagepool,
    &oq_op_batchnormalization,
    &oq_op_cast,
    &oq_op_clip,
    &oq_op_concat,
    &oq_op_constantofshape,
    &oq_op_conv,
    &oq_op_convtranspose,
    &oq_op_div,
    &oq_op_dropout,
    &oq_op_equal,
    &oq_op_erf,
    &oq_op_exp,
    &oq_op_expand,
    &oq_op_flatten,
    &oq_op_gather,
    &oq_op_gemm,
    &oq_op_globalaveragepool,
    &oq_op_globalmaxpool,
    &oq_op_hardsigmoid,
    &oq_op_hardswish,
    &oq_op_identity,
    &oq_op_layernormalization,
    &oq_op_leakyrelu,
    &oq_op_log,
    &oq_op_matmul,
    &oq_op_maxpool,
    &oq_op_mul,
    &oq_op_neg,
    &oq_op_prelu,
    &oq_op_pad,
    &oq_op_pow,
    &oq_op_range,
    &oq_op_reducemean,
    &oq_op_reducesum,
    &oq_op_relu,
    &oq_op_reshape,
    &oq_op_resize,
    &oq_op_shape,
    &oq_op_sigmoid,
    &oq_op_slice,
    &oq_op_softmax,
    &oq_op_split,
    &oq_op_sqrt,
    &oq_op_squeeze,
    &oq_op_sub,
    &oq_op_tanh,
    &oq_op_transpose,
    &oq_op_unsqueeze,
    &oq_op_upsample,
    &oq_op_where,
    &oq_op_fusedconv,
};
enum { REGISTRY_COUNT = sizeof(registry) / sizeof(registry[0]) };

static int def_cmp(const char *domain, const char *name, const struct oq_op_def *d) {
    int c = strcmp(domain, d->domain);
    return c ? c : strcmp(name, d->name);
}

const struct oq_op_def *oq_op_find(const char *domain, const char *op_type, int opset) {
    if (!domain || strcmp(domain, "ai.onnx") == 0)
        domain = "";
    /* bsearch over a table that may contain NULL (not yet linked) entries: linear fallback is simplest
     * and the table is small; ops are resolved once per node at load. */
    for (int i = 0; i < REGISTRY_COUNT; i++) {
        const struct oq_op_def *d = registry[i];
        if (d && def_cmp(domain, op_type, d) == 0 && opset >= d->since && opset <= d->until)
            return d;
    }
    return NULL;
}

const struct oq_op_def *const *oq_op_registry(int *count) {
    *count = REGISTRY_COUNT;
    return registry;
}
