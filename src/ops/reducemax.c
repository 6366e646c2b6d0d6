/* ReduceMax: the maximum over the given axes, float (reduce.h: axes are an attribute before opset 18 and
 * input 1 from 18; keepdims, noop_with_empty_axes). */
#include <stdlib.h>

#include "ops/reduce.h"

OQ_REDUCE_OP(reducemax, "ReduceMax", OQ_REDUCE_MAX, 18)
