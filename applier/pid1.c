// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pid1.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/watchdog.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "efivar.h"
#include "initplan.h"
#include "modules.h"
#include "util.h"

#define SYSROOT "/sysroot"
#define EFIVARS_DIR "/sys/firmware/efi/efivars"

struct pid1 {
	struct boot *b;
	const struct sf_ctx *ctx;
	struct sf_init_opts opts;
	bool data_mounted, esp_mounted;
	int kmsg; /* /dev/kmsg, or -1 */
};

#define say(p, ...) sf_log((p)->ctx, SF_LOG_NOTICE, 0, __VA_ARGS__)
#define warn(p, ...) sf_log((p)->ctx, SF_LOG_WARNING, 0, __VA_ARGS__)

static int mkdir_p(const char *path)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int mount_at(struct pid1 *p, const char *src, const char *dir,
		    const char *type, unsigned long flags, const char *data)
{
	int r = mkdir_p(dir);

	if (r >= 0 && mount(src, dir, type, flags, data) < 0)
		r = -errno;
	if (r < 0)
		return sf_err(p->ctx, r, "cannot mount %s (%s) on %s: %s", src,
			      type, dir, strerror(-r));
	return 0;
}

static int early_mounts(struct pid1 *p)
{
	const unsigned long nodev = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int r = 0;

	r |= mount_at(p, "proc", "/proc", "proc", nodev, NULL);
	r |= mount_at(p, "sysfs", "/sys", "sysfs", nodev, NULL);
	r |= mount_at(p, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID,
		      "mode=0755");
	r |= mount_at(p, "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV,
		      "mode=0755");
	return r ? -EIO : 0;
}

static void read_cmdline(struct pid1 *p)
{
	char line[4096], bad[128];

	sf_cmdline_read(p->ctx, line, sizeof(line));
	sf_init_opts_parse(line, &p->opts, bad, sizeof(bad));
	if (bad[0])
		warn(p,
		     "ignored bad kernel command line options (defaults "
		     "used): %s",
		     bad);
}

static void mount_efivarfs(struct pid1 *p)
{
	if (access("/sys/firmware/efi", F_OK) < 0) {
		warn(p, "not booted through UEFI (no /sys/firmware/efi): no "
			"EFI variables, no boot counting");
		return;
	}
	if (mount("efivarfs", EFIVARS_DIR, "efivarfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    errno != EBUSY)
		warn(p, "cannot mount efivarfs on %s: %m", EFIVARS_DIR);
}

/*
 * A line in the kernel log, so that it carries the kernel's timestamp on
 * the console: the start of /init and the exec of the slot's init, for
 * measuring the boot time slotflip-init takes.
 */
static void kmsg_mark(const struct pid1 *p, const char *what)
{
	char line[128];
	int n;

	if (p->kmsg < 0)
		return;
	n = snprintf(line, sizeof(line), "<5>slotflip-init: %s\n", what);
	if (n > 0 && n < (int)sizeof(line) && write(p->kmsg, line, n) < 0)
		return; /* only a timing aid */
}

/*
 * Wait for data, ESP and both slots. Polls often: a look reads a few sysfs
 * files, the partition tables only when the block devices changed (see
 * sf_devwait_look()). Each device found is kept in the config as its node,
 * so that mounting and opening it does not look for it again.
 */
static void wait_devices(struct pid1 *p)
{
	const struct timespec step = { 0, 10 * 1000 * 1000 };
	struct sf_config *cfg = &p->b->cfg;
	char *specs[] = { cfg->data, cfg->esp, cfg->slot[0].device,
			  cfg->slot[1].device };
	struct sf_devwait w = { .sysfs = "/sys", .devdir = "/dev", .n = 4 };
	struct timespec start, now;

	for (size_t i = 0; i < w.n; i++)
		w.spec[i] = specs[i];
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (sf_devwait_look(&w) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)p->opts.timeout_s)
			break;
		nanosleep(&step, NULL);
	}
	for (size_t i = 0; i < w.n; i++) {
		if (w.dev[i][0])
			memcpy(specs[i], w.dev[i], sizeof(w.dev[i]));
		else
			warn(p, "device %s did not show up in %u s", specs[i],
			     p->opts.timeout_s);
	}
}

static bool mount_device(struct pid1 *p, const char *spec, const char *dir,
			 const char *type, unsigned long flags)
{
	char dev[4096];

	if (sf_config_resolve_device(p->ctx, spec, dev, sizeof(dev)) < 0)
		return false;
	return mount_at(p, dev, dir, type, flags, NULL) == 0;
}

/*
 * The data partition stays mounted for the slot's system (under /run,
 * moved with it): the runtime tool stages images there, and the system's
 * shutdown unmounts it like any other mount. The ESP is mounted only for
 * an apply (mount_esp()), and unmounted before the boot goes on.
 */
static void mount_data(struct pid1 *p)
{
	p->data_mounted = mount_device(p, p->b->cfg.data, p->b->cfg.data_dir,
				       "ext4", MS_NOSUID | MS_NODEV);
	if (!p->data_mounted)
		warn(p, "the data partition is not mounted: a staged update "
			"cannot be seen at this boot");
}

/* boot.c's mount_esp hook: the ESP, while an apply writes its EFI
 * binary. */
static int mount_esp(void *data)
{
	struct pid1 *p = data;

	if (p->esp_mounted)
		return 0;
	p->esp_mounted = mount_device(p, p->b->cfg.esp, p->b->cfg.esp_dir,
				      "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (!p->esp_mounted)
		return sf_err(p->ctx, -EIO,
			      "the ESP (%s) does not mount on %s: the update "
			      "cannot be applied at this boot",
			      p->b->cfg.esp, p->b->cfg.esp_dir);
	return 0;
}

/*
 * Nothing of slotflip's stays on the ESP for the system's uptime: left
 * mounted, a reset would leave its FAT marked dirty.
 */
static void unmount_esp(struct pid1 *p)
{
	if (!p->esp_mounted)
		return;
	sync();
	if (umount2(p->b->cfg.esp_dir, 0) < 0) {
		warn(p, "cannot unmount the ESP from %s: %m; detaching it",
		     p->b->cfg.esp_dir);
		umount2(p->b->cfg.esp_dir, MNT_DETACH);
	}
	p->esp_mounted = false;
}

static void unmount_partitions(struct pid1 *p)
{
	unmount_esp(p);
	if (p->data_mounted && umount2(p->b->cfg.data_dir, 0) < 0)
		warn(p, "cannot unmount %s: %m", p->b->cfg.data_dir);
	sync();
}

static _Noreturn void do_reboot(struct pid1 *p, unsigned delay_s)
{
	unmount_partitions(p);
	if (delay_s) {
		say(p, "rebooting in %u s", delay_s);
		sleep(delay_s);
	} else {
		say(p, "rebooting");
	}
	reboot(RB_AUTOBOOT);
	/* Only if reboot() itself failed: exiting PID 1 panics the kernel,
	 * and panic=N reboots. */
	sf_err(p->ctx, -errno, "reboot failed: %m");
	_exit(1);
}

/* Nothing bootable here: try the good slot, else say why and reboot. */
static _Noreturn void fall_back(struct pid1 *p, const char *why)
{
	struct boot *b = p->b;
	uint8_t good = b->st.good;

	if (b->next_slot < 2)
		sf_log(p->ctx, SF_LOG_ERR, 0, "cannot boot slot %s: %s",
		       sf_slot_name(b->next_slot), why);
	else
		sf_log(p->ctx, SF_LOG_ERR, 0, "cannot boot: %s", why);
	/* A slot to fall back to only once boot_run() loaded the state. */
	if (b->next_slot < 2 && good != b->next_slot && good < 2 &&
	    b->st.slot[good].status == SF_SLOT_GOOD &&
	    efivar_set_boot_next(p->ctx, b->cfg.slot[good].boot_entry) >= 0) {
		say(p, "falling back: BootNext = the good slot %s",
		    sf_slot_name(good));
		do_reboot(p, 0);
	}
	sf_log(p->ctx, SF_LOG_ERR, 0,
	       "no slot can be booted from here; check the disk and the "
	       "slotflip config");
	do_reboot(p, p->opts.fail_delay_s);
}

/*
 * /dev/watchdog, once its driver registered one (/sys/class/watchdog):
 * devtmpfs creates the node a moment after the module loaded, so wait for
 * it a little. Close-on-exec: see arm_watchdog(). Returns the fd or -1
 * (errno set).
 */
static int open_watchdog(void)
{
	const struct timespec step = { 0, 20 * 1000 * 1000 };
	int fd = -1;

	for (int i = 0; i < 100; i++) {
		fd = open("/dev/watchdog", O_WRONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT ||
		    access("/sys/class/watchdog/watchdog0", F_OK) < 0)
			break;
		nanosleep(&step, NULL);
	}
	return fd;
}

/*
 * A trial boot: arm /dev/watchdog. The descriptor is closed at the exec of
 * the slot's init without the magic 'V', so the watchdog keeps running
 * (the kernel says "watchdog did not stop!") and resets the machine
 * unless the new system opens it and feeds it in time; it can, as the
 * device is free again (it opens once at a time). systemd closes inherited
 * descriptors anyway; it opens the device itself (RuntimeWatchdogSec=,
 * which slotflip's system.conf.d drop-in sets).
 */
static void arm_watchdog(struct pid1 *p)
{
	int t = (int)p->opts.watchdog_s;
	int fd = open_watchdog(); /* closed by the exec */

	if (fd < 0) {
		warn(p, "trial boot without a hardware watchdog (%m): a hang "
			"in the trial is not reset");
		return;
	}
	if (ioctl(fd, WDIOC_SETTIMEOUT, &t) < 0)
		warn(p, "cannot set the watchdog timeout to %d s: %m", t);
	ioctl(fd, WDIOC_KEEPALIVE, 0);
	say(p,
	    "watchdog armed: %d s; it keeps running after the exec of the "
	    "slot's init, which must feed it",
	    t);
}

/*
 * A trial boot: the deadline of its confirmation, for systemd. The drop-in
 * in /run (moved into the new root) gives slotflip-confirm.service's start
 * job a JobTimeoutSec: a trial still unconfirmed then (a unit ordered
 * before boot-complete.target that never finishes, a check that hangs)
 * fails the job, and the unit's OnFailure= marks the trial bad and
 * reboots. The good slot gets no deadline. Other inits ignore the file.
 */
static void write_deadline(struct pid1 *p)
{
	static const char dir[] =
		"/run/systemd/system/slotflip-confirm.service.d";
	char path[sizeof(dir) + 32];
	FILE *f;
	int r;

	r = mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/50-trial-deadline.conf", dir);
	f = r < 0 ? NULL : fopen(path, "we");
	if (!f) {
		warn(p, "cannot write %s: %s: the trial has no deadline", path,
		     strerror(r < 0 ? -r : errno));
		return;
	}
	fprintf(f,
		"# slotflip-init: this boot is a trial (trial-deadline in "
		"slotflip.conf)\n[Unit]\nJobTimeoutSec=%u\n",
		p->b->cfg.trial_deadline_s);
	if (fclose(f) != 0) {
		warn(p, "cannot write %s: %m: the trial has no deadline", path);
		unlink(path);
		return;
	}
	say(p, "trial deadline: %u s (systemd: slotflip-confirm.service)",
	    p->b->cfg.trial_deadline_s);
}

/* Remove the initramfs' files (they stay in RAM otherwise); stays on
 * @dev, so mounts below are untouched. */
static void remove_tree(int dfd, dev_t dev)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			sub = openat(dirfd(d), e->d_name,
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				remove_tree(sub, dev);
		}
		unlinkat(dirfd(d), e->d_name,
			 S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
	}
	closedir(d);
}

/* Returns 0, or -errno with the reason in @why (@size bytes). */
static int move_mounts(struct pid1 *p, char *why, size_t size)
{
	static const char *const dirs[] = { "/dev", "/proc", "/sys", "/run" };
	char to[64];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(to, sizeof(to), SYSROOT "%s", dirs[i]);
		if (mount(dirs[i], to, NULL, MS_MOVE, NULL) < 0) {
			int r = -errno;

			snprintf(why, size,
				 "cannot move %s to %s: %s (does the slot's "
				 "root have that directory?)",
				 dirs[i], to, strerror(-r));
			return sf_err(p->ctx, r, "%s", why);
		}
	}
	return 0;
}

/*
 * PID 1 stays, saying @reason and @advice on the console every minute: a
 * reboot would only come back here (a device must not reboot in a loop,
 * wearing its storage and hiding the message). The data partition and the
 * ESP are unmounted first (a power cut loses nothing).
 */
static _Noreturn void stop_loop(struct pid1 *p, const char *reason,
				const char *advice)
{
	unmount_partitions(p);
	for (;;) {
		sf_log(p->ctx, SF_LOG_ERR, 0, "stopped, not rebooting: %s. %s",
		       reason, advice);
		sleep(60);
	}
}

/*
 * Stop: the good slot cannot run its init, and there is no other slot to
 * boot. A reboot would only come back here, so PID 1 stays, saying why on
 * the console every minute, with the reason in the result file and the
 * data partition and the ESP unmounted (a power cut loses nothing).
 */
static _Noreturn void stop_here(struct pid1 *p, const char *why)
{
	struct boot *b = p->b;
	const char *slot = sf_slot_name(b->next_slot);
	char reason[1024]; /* cut to the result file's size */
	char advice[256];

	snprintf(reason, sizeof(reason), "slot %s (version %s) cannot boot: %s",
		 slot,
		 b->st.slot[b->next_slot].version[0]
			 ? b->st.slot[b->next_slot].version
			 : "unknown",
		 why);
	boot_write_unbootable(b, b->next_slot, reason);
	snprintf(advice, sizeof(advice),
		 "It is the good slot and no other slot can take its place. "
		 "Put a working system into slot %s (or name its init with "
		 "slotflip.init=), then power the device off and on",
		 slot);
	stop_loop(p, reason, advice);
}

/* Stop: this boot is below the anti-rollback floor (rollback.c), and the
 * good slot is what the firmware booted. */
static _Noreturn void stop_rollback(struct pid1 *p)
{
	struct boot *b = p->b;
	char advice[256];

	snprintf(advice, sizeof(advice),
		 "Put a signed system of version %s or later into slot %s "
		 "(with its UKI on the ESP), then power the device off and "
		 "on",
		 b->st.floor, sf_slot_name(b->next_slot));
	stop_loop(p, b->stop_reason, advice);
}

/*
 * The slot's init cannot run: no retry changes that. A trial fails at
 * once and the good slot boots; the good slot itself stops here.
 */
static _Noreturn void init_cannot_run(struct pid1 *p, const char *why)
{
	struct boot *b = p->b;
	char reason[1024]; /* cut to the result file's size */

	if (b->next_slot == b->st.good) {
		sf_log(p->ctx, SF_LOG_ERR, 0, "cannot boot slot %s: %s",
		       sf_slot_name(b->next_slot), why);
		stop_here(p, why);
	}
	if (b->next_slot == b->st.trial) {
		snprintf(reason, sizeof(reason),
			 "slot %s (version %s) cannot boot: %s",
			 sf_slot_name(b->next_slot),
			 b->st.slot[b->next_slot].version, why);
		boot_fail_trial(b, reason);
	}
	fall_back(p, why);
}

/* The slot's init, looked up in its root (its links included), into
 * @path. Returns 0, or -errno with the reason in @why. */
static int find_init(struct pid1 *p, char *path, size_t size, char *why,
		     size_t why_size)
{
	char at[PATH_MAX];
	int fd = open(SYSROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? -errno
		       : sf_init_resolve(fd, p->opts.init, path, size, at,
					 sizeof(at));

	if (fd < 0)
		snprintf(at, sizeof(at), "%s", SYSROOT);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		snprintf(why, why_size,
			 "its init %s cannot run: %.200s %s in the slot's root",
			 p->opts.init, at, sf_init_resolve_why(r));
	return r;
}

/*
 * Mount the slot, move the mounts, make it / and exec its init. Returns
 * only on failure, with the reason in @why: -ENOEXEC when its init cannot
 * run, another -errno for the rest.
 */
static int switch_root(struct pid1 *p, char *why, size_t size)
{
	struct boot *b = p->b;
	char *argv[] = { p->opts.init, NULL };
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (!mount_device(p, p->b->cfg.slot[b->next_slot].device, SYSROOT,
			  "ext4", p->opts.rw ? 0 : MS_RDONLY)) {
		snprintf(why, size, "its root filesystem does not mount");
		return -EIO;
	}
	if (find_init(p, path, sizeof(path), why, size) < 0) {
		umount2(SYSROOT, MNT_DETACH);
		return -ENOEXEC;
	}
	if (stat("/", &st) < 0)
		st.st_dev = 0;
	if (b->st.trial == b->next_slot) {
		arm_watchdog(p);
		write_deadline(p);
	}
	if (move_mounts(p, why, size) < 0)
		return -EIO;
	say(p, "switching root to slot %s (%s%s%s, %s)",
	    sf_slot_name(b->next_slot), p->opts.init,
	    strcmp(path, p->opts.init) ? " -> " : "",
	    strcmp(path, p->opts.init) ? path : "",
	    p->opts.rw ? "read-write" : "read-only");
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (chdir(SYSROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0) {
		snprintf(why, size, "switch_root failed: %s", strerror(errno));
		return -EIO;
	}
	if (fd >= 0 && st.st_dev)
		remove_tree(fd, st.st_dev);
	else if (fd >= 0)
		close(fd);
	kmsg_mark(p, "exec of the slot's init");
	execv(argv[0], argv);
	snprintf(why, size, "cannot run its init %s: %s", argv[0],
		 strerror(errno));
	return -ENOEXEC;
}

/*
 * libsodium waits for the kernel's random pool at sodium_init(), which
 * takes seconds early in a VM's boot. Only checking a staged image needs
 * libsodium, so a boot with nothing staged does not wait.
 */
static void init_crypto(struct pid1 *p)
{
	char path[4096];

	if (boot_staged_path(p->b, "", path, sizeof(path)) < 0 ||
	    access(path, F_OK) < 0)
		return;
	if (sodium_init() < 0)
		warn(p, "libsodium did not initialise: the staged image "
			"cannot be checked");
}

int pid1_main(struct boot *b)
{
	struct pid1 p = { .b = b, .ctx = b->ctx, .kmsg = -1 };
	char why[640];
	int r;

	say(&p, "starting");
	if (early_mounts(&p) < 0)
		fall_back(&p, "the kernel filesystems do not mount");
	p.kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	kmsg_mark(&p, "/init started");
	read_cmdline(&p);
	r = sf_modules_load_list(p.ctx, SF_MODULES_PATH, NULL);
	if (r != 0)
		warn(&p, "some kernel modules did not load (above); going on");
	mount_efivarfs(&p);
	if (sf_config_load(p.ctx, SF_CONFIG_PATH, &b->cfg) < 0)
		fall_back(&p, "no usable slotflip config in the initramfs");
	wait_devices(&p);
	mount_data(&p);
	b->now = (uint64_t)time(NULL);
	init_crypto(&p);
	b->mount_esp = mount_esp;
	b->mount_esp_data = &p;
	r = boot_run(b);
	unmount_esp(&p);
	if (r < 0)
		fall_back(&p, sf_error_reason(p.ctx, r));
	if (b->next == BOOT_NEXT_REBOOT) {
		say(&p, "rebooting into slot %s (BootNext)",
		    sf_slot_name(b->next_slot));
		do_reboot(&p, 0);
	}
	if (b->next == BOOT_NEXT_STOP)
		stop_rollback(&p);
	if (switch_root(&p, why, sizeof(why)) == -ENOEXEC)
		init_cannot_run(&p, why);
	fall_back(&p, why);
}
