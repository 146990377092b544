// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "imgwrite.h"
#include "testlib.h"
#include "util.h"

#define ROOTFS_SIZE (320 * 1024)
#define SLOT_SIZE (512 * 1024)
#define CHUNK 65536

/* rootfs-V: text-like data with a 128 KiB zero run; efi-V: 20 KiB. With
 * @changed, version 2 differs from version 1 in one 4 KiB block. */
static void make_payloads(const char *v, bool changed)
{
	static uint8_t r[ROOTFS_SIZE], e[20 * 1024];
	char name[64];

	test_fill_random(r, sizeof(r), 1);
	for (size_t i = 0; i < sizeof(r); i++)
		r[i] = (uint8_t)('a' + r[i] % 7);
	memset(r + 128 * 1024, 0, 128 * 1024);
	if (changed)
		memset(r + 20 * 4096, 'X', 4096);
	test_fill_random(e, sizeof(e), changed ? 3 : 2);
	snprintf(name, sizeof(name), "rootfs-%s", v);
	test_write_file(name, r, sizeof(r));
	snprintf(name, sizeof(name), "efi-%s", v);
	test_write_file(name, e, sizeof(e));
}

static struct sf_image *make_image(const char *v, const char *delta_from)
{
	/* One signing key per test: a delta's base must be signed by it. */
	static struct ms_pubkey pk;
	static struct ms_seckey sk;
	static bool have_key;
	char rootfs[64], efi[64], out[64];
	struct sf_create_opts o = {
		.rootfs = rootfs,
		.efi = efi,
		.version = v,
		.compatible = "acme-gw",
		.chunk_size = CHUNK,
		.delta_from = delta_from,
		.keys = &sk,
		.n_keys = 1,
		.build_time = 1700000000,
	};
	struct sf_image *img = NULL;

	snprintf(rootfs, sizeof(rootfs), "rootfs-%s", v);
	snprintf(efi, sizeof(efi), "efi-%s", v);
	snprintf(out, sizeof(out), "%s%s.img", v, delta_from ? "-delta" : "");
	if (!have_key)
		CHECK_EQ(ms_keygen(&pk, &sk), 0);
	have_key = true;
	CHECK_EQ(sf_image_create(&test_ctx, &o, out), 0);
	CHECK_EQ(sf_image_open(&test_ctx, out, &img), 0);
	CHECK_EQ(sf_image_load_manifest(&test_ctx, img), 0);
	return img;
}

/* A slot file of SLOT_SIZE bytes of @fill, opened read-write. */
static int make_slot(const char *path, int fill)
{
	static uint8_t buf[SLOT_SIZE];
	int fd;

	memset(buf, fill, sizeof(buf));
	test_write_file(path, buf, sizeof(buf));
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

static bool file_starts_with(const char *path, const char *want)
{
	size_t n, m;
	_cleanup_free_ uint8_t *a = test_read_file(path, &n);
	_cleanup_free_ uint8_t *b = test_read_file(want, &m);

	return n >= m && memcmp(a, b, m) == 0;
}

static int precheck(const struct sf_image *img, const char *floor,
		    const char *running, uint64_t slot_size, char *reason)
{
	struct sf_apply_policy p = { .compatible = "acme-gw",
				     .floor = floor,
				     .running_version = running,
				     .slot_size = slot_size };

	reason[0] = '\0';
	return sf_apply_precheck(&test_ctx, img, &p, reason, 256);
}

TEST(precheck_refusals_say_why)
{
	char reason[256];
	struct sf_image *img;
	struct sf_apply_policy p = { .compatible = "other",
				     .slot_size = SLOT_SIZE };

	make_payloads("1.5", false);
	img = make_image("1.5", NULL);
	CHECK_EQ(sf_apply_precheck(&test_ctx, img, &p, reason, 256), -EPERM);
	CHECK_STREQ(reason,
		    "image is for \"acme-gw\", this device is \"other\"");
	CHECK_EQ(precheck(img, "1.5", "", SLOT_SIZE, reason), -EPERM);
	CHECK_STREQ(reason, "version 1.5 is not above the anti-rollback floor "
			    "1.5");
	CHECK_EQ(precheck(img, "1.10", "", SLOT_SIZE, reason), -EPERM);
	CHECK_EQ(precheck(img, "", "1.6", SLOT_SIZE, reason), -EPERM);
	CHECK_STREQ(reason, "version 1.5 is below the running version 1.6 (a "
			    "downgrade)");
	CHECK_EQ(precheck(img, "1.4", "1.5", ROOTFS_SIZE - 1, reason), -EPERM);
	CHECK_STREQ(reason, "root filesystem of 327680 bytes does not fit the "
			    "327679-byte slot");
	/* Equal to the running version is allowed when above the floor. */
	CHECK_EQ(precheck(img, "1.4", "1.5", ROOTFS_SIZE, reason), 0);
	CHECK_EQ(precheck(img, "", "", SLOT_SIZE, reason), 0);
	sf_image_close(img);
}

TEST(precheck_delta_base_must_be_running)
{
	char reason[256];
	struct sf_image *full, *delta;

	make_payloads("1", false);
	full = make_image("1", NULL);
	make_payloads("2", true);
	delta = make_image("2", "1.img");
	CHECK(delta->m.flags & SF_MANIFEST_FLAG_DELTA);
	CHECK_EQ(precheck(delta, "", "1", SLOT_SIZE, reason), 0);
	CHECK_EQ(precheck(delta, "", "0.9", SLOT_SIZE, reason), -EPERM);
	CHECK_STREQ(reason, "delta image made against version 1, but the "
			    "running slot has 0.9");
	CHECK_EQ(precheck(delta, "", "", SLOT_SIZE, reason), -EPERM);
	CHECK_STREQ(reason, "delta image made against version 1, but the "
			    "running slot has an unknown version");
	sf_image_close(full);
	sf_image_close(delta);
}

static int apply(struct sf_image *img, int slot, int active,
		 struct sf_apply_stats *st)
{
	struct sf_apply_target t = { .slot_fd = slot,
				     .active_fd = active,
				     .efi_path = "efi-b",
				     .active_efi_path = "efi-a",
				     .threads = 2 };

	return sf_apply_write(&test_ctx, img, &t, st);
}

/* Written, then applied again: nothing is rewritten. */
TEST(write_then_nothing_to_rewrite)
{
	struct sf_apply_stats st;
	struct sf_image *img;
	int slot = make_slot("b.img", 'O'), active = make_slot("a.img", 0);
	uint32_t n;
	struct stat s1, s2;

	make_payloads("1", false);
	img = make_image("1", NULL);
	n = img->m.n_chunks;
	CHECK_EQ(apply(img, slot, active, &st), 0);
	CHECK_EQ(st.chunks_written, n);
	CHECK_EQ(st.chunks_skipped, 0);
	CHECK(file_starts_with("b.img", "rootfs-1"));
	CHECK(file_starts_with("efi-b", "efi-1"));
	CHECK_EQ(access("efi-b.new", F_OK), -1);
	CHECK_EQ(stat("efi-b", &s1), 0);
	CHECK_EQ(apply(img, slot, active, &st), 0);
	CHECK_EQ(st.chunks_written, 0);
	CHECK_EQ(st.chunks_skipped, n);
	CHECK_EQ(stat("efi-b", &s2), 0);
	CHECK_EQ(s1.st_ino, s2.st_ino);
	sf_image_close(img);
	close(slot);
	close(active);
}

/* Zero chunks are skipped where the slot reads zero. */
TEST(zero_chunks_skipped_where_the_slot_is_zero)
{
	struct sf_apply_stats st;
	struct sf_image *img;
	int slot = make_slot("b.img", 0), active = make_slot("a.img", 0);

	make_payloads("1", false);
	img = make_image("1", NULL);
	CHECK_EQ(apply(img, slot, active, &st), 0);
	/* 128 KiB of zeros at a 64 KiB boundary: two zero chunks. */
	CHECK_EQ(st.chunks_skipped, 2);
	CHECK_EQ(st.chunks_written, img->m.n_chunks - 2);
	CHECK(file_starts_with("b.img", "rootfs-1"));
	sf_image_close(img);
	close(slot);
	close(active);
}

/* An interrupted apply (half the slot written) resumes where it was. */
TEST(resume_skips_what_is_right)
{
	struct sf_apply_stats st;
	struct sf_image *img;
	int slot = make_slot("b.img", 'O'), active = make_slot("a.img", 0);
	size_t n;
	_cleanup_free_ uint8_t *r = NULL;

	make_payloads("1", false);
	r = test_read_file("rootfs-1", &n);
	CHECK_EQ(pwrite(slot, r, 2 * CHUNK, 0), 2 * CHUNK);
	img = make_image("1", NULL);
	CHECK_EQ(apply(img, slot, active, &st), 0);
	CHECK_EQ(st.chunks_skipped, 2);
	CHECK(file_starts_with("b.img", "rootfs-1"));
	sf_image_close(img);
	close(slot);
	close(active);
}

/* Delta chunks come from the active slot, checked: a wrong base is -EXDEV
 * and names it. */
TEST(delta_from_the_active_slot)
{
	struct sf_apply_stats st;
	struct sf_image *full, *delta;
	int slot = make_slot("b.img", 'O'), active;
	size_t n;
	_cleanup_free_ uint8_t *r = NULL;

	make_payloads("1", false);
	full = make_image("1", NULL);
	make_payloads("2", true);
	delta = make_image("2", "1.img");
	r = test_read_file("rootfs-1", &n);
	test_write_file("a.img", r, n);
	active = open("a.img", O_RDWR | O_CLOEXEC);
	rename("efi-1", "efi-a");
	CHECK_EQ(apply(delta, slot, active, &st), 0);
	CHECK(file_starts_with("b.img", "rootfs-2"));
	CHECK(file_starts_with("efi-b", "efi-2"));
	/* Another base: refused, named. */
	CHECK_EQ(pwrite(active, "other", 5, 70000), 5);
	close(slot);
	slot = make_slot("b.img", 'O');
	CHECK_EQ(apply(delta, slot, active, &st), -EXDEV);
	CHECK_LOG("the base does not hold the data this delta was made "
		  "against");
	sf_image_close(full);
	sf_image_close(delta);
	close(slot);
	close(active);
}
