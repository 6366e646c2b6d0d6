#include "kernels/dispatch.h"

#include "kernels/hist.h"

#include <stdlib.h>
#include <string.h>

void oq_cpu_detect(struct oq_cpu_features *f) {
    memset(f, 0, sizeof(*f));
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f->avx2 = __builtin_cpu_supports("avx2");
    f->fma = __builtin_cpu_supports("fma");
    f->avx512f = __builtin_cpu_supports("avx512f");
    f->avx512bw = __builtin_cpu_supports("avx512bw");
    f->avx512vl = __builtin_cpu_supports("avx512vl");
    f->avx512dq = __builtin_cpu_supports("avx512dq");
    f->avx512vnni = __builtin_cpu_supports("avx512vnni");
    f->avx512vbmi = __builtin_cpu_supports("avx512vbmi");
#endif
}

static oq_kernel_level level_from_env(void) {
    const char *e = getenv("ONNXQ_KERNELS");
    if (!e || !*e)
        return OQ_KERNELS_AUTO;
    if (strcmp(e, "ref") == 0)
        return OQ_KERNELS_REF;
    if (strcmp(e, "avx2") == 0)
        return OQ_KERNELS_AVX2;
    if (strcmp(e, "avx512") == 0 || strcmp(e, "avx512vnni") == 0)
        return OQ_KERNELS_AVX512;
    return OQ_KERNELS_AUTO;
}

void oq_kernels_init(struct oq_kernels *k, oq_kernel_level requested) {
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    oq_kernel_level best = OQ_KERNELS_REF;
    if (f.avx2 && f.fma)
        best = OQ_KERNELS_AVX2;
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq)
        best = OQ_KERNELS_AVX512;
    if (requested == OQ_KERNELS_AUTO)
        requested = level_from_env();
    oq_kernel_level lvl = requested == OQ_KERNELS_AUTO || requested > best ? best : requested;
    memset(k, 0, sizeof(*k));
    k->level = lvl;
    k->sgemm = oq_sgemm_ref;
    k->sgemm_name = "ref";
    k->dwconv = oq_dwconv_ref;
    k->dwconv_name = "ref";
    k->im2col = oq_im2col_ref;
    k->col2im = lvl == OQ_KERNELS_REF ? oq_col2im_ref : oq_col2im_rows;
    k->act_row = oq_act_row_ref;
    k->qgemm = oq_qgemm_ref;
    k->qgemm_name = "ref";
    k->qdwconv = oq_qdwconv_ref;
    k->qim2col = oq_qim2col_ref;
    k->lut_u8 = oq_lut_u8_ref;
    k->lut_name = "ref";
    if (lvl >= OQ_KERNELS_AVX2) {
        k->qgemm = oq_qgemm_avx2;
        k->qgemm_name = "avx2";
        k->qdwconv = oq_qdwconv_avx2;
        k->qim2col = oq_qim2col_fast;
    }
    if (lvl >= OQ_KERNELS_AVX512 && f.avx512vnni) {
        k->qgemm = oq_qgemm_avx512vnni;
        k->qgemm_name = "avx512vnni";
        k->qdwconv = oq_qdwconv_avx512vnni;
    }
    if (lvl >= OQ_KERNELS_AVX512 && f.avx512vbmi) {
        k->lut_u8 = oq_lut_u8_avx512vbmi;
        k->lut_name = "avx512vbmi";
        if (f.avx512vnni) /* vpermb + vpdpbusd; CPUs without VBMI keep the VNNI kernel */
            k->qdwconv = oq_qdwconv_avx512vbmi;
    }
    if (lvl >= OQ_KERNELS_AVX512) {
        k->sgemm = oq_sgemm_avx512;
        k->sgemm_name = "avx512";
        k->dwconv = oq_dwconv_avx512;
        k->dwconv_name = "avx512";
        k->im2col = oq_im2col_avx512;
        k->act_row = oq_act_row_avx512;
    }
#if defined(ONNXQ_WITH_DNNL)
    /* oneDNN picks its own ISA at run time (it runs on any x86-64), so it serves every level above ref and
     * beats our own AVX-512 kernel at model shapes (bench/bench_sgemm.c) except the smallest GEMMs, which
     * go to sgemm_small. */
    if (lvl >= OQ_KERNELS_AVX2) {
        oq_sgemm_dnnl_init(k);
        k->sgemm_small = lvl >= OQ_KERNELS_AVX512 ? oq_sgemm_avx512 : NULL;
        k->sgemm = oq_sgemm_dnnl;
        k->sgemm_name = "dnnl";
    }
#endif
}

void oq_hist_kernels_select(struct oq_hist_kernels *k) {
    struct oq_cpu_features f;
    oq_cpu_detect(&f);
    bool avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    oq_kernel_level lvl = level_from_env();
    k->scan = oq_hist_scan_ref;
    k->count = oq_hist_count_ref;
    k->name = "ref";
    if (avx512 && (lvl == OQ_KERNELS_AUTO || lvl >= OQ_KERNELS_AVX512)) {
        k->scan = oq_hist_scan_avx512;
        k->count = oq_hist_count_avx512;
        k->name = "avx512";
    }
}
