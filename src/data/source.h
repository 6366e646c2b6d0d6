/**
 * @file source.h
 * @brief Calibration data: an iterator over batches of model inputs, read from disk one batch at a time.
 *
 * Overview
 * --------
 * oq_data_open() looks at `spec` once (lists the folder, parses the preprocessing JSON, checks shapes) and
 * fails early with a message that says where it looked and what it expected. oq_data_next() then yields one
 * batch per call: one tensor per model input, stacked along dim 0, in buffers owned by the source and reused
 * for every batch (memory is one batch, never the dataset). Sample order is the folder's file names sorted
 * byte-wise (C locale), so runs are reproducible.
 *
 * `spec` is one of:
 *   - `random` or `random:seed=S,n=N,lo=A,hi=B,int_hi=K`: N samples (default batch_size x max(max_batches,1))
 *     drawn from each input's shape (a symbolic dim must be fixed with --shape, else an error names the input
 *     and dim). Floats are U[lo, hi) (default [-1, 1)); integers U{0..K-1} (default K = 10; bool 0/1).
 *     Sample k is the same whatever the batch size (its generator is seeded from (seed, k, input)).
 *   - a folder of images (.jpg/.jpeg/.png/.bmp, any case): needs `preprocess` (below). Other files and
 *     sub-folders are skipped and counted. Every input must have a preprocessing entry.
 *   - a folder of .npz files, one sample per file, keys = input names (numpy.savez(f, x=..., y=...)); a key
 *     that is not an input, or a missing input, is an error.
 *   - a folder with one sub-folder per input, named after it (`calib/x/`, `calib/y/`), each holding one
 *     .npy (or .bin) file per sample; the k-th file (sorted) of every sub-folder forms sample k, and the
 *     sub-folders must hold equally many. For a model with ONE input, the files may sit in the folder itself.
 *   - a single image, .npz, .npy or .bin file: a one-sample dataset.
 * .bin files are raw little-endian data of the input's dtype (float32 for float inputs) in the sample shape,
 * which must then be fully known.
 *
 * Shapes. An input's shape is its declared shape with `shape` (from --shape) applied; dim 0 is the batch
 * dim and is set from batch_size when the declared dim 0 is symbolic or equals batch_size (the first value
 * of --shape is replaced by the batch size). A sample has the remaining dims; a file may hold [C,H,W] or
 * [1,C,H,W] for an input [?,C,H,W]. Symbolic dims take the file's value, and every sample of one batch must
 * agree. An input whose fixed dim 0 differs from batch_size is an error, except that with batch_size 1 such
 * an input's sample is the whole tensor (a model without a batch dim). With a fixed batch dim, leftover
 * samples that cannot fill a last batch are dropped and counted (stats.samples_dropped).
 *
 * Types. Float inputs accept float32/float64/float16 files (converted); integer inputs accept integer and
 * bool files (range-checked). NaN or Inf in loaded data is an error naming the file and element.
 *
 * Preprocessing spec (JSON text or a .json file), keyed by input name:
 * @code
 *   {"x": {"resize": "keep_ratio_pad", "size": [48, 320], "pad_value": 0,
 *          "scale": 0.00392156862745098, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
 *          "channel_order": "BGR", "layout": "NCHW"}}
 * @endcode
 *   resize        "stretch" (default) to HxW; "keep_ratio_pad": fit inside HxW keeping the ratio (the limiting
 *                 side fills, the other is ceil'd), placed top-left, the rest is pad_value;
 *                 "fixed_height_pad": PaddleOCR rec (height H, width ceil(H*w/h) capped at W, pad right);
 *                 "short_side_crop": short side to short_side (PaddleClas rounding), then center crop HxW
 *   size          [H, W] (default: the input's fixed H and W), or "multiple_of_32": PaddleOCR det, the longer
 *                 side limited to max_side (default 960), each side rounded to the nearest multiple of 32
 *                 (>= 32); every image then has its own size, so batch_size must be 1
 *   max_side      see size;  short_side: see resize (default max(H, W), at least that)
 *   channels      1 (gray, stb's luma) or 3 (default: the input's C dim, else 3)
 *   scale, mean, std   out = (pixel * scale - mean[c]) / std[c], pixel in 0..255 after resize; defaults
 *                 1/255, 0, 1; mean/std a number or one per output channel (i.e. after channel_order)
 *   pad_value     written as is into padded elements (keep_ratio_pad / fixed_height_pad only)
 *   channel_order "RGB" (default) or "BGR" (OpenCV order, as PaddleOCR's training saw images)
 *   layout        "NCHW" (default) or "NHWC"
 * Unknown keys, keys that do nothing with the chosen mode and wrong types are errors naming the key.
 * Resampling is cv2.resize INTER_LINEAR (see data/preprocess.h for the exact convention).
 *
 * Example
 * -------
 * @code
 *   struct oq_data_input in[8];
 *   int n = oq_model_num_inputs(m);
 *   for (int i = 0; i < n; i++) oq_data_input_from_model(m, i, &in[i]);   // then apply --shape to in[i]
 *   struct oq_data_options o = oq_data_options_default();
 *   o.spec = "calib/"; o.preprocess = "{\"x\": {\"size\": [48, 320]}}";
 *   o.inputs = in; o.n_inputs = n; o.batch_size = 8; o.max_batches = 16;
 *   struct oq_data_source *src = NULL;
 *   oq_error err = {0};
 *   if (oq_data_open(&o, &src, &err)) { fprintf(stderr, "onnxq: %s\n", err.msg); return 1; }
 *   struct oq_data_stats s = oq_data_stats_get(src);
 *   if (s.samples_planned < s.samples_requested)
 *       fprintf(stderr, "warning: %s: only %lld samples\n", oq_data_describe(src), (long long)s.samples_planned);
 *   const oq_tensor_ref *batch; int count;
 *   while (!(st = oq_data_next(src, &batch, &count, &err)) && count > 0)
 *       oq_session_run(sess, n, batch, &err);                             // batch[i] is input i
 *   oq_data_close(src);
 * @endcode
 */
#ifndef ONNXQ_DATA_SOURCE_H
#define ONNXQ_DATA_SOURCE_H

#include <stdint.h>

#include "onnxq/onnxq.h"

/** One model input as the data source sees it. */
struct oq_data_input {
    const char *name;                    /**< borrowed; must outlive oq_data_open only (it is copied) */
    oq_dtype dtype;
    int32_t ndim;
    int64_t dims[OQ_MAX_DIMS];           /**< declared dims, -1 where symbolic or unknown */
    const char *dim_params[OQ_MAX_DIMS]; /**< symbolic names for messages ("height"), may be NULL */
    int32_t shape_ndim;                  /**< rank of the user's --shape for this input, 0 if none */
    int64_t shape[OQ_MAX_DIMS];          /**< --shape dims (the first is replaced by the batch size) */
};

struct oq_data_options {
    const char *spec;       /**< "random[:k=v,...]", a folder or a file (see the overview) */
    const char *preprocess; /**< image preprocessing: JSON text or a .json path; NULL if none */
    const struct oq_data_input *inputs;
    int n_inputs;
    int batch_size;  /**< samples per batch, >= 1 */
    int max_batches; /**< cap on batches, 0 = every sample */
};

/** Counts, for progress bars and the "fewer samples than asked" warning. */
struct oq_data_stats {
    int64_t samples_found;     /**< samples the source holds (random: n) */
    int64_t samples_requested; /**< batch_size x max_batches, or samples_found when max_batches is 0 */
    int64_t samples_planned;   /**< samples that will be yielded */
    int64_t batches_planned;
    int64_t samples_dropped;   /**< left over because a fixed batch dim cannot take a partial batch */
    int64_t files_skipped;     /**< folder entries that were not of the source's kind */
    int64_t samples_read;      /**< so far */
    int64_t batches_read;      /**< so far */
};

struct oq_data_source;

struct oq_data_options oq_data_options_default(void);

/** Fill an input description from a model's declared input i (no --shape). Borrowed names. */
oq_status oq_data_input_from_model(const oq_model *m, int i, struct oq_data_input *out);

/**
 * Open a data source. Zero samples is an error (OQ_ERR_ARG) saying where it looked and what it expected;
 * so are preprocessing spec errors, shapes that cannot fit and a symbolic dim that random data or a
 * .bin file cannot resolve. On success the caller frees *out with oq_data_close().
 */
oq_status oq_data_open(const struct oq_data_options *opt, struct oq_data_source **out, oq_error *err);

/**
 * Next batch: *batch points to n_inputs tensors (input order of the options; names borrowed from the
 * source; data valid until the next call or oq_data_close) and *count is the number of samples in it.
 * At the end: OQ_OK with *count == 0 and *batch == NULL. An unreadable file, a shape that does not fit
 * or NaN/Inf in the data is an error naming the file; the source can still be closed.
 */
oq_status oq_data_next(struct oq_data_source *src, const oq_tensor_ref **batch, int *count, oq_error *err);

/** Start again from the first sample (for multi-pass calibration); the same batches come out. */
void oq_data_rewind(struct oq_data_source *src);

struct oq_data_stats oq_data_stats_get(const struct oq_data_source *src);

/** "image folder 'calib/' (120 images; 3 other entries skipped)" — for logs and warnings. */
const char *oq_data_describe(const struct oq_data_source *src);

void oq_data_close(struct oq_data_source *src);

#endif
