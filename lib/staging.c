// SPDX-License-Identifier: LGPL-2.1-or-later
#include "staging.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "fileio.h"
#include "image.h"
#include "util.h"

/* A sanity bound on a claimed data size (its manifest checks it fully). */
#define CLAIMED_DATA_MAX (1ull << 50)

int sf_staged_path(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   const char *name, char *buf, size_t size)
{
	char rel[SF_CONFIG_VALUE_MAX + 64];

	if (snprintf(rel, sizeof(rel), "%s/slotflip/%s", cfg->data_dir, name) >=
	    (int)sizeof(rel))
		return -ENAMETOOLONG;
	return sf_root_path(ctx, rel, buf, size);
}

int sf_staged_id(const struct sf_ctx *ctx, const struct sf_config *cfg,
		 uint8_t id[SF_IMAGE_ID_BYTES])
{
	struct sf_ctx quiet = *ctx;
	struct sf_image *img = NULL;
	char path[4096];
	int r = sf_staged_path(ctx, cfg, "staged.img", path, sizeof(path));

	quiet.log_fn = NULL;
	if (r < 0)
		return r;
	r = sf_image_open(&quiet, path, &img);
	if (r < 0)
		return r;
	memcpy(id, img->manifest_hash, SF_IMAGE_ID_BYTES);
	sf_image_close(img);
	return 0;
}

int sf_image_claimed_size(const uint8_t *head, size_t len, uint64_t *ret)
{
	uint64_t m, data;
	int r;

	if (len < SF_IMAGE_HEAD_BYTES)
		return -EBADMSG;
	r = sf_image_header_parse(NULL, NULL, head, &m);
	if (r < 0)
		return r;
	if (sf_manifest_data_size(head + SF_HEADER_SIZE, len - SF_HEADER_SIZE,
				  &data) < 0 ||
	    data > CLAIMED_DATA_MAX)
		return -EBADMSG;
	*ret = sf_image_data_offset(m) + data;
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

int sf_last_result_write(const struct sf_ctx *ctx, const struct sf_config *cfg,
			 const struct sf_last_result *lr)
{
	char path[4096], text[256 + sizeof(*lr)];
	size_t len = last_result_text(lr, text, sizeof(text));
	int r = sf_staged_path(ctx, cfg, "last-result", path, sizeof(path));

	if (r < 0)
		return r;
	sf_fault_point(ctx, "result write");
	r = write_file_atomic(path, text, len, 0644);
	if (r < 0 && unlink(path) == 0)
		r = write_file_atomic(path, text, len, 0644);
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

int sf_last_result_read(const struct sf_ctx *ctx, const struct sf_config *cfg,
			struct sf_last_result *ret)
{
	char path[4096], text[256 + sizeof(*ret)], *line, *next;
	struct sf_last_result lr = { .time = 0 };
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int r = sf_staged_path(ctx, cfg, "last-result", path, sizeof(path));

	if (r < 0)
		return r;
	/* On the data partition: a link planted there is not followed. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Longer than any file we write: the start is read. */
	n = read_text_fd(fd, text, sizeof(text));
	if (n < 0 && n != -EFBIG)
		return (int)n;
	for (line = text; *line; line = next) {
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
	return 0;
}
