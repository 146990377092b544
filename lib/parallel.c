// SPDX-License-Identifier: LGPL-2.1-or-later
#include "parallel.h"

#include <pthread.h>

void sf_parallel_run(unsigned threads, void *(*fn)(void *), void *arg)
{
	pthread_t tid[SF_PARALLEL_MAX];
	unsigned started = 0;

	if (threads > SF_PARALLEL_MAX)
		threads = SF_PARALLEL_MAX;
	while (started + 1 < threads &&
	       pthread_create(&tid[started], NULL, fn, arg) == 0)
		started++;
	fn(arg);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

void sf_parallel_error(atomic_int *err, int r)
{
	int zero = 0;

	if (r < 0)
		atomic_compare_exchange_strong(err, &zero, r);
}

struct pfor {
	int (*fn)(void *arg, uint32_t i);
	void *arg;
	uint32_t n;
	atomic_uint next;
	atomic_int err;
};

static void *pfor_worker(void *p)
{
	struct pfor *job = p;
	uint32_t i;

	while (atomic_load(&job->err) == 0 &&
	       (i = atomic_fetch_add(&job->next, 1)) < job->n)
		sf_parallel_error(&job->err, job->fn(job->arg, i));
	return NULL;
}

int sf_parallel_for(unsigned threads, uint32_t n,
		    int (*fn)(void *arg, uint32_t i), void *arg)
{
	struct pfor job = { .fn = fn, .arg = arg, .n = n };

	sf_parallel_run(threads, pfor_worker, &job);
	return atomic_load(&job.err);
}
