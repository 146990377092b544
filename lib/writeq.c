// SPDX-License-Identifier: LGPL-2.1-or-later
#include "writeq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "manifest.h"

struct write_req {
	struct write_req *next;
	uint64_t offset;
	size_t len;
	uint8_t *data;
};

struct sf_writeq {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a write was queued, or the queue closes */
	pthread_cond_t room; /* a write was made */
	struct write_req *head, *tail;
	size_t queued; /* bytes queued or being written */
	size_t max_bytes;
	bool closing;
	int err; /* of the first write that failed */
	int fd;
	unsigned flags;
	unsigned started;
	pthread_t tid[SF_WRITEQ_THREADS_MAX];
};

static void req_free(struct write_req *rq)
{
	free(rq->data);
	free(rq);
}

static int write_one(const struct sf_writeq *q, const struct write_req *rq)
{
	int r = pwrite_full(q->fd, rq->data, rq->len, rq->offset);

	if (r >= 0 && (q->flags & SF_WRITEQ_WRITEBACK))
		writeback_start(q->fd, rq->offset, rq->len);
	return r;
}

/* Take the next write, make it unless one failed before, until closed. */
static void *writer_run(void *arg)
{
	struct sf_writeq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct write_req *rq;
		bool failed;
		int r = 0;

		while (!q->head && !q->closing)
			pthread_cond_wait(&q->work, &q->lock);
		rq = q->head;
		if (!rq)
			break;
		q->head = rq->next;
		if (!q->head)
			q->tail = NULL;
		failed = q->err != 0;
		pthread_mutex_unlock(&q->lock);
		if (!failed)
			r = write_one(q, rq);
		pthread_mutex_lock(&q->lock);
		if (r < 0 && !q->err)
			q->err = r;
		q->queued -= rq->len;
		pthread_cond_broadcast(&q->room);
		req_free(rq);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int sf_writeq_start(struct sf_writeq **ret, int fd, unsigned threads,
		    size_t max_bytes, unsigned flags)
{
	struct sf_writeq *q;
	int r = 0;

	if (threads == 0 || threads > SF_WRITEQ_THREADS_MAX)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->room, NULL);
	q->fd = fd;
	q->flags = flags;
	q->max_bytes = max_bytes;
	while (q->started < threads && r == 0) {
		r = pthread_create(&q->tid[q->started], NULL, writer_run, q);
		if (r == 0)
			q->started++;
	}
	if (q->started == 0) {
		sf_writeq_finish(q);
		return -r;
	}
	*ret = q;
	return 0;
}

int sf_writeq_add(struct sf_writeq *q, const void *data, size_t len,
		  uint64_t offset)
{
	size_t room = (len + SF_BLOCK_SIZE - 1) / SF_BLOCK_SIZE * SF_BLOCK_SIZE;
	struct write_req *rq = calloc(1, sizeof(*rq));
	int r;

	if (rq)
		rq->data = aligned_alloc(SF_BLOCK_SIZE, room ? room : 1);
	if (!rq || !rq->data) {
		free(rq);
		return -ENOMEM;
	}
	memcpy(rq->data, data, len);
	rq->len = len;
	rq->offset = offset;
	pthread_mutex_lock(&q->lock);
	while (!q->err && q->queued > 0 && q->queued + len > q->max_bytes)
		pthread_cond_wait(&q->room, &q->lock);
	r = q->err;
	if (r == 0) {
		if (q->tail)
			q->tail->next = rq;
		else
			q->head = rq;
		q->tail = rq;
		q->queued += len;
		pthread_cond_signal(&q->work);
	}
	pthread_mutex_unlock(&q->lock);
	if (r != 0) /* not queued */
		req_free(rq);
	return r;
}

int sf_writeq_finish(struct sf_writeq *q)
{
	int r;

	pthread_mutex_lock(&q->lock);
	q->closing = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->started; i++)
		pthread_join(q->tid[i], NULL);
	r = q->err;
	pthread_cond_destroy(&q->room);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return r;
}
