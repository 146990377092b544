// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip stage / cancel: the staged image on the data partition. Staging
 * copies the image to a temporary name next to staged.img, checks the copy
 * as slotflip-init will (signatures, policy, every chunk), then flushes,
 * renames and flushes the directory: a power cut leaves either the old
 * state or the whole new image.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "apply-check.h"
#include "cli.h"
#include "decide.h"
#include "fault.h"
#include "fileio.h"
#include "staging.h"
#include "transition.h"
#include "util.h"

#define COPY_BUF (1u << 20)

struct stage {
	struct cli *c;
	const char *src;
	int in_fd;
	uint8_t head[SF_IMAGE_HEAD_BYTES];
	uint64_t size; /* what the image says its size is */
	char dir[4096], path[4096]; /* for messages */
	int dir_fd; /* DATA_DIR/slotflip: files there are reached through it */
	char *tmp; /* the copy's name in dir_fd */
	int tmp_fd;
	struct sf_image *img;
	const char *want_version; /* fetch: the version the index offers */
	bool chunks_checked; /* fetch: as they arrived (cli_stage_placed()) */
};

static void stage_free(struct stage *s)
{
	if (s->tmp) {
		unlinkat(s->dir_fd, s->tmp, 0);
		free(s->tmp);
	}
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	if (s->in_fd > 0)
		close(s->in_fd);
	sf_image_close(s->img);
}

/* Staging is for the good slot's system; a pending trial comes first. */
int cli_stage_allowed(struct cli *c)
{
	const struct sf_bootstate *st = &c->st;

	if (sf_state_trial_pending(st))
		return cli_fail(c, EXIT_REFUSED,
				"slot %s is on trial (version %s): confirm it "
				"(slotflip mark-good) or roll it back "
				"(slotflip mark-bad) before staging",
				sf_slot_name(st->trial),
				st->slot[st->trial].version);
	if (c->booted != st->good)
		return cli_fail(c, EXIT_REFUSED,
				"the running slot %s is not the good slot %s: "
				"reboot into slot %s before staging",
				sf_slot_name((uint8_t)c->booted),
				sf_slot_name(st->good), sf_slot_name(st->good));
	return EXIT_OK;
}

/*
 * The spare slot is never the device the running root is mounted from
 * (the root directory's st_dev): the booted slot and the config can
 * disagree with what really runs (a root mounted by another initramfs,
 * boot entries or device lines swapped). A spare that does not resolve is
 * reported by the size check.
 */
static int spare_not_running_root(struct cli *c)
{
	uint8_t spare = (uint8_t)(1 - c->booted);
	struct sf_ctx quiet = c->ctx;
	char dev[4096], root[4096];
	struct stat d, r;

	quiet.log_fn = NULL;
	if (sf_config_resolve_device(&quiet, c->cfg.slot[spare].device, dev,
				     sizeof(dev)) < 0 ||
	    sf_root_path(&c->ctx, "/", root, sizeof(root)) < 0 ||
	    stat(dev, &d) < 0 || stat(root, &r) < 0 || !S_ISBLK(d.st_mode) ||
	    d.st_rdev != r.st_dev)
		return EXIT_OK;
	return cli_fail(c, EXIT_REFUSED,
			"the spare slot %s (device = %s, %s) is the device the "
			"running root %s is mounted from: writing it would "
			"overwrite the running system. slotflip takes slot %s "
			"as running (BootCurrent, else slotflip.slot=); fix "
			"the device lines of [slot a] and [slot b] in %s (or "
			"the boot entries); nothing was staged",
			sf_slot_name(spare), c->cfg.slot[spare].device, dev,
			root, sf_slot_name((uint8_t)c->booted), c->cfg.file);
}

static int open_input(struct stage *s)
{
	struct cli *c = s->c;
	struct stat st;
	ssize_t n;
	int r;

	s->in_fd = strcmp(s->src, "-") ? open(s->src, O_RDONLY | O_CLOEXEC)
				       : STDIN_FILENO;
	if (s->in_fd < 0)
		return cli_fail(c, EXIT_IO, "cannot open %s: %m", s->src);
	n = read_full(s->in_fd, s->head, sizeof(s->head));
	if (n < 0)
		return cli_fail(c, EXIT_IO, "cannot read %s: %s", s->src,
				strerror((int)-n));
	r = sf_image_claimed_size(s->head, (size_t)n, &s->size);
	if (r == -EPROTONOSUPPORT)
		return cli_fail(c, EXIT_REFUSED,
				"%s uses another image format version: update "
				"slotflip",
				s->src);
	if (r < 0)
		return cli_fail(c, EXIT_REFUSED,
				"%s is not a slotflip image (or is truncated)",
				s->src);
	if (fstat(s->in_fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size != s->size)
		return cli_fail(c, EXIT_REFUSED,
				"%s is corrupt: %llu bytes, its header and "
				"manifest say %llu",
				s->src, (unsigned long long)st.st_size,
				(unsigned long long)s->size);
	return EXIT_OK;
}

/* Temporary copies left by a power cut during an earlier stage, in the
 * staging directory @dir_fd. */
static void remove_leftovers(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, "staged.img.tmp.", 15))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int prepare_dir(struct stage *s)
{
	struct cli *c = s->c;
	struct statvfs vfs;
	uint64_t avail;

	if (sf_staged_path(&c->ctx, &c->cfg, SF_STAGED_NAME, s->path,
			   sizeof(s->path)) < 0)
		return cli_fail(c, EXIT_IO, "data-dir path too long");
	snprintf(s->dir, sizeof(s->dir), "%s", s->path);
	*strrchr(s->dir, '/') = '\0';
	s->dir_fd = sf_staging_dir_open(&c->ctx, &c->cfg, true);
	if (s->dir_fd == -ENOENT)
		return cli_fail(c, EXIT_IO,
				"cannot create %s: %s (is the data partition "
				"mounted at %s? config: data-dir)",
				s->dir, strerror(ENOENT), c->cfg.data_dir);
	if (s->dir_fd < 0)
		return cli_fail(c, EXIT_IO,
				"the staging directory is not usable (above): "
				"nothing was staged");
	remove_leftovers(s->dir_fd);
	if (fstatvfs(s->dir_fd, &vfs) < 0)
		return cli_fail(c, EXIT_IO, "cannot stat %s: %m", s->dir);
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < s->size)
		return cli_fail(c, EXIT_IO,
				"not enough space on the data partition (%s): "
				"the image needs %llu KiB, %llu KiB are free "
				"(a staged image is replaced only once the new "
				"one is whole: `slotflip cancel` frees its "
				"space first)",
				s->dir, (unsigned long long)(s->size >> 10),
				(unsigned long long)(avail >> 10));
	return EXIT_OK;
}

static int write_tmp(struct stage *s, const uint8_t *buf, size_t len,
		     uint64_t off)
{
	int r = pwrite_full(s->tmp_fd, buf, len, off);

	if (r == -ENOSPC)
		return cli_fail(s->c, EXIT_IO,
				"no space left on the data partition (%s) "
				"while copying the image: nothing was staged",
				s->dir);
	if (r < 0)
		return cli_fail(s->c, EXIT_IO, "cannot write %s/%s: %s", s->dir,
				s->tmp, strerror(-r));
	return EXIT_OK;
}

static int copy_rest(struct stage *s, uint8_t *buf, struct sf_progress *p)
{
	uint64_t off = sizeof(s->head);
	ssize_t n;
	int r;

	while ((n = read_full(s->in_fd, buf, COPY_BUF)) > 0) {
		sf_fault_point(&s->c->ctx, "stage copy");
		if (off + (uint64_t)n > s->size)
			return cli_fail(s->c, EXIT_REFUSED,
					"%s is corrupt: longer than its header "
					"and manifest say (%llu bytes)",
					s->src, (unsigned long long)s->size);
		r = write_tmp(s, buf, (size_t)n, off);
		if (r)
			return r;
		off += (uint64_t)n;
		sf_progress_update(p, off, s->size);
	}
	if (n < 0)
		return cli_fail(s->c, EXIT_IO, "cannot read %s: %s", s->src,
				strerror((int)-n));
	if (off != s->size)
		return cli_fail(s->c, EXIT_REFUSED,
				"%s is truncated: %llu of %llu bytes", s->src,
				(unsigned long long)off,
				(unsigned long long)s->size);
	return EXIT_OK;
}

static int copy_in(struct stage *s)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_BUF);
	struct sf_progress p;
	int r;

	if (!buf)
		return cli_fail(s->c, EXIT_IO, "out of memory");
	s->tmp_fd = tmpfile_create_at(s->dir_fd, SF_STAGED_NAME, 0644, &s->tmp);
	if (s->tmp_fd < 0)
		return cli_fail(s->c, EXIT_IO, "cannot create a file in %s: %s",
				s->dir, strerror(-s->tmp_fd));
	r = write_tmp(s, s->head, sizeof(s->head), 0);
	if (r)
		return r;
	sf_progress_init(&p, "copying", true);
	r = copy_rest(s, buf, &p);
	sf_progress_end(&p);
	return r;
}

static int spare_slot_size(struct cli *c, uint8_t spare, uint64_t *ret)
{
	_cleanup_close_ int fd = -1;
	char dev[4096];
	struct stat st;
	int r;

	r = sf_config_resolve_device(&c->ctx, c->cfg.slot[spare].device, dev,
				     sizeof(dev));
	if (r < 0)
		return EXIT_IO;
	fd = open_device(dev, O_RDONLY);
	if (fd == -EINVAL)
		return cli_fail(c, EXIT_IO,
				"slot %s (%s) is neither a block device nor a "
				"regular file (config: device)",
				sf_slot_name(spare), dev);
	if (fd < 0 || fstat(fd, &st) < 0)
		return cli_fail(c, EXIT_IO, "cannot open slot %s (%s): %s",
				sf_slot_name(spare), dev,
				strerror(fd < 0 ? -fd : errno));
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, ret) < 0
			       ? cli_fail(c, EXIT_IO, "cannot size %s: %m", dev)
			       : EXIT_OK;
	*ret = (uint64_t)st.st_size;
	return EXIT_OK;
}

/*
 * The applier writes the spare slot's EFI binary next to the old one before
 * it renames it: the ESP needs room for it. Checked when the ESP is
 * mounted at esp-dir (the directory of the slot's binary exists).
 */
static int check_esp_space(struct stage *s, uint8_t spare)
{
	const struct sf_payload *efi =
		sf_manifest_payload(&s->img->m, SF_PAYLOAD_EFI);
	char rel[2 * SF_CONFIG_VALUE_MAX], dir[4096];
	struct statvfs vfs;
	uint64_t avail;

	snprintf(rel, sizeof(rel), "%s/%s", s->c->cfg.esp_dir,
		 s->c->cfg.slot[spare].efi +
			 strspn(s->c->cfg.slot[spare].efi, "/"));
	if (!efi || sf_root_path(&s->c->ctx, rel, dir, sizeof(dir)) < 0)
		return EXIT_OK;
	*strrchr(dir, '/') = '\0';
	if (statvfs(dir, &vfs) < 0)
		return EXIT_OK;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail >= efi->size)
		return EXIT_OK;
	return cli_fail(s->c, EXIT_IO,
			"not enough space on the ESP (%s) for slot %s's EFI "
			"binary: it needs %llu KiB, %llu KiB are free",
			dir, sf_slot_name(spare),
			(unsigned long long)(efi->size >> 10),
			(unsigned long long)(avail >> 10));
}

/*
 * slotflip-init would move this very image aside: the same rule. (One
 * that was confirmed raised the floor to its version, and was refused by
 * the version check before this.)
 */
static int check_not_done(struct stage *s)
{
	const struct sf_bootstate *st = &s->c->st;

	if (!sf_state_image_done(st, s->img->manifest_hash))
		return EXIT_OK;
	return cli_fail(s->c, EXIT_REFUSED,
			"this image (version %s) was already tried and failed: "
			"%s",
			s->img->m.version, st->last_reason);
}

/* fetch: the image is the one the index offers (its signed version). */
static int check_offered(struct stage *s)
{
	if (!s->want_version || !strcmp(s->img->m.version, s->want_version))
		return EXIT_OK;
	return cli_fail(s->c, EXIT_REFUSED,
			"%s refused: its manifest names version %s, the index "
			"offers %s; nothing was staged",
			s->src, s->img->m.version, s->want_version);
}

static int check_policy(struct stage *s)
{
	struct cli *c = s->c;
	uint8_t spare = (uint8_t)(1 - c->booted);
	struct sf_apply_policy pol = {
		.compatible = c->cfg.compatible,
		.floor = c->st.floor,
		.running_version = c->st.slot[c->booted].version,
	};
	char reason[SF_REASON_FIELD];
	int r = check_offered(s);

	if (!r)
		r = spare_slot_size(c, spare, &pol.slot_size);
	if (r)
		return r;
	if (sf_apply_precheck(&c->ctx, s->img, &pol, reason, sizeof(reason)) <
	    0)
		return EXIT_REFUSED;
	r = check_not_done(s);
	return r ? r : check_esp_space(s, spare);
}

static int verify_copy(struct stage *s)
{
	struct cli *c = s->c;
	struct ms_pubkey keys[SF_CONFIG_MAX_KEYS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct sf_progress p;
	int r;

	if (sf_config_load_pubkeys(&c->ctx, &c->cfg, keys) < 0)
		return EXIT_CONFIG;
	if (sf_staged_open(&c->ctx, &c->cfg, s->dir_fd, s->tmp, &s->img) < 0 ||
	    sf_image_check_signatures(&c->ctx, s->img, keys, c->cfg.n_pubkeys,
				      c->cfg.threshold) < 0 ||
	    sf_image_load_manifest(&c->ctx, s->img) < 0)
		return cli_fail(c, EXIT_REFUSED,
				"%s refused (see above): nothing was staged",
				s->src);
	r = check_policy(s);
	if (r || s->chunks_checked)
		return r;
	sf_progress_init(&p, "verifying", true);
	r = sf_image_verify_data(&c->ctx, s->img, cpus > 0 ? (unsigned)cpus : 1,
				 sf_progress_update, &p);
	sf_progress_end(&p);
	if (r == -EBADMSG)
		return cli_fail(
			c, EXIT_REFUSED,
			"%s refused: it is corrupt (see above); nothing "
			"was staged",
			s->src);
	if (r < 0)
		return cli_fail(c, EXIT_IO, "cannot read the copy of %s: %s",
				s->src, strerror(-r));
	return EXIT_OK;
}

static int commit(struct stage *s)
{
	int r;

	sf_fault_point(&s->c->ctx, "stage rename");
	r = tmpfile_commit_at(s->dir_fd, s->tmp_fd, s->tmp, SF_STAGED_NAME);

	free(s->tmp);
	s->tmp = NULL;
	if (r < 0)
		return cli_fail(s->c, EXIT_IO, "cannot put %s in place: %s",
				s->path, strerror(-r));
	return EXIT_OK;
}

int cmd_stage(struct cli *c, const char *image)
{
	struct stage s = {
		.c = c, .src = image, .in_fd = -1, .dir_fd = -1, .tmp_fd = -1
	};
	int r = cli_load(c, "stage", NEED_ROOT | NEED_BOOTED);

	if (!r)
		r = cli_stage_allowed(c);
	if (!r)
		r = spare_not_running_root(c);
	if (!r)
		r = open_input(&s);
	if (!r)
		r = prepare_dir(&s);
	if (!r)
		r = copy_in(&s);
	if (!r)
		r = verify_copy(&s);
	if (!r)
		r = commit(&s);
	if (!r)
		cli_say(c,
			"staged version %s (%llu bytes) in %s: slot %s gets "
			"it at the next reboot",
			s.img->m.version, (unsigned long long)s.size, s.path,
			sf_slot_name((uint8_t)(1 - c->booted)));
	stage_free(&s);
	if (!r && c->reboot)
		r = cli_reboot(c);
	return r;
}

/* Take the file @name of the staging directory @dir_fd as the copy. */
static int adopt(struct stage *s, int dir_fd, const char *name)
{
	struct stat st;

	snprintf(s->dir, sizeof(s->dir), "%s", s->path);
	*strrchr(s->dir, '/') = '\0';
	s->dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	s->tmp = strdup(name);
	if (s->dir_fd < 0 || !s->tmp)
		return cli_fail(s->c, EXIT_IO, "out of memory or fds");
	s->tmp_fd = openat(dir_fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (s->tmp_fd < 0 || fstat(s->tmp_fd, &st) < 0)
		return cli_fail(s->c, EXIT_IO, "cannot open %s/%s: %m", s->dir,
				name);
	s->size = (uint64_t)st.st_size;
	return EXIT_OK;
}

int cli_stage_placed(struct cli *c, int dir_fd, const char *name,
		     const char *src, const char *version, bool chunks_checked,
		     uint8_t ret_manifest[SF_HASH_BYTES])
{
	struct stage s = { .c = c,
			   .src = src,
			   .in_fd = -1,
			   .dir_fd = -1,
			   .tmp_fd = -1,
			   .want_version = version,
			   .chunks_checked = chunks_checked };
	int r = spare_not_running_root(c);

	if (!r && sf_staged_path(&c->ctx, &c->cfg, SF_STAGED_NAME, s.path,
				 sizeof(s.path)) < 0)
		r = cli_fail(c, EXIT_IO, "data-dir path too long");
	if (!r)
		r = adopt(&s, dir_fd, name);
	if (!r)
		r = verify_copy(&s);
	if (!r) {
		memcpy(ret_manifest, s.img->manifest_hash, SF_HASH_BYTES);
		r = commit(&s);
	}
	stage_free(&s);
	return r;
}

/* The staged image (in the staging directory @dir_fd) was applied and
 * its slot is on trial. */
static bool applied_on_trial(const struct cli *c, int dir_fd)
{
	uint8_t id[SF_IMAGE_ID_BYTES];

	return sf_staged_id(dir_fd, id) == 0 &&
	       sf_state_image_applied(&c->st, id);
}

int cmd_cancel(struct cli *c)
{
	_cleanup_close_ int dir_fd = -1;
	char path[4096];
	struct stat st;
	int r = cli_load(c, "cancel", NEED_ROOT);

	if (r)
		return r;
	if (sf_staged_path(&c->ctx, &c->cfg, SF_STAGED_NAME, path,
			   sizeof(path)) < 0)
		return cli_fail(c, EXIT_IO, "data-dir path too long");
	dir_fd = sf_staging_dir_open(&c->ctx, &c->cfg, false);
	if (dir_fd < 0 && dir_fd != -ENOENT)
		return cli_fail(c, EXIT_IO,
				"the staging directory is not usable (above): "
				"nothing was removed");
	if (dir_fd >= 0)
		remove_leftovers(dir_fd);
	if (dir_fd < 0 ||
	    fstatat(dir_fd, SF_STAGED_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		cli_say(c, "nothing is staged (%s does not exist)", path);
		return EXIT_OK;
	}
	if (applied_on_trial(c, dir_fd))
		return cli_fail(c, EXIT_REFUSED,
				"the staged image is already applied: slot %s "
				"runs it on trial; to roll back: slotflip "
				"mark-bad (in slot %s) or slotflip set-active "
				"%s",
				sf_slot_name(c->st.trial),
				sf_slot_name(c->st.trial),
				sf_slot_name(c->st.good));
	sf_fault_point(&c->ctx, "cancel unlink");
	r = unlink_at_synced(dir_fd, SF_STAGED_NAME);
	if (r < 0)
		return cli_fail(c, EXIT_IO, "cannot remove %s: %s", path,
				strerror(-r));
	cli_say(c, "removed the staged image %s", path);
	return EXIT_OK;
}
