/* GOP/s (2*M*N*K ops per GEMM) of every u8 x s8 GEMM -- ref / avx2 / avx512vnni, oneDNN's dnnl_gemm_u8s8s32
 * for comparison -- and of the session's FP32 sgemm, at PaddleOCR conv / matmul shapes, on 1 and 2 threads,
 * median of 5 runs, all in this one run. The integer GEMMs include the full epilogue (per-channel requant to
 * u8); oneDNN's u8s8s32 gets the transposed problem (it wants u8 as the left operand: C^T[N,M] = X^T W^T,
 * an NHWC output) and stops at int32. Also measures this core's VNNI peak with a register-only vpdpbusd
 * loop and prints every result as a share of it (2 threads: of twice the 1-core peak).
 *
 * Conv mode times whole u8 convolutions at the det model's im2col-path shapes, the way QConv runs them: the
 * explicit path (per task qim2col of a column tile, then a single-threaded qgemm, tasks over the pool) and the
 * implicit GEMM (oq_qconv_igemm: per band of output rows xpack, then the GEMM over xi), plus an xpack of the
 * whole input alone (the copy the implicit GEMM adds, without the band overlap).
 * GOP/s counts 2*M*K*out_h*out_w with the true K = C*kh*kw (not the padded depth).
 *
 *   bench_qgemm [reps]        (default 5; ONNXQ_BENCH_NO_REF=1 skips the slow reference)
 *   bench_qgemm conv [reps] */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dispatch.h"
#if defined(ONNXQ_WITH_DNNL)
#include <oneapi/dnnl/dnnl.h>
#endif

struct shape {
    const char *what;
    int M, N, K;
};

static const struct shape shapes[] = {
    {"det conv0 3x3 s2 (3->16) @160x160", 16, 25600, 27},
    {"det 3x3 @160x160 (96->24) as GEMM", 24, 25600, 864},
    {"det 1x1 @160x160 (16->64)", 64, 25600, 16},
    {"det 3x3 @80x80 (32->32)", 32, 6400, 288},
    {"det 1x1 @80x80 (32->64)", 64, 6400, 32},
    {"det 1x1 @40x40 (96->96)", 96, 1600, 96},
    {"det 3x3 @40x40 (112->120)", 120, 1600, 1008},
    {"det 1x1 @20x20 (480->480)", 480, 400, 480},
    {"rec 1x1 @1x80 (480->480)", 480, 80, 480},
    {"rec matmul [T*B,C]x[C,D] (120x200x96)", 120, 200, 96},
    {"big 256x3136x576", 256, 3136, 576},
};
enum { NSHAPES = sizeof(shapes) / sizeof(shapes[0]) };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Register-only vpdpbusd loop: 16 independent accumulators (zmm16-31; latency 4-5 cycles x 2 ports < 16),
 * 128 ops each. In asm so that nothing but vpdpbusd and the loop counter runs. */
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) static double vnni_peak_gops(void) {
    const long iters = 20000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        long n = iters;
        double t0 = now();
        __asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
                         "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
                         "1:\n\t"
#define P(r) "vpdpbusd %%zmm0, %%zmm1, %%zmm" #r "\n\t"
                         P(16) P(17) P(18) P(19) P(20) P(21) P(22) P(23)
                         P(24) P(25) P(26) P(27) P(28) P(29) P(30) P(31)
#undef P
                         "dec %0\n\t"
                         "jnz 1b\n\t"
                         : "+r"(n)
                         :
                         : "cc", "xmm0", "xmm1", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
                           "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
        double g = (double)iters * 16 * 128 / (now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    return best;
}

struct qrun {
    const struct oq_kernels *k;
    struct oq_pool *pool;
    const struct oq_qgemm_packed *pw;
    struct oq_qgemm_args *a;
    void *scratch;
    size_t sb;
    /* dnnl */
    const uint8_t *X;
    const int8_t *W;
    int32_t *C;
    int dnnl_threads;
    /* fp32 */
    const float *Af, *Bf;
    float *Cf;
    int kind; /* 0 qgemm, 1 dnnl u8s8s32, 2 fp32 sgemm */
};

static void run_once(const struct qrun *r, const struct shape *s) {
    if (r->kind == 0) {
        oq_status st = oq_qgemm(r->k, r->pool, r->pw, r->a, r->scratch, r->sb);
        if (st != OQ_OK) {
            fprintf(stderr, "qgemm failed: %s\n", oq_status_str(st));
            exit(1);
        }
    } else if (r->kind == 2) {
        r->k->sgemm(r->k, r->pool, false, false, s->M, s->N, s->K, 1.0f, r->Af, s->K, r->Bf, s->N, 0.0f, r->Cf,
                    s->N);
    }
#if defined(ONNXQ_WITH_DNNL)
    else {
        int32_t co = 0;
        int prev = r->k->omp_get_max_threads ? r->k->omp_get_max_threads() : 1;
        if (r->k->omp_set_num_threads)
            r->k->omp_set_num_threads(r->dnnl_threads);
        dnnl_gemm_u8s8s32('T', 'T', 'F', s->N, s->M, s->K, 1.0f, r->X, s->N, 0, r->W, s->K, 0, 0.0f, r->C, s->M,
                          &co);
        if (r->k->omp_set_num_threads)
            r->k->omp_set_num_threads(prev);
    }
#endif
}

static double measure(const struct qrun *r, const struct shape *s, int reps) {
    double ops = 2.0 * s->M * s->N * s->K;
    int inner = (int)(2e7 / ops * 50);
    inner = inner < 1 ? 1 : inner > 20000 ? 20000 : inner;
    run_once(r, s);
    double t[16];
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        for (int j = 0; j < inner; j++)
            run_once(r, s);
        t[i] = (now() - t0) / inner;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_d);
    return ops / t[reps / 2] * 1e-9;
}

/* ---- conv mode ---- */

struct conv_shape {
    const char *what;
    int C, M, H, W, k, s, p;
};

static const struct conv_shape conv_shapes[] = {
    {"det Conv.58/61 3x3 (96->24) @160x160", 96, 24, 160, 160, 3, 1, 1},
    {"det Conv.55 3x3 (96->24) @80x80", 96, 24, 80, 80, 3, 1, 1},
    {"det Conv.52 3x3 (96->24) @40x40", 96, 24, 40, 40, 3, 1, 1},
    {"det Conv.49 3x3 (96->24) @20x20", 96, 24, 20, 20, 3, 1, 1},
    {"det Conv.0 3x3 s2 (3->16) @640x640", 3, 16, 640, 640, 3, 2, 1},
};
enum { NCONV = sizeof(conv_shapes) / sizeof(conv_shapes[0]) };

struct conv_run {
    const struct oq_kernels *k;
    struct oq_pool *pool;
    const struct oq_conv2d_geom *g;
    int C;
    const uint8_t *x;
    const struct oq_qgemm_packed *pw, *pwi;
    struct oq_qgemm_args ga; /* y, ep, x_zp of the explicit path */
    struct oq_qconv_igemm_args ia;
    unsigned char *scratch;
    size_t scratch_bytes, slice, col_bytes;
    int64_t tile, ntiles;
    int kind; /* 0 explicit (im2col + qgemm tasks), 1 implicit, 2 its xpack alone */
};

/* One task per column tile of `tile` output positions, as QConv's im2col path. */
static void conv_explicit_task(void *arg, int ith, int nth) {
    const struct conv_run *r = arg;
    int64_t P = r->g->out_h * r->g->out_w, t0, t1;
    oq_split(r->ntiles, ith, nth, &t0, &t1);
    unsigned char *col = r->scratch + (size_t)ith * r->slice;
    for (int64_t t = t0; t < t1; t++) {
        int64_t q0 = t * r->tile, q1 = q0 + r->tile < P ? q0 + r->tile : P;
        r->k->qim2col(r->g, r->C, r->x, (uint8_t)r->ga.x_zp, q0, q1, col, q1 - q0);
        struct oq_qgemm_args a = r->ga;
        a.N = q1 - q0;
        a.x = col;
        a.ldx = q1 - q0;
        a.y = (uint8_t *)r->ga.y + q0;
        r->k->qgemm(r->pw, &a, col + r->col_bytes, 0, 1);
    }
}

static void conv_xpack_task(void *arg, int ith, int nth) {
    const struct conv_run *r = arg;
    oq_qconv_xpack_fn xp;
    oq_qconv_igemm_fn gm;
    oq_qconv_igemm_kernels(r->k, &xp, &gm);
    struct oq_qconv_xi_dims d;
    oq_qconv_xi_dims(r->g, r->C, &d);
    int64_t r0, r1;
    oq_split(d.rows, ith, nth, &r0, &r1);
    xp(r->g, r->C, r->x, (uint8_t)r->ia.x_zp, r0, r1, r->scratch);
}

static void conv_once(struct conv_run *r) {
    int nth = oq_pool_size(r->pool);
    if (r->kind == 0)
        oq_pool_run(r->pool, conv_explicit_task, r, (int)(r->ntiles < nth ? r->ntiles : nth));
    else if (r->kind == 2)
        oq_pool_run(r->pool, conv_xpack_task, r, nth);
    else if (oq_qconv_igemm(r->k, r->pool, r->pwi, &r->ia, r->scratch, r->scratch_bytes) != OQ_OK) {
        fprintf(stderr, "oq_qconv_igemm failed\n");
        exit(1);
    }
}

static double conv_ms(struct conv_run *r, int reps) {
    conv_once(r);
    double t[16];
    for (int i = 0; i < reps; i++) {
        int inner = 20;
        double t0 = now();
        for (int j = 0; j < inner; j++)
            conv_once(r);
        t[i] = (now() - t0) / inner;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_d);
    return t[reps / 2] * 1e3;
}

static int conv_main(int reps, const struct oq_kernels *k, struct oq_pool *pool2) {
    printf("conv mode (session qgemm %s): ms and GOP/s, median of %d; 1 thread / 2 threads\n", k->qgemm_name, reps);
    printf("%-38s %7s | %-27s | %-27s | %-17s\n", "conv", "MMAC", "im2col + qgemm", "implicit GEMM",
           "  its xpack (ms)");
    for (int si = 0; si < NCONV; si++) {
        const struct conv_shape *cs = &conv_shapes[si];
        struct oq_conv2d_geom g = {.in_h = cs->H, .in_w = cs->W, .k_h = cs->k, .k_w = cs->k, .stride_h = cs->s,
                                   .stride_w = cs->s, .pad_t = cs->p, .pad_l = cs->p, .dil_h = 1, .dil_w = 1};
        g.out_h = (cs->H + 2 * cs->p - cs->k) / cs->s + 1;
        g.out_w = (cs->W + 2 * cs->p - cs->k) / cs->s + 1;
        int64_t P = g.out_h * g.out_w, K = (int64_t)cs->C * cs->k * cs->k, kp = oq_qconv_igemm_depth(cs->C, cs->k, cs->k);
        uint8_t *x = malloc((size_t)cs->C * cs->H * cs->W), *y = malloc((size_t)(cs->M * P));
        int8_t *W = malloc((size_t)(cs->M * K));
        float *scale = malloc(sizeof(float) * (size_t)cs->M);
        int32_t *bias = malloc(sizeof(int32_t) * (size_t)cs->M);
        for (int64_t i = 0; i < (int64_t)cs->C * cs->H * cs->W; i++)
            x[i] = (uint8_t)((i * 11) % 256);
        for (int64_t i = 0; i < cs->M * K; i++)
            W[i] = (int8_t)((i * 37) % 255 - 127);
        for (int m = 0; m < cs->M; m++)
            scale[m] = 1.0f / (float)(K * 200 + m), bias[m] = m * 3 - 100;
        struct oq_qgemm_packed pw, pwi;
        void *pb = aligned_alloc(64, (oq_qgemm_packed_bytes(cs->M, K) + 63) & ~(size_t)63);
        void *pbi = aligned_alloc(64, (oq_qgemm_packed_bytes(cs->M, kp) + 63) & ~(size_t)63);
        oq_qgemm_pack(&pw, W, cs->M, K, K, pb);
        oq_qconv_igemm_pack(&pwi, W, cs->M, cs->C, cs->k, cs->k, pbi);
        struct oq_qgemm_epilogue ep = {.out = OQ_QGEMM_OUT_U8, .scale = scale, .per_channel = true, .bias = bias,
                                       .out_zp = 0, .act_min = 0, .act_max = 255};
        printf("%-38s %7.1f", cs->what, (double)cs->M * K * P * 1e-6);
        double ops = 2.0 * cs->M * K * P;
        for (int kind = 0; kind < 3; kind++) {
            printf(" |");
            for (int th = 1; th <= 2; th++) {
                struct oq_pool *pool = th == 1 ? NULL : pool2;
                struct conv_run r = {.k = k, .pool = pool, .g = &g, .C = cs->C, .x = x, .pw = &pw, .pwi = &pwi,
                                     .kind = kind};
                r.ga = (struct oq_qgemm_args){.x_zp = 7, .y = y, .ldy = P, .ep = ep};
                r.ia = (struct oq_qconv_igemm_args){.g = g, .channels = cs->C, .x = x, .x_zp = 7, .y = y,
                                                    .ldy = P, .ep = ep};
                if (kind == 0) { /* QConv's tile rule: a 256 KiB column block, split further for idle threads */
                    int64_t tile = 256 * 1024 / K;
                    tile = tile < 48 ? 48 : tile;
                    if (th > 1 && (P + th - 1) / th < tile)
                        tile = (P + th - 1) / th;
                    tile = (tile + 47) / 48 * 48;
                    r.tile = tile < P ? tile : P;
                    r.ntiles = (P + r.tile - 1) / r.tile;
                    r.col_bytes = (size_t)((K * r.tile + 63) & ~(int64_t)63);
                    r.slice = r.col_bytes + ((oq_qgemm_scratch_slice(K) + 63) & ~(size_t)63);
                    r.scratch_bytes = r.slice * (size_t)th;
                } else if (kind == 1) {
                    r.scratch_bytes = oq_qconv_igemm_scratch_size(&g, cs->C, th);
                } else { /* the whole conv's xi at once */
                    struct oq_qconv_xi_dims d;
                    oq_qconv_xi_dims(&g, cs->C, &d);
                    r.scratch_bytes = (size_t)d.bytes;
                }
                r.scratch = aligned_alloc(64, (r.scratch_bytes + 63) & ~(size_t)63);
                double ms = conv_ms(&r, reps);
                if (kind < 2)
                    printf(" %6.3f %6.1f%s", ms, ops / ms * 1e-6, th == 1 ? " /" : "");
                else
                    printf(" %6.3f%s", ms, th == 1 ? " /" : "");
                free(r.scratch);
            }
        }
        printf("\n");
        fflush(stdout);
        free(x); free(y); free(W); free(scale); free(bias); free(pb); free(pbi);
    }
    return 0;
}

int main(int argc, char **argv) {
    bool conv = argc > 1 && !strcmp(argv[1], "conv"), peak_only = argc > 1 && !strcmp(argv[1], "peak");
    if (conv) {
        argc--;
        argv++;
    }
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > 15)
        reps = 5;
    bool no_ref = getenv("ONNXQ_BENCH_NO_REF") != NULL;
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    oq_error err = {0};
    struct oq_pool *pool2 = NULL;
    if (oq_pool_create(2, &pool2, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (conv) {
        int rc = conv_main(reps, &k, pool2);
        oq_pool_free(pool2);
        return rc;
    }
    double peak = f.avx512vnni ? vnni_peak_gops() : 0;
    if (peak_only) { /* `bench_qgemm peak`: for bench/bench_int8.py's share-of-peak figures */
        printf("VNNI peak (register-only vpdpbusd zmm loop): %.0f GOP/s per core\n", peak);
        oq_pool_free(pool2);
        return peak > 0 ? 0 : 1;
    }
    {
        FILE *la = fopen("/proc/loadavg", "r");
        char buf[64] = "";
        if (la && fgets(buf, sizeof(buf), la))
            printf("load average at start: %s", buf); /* 2 shared cores: 2-thread numbers need an idle machine */
        if (la)
            fclose(la);
    }
    printf("VNNI peak (register-only vpdpbusd zmm loop): %.0f GOP/s per core\n", peak);
    printf("session: qgemm %s, sgemm %s; median of %d; GOP/s 1 thread / 2 threads (%% of VNNI peak)\n",
           k.qgemm_name, k.sgemm_name, reps);

    struct impl {
        const char *name;
        oq_qgemm_fn fn;
        int kind;
    } impls[8];
    int ni = 0;
    if (!no_ref)
        impls[ni++] = (struct impl){"ref", oq_qgemm_ref, 0};
    if (f.avx2)
        impls[ni++] = (struct impl){"avx2", oq_qgemm_avx2, 0};
    if (f.avx512vnni)
        impls[ni++] = (struct impl){"avx512vnni", oq_qgemm_avx512vnni, 0};
#if defined(ONNXQ_WITH_DNNL)
    impls[ni++] = (struct impl){"dnnl_u8s8s32", NULL, 1};
#endif
    impls[ni++] = (struct impl){"fp32 sgemm", NULL, 2};

    printf("%-38s %4s %6s %5s", "shape", "M", "N", "K");
    for (int i = 0; i < ni; i++)
        printf(" | %-27s", impls[i].name);
    printf(" | vnni/fp32\n");
    for (int si = 0; si < NSHAPES; si++) {
        const struct shape *s = &shapes[si];
        int8_t *W = malloc((size_t)s->M * s->K);
        uint8_t *X = malloc((size_t)s->K * s->N), *Y = malloc((size_t)s->M * s->N);
        int32_t *C = malloc(sizeof(int32_t) * (size_t)s->M * s->N);
        float *Af = malloc(sizeof(float) * (size_t)s->M * s->K), *Bf = malloc(sizeof(float) * (size_t)s->K * s->N);
        float *Cf = malloc(sizeof(float) * (size_t)s->M * s->N), *scale = malloc(sizeof(float) * (size_t)s->M);
        int32_t *bias = malloc(sizeof(int32_t) * (size_t)s->M);
        for (int64_t i = 0; i < (int64_t)s->M * s->K; i++)
            W[i] = (int8_t)((i * 37) % 255 - 127), Af[i] = (float)((i * 7) % 13) * 0.1f - 0.6f;
        for (int64_t i = 0; i < (int64_t)s->K * s->N; i++)
            X[i] = (uint8_t)((i * 11) % 256), Bf[i] = (float)((i * 5) % 11) * 0.1f - 0.5f;
        for (int m = 0; m < s->M; m++)
            scale[m] = 1.0f / (float)(s->K * 200 + m), bias[m] = m * 3 - 100;
        void *pbuf = aligned_alloc(64, oq_qgemm_packed_bytes(s->M, s->K));
        struct oq_qgemm_packed pw;
        oq_qgemm_pack(&pw, W, s->M, s->K, s->K, pbuf);
        size_t sb = oq_qgemm_scratch_size(s->K, 2);
        void *scratch = aligned_alloc(64, (sb + 63) & ~(size_t)63);
        struct oq_qgemm_args a = {.N = s->N, .x = X, .ldx = s->N, .x_zp = 128, .y = Y, .ldy = s->N,
                                  .ep = {.out = OQ_QGEMM_OUT_U8, .scale = scale, .per_channel = true,
                                         .bias = bias, .out_zp = 0, .act_min = 0, .act_max = 255}};
        printf("%-38s %4d %6d %5d", s->what, s->M, s->N, s->K);
        double vnni1 = 0, fp1 = 0;
        for (int i = 0; i < ni; i++) {
            struct oq_kernels kk = k;
            if (impls[i].fn)
                kk.qgemm = impls[i].fn;
            struct qrun r = {.k = &kk, .pw = &pw, .a = &a, .scratch = scratch, .sb = sb, .X = X, .W = W, .C = C,
                             .Af = Af, .Bf = Bf, .Cf = Cf, .kind = impls[i].kind, .dnnl_threads = 1};
            bool is_ref = impls[i].fn == oq_qgemm_ref;
            double g1 = measure(&r, s, is_ref ? 1 : reps);
            r.pool = pool2;
            r.dnnl_threads = 2;
            double g2 = is_ref ? 0 : measure(&r, s, reps);
            if (impls[i].fn == oq_qgemm_avx512vnni)
                vnni1 = g1;
            if (impls[i].kind == 2)
                fp1 = g1;
            printf(" | %6.1f (%3.0f%%) / %6.1f (%3.0f%%)", g1, peak > 0 ? 100 * g1 / peak : 0, g2,
                   peak > 0 ? 100 * g2 / (2 * peak) : 0);
        }
        printf(" | %5.2fx\n", fp1 > 0 ? vnni1 / fp1 : 0);
        fflush(stdout);
        free(W); free(X); free(Y); free(C); free(Af); free(Bf); free(Cf); free(scale); free(bias);
        free(pbuf); free(scratch);
    }
    oq_pool_free(pool2);
    return 0;
}
