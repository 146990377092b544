// SPDX-License-Identifier: LGPL-2.1-or-later
#include "version.h"

#include <errno.h>
#include <string.h>

#include "ctx.h"
#include "fileio.h"

/* Parse one number of a version; *@pp is left after it. */
static int parse_part(const char **pp, uint32_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*pp = p;
	*ret = (uint32_t)v;
	return 0;
}

int sf_version_parse(const char *s, struct sf_version *ret)
{
	struct sf_version v = { .n_parts = 0 };
	const char *p = s;

	if (!s || strlen(s) > SF_VERSION_MAX_LEN)
		return -EINVAL;
	for (;;) {
		if (v.n_parts == SF_VERSION_MAX_PARTS)
			return -EINVAL;
		if (parse_part(&p, &v.part[v.n_parts]) < 0)
			return -EINVAL;
		v.n_parts++;
		if (*p == '\0')
			break;
		if (*p++ != '.')
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

int sf_version_cmp(const struct sf_version *a, const struct sf_version *b)
{
	for (unsigned i = 0; i < SF_VERSION_MAX_PARTS; i++) {
		uint32_t x = i < a->n_parts ? a->part[i] : 0;
		uint32_t y = i < b->n_parts ? b->part[i] : 0;

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

int sf_version_cmp_str(const char *a, const char *b, int *ret_cmp)
{
	struct sf_version va, vb;

	if (sf_version_parse(a, &va) < 0 || sf_version_parse(b, &vb) < 0)
		return -EINVAL;
	*ret_cmp = sf_version_cmp(&va, &vb);
	return 0;
}

int sf_version_file_read(const struct sf_ctx *ctx, char *buf, size_t size)
{
	char path[4096], text[SF_VERSION_MAX_LEN + 2];
	struct sf_version v;
	ssize_t n;

	buf[0] = '\0';
	if (sf_root_path(ctx, SF_VERSION_FILE, path, sizeof(path)) < 0)
		return -ENOENT;
	n = read_text_file(path, text, sizeof(text));
	if (n < 0 && n != -EFBIG)
		return -ENOENT;
	text[strcspn(text, "\n")] = '\0';
	if (strlen(text) >= size || sf_version_parse(text, &v) < 0)
		return -EINVAL;
	memcpy(buf, text, strlen(text) + 1);
	return 0;
}
