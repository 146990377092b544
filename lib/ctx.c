// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ctx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sf_root_path(const struct sf_ctx *ctx, const char *path, char *buf,
		 size_t size)
{
	const char *root = ctx && ctx->root ? ctx->root : "/";
	int n;

	if (!strcmp(root, "/"))
		root = "";
	while (*path == '/')
		path++;
	n = snprintf(buf, size, "%s/%s", root, path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
