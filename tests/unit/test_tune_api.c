/* The public tuner (include/onnxq/onnxq_analyse.h) on a model with a known answer: x has one channel 300x the
 * others, so 8-bit per-tensor quantization of x destroys the small channels the output depends on, while 16 bits
 * keep them. Checked: sensitivity ranks the first MatMul first (and measures the metric for the top layer only);
 * tune with a metric callback sets that layer aside and, with try_int16, gives it int16 instead of float, and the
 * config it returns reproduces that quality through the quantizer; a metric that fails stops the search with its
 * status and message, writes nothing, and the tuner still works after; every handle freed on every path
 * (ASan/LSan in the sanitized build). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph_builder.h"
#include "onnxq/onnxq_analyse.h"
#include "test_util.h"

enum { K = 8, N1 = 6, N2 = 4, ROWS = 64 };

/* x[?,8] -> MatMul(W1[8,6]) -> a -> MatMul(W2[6,4]) -> y. W1's row 0 (the big channel) is tiny. */
static oq_model *make_model(void) {
    struct oq_graph *g = gb_new(13);
    int64_t xd[2] = {-1, K}, w1d[2] = {K, N1}, w2d[2] = {N1, N2}, yd[2] = {-1, N2};
    float w1[K * N1], w2[N1 * N2];
    for (int i = 0; i < K * N1; i++)
        w1[i] = i < N1 ? 1e-4f : (float)((i * 7) % 11) / 11.0f - 0.45f;
    for (int i = 0; i < N1 * N2; i++)
        w2[i] = (float)((i * 5) % 9) / 9.0f - 0.4f;
    gb_input(g, "x", OQ_DTYPE_FLOAT, 2, xd);
    gb_init_f32(g, "W1", 2, w1d, w1);
    gb_init_f32(g, "W2", 2, w2d, w2);
    gb_node(g, "MatMul", "mm1", 2, (const char *[]){"x", "W1"}, 1, (const char *[]){"a"});
    gb_node(g, "MatMul", "mm2", 2, (const char *[]){"a", "W2"}, 1, (const char *[]){"y"});
    gb_output(g, "y", OQ_DTYPE_FLOAT, 2, yd);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

static void fill(float *x, unsigned seed) {
    for (int r = 0; r < ROWS; r++)
        for (int k = 0; k < K; k++) {
            seed = seed * 1664525u + 1013904223u;
            float u = (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
            x[r * K + k] = k == 0 ? 300.0f * u : u;
        }
}

/* The user's metric: cosine similarity of the model's output to FP32's on a fixed batch. */
struct metric {
    const float *x, *ref; /* ref: the FP32 output on x */
    int calls, fail_at;   /* fail_at > 0: the fail_at-th call fails */
};

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++)
        ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb + 1e-300);
}

static oq_status run_once(const char *path, const oq_model *mm, const float *x, float *y, oq_error *err) {
    oq_model *m = NULL;
    if (!mm && oq_model_load(path, &m, err))
        return err->code;
    oq_session *s = NULL;
    oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {ROWS, K}, .data = (void *)x};
    oq_status st = oq_session_create(mm ? mm : m, NULL, &s, err);
    if (!st)
        st = oq_session_run(s, 1, &in, err);
    oq_tensor_ref out;
    if (!st && !oq_session_output(s, 0, &out))
        memcpy(y, out.data, sizeof(float) * ROWS * N2);
    oq_session_free(s);
    oq_model_free(m);
    return st;
}

static oq_status cos_metric(void *user, const char *path, double *metric, oq_error *err) {
    struct metric *u = user;
    if (++u->calls == u->fail_at) {
        snprintf(err->msg, sizeof(err->msg), "boom on call %d (%s)", u->calls, path);
        err->code = OQ_ERR_IO;
        return OQ_ERR_IO;
    }
    float y[ROWS * N2];
    oq_status st = run_once(path, NULL, u->x, y, err);
    *metric = st ? NAN : u->fail_at < 0 ? NAN : cosine(y, u->ref, ROWS * N2); /* fail_at < 0: NaN */
    return st;
}

static void count_lines(void *user, const char *line) {
    (*(int *)user)++;
    CHECK(line && !strchr(line, '\n'));
}

int main(void) {
    char dir[] = "/tmp/onnxq_test_tune_api_XXXXXX", out[300], again[300], cand[340];
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    snprintf(out, sizeof(out), "%s/t.onnx", dir);
    snprintf(again, sizeof(again), "%s/again.onnx", dir);
    snprintf(cand, sizeof(cand), "%s.tune-candidate.onnx", out);
    oq_error err = {0};
    oq_model *m = make_model();
    if (!m)
        TEST_MAIN_END();
    static float xcal[4][ROWS * K], xev[ROWS * K], ref[ROWS * N2];
    for (int b = 0; b < 4; b++)
        fill(xcal[b], 11u + (unsigned)b);
    fill(xev, 99u);
    CHECK_OK(run_once(NULL, m, xev, ref, &err), &err);

    oq_quantize_options qo = oq_quantize_options_default();
    qo.per_channel = OQ_PER_CHANNEL_ON;
    qo.threads = 1;
    oq_tuner *t = NULL;
    CHECK_OK(oq_tuner_create(m, NULL, &qo, &t, &err), &err);
    const oq_sensitivity *S = NULL;
    CHECK(oq_tuner_sensitivity(t, NULL, NULL, 0, &S, &err) == OQ_ERR_ARG && strstr(err.msg, "zero batches"));
    memset(&err, 0, sizeof(err));
    for (int b = 0; b < 4; b++) {
        oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {ROWS, K}, .data = xcal[b]};
        CHECK_OK(oq_tuner_feed(t, 1, &in, &err), &err);
    }
    CHECK(oq_tuner_sensitivity(t, NULL, NULL, 0, &S, &err) == OQ_ERR_ARG && strstr(err.msg, "evaluation batch"));
    memset(&err, 0, sizeof(err));
    oq_tensor_ref ev = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {ROWS, K}, .data = xev};
    CHECK_OK(oq_tuner_add_eval(t, 1, &ev, &err), &err);

    /* sensitivity: mm1 (reads x) first; the metric only for the top layer */
    struct metric mu = {.x = xev, .ref = ref};
    CHECK_OK(oq_tuner_sensitivity(t, cos_metric, &mu, 1, &S, &err), &err);
    if (S) {
        CHECK(S->n_layers == 2);
        CHECK_MSG(S->n_layers == 2 && !strcmp(S->layers[0].node, "mm1") && S->layers[0].float_gain_db > 10,
                  "first %s gains %.2f dB", S->layers[0].node, S->layers[0].float_gain_db);
        CHECK(fabs(S->metric_fp32 - 1.0) < 1e-6 && S->metric < 0.99);
        CHECK(S->n_layers == 2 && S->layers[0].metric > S->metric && isnan(S->layers[1].metric));
        CHECK(mu.calls == 3); /* FP32, all quantized, mm1 in float */
    }

    /* tune with the metric: mm1 set aside, then int16 instead of float */
    oq_tune_options to = oq_tune_options_default();
    to.max_loss = 0.1;
    to.metric = cos_metric;
    to.metric_user = &mu;
    to.try_int16 = true;
    int lines = 0;
    to.log = count_lines;
    to.log_user = &lines;
    const oq_tune_result *r = NULL;
    mu.calls = 0;
    CHECK_OK(oq_tuner_run(t, &to, out, &r, &err), &err);
    if (r) {
        CHECK_MSG(r->target_met && r->loss <= 0.1, "loss %.4f%%", r->loss);
        CHECK_MSG(r->n_int16 == 1 && !strcmp(r->int16_layers[0], "mm1") && r->n_float == 0,
                  "%d int16, %d float", r->n_int16, r->n_float);
        CHECK(fabs(r->metric_fp32 - 1.0) < 1e-6 && r->metric >= 0.999);
        CHECK(r->n_steps >= 3 && r->evaluations >= r->n_steps && mu.calls >= r->n_steps);
        CHECK(lines > r->n_steps && strstr(r->report_md, "int16") && strstr(r->report_md, "`mm1`"));
        CHECK(access(out, F_OK) == 0 && access(cand, F_OK) != 0);
        /* the returned config reproduces the model's quality through the quantizer */
        oq_quantizer *q = NULL;
        oq_quantize_options none = oq_quantize_options_default();
        CHECK_OK(oq_quantizer_create(m, r->config_json, &none, &q, &err), &err);
        for (int b = 0; q && b < 4; b++) {
            oq_tensor_ref in = {.name = "x", .dtype = OQ_DTYPE_FLOAT, .ndim = 2, .dims = {ROWS, K}, .data = xcal[b]};
            CHECK_OK(oq_quantizer_feed(q, 1, &in, &err), &err);
        }
        CHECK_OK(oq_quantizer_save(q, again, NULL, &err), &err);
        oq_quantizer_free(q);
        double got = 0;
        CHECK_OK(cos_metric(&mu, again, &got, &err), &err);
        CHECK_MSG(got >= 0.999, "the tuned config re-quantized gives cosine %.6f", got);
    }

    /* without int16 the same search leaves mm1 in float */
    to.try_int16 = false;
    CHECK_OK(oq_tuner_run(t, &to, out, &r, &err), &err);
    CHECK(r && r->target_met && r->n_int16 == 0 && r->n_float == 1 && !strcmp(r->float_layers[0], "mm1"));

    /* a metric that fails: its status and message, nothing written, the candidate removed */
    unlink(out);
    mu.calls = 0;
    mu.fail_at = 4;
    CHECK(oq_tuner_run(t, &to, out, &r, &err) == OQ_ERR_IO && strstr(err.msg, "boom on call 4") && !r);
    memset(&err, 0, sizeof(err));
    CHECK(access(out, F_OK) != 0 && access(cand, F_OK) != 0);
    /* a metric that returns NaN */
    mu.fail_at = -1;
    CHECK(oq_tuner_run(t, &to, out, &r, &err) == OQ_ERR_NUMERIC && strstr(err.msg, "finite number") && !r);
    memset(&err, 0, sizeof(err));
    mu.fail_at = 0;
    /* still usable, from the created config (no int16 or float entries left over) */
    CHECK_OK(oq_tuner_run(t, &to, out, &r, &err), &err);
    CHECK(r && r->steps && !strncmp(r->steps[0].what, "start: activations min_max", 26));
    CHECK(r && r->n_float == 1);
    oq_tuner_free(t);

    /* bad arguments */
    CHECK(oq_tuner_create(NULL, NULL, NULL, &t, &err) == OQ_ERR_ARG && !t);
    memset(&err, 0, sizeof(err));
    CHECK(oq_tuner_create(m, "{\"adaround\": true}", NULL, &t, &err) == OQ_ERR_ARG && strstr(err.msg, "adaround") &&
          !t);
    memset(&err, 0, sizeof(err));
    qo.weights_only = 1;
    CHECK(oq_tuner_create(m, NULL, &qo, &t, &err) == OQ_ERR_ARG && strstr(err.msg, "weights-only") && !t);
    memset(&err, 0, sizeof(err));
    oq_model_free(m);
    unlink(out);
    unlink(again);
    rmdir(dir);
    TEST_MAIN_END();
}
