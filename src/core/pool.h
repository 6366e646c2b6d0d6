/* A fixed thread pool for data-parallel loops. oq_pool_run(p, fn, arg, nth) calls fn(arg, ith, nth) for
 * ith in [0, nth) and returns when all are done; the calling thread runs ith = 0. Workers spin briefly
 * before sleeping, so back-to-back small ops do not pay a futex round trip each. */
#ifndef ONNXQ_CORE_POOL_H
#define ONNXQ_CORE_POOL_H

#include <stdint.h>

#include "onnxq/onnxq.h"

struct oq_pool;
typedef void (*oq_task_fn)(void *arg, int ith, int nth);

oq_status oq_pool_create(int num_threads, struct oq_pool **out, oq_error *err);
void oq_pool_free(struct oq_pool *p);
/* Number of threads including the caller; 1 for a NULL pool. */
int oq_pool_size(const struct oq_pool *p);
/* Run fn on nth threads (clamped to [1, pool size]); with a NULL pool runs fn(arg, 0, 1). */
void oq_pool_run(struct oq_pool *p, oq_task_fn fn, void *arg, int nth);

/* Split [0, n) evenly into nth parts; part ith is [*begin, *end). */
static inline void oq_split(int64_t n, int ith, int nth, int64_t *begin, int64_t *end) {
    int64_t q = n / nth, r = n % nth;
    *begin = ith * q + (ith < r ? ith : r);
    *end = *begin + q + (ith < r ? 1 : 0);
}

/* How many threads to use for `work` units when each thread should get at least `min_per_thread`. */
static inline int oq_pool_threads_for(const struct oq_pool *p, int64_t work, int64_t min_per_thread) {
    int n = oq_pool_size(p);
    int64_t want = min_per_thread > 0 ? work / min_per_thread : n;
    if (want < 1)
        want = 1;
    return want < n ? (int)want : n;
}

#endif
