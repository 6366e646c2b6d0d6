/* Equal: y = (a == b) as bool (1 byte), numpy broadcasting; float, every integer type and bool. Float
 * comparison is IEEE (NaN != NaN). */
#include "ops/elementwise.h"

OQ_EW_BINARY_ROW(equal_f32, float, uint8_t, a == b)
#define ROW(sfx, T, DT) OQ_EW_BINARY_ROW(equal_##sfx, T, uint8_t, a == b)
OQ_EW_INT_TYPES(ROW)
OQ_EW_BINARY_ROW(equal_bool, uint8_t, uint8_t, (a != 0) == (b != 0))
#define ENTRY(sfx, T, DT) {DT, equal_##sfx},
static const struct oq_ew_kernel equal_kernels[] = {{OQ_DTYPE_FLOAT, equal_f32},
                                                    OQ_EW_INT_TYPES(ENTRY){OQ_DTYPE_BOOL, equal_bool}};
enum { EQUAL_NK = sizeof(equal_kernels) / sizeof(equal_kernels[0]) };

static oq_status equal_check(const struct oq_node *n, const struct oq_graph *g, oq_error *err) {
    return oq_check_arity(n, err, 2, 2, 1, 1);
}

static oq_status equal_infer(struct oq_op_ctx *ctx) {
    return oq_ew_binary_infer(ctx, equal_kernels, EQUAL_NK, OQ_DTYPE_BOOL);
}

static oq_status equal_run(struct oq_op_ctx *ctx) {
    return oq_ew_binary_run(ctx, equal_kernels, EQUAL_NK);
}

const struct oq_op_def oq_op_equal = {
    .domain = "",
    .name   = "Equal",
    .since  = 1,
    .until  = OQ_OPSET_MAX,
    .check  = equal_check,
    .infer  = equal_infer,
    .run    = equal_run,
};
