// SPDX-License-Identifier: LGPL-2.1-or-later
#include "initplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "partdev.h"

/* An option in seconds: 1 to 3600. Returns 1 if @key is bad. */
static int seconds(const char *cmdline, const char *key, unsigned *val)
{
	char buf[16], *end;
	unsigned long v;

	if (sf_cmdline_value(cmdline, key, buf, sizeof(buf)) == -ENOENT)
		return 0;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (!buf[0] || *end || errno || v == 0 || v > 3600 || buf[0] == '-')
		return 1;
	*val = (unsigned)v;
	return 0;
}

static void add_bad(char *bad, size_t size, const char *key)
{
	size_t n = strlen(bad);

	snprintf(bad + n, size - n, "%s%s", n ? " " : "", key);
}

void sf_init_opts_parse(const char *cmdline, struct sf_init_opts *ret,
			char *bad, size_t bad_size)
{
	static const char *const keys[] = { "slotflip.timeout",
					    "slotflip.watchdog",
					    "slotflip.fail-delay" };
	struct sf_init_opts o = { .timeout_s = 10,
				  .watchdog_s = 30,
				  .fail_delay_s = 10,
				  .init = "/sbin/init" };
	unsigned *vals[] = { &o.timeout_s, &o.watchdog_s, &o.fail_delay_s };
	char init[sizeof(o.init)];
	int r;

	bad[0] = '\0';
	for (size_t i = 0; i < 3; i++)
		if (seconds(cmdline, keys[i], vals[i]))
			add_bad(bad, bad_size, keys[i]);
	r = sf_cmdline_value(cmdline, "slotflip.init", init, sizeof(init));
	if (r == 0 && init[0] == '/')
		memcpy(o.init, init, sizeof(init));
	else if (r != -ENOENT)
		add_bad(bad, bad_size, "slotflip.init");
	*ret = o;
}

static int valid_name(const char *s, size_t len)
{
	if (len == 0 || len >= SF_MODULE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '_' || s[i] == '-' ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

int sf_modlist_parse(const char *text, size_t len,
		     char (*names)[SF_MODULE_NAME_MAX], size_t max,
		     unsigned *ret_line)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	size_t n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = eol ? eol : end;

		line++;
		p = eol ? eol + 1 : end;
		for (const char *h = s; h < e; h++)
			if (*h == '#') {
				e = h;
				break;
			}
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s &&
		       (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s == e)
			continue;
		if (!valid_name(s, (size_t)(e - s))) {
			*ret_line = line;
			return -EINVAL;
		}
		if (n == max)
			return -E2BIG;
		memcpy(names[n], s, (size_t)(e - s));
		names[n][e - s] = '\0';
		n++;
	}
	return (int)n;
}

/* Spec @i without the tables: 0 found, -EAGAIN the tables could tell. */
static int look_sysfs(struct sf_devwait *w, size_t i)
{
	const char *spec = w->spec[i];
	char *dev = w->dev[i];
	int r;

	if (spec[0] == '/')
		r = snprintf(dev, SF_CONFIG_VALUE_MAX, "%s", spec) <
				    (int)SF_CONFIG_VALUE_MAX
			    ? 0
			    : -ENAMETOOLONG;
	else
		r = sf_partdev_find_sysfs(w->sysfs, w->devdir, spec, dev,
					  SF_CONFIG_VALUE_MAX);
	if (r == 0 && access(dev, F_OK) < 0)
		r = -ENOENT;
	if (r < 0)
		dev[0] = '\0';
	return r;
}

/* Read the tables now? When never read, sysfs changed, or it is time. */
static bool tables_due(struct sf_devwait *w)
{
	uint64_t stamp = 0;

	sf_partdev_stamp(w->sysfs, &stamp);
	if (w->table_reads && stamp == w->stamp &&
	    ++w->ticks < SF_DEVWAIT_TABLE_TICKS)
		return false;
	w->stamp = stamp;
	w->ticks = 0;
	w->table_reads++;
	return true;
}

static bool look_tables(struct sf_devwait *w, size_t i)
{
	char *dev = w->dev[i];

	if (sf_partdev_find_tables(w->sysfs, w->devdir, w->spec[i], dev,
				   SF_CONFIG_VALUE_MAX) == 0 &&
	    access(dev, F_OK) == 0)
		return true;
	dev[0] = '\0';
	return false;
}

unsigned sf_devwait_look(struct sf_devwait *w)
{
	bool need[SF_DEVWAIT_MAX] = { false }, any = false;
	unsigned missing = 0;

	for (size_t i = 0; i < w->n; i++) {
		int r;

		if (w->dev[i][0])
			continue;
		r = look_sysfs(w, i);
		if (r < 0)
			missing++;
		need[i] = r == -EAGAIN;
		any |= need[i];
	}
	if (!any || !tables_due(w))
		return missing;
	for (size_t i = 0; i < w->n; i++)
		if (need[i] && look_tables(w, i))
			missing--;
	return missing;
}
