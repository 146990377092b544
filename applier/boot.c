// SPDX-License-Identifier: LGPL-2.1-or-later
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "apply.h"
#include "booted.h"
#include "efivar.h"
#include "fault.h"
#include "fileio.h"
#include "rollback.h"
#include "staging.h"
#include "util.h"
#include "version.h"

#define say(b, ...) sf_log((b)->ctx, SF_LOG_NOTICE, 0, __VA_ARGS__)

int boot_staged_path(const struct boot *b, const char *suffix, char *buf,
		     size_t size)
{
	char name[64];

	if (snprintf(name, sizeof(name), "staged.img%s", suffix) >=
	    (int)sizeof(name))
		return -ENAMETOOLONG;
	return sf_staged_path(b->ctx, &b->cfg, name, buf, size);
}

static int detect_booted(struct boot *b)
{
	int r = sf_booted_slot(b->ctx, &b->cfg);

	if (r < 0)
		return sf_err(
			b->ctx, -ENOENT,
			"cannot tell which slot booted: no slotflip.slot= "
			"on the kernel command line and BootCurrent names "
			"neither slot's boot entry");
	b->booted = (uint8_t)r;
	return 0;
}

/*
 * The version of the system this initramfs belongs to, from
 * SF_VERSION_FILE. Only read when the state is rebuilt: it gives the
 * booted slot a known version and the anti-rollback floor a start, where
 * otherwise both would stay unknown until the first update is confirmed.
 */
static void own_version(struct boot *b, char *buf, size_t size)
{
	if (sf_version_file_read(b->ctx, buf, size) == -EINVAL) {
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "%s does not hold a version (1 to 8 dot-separated "
		       "numbers): the booted slot's version stays unknown",
		       SF_VERSION_FILE);
	}
}

static void load_state(struct boot *b)
{
	char version[SF_VERSION_FIELD];

	int r;

	sf_error_clear(b->ctx);
	r = sf_bootstate_load(b->ctx, &b->st);
	if (r >= 0)
		return;
	if (r == -ENOENT)
		say(b, "no slotflip state yet: slot %s is the good slot",
		    sf_slot_name(b->booted));
	else
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "slotflip state unreadable (%s): rebuilt with the "
		       "booted slot %s as good",
		       sf_error_reason(b->ctx, r), sf_slot_name(b->booted));
	own_version(b, version, sizeof(version));
	sf_bootstate_rebuild(&b->st, b->booted, version);
	if (version[0]) {
		say(b, "slot %s runs version %s (%s): anti-rollback floor %s",
		    sf_slot_name(b->booted), version, SF_VERSION_FILE, version);
	}
	r = sf_bootstate_store(b->ctx, &b->st);
	if (r < 0)
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "cannot store the rebuilt state: %s", strerror(-r));
}

/*
 * A trial never gets more tries than the config gives (the record's
 * checksum does not make its count sane). Only where the count is used:
 * in the good slot, whose initramfs armed the trial with this config.
 */
static void clamp_tries(struct boot *b)
{
	unsigned had = b->st.tries_left;

	if (b->booted != b->st.good || !sf_clamp_tries(&b->st, b->cfg.tries))
		return;
	sf_log(b->ctx, SF_LOG_WARNING, 0,
	       "the state gives the trial of slot %s %u tries left, more than "
	       "the %u tries of the config: counting %u",
	       sf_slot_name(b->st.trial), had, b->cfg.tries, b->st.tries_left);
}

/* Is an image staged? Its id is zero when it cannot be read. */
static bool staged_id(struct boot *b, uint8_t id[SF_IMAGE_ID_BYTES])
{
	int r;

	if (b->data_fd < 0)
		return false;
	r = sf_staged_id(b->data_fd, id);
	if (r == -ENOENT)
		return false;
	if (r < 0)
		memset(id, 0, SF_IMAGE_ID_BYTES);
	return true;
}

/* Set the result in the state (reason cut to its field) and keep the
 * whole reason for the result file. */
static void note_result(struct boot *b, enum sf_result code, const char *reason)
{
	snprintf(b->result_reason, sizeof(b->result_reason), "%s", reason);
	sf_bootstate_set_result(&b->st, code, b->now, reason);
}

/* The last result about @slot, for `slotflip status`, on the data
 * partition. */
static void write_result_for(struct boot *b, uint8_t slot, const char *version)
{
	struct sf_last_result lr = { .time = b->st.last_time };
	char path[4096];
	int r;

	_Static_assert(sizeof(b->result_reason) <= sizeof(lr.reason),
		       "last-result keeps the whole reason");
	snprintf(lr.result, sizeof(lr.result), "%s",
		 sf_result_name(b->st.last_result));
	snprintf(lr.slot, sizeof(lr.slot), "%s", sf_slot_name(slot));
	snprintf(lr.version, sizeof(lr.version), "%s", version ? version : "");
	snprintf(lr.reason, sizeof(lr.reason), "%s", b->result_reason);
	if (b->data_fd < 0)
		return; /* said when the directory was refused */
	r = sf_last_result_write(b->ctx, b->data_fd, &lr);
	if (r < 0 && sf_staged_path(b->ctx, &b->cfg, SF_LAST_RESULT_NAME, path,
				    sizeof(path)) == 0)
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "cannot write %s: %s; the result stays in the EFI "
		       "state (is the data partition full?)",
		       path, strerror(-r));
}

/* The last result about the spare slot (an apply, a refusal). */
static void write_result(struct boot *b, const char *version)
{
	write_result_for(b, (uint8_t)(1 - b->booted), version);
}

/*
 * A trial that failed outside slotflip-init (mark-bad, set-active) without
 * its result in last-result (a power cut, no data partition then): write
 * it from the state, once, before its image goes aside.
 */
static void catch_up_result(struct boot *b)
{
	struct sf_last_result lr;

	if (b->st.last_result != SF_RESULT_TRIAL_FAILED)
		return;
	if (b->data_fd >= 0 && sf_last_result_read(b->data_fd, &lr) == 0 &&
	    !strcmp(lr.result, sf_result_name(SF_RESULT_TRIAL_FAILED)) &&
	    lr.time == b->st.last_time)
		return;
	snprintf(b->result_reason, sizeof(b->result_reason), "%s",
		 b->st.last_reason);
	write_result(b, b->st.slot[1 - b->booted].version);
}

/* Move the staged image to staged.img.@suffix, so it is not retried. */
static void move_aside(struct boot *b, const char *suffix)
{
	char from[4096], to[4096], name[64];

	if (b->data_fd < 0 ||
	    snprintf(name, sizeof(name), SF_STAGED_NAME "%s", suffix) >=
		    (int)sizeof(name) ||
	    boot_staged_path(b, "", from, sizeof(from)) < 0 ||
	    boot_staged_path(b, suffix, to, sizeof(to)) < 0)
		return;
	sf_fault_point(b->ctx, "staged rename");
	if (renameat(b->data_fd, SF_STAGED_NAME, b->data_fd, name) < 0 &&
	    errno != ENOENT)
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "cannot move %s aside: %m; the state remembers it",
		       from);
	else
		say(b, "staged image moved to %s", to);
}

static int store(struct boot *b)
{
	int r = sf_bootstate_store(b->ctx, &b->st);

	return r < 0 ? r : 0;
}

static void reboot_into(struct boot *b, uint8_t slot)
{
	int r = efivar_set_boot_next(b->ctx, b->cfg.slot[slot].boot_entry);

	if (r < 0) {
		/* The good slot stays first in BootOrder: nothing is lost. */
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "cannot set BootNext: booting slot %s instead",
		       sf_slot_name(b->booted));
		b->next = BOOT_NEXT_SLOT;
		b->next_slot = b->booted;
		return;
	}
	b->next = BOOT_NEXT_REBOOT;
	b->next_slot = slot;
}

static void act_retry(struct boot *b)
{
	uint8_t t = b->st.trial;

	b->st.tries_left--;
	if (store(b) < 0) {
		say(b, "cannot count the try: not retrying slot %s",
		    sf_slot_name(t));
		return;
	}
	say(b, "retrying the trial of slot %s (%u tries left after this one)",
	    sf_slot_name(t), b->st.tries_left);
	reboot_into(b, t);
}

/*
 * pid1.c's late failures (the slot's init cannot run) come after
 * boot_run() closed DATA_DIR/slotflip: open it again for the result
 * file. Returns true when it was opened here (close with
 * data_dir_done()).
 */
static bool data_dir_reopen(struct boot *b)
{
	if (b->data_fd >= 0)
		return false;
	b->data_fd = sf_staging_dir_open(b->ctx, &b->cfg, true);
	return b->data_fd >= 0;
}

static void data_dir_done(struct boot *b, bool reopened)
{
	if (!reopened)
		return;
	close(b->data_fd);
	b->data_fd = -1;
}

void boot_fail_trial(struct boot *b, const char *reason)
{
	uint8_t t = b->st.trial;
	bool reopened;

	if (t > 1)
		return;
	reopened = data_dir_reopen(b);
	b->st.slot[t].status = SF_SLOT_FAILED;
	b->st.trial = SF_NO_SLOT;
	b->st.tries_left = 0;
	note_result(b, SF_RESULT_TRIAL_FAILED, reason);
	sf_log(b->ctx, SF_LOG_ERR, 0, "update failed: %s", reason);
	/* Result file first: once the state is stored, the next boot only
	 * moves the image aside and would not write it. */
	write_result_for(b, t, b->st.slot[t].version);
	if (store(b) < 0)
		say(b, "cannot record the failure in the EFI state");
	move_aside(b, ".failed");
	data_dir_done(b, reopened);
}

void boot_write_unbootable(struct boot *b, uint8_t slot, const char *reason)
{
	struct sf_last_result lr = { .time = b->now };
	char path[4096];
	bool reopened;
	int r;

	if (slot > 1)
		return;
	reopened = data_dir_reopen(b);
	snprintf(lr.result, sizeof(lr.result), "%s", BOOT_RESULT_UNBOOTABLE);
	snprintf(lr.slot, sizeof(lr.slot), "%s", sf_slot_name(slot));
	snprintf(lr.version, sizeof(lr.version), "%s",
		 b->st.slot[slot].version);
	snprintf(lr.reason, sizeof(lr.reason), "%s", reason);
	r = b->data_fd < 0 ? b->data_fd
			   : sf_last_result_write(b->ctx, b->data_fd, &lr);
	if (r < 0 && sf_staged_path(b->ctx, &b->cfg, SF_LAST_RESULT_NAME, path,
				    sizeof(path)) == 0)
		sf_log(b->ctx, SF_LOG_WARNING, 0, "cannot write %s: %s", path,
		       strerror(-r));
	data_dir_done(b, reopened);
}

static void act_fail_trial(struct boot *b)
{
	uint8_t t = b->st.trial;
	char reason[SF_ERROR_MAX];

	/* With Secure Boot on, a UKI the firmware refuses (unsigned, or
	 * signed by a key not in db) never starts: only its tries run out. */
	snprintf(reason, sizeof(reason),
		 "slot %s (version %s) did not confirm its trial after %u "
		 "tries%s",
		 sf_slot_name(t), b->st.slot[t].version, b->cfg.tries,
		 efivar_secure_boot(b->ctx) == 1
			 ? "; Secure Boot is on: was its UKI signed with a key "
			   "in the firmware's db?"
			 : "");
	boot_fail_trial(b, reason);
}

/*
 * Record result @code for image @id. The same result again for the same
 * image (a refusal cut before its move aside, an image staged again, an
 * apply error met at every boot) keeps its time: the record is unchanged
 * and not rewritten, sparing the NVRAM.
 */
static void set_result(struct boot *b, enum sf_result code, const uint8_t *id,
		       const char *reason)
{
	bool same = b->st.last_result == code &&
		    !memcmp(b->st.image_id, id, SF_IMAGE_ID_BYTES) &&
		    !strncmp(b->st.last_reason, reason, SF_REASON_FIELD - 1);
	uint64_t then = b->st.last_time;

	memmove(b->st.image_id, id, SF_IMAGE_ID_BYTES);
	note_result(b, code, reason);
	if (same)
		b->st.last_time = then;
}

static void refuse_staged(struct boot *b, const uint8_t *id, const char *reason,
			  const char *version)
{
	set_result(b, SF_RESULT_REFUSED, id, reason);
	sf_log(b->ctx, SF_LOG_ERR, 0, "staged image refused: %s", reason);
	write_result(b, version);
	if (store(b) < 0)
		say(b, "cannot record the refusal in the EFI state");
	move_aside(b, ".refused");
}

struct slot_files {
	int spare_fd, active_fd;
	uint64_t spare_size;
	char efi[4096], active_efi[4096];
};

/* Progress on the console: a line every 10%, from any worker thread. */
static void console_progress(void *data, uint64_t done, uint64_t total)
{
	struct boot *b = data;
	unsigned tenth = total ? (unsigned)(done * 10 / total) : 10;
	unsigned last = atomic_load(&b->progress_tenth);

	if (tenth > last &&
	    atomic_compare_exchange_strong(&b->progress_tenth, &last, tenth)) {
		bool mib = total >= (16u << 20);

		say(b, "%s: %u%% (%llu of %llu %s)", b->progress_what,
		    tenth * 10, (unsigned long long)(done >> (mib ? 20 : 10)),
		    (unsigned long long)(total >> (mib ? 20 : 10)),
		    mib ? "MiB" : "KiB");
	}
}

static void progress_start(struct boot *b, const char *what)
{
	b->progress_what = what;
	atomic_store(&b->progress_tenth, 0);
}

/* Bytes free in @path's filesystem, plus what @path holds (it is
 * replaced); UINT64_MAX when that cannot be told (the write will say). */
static uint64_t room_for(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	struct statvfs sv;
	struct stat st;
	uint64_t room;

	if (!dir || statvfs(dirname(dir), &sv) < 0)
		return UINT64_MAX;
	room = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (stat(path, &st) == 0)
		room += (uint64_t)st.st_size;
	return room;
}

/* The EFI binary is written as "<name>.new" beside its final name. */
static int check_esp_room(struct boot *b, const struct sf_image *img,
			  const char *efi, char *reason, size_t size)
{
	const struct sf_payload *p =
		sf_manifest_payload(&img->m, SF_PAYLOAD_EFI);
	char tmp[4200];
	uint64_t room;

	snprintf(tmp, sizeof(tmp), "%s.new", efi);
	room = room_for(tmp);
	if (p->size <= room)
		return 0;
	snprintf(reason, size,
		 "EFI binary of %llu bytes does not fit the %llu bytes free "
		 "on the ESP",
		 (unsigned long long)p->size, (unsigned long long)room);
	return sf_err(b->ctx, -EPERM, "refused: %s", reason);
}

/* Signatures, then the device's policy. Returns 0 or -EPERM + reason. */
static int check_image(struct boot *b, struct sf_image *img,
		       const struct slot_files *f, char *reason, size_t size)
{
	struct ms_pubkey keys[SF_CONFIG_MAX_KEYS];
	struct sf_apply_policy p = {
		.compatible = b->cfg.compatible,
		.floor = b->st.floor,
		.running_version = b->st.slot[b->booted].version,
		.slot_size = f->spare_size,
	};
	int r = sf_config_load_pubkeys(b->ctx, &b->cfg, keys);

	/* The device's fault, not the image's: not a refusal. */
	if (r < 0)
		return -ENOKEY;
	sf_error_clear(b->ctx);
	r = sf_image_check_signatures(b->ctx, img, keys, b->cfg.n_pubkeys,
				      b->cfg.threshold);
	if (r >= 0)
		r = sf_apply_precheck(b->ctx, img, &p, reason, size);
	if (r >= 0)
		r = check_esp_room(b, img, f->efi, reason, size);
	if (r == -EPERM)
		return r;
	/* A corrupt or truncated data area is refused before the spare
	 * slot changes; each chunk is checked again when it is written. */
	if (r >= 0) {
		say(b, "checking the %u chunks of version %s", img->m.n_chunks,
		    img->m.version);
		progress_start(b, "check");
		r = sf_image_verify_data(b->ctx, img, 0, console_progress, b);
	}
	if (r < 0) {
		snprintf(reason, size, "%s", sf_error_reason(b->ctx, r));
		return -EPERM;
	}
	return 0;
}

static int slot_size(int fd, uint64_t *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
	*ret = (uint64_t)st.st_size;
	return 0;
}

static int efi_path(const struct boot *b, uint8_t slot, char *buf, size_t size)
{
	char rel[2 * SF_CONFIG_VALUE_MAX];

	snprintf(rel, sizeof(rel), "%s/%s", b->cfg.esp_dir,
		 b->cfg.slot[slot].efi);
	return sf_root_path(b->ctx, rel, buf, size);
}

static int slot_open_error(struct boot *b, uint8_t slot, const char *dev, int r)
{
	if (r == -EINVAL)
		return sf_err(b->ctx, r,
			      "slot %s (%s) is neither a block device nor a "
			      "regular file (config: device)",
			      sf_slot_name(slot), dev);
	return sf_err(b->ctx, r, "cannot open slot %s (%s): %s",
		      sf_slot_name(slot), dev, strerror(-r));
}

/*
 * The spare slot at @dev, opened for writing only when it is not the
 * active slot's device (@active): a config that names one device twice
 * is refused by boot_run() already, this holds whatever resolved it.
 */
static int open_spare(struct boot *b, const char *dev,
		      const struct stat *active)
{
	uint8_t spare = 1 - b->booted;
	struct stat st;
	int fd;

	if (stat(dev, &st) == 0 && sf_same_device(&st, active))
		return sf_err(b->ctx, -EINVAL,
			      "slot %s (%s) is the device of the running slot "
			      "%s: not writing it; fix the config (%s)",
			      sf_slot_name(spare), dev, sf_slot_name(b->booted),
			      b->cfg.file);
	fd = open_device(dev, O_RDWR);
	return fd < 0 ? slot_open_error(b, spare, dev, fd) : fd;
}

static int open_slots(struct boot *b, struct slot_files *f)
{
	uint8_t spare = 1 - b->booted;
	char dev[4096];
	struct stat active;
	int r;

	r = sf_config_resolve_device(b->ctx, b->cfg.slot[b->booted].device, dev,
				     sizeof(dev));
	if (r >= 0 && (f->active_fd = open_device(dev, O_RDONLY)) < 0)
		r = slot_open_error(b, b->booted, dev, f->active_fd);
	if (r >= 0 && fstat(f->active_fd, &active) < 0)
		r = sf_err(b->ctx, -errno, "cannot stat slot %s (%s): %m",
			   sf_slot_name(b->booted), dev);
	if (r >= 0)
		r = sf_config_resolve_device(b->ctx, b->cfg.slot[spare].device,
					     dev, sizeof(dev));
	if (r >= 0 && (r = open_spare(b, dev, &active)) >= 0) {
		f->spare_fd = r;
		r = slot_size(f->spare_fd, &f->spare_size);
		if (r < 0)
			sf_err(b->ctx, r, "cannot size slot %s",
			       sf_slot_name(spare));
	}
	if (r >= 0)
		r = efi_path(b, spare, f->efi, sizeof(f->efi));
	if (r >= 0)
		r = efi_path(b, b->booted, f->active_efi,
			     sizeof(f->active_efi));
	return r;
}

static void apply_failed(struct boot *b, int r, const uint8_t *id,
			 const char *version)
{
	const char *why = sf_error_reason(b->ctx, r);

	if (r == -EBADMSG || r == -EXDEV) {
		/* The staged file is not what was signed, or not for us. */
		refuse_staged(b, id, why, version);
		return;
	}
	set_result(b, SF_RESULT_APPLY_ERROR, id, why);
	sf_log(b->ctx, SF_LOG_ERR, 0,
	       "apply failed, will retry at next boot: %s", why);
	write_result(b, version);
	store(b);
}

static void arm_trial(struct boot *b, uint8_t spare, const char *version)
{
	char reason[SF_ERROR_MAX];
	int r;

	b->st.slot[spare].status = SF_SLOT_TRIAL;
	snprintf(b->st.slot[spare].version, SF_VERSION_FIELD, "%s", version);
	b->st.trial = spare;
	b->st.tries_left = (uint8_t)(b->cfg.tries - 1);
	snprintf(reason, sizeof(reason),
		 "version %s written to slot %s; trial armed with %u tries",
		 version, sf_slot_name(spare), b->cfg.tries);
	note_result(b, SF_RESULT_APPLIED, reason);
	/* Result file first: a power cut right after arming must not leave
	 * an older result there. */
	write_result(b, version);
	sf_error_clear(b->ctx);
	r = store(b);
	if (r < 0) {
		note_result(b, SF_RESULT_APPLY_ERROR,
			    sf_error_reason(b->ctx, r));
		sf_log(b->ctx, SF_LOG_ERR, 0,
		       "cannot arm the trial in the EFI state: booting slot %s; "
		       "the apply is redone at the next boot",
		       sf_slot_name(b->booted));
		write_result(b, version);
		return;
	}
	say(b, "%s", reason);
	reboot_into(b, spare);
}

/* Mark the spare slot invalid before its first byte changes. */
static int invalidate_spare(struct boot *b, uint8_t spare, const uint8_t *id)
{
	int r;

	b->st.slot[spare].status = SF_SLOT_INVALID;
	b->st.slot[spare].version[0] = '\0';
	memcpy(b->st.image_id, id, SF_IMAGE_ID_BYTES);
	r = store(b);
	if (r < 0)
		return sf_err(b->ctx, -EIO,
			      "cannot mark slot %s invalid in the EFI state "
			      "(%s): not applying; the update is tried again "
			      "at the next boot",
			      sf_slot_name(spare), strerror(-r));
	return 0;
}

static void apply_checked(struct boot *b, struct sf_image *img,
			  struct slot_files *f)
{
	uint8_t spare = 1 - b->booted;
	struct sf_apply_target t = {
		.slot_fd = f->spare_fd,
		.active_fd = f->active_fd,
		.efi_path = f->efi,
		.active_efi_path = f->active_efi,
		.progress = console_progress,
		.progress_data = b,
	};
	struct sf_apply_stats stats;
	char version[SF_VERSION_FIELD];
	int r;

	snprintf(version, sizeof(version), "%s", img->m.version);
	sf_error_clear(b->ctx);
	r = invalidate_spare(b, spare, img->manifest_hash);
	if (r < 0) {
		note_result(b, SF_RESULT_APPLY_ERROR,
			    sf_error_reason(b->ctx, r));
		write_result(b, version);
		return;
	}
	say(b, "writing version %s to slot %s", version, sf_slot_name(spare));
	progress_start(b, "apply");
	sf_error_clear(b->ctx);
	r = sf_apply_write(b->ctx, img, &t, &stats);
	if (r < 0) {
		apply_failed(b, r, img->manifest_hash, version);
		return;
	}
	say(b,
	    "slot %s written and read back: %u chunks written, %u already "
	    "right",
	    sf_slot_name(spare), stats.chunks_written, stats.chunks_skipped);
	arm_trial(b, spare, version);
}

/* The staged image, opened; its reason recorded when it cannot be. */
static int open_staged(struct boot *b, struct sf_image **img)
{
	sf_error_clear(b->ctx);
	return sf_staged_open(b->ctx, &b->cfg, b->data_fd, SF_STAGED_NAME, img);
}

static void act_apply(struct boot *b, const uint8_t *id)
{
	struct slot_files f = { .spare_fd = -1, .active_fd = -1 };
	struct sf_image *img = NULL;
	char reason[SF_ERROR_MAX];
	int r;

	sf_error_clear(b->ctx);
	r = b->mount_esp ? b->mount_esp(b->mount_esp_data) : 0;
	if (r >= 0)
		r = open_slots(b, &f);
	if (r < 0) {
		apply_failed(b, -EIO, id, NULL);
	} else if ((r = open_staged(b, &img)) < 0) {
		refuse_staged(b, id, sf_error_reason(b->ctx, r), NULL);
	} else if ((r = check_image(b, img, &f, reason, sizeof(reason))) ==
		   -ENOKEY) {
		apply_failed(b, -EIO, id, NULL);
	} else if (r < 0) {
		refuse_staged(b, id, reason,
			      img->loaded ? img->m.version : NULL);
	} else {
		apply_checked(b, img, &f);
	}
	sf_image_close(img);
	if (f.spare_fd >= 0)
		close(f.spare_fd);
	if (f.active_fd >= 0)
		close(f.active_fd);
}

static void act(struct boot *b, const uint8_t *id)
{
	switch (b->decision.action) {
	case SF_ACT_BOOT_ON:
		break;
	case SF_ACT_APPLY:
		act_apply(b, id);
		break;
	case SF_ACT_RETRY:
		act_retry(b);
		break;
	case SF_ACT_FAIL_TRIAL:
		act_fail_trial(b);
		break;
	case SF_ACT_DISCARD:
		catch_up_result(b);
		move_aside(b, b->st.last_result == SF_RESULT_TRIAL_FAILED
				      ? ".failed"
				      : ".applied");
		break;
	case SF_ACT_BOOT_GOOD:
		reboot_into(b, b->st.good);
		break;
	}
}

/*
 * DATA_DIR/slotflip, never through a link: what is staged there, the
 * result file and the moves aside are all reached through b->data_fd.
 * A link or a file in its place is refused (and said why): the boot goes
 * on as if nothing were staged.
 */
static void open_data_dir(struct boot *b)
{
	b->data_fd = sf_staging_dir_open(b->ctx, &b->cfg, false);
	if (b->data_fd < 0 && b->data_fd != -ENOENT)
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "the staging directory is not usable: a staged update "
		       "is not looked at and no result file is written until "
		       "it is fixed (above)");
}

/*
 * Both slots on one device (sf_config_check_slots() says which): no state
 * read or written, nothing applied. Only booting the slot that runs is
 * sure not to do harm. Returns whether it is so.
 */
static bool slots_clash(struct boot *b)
{
	if (sf_config_check_slots(b->ctx, &b->cfg) >= 0)
		return false;
	sf_bootstate_rebuild(&b->st, b->booted, NULL);
	b->decision = (struct sf_decision){
		.action = SF_ACT_BOOT_ON,
		.slot = b->booted,
		.why = "the config is wrong: booting it, no update",
	};
	say(b, "booted slot %s; %s", sf_slot_name(b->booted), b->decision.why);
	return true;
}

int boot_run(struct boot *b)
{
	uint8_t id[SF_IMAGE_ID_BYTES] = { 0 };
	struct sf_decide_in in = { .state = &b->st };
	int r;

	b->next_slot = SF_NO_SLOT;
	sf_error_clear(b->ctx);
	r = detect_booted(b);
	if (r < 0)
		return r;
	b->next = BOOT_NEXT_SLOT;
	b->next_slot = b->booted;
	if (slots_clash(b))
		return 0;
	load_state(b);
	clamp_tries(b);
	open_data_dir(b);
	if (!boot_refuse_rollback(b)) {
		in.booted = b->booted;
		in.staged = staged_id(b, id);
		in.staged_id = id;
		b->decision = sf_decide(&in);
		say(b, "booted slot %s; %s", sf_slot_name(b->booted),
		    b->decision.why);
		act(b, id);
	}
	if (b->data_fd >= 0)
		close(b->data_fd);
	b->data_fd = -1;
	return 0;
}
