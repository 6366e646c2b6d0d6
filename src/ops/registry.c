/* The operator registry: a const table of every implemented op, sorted by (domain, name, since), searched
 * with bsearch. An op is listed here only when it works; anything else is reported as unsupported at load.
 * tests/unit/test_registry.c checks the table is sorted and unique. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

extern const struct oq_op_def oq_op_abs; /* Abs */
extern const struct oq_op_def oq_op_add; /* Add */
extern const struct oq_op_def oq_op_argmax; /* ArgMax */
extern const struct oq_op_def oq_op_argmin; /* ArgMin */
extern const struct oq_op_def oq_op_averagepool; /* AveragePool */
extern const struct oq_op_def oq_op_batchnormalization; /* BatchNormalization */
extern const struct oq_op_def oq_op_cast; /* Cast */
extern const struct oq_op_def oq_op_ceil; /* Ceil */
extern const struct oq_op_def oq_op_clip; /* Clip */
extern const struct oq_op_def oq_op_concat; /* Concat */
extern const struct oq_op_def oq_op_constantofshape; /* ConstantOfShape */
extern const struct oq_op_def oq_op_conv; /* Conv */
extern const struct oq_op_def oq_op_convinteger; /* ConvInteger */
extern const struct oq_op_def oq_op_convtranspose; /* ConvTranspose */
extern const struct oq_op_def oq_op_dequantizelinear; /* DequantizeLinear */
extern const struct oq_op_def oq_op_div; /* Div */
extern const struct oq_op_def oq_op_dropout; /* Dropout */
extern const struct oq_op_def oq_op_dynamicquantizelinear; /* DynamicQuantizeLinear */
extern const struct oq_op_def oq_op_equal; /* Equal */
extern const struct oq_op_def oq_op_erf; /* Erf */
extern const struct oq_op_def oq_op_exp; /* Exp */
extern const struct oq_op_def oq_op_expand; /* Expand */
extern const struct oq_op_def oq_op_flatten; /* Flatten */
extern const struct oq_op_def oq_op_floor; /* Floor */
extern const struct oq_op_def oq_op_gather; /* Gather */
extern const struct oq_op_def oq_op_gemm; /* Gemm */
extern const struct oq_op_def oq_op_globalaveragepool; /* GlobalAveragePool */
extern const struct oq_op_def oq_op_globalmaxpool; /* GlobalMaxPool */
extern const struct oq_op_def oq_op_hardsigmoid; /* HardSigmoid */
extern const struct oq_op_def oq_op_hardswish; /* HardSwish */
extern const struct oq_op_def oq_op_identity; /* Identity */
extern const struct oq_op_def oq_op_layernormalization; /* LayerNormalization */
extern const struct oq_op_def oq_op_leakyrelu; /* LeakyRelu */
extern const struct oq_op_def oq_op_log; /* Log */
extern const struct oq_op_def oq_op_logsoftmax; /* LogSoftmax */
extern const struct oq_op_def oq_op_matmul; /* MatMul */
extern const struct oq_op_def oq_op_matmulinteger; /* MatMulInteger */
extern const struct oq_op_def oq_op_maxpool; /* MaxPool */
extern const struct oq_op_def oq_op_mul; /* Mul */
extern const struct oq_op_def oq_op_neg; /* Neg */
extern const struct oq_op_def oq_op_prelu; /* PRelu */
extern const struct oq_op_def oq_op_pad; /* Pad */
extern const struct oq_op_def oq_op_pow; /* Pow */
extern const struct oq_op_def oq_op_qlinearconv; /* QLinearConv */
extern const struct oq_op_def oq_op_qlinearmatmul; /* QLinearMatMul */
extern const struct oq_op_def oq_op_quantizelinear; /* QuantizeLinear */
extern const struct oq_op_def oq_op_range; /* Range */
extern const struct oq_op_def oq_op_reciprocal; /* Reciprocal */
extern const struct oq_op_def oq_op_reducel1; /* ReduceL1 */
extern const struct oq_op_def oq_op_reducel2; /* ReduceL2 */
extern const struct oq_op_def oq_op_reducemax; /* ReduceMax */
extern const struct oq_op_def oq_op_reducemean; /* ReduceMean */
extern const struct oq_op_def oq_op_reducemin; /* ReduceMin */
extern const struct oq_op_def oq_op_reducesum; /* ReduceSum */
extern const struct oq_op_def oq_op_reducesumsquare; /* ReduceSumSquare */
extern const struct oq_op_def oq_op_relu; /* Relu */
extern const struct oq_op_def oq_op_reshape; /* Reshape */
extern const struct oq_op_def oq_op_resize; /* Resize */
extern const struct oq_op_def oq_op_shape; /* Shape */
extern const struct oq_op_def oq_op_sigmoid; /* Sigmoid */
extern const struct oq_op_def oq_op_slice; /* Slice */
extern const struct oq_op_def oq_op_softmax; /* Softmax */
extern const struct oq_op_def oq_op_softplus; /* Softplus */
extern const struct oq_op_def oq_op_split; /* Split */
extern const struct oq_op_def oq_op_sqrt; /* Sqrt */
extern const struct oq_op_def oq_op_squeeze; /* Squeeze */
extern const struct oq_op_def oq_op_sub; /* Sub */
extern const struct oq_op_def oq_op_tanh; /* Tanh */
extern const struct oq_op_def oq_op_transpose; /* Transpose */
extern const struct oq_op_def oq_op_unsqueeze; /* Unsqueeze */
extern const struct oq_op_def oq_op_upsample; /* Upsample */
extern const struct oq_op_def oq_op_where; /* Where */
extern const struct oq_op_def oq_op_ms_qgemm; /* com.microsoft.QGemm: ONNX Runtime's quantized Gemm (QOperator format) */
extern const struct oq_op_def oq_op_ms_qlinearadd; /* com.microsoft.QLinearAdd: ORT's QOperator Add, QAdd's implementation */
extern const struct oq_op_def oq_op_ms_qlinearaveragepool; /* com.microsoft.QLinearAveragePool: ORT's QOperator AveragePool, QAveragePool's implementation */
extern const struct oq_op_def oq_op_ms_qlinearconcat; /* com.microsoft.QLinearConcat: ORT's QOperator Concat with per-input requantization tables */
extern const struct oq_op_def oq_op_ms_qlinearglobalaveragepool; /* com.microsoft.QLinearGlobalAveragePool: ORT's QOperator GlobalAveragePool, QGlobalAveragePool's implementation */
extern const struct oq_op_def oq_op_ms_qlinearmul; /* com.microsoft.QLinearMul: ORT's QOperator Mul as a 256x256 table with MLAS's numerics */
extern const struct oq_op_def oq_op_ms_qlinearsigmoid; /* com.microsoft.QLinearSigmoid: ORT's QOperator Sigmoid as a 256-entry table of MLAS's logistic */
extern const struct oq_op_def oq_op_ms_qlinearsoftmax; /* com.microsoft.QLinearSoftmax: ORT's QOperator Softmax, QSoftmax's implementation */
extern const struct oq_op_def oq_op_fusedconv; /* com.onnxq.FusedConv: Conv + activation, made by the session's fusion pass */
extern const struct oq_op_def oq_op_qadd; /* com.onnxq.QAdd: DQ + DQ -> Add -> Q on uint8 with ORT's QLinearAdd numerics, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qaveragepool; /* com.onnxq.QAveragePool: DQ -> AveragePool -> Q on uint8 with ORT's QLinearAveragePool numerics, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qconv; /* com.onnxq.QConv: DQ -> Conv -> Q as one uint8 x int8 conv, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qconvtranspose; /* com.onnxq.QConvTranspose: DQ -> ConvTranspose -> Q as one uint8 x int8 transposed conv, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qglobalaveragepool; /* com.onnxq.QGlobalAveragePool: DQ -> GlobalAveragePool -> Q on uint8 with ORT's QLinearGlobalAveragePool numerics, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qlut; /* com.onnxq.QLut: DQ -> elementwise float op(s) -> Q as a 256-entry uint8 table, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qmatmul; /* com.onnxq.QMatMul: DQ -> MatMul(const int8 B) -> Q, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qsoftmax; /* com.onnxq.QSoftmax: DQ -> Softmax -> Q on uint8 with ORT's QLinearSoftmax table numerics, made by the session's INT8 lowering */
extern const struct oq_op_def oq_op_qtable2; /* com.onnxq.QTable2: DQ x2 -> binary float op -> Q as a 256x256 uint8 table, made by the session's INT8 lowering */

static const struct oq_op_def *const registry[] = {
    &oq_op_abs,
    &oq_op_add,
    &oq_op_argmax,
    &oq_op_argmin,
    &oq_op_averagepool,
    &oq_op_batchnormalization,
    &oq_op_cast,
    &oq_op_ceil,
    &oq_op_clip,
    &oq_op_concat,
    &oq_op_constantofshape,
    &oq_op_conv,
    &oq_op_convinteger,
    &oq_op_convtranspose,
    &oq_op_dequantizelinear,
    &oq_op_div,
    &oq_op_dropout,
    &oq_op_dynamicquantizelinear,
    &oq_op_equal,
    &oq_op_erf,
    &oq_op_exp,
    &oq_op_expand,
    &oq_op_flatten,
    &oq_op_floor,
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
    &oq_op_logsoftmax,
    &oq_op_matmul,
    &oq_op_matmulinteger,
    &oq_op_maxpool,
    &oq_op_mul,
    &oq_op_neg,
    &oq_op_prelu,
    &oq_op_pad,
    &oq_op_pow,
    &oq_op_qlinearconv,
    &oq_op_qlinearmatmul,
    &oq_op_quantizelinear,
    &oq_op_range,
    &oq_op_reciprocal,
    &oq_op_reducel1,
    &oq_op_reducel2,
    &oq_op_reducemax,
    &oq_op_reducemean,
    &oq_op_reducemin,
    &oq_op_reducesum,
    &oq_op_reducesumsquare,
    &oq_op_relu,
    &oq_op_reshape,
    &oq_op_resize,
    &oq_op_shape,
    &oq_op_sigmoid,
    &oq_op_slice,
    &oq_op_softmax,
    &oq_op_softplus,
    &oq_op_split,
    &oq_op_sqrt,
    &oq_op_squeeze,
    &oq_op_sub,
    &oq_op_tanh,
    &oq_op_transpose,
    &oq_op_unsqueeze,
    &oq_op_upsample,
    &oq_op_where,
    &oq_op_ms_qgemm,
    &oq_op_ms_qlinearadd,
    &oq_op_ms_qlinearaveragepool,
    &oq_op_ms_qlinearconcat,
    &oq_op_ms_qlinearglobalaveragepool,
    &oq_op_ms_qlinearmul,
    &oq_op_ms_qlinearsigmoid,
    &oq_op_ms_qlinearsoftmax,
    &oq_op_fusedconv,
    &oq_op_qadd,
    &oq_op_qaveragepool,
    &oq_op_qconv,
    &oq_op_qconvtranspose,
    &oq_op_qglobalaveragepool,
    &oq_op_qlut,
    &oq_op_qmatmul,
    &oq_op_qsoftmax,
    &oq_op_qtable2,
};
enum { REGISTRY_COUNT = sizeof(registry) / sizeof(registry[0]) };

static int def_cmp(const char *domain, const char *name, const struct oq_op_def *d) {
    int c = strcmp(domain, d->domain);
    return c ? c : strcmp(name, d->name);
}

const struct oq_op_def *oq_op_find(const char *domain, const char *op_type, int opset) {
    if (!domain || strcmp(domain, "ai.onnx") == 0)
        domain = "";
    /* binary search for the first entry of (domain, op_type), then scan its opset ranges */
    int lo = 0, hi = REGISTRY_COUNT;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (def_cmp(domain, op_type, registry[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < REGISTRY_COUNT && def_cmp(domain, op_type, registry[i]) == 0; i++)
        if (opset >= registry[i]->since && opset <= registry[i]->until)
            return registry[i];
    return NULL;
}

const struct oq_op_def *const *oq_op_registry(int *count) {
    *count = REGISTRY_COUNT;
    return registry;
}
