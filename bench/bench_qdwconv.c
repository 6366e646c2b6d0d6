/* GOP/s (2 * MACs) of the u8 depthwise conv kernels -- ref / avx2 / avx512vnni / avx512vbmi -- at the
 * PP-OCRv4 det and rec depthwise shapes, 1 thread, median of 5 runs. Each run is what src/ops/qconv.c does
 * for one image: one kernel call per channel plane with one scratch buffer (so the VNNI and AVX2 kernels'
 * zero-point padded copy is included). Also times that padded copy alone, as a share of the VNNI kernel's
 * time, and checks every kernel's output against the reference. Times are thread CPU time.
 *
 *   bench_qdwconv [reps] [substring]   (default 5 reps, every shape; ONNXQ_BENCH_NO_REF=1 skips the
 * reference) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dispatch.h"
#include "kernels/qconv_internal.h"

struct shape {
    const char *what;
    int C, H, W, k, sh, sw, pad;
};

static const struct shape shapes[] = {
    {"det 16ch 320x320 3x3 s1", 16, 320, 320, 3, 1, 1, 1},
    {"det 32ch 320x320 3x3 s2", 32, 320, 320, 3, 2, 2, 1},
    {"det 48ch 160x160 3x3 s1", 48, 160, 160, 3, 1, 1, 1},
    {"det 96ch 80x80 3x3 s2", 96, 80, 80, 3, 2, 2, 1},
    {"det 192ch 40x40 5x5 s1", 192, 40, 40, 5, 1, 1, 2},
    {"det 480ch 20x20 5x5 s1", 480, 20, 20, 5, 1, 1, 2},
    {"rec 32ch 24x160 3x3 s1", 32, 24, 160, 3, 1, 1, 1},
    {"rec 64ch 12x80 3x3 s(2,1)", 64, 12, 80, 3, 2, 1, 1},
};
enum { NSHAPES = sizeof(shapes) / sizeof(shapes[0]) };

/* CPU time of this thread: 1-thread numbers stay meaningful while other processes share the cores */
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct problem {
    struct oq_conv2d_geom g;
    int C;
    const uint8_t *x;
    const int8_t *w;
    uint8_t *y;
    const struct oq_qdw_params *p; /* [C] */
    void *scratch;
};

/* fn == NULL: only the padded copy the VNNI / AVX2 kernels make of each plane */
static void run_once(const struct problem *pb, oq_qdwconv_fn fn) {
    const int64_t HW = pb->g.in_h * pb->g.in_w, P = pb->g.out_h * pb->g.out_w, kk = pb->g.k_h * pb->g.k_w;
    for (int c = 0; c < pb->C; c++) {
        if (!fn) {
            oq_qdw_pad_plane(&pb->g, pb->x + c * HW, (uint8_t)pb->p[c].x_zp, pb->scratch);
            continue;
        }
        oq_status st = fn(&pb->g, &pb->p[c], pb->x + c * HW, pb->w + c * kk, pb->y + c * P, pb->scratch);
        if (st != OQ_OK) {
            fprintf(stderr, "qdwconv failed: %s\n", oq_status_str(st));
            exit(1);
        }
    }
}

/* median seconds per run; each of the reps times enough runs for ~20 ms */
static double measure(const struct problem *pb, oq_qdwconv_fn fn, int reps) {
    double t0 = now();
    run_once(pb, fn);
    double once = now() - t0;
    int inner   = once > 0 ? (int)(0.02 / once) : 1000;
    inner       = inner < 1 ? 1 : inner > 1000 ? 1000 : inner;
    double t[16];
    for (int i = 0; i < reps; i++) {
        t0 = now();
        for (int j = 0; j < inner; j++)
            run_once(pb, fn);
        t[i] = (now() - t0) / inner;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_d);
    return t[reps / 2];
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > 15)
        reps = 5;
    bool no_ref = getenv("ONNXQ_BENCH_NO_REF") != NULL;
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    struct oq_kernels k;
    oq_kernels_init(&k, OQ_KERNELS_AUTO);
    FILE *la     = fopen("/proc/loadavg", "r");
    char buf[64] = "";
    if (la && fgets(buf, sizeof(buf), la))
        printf("load average at start: %s", buf); /* shared cores: compare columns from the same run */
    if (la)
        fclose(la);

    struct impl {
        const char *name;
        oq_qdwconv_fn fn;
    } impls[4];
    int ni = 0;
    if (!no_ref)
        impls[ni++] = (struct impl){"ref", oq_qdwconv_ref};
    if (f.avx2)
        impls[ni++] = (struct impl){"avx2", oq_qdwconv_avx2};
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni)
        impls[ni++] = (struct impl){"avx512vnni", oq_qdwconv_avx512vnni};
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512vbmi)
        impls[ni++] = (struct impl){"avx512vbmi", oq_qdwconv_avx512vbmi};
    printf("session qdwconv: %s; 1 thread, median of %d; GOP/s = 2 * MACs / time\n",
           k.qdwconv == oq_qdwconv_avx512vbmi   ? "avx512vbmi"
           : k.qdwconv == oq_qdwconv_avx512vnni ? "avx512vnni"
           : k.qdwconv == oq_qdwconv_avx2       ? "avx2"
                                                : "ref",
           reps);
    printf("%-27s %9s", "shape", "out");
    for (int i = 0; i < ni; i++)
        printf(" | %10s", impls[i].name);
    printf(" | vbmi/vnni | pad copy (%% of vnni)\n");

    for (int si = 0; si < NSHAPES; si++) {
        const struct shape *s = &shapes[si];
        if (argc > 2 && !strstr(s->what, argv[2]))
            continue;
        struct oq_conv2d_geom g = {.in_h     = s->H,
                                   .in_w     = s->W,
                                   .k_h      = s->k,
                                   .k_w      = s->k,
                                   .stride_h = s->sh,
                                   .stride_w = s->sw,
                                   .pad_t    = s->pad,
                                   .pad_l    = s->pad,
                                   .dil_h    = 1,
                                   .dil_w    = 1};
        g.out_h                 = (s->H + 2 * s->pad - s->k) / s->sh + 1;
        g.out_w                 = (s->W + 2 * s->pad - s->k) / s->sw + 1;

        const int64_t HW = (int64_t)s->H * s->W, P = g.out_h * g.out_w, kk = (int64_t)s->k * s->k;
        uint8_t *x              = malloc((size_t)(s->C * HW));
        uint8_t *y              = malloc((size_t)(s->C * P));
        uint8_t *yr             = malloc((size_t)(s->C * P));
        int8_t *w               = malloc((size_t)(s->C * kk));
        struct oq_qdw_params *p = malloc(sizeof(*p) * (size_t)s->C);
        void *scratch           = malloc(oq_qdwconv_scratch_size(&g));

        for (int64_t i = 0; i < s->C * HW; i++)
            x[i] = (uint8_t)((i * 11 + i / 7) % 256);
        for (int64_t i = 0; i < s->C * kk; i++)
            w[i] = (int8_t)((i * 37) % 255 - 127);
        for (int c = 0; c < s->C; c++)
            p[c] = (struct oq_qdw_params){.x_zp    = 128,
                                          .out_zp  = 3,
                                          .act_min = 3,
                                          .act_max = 255,
                                          .bias    = c * 50 - 400,
                                          .scale   = 1.0f / (float)(kk * 300 + c)};
        struct problem pb = {.g = g, .C = s->C, .x = x, .w = w, .y = yr, .p = p, .scratch = scratch};
        const double ops  = 2.0 * (double)s->C * (double)P * (double)kk;
        run_once(&pb, oq_qdwconv_ref);
        pb.y = y;
        char out[16];
        snprintf(out, sizeof(out), "%dx%d", (int)g.out_h, (int)g.out_w);
        printf("%-27s %9s", s->what, out);
        double vnni = 0, vbmi = 0;
        for (int i = 0; i < ni; i++) {
            memset(y, 0, (size_t)(s->C * P));
            double t  = measure(&pb, impls[i].fn, reps);
            bool same = memcmp(y, yr, (size_t)(s->C * P)) == 0;
            if (impls[i].fn == oq_qdwconv_avx512vnni)
                vnni = t;
            if (impls[i].fn == oq_qdwconv_avx512vbmi)
                vbmi = t;
            printf(" | %8.1f%s", ops / t * 1e-9, same ? "  " : " !");
        }
        double pad = measure(&pb, NULL, reps);
        printf(
            " | %8.2fx | %5.1f%%\n", vnni > 0 && vbmi > 0 ? vnni / vbmi : 0, vnni > 0 ? 100 * pad / vnni : 0);
        fflush(stdout);
        free(x);
        free(y);
        free(yr);
        free(w);
        free(p);
        free(scratch);
    }
    printf("(! = output differs from the reference)\n");
    return 0;
}
