// SPDX-License-Identifier: LGPL-2.1-or-later
#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "util.h"

#define MODLIST_MAX 16384u

/* The module list whole (NUL-terminated). Returns 0 or -errno. */
static int read_small(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = malloc(MODLIST_MAX + 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = read_text_file(path, buf, MODLIST_MAX + 1);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	*ret = TAKE_PTR(buf);
	return 0;
}

static void kmod_log(void *data, int priority, const char *file, int line,
		     const char *fn, const char *format, va_list args)
{
	const struct sf_ctx *ctx = data;
	char msg[512];
	size_t n;

	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	vsnprintf(msg, sizeof(msg), format, args);
	n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	sf_log(ctx, SF_LOG_WARNING, 0, "libkmod: %s", msg);
}

/* Load one module and its dependencies. Returns 0 or -errno. */
static int load_one(const struct sf_ctx *ctx, struct kmod_ctx *k,
		    const char *name)
{
	struct kmod_list *list = NULL, *it;
	int r;

	r = kmod_module_new_from_lookup(k, name, &list);
	if (r < 0)
		return sf_err(ctx, r, "module %s: lookup failed: %s", name,
			      strerror(-r));
	if (!list)
		return sf_err(ctx, -ENOENT,
			      "module %s: not in this kernel's module tree "
			      "(add it to the initramfs or drop it from %s)",
			      name, SF_MODULES_PATH);
	r = 0;
	kmod_list_foreach(it, list) {
		struct kmod_module *mod = kmod_module_get_module(it);
		int q = kmod_module_probe_insert_module(mod, 0, NULL, NULL,
							NULL, NULL);

		if (q < 0 && r == 0)
			r = sf_err(ctx, q, "module %s: cannot load %s: %s",
				   name, kmod_module_get_name(mod),
				   strerror(-q));
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	return r;
}

int sf_modules_load(const struct sf_ctx *ctx, const char *moddir,
		    char (*names)[SF_MODULE_NAME_MAX], size_t n)
{
	char dir[4096], rel[300];
	struct kmod_ctx *k;
	struct utsname u;
	int failed = 0;

	if (!moddir) {
		if (uname(&u) < 0)
			return -errno;
		snprintf(rel, sizeof(rel), "/lib/modules/%s", u.release);
		moddir = rel;
	}
	if (sf_root_path(ctx, moddir, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	k = kmod_new(dir, NULL);
	if (!k)
		return sf_err(ctx, -ENOENT, "cannot use the module tree %s",
			      dir);
	kmod_set_log_fn(k, kmod_log, (void *)ctx);
	for (size_t i = 0; i < n; i++) {
		if (load_one(ctx, k, names[i]) < 0)
			failed++;
		else
			sf_info(ctx, "module %s loaded", names[i]);
	}
	kmod_unref(k);
	return failed;
}

int sf_modules_load_list(const struct sf_ctx *ctx, const char *path,
			 const char *moddir)
{
	char(*names)[SF_MODULE_NAME_MAX] = NULL;
	_cleanup_free_ char *text = NULL;
	char full[4096];
	unsigned line = 0;
	size_t len = 0;
	int r, n;

	if (sf_root_path(ctx, path, full, sizeof(full)) < 0)
		return -ENAMETOOLONG;
	r = read_small(full, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return sf_err(ctx, r, "cannot read the module list %s: %s",
			      full, strerror(-r));
	names = calloc(SF_MODULES_MAX, sizeof(*names));
	if (!names)
		return -ENOMEM;
	n = sf_modlist_parse(text, len, names, SF_MODULES_MAX, &line);
	if (n == -EINVAL)
		r = sf_err(ctx, n, "%s:%u: not a module name", full, line);
	else if (n < 0)
		r = sf_err(ctx, n, "%s: more than %u modules", full,
			   SF_MODULES_MAX);
	else
		r = sf_modules_load(ctx, moddir, names, (size_t)n);
	free(names);
	return r;
}
