/* The op registry is sorted, unique, complete (no declared op missing) and lookups honour opset ranges. */
#include <string.h>

#include "ops/op.h"
#include "test_util.h"

int main(void) {
    int n = 0;
    const struct oq_op_def *const *reg = oq_op_registry(&n);
    CHECK(n > 40);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(reg[i] != NULL, "registry entry %d is declared but no op file defines it", i);
        if (!reg[i])
            continue;
        CHECK_MSG(reg[i]->infer && reg[i]->run, "op %s lacks infer/run", reg[i]->name);
        CHECK_MSG(reg[i]->since >= 1 && reg[i]->since <= reg[i]->until, "op %s has a bad opset range", reg[i]->name);
        if (i > 0 && reg[i - 1]) {
            int c = strcmp(reg[i - 1]->domain, reg[i]->domain);
            if (!c)
                c = strcmp(reg[i - 1]->name, reg[i]->name);
            if (!c)
                c = reg[i - 1]->until < reg[i]->since ? -1 : 0;
            CHECK_MSG(c < 0, "registry not sorted/unique at %s.%s", reg[i]->domain, reg[i]->name);
        }
        CHECK(oq_op_find(reg[i]->domain, reg[i]->name, reg[i]->since) == reg[i]);
        CHECK(oq_op_find("ai.onnx", reg[i]->name, reg[i]->since) == (*reg[i]->domain ? NULL : reg[i]));
    }
    CHECK(oq_op_find("", "NoSuchOp", 13) == NULL);
    CHECK(oq_op_find("", "Relu", OQ_OPSET_MAX + 1) == NULL);
    TEST_MAIN_END();
}
