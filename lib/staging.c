// SPDX-License-Identifier: LGPL-2.1-or-later
#include "staging.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "fileio.h"
#include "image.h"
#include "util.h"

int sf_staged_path(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   const char *name, char *buf, size_t size)
{
	char rel[SF_CONFIG_VALUE_MAX + 64];

	if (snprintf(rel, sizeof(rel), "%s/slotflip/%s", cfg->data_dir, name) >=
	    (int)sizeof(rel))
		return -ENAMETOOLONG;
	return sf_root_path(ctx, rel, buf, size);
}

/* DATA_DIR/slotflip under ctx->root: no trailing slash, so that a link
 * there is not followed by open(O_NOFOLLOW). */
static int staging_dir_path(const struct sf_ctx *ctx,
			    const struct sf_config *cfg, char *buf, size_t size)
{
	char rel[SF_CONFIG_VALUE_MAX + 64];

	if (snprintf(rel, sizeof(rel), "%s/slotflip", cfg->data_dir) >=
	    (int)sizeof(rel))
		return -ENAMETOOLONG;
	return sf_root_path(ctx, rel, buf, size);
}

/* Why @path (that open(O_DIRECTORY | O_NOFOLLOW) refused) is refused. */
static int refuse_dir(const struct sf_ctx *ctx, const char *path, int r)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return sf_log(ctx, SF_LOG_WARNING, -ELOOP,
			      "%s is a symbolic link: slotflip does not follow "
			      "it (it could point anywhere); remove the link "
			      "(rm %s), the next `slotflip stage` makes the "
			      "directory again",
			      path, path);
	if (r == -ENOTDIR || r == -ELOOP)
		return sf_log(ctx, SF_LOG_WARNING, -ENOTDIR,
			      "%s is not a directory: remove it (rm %s), the "
			      "next `slotflip stage` makes the directory again",
			      path, path);
	return sf_log(ctx, SF_LOG_WARNING, r, "cannot open %s: %s", path,
		      strerror(-r));
}

int sf_staging_dir_open(const struct sf_ctx *ctx, const struct sf_config *cfg,
			bool create)
{
	char path[4096];
	int fd, r = staging_dir_path(ctx, cfg, path, sizeof(path));

	if (r < 0)
		return sf_log(ctx, SF_LOG_WARNING, r, "data-dir path too long");
	/* mkdir() does not follow a link either: EEXIST, then refused. */
	if (create && mkdir(path, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		return r == -ENOENT ? r
				    : sf_log(ctx, SF_LOG_WARNING, r,
					     "cannot create %s: %s", path,
					     strerror(-r));
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	r = -errno;
	return r == -ENOENT ? r : refuse_dir(ctx, path, r);
}

int sf_staged_open(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   int dirfd, const char *name, struct sf_image **ret)
{
	char path[4096];

	if (sf_staged_path(ctx, cfg, name, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%s", name);
	return sf_image_open_at(ctx, dirfd, name, path, ret);
}

int sf_staged_id(int dirfd, uint8_t id[SF_IMAGE_ID_BYTES])
{
	struct sf_image *img = NULL;
	int r = sf_image_open_at(NULL, dirfd, SF_STAGED_NAME, SF_STAGED_NAME,
				 &img);

	if (r < 0)
		return r;
	memcpy(id, img->manifest_hash, SF_IMAGE_ID_BYTES);
	sf_image_close(img);
	return 0;
}

/* "result=...\n" up to "reason=" and the reason, on one line. */
static size_t last_result_text(const struct sf_last_result *lr, char *buf,
			       size_t size)
{
	int n = snprintf(buf, size,
			 "result=%s\ntime=%llu\nslot=%s\nversion=%s\nreason=",
			 lr->result, (unsigned long long)lr->time, lr->slot,
			 lr->version);
	size_t len = (size_t)n;

	for (const char *p = lr->reason; *p && len + 2 < size; p++)
		buf[len++] = *p == '\n' ? ' ' : *p;
	buf[len++] = '\n';
	return len;
}

int sf_last_result_write(const struct sf_ctx *ctx, int dirfd,
			 const struct sf_last_result *lr)
{
	char text[SF_LAST_RESULT_TEXT_MAX];
	size_t len = last_result_text(lr, text, sizeof(text));
	int r;

	sf_fault_point(ctx, "result write");
	r = write_file_atomic_at(dirfd, SF_LAST_RESULT_NAME, text, len, 0644);
	if (r < 0 && unlinkat(dirfd, SF_LAST_RESULT_NAME, 0) == 0)
		r = write_file_atomic_at(dirfd, SF_LAST_RESULT_NAME, text, len,
					 0644);
	return r < 0 ? r : 0;
}

static void last_result_field(struct sf_last_result *lr, const char *k,
			      const char *v)
{
	if (!strcmp(k, "time"))
		lr->time = strtoull(v, NULL, 10);
	else if (!strcmp(k, "result"))
		snprintf(lr->result, sizeof(lr->result), "%s", v);
	else if (!strcmp(k, "slot"))
		snprintf(lr->slot, sizeof(lr->slot), "%s", v);
	else if (!strcmp(k, "version"))
		snprintf(lr->version, sizeof(lr->version), "%s", v);
	else if (!strcmp(k, "reason"))
		snprintf(lr->reason, sizeof(lr->reason), "%s", v);
}

void sf_last_result_parse(const char *text, size_t len,
			  struct sf_last_result *ret)
{
	char buf[SF_LAST_RESULT_TEXT_MAX], *line, *next;
	struct sf_last_result lr = { .time = 0 };

	/* Longer than any file we write: the start is parsed. */
	len = strnlen(text, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (line = buf; *line; line = next) {
		char *eq;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			last_result_field(&lr, line, eq + 1);
		}
	}
	*ret = lr;
}

int sf_last_result_read(int dirfd, struct sf_last_result *ret)
{
	char text[SF_LAST_RESULT_TEXT_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	/* On the data partition: a link or FIFO planted there is refused. */
	fd = open_regular_at(dirfd, SF_LAST_RESULT_NAME, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	n = read_text_fd(fd, text, sizeof(text));
	if (n < 0 && n != -EFBIG)
		return (int)n;
	sf_last_result_parse(text, sizeof(text), ret);
	return 0;
}
