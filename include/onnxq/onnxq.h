/**
 * @file onnxq.h
 * @brief onnxq: load, run and quantize ONNX models in C.
 *
 * Overview
 * --------
 * An ::oq_model is a loaded, validated ONNX graph (immutable once loaded). An ::oq_session runs a model:
 * it owns the execution plan, the activation arena, the thread pool and per-op state. Several sessions may
 * share one model. Every fallible call returns an ::oq_status and, when given a non-NULL ::oq_error, fills
 * it with a message that names the model, node or tensor involved and says what to do.
 *
 * Example
 * -------
 * @code
 *   oq_error err = {0};
 *   oq_model *m = NULL;
 *   if (oq_model_load("det.onnx", &m, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   oq_session_options opt = oq_session_options_default();
 *   opt.num_threads = 2;
 *   oq_session *s = NULL;
 *   if (oq_session_create(m, &opt, &s, &err)) { ... }
 *   float *img = ...;                                   // [1, 3, 640, 640], NCHW
 *   oq_tensor_ref in = { .name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 4,
 *                        .dims = {1, 3, 640, 640}, .data = img };
 *   if (oq_session_run(s, 1, &in, &err)) { ... }
 *   oq_tensor_ref out;
 *   oq_session_output(s, 0, &out);                      // borrowed until the next run
 *   oq_session_free(s);
 *   oq_model_free(m);
 * @endcode
 *
 * Tensors are dense, row-major (C order); dims are element counts, outermost first.
 */
#ifndef ONNXQ_ONNXQ_H
#define ONNXQ_ONNXQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OQ_MAX_DIMS 8

/** Status codes. 0 is success; every error also comes with a message in ::oq_error. */
typedef enum oq_status {
    OQ_OK = 0,
    OQ_ERR_ARG,         /**< bad argument from the caller */
    OQ_ERR_UNSUPPORTED, /**< valid ONNX that onnxq does not implement (op, opset, dtype, attribute) */
    OQ_ERR_MODEL,       /**< malformed or inconsistent model */
    OQ_ERR_SHAPE,       /**< a shape or dtype does not fit */
    OQ_ERR_NOMEM,       /**< allocation failed */
    OQ_ERR_IO,          /**< a file could not be read or written */
    OQ_ERR_NUMERIC,     /**< NaN/Inf or an out-of-range value in data */
    OQ_ERR_CANCELLED,   /**< a hook asked to stop */
    OQ_STATUS_COUNT
} oq_status;

/** Error value: the status code and a human-readable message. Zero-initialize before use. */
typedef struct oq_error {
    oq_status code;
    char msg[1024];
} oq_error;

/** Element types; values equal ONNX TensorProto.DataType. */
typedef enum oq_dtype {
    OQ_DTYPE_UNDEFINED = 0,
    OQ_DTYPE_FLOAT     = 1,
    OQ_DTYPE_UINT8     = 2,
    OQ_DTYPE_INT8      = 3,
    OQ_DTYPE_UINT16    = 4,
    OQ_DTYPE_INT16     = 5,
    OQ_DTYPE_INT32     = 6,
    OQ_DTYPE_INT64     = 7,
    OQ_DTYPE_STRING    = 8,
    OQ_DTYPE_BOOL      = 9,
    OQ_DTYPE_FLOAT16   = 10,
    OQ_DTYPE_DOUBLE    = 11,
    OQ_DTYPE_UINT32    = 12,
    OQ_DTYPE_UINT64    = 13,
    OQ_DTYPE_BFLOAT16  = 16,
    OQ_DTYPE_COUNT     = 17
} oq_dtype;

/** A view of a dense tensor; onnxq never frees `data` of a ref the caller passed in. */
typedef struct oq_tensor_ref {
    const char *name;
    oq_dtype dtype;
    int32_t ndim;
    int64_t dims[OQ_MAX_DIMS];
    void *data;
} oq_tensor_ref;

typedef struct oq_model oq_model;
typedef struct oq_session oq_session;

/** Name of a status code ("OQ_ERR_SHAPE"). */
const char *oq_status_str(oq_status st);
/** ONNX name of a dtype ("float", "int64"), "?" if unknown. */
const char *oq_dtype_name(oq_dtype dt);
/** Size in bytes of one element (0 for strings and unknown types). */
size_t oq_dtype_size(oq_dtype dt);

/* ------------------------------------------------------------------ model */

/**
 * Load an ONNX model, including external-data tensors (resolved relative to the model's folder).
 * Constant nodes become initializers; Identity/Dropout are removed; BatchNormalization following a
 * Conv is folded into it; nodes with all-constant inputs are folded. Every node's op must be supported:
 * otherwise the call fails listing each unsupported (domain, op_type, opset) with its node names.
 * @param path  model file
 * @param out   receives the model; caller frees with oq_model_free()
 */
oq_status oq_model_load(const char *path, oq_model **out, oq_error *err);

/** As oq_model_load() but from a serialized ModelProto in memory; external data resolve against base_dir. */
oq_status oq_model_load_buffer(const void *buf, size_t len, const char *base_dir, oq_model **out,
                               oq_error *err);

/** Options for loading. Zero-initialized means: all graph passes on, unsupported ops are an error. */
typedef struct oq_load_options {
    int no_passes;        /**< keep the graph as written (no folding, no BN fold, no Identity removal) */
    int allow_unsupported;/**< load even with unsupported ops (for `onnxq info`); sessions then refuse it */
} oq_load_options;

oq_status oq_model_load_ex(const char *path, const oq_load_options *opt, oq_model **out, oq_error *err);

/** Save the model as ONNX. Written to a temporary file beside `path` and renamed: never a partial file. */
oq_status oq_model_save(const oq_model *m, const char *path, oq_error *err);

void oq_model_free(oq_model *m);

int oq_model_num_inputs(const oq_model *m);
int oq_model_num_outputs(const oq_model *m);
/**
 * Declared input/output: name, dtype and shape; unknown or symbolic dims are -1.
 * The name pointer is borrowed from the model.
 */
oq_status oq_model_input(const oq_model *m, int i, oq_tensor_ref *out);
oq_status oq_model_output(const oq_model *m, int i, oq_tensor_ref *out);
/** The symbolic name of dim d of input i ("batch"), or NULL. */
const char *oq_model_input_dim_param(const oq_model *m, int i, int d);

/** Number of nodes in the (post-pass) graph and the number of unsupported ones. */
int oq_model_num_nodes(const oq_model *m);
int oq_model_num_unsupported(const oq_model *m);
/** Node i's name, op type and domain (borrowed). */
oq_status oq_model_node(const oq_model *m, int i, const char **name, const char **op_type,
                        const char **domain);
/** Opset of the default ONNX domain. */
int oq_model_opset(const oq_model *m);
/** Number of initializers and their total elements and bytes. */
void oq_model_param_stats(const oq_model *m, int64_t *count, int64_t *elements, int64_t *bytes);

/* ---------------------------------------------------------------- session */

/**
 * Called after each node with its output tensors. Return nonzero to stop the run with OQ_ERR_CANCELLED.
 * The tensors are borrowed for the duration of the call only.
 */
typedef int (*oq_node_hook)(void *user, int node_index, const char *node_name, const char *op_type,
                            int n_out, const oq_tensor_ref *outputs);

typedef enum oq_kernel_level {
    OQ_KERNELS_AUTO = 0, /**< best the CPU supports; ONNXQ_KERNELS=ref|avx2|avx512 overrides */
    OQ_KERNELS_REF,      /**< portable C reference kernels only (the oracle) */
    OQ_KERNELS_AVX2,
    OQ_KERNELS_AVX512,
} oq_kernel_level;

typedef struct oq_session_options {
    int num_threads;         /**< 0: number of online CPUs */
    oq_kernel_level kernels; /**< see ::oq_kernel_level */
    int check_nan;           /**< reject NaN/Inf in float inputs (default on) */
    int no_fusion;           /**< run the graph node by node as written: no execution-only fusions, so hooks
                                  see every tensor of the model (calibration and comparison set this) */
    int profile;             /**< time every node (see oq_session_node_profile) */
    int no_int8_lowering;    /**< keep QDQ graphs float-simulated: no DequantizeLinear -> Conv/MatMul ->
                                  QuantizeLinear lowering to integer ops (exec/lower_qdq.h; ignored with
                                  no_fusion, which also disables it) */
    oq_node_hook hook;       /**< optional per-node observer */
    void *hook_user;
} oq_session_options;

oq_session_options oq_session_options_default(void);

oq_status oq_session_create(const oq_model *m, const oq_session_options *opt, oq_session **out,
                            oq_error *err);
void oq_session_free(oq_session *s);

/**
 * Run the model. Inputs are matched by name (or by position when name is NULL); every graph input must be
 * given, with the declared dtype and rank and with dims matching every fixed declared dim. The plan is
 * rebuilt when input shapes change. Outputs stay valid until the next run or oq_session_free().
 */
oq_status oq_session_run(oq_session *s, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
/** Validate input shapes and build the plan without running (inputs' data may be NULL). Gives the
 *  output shapes, memory figures and MACs for those shapes. */
oq_status oq_session_plan(oq_session *s, int n_inputs, const oq_tensor_ref *inputs, oq_error *err);
int oq_session_num_outputs(const oq_session *s);
oq_status oq_session_output(const oq_session *s, int i, oq_tensor_ref *out);

/** Memory figures of the current plan: bytes of the activation arena and the peak of live bytes. */
void oq_session_memory(const oq_session *s, size_t *arena_bytes, size_t *peak_live_bytes);

/** With options.profile: node i of the session's (possibly fused) graph, its op type, how many runs it
 *  took part in and its total time in nanoseconds. Nodes evaluated at plan time report 0 runs. */
int oq_session_num_nodes(const oq_session *s);
oq_status oq_session_node_profile(const oq_session *s, int i, const char **name, const char **op_type,
                                  int64_t *runs, int64_t *total_ns);

/** Multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul at the current plan's shapes. */
int64_t oq_session_macs(const oq_session *s);

/* -------------------------------------------------------------- utilities */

/** Read a .npy file (C order; float32/64, int8/16/32/64, uint8/16, bool). Caller frees out->data with free(). */
oq_status oq_npy_read(const char *path, oq_tensor_ref *out, oq_error *err);
/** Write a tensor as .npy (temp file + rename). */
oq_status oq_npy_write(const char *path, const oq_tensor_ref *t, oq_error *err);

/** Read a serialized ONNX TensorProto (.pb, as in the ONNX backend tests). Caller frees out->data
 *  and out->name with free(). */
oq_status oq_tensor_pb_read(const char *path, oq_tensor_ref *out, oq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ONNXQ_ONNXQ_H */
