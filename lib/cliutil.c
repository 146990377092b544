// SPDX-License-Identifier: LGPL-2.1-or-later
#include "cliutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 30

void sf_progress_init(struct sf_progress *p, const char *what, bool lines)
{
	*p = (struct sf_progress){ .what = what,
				   .tty = isatty(STDERR_FILENO),
				   .lines = lines };
	pthread_mutex_init(&p->lock, NULL);
}

static void draw_bar(const struct sf_progress *p, unsigned pct, uint64_t done,
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

void sf_progress_update(void *data, uint64_t done, uint64_t total)
{
	struct sf_progress *p = data;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	if (pct > 100)
		pct = 100;
	pthread_mutex_lock(&p->lock);
	if (p->tty && (pct > p->last || !p->drawn)) {
		draw_bar(p, pct, done, total);
		p->drawn = true;
		p->last = pct;
	} else if (!p->tty && p->lines && pct / 10 > p->last) {
		p->last = pct / 10;
		printf("%s: %u%%\n", p->what, p->last * 10);
		fflush(stdout);
	}
	pthread_mutex_unlock(&p->lock);
}

void sf_progress_end(struct sf_progress *p)
{
	if (p->tty && p->drawn)
		fputc('\n', stderr);
	pthread_mutex_destroy(&p->lock);
}

bool sf_parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return false;
	*ret = v;
	return true;
}
