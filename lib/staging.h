/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The staged image on the data partition: DATA_DIR/slotflip/staged.img,
 * moved aside by slotflip-init as staged.img.refused or staged.img.failed;
 * DATA_DIR/slotflip/last-result holds the last apply's outcome. The
 * directory is opened once (sf_staging_dir_open(), no link followed) and
 * everything in it is reached through its fd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootstate.h"
#include "config.h"
#include "image.h"
#include "log.h"

/*
 * sf_staged_path - DATA_DIR/slotflip/@name under ctx->root, in @buf
 * (@size bytes); @name is e.g. "staged.img" or "last-result". For
 * messages: files there are opened through sf_staging_dir_open().
 * Returns 0 or -ENAMETOOLONG.
 */
int sf_staged_path(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   const char *name, char *buf, size_t size);

/* The names in DATA_DIR/slotflip. */
#define SF_STAGED_NAME "staged.img"
#define SF_LAST_RESULT_NAME "last-result"

/*
 * sf_staging_dir_open - open DATA_DIR/slotflip under ctx->root, never
 * through a symbolic link: an attacker who can write the data partition
 * could point a link there anywhere, and slotflip (as root) writes,
 * renames and removes files in it. Every file in it is then reached
 * relative to the fd returned (openat(), renameat(), unlinkat()). With
 * @create, the directory is made (mode 0755) when absent; DATA_DIR must
 * exist. Logs why it fails (a warning: the caller says what it means for
 * its command), except for -ENOENT.
 * Returns the fd (O_CLOEXEC); -ENOENT when it (or, with @create, DATA_DIR)
 * does not exist; -ELOOP when it is a symbolic link and -ENOTDIR when it
 * is not a directory (the message says to remove it); -ENAMETOOLONG;
 * -errno.
 */
int sf_staging_dir_open(const struct sf_ctx *ctx, const struct sf_config *cfg,
			bool create);

/*
 * sf_staged_open - sf_image_open_at() of @name in the staging directory
 * @dirfd (from sf_staging_dir_open()), named in messages by its path
 * (sf_staged_path()). A link, FIFO or device node there is refused
 * without blocking. Returns as sf_image_open().
 */
int sf_staged_open(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   int dirfd, const char *name, struct sf_image **ret);

/*
 * sf_staged_id - the id of the staged image in the staging directory
 * @dirfd (SF_IMAGE_ID_BYTES: the start of its manifest hash, as in the
 * state), into @id. Logs nothing; never blocks.
 * Returns 0; -ENOENT when nothing is staged; -EBADMSG (also: not a
 * regular file), -ELOOP (a link), -EPROTONOSUPPORT or -errno when
 * staged.img is there but cannot be read (@id untouched).
 */
int sf_staged_id(int dirfd, uint8_t id[SF_IMAGE_ID_BYTES]);

/* The longest reason last-result keeps (slotflip-init's whole message). */
#define SF_LAST_REASON_MAX 512u

/*
 * DATA_DIR/slotflip/last-result: the last apply's outcome, written by
 * slotflip-init, shown by `slotflip status`. Lines "key=value\n" with the
 * keys result (sf_result_name()), time (seconds since the epoch), slot,
 * version and reason; unknown keys are skipped when read.
 */
struct sf_last_result {
	char result[32];
	uint64_t time;
	char slot[8];
	char version[SF_VERSION_FIELD];
	char reason[SF_LAST_REASON_MAX];
};

/* Room for last-result's text: more than any file we write. */
#define SF_LAST_RESULT_TEXT_MAX (256 + sizeof(struct sf_last_result))

/*
 * sf_last_result_write - replace last-result in the staging directory
 * @dirfd (sf_staging_dir_open()) by @lr, atomically (a newline in the
 * reason becomes a space). When the data partition is too full for the
 * new file beside the old one, the old one is removed first: a stale
 * result must not stay.
 * Returns 0 or -errno (the file may then be gone).
 */
int sf_last_result_write(const struct sf_ctx *ctx, int dirfd,
			 const struct sf_last_result *lr);

/*
 * sf_last_result_read - read last-result in the staging directory @dirfd
 * into *@ret (fields cut to their size, missing ones empty). Never
 * blocks. Returns 0, -ENOENT when there is none, -ELOOP (a link), -EINVAL
 * (not a regular file: a FIFO, ...), or -errno.
 */
int sf_last_result_read(int dirfd, struct sf_last_result *ret);

/*
 * sf_last_result_parse - the text of a last-result file, @len bytes of
 * @text (or up to a NUL byte, which ends it), into *@ret: "key=value"
 * lines, unknown keys and lines without '=' skipped, fields cut to their
 * size, missing ones empty. Only the first SF_LAST_RESULT_TEXT_MAX - 1
 * bytes are read (longer than any file sf_last_result_write() makes).
 * Cannot fail.
 */
void sf_last_result_parse(const char *text, size_t len,
			  struct sf_last_result *ret);
