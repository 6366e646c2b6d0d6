#include "core/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/status.h"

struct oq_pool {
    int n;                 /* threads including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t gen;  /* bumped once per job */
    _Atomic int pending;   /* workers still running the current job */
    _Atomic int quit;
    oq_task_fn fn;
    void *arg;
    int nth;
};

struct worker_arg {
    struct oq_pool *p;
    int ith;
};

enum { SPIN_ITERS = 20000 };

static void *worker_main(void *varg) {
    struct worker_arg *wa = varg;
    struct oq_pool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    uint64_t seen = 0;
    for (;;) {
        uint64_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) {
            if (atomic_load(&p->quit))
                return NULL;
            if (++spins < SPIN_ITERS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        seen = g;
        if (ith < p->nth)
            p->fn(p->arg, ith, p->nth);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
}

oq_status oq_pool_create(int num_threads, struct oq_pool **out, oq_error *err) {
    *out = NULL;
    if (num_threads < 1)
        num_threads = 1;
    struct oq_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return oq_errorf(err, OQ_ERR_NOMEM, "thread pool: out of memory");
    p->n = num_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (num_threads > 1) {
        p->threads = calloc((size_t)num_threads - 1, sizeof(pthread_t));
        if (!p->threads) {
            oq_pool_free(p);
            return oq_errorf(err, OQ_ERR_NOMEM, "thread pool: out of memory");
        }
        for (int i = 1; i < num_threads; i++) {
            /* the worker owns and frees its argument: fill it before the thread can read it */
            struct worker_arg *wa = malloc(sizeof(*wa));
            if (wa) {
                wa->p = p;
                wa->ith = i;
            }
            if (!wa || pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                p->n = i; /* only i-1 workers exist */
                oq_pool_free(p);
                return oq_errorf(err, OQ_ERR_NOMEM, "thread pool: cannot start thread %d of %d", i,
                                 num_threads);
            }
        }
    }
    *out = p;
    return OQ_OK;
}

void oq_pool_free(struct oq_pool *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i - 1], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int oq_pool_size(const struct oq_pool *p) { return p ? p->n : 1; }

void oq_pool_run(struct oq_pool *p, oq_task_fn fn, void *arg, int nth) {
    if (!p || p->n == 1 || nth <= 1) {
        fn(arg, 0, 1);
        return;
    }
    if (nth > p->n)
        nth = p->n;
    p->fn = fn;
    p->arg = arg;
    p->nth = nth;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_release);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, nth);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        sched_yield();
#endif
    }
}
