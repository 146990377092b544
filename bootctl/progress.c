// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Progress of staging: on a terminal a bar redrawn in place on stderr, else
 * a plain line every 10% on stdout (logs, pipes, tests).
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 30

void progress_init(struct progress *p, const char *what)
{
	*p = (struct progress){ .what = what, .tty = isatty(STDERR_FILENO) };
	pthread_mutex_init(&p->lock, NULL);
}

static void draw_bar(const struct progress *p, unsigned pct, uint64_t done,
		     uint64_t total)
{
	char bar[BAR_WIDTH + 1];
	unsigned fill = pct * BAR_WIDTH / 100;

	for (unsigned i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%-10s [%s] %3u%% %7.1f/%.1f MiB", p->what, bar, pct,
		(double)done / (1 << 20), (double)total / (1 << 20));
	fflush(stderr);
}

void progress_update(void *data, uint64_t done, uint64_t total)
{
	struct progress *p = data;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	pthread_mutex_lock(&p->lock);
	if (p->tty && (pct > p->last || !p->done)) {
		draw_bar(p, pct, done, total);
		p->done = true; /* drawn at least once */
		p->last = pct;
	} else if (!p->tty && pct / 10 > p->last) {
		p->last = pct / 10;
		printf("%s: %u%%\n", p->what, p->last * 10);
		fflush(stdout);
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_end(struct progress *p)
{
	if (p->tty && p->done)
		fputc('\n', stderr);
	pthread_mutex_destroy(&p->lock);
}
