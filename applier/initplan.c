// SPDX-License-Identifier: LGPL-2.1-or-later
#include "initplan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	o.rw = sf_cmdline_last_flag(
		       cmdline, (const char *const[]){ "ro", "rw" }, 2) == 1;
	r = sf_cmdline_value(cmdline, "slotflip.init", init, sizeof(init));
	if (r == 0 && init[0] == '/')
		memcpy(o.init, init, sizeof(init));
	else if (r != -ENOENT)
		add_bad(bad, bad_size, "slotflip.init");
	*ret = o;
}

/*
 * A path inside the root, as resolved so far: "" is the root itself,
 * else "/dir/name" with no link, "." or ".." in it; @cur + 1 is the same
 * path relative to the root's fd.
 */
static const char *rel(const char *cur)
{
	return cur[0] ? cur + 1 : ".";
}

static int path_push(char *cur, const char *name, size_t len)
{
	size_t n = strlen(cur);

	if (len > NAME_MAX || n + 1 + len >= PATH_MAX)
		return -ENAMETOOLONG;
	cur[n] = '/';
	memcpy(cur + n + 1, name, len);
	cur[n + 1 + len] = '\0';
	return 0;
}

/* ".." of @cur; the root's ".." is the root, as in a chroot. */
static void path_pop(char *cur)
{
	char *s = strrchr(cur, '/');

	if (s)
		*s = '\0';
}

/*
 * @cur names a link: the path left to resolve, @rest, becomes its target
 * followed by @rest, looked up from the link's directory (or from the
 * root for an absolute target).
 */
static int follow_link(int root_fd, char *cur, char *rest, unsigned *links)
{
	char target[PATH_MAX], next[PATH_MAX];
	ssize_t n;

	if (++*links > SF_INIT_LINKS_MAX)
		return -ELOOP;
	n = readlinkat(root_fd, rel(cur), target, sizeof(target));
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT; /* what the kernel says of an empty link */
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	target[n] = '\0';
	if (snprintf(next, sizeof(next), "%s%s", target, rest) >=
	    (int)sizeof(next))
		return -ENAMETOOLONG;
	memcpy(rest, next, strlen(next) + 1);
	path_pop(cur);
	if (target[0] == '/')
		cur[0] = '\0';
	return 1;
}

/*
 * Take the first component off @rest and resolve it onto @cur. Returns 1
 * when there is more to do, 0 when @rest is used up, or -errno.
 */
static int resolve_step(int root_fd, char *cur, char *rest, unsigned *links)
{
	const char *s = rest, *tail;
	char name[NAME_MAX + 1];
	struct stat st;
	size_t len;
	int r;

	while (*s == '/')
		s++;
	if (!*s)
		return 0;
	tail = strchrnul(s, '/');
	len = (size_t)(tail - s);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, s, len);
	name[len] = '\0';
	memmove(rest, tail, strlen(tail) + 1); /* keeps its leading '/' */
	if (!strcmp(name, "."))
		return 1;
	if (!strcmp(name, "..")) {
		path_pop(cur);
		return 1;
	}
	r = path_push(cur, name, len);
	if (r < 0)
		return r;
	if (fstatat(root_fd, rel(cur), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return follow_link(root_fd, cur, rest, links);
	if (rest[0] && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 1;
}

/* The end of the path: a regular file that may be executed. */
static int check_exec(int root_fd, const char *cur)
{
	struct stat st;

	if (fstatat(root_fd, rel(cur), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (faccessat(root_fd, rel(cur), X_OK, 0) < 0)
		return -errno;
	return 0;
}

int sf_init_resolve(int root_fd, const char *path, char *ret_path, size_t size,
		    char *at, size_t at_size)
{
	char cur[PATH_MAX] = "", rest[PATH_MAX];
	unsigned links = 0;
	int r = 1;

	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		r = -ENAMETOOLONG;
	while (r > 0)
		r = resolve_step(root_fd, cur, rest, &links);
	if (r == 0)
		r = check_exec(root_fd, cur);
	if (r == 0 && strlen(cur) >= size)
		r = -ENAMETOOLONG;
	if (r < 0) {
		snprintf(at, at_size, "%s", cur[0] ? cur : "/");
		return r;
	}
	memcpy(ret_path, cur, strlen(cur) + 1);
	return 0;
}

const char *sf_init_resolve_why(int err)
{
	switch (err) {
	case -ENOENT:
		return "does not exist";
	case -ENOTDIR:
		return "is not a directory";
	case -ELOOP:
		return "is a link loop (more than 40 links)";
	case -EISDIR:
		return "is a directory";
	case -EACCES:
		return "is not an executable file";
	case -ENAMETOOLONG:
		return "is too long a path";
	default:
		return strerror(-err);
	}
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
