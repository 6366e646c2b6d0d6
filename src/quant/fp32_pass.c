#include "quant/fp32_pass.h"

#include "core/status.h"

/* The visitor's own message when it gave one, else a generic one. */
static oq_status stopped(const oq_model *m, const struct oq_fp32_pass *p, oq_status st, oq_error *err) {
    if (p->user_err && p->user_err->code) {
        if (err)
            *err = *p->user_err;
        return p->user_err->code;
    }
    return st ? st : oq_errorf(err, OQ_ERR_CANCELLED, "%s: a pass over the calibration data was stopped by its "
                               "visitor without a reason; report this as a bug", m->path ? m->path : "model");
}

oq_status oq_fp32_pass_run(const oq_model *m, struct oq_data_source *src, const struct oq_fp32_pass *p,
                           int64_t *batches, oq_error *err) {
    oq_session_options so = {.num_threads = p->threads, .no_fusion = 1, .hook = p->hook, .hook_user = p->user};
    oq_session *s = NULL;
    OQ_TRY(oq_session_create(m, &so, &s, err));
    oq_data_rewind(src);
    oq_status st = OQ_OK;
    *batches = 0;
    int ni = oq_model_num_inputs(m);
    while (!st) {
        const oq_tensor_ref *batch;
        int count;
        if ((st = oq_data_next(src, &batch, &count, err)) || count == 0)
            break;
        for (int i = 0; p->input && i < ni && !st; i++)
            if (p->input(p->user, &batch[i]))
                st = stopped(m, p, OQ_OK, err);
        if (!st && (st = oq_session_run(s, ni, batch, err)) == OQ_ERR_CANCELLED)
            st = stopped(m, p, st, err);
        if (!st)
            ++*batches;
    }
    oq_session_free(s);
    return st;
}
