/* Calibration data sources: folder scanning, shape rules, batching into reused buffers, and the loaders
 * (images, .npz, .npy/.bin, random). The contract is in data/source.h. */
#include "data/source.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/status.h"
#include "core/tensor.h"
#include "data/image.h"
#include "data/npy.h"
#include "data/preprocess.h"
#include "onnx/onnx_io.h"

enum src_kind { KIND_RANDOM, KIND_IMAGES, KIND_NPZ, KIND_TENSORS };

struct in_state {
    char *name;
    oq_dtype dtype;
    int32_t ndim;
    bool lead;                       /* dim 0 is the batch dim */
    int32_t s_ndim;                  /* expected sample shape (-1 = take the file's value) */
    int64_t s_dims[OQ_MAX_DIMS];
    struct oq_preprocess pp;         /* images only */
    int64_t cur[OQ_MAX_DIMS];        /* sample shape of the batch being filled */
    char cur_src[512];               /* which file set it, for messages */
    void *buf;                       /* the batch buffer, reused; grows to the largest batch */
    size_t cap;
};

struct oq_data_source {
    enum src_kind kind;
    int n_in;
    struct in_state *in;
    oq_tensor_ref *refs;
    int batch_size;
    char **files;          /* n_files paths; per sample `per_sample` of them (1, or one per input) */
    int64_t n_files;
    int per_sample;
    int64_t cursor;        /* samples yielded */
    struct oq_data_stats stats;
    uint64_t seed;         /* random */
    double lo, hi;
    int64_t int_hi;
    char desc[1024];
};

struct oq_data_options oq_data_options_default(void) {
    struct oq_data_options o = {.batch_size = 1};
    return o;
}

oq_status oq_data_input_from_model(const oq_model *m, int i, struct oq_data_input *out) {
    memset(out, 0, sizeof(*out));
    oq_tensor_ref r;
    OQ_TRY(oq_model_input(m, i, &r));
    out->name = r.name;
    out->dtype = r.dtype;
    out->ndim = r.ndim;
    memcpy(out->dims, r.dims, sizeof(out->dims));
    for (int d = 0; d < r.ndim && d < OQ_MAX_DIMS; d++)
        out->dim_params[d] = oq_model_input_dim_param(m, i, d);
    return OQ_OK;
}

void oq_data_close(struct oq_data_source *s) {
    if (!s)
        return;
    for (int i = 0; s->in && i < s->n_in; i++) {
        free(s->in[i].name);
        free(s->in[i].buf);
    }
    free(s->in);
    free(s->refs);
    for (int64_t k = 0; k < s->n_files; k++)
        free(s->files[k]);
    free(s->files);
    free(s);
}

void oq_data_rewind(struct oq_data_source *s) {
    s->cursor = 0;
    s->stats.samples_read = 0;
    s->stats.batches_read = 0;
}

struct oq_data_stats oq_data_stats_get(const struct oq_data_source *s) { return s->stats; }
const char *oq_data_describe(const struct oq_data_source *s) { return s->desc; }

/* ------------------------------------------------------------------ helpers */

static const char *ext_of(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? dot : "";
}

static char *path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entry names of a folder (without "." and ".."). */
static oq_status list_dir(const char *dir, char ***names, int64_t *n, oq_error *err) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return oq_errorf(err, OQ_ERR_IO, "cannot read folder '%s': %s", dir, strerror(errno));
    char **v = NULL;
    int64_t cnt = 0, cap = 0;
    struct dirent *e;
    oq_status st = OQ_OK;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, (size_t)cap * sizeof(*v));
            if (!nv) {
                st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory listing '%s'", dir);
                break;
            }
            v = nv;
        }
        if (!(v[cnt] = strdup(e->d_name))) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory listing '%s'", dir);
            break;
        }
        cnt++;
    }
    closedir(d);
    if (st) {
        for (int64_t i = 0; i < cnt; i++)
            free(v[i]);
        free(v);
        return st;
    }
    if (cnt)
        qsort(v, (size_t)cnt, sizeof(*v), cmp_str);
    *names = v;
    *n = cnt;
    return OQ_OK;
}

static void free_names(char **v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static oq_status push_file(struct oq_data_source *s, int64_t *cap, char *path, oq_error *err) {
    if (!path)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    if (s->n_files == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        char **nv = realloc(s->files, (size_t)*cap * sizeof(*nv));
        if (!nv) {
            free(path);
            return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        }
        s->files = nv;
    }
    s->files[s->n_files++] = path;
    return OQ_OK;
}

static const char *input_list(const struct oq_data_source *s, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < s->n_in && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", s->in[i].name);
    return buf;
}

static bool dtype_floatish(oq_dtype t) { return oq_dtype_is_float(t); }
static bool dtype_intish(oq_dtype t) { return oq_dtype_is_int(t) || t == OQ_DTYPE_BOOL; }

/* ------------------------------------------------------------ shape rules */

static oq_status setup_input(struct oq_data_source *s, int idx, const struct oq_data_input *di, int bs,
                             bool *fixed_batch, oq_error *err) {
    struct in_state *in = &s->in[idx];
    char a[160], b[160];
    if (!di->name)
        return oq_errorf(err, OQ_ERR_ARG, "data: input %d has no name", idx);
    if (!(in->name = strdup(di->name)))
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    in->dtype = di->dtype;
    in->ndim = di->ndim;
    if (di->ndim < 0 || di->ndim > OQ_MAX_DIMS)
        return oq_errorf(err, OQ_ERR_ARG, "input '%s': rank %d is out of range", di->name, (int)di->ndim);
    if (!dtype_floatish(di->dtype) && !dtype_intish(di->dtype))
        return oq_errorf(err, OQ_ERR_UNSUPPORTED, "input '%s' has dtype %s; calibration data can be numeric only",
                         di->name, oq_dtype_name(di->dtype));
    int64_t eff[OQ_MAX_DIMS];
    memcpy(eff, di->dims, sizeof(eff));
    if (di->shape_ndim) {
        if (di->shape_ndim != di->ndim)
            return oq_errorf(err, OQ_ERR_SHAPE, "--shape for input '%s' is %s (rank %d), but the model declares %s "
                             "(rank %d)",
                             di->name, oq_shape_str(di->shape_ndim, di->shape, a, sizeof(a)), (int)di->shape_ndim,
                             oq_shape_str(di->ndim, di->dims, b, sizeof(b)), (int)di->ndim);
        for (int d = 1; d < di->ndim; d++) {
            if (di->shape[d] <= 0 || (di->dims[d] >= 0 && di->shape[d] != di->dims[d]))
                return oq_errorf(err, OQ_ERR_SHAPE,
                                 "--shape for input '%s' is %s, but the model declares %s: dim %d must be %s",
                                 di->name, oq_shape_str(di->shape_ndim, di->shape, a, sizeof(a)),
                                 oq_shape_str(di->ndim, di->dims, b, sizeof(b)), d,
                                 di->dims[d] >= 0 ? "as declared" : "positive");
            eff[d] = di->shape[d];
        }
    }
    if (di->ndim == 0) {
        if (bs != 1)
            return oq_errorf(err, OQ_ERR_SHAPE, "input '%s' is a scalar; it has no batch dim for --batch-size %d",
                             di->name, bs);
        in->lead = false;
    } else if (di->dims[0] < 0 || di->dims[0] == bs) {
        in->lead = true;
        if (di->dims[0] >= 0 && bs > 1)
            *fixed_batch = true;
    } else if (bs == 1) {
        in->lead = false; /* no batch dim: one sample is the whole tensor */
    } else {
        return oq_errorf(err, OQ_ERR_SHAPE,
                         "input '%s' has a fixed batch dim of %lld (%s); --batch-size %d does not fit (use "
                         "--batch-size %lld, or a model with a symbolic batch dim)",
                         di->name, (long long)di->dims[0], oq_shape_str(di->ndim, di->dims, a, sizeof(a)), bs,
                         (long long)di->dims[0]);
    }
    int off = in->lead ? 1 : 0;
    in->s_ndim = di->ndim - off;
    /* batch sizes are computed from these dims: keep them far from int64 overflow (the session refuses
     * shapes beyond 2^56 elements too) */
    int64_t numel = bs;
    for (int d = 0; d < in->s_ndim; d++) {
        in->s_dims[d] = eff[d + off];
        if (in->s_dims[d] <= 0)
            continue;
        if (in->s_dims[d] > ((int64_t)1 << 56) / numel)
            return oq_errorf(err, OQ_ERR_SHAPE, "input '%s' would take batches of %d samples of shape %s: more than "
                             "2^56 elements; check --shape",
                             di->name, bs, oq_shape_str(in->s_ndim, eff + off, a, sizeof(a)));
        numel *= in->s_dims[d];
    }
    return OQ_OK;
}

/* A random or .bin sample needs every dim. The message spells out the --shape to pass, with the batch size
 * and fixed dims filled in and the symbolic ones named ("x=1x3x<height>x<width>"). */
static oq_status need_full_shape(const struct oq_data_source *s, const struct oq_data_options *o, int idx,
                                 const char *why, oq_error *err) {
    const struct in_state *in = &s->in[idx];
    const struct oq_data_input *di = &o->inputs[idx];
    int off = in->lead ? 1 : 0;
    for (int d = 0; d < in->s_ndim; d++)
        if (in->s_dims[d] < 0) {
            char a[160], ex[400];
            size_t k = 0;
            for (int q = 0; q < di->ndim && k < sizeof(ex); q++) {
                const char *sep = q ? "x" : "";
                int64_t v = q == 0 && in->lead ? s->batch_size : q >= off ? in->s_dims[q - off] : di->dims[q];
                if (v >= 0)
                    k += (size_t)snprintf(ex + k, sizeof(ex) - k, "%s%lld", sep, (long long)v);
                else if (di->dim_params[q])
                    k += (size_t)snprintf(ex + k, sizeof(ex) - k, "%s<%s>", sep, di->dim_params[q]);
                else
                    k += (size_t)snprintf(ex + k, sizeof(ex) - k, "%s<dim%d>", sep, q);
            }
            const char *dp = di->dim_params[d + off];
            return oq_errorf(err, OQ_ERR_SHAPE,
                             "input '%s' is %s and dim %d%s%s%s is symbolic; %s needs every dim: pass --shape "
                             "%s=%s",
                             in->name, oq_shape_str(di->ndim, di->dims, a, sizeof(a)), d + off, dp ? " ('" : "",
                             dp ? dp : "", dp ? "')" : "", why, in->name, ex);
        }
    return OQ_OK;
}

/* ------------------------------------------------------------ batch slots */

/* Check a sample of shape [nd, dims] from `srcname` against input i and return where sample j of an
 * n-sample batch goes. The first sample of a batch fixes the batch's sample shape and sizes the buffer. */
static oq_status slot(struct oq_data_source *s, int i, int j, int n, int nd, const int64_t *dims,
                      const char *srcname, void **dst, int64_t *numel, oq_error *err) {
    struct in_state *in = &s->in[i];
    const int64_t *sd = NULL;
    char a[160], b[160], c[160];
    if (nd == in->s_ndim)
        sd = dims;
    if (!sd && in->lead && nd == in->s_ndim + 1 && dims[0] == 1)
        sd = dims + 1;
    bool ok = sd != NULL;
    for (int d = 0; ok && d < in->s_ndim; d++)
        if (in->s_dims[d] >= 0 && sd[d] != in->s_dims[d])
            ok = false;
    if (!ok) {
        int64_t with1[OQ_MAX_DIMS + 1] = {1};
        memcpy(with1 + 1, in->s_dims, sizeof(int64_t) * (size_t)in->s_ndim);
        if (in->lead)
            return oq_errorf(err, OQ_ERR_SHAPE, "input '%s' takes samples of shape %s (or %s); '%s' has %s",
                             in->name, oq_shape_str(in->s_ndim, in->s_dims, a, sizeof(a)),
                             oq_shape_str(in->s_ndim + 1, with1, b, sizeof(b)), srcname,
                             oq_shape_str(nd, dims, c, sizeof(c)));
        return oq_errorf(err, OQ_ERR_SHAPE, "input '%s' takes samples of shape %s; '%s' has %s", in->name,
                         oq_shape_str(in->s_ndim, in->s_dims, a, sizeof(a)), srcname,
                         oq_shape_str(nd, dims, c, sizeof(c)));
    }
    int64_t ne = oq_shape_numel(in->s_ndim, sd);
    size_t es = oq_dtype_size(in->dtype);
    if (j == 0) {
        memcpy(in->cur, sd, sizeof(int64_t) * (size_t)in->s_ndim);
        snprintf(in->cur_src, sizeof(in->cur_src), "%s", srcname);
        size_t need = (size_t)ne * es * (size_t)n;
        if (need > in->cap) {
            void *nb = realloc(in->buf, need);
            if (!nb)
                return oq_errorf(err, OQ_ERR_NOMEM, "out of memory for a batch of input '%s' (%zu bytes)", in->name,
                                 need);
            in->buf = nb;
            in->cap = need;
        }
    } else if (memcmp(in->cur, sd, sizeof(int64_t) * (size_t)in->s_ndim) != 0) {
        return oq_errorf(err, OQ_ERR_SHAPE,
                         "input '%s': '%s' has sample shape %s but '%s' in the same batch has %s; samples of one "
                         "batch must match (use --batch-size 1 or give them one size)",
                         in->name, srcname, oq_shape_str(in->s_ndim, sd, a, sizeof(a)), in->cur_src,
                         oq_shape_str(in->s_ndim, in->cur, b, sizeof(b)));
    }
    *dst = (char *)in->buf + (size_t)j * (size_t)ne * es;
    *numel = ne;
    return OQ_OK;
}

/* Index of flat element e in shape [nd, dims] as "[a,b,c]". */
static const char *unravel(int64_t e, int nd, const int64_t *dims, char *buf, size_t cap) {
    int64_t idx[OQ_MAX_DIMS + 1];
    for (int d = nd - 1; d >= 0; d--) {
        int64_t dd = dims[d] > 0 ? dims[d] : 1;
        idx[d] = e % dd;
        e /= dd;
    }
    return oq_shape_str(nd, idx, buf, cap);
}

/* NaN/Inf check over a float buffer of the input's dtype; the element is named in the file's shape. */
static oq_status check_finite(const struct in_state *in, const void *data, int64_t n, const char *srcname, int nd,
                              const int64_t *dims, oq_error *err) {
    struct oq_tensor t = {.dtype = in->dtype, .data = (void *)data};
    if (!dtype_floatish(in->dtype))
        return OQ_OK;
    for (int64_t e = 0; e < n; e++) {
        double v = in->dtype == OQ_DTYPE_FLOAT ? ((const float *)data)[e] : oq_tensor_get_f64(&t, e);
        if (!isfinite(v)) {
            char ix[160];
            return oq_errorf(err, OQ_ERR_NUMERIC,
                             "'%s': element %lld (index %s) is %s; calibration data must be finite (input '%s')",
                             srcname, (long long)e, unravel(e, nd, dims, ix, sizeof(ix)), isnan(v) ? "NaN" : "Inf",
                             in->name);
        }
    }
    return OQ_OK;
}

static bool int_fits(oq_dtype t, int64_t v) {
    switch (t) {
    case OQ_DTYPE_BOOL: return v == 0 || v == 1;
    case OQ_DTYPE_UINT8: return v >= 0 && v <= 255;
    case OQ_DTYPE_INT8: return v >= -128 && v <= 127;
    case OQ_DTYPE_UINT16: return v >= 0 && v <= 65535;
    case OQ_DTYPE_INT16: return v >= -32768 && v <= 32767;
    case OQ_DTYPE_UINT32: return v >= 0 && v <= 4294967295LL;
    case OQ_DTYPE_INT32: return v >= INT32_MIN && v <= INT32_MAX;
    case OQ_DTYPE_UINT64: return v >= 0;
    default: return true;
    }
}

/* Copy a loaded array into sample slot dst, converting within the float family or the integer family. */
static oq_status put_array(const struct in_state *in, const oq_tensor_ref *t, void *dst, int64_t n,
                           const char *srcname, oq_error *err) {
    if (t->dtype == in->dtype) {
        memcpy(dst, t->data, (size_t)n * oq_dtype_size(t->dtype));
    } else if (dtype_floatish(in->dtype) && dtype_floatish(t->dtype)) {
        struct oq_tensor a = {.dtype = t->dtype, .data = t->data}, b = {.dtype = in->dtype, .data = dst};
        /* check before narrowing so a float64 value too large for float32 is reported as such */
        for (int64_t e = 0; e < n; e++) {
            double v = oq_tensor_get_f64(&a, e);
            if (isfinite(v) && in->dtype == OQ_DTYPE_FLOAT && !isfinite((float)v)) {
                char ix[160];
                return oq_errorf(err, OQ_ERR_NUMERIC, "'%s': element %lld (index %s) = %g overflows float32 (input "
                                 "'%s')",
                                 srcname, (long long)e, unravel(e, t->ndim, t->dims, ix, sizeof(ix)), v, in->name);
            }
            oq_tensor_set_f64(&b, e, v);
        }
    } else if (dtype_intish(in->dtype) && dtype_intish(t->dtype)) {
        struct oq_tensor a = {.dtype = t->dtype, .data = t->data}, b = {.dtype = in->dtype, .data = dst};
        for (int64_t e = 0; e < n; e++) {
            int64_t v = oq_tensor_get_i64(&a, e);
            if (!int_fits(in->dtype, v)) {
                char ix[160];
                return oq_errorf(err, OQ_ERR_NUMERIC, "'%s': element %lld (index %s) = %lld does not fit input '%s' "
                                 "(%s)",
                                 srcname, (long long)e, unravel(e, t->ndim, t->dims, ix, sizeof(ix)), (long long)v,
                                 in->name, oq_dtype_name(in->dtype));
            }
            oq_tensor_set_f64(&b, e, (double)v);
            if (in->dtype == OQ_DTYPE_INT64 || in->dtype == OQ_DTYPE_UINT64)
                ((int64_t *)dst)[e] = v; /* exact beyond 2^53 */
        }
    } else {
        return oq_errorf(err, OQ_ERR_SHAPE, "'%s' holds %s data, but input '%s' is %s; save it as %s", srcname,
                         oq_dtype_name(t->dtype), in->name, oq_dtype_name(in->dtype), oq_dtype_name(in->dtype));
    }
    return check_finite(in, dst, n, srcname, t->ndim, t->dims, err);
}

/* -------------------------------------------------------------- loaders */

static oq_status load_tensor_file(struct oq_data_source *s, int i, int j, int n, const char *path, oq_error *err) {
    struct in_state *in = &s->in[i];
    void *dst;
    int64_t ne;
    if (!strcasecmp(ext_of(path), ".bin")) {
        void *buf;
        size_t len;
        OQ_TRY(oq_read_file(path, &buf, &len, err));
        size_t need = (size_t)oq_shape_numel(in->s_ndim, in->s_dims) * oq_dtype_size(in->dtype);
        if (len != need) {
            char a[160];
            free(buf);
            return oq_errorf(err, OQ_ERR_SHAPE,
                             "'%s' holds %zu bytes; input '%s' takes raw %s samples of shape %s, %zu bytes", path,
                             len, in->name, oq_dtype_name(in->dtype), oq_shape_str(in->s_ndim, in->s_dims, a,
                                                                                   sizeof(a)),
                             need);
        }
        oq_status st = slot(s, i, j, n, in->s_ndim, in->s_dims, path, &dst, &ne, err);
        if (!st) {
            memcpy(dst, buf, need);
            st = check_finite(in, dst, ne, path, in->s_ndim, in->s_dims, err);
        }
        free(buf);
        return st;
    }
    oq_tensor_ref t;
    OQ_TRY(oq_npy_read(path, &t, err));
    oq_status st = slot(s, i, j, n, t.ndim, t.dims, path, &dst, &ne, err);
    if (!st)
        st = put_array(in, &t, dst, ne, path, err);
    free(t.data);
    return st;
}

static oq_status load_npz(struct oq_data_source *s, int j, int n, const char *path, oq_error *err) {
    int na = 0;
    struct oq_npz_array *arr = NULL;
    OQ_TRY(oq_npz_read(path, &na, &arr, err));
    oq_status st = OQ_OK;
    char list[512];
    for (int a = 0; a < na && !st; a++) {
        int hit = 0;
        for (int i = 0; i < s->n_in; i++)
            hit |= !strcmp(arr[a].name, s->in[i].name);
        if (!hit)
            st = oq_errorf(err, OQ_ERR_ARG, "'%s' holds array '%s', which is not a model input (inputs: %s)", path,
                           arr[a].name, input_list(s, list, sizeof(list)));
    }
    for (int i = 0; i < s->n_in && !st; i++) {
        int a = 0;
        while (a < na && strcmp(arr[a].name, s->in[i].name))
            a++;
        if (a == na) {
            size_t k = 0;
            list[0] = 0;
            for (int q = 0; q < na && k < sizeof(list); q++)
                k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", q ? ", " : "", arr[q].name);
            st = oq_errorf(err, OQ_ERR_ARG, "'%s' has no array for input '%s' (arrays: %s); save it with "
                           "numpy.savez(f, %s=...)",
                           path, s->in[i].name, list, s->in[i].name);
            break;
        }
        char src[1100];
        snprintf(src, sizeof(src), "%s['%s']", path, arr[a].name);
        void *dst;
        int64_t ne;
        st = slot(s, i, j, n, arr[a].t.ndim, arr[a].t.dims, src, &dst, &ne, err);
        if (!st)
            st = put_array(&s->in[i], &arr[a].t, dst, ne, src, err);
    }
    oq_npz_free(na, arr);
    return st;
}

static oq_status load_image(struct oq_data_source *s, int j, int n, const char *path, oq_error *err) {
    uint8_t *px = NULL;
    int h = 0, w = 0, have_c = 0;
    oq_status st = OQ_OK;
    for (int i = 0; i < s->n_in && !st; i++) {
        struct in_state *in = &s->in[i];
        const struct oq_preprocess *p = &in->pp;
        if (have_c != p->channels) {
            oq_image_free(px);
            px = NULL;
            st = oq_image_load(path, p->channels, &px, &h, &w, err);
            if (st)
                break;
            have_c = p->channels;
        }
        struct oq_pp_geometry g;
        oq_preprocess_geometry(p, h, w, &g);
        int64_t dims[3];
        if (p->layout == OQ_PP_LAYOUT_NCHW) {
            dims[0] = p->channels, dims[1] = g.out_h, dims[2] = g.out_w;
        } else {
            dims[0] = g.out_h, dims[1] = g.out_w, dims[2] = p->channels;
        }
        void *dst;
        int64_t ne;
        st = slot(s, i, j, n, 3, dims, path, &dst, &ne, err);
        if (!st)
            oq_preprocess_run(p, &g, px, h, w, dst);
    }
    oq_image_free(px);
    return st;
}

/* splitmix64: a tiny counter-based generator; sample k of input i gets its own stream. */
static uint64_t mix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static oq_status load_random(struct oq_data_source *s, int64_t k, int j, int n, oq_error *err) {
    for (int i = 0; i < s->n_in; i++) {
        struct in_state *in = &s->in[i];
        void *dst;
        int64_t ne;
        OQ_TRY(slot(s, i, j, n, in->s_ndim, in->s_dims, "random", &dst, &ne, err));
        uint64_t st = s->seed;
        st = mix64(&st) ^ (uint64_t)k;
        st = mix64(&st) ^ (uint64_t)i;
        struct oq_tensor t = {.dtype = in->dtype, .data = dst};
        bool fl = dtype_floatish(in->dtype);
        int64_t hi = in->dtype == OQ_DTYPE_BOOL ? 2 : s->int_hi;
        if (in->dtype == OQ_DTYPE_INT8 && hi > 128)
            hi = 128;
        for (int64_t e = 0; e < ne; e++) {
            double u = (double)(mix64(&st) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
            if (fl) {
                double v = s->lo + (s->hi - s->lo) * u;
                if (in->dtype == OQ_DTYPE_FLOAT)
                    ((float *)dst)[e] = (float)v;
                else
                    oq_tensor_set_f64(&t, e, v);
            } else {
                oq_tensor_set_f64(&t, e, floor(u * (double)hi));
            }
        }
    }
    return OQ_OK;
}

oq_status oq_data_next(struct oq_data_source *s, const oq_tensor_ref **batch, int *count, oq_error *err) {
    *batch = NULL;
    *count = 0;
    int64_t left = s->stats.samples_planned - s->cursor;
    if (left <= 0)
        return OQ_OK;
    int n = left < s->batch_size ? (int)left : s->batch_size;
    for (int j = 0; j < n; j++) {
        int64_t k = s->cursor + j;
        switch (s->kind) {
        case KIND_RANDOM: OQ_TRY(load_random(s, k, j, n, err)); break;
        case KIND_IMAGES: OQ_TRY(load_image(s, j, n, s->files[k], err)); break;
        case KIND_NPZ: OQ_TRY(load_npz(s, j, n, s->files[k], err)); break;
        case KIND_TENSORS:
            for (int i = 0; i < s->n_in; i++)
                OQ_TRY(load_tensor_file(s, i, j, n, s->files[k * s->per_sample + (s->per_sample > 1 ? i : 0)], err));
            break;
        }
    }
    for (int i = 0; i < s->n_in; i++) {
        struct in_state *in = &s->in[i];
        oq_tensor_ref *r = &s->refs[i];
        memset(r, 0, sizeof(*r));
        r->name = in->name;
        r->dtype = in->dtype;
        r->data = in->buf;
        int off = in->lead ? 1 : 0;
        r->ndim = in->s_ndim + off;
        if (in->lead)
            r->dims[0] = n;
        memcpy(r->dims + off, in->cur, sizeof(int64_t) * (size_t)in->s_ndim);
    }
    s->cursor += n;
    s->stats.samples_read += n;
    s->stats.batches_read++;
    *batch = s->refs;
    *count = n;
    return OQ_OK;
}

/* --------------------------------------------------------------- opening */

static oq_status parse_random(struct oq_data_source *s, const char *spec, int64_t *n, oq_error *err) {
    s->lo = -1.0;
    s->hi = 1.0;
    s->int_hi = 10;
    s->seed = 0;
    *n = 0;
    if (spec[6] == 0)
        return OQ_OK;
    const char *p = spec + 7;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char kv[128];
        if (len >= sizeof(kv))
            return oq_errorf(err, OQ_ERR_ARG, "data 'random': option '%.*s' is too long", (int)len, p);
        memcpy(kv, p, len);
        kv[len] = 0;
        char *eq = strchr(kv, '=');
        if (!eq)
            return oq_errorf(err, OQ_ERR_ARG, "data 'random': option '%s' is not key=value (valid keys: seed, n, lo, "
                             "hi, int_hi)",
                             kv);
        *eq = 0;
        const char *v = eq + 1;
        char *e = NULL;
        errno = 0;
        if (!strcmp(kv, "seed")) {
            s->seed = strtoull(v, &e, 0);
        } else if (!strcmp(kv, "n")) {
            *n = strtoll(v, &e, 10);
            if (*n <= 0)
                e = NULL;
        } else if (!strcmp(kv, "lo")) {
            s->lo = strtod(v, &e);
        } else if (!strcmp(kv, "hi")) {
            s->hi = strtod(v, &e);
        } else if (!strcmp(kv, "int_hi")) {
            s->int_hi = strtoll(v, &e, 10);
            if (s->int_hi < 1)
                e = NULL;
        } else {
            return oq_errorf(err, OQ_ERR_ARG, "data 'random': unknown option '%s' (valid keys: seed, n, lo, hi, "
                             "int_hi)",
                             kv);
        }
        if (!e || e == v || *e || errno)
            return oq_errorf(err, OQ_ERR_ARG, "data 'random': bad value '%s' for %s (seed: integer, n and int_hi: "
                             "positive integers, lo/hi: numbers)",
                             v, kv);
        p = end ? end + 1 : p + len;
    }
    if (!(s->lo < s->hi) || !isfinite(s->lo) || !isfinite(s->hi))
        return oq_errorf(err, OQ_ERR_ARG, "data 'random': need finite lo < hi, got lo=%g hi=%g", s->lo, s->hi);
    return OQ_OK;
}

enum file_class { FC_OTHER, FC_IMAGE, FC_NPZ, FC_TENSOR };
static enum file_class classify(const char *name) {
    if (oq_image_name_ok(name))
        return FC_IMAGE;
    const char *x = ext_of(name);
    if (!strcasecmp(x, ".npz"))
        return FC_NPZ;
    if (!strcasecmp(x, ".npy") || !strcasecmp(x, ".bin"))
        return FC_TENSOR;
    return FC_OTHER;
}

/* One sub-folder per input: the k-th file of each forms sample k. */
static oq_status scan_per_input(struct oq_data_source *s, const char *dir, oq_error *err) {
    int64_t cap = 0, first = -1;
    char **names = NULL;
    int64_t nn = 0;
    oq_status st = OQ_OK;
    int64_t *counts = calloc((size_t)s->n_in, sizeof(int64_t));
    char ***per = calloc((size_t)s->n_in, sizeof(char **));
    if (!counts || !per) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < s->n_in && !st; i++) {
        char *sub = path_join(dir, s->in[i].name);
        if (!sub) {
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            break;
        }
        st = list_dir(sub, &names, &nn, err);
        if (!st && !(per[i] = calloc((size_t)(nn ? nn : 1), sizeof(char *))))
            st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; !st && k < nn; k++) {
            char *p = path_join(sub, names[k]);
            if (!p) {
                st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
            } else if (classify(names[k]) == FC_TENSOR && !is_dir(p)) {
                per[i][counts[i]++] = p;
            } else {
                s->stats.files_skipped++;
                free(p);
            }
        }
        free_names(names, nn);
        names = NULL;
        if (!st && counts[i] == 0)
            st = oq_errorf(err, OQ_ERR_ARG, "no .npy or .bin files found in '%s' (the samples of input '%s')", sub,
                           s->in[i].name);
        if (!st && first >= 0 && counts[i] != counts[0])
            st = oq_errorf(err, OQ_ERR_ARG,
                           "'%s/%s/' holds %lld .npy/.bin files but '%s/%s/' holds %lld; every input needs one file "
                           "per sample",
                           dir, s->in[0].name, (long long)counts[0], dir, s->in[i].name, (long long)counts[i]);
        first = 0;
        free(sub);
    }
    for (int64_t k = 0; !st && k < counts[0]; k++)
        for (int i = 0; i < s->n_in && !st; i++) {
            st = push_file(s, &cap, per[i][k], err);
            per[i][k] = NULL;
        }
    s->per_sample = s->n_in;
done:
    for (int i = 0; per && i < s->n_in; i++) {
        for (int64_t k = 0; per[i] && k < counts[i]; k++)
            free(per[i][k]);
        free(per[i]);
    }
    free(per);
    free(counts);
    return st;
}

oq_status oq_data_open(const struct oq_data_options *o, struct oq_data_source **out, oq_error *err) {
    *out = NULL;
    if (!o || !o->spec || !o->inputs || o->n_inputs < 1)
        return oq_errorf(err, OQ_ERR_ARG, "data: need a spec and at least one input");
    if (o->batch_size < 1 || o->max_batches < 0)
        return oq_errorf(err, OQ_ERR_ARG, "data: batch size must be >= 1 (got %d) and the batch cap >= 0 (got %d)",
                         o->batch_size, o->max_batches);
    oq_status st = OQ_OK;
    struct oq_data_source *s = calloc(1, sizeof(*s));
    char **names = NULL;
    int64_t nn = 0;
    if (!s)
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    s->n_in = o->n_inputs;
    s->batch_size = o->batch_size;
    s->per_sample = 1;
    s->in = calloc((size_t)s->n_in, sizeof(*s->in));
    s->refs = calloc((size_t)s->n_in, sizeof(*s->refs));
    if (!s->in || !s->refs) {
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
        goto fail;
    }
    bool fixed_batch = false;
    for (int i = 0; i < s->n_in; i++)
        if ((st = setup_input(s, i, &o->inputs[i], o->batch_size, &fixed_batch, err)))
            goto fail;

    const char *spec = o->spec;
    int64_t found = 0, cap = 0;
    char inl[512];
    if (!strncmp(spec, "random", 6) && (spec[6] == 0 || spec[6] == ':')) {
        s->kind = KIND_RANDOM;
        if ((st = parse_random(s, spec, &found, err)))
            goto fail;
        if (o->preprocess) {
            st = oq_errorf(err, OQ_ERR_ARG, "a preprocessing spec applies to image folders, not to random data");
            goto fail;
        }
        for (int i = 0; i < s->n_in; i++)
            if ((st = need_full_shape(s, o, i, "random data", err)))
                goto fail;
        if (!found)
            found = (int64_t)o->batch_size * (o->max_batches ? o->max_batches : 1);
        snprintf(s->desc, sizeof(s->desc), "random data (%lld samples, seed %llu, floats U[%g, %g), integers 0..%lld)",
                 (long long)found, (unsigned long long)s->seed, s->lo, s->hi, (long long)s->int_hi - 1);
    } else {
        struct stat sb;
        if (stat(spec, &sb) != 0) {
            st = oq_errorf(err, OQ_ERR_IO,
                           "calibration data '%s': %s (expected a folder, an image/.npz/.npy/.bin file, or 'random')",
                           spec, strerror(errno));
            goto fail;
        }
        enum file_class fc = FC_OTHER;
        if (!S_ISDIR(sb.st_mode)) {
            fc = classify(spec);
            if (fc == FC_OTHER) {
                st = oq_errorf(err, OQ_ERR_ARG, "calibration data '%s' is not a folder, an image "
                               "(.jpg/.jpeg/.png/.bmp), .npz, .npy or .bin file",
                               spec);
                goto fail;
            }
            char *p = strdup(spec);
            if ((st = push_file(s, &cap, p, err)))
                goto fail;
            snprintf(s->desc, sizeof(s->desc), "file '%s'", spec);
        } else {
            int have = 0;
            for (int i = 0; i < s->n_in; i++) {
                char *sub = strchr(s->in[i].name, '/') ? NULL : path_join(spec, s->in[i].name);
                have += sub && is_dir(sub);
                free(sub);
            }
            if (have == s->n_in) {
                if ((st = scan_per_input(s, spec, err)))
                    goto fail;
                fc = FC_TENSOR;
                snprintf(s->desc, sizeof(s->desc), "one sub-folder per input in '%s' (%lld samples of %s%s)", spec,
                         (long long)(s->n_files / s->n_in), input_list(s, inl, sizeof(inl)),
                         s->stats.files_skipped ? "; other files skipped" : "");
            } else {
                if (have && s->n_in > 1) {
                    char miss[256] = "";
                    size_t k = 0;
                    for (int i = 0; i < s->n_in && k < sizeof(miss); i++) {
                        char *sub = path_join(spec, s->in[i].name);
                        if (sub && !is_dir(sub))
                            k += (size_t)snprintf(miss + k, sizeof(miss) - k, "%s%s/", k ? ", " : "", s->in[i].name);
                        free(sub);
                    }
                    st = oq_errorf(err, OQ_ERR_ARG, "'%s' has sub-folders for some inputs but not for %s (one "
                                   "sub-folder per input: %s)",
                                   spec, miss, input_list(s, inl, sizeof(inl)));
                    goto fail;
                }
                if ((st = list_dir(spec, &names, &nn, err)))
                    goto fail;
                int64_t cnt[4] = {0};
                for (int64_t k = 0; k < nn; k++) {
                    char *p = path_join(spec, names[k]);
                    if (!p) {
                        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
                        goto fail;
                    }
                    enum file_class c = is_dir(p) ? FC_OTHER : classify(names[k]);
                    cnt[c]++;
                    free(p);
                }
                int kinds = (cnt[FC_IMAGE] > 0) + (cnt[FC_NPZ] > 0) + (cnt[FC_TENSOR] > 0);
                if (kinds > 1) {
                    st = oq_errorf(err, OQ_ERR_ARG,
                                   "'%s' mixes kinds of data (%lld images, %lld .npz, %lld .npy/.bin); keep one kind "
                                   "per folder",
                                   spec, (long long)cnt[FC_IMAGE], (long long)cnt[FC_NPZ], (long long)cnt[FC_TENSOR]);
                    goto fail;
                }
                if (kinds == 0) {
                    if (o->preprocess)
                        st = oq_errorf(err, OQ_ERR_ARG,
                                       "no images (.jpg/.jpeg/.png/.bmp) found in '%s' — %lld other file%s skipped",
                                       spec, (long long)cnt[FC_OTHER], cnt[FC_OTHER] == 1 ? " was" : "s were");
                    else
                        st = oq_errorf(err, OQ_ERR_ARG,
                                       "no calibration samples found in '%s': expected images (.jpg/.jpeg/.png/.bmp) "
                                       "with a preprocessing spec, .npz files (one per sample), .npy/.bin files (for a "
                                       "one-input model) or one sub-folder per input (%s) — %lld other file%s skipped",
                                       spec, input_list(s, inl, sizeof(inl)), (long long)cnt[FC_OTHER],
                                       cnt[FC_OTHER] == 1 ? " was" : "s were");
                    goto fail;
                }
                fc = cnt[FC_IMAGE] ? FC_IMAGE : cnt[FC_NPZ] ? FC_NPZ : FC_TENSOR;
                if (fc == FC_TENSOR && s->n_in > 1) {
                    st = oq_errorf(err, OQ_ERR_ARG,
                                   "'%s' holds .npy/.bin files directly, but the model has %d inputs (%s): put each "
                                   "input's files in a sub-folder named after it, or save one .npz per sample",
                                   spec, s->n_in, input_list(s, inl, sizeof(inl)));
                    goto fail;
                }
                for (int64_t k = 0; k < nn; k++) {
                    char *p = path_join(spec, names[k]);
                    if (!p) {
                        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
                        goto fail;
                    }
                    if (!is_dir(p) && classify(names[k]) == fc) {
                        if ((st = push_file(s, &cap, p, err)))
                            goto fail;
                    } else {
                        free(p);
                    }
                }
                s->stats.files_skipped = cnt[FC_OTHER];
                static const char *const what[] = {"", "image", ".npz", ".npy/.bin"};
                static const char *const unit[] = {"", "image", ".npz file", "file"};
                snprintf(s->desc, sizeof(s->desc), "%s folder '%s' (%lld %s%s; %lld other file%s skipped)", what[fc],
                         spec, (long long)s->n_files, unit[fc], s->n_files == 1 ? "" : "s", (long long)cnt[FC_OTHER],
                         cnt[FC_OTHER] == 1 ? "" : "s");
            }
        }
        found = s->n_files / s->per_sample;
        s->kind = fc == FC_IMAGE ? KIND_IMAGES : fc == FC_NPZ ? KIND_NPZ : KIND_TENSORS;
        if (fc == FC_IMAGE) {
            if (!o->preprocess) {
                st = oq_errorf(err, OQ_ERR_ARG,
                               "'%s' holds images but no preprocessing spec was given; pass one, e.g. "
                               "--preprocess '{\"%s\": {\"size\": [224, 224], \"mean\": [0.485, 0.456, 0.406], "
                               "\"std\": [0.229, 0.224, 0.225]}}'",
                               spec, s->in[0].name);
                goto fail;
            }
            const char *nm[64];
            bool present[64];
            struct oq_preprocess pp[64];
            if (s->n_in > 64) {
                st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "images can feed at most 64 inputs");
                goto fail;
            }
            for (int i = 0; i < s->n_in; i++)
                nm[i] = s->in[i].name;
            if ((st = oq_preprocess_parse(o->preprocess, s->n_in, nm, pp, present, err)))
                goto fail;
            for (int i = 0; i < s->n_in; i++) {
                struct in_state *in = &s->in[i];
                const struct oq_data_input *di = &o->inputs[i];
                if (!present[i]) {
                    st = oq_errorf(err, OQ_ERR_ARG,
                                   "input '%s' has no preprocessing entry; an image folder feeds every input from "
                                   "the image, so each needs one",
                                   in->name);
                    goto fail;
                }
                if (in->dtype != OQ_DTYPE_FLOAT) {
                    st = oq_errorf(err, OQ_ERR_UNSUPPORTED, "input '%s' is %s; image preprocessing produces float",
                                   in->name, oq_dtype_name(in->dtype));
                    goto fail;
                }
                if (!in->lead) {
                    st = oq_errorf(err, OQ_ERR_SHAPE, "input '%s' has no batch dim; images feed [N,C,H,W] inputs",
                                   in->name);
                    goto fail;
                }
                int64_t eff[OQ_MAX_DIMS];
                memcpy(eff, di->dims, sizeof(eff));
                for (int d = 1; d < in->ndim; d++)
                    eff[d] = in->s_dims[d - 1];
                in->pp = pp[i];
                if ((st = oq_preprocess_bind(&in->pp, in->name, in->ndim, eff, err)))
                    goto fail;
                if (in->pp.multiple && o->batch_size > 1) {
                    st = oq_errorf(err, OQ_ERR_ARG,
                                   "preprocess %s.size \"multiple_of_32\" gives each image its own size, so images "
                                   "cannot be stacked: use --batch-size 1",
                                   in->name);
                    goto fail;
                }
            }
        } else if (o->preprocess) {
            st = oq_errorf(err, OQ_ERR_ARG,
                           "a preprocessing spec was given, but '%s' holds %s, not images; drop the spec or point "
                           "at an image folder",
                           spec, fc == FC_NPZ ? ".npz files" : ".npy/.bin files");
            goto fail;
        }
        if (fc == FC_TENSOR)
            for (int64_t k = 0; k < s->n_files; k++)
                if (!strcasecmp(ext_of(s->files[k]), ".bin")) {
                    int i = s->per_sample > 1 ? (int)(k % s->per_sample) : 0;
                    if ((st = need_full_shape(s, o, i, "a raw .bin file", err)))
                        goto fail;
                }
    }
    s->stats.samples_found = found;
    s->stats.samples_requested = o->max_batches ? (int64_t)o->batch_size * o->max_batches : found;
    int64_t avail = found < s->stats.samples_requested ? found : s->stats.samples_requested;
    int64_t planned = avail;
    if (fixed_batch)
        planned = avail / o->batch_size * o->batch_size;
    s->stats.samples_dropped = avail - planned;
    s->stats.samples_planned = planned;
    s->stats.batches_planned = (planned + o->batch_size - 1) / o->batch_size;
    if (planned == 0) {
        st = oq_errorf(err, OQ_ERR_SHAPE,
                       "%s: %lld sample%s cannot fill one batch: the model's batch dim is fixed at %d",
                       s->desc, (long long)found, found == 1 ? "" : "s", o->batch_size);
        goto fail;
    }
    free_names(names, nn);
    *out = s;
    return OQ_OK;
fail:
    free_names(names, nn);
    oq_data_close(s);
    return st;
}
