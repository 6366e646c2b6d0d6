/* ReduceL2: the square root of the sum of squares over the given axes, float (reduce.h: axes are an attribute
 * before opset 18 and input 1 from 18; keepdims, noop_with_empty_axes). */
#include <stdlib.h>

#include "ops/reduce.h"

OQ_REDUCE_OP(reducel2, "ReduceL2", OQ_REDUCE_L2, 18)
