/* ReduceSum: the sum over the given axes, float (reduce.h: axes are an attribute before opset 13 and
 * input 1 from 13; keepdims, noop_with_empty_axes). */
#include <stdlib.h>

#include "ops/reduce.h"

OQ_REDUCE_OP(reducesum, "ReduceSum", OQ_REDUCE_SUM, 13)
