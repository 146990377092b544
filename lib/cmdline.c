// SPDX-License-Identifier: LGPL-2.1-or-later
#include "cmdline.h"

#include <errno.h>
#include <string.h>

#include "ctx.h"
#include "fileio.h"

/* The next word of @p (NULL at the end), its length in *@len. */
static const char *next_word(const char *p, size_t *len)
{
	int quoted = 0;
	const char *start;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return NULL;
	start = p;
	for (; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
			break;
	}
	*len = (size_t)(p - start);
	return start;
}

int sf_cmdline_value(const char *cmdline, const char *key, char *buf,
		     size_t size)
{
	size_t klen = strlen(key), len;
	const char *w, *found = NULL, *p = cmdline;
	size_t found_len = 0;

	while ((w = next_word(p, &len))) {
		if (len > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			found = w + klen + 1;
			found_len = len - klen - 1;
		}
		p = w + len;
	}
	if (!found)
		return -ENOENT;
	if (found_len >= 2 && found[0] == '"' && found[found_len - 1] == '"') {
		found++;
		found_len -= 2;
	}
	if (found_len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, found, found_len);
	buf[found_len] = '\0';
	return 0;
}

int sf_cmdline_last_flag(const char *cmdline, const char *const *flags,
			 size_t n)
{
	const char *w, *p = cmdline;
	int last = -ENOENT;
	size_t len;

	while ((w = next_word(p, &len))) {
		for (size_t i = 0; i < n; i++)
			if (strlen(flags[i]) == len &&
			    !strncmp(w, flags[i], len))
				last = (int)i;
		p = w + len;
	}
	return last;
}

int sf_cmdline_read(const struct sf_ctx *ctx, char *buf, size_t size)
{
	char path[4096];
	ssize_t n;
	int r = sf_root_path(ctx, "/proc/cmdline", path, sizeof(path));

	buf[0] = '\0';
	if (r < 0)
		return r;
	n = read_text_file(path, buf, size);
	/* Longer than any kernel's: its start is what there is to read. */
	if (n == -EFBIG)
		n = (ssize_t)strlen(buf);
	return (int)n;
}

int sf_cmdline_slot(const char *cmdline)
{
	char v[2];

	if (sf_cmdline_value(cmdline, "slotflip.slot", v, sizeof(v)) < 0 ||
	    (v[0] != 'a' && v[0] != 'b'))
		return -ENOENT;
	return v[0] - 'a';
}
