/* QConvTranspose (ops/qconvtranspose.c) and its lowering (exec/lower_qdq.h) on small QDQ graphs built in memory:
 *
 *   x_q (uint8 input) -> DQ -> ConvTranspose(DQ(int8 weight [C, M/group, kh, kw]) [, DQ(int32 bias)]) -> Q -> y_q
 *
 * For each geometry the lowered session must run one QConvTranspose node and give
 *   - exactly the integers of the oracle below: acc = B[m] + sum of (x - x_zp) * w over every (c, ky, kx) that
 *     lands on the output, exact in int32, then requant.h's rule with scale = sx * sw[m] / sy (float, in that
 *     order), clamped to [0, 255];
 *   - the same bytes with reference kernels (1 and 2 threads), AVX2 and the best kernels (2 threads);
 *   - at most 1 step of difference from the float-simulated QDQ session (no_int8_lowering), which rounds in
 *     every float multiply-add: the two can only disagree next to a rounding tie.
 * The geometries cover both paths of the op: "direct" (kernel extent <= stride: 2x2 s2 as in PP-OCR det,
 * 1x1 s2 and output_padding, where some outputs get no tap and hold requant(B)) and "overlap" (3x3 / 4x4 s2,
 * stride 1, groups, several channel blocks and position tiles). A grouped ConvTranspose with per-channel
 * weights (axis 1 holds M/group scales) is not lowered and must stay exact. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/requant.h"
#include "unit/lower_harness.h"

struct ct_geom {
    const char *name;
    int64_t N, C, H, W, M, k, group, stride, pad, out_pad, dil;
    bool per_channel, bias;
    bool one_d;     /* x [N, C, W], 1-D attributes */
    bool same_upper; /* auto_pad SAME_UPPER instead of pads */
};

/* Output extent and begin padding of one spatial dim, from the ConvTranspose definition. */
static void ct_extent(const struct ct_geom *c, int64_t in, int64_t *out, int64_t *pad_begin) {
    int64_t natural = (in - 1) * c->stride + c->out_pad + (c->k - 1) * c->dil + 1;
    if (c->same_upper) {
        *out = in * c->stride;
        int64_t total = natural - *out > 0 ? natural - *out : 0;
        *pad_begin = total / 2;
    } else {
        *out = natural - 2 * c->pad;
        *pad_begin = c->pad;
    }
}

struct ct_run {
    int64_t OH, OW, pt, pl, kh, sh, dh, nx, nw, ny, ns;
    uint8_t *x, *y_oracle, *y_ref;
    int8_t *w;
    int32_t *b;
    float sx, sy, *sw, *sb;
    uint8_t zx, zy;
};

/* The oracle: exact int32 accumulation by scattering every input element through every tap. */
static void ct_oracle(const struct ct_geom *c, struct ct_run *r) {
    int64_t Cg = c->C / c->group, Mg = c->M / c->group, P = r->OH * r->OW;
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)r->ny);
    for (int64_t i = 0; i < r->ny; i++)
        acc[i] = c->bias ? r->b[(i / P) % c->M] : 0;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t ci = 0; ci < c->C; ci++)
            for (int64_t iy = 0; iy < c->H; iy++)
                for (int64_t ix = 0; ix < c->W; ix++) {
                    int32_t xv = (int32_t)r->x[((n * c->C + ci) * c->H + iy) * c->W + ix] - r->zx;
                    int64_t g = ci / Cg;
                    for (int64_t ml = 0; ml < Mg; ml++)
                        for (int64_t ky = 0; ky < r->kh; ky++)
                            for (int64_t kx = 0; kx < c->k; kx++) {
                                int64_t oy = iy * r->sh - r->pt + ky * r->dh;
                                int64_t ox = ix * c->stride - r->pl + kx * c->dil;
                                if (oy < 0 || oy >= r->OH || ox < 0 || ox >= r->OW)
                                    continue;
                                int32_t wv = r->w[((ci * Mg + ml) * r->kh + ky) * c->k + kx];
                                acc[((n * c->M + g * Mg + ml) * r->OH + oy) * r->OW + ox] += xv * wv;
                            }
                }
    double amax = 0;
    for (int64_t i = 0; i < r->ny; i++)
        amax = fmax(amax, fabs((double)acc[i] * r->sx * r->sw[r->ns > 1 ? (i / P) % c->M : 0]));
    r->sy = (float)(amax / 110.0);
    for (int64_t i = 0; i < r->ny; i++) {
        float scale = r->sx * r->sw[r->ns > 1 ? (i / P) % c->M : 0] / r->sy;
        r->y_oracle[i] = oq_requant_narrow_u8(oq_requant_f32(acc[i], scale, r->zy, 0, 255));
    }
    free(acc);
}

static oq_model *ct_model(const struct ct_geom *c, const struct ct_run *r, int nd, const int64_t *xd,
                          const int64_t *yd) {
    int64_t Mg = c->M / c->group;
    int64_t wd[4] = {c->C, Mg, r->kh, c->k}, sd[1] = {r->ns}, bd[1] = {c->M};
    if (c->one_d)
        wd[2] = c->k;
    struct oq_graph *g = gb_new(13);
    gb_input(g, "xq", OQ_DTYPE_UINT8, nd, xd);
    lh_init(g, "sx", OQ_DTYPE_FLOAT, 0, NULL, &r->sx);
    lh_init(g, "zx", OQ_DTYPE_UINT8, 0, NULL, &r->zx);
    lh_init(g, "wq", OQ_DTYPE_INT8, nd, wd, r->w);
    lh_init(g, "sw", OQ_DTYPE_FLOAT, r->ns > 1 ? 1 : 0, sd, r->sw);
    lh_init(g, "bq", OQ_DTYPE_INT32, 1, bd, r->b);
    lh_init(g, "sb", OQ_DTYPE_FLOAT, r->ns > 1 ? 1 : 0, sd, r->sb);
    lh_init(g, "sy", OQ_DTYPE_FLOAT, 0, NULL, &r->sy);
    lh_init(g, "zy", OQ_DTYPE_UINT8, 0, NULL, &r->zy);
    gb_node(g, "DequantizeLinear", "dqx", 3, (const char *[]){"xq", "sx", "zx"}, 1, (const char *[]){"x"});
    struct oq_node *dw = gb_node(g, "DequantizeLinear", "dqw", 2, (const char *[]){"wq", "sw"}, 1,
                                 (const char *[]){"w"});
    gb_attr_int(dw, "axis", 1);
    if (c->bias) {
        struct oq_node *db = gb_node(g, "DequantizeLinear", "dqb", 2, (const char *[]){"bq", "sb"}, 1,
                                     (const char *[]){"b"});
        gb_attr_int(db, "axis", 0);
    }
    struct oq_node *ct = gb_node(g, "ConvTranspose", "ct", c->bias ? 3 : 2, (const char *[]){"x", "w", "b"}, 1,
                                 (const char *[]){"y"});
    int ns = c->one_d ? 1 : 2;
    gb_attr_ints(ct, "kernel_shape", ns, (int64_t[]){c->k, c->k});
    gb_attr_ints(ct, "strides", ns, (int64_t[]){c->stride, c->stride});
    gb_attr_ints(ct, "dilations", ns, (int64_t[]){c->dil, c->dil});
    gb_attr_ints(ct, "output_padding", ns, (int64_t[]){c->out_pad, c->out_pad});
    if (c->same_upper)
        gb_attr_string(ct, "auto_pad", "SAME_UPPER");
    else
        gb_attr_ints(ct, "pads", 2 * ns, (int64_t[]){c->pad, c->pad, c->pad, c->pad});
    gb_attr_int(ct, "group", c->group);
    gb_node(g, "QuantizeLinear", "q", 3, (const char *[]){"y", "sy", "zy"}, 1, (const char *[]){"yq"});
    gb_output(g, "yq", OQ_DTYPE_UINT8, nd, yd);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    return m;
}

/* One session run; returns the session's op list in ops. */
static void ct_session(oq_model *m, int lowering, oq_kernel_level kl, int threads, int nd, const int64_t *xd,
                       uint8_t *x, uint8_t *y, int64_t ny, struct lh_result *res) {
    oq_tensor_ref in = {.name = "xq", .dtype = OQ_DTYPE_UINT8, .ndim = nd, .data = x};
    memcpy(in.dims, xd, sizeof(int64_t) * (size_t)nd);
    memset(y, 0xA5, (size_t)ny); /* a stale byte must not pass for an output */
    lh_run(m, lowering, kl, threads, 1, &in, y, ny, res);
}

static int64_t ct_count_diff(const uint8_t *a, const uint8_t *b, int64_t n, int max_steps) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += abs((int)a[i] - (int)b[i]) > max_steps;
    return bad;
}

static void test_geometry(const struct ct_geom *c, uint64_t seed) {
    struct ct_run r = {0};
    bool one = c->one_d;
    r.kh = one ? 1 : c->k;
    r.sh = one ? 1 : c->stride;
    r.dh = one ? 1 : c->dil;
    ct_extent(c, c->W, &r.OW, &r.pl);
    if (one)
        r.OH = 1, r.pt = 0;
    else
        ct_extent(c, c->H, &r.OH, &r.pt);
    int64_t Mg = c->M / c->group;
    r.nx = c->N * c->C * c->H * c->W;
    r.nw = c->C * Mg * r.kh * c->k;
    r.ny = c->N * c->M * r.OH * r.OW;
    r.ns = c->per_channel ? c->M : 1;
    r.x = malloc((size_t)r.nx);
    r.w = malloc((size_t)r.nw);
    r.b = calloc((size_t)c->M, sizeof(int32_t));
    r.sw = malloc(sizeof(float) * (size_t)r.ns);
    r.sb = malloc(sizeof(float) * (size_t)r.ns);
    r.y_oracle = malloc((size_t)r.ny);
    r.y_ref = malloc((size_t)r.ny);
    uint8_t *y = malloc((size_t)r.ny), *y_sim = malloc((size_t)r.ny);
    for (int64_t i = 0; i < r.nx; i++)
        r.x[i] = (uint8_t)(test_rng_next(&seed) & 255);
    for (int64_t i = 0; i < r.nw; i++)
        r.w[i] = (int8_t)((int)(test_rng_next(&seed) % 256) - 128);
    r.sx = test_rng_uniform(&seed, 0.01f, 0.03f);
    r.zx = (uint8_t)(90 + test_rng_next(&seed) % 70);
    r.zy = (uint8_t)(100 + test_rng_next(&seed) % 40);
    for (int64_t i = 0; i < r.ns; i++) {
        r.sw[i] = test_rng_uniform(&seed, 0.002f, 0.02f);
        r.sb[i] = r.sx * r.sw[i];
    }
    for (int64_t m = 0; c->bias && m < c->M; m++)
        r.b[m] = (int32_t)(test_rng_next(&seed) % 8001) - 4000;
    ct_oracle(c, &r);

    int nd = one ? 3 : 4;
    int64_t xd[4] = {c->N, c->C, c->H, c->W}, yd[4] = {c->N, c->M, r.OH, r.OW};
    if (one)
        xd[2] = c->W, yd[2] = r.OW;
    oq_model *m = ct_model(c, &r, nd, xd, yd);
    struct lh_result res;
    ct_session(m, 1, OQ_KERNELS_AUTO, 2, nd, xd, r.x, y, r.ny, &res);
    CHECK_MSG(res.n_nodes == 1 && strstr(res.ops, "QConvTranspose"), "%s: lowered session runs [%s], expected "
              "one QConvTranspose", c->name, res.ops);
    CHECK_MSG(res.ndim == nd && res.dims[nd - 1] == r.OW && res.dims[1] == c->M, "%s: output shape differs",
              c->name);
    int64_t bad = ct_count_diff(y, r.y_oracle, r.ny, 0);
    CHECK_MSG(bad == 0, "%s: %lld of %lld outputs differ from the integer oracle", c->name, (long long)bad,
              (long long)r.ny);
    const struct {
        oq_kernel_level kl;
        int threads;
        const char *what;
    } variants[] = {{OQ_KERNELS_REF, 1, "ref, 1 thread"}, {OQ_KERNELS_REF, 2, "ref, 2 threads"},
                    {OQ_KERNELS_AVX2, 1, "avx2, 1 thread"}, {OQ_KERNELS_AUTO, 1, "auto, 1 thread"}};
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        ct_session(m, 1, variants[v].kl, variants[v].threads, nd, xd, r.x, r.y_ref, r.ny, &res);
        CHECK_MSG(!memcmp(r.y_ref, y, (size_t)r.ny), "%s: kernels '%s' differ from the default run in %lld "
                  "outputs", c->name, variants[v].what, (long long)ct_count_diff(r.y_ref, y, r.ny, 0));
    }
    ct_session(m, 0, OQ_KERNELS_AUTO, 1, nd, xd, r.x, y_sim, r.ny, &res);
    CHECK_MSG(strstr(res.ops, "ConvTranspose") && !strstr(res.ops, "QConvTranspose"), "%s: float simulation runs "
              "[%s]", c->name, res.ops);
    int64_t far = ct_count_diff(y, y_sim, r.ny, 1), off = ct_count_diff(y, y_sim, r.ny, 0), sat = 0;
    CHECK_MSG(far == 0, "%s: %lld outputs more than 1 step from the float simulation", c->name, (long long)far);
    for (int64_t i = 0; i < r.ny; i++)
        sat += y[i] == 0 || y[i] == 255;
    CHECK_MSG(sat < r.ny / 4, "%s: degenerate data (%lld of %lld outputs saturated)", c->name, (long long)sat,
              (long long)r.ny);
    printf("%-34s %7lld outputs  vs float-sim: %lld differ by 1 step (%.3f%%)\n", c->name, (long long)r.ny,
           (long long)off, 100.0 * (double)off / (double)r.ny);
    oq_model_free(m);
    free(r.x), free(r.w), free(r.b), free(r.sw), free(r.sb), free(r.y_oracle), free(r.y_ref), free(y), free(y_sim);
}

/* group 2 with per-channel weights: DQ axis 1 holds M/group scales, which QConvTranspose does not take, so the
 * pattern stays float and gives exactly the float simulation. */
static void test_grouped_per_channel_not_lowered(void) {
    const int64_t C = 4, Mg = 3, H = 5, W = 6, k = 2;
    int64_t xd[4] = {1, C, H, W}, wd[4] = {C, Mg, k, k}, sd[1] = {Mg}, yd[4] = {1, 2 * Mg, 2 * H, 2 * W};
    float sx = 0.02f, sw[3] = {0.01f, 0.02f, 0.015f}, sy = 0.05f;
    uint8_t zx = 128, zy = 128, x[4 * 5 * 6], y_low[6 * 10 * 12], y_sim[6 * 10 * 12];
    int8_t w[4 * 3 * 2 * 2];
    for (int i = 0; i < (int)sizeof(w); i++)
        w[i] = (int8_t)(i * 37 % 255 - 127);
    for (int i = 0; i < (int)sizeof(x); i++)
        x[i] = (uint8_t)(i * 53 % 256);
    struct oq_graph *g = gb_new(13);
    gb_input(g, "xq", OQ_DTYPE_UINT8, 4, xd);
    lh_init(g, "sx", OQ_DTYPE_FLOAT, 0, NULL, &sx);
    lh_init(g, "zx", OQ_DTYPE_UINT8, 0, NULL, &zx);
    lh_init(g, "wq", OQ_DTYPE_INT8, 4, wd, w);
    lh_init(g, "sw", OQ_DTYPE_FLOAT, 1, sd, sw);
    lh_init(g, "sy", OQ_DTYPE_FLOAT, 0, NULL, &sy);
    lh_init(g, "zy", OQ_DTYPE_UINT8, 0, NULL, &zy);
    gb_node(g, "DequantizeLinear", "dqx", 3, (const char *[]){"xq", "sx", "zx"}, 1, (const char *[]){"x"});
    gb_attr_int(gb_node(g, "DequantizeLinear", "dqw", 2, (const char *[]){"wq", "sw"}, 1, (const char *[]){"w"}),
                "axis", 1);
    struct oq_node *ct = gb_node(g, "ConvTranspose", "ct", 2, (const char *[]){"x", "w"}, 1,
                                 (const char *[]){"y"});
    gb_attr_ints(ct, "strides", 2, (int64_t[]){2, 2});
    gb_attr_int(ct, "group", 2);
    gb_node(g, "QuantizeLinear", "q", 3, (const char *[]){"y", "sy", "zy"}, 1, (const char *[]){"yq"});
    gb_output(g, "yq", OQ_DTYPE_UINT8, 4, yd);
    oq_model *m = NULL;
    oq_error err = {0};
    CHECK_OK(oq_model_from_graph(g, &m, &err), &err);
    struct lh_result res;
    ct_session(m, 1, OQ_KERNELS_AUTO, 1, 4, xd, x, y_low, (int64_t)sizeof(y_low), &res);
    CHECK_MSG(!strstr(res.ops, "QConvTranspose") && strstr(res.ops, "ConvTranspose"),
              "grouped per-channel: lowered session runs [%s]; expected the float ConvTranspose", res.ops);
    ct_session(m, 0, OQ_KERNELS_AUTO, 1, 4, xd, x, y_sim, (int64_t)sizeof(y_sim), &res);
    CHECK_MSG(!memcmp(y_low, y_sim, sizeof(y_low)), "grouped per-channel: results differ from the float "
              "simulation");
    oq_model_free(m);
}

int main(void) {
    const struct ct_geom cases[] = {
        /* name                               N  C   H   W   M  k  grp s  pad op dil per_ch bias  1-D   same */
        {"2x2 s2 per-channel (det head)",     1, 24, 13, 11, 24, 2, 1, 2, 0, 0, 1, true,  false, false, false},
        {"2x2 s2 M=1 per-tensor bias N=2",    2, 24, 12, 9,  1,  2, 1, 2, 0, 0, 1, false, true,  false, false},
        {"2x2 s2 op1 (uncovered edge)",       1, 8,  7,  6,  10, 2, 1, 2, 0, 1, 1, true,  true,  false, false},
        {"1x1 s2 (every other output)",       1, 5,  6,  7,  7,  1, 1, 2, 0, 0, 1, false, true,  false, false},
        {"2x2 s3 dil2 p1 (direct, gaps)",     1, 6,  5,  8,  4,  2, 1, 3, 1, 0, 2, true,  true,  false, false},
        {"2x2 s2 group 2 direct, 2 tiles",    1, 16, 120, 100, 12, 2, 2, 2, 0, 0, 1, false, true, false, false},
        {"3x3 s2 p1 op1 per-channel",         1, 8,  9,  10, 12, 3, 1, 2, 1, 1, 1, true,  true,  false, false},
        {"4x4 s2 p1 per-tensor N=2",          2, 6,  7,  8,  5,  4, 1, 2, 1, 0, 1, false, true,  false, false},
        {"3x3 s2 p1 group 2 per-tensor",      1, 8,  8,  7,  6,  3, 2, 2, 1, 0, 1, false, true,  false, false},
        {"3x3 s1 p1 2 blocks x 2 tiles",      1, 16, 40, 40, 16, 3, 1, 1, 1, 0, 1, true,  true,  false, false},
        {"4x4 s2 p1 no bias per-channel",     1, 12, 11, 13, 9,  4, 1, 2, 1, 0, 1, true,  false, false, false},
        {"3x3 s2 SAME_UPPER",                 1, 7,  6,  9,  5,  3, 1, 2, 0, 0, 1, true,  true,  false, true},
        {"1-D k4 s2 p1 N=2",                  2, 6,  1,  20, 4,  4, 1, 2, 1, 0, 1, true,  true,  true,  false},
        {"1-D k2 s2 (direct)",                1, 9,  1,  33, 3,  2, 1, 2, 0, 0, 1, false, false, true,  false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        test_geometry(&cases[i], 500 + i);
    test_grouped_per_channel_not_lowered();
    TEST_MAIN_END();
}
