/* Gemm and MatMul ops through their oq_op_def with a hand-built ctx, against naive loops: Gemm with
 * transA/transB, alpha, beta and every C broadcast; MatMul with 1-D operands, 2-D, batched, broadcast batch
 * dims, the [B,T,C] x [C,D] weight case, 4-D attention shapes; ref and fast kernels, with and without a
 * pool; shape errors and dtype rejection. */
#include <string.h>

#include "kernels/dispatch.h"
#include "ops/op.h"
#include "test_util.h"

#define GEMM_MAX_NMSE 1e-10

extern const struct oq_op_def oq_op_gemm, oq_op_matmul;

static struct oq_node *make_node(struct oq_graph **gp, const char *op, int n_in) {
    struct oq_graph *g = oq_graph_new();
    int ins[3], out;
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < n_in; i++)
        ins[i] = oq_graph_add_value(g, names[i]);
    out = oq_graph_add_value(g, "y");
    int ni = oq_graph_add_node(g, "node0", op, "", n_in, ins, 1, &out);
    g->nodes[ni].opset = 17;
    *gp = g;
    return &g->nodes[ni];
}

static struct oq_tensor tensor(int ndim, const int64_t *dims, float *data) {
    struct oq_tensor t = {.dtype = OQ_DTYPE_FLOAT, .ndim = ndim, .data = data, .name = "t"};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)ndim);
    return t;
}

static float *rand_buf(uint64_t *rng, int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = test_rng_uniform(rng, -1, 1);
    return p;
}

/* check + infer + run (no prepare/scratch for these ops); returns status, y malloc'd. */
static oq_status run_op(const struct oq_op_def *def, struct oq_node *n, struct oq_graph *g, int n_in,
                        struct oq_tensor *in, struct oq_tensor *yt, float **y, const struct oq_kernels *k,
                        struct oq_pool *pool, oq_error *err) {
    struct oq_tensor *ins[3] = {&in[0], &in[1], n_in > 2 ? &in[2] : NULL}, *outs[1] = {yt};
    memset(yt, 0, sizeof(*yt));
    struct oq_op_ctx ctx = {.node = n, .n_in = n_in, .n_out = 1, .in = ins, .out = outs, .pool = pool,
                            .kernels = k, .err = err};
    *y = NULL;
    oq_status st = def->check(n, g, err);
    if (!st)
        st = def->infer(&ctx);
    if (!st) {
        *y = malloc(sizeof(float) * (size_t)(oq_tensor_numel(yt) + 1));
        yt->data = *y;
        st = def->run(&ctx);
    }
    return st;
}

/* ---------------------------------------------------------------- Gemm */

static void gemm_case(int M, int N, int K, bool ta, bool tb, float alpha, float beta, int c_nd, int cr, int cc,
                      const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng) {
    float *a = rand_buf(rng, (int64_t)M * K), *b = rand_buf(rng, (int64_t)K * N), *c = rand_buf(rng, (int64_t)cr * cc);
    float *r = malloc(sizeof(float) * (size_t)M * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int kk = 0; kk < K; kk++)
                acc += (double)(ta ? a[kk * M + m] : a[m * K + kk]) * (tb ? b[n * K + kk] : b[kk * N + n]);
            double cv = c_nd < 0 ? 0 : c[(cr == 1 ? 0 : m) * cc + (cc == 1 ? 0 : n)];
            r[m * N + n] = (float)(alpha * acc + beta * cv);
        }
    struct oq_graph *g;
    struct oq_node *nd = make_node(&g, "Gemm", c_nd < 0 ? 2 : 3);
    oq_node_add_attr(nd, "transA", OQ_ATTR_INT)->i = ta;
    oq_node_add_attr(nd, "transB", OQ_ATTR_INT)->i = tb;
    oq_node_add_attr(nd, "alpha", OQ_ATTR_FLOAT)->f = alpha;
    oq_node_add_attr(nd, "beta", OQ_ATTR_FLOAT)->f = beta;
    struct oq_tensor in[3] = {
        tensor(2, ta ? (const int64_t[]){K, M} : (const int64_t[]){M, K}, a),
        tensor(2, tb ? (const int64_t[]){N, K} : (const int64_t[]){K, N}, b),
        tensor(c_nd < 0 ? 0 : c_nd, c_nd == 2 ? (const int64_t[]){cr, cc} : (const int64_t[]){cc}, c),
    };
    struct oq_tensor yt;
    float *y;
    oq_error err = {0};
    oq_status st = run_op(&oq_op_gemm, nd, g, c_nd < 0 ? 2 : 3, in, &yt, &y, k, pool, &err);
    CHECK_MSG(st == OQ_OK, "gemm: %s", err.msg);
    if (!st) {
        double e = test_nmse(y, r, (int64_t)M * N);
        CHECK_MSG(yt.ndim == 2 && yt.dims[0] == M && yt.dims[1] == N && e <= GEMM_MAX_NMSE,
                  "gemm-op/%s M=%d N=%d K=%d ta=%d tb=%d alpha=%g beta=%g C=%dd[%d,%d]: nmse=%g", k->sgemm_name, M, N,
                  K, ta, tb, alpha, beta, c_nd, cr, cc, e);
        struct oq_tensor *ins[3] = {&in[0], &in[1], &in[2]}, *outs[1] = {&yt};
        struct oq_op_ctx mctx = {.node = nd, .n_in = c_nd < 0 ? 2 : 3, .n_out = 1, .in = ins, .out = outs};
        CHECK(oq_op_gemm.macs(&mctx) == (int64_t)M * N * K);
    }
    free(y);
    oq_graph_free(g);
    free(a);
    free(b);
    free(c);
    free(r);
}

static void gemm_cases(const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng) {
    /* C: absent, scalar (0-d), [1], [N], [1,N], [M,1], [M,N] */
    const int M = 7, N = 33, K = 17;
    gemm_case(M, N, K, false, false, 1.0f, 1.0f, -1, 1, 1, k, pool, rng);
    gemm_case(M, N, K, false, true, 0.5f, 2.0f, 0, 1, 1, k, pool, rng);
    gemm_case(M, N, K, true, false, 1.0f, -1.0f, 1, 1, 1, k, pool, rng);
    gemm_case(M, N, K, true, true, 1.5f, 1.0f, 1, 1, N, k, pool, rng);
    gemm_case(M, N, K, false, true, 1.0f, 0.5f, 2, 1, N, k, pool, rng);
    gemm_case(M, N, K, false, false, 1.0f, 1.0f, 2, M, 1, k, pool, rng);
    gemm_case(M, N, K, true, false, 2.0f, 0.25f, 2, M, N, k, pool, rng);
    gemm_case(M, N, K, false, false, 1.0f, 0.0f, 2, M, N, k, pool, rng);
    gemm_case(1, 1000, 480, false, true, 1.0f, 1.0f, 1, 1, 1000, k, pool, rng); /* classifier head */
    gemm_case(130, 257, 96, false, false, 1.0f, 1.0f, 1, 1, 257, k, pool, rng);
}

static void gemm_errors(const struct oq_kernels *k) {
    struct oq_graph *g;
    struct oq_node *nd = make_node(&g, "Gemm", 3);
    float buf[64] = {0};
    struct oq_tensor in[3] = {tensor(2, (const int64_t[]){2, 3}, buf), tensor(2, (const int64_t[]){4, 5}, buf),
                              tensor(1, (const int64_t[]){5}, buf)};
    struct oq_tensor yt;
    float *y;
    oq_error err = {0};
    CHECK(run_op(&oq_op_gemm, nd, g, 3, in, &yt, &y, k, NULL, &err) == OQ_ERR_SHAPE && strstr(err.msg, "node0"));
    in[1].dims[0] = 3;
    in[2].dims[0] = 4; /* C [4] does not broadcast to [2, 5] */
    CHECK(run_op(&oq_op_gemm, nd, g, 3, in, &yt, &y, k, NULL, &err) == OQ_ERR_SHAPE);
    in[2].dims[0] = 5;
    in[0].dtype = OQ_DTYPE_DOUBLE;
    CHECK(run_op(&oq_op_gemm, nd, g, 3, in, &yt, &y, k, NULL, &err) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "double"));
    oq_graph_free(g);
}

/* ---------------------------------------------------------------- MatMul */

/* numpy matmul reference on explicit shapes */
static void mm_case(int na, const int64_t *ad, int nb, const int64_t *bd, const struct oq_kernels *k,
                    struct oq_pool *pool, uint64_t *rng) {
    int64_t an = oq_shape_numel(na, ad), bn = oq_shape_numel(nb, bd);
    float *a = rand_buf(rng, an), *b = rand_buf(rng, bn);
    /* promote to >= 2-D */
    int64_t A2[OQ_MAX_DIMS], B2[OQ_MAX_DIMS];
    int ra = na, rb = nb;
    if (na == 1) {
        A2[0] = 1, A2[1] = ad[0], ra = 2;
    } else
        memcpy(A2, ad, sizeof(int64_t) * (size_t)na);
    if (nb == 1) {
        B2[0] = bd[0], B2[1] = 1, rb = 2;
    } else
        memcpy(B2, bd, sizeof(int64_t) * (size_t)nb);
    int64_t M = A2[ra - 2], K = A2[ra - 1], N = B2[rb - 1];
    int nbat = (ra > rb ? ra : rb) - 2;
    int64_t ob[OQ_MAX_DIMS], total = 1;
    for (int i = 0; i < nbat; i++) {
        int ia = i - (nbat - (ra - 2)), ib = i - (nbat - (rb - 2));
        int64_t da = ia >= 0 ? A2[ia] : 1, db = ib >= 0 ? B2[ib] : 1;
        ob[i] = da > db ? da : db;
        total *= ob[i];
    }
    float *r = malloc(sizeof(float) * (size_t)(total * M * N + 1));
    for (int64_t t = 0; t < total; t++) {
        /* offsets by unravelling t */
        int64_t rem = t, oa = 0, obf = 0, sa = M * K, sb = K * N;
        for (int i = nbat - 1; i >= 0; i--) {
            int64_t j = rem % ob[i];
            rem /= ob[i];
            int ia = i - (nbat - (ra - 2)), ib = i - (nbat - (rb - 2));
            int64_t da = ia >= 0 ? A2[ia] : 1, db = ib >= 0 ? B2[ib] : 1;
            oa += (da == 1 ? 0 : j) * sa;
            obf += (db == 1 ? 0 : j) * sb;
            sa *= da;
            sb *= db;
        }
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double acc = 0;
                for (int64_t kk = 0; kk < K; kk++)
                    acc += (double)a[oa + m * K + kk] * b[obf + kk * N + n];
                r[t * M * N + m * N + n] = (float)acc;
            }
    }
    struct oq_graph *g;
    struct oq_node *nd = make_node(&g, "MatMul", 2);
    struct oq_tensor in[2] = {tensor(na, ad, a), tensor(nb, bd, b)};
    struct oq_tensor yt;
    float *y;
    oq_error err = {0};
    oq_status st = run_op(&oq_op_matmul, nd, g, 2, in, &yt, &y, k, pool, &err);
    CHECK_MSG(st == OQ_OK, "matmul: %s", err.msg);
    if (!st) {
        int exp_nd = nbat + (na > 1) + (nb > 1);
        bool shape_ok = yt.ndim == exp_nd && oq_tensor_numel(&yt) == total * M * N;
        for (int i = 0; shape_ok && i < nbat; i++)
            shape_ok = yt.dims[i] == ob[i];
        double e = shape_ok ? test_nmse(y, r, total * M * N) : INFINITY;
        CHECK_MSG(shape_ok && e <= GEMM_MAX_NMSE, "matmul-op/%s rank %d x rank %d M=%lld N=%lld K=%lld batch=%lld: "
                  "shape_ok=%d nmse=%g", k->sgemm_name, na, nb, (long long)M, (long long)N, (long long)K,
                  (long long)total, shape_ok, e);
        struct oq_tensor *ins[2] = {&in[0], &in[1]}, *outs[1] = {&yt};
        struct oq_op_ctx mctx = {.node = nd, .n_in = 2, .n_out = 1, .in = ins, .out = outs};
        CHECK(oq_op_matmul.macs(&mctx) == total * M * N * K);
    }
    free(y);
    oq_graph_free(g);
    free(a);
    free(b);
    free(r);
}

#define D(...) (const int64_t[]){__VA_ARGS__}
#define NDIMS(...) (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define MM(A, B) mm_case(NDIMS A, D A, NDIMS B, D B, k, pool, rng)

static void mm_cases(const struct oq_kernels *k, struct oq_pool *pool, uint64_t *rng) {
    MM((17), (17));                    /* dot */
    MM((5), (5, 9));                   /* vector x matrix */
    MM((7, 5), (5));                   /* matrix x vector */
    MM((3, 7, 5), (5));                /* batched x vector */
    MM((5), (2, 5, 4));                /* vector x batched */
    MM((7, 13), (13, 9));              /* 2-D */
    MM((2, 25, 96), (96, 120));        /* [B,T,C] x [C,D]: one folded GEMM */
    MM((1, 8, 40, 12), (1, 8, 12, 40)); /* attention scores */
    MM((1, 8, 40, 40), (1, 8, 40, 12)); /* attention values */
    MM((3, 1, 4, 6), (2, 6, 5));       /* broadcast batch dims both ways */
    MM((4, 6), (3, 6, 2));             /* unbatched A, batched B */
    MM((2, 1, 3, 4), (1, 5, 4, 2));
    MM((3, 0, 4), (4, 5));             /* empty */
    MM((3, 4, 0), (0, 5));             /* K = 0: zeros */
}

static void mm_errors(const struct oq_kernels *k) {
    struct oq_graph *g;
    struct oq_node *nd = make_node(&g, "MatMul", 2);
    float buf[64] = {0};
    struct oq_tensor in[2] = {tensor(3, D(2, 3, 4), buf), tensor(3, D(3, 5, 2), buf)};
    struct oq_tensor yt;
    float *y;
    oq_error err = {0};
    CHECK(run_op(&oq_op_matmul, nd, g, 2, in, &yt, &y, k, NULL, &err) == OQ_ERR_SHAPE); /* K 4 vs 5 */
    in[1].dims[1] = 4;
    CHECK(run_op(&oq_op_matmul, nd, g, 2, in, &yt, &y, k, NULL, &err) == OQ_ERR_SHAPE); /* batch 2 vs 3 */
    in[1].dims[0] = 2;
    in[1].dtype = OQ_DTYPE_INT8;
    CHECK(run_op(&oq_op_matmul, nd, g, 2, in, &yt, &y, k, NULL, &err) == OQ_ERR_UNSUPPORTED && strstr(err.msg, "int8"));
    oq_graph_free(g);
}

int main(void) {
    oq_error err = {0}, *errp = &err;
    struct oq_pool *pool = NULL;
    CHECK_OK(oq_pool_create(2, &pool, errp), errp);
    struct oq_kernels kf, kr;
    oq_kernels_init(&kf, OQ_KERNELS_AUTO);
    oq_kernels_init(&kr, OQ_KERNELS_REF);
    uint64_t rng = 99;
    struct oq_pool *pools[2] = {NULL, pool};
    for (int p = 0; p < 2; p++) {
        gemm_cases(&kr, pools[p], &rng);
        gemm_cases(&kf, pools[p], &rng);
        mm_cases(&kr, pools[p], &rng);
        mm_cases(&kf, pools[p], &rng);
    }
    gemm_errors(&kf);
    mm_errors(&kf);
    oq_pool_free(pool);
    TEST_MAIN_END();
}
