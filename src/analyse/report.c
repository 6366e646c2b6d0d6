#include "analyse/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/onnx_io.h"

enum { CHART_W = 960, CHART_H = 220, PAD_L = 50, PAD_R = 10, PAD_T = 10, PAD_B = 24 };

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double finite_or(double v, double cap) { return isfinite(v) ? v : (v > 0 ? cap : -cap); }

static double px(int i, int n) { return PAD_L + (CHART_W - PAD_L - PAD_R) * (n > 1 ? (double)i / (n - 1) : 0.5); }
static double py(double v, double lo, double hi) {
    double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return PAD_T + (CHART_H - PAD_T - PAD_B) * (1 - t);
}

static void axis(FILE *f, double lo, double hi, const char *label, int n) {
    fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#888'/>", PAD_L, PAD_T, PAD_L, CHART_H - PAD_B);
    fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#888'/>", PAD_L, CHART_H - PAD_B, CHART_W - PAD_R,
            CHART_H - PAD_B);
    for (int k = 0; k <= 4; k++) {
        double v = lo + (hi - lo) * k / 4;
        fprintf(f, "<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%.4g</text>", PAD_L - 4,
                py(v, lo, hi) + 3, v);
    }
    fprintf(f, "<text x='%d' y='%d' font-size='11'>%s</text>", PAD_L + 4, PAD_T + 10, label);
    fprintf(f, "<text x='%d' y='%d' font-size='10' text-anchor='end'>layer (execution order, %d)</text>",
            CHART_W - PAD_R, CHART_H - 6, n);
}

static void polyline(FILE *f, const double *v, int n, double lo, double hi, const char *color) {
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.2' points='", color);
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            fprintf(f, "%.1f,%.1f ", px(i, n), py(v[i], lo, hi));
    fprintf(f, "'/>");
}

static void chart_cosine(FILE *f, const struct oq_compare_layer *L, int n, double thr) {
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1)), lo = thr;
    for (int i = 0; v && i < n; i++) {
        v[i] = L[i].cosine;
        lo = v[i] < lo ? v[i] : lo;
    }
    lo -= (1 - lo) * 0.1 + 1e-6;
    fprintf(f, "<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>", CHART_W, CHART_H);
    axis(f, lo, 1, "cosine similarity to FP32 (red dashed: threshold)", n);
    fprintf(f, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#d22' stroke-dasharray='5,4'/>", PAD_L,
            CHART_W - PAD_R, py(thr, lo, 1), py(thr, lo, 1));
    if (v)
        polyline(f, v, n, lo, 1, "#1f5fbf");
    for (int i = 0; v && i < n; i++)
        if (v[i] < thr)
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='#d22'><title>", px(i, n), py(v[i], lo, 1)),
                esc(f, L[i].tensor), fprintf(f, "</title></circle>");
    fprintf(f, "</svg>\n");
    free(v);
}

static void chart_sqnr(FILE *f, const struct oq_compare_layer *L, int n) {
    double *v = malloc(sizeof(double) * 3 * (size_t)(n ? n : 1)), hi = 1, lo = 0;
    if (!v)
        return;
    bool split = n > 0 && L[0].split;
    for (int i = 0; i < n; i++) {
        v[i] = L[i].sqnr_db;
        v[n + i] = split ? L[i].sqnr_weights_db : NAN;
        v[2 * n + i] = split ? L[i].sqnr_acts_db : NAN;
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k * n + i]) && v[k * n + i] > hi)
                hi = v[k * n + i];
    }
    hi = ceil(hi / 10) * 10;
    for (int i = 0; i < 3 * n; i++)
        v[i] = isnan(v[i]) ? NAN : finite_or(v[i], hi);
    fprintf(f, "<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>", CHART_W, CHART_H);
    axis(f, lo, hi, split ? "SQNR dB (bars: quantized model; blue: weights only; orange: activations only)"
                          : "SQNR dB per layer", n);
    double bw = (CHART_W - PAD_L - PAD_R) / (double)(n ? n : 1);
    for (int i = 0; i < n; i++) {
        double y = py(v[i] < 0 ? 0 : v[i], lo, hi);
        fprintf(f, "<rect x='%.1f' y='%.1f' width='%.2f' height='%.1f' fill='%s'><title>", px(i, n) - bw / 2, y,
                bw * 0.9, CHART_H - PAD_B - y, L[i].quantized ? "#7a9cc6" : "#c8c8c8");
        esc(f, L[i].tensor);
        fprintf(f, ": %.2f dB</title></rect>", L[i].sqnr_db);
    }
    if (split) {
        polyline(f, v + n, n, lo, hi, "#1f3fbf");
        polyline(f, v + 2 * n, n, lo, hi, "#e07b00");
    }
    fprintf(f, "</svg>\n");
    free(v);
}

static void chart_hist(FILE *f, const struct oq_compare_layer *L) {
    const int W = 460, H = 170, B = OQ_COMPARE_BINS;
    double mx = 1;
    for (int b = 0; b < B; b++)
        mx = log10((double)L->hist[b] + 1) > mx ? log10((double)L->hist[b] + 1) : mx;
    fprintf(f, "<figure style='display:inline-block;margin:6px'><svg width='%d' height='%d' "
               "xmlns='http://www.w3.org/2000/svg'>", W, H);
    double span = L->hist_hi - L->hist_lo, x0 = 30, w = W - 40, h = H - 30;
    for (int b = 0; b < B; b++) {
        double bh = h * log10((double)L->hist[b] + 1) / mx;
        double lo_b = L->hist_lo + span * b / B;
        bool out = lo_b + span / B <= L->q_lo || lo_b >= L->q_hi;
        fprintf(f, "<rect x='%.1f' y='%.1f' width='%.2f' height='%.1f' fill='%s'/>", x0 + w * b / B, 10 + h - bh,
                w / B * 0.9, bh, out ? "#d98c8c" : "#6d8fc2");
    }
    for (int k = 0; k < 2; k++) {
        double v = k ? L->q_hi : L->q_lo, x = x0 + w * (v - L->hist_lo) / span;
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='8' y2='%.1f' stroke='#d22' stroke-width='1.5'/>"
                   "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%.3g</text>", x, x, 10 + h, x, H - 4, v);
    }
    fprintf(f, "<text x='%.1f' y='%d' font-size='10' text-anchor='end'>log count</text></svg><figcaption "
               "style='font-size:12px'>", x0 + w, 18);
    esc(f, L->tensor);
    fprintf(f, " (%s): SQNR %.2f dB, clipped %.3f%%; red lines: the quantizer's range</figcaption></figure>\n",
            L->op, L->sqnr_db, 100 * L->clipped);
}

static int by_sqnr(const void *a, const void *b) {
    double x = (*(const struct oq_compare_layer *const *)a)->sqnr_db;
    double y = (*(const struct oq_compare_layer *const *)b)->sqnr_db;
    return x < y ? -1 : x > y;
}

static void table_row_md(FILE *f, const struct oq_compare_layer *L, double thr) {
    fprintf(f, "| %s | %s | %.5f | %.2f | %.5f | %.4g | %.3f%% |", L->tensor, L->op, L->cosine, L->sqnr_db,
            L->rel_l2, L->max_abs, 100 * L->clipped);
    if (L->split)
        fprintf(f, " %.2f | %.2f |", L->sqnr_weights_db, L->sqnr_acts_db);
    fprintf(f, "%s\n", L->cosine < thr ? " **below** |" : " |");
}

static void table_row_html(FILE *f, const struct oq_compare_layer *L, double thr) {
    fprintf(f, "<tr%s><td>", L->cosine < thr ? " class='bad'" : "");
    esc(f, L->tensor);
    fprintf(f, "</td><td>%s</td><td>%.5f</td><td>%.2f</td><td>%.5f</td><td>%.4g</td><td>%.3f%%</td>", L->op,
            L->cosine, L->sqnr_db, L->rel_l2, L->max_abs, 100 * L->clipped);
    if (L->split)
        fprintf(f, "<td>%.2f</td><td>%.2f</td>", L->sqnr_weights_db, L->sqnr_acts_db);
    fprintf(f, "</tr>\n");
}

static oq_status flush(FILE *f, char **buf, size_t *len, const char *path, oq_error *err) {
    if (fclose(f))
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory writing '%s'", path);
    oq_status st = oq_write_file_atomic(path, *buf, *len, err);
    free(*buf);
    *buf = NULL;
    return st;
}

oq_status oq_report_write(const struct oq_compare *c, const struct oq_report_info *info, const char *dir,
                          oq_error *err) {
    if (mkdir(dir, 0777) && errno != EEXIST)
        return oq_errorf(err, OQ_ERR_IO, "cannot create report folder '%s': %s", dir, strerror(errno));
    int n = oq_compare_num_layers(c), worst = info->worst > 0 ? info->worst : 6;
    struct oq_compare_layer *L = calloc((size_t)n + 1, sizeof(*L));
    const struct oq_compare_layer **q = calloc((size_t)n + 1, sizeof(*q));
    if (!L || !q) {
        free(L), free(q);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    int nq = 0, flagged = 0, nfl = 0;
    for (int i = 0; i < n; i++) {
        oq_compare_layer_at(c, i, &L[i]);
        if (L[i].quantized)
            q[nq++] = &L[i];
        flagged += L[i].cosine < info->threshold;
        nfl += L[i].left_float;
    }
    qsort(q, (size_t)nq, sizeof(*q), by_sqnr);
    if (worst > nq)
        worst = nq;
    bool split = n > 0 && L[0].split;
    char path[4096], *buf = NULL;
    size_t len = 0;
    oq_status st = OQ_OK;

    /* Markdown */
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        free(L), free(q);
        return oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    }
    fprintf(f, "# Quantization report\n\n- FP32 model: `%s`\n- quantized model: `%s`\n- data: %s, %lld samples\n"
               "- %d tensors compared, %d quantized; **%d below cosine %.4g**\n\n",
            info->fp32_path, info->quant_path, info->data, (long long)info->samples, n, nq, flagged, info->threshold);
    const char *hdr = split ? "| tensor | op | cosine | SQNR dB | rel L2 | max abs | clipped | w-only dB | a-only dB | |\n"
                              "|---|---|---|---|---|---|---|---|---|---|\n"
                            : "| tensor | op | cosine | SQNR dB | rel L2 | max abs | clipped | |\n"
                              "|---|---|---|---|---|---|---|---|\n";
    fprintf(f, "## Layers left in float (%d)\n\n", nfl); /* what `onnxq tune` or --skip returned to float */
    for (int i = 0; i < n; i++)
        if (L[i].left_float)
            fprintf(f, "- `%s` (%s)\n", L[i].node, L[i].op);
    fprintf(f, "%s## The %d worst quantized layers (lowest SQNR)\n\n%s", nfl ? "\n" : "none\n\n", worst, hdr);
    for (int i = 0; i < worst; i++)
        table_row_md(f, q[i], info->threshold);
    fprintf(f, "\n## Every layer, in execution order\n\n%s", hdr);
    for (int i = 0; i < n; i++)
        table_row_md(f, &L[i], info->threshold);
    snprintf(path, sizeof(path), "%s/report.md", dir);
    st = flush(f, &buf, &len, path, err);

    /* HTML */
    if (!st && !(f = open_memstream(&buf, &len)))
        st = oq_errorf(err, OQ_ERR_NOMEM, "out of memory");
    if (!st) {
        fprintf(f, "<!DOCTYPE html><html><head><meta charset='utf-8'><title>onnxq quantization report</title><style>"
                   "body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;font-size:12px}"
                   "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}"
                   "tr.bad{background:#fbe3e3}h2{margin-top:28px}</style></head><body>\n<h1>Quantization report</h1>"
                   "<p>FP32 model: <code>");
        esc(f, info->fp32_path);
        fprintf(f, "</code><br>quantized model: <code>");
        esc(f, info->quant_path);
        fprintf(f, "</code><br>data: ");
        esc(f, info->data);
        fprintf(f, ", %lld samples<br>%d tensors compared, %d quantized; <b>%d below cosine %.4g</b></p>\n",
                (long long)info->samples, n, nq, flagged, info->threshold);
        fprintf(f, "<h2>Layers left in float (%d)</h2><p>", nfl);
        for (int i = 0, k = 0; i < n; i++)
            if (L[i].left_float) {
                fprintf(f, "%s<code>", k++ ? ", " : "");
                esc(f, L[i].node);
                fprintf(f, "</code> (%s)", L[i].op);
            }
        fprintf(f, "%s</p>\n<h2>Per layer</h2>\n", nfl ? "" : "none");
        chart_cosine(f, L, n, info->threshold);
        chart_sqnr(f, L, n);
        fprintf(f, "<h2>Activation histograms of the %d worst quantized layers</h2>\n", worst);
        for (int i = 0; i < worst; i++)
            chart_hist(f, q[i]);
        const char *th = split ? "<tr><th>tensor</th><th>op</th><th>cosine</th><th>SQNR dB</th><th>rel L2</th>"
                                 "<th>max abs</th><th>clipped</th><th>w-only dB</th><th>a-only dB</th></tr>\n"
                               : "<tr><th>tensor</th><th>op</th><th>cosine</th><th>SQNR dB</th><th>rel L2</th>"
                                 "<th>max abs</th><th>clipped</th></tr>\n";
        fprintf(f, "<h2>The worst quantized layers</h2><table>%s", th);
        for (int i = 0; i < worst; i++)
            table_row_html(f, q[i], info->threshold);
        fprintf(f, "</table><h2>Every layer</h2><table>%s", th);
        for (int i = 0; i < n; i++)
            table_row_html(f, &L[i], info->threshold);
        fprintf(f, "</table></body></html>\n");
        snprintf(path, sizeof(path), "%s/report.html", dir);
        st = flush(f, &buf, &len, path, err);
    }
    free(L);
    free(q);
    return st;
}
