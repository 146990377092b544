// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sf_apply_write's write paths on regular files: zero chunks (zeroed in
 * place, or skipped where the slot already reads zero), the check of what
 * the slot already holds (a chunk is skipped only when all of it is right,
 * not just its first block), and payloads that are not whole blocks (the
 * read-back without O_DIRECT, zeros written where a range cannot be
 * zeroed in place), what is read back (only the chunks written: a chunk
 * skipped is proven by its content hash when it is read; of a chunk
 * partly written, only the blocks written), and delta images whose chunks
 * are found in, or built from, the spare slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "apply.h"
#include "fault.h"
#include "fileio.h"
#include "hash.h"
#include "imgwrite.h"
#include "testlib.h"
#include "util.h"

#define CHUNK 65536u
#define CHUNKS 8u

struct setup {
	struct ms_pubkey pk;
	struct ms_seckey sk;
	uint8_t *rootfs;
	size_t size;
	struct sf_image *img;
	int slot_fd, active_fd;
};

/* Chunks 1, 3 and 7 are all zero (7 maybe short), the others text. */
static void make_rootfs(struct setup *s, size_t size)
{
	s->size = size;
	s->rootfs = malloc(size);
	CHECK(s->rootfs);
	test_fill_random(s->rootfs, size, 7);
	for (size_t i = 0; i < size; i++)
		s->rootfs[i] = (uint8_t)('a' + s->rootfs[i] % 11);
	for (size_t c = 1; c < CHUNKS; c += c == 3 ? 4 : 2) {
		size_t end = (c + 1) * CHUNK < size ? (c + 1) * CHUNK : size;

		memset(s->rootfs + c * CHUNK, 0, end - c * CHUNK);
	}
	test_write_file("rootfs", s->rootfs, size);
}

/* A signed full image of @size bytes of rootfs, opened and checked. */
static void setup(struct setup *s, size_t size)
{
	uint8_t efi[20000];
	struct sf_create_opts o = {
		.rootfs = "rootfs",
		.efi = "efi",
		.version = "2.0",
		.compatible = "acme-gw",
		.chunk_size = CHUNK,
		.keys = &s->sk,
		.n_keys = 1,
		.build_time = 1700000000,
	};

	CHECK_EQ(ms_keygen(&s->pk, &s->sk), 0);
	make_rootfs(s, size);
	test_fill_random(efi, sizeof(efi), 3);
	test_write_file("efi", efi, sizeof(efi));
	CHECK_EQ(sf_image_create(&test_ctx, &o, "update.img"), 0);
	CHECK_EQ(sf_image_open(&test_ctx, "update.img", &s->img), 0);
	CHECK_EQ(sf_image_check_signatures(&test_ctx, s->img, &s->pk, 1, 1), 1);
	test_write_file("active", s->rootfs, size);
	s->active_fd = open("active", O_RDONLY | O_CLOEXEC);
	CHECK(s->active_fd >= 0);
}

/* The spare slot: the payload's size, every byte @fill. */
static void make_slot(struct setup *s, uint8_t fill)
{
	uint8_t *buf = malloc(s->size);

	CHECK(buf);
	memset(buf, fill, s->size);
	test_write_file("slot", buf, s->size);
	free(buf);
	s->slot_fd = open("slot", O_RDWR | O_CLOEXEC);
	CHECK(s->slot_fd >= 0);
}

static void put(struct setup *s, uint32_t chunk, const uint8_t *data,
		size_t len)
{
	CHECK_EQ(pwrite_full(s->slot_fd, data, len, (uint64_t)chunk * CHUNK),
		 0);
}

/* The spare slot holds @data, all of the payload's size. */
static void make_slot_holding(struct setup *s, const uint8_t *data)
{
	make_slot(s, 0x55);
	put(s, 0, data, s->size);
}

static int apply_ctx(const struct sf_ctx *ctx, struct setup *s,
		     unsigned threads, struct sf_apply_stats *st)
{
	struct sf_apply_target t = {
		.slot_fd = s->slot_fd,
		.active_fd = s->active_fd,
		.efi_path = "efi.out",
		.active_efi_path = "efi.active",
		.threads = threads,
	};

	return sf_apply_write(ctx, s->img, &t, st);
}

static int apply_threads(struct setup *s, unsigned threads,
			 struct sf_apply_stats *st)
{
	return apply_ctx(&test_ctx, s, threads, st);
}

static void apply(struct setup *s, struct sf_apply_stats *st)
{
	CHECK_EQ(apply_threads(s, 2, st), 0);
}

static void check_slot(const struct setup *s)
{
	size_t len;
	uint8_t *got = test_read_file("slot", &len);

	CHECK_EQ(len, s->size);
	CHECK(memcmp(got, s->rootfs, len) == 0);
	free(got);
	got = test_read_file("efi.out", &len);
	CHECK_EQ(len, 20000);
	free(got);
}

/* Everything is right already: nothing written, nothing read back (each
 * chunk was proven when it was read, not twice). */
static void apply_finds_all_right(struct setup *s)
{
	struct sf_apply_stats st;

	apply(s, &st);
	check_slot(s);
	CHECK_EQ(st.chunks_written, 0);
	CHECK_EQ(st.chunks_skipped, CHUNKS + 1);
	CHECK_EQ(st.chunks_read_back, 0);
}

static void done(struct setup *s)
{
	sf_image_close(s->img);
	close(s->slot_fd);
	close(s->active_fd);
	free(s->rootfs);
}

TEST(zero_chunks_overwrite_old_data)
{
	struct setup s;
	struct sf_apply_stats st;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0x55);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_written, CHUNKS + 1); /* + the EFI binary */
	CHECK_EQ(st.chunks_skipped, 0);
	CHECK_EQ(st.chunks_read_back, CHUNKS); /* every chunk written */
	CHECK_EQ(st.bytes_written, CHUNKS * CHUNK + 20000);
	done(&s);
}

TEST(zero_chunks_already_zero_are_skipped)
{
	struct setup s;
	struct sf_apply_stats st;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_skipped, 3);
	CHECK_EQ(st.chunks_written, CHUNKS - 3 + 1);
	CHECK_EQ(st.chunks_read_back, CHUNKS - 3);
	done(&s);
}

/* A right first block must not make a chunk count as right. */
TEST(chunk_right_only_in_its_first_block_is_written)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *bad;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0);
	bad = malloc(s.size);
	CHECK(bad);
	memcpy(bad, s.rootfs, s.size);
	/* The last byte of every chunk, zero chunks included, is wrong. */
	for (uint32_t c = 0; c < CHUNKS; c++)
		bad[(c + 1) * CHUNK - 1] ^= 0x01;
	put(&s, 0, bad, s.size);
	free(bad);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_skipped, 0);
	CHECK_EQ(st.chunks_written, CHUNKS + 1);
	done(&s);
}

TEST(slot_already_right_is_not_written)
{
	struct setup s;
	size_t len;
	uint8_t *efi;

	setup(&s, CHUNKS * CHUNK);
	make_slot_holding(&s, s.rootfs);
	/* The EFI binary in place as well: nothing at all to write. */
	efi = test_read_file("efi", &len);
	test_write_file("efi.out", efi, len);
	free(efi);
	apply_finds_all_right(&s);
	done(&s);
}

/*
 * A payload that is not whole 512-byte sectors: its last chunk (all zero,
 * 1000 bytes) cannot be zeroed in place, and the read-back cannot use
 * O_DIRECT.
 */
TEST(payload_not_whole_blocks)
{
	struct setup s;
	struct sf_apply_stats st;

	setup(&s, (CHUNKS - 1) * CHUNK + 1000);
	make_slot(&s, 0x55);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_written, CHUNKS + 1);
	/* And once more: everything is right now, nothing is written. */
	apply_finds_all_right(&s);
	done(&s);
}

/* Half the slot right (every other chunk): the rest is written. */
TEST(resume_writes_only_what_is_missing)
{
	struct setup s;
	struct sf_apply_stats st;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0x55);
	for (uint32_t c = 0; c < CHUNKS; c += 2)
		put(&s, c, s.rootfs + (size_t)c * CHUNK, CHUNK);
	apply(&s, &st);
	check_slot(&s);
	/* Chunks 0, 2, 4, 6 right; 1, 3, 5, 7 and the EFI binary written. */
	CHECK_EQ(st.chunks_skipped, CHUNKS / 2);
	CHECK_EQ(st.chunks_written, CHUNKS / 2 + 1);
	CHECK_EQ(st.chunks_read_back, CHUNKS / 2);
	done(&s);
}

/*
 * Chunk 0 signed, yet decoding to other bytes than its content hash (the
 * hash changed in the checked manifest); the slot holds the first @right
 * bytes of what it decodes to. Applied with one thread (in order), it must
 * be refused; returns the slot's bytes then.
 */
static uint8_t *apply_lying_chunk(uint32_t right)
{
	struct setup s;
	struct sf_apply_stats st;
	size_t len;
	uint8_t *got;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0x55);
	put(&s, 0, s.rootfs, right);
	CHECK_EQ(sf_image_load_manifest(&test_ctx, s.img), 0);
	CHECK(s.img->m.chunks[0].form == SF_FORM_ZSTD ||
	      s.img->m.chunks[0].form == SF_FORM_STORED);
	s.img->m.chunks[0].content_hash[0] ^= 0x01;
	CHECK_EQ(apply_threads(&s, 1, &st), -EBADMSG);
	CHECK_LOG("chunk 0: content does not match its hash");
	got = test_read_file("slot", &len);
	done(&s);
	return got;
}

/* The slot holds all of it: the skip must not trust the compare. It is
 * refused at once, before the chunks after it are written. */
TEST(skipped_chunk_that_lies_is_refused_at_once)
{
	uint8_t *got = apply_lying_chunk(CHUNK);

	CHECK_EQ(got[2 * CHUNK], 0x55); /* chunk 2: not written */
	free(got);
}

/* The slot holds all but its last block: only that block would be written
 * and read back, so the content is hashed before it is written. */
TEST(chunk_that_lies_is_refused_before_its_changed_blocks_are_written)
{
	uint8_t *got = apply_lying_chunk(CHUNK - SF_BLOCK_SIZE);

	CHECK_EQ(got[CHUNK - 1], 0x55); /* its last block: not written */
	free(got);
}

/*
 * A delta (v2 from v1): v2 is v1 with 300 bytes changed at each of
 * @changes (offsets in chunk 4), so chunks 0, 2, 6 are base chunks copied
 * from their own offset. Sets up v1.img and the delta as s->img; the
 * active slot holds v1.
 */
/*
 * The format of the deltas setup_delta_changes() makes: 1 (its changed
 * chunk a patch chunk, whose ways through the apply most tests here
 * follow) or 2 (a reference chunk).
 */
static uint32_t delta_format = 1;

static void setup_delta_changes(struct setup *s, uint8_t **ret_v1,
				const uint32_t *changes, size_t n_changes)
{
	struct sf_create_opts o = {
		.format = delta_format,
		.rootfs = "rootfs",
		.efi = "efi",
		.version = "1.0",
		.compatible = "acme-gw",
		.chunk_size = CHUNK,
		.keys = &s->sk,
		.n_keys = 1,
		.build_time = 1700000000,
	};
	uint8_t efi[20000], *v1;

	CHECK_EQ(ms_keygen(&s->pk, &s->sk), 0);
	make_rootfs(s, CHUNKS * CHUNK);
	test_fill_random(efi, sizeof(efi), 3);
	test_write_file("efi", efi, sizeof(efi));
	test_write_file("efi.active", efi, sizeof(efi));
	CHECK_EQ(sf_image_create(&test_ctx, &o, "v1.img"), 0);
	v1 = malloc(s->size);
	CHECK(v1);
	memcpy(v1, s->rootfs, s->size);
	test_write_file("active", v1, s->size);
	for (size_t i = 0; i < n_changes; i++)
		memset(s->rootfs + 4 * CHUNK + changes[i], 'Z', 300);
	test_write_file("rootfs", s->rootfs, s->size);
	o.version = "2.0";
	o.delta_from = "v1.img";
	CHECK_EQ(sf_image_create(&test_ctx, &o, "update.img"), 0);
	CHECK_EQ(sf_image_open(&test_ctx, "update.img", &s->img), 0);
	CHECK_EQ(sf_image_check_signatures(&test_ctx, s->img, &s->pk, 1, 1), 1);
	for (uint32_t c = 0; c < CHUNKS; c += 2) {
		const struct sf_chunk *ch = &s->img->m.chunks[c];

		CHECK_EQ(ch->form, c != 4	       ? SF_FORM_BASE
				   : delta_format == 1 ? SF_FORM_PATCH
						       : SF_FORM_REF);
		CHECK(c == 4 || ch->base_offset == ch->offset);
	}
	s->active_fd = open("active", O_RDONLY | O_CLOEXEC);
	CHECK(s->active_fd >= 0);
	*ret_v1 = v1;
}

/* The delta of most tests: a change in the second block of chunk 4. */
static void setup_delta(struct setup *s, uint8_t **ret_v1)
{
	static const uint32_t change[] = { 5000 };

	setup_delta_changes(s, ret_v1, change, 1);
}

static void damage(const char *path, uint64_t offset)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	uint8_t b;

	CHECK(fd >= 0);
	CHECK_EQ(pread_full(fd, &b, 1, offset), 0);
	b ^= 0x01;
	CHECK_EQ(pwrite_full(fd, &b, 1, offset), 0);
	close(fd);
}

/* The spare holds v1, the delta's base: only the changed chunk is written
 * and read back, of it only the block that changed. */
TEST(delta_onto_its_base_writes_and_reads_back_the_change)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;

	setup_delta(&s, &v1);
	make_slot_holding(&s, v1);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_written, 1 + 1); /* chunk 4, the EFI binary */
	CHECK_EQ(st.chunks_skipped, CHUNKS - 1);
	CHECK_EQ(st.chunks_read_back, 1);
	/* Of chunk 4, only the block that changed (its second). */
	CHECK_EQ(st.bytes_written, SF_BLOCK_SIZE + 20000);
	/* Both slots may be read with O_DIRECT: the fds are given back as
	 * they came. */
	CHECK(!(fcntl(s.slot_fd, F_GETFL) & O_DIRECT));
	CHECK(!(fcntl(s.active_fd, F_GETFL) & O_DIRECT));
	free(v1);
	done(&s);
}

/* The same with a reference chunk (format 2): its ranges read from the
 * active slot, only the changed block written and read back. */
TEST(reference_delta_onto_its_base_writes_and_reads_back_the_change)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;

	delta_format = 2;
	setup_delta(&s, &v1);
	delta_format = 1;
	CHECK(s.img->m.n_refs >= 1);
	make_slot_holding(&s, v1);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_written, 1 + 1);
	CHECK_EQ(st.chunks_read_back, 1);
	CHECK_EQ(st.bytes_written, SF_BLOCK_SIZE + 20000);
	free(v1);
	done(&s);
}

/*
 * A reference chunk whose range in the active slot no longer holds what
 * the delta was made against: refused for that, and not a byte of the
 * chunk is written (the spare's chunk 4 keeps what it held).
 */
TEST(reference_chunk_against_a_changed_base_is_refused_unwritten)
{
	struct setup s;
	struct sf_apply_stats st;
	const struct sf_ref *f;
	uint8_t *v1, *got;
	size_t len;

	delta_format = 2;
	setup_delta(&s, &v1);
	delta_format = 1;
	f = &s.img->m.refs[s.img->m.chunks[4].first_ref];
	damage("active", f->offset + f->length / 2);
	make_slot(&s, 0x55);
	CHECK_EQ(apply_threads(&s, 2, &st), -EXDEV);
	got = test_read_file("slot", &len);
	for (size_t i = 4 * CHUNK; i < 5 * CHUNK; i++)
		CHECK_EQ(got[i], 0x55);
	free(got);
	free(v1);
	done(&s);
}

/*
 * After a factory install the spare holds the delta's base untouched,
 * while the running slot (mounted read-write) changed in a range that a
 * reference chunk needs: the range is taken from the spare, where it
 * hashes right, and the apply succeeds.
 */
TEST(reference_ranges_read_from_a_spare_holding_the_base)
{
	struct setup s;
	struct sf_apply_stats st;
	const struct sf_ref *f;
	uint8_t *v1;

	delta_format = 2;
	setup_delta(&s, &v1);
	delta_format = 1;
	f = &s.img->m.refs[s.img->m.chunks[4].first_ref];
	damage("active", f->offset + f->length / 2);
	make_slot_holding(&s, v1);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_written, 1 + 1);
	free(v1);
	done(&s);
}

/*
 * The spare already holds v2; the active slot's chunk 2 (a base chunk from
 * its own offset) is damaged after its first block. The spare's chunk is
 * proven by its content hash without the active slot being read whole:
 * the apply succeeds. A spare that does not hold it must then read the
 * active slot, and the damage is found.
 */
TEST(identity_base_chunk_in_spare_is_proven_without_the_active_slot)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;

	setup_delta(&s, &v1);
	damage("active", 3 * CHUNK - 1);
	make_slot_holding(&s, s.rootfs);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.chunks_written, 1); /* the EFI binary */
	CHECK_EQ(st.chunks_read_back, 0);
	/* Chunk 2 gone from the spare: copied from the damaged base. */
	put(&s, 2, v1 + 3 * CHUNK, CHUNK);
	CHECK_EQ(apply_threads(&s, 1, &st), -EXDEV);
	CHECK_LOG("chunk 2: the base does not hold the data this delta was "
		  "made against");
	free(v1);
	done(&s);
}

/*
 * The spare holds v1; the active slot's chunk 4 is damaged in a block the
 * patch copies from the base (its ninth). The patch is built from the
 * spare's own chunk, which holds the base, and the active slot's damage
 * does not matter. A spare that does not hold chunk 4's base must then
 * read the active slot, and the damage is found.
 */
TEST(patch_chunk_built_from_the_spare_holding_its_base)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;

	setup_delta(&s, &v1);
	damage("active", 4 * CHUNK + 8 * SF_BLOCK_SIZE);
	make_slot_holding(&s, v1);
	apply(&s, &st);
	check_slot(&s);
	CHECK_EQ(st.bytes_written, SF_BLOCK_SIZE + 20000);
	put(&s, 4, v1 + 3 * CHUNK, CHUNK); /* not chunk 4's base */
	CHECK_EQ(apply_threads(&s, 1, &st), -EXDEV);
	CHECK_LOG("chunk 4: the base does not hold the data this delta was "
		  "made against");
	free(v1);
	done(&s);
}

/* The delta with @changes applied onto a spare holding v1: bytes written. */
static uint64_t delta_onto_base_written(const uint32_t *changes, size_t n)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;

	setup_delta_changes(&s, &v1, changes, n);
	make_slot_holding(&s, v1);
	apply(&s, &st);
	check_slot(&s);
	free(v1);
	done(&s);
	unlink("efi.out");
	return st.bytes_written;
}

/*
 * Two changed blocks of chunk 4 with two right blocks between them are
 * written with one write, the right ones too (one wait for the medium, not
 * two); blocks further apart, with two writes.
 */
TEST(changed_blocks_close_together_are_written_at_once)
{
	static const uint32_t near[] = { 5000, 4 * SF_BLOCK_SIZE + 100 };
	static const uint32_t far[] = { 100, 15 * SF_BLOCK_SIZE + 100 };

	/* The bound: 7 right blocks between are written, 8 are not. */
	static const uint32_t gap7[] = { 5000, 9 * SF_BLOCK_SIZE + 100 };
	static const uint32_t gap8[] = { 5000, 10 * SF_BLOCK_SIZE + 100 };

	CHECK_EQ(delta_onto_base_written(near, 2), 4 * SF_BLOCK_SIZE + 20000);
	CHECK_EQ(delta_onto_base_written(far, 2), 2 * SF_BLOCK_SIZE + 20000);
	CHECK_EQ(delta_onto_base_written(gap7, 2), 9 * SF_BLOCK_SIZE + 20000);
	CHECK_EQ(delta_onto_base_written(gap8, 2), 2 * SF_BLOCK_SIZE + 20000);
}

/* Flips a byte of the slot at offset *@data when the slot is flushed. */
static void flip_at_flush(void *data, const char *what)
{
	if (strcmp(what, "slot flush") == 0)
		damage("slot", *(const uint64_t *)data);
}

/* Byte 7 of block @block of chunk @chunk. */
static uint64_t at_block(uint32_t chunk, uint32_t block)
{
	return (uint64_t)chunk * CHUNK + (uint64_t)block * SF_BLOCK_SIZE + 7;
}

/* The delta with @changes onto a spare holding v1, damaged at the flush. */
static void read_back_fails(const uint32_t *changes, size_t n, uint32_t block)
{
	uint64_t at = at_block(4, block);
	struct sf_fault fault = { .hook = flip_at_flush, .hook_data = &at };
	struct sf_ctx ctx = test_ctx;
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;

	setup_delta_changes(&s, &v1, changes, n);
	make_slot_holding(&s, v1);
	ctx.fault = &fault;
	CHECK_EQ(apply_ctx(&ctx, &s, 2, &st), -EIO);
	CHECK_LOG("read-back of chunk 4 (bytes 262144-327679) differs from "
		  "what was written");
	free(v1);
	done(&s);
}

/*
 * Only the blocks written are read back (the others were read and
 * compared in this run), and they are checked: a written block that the
 * medium does not return as written fails the apply, in any of the
 * chunk's writes.
 */
TEST(read_back_checks_the_blocks_written)
{
	static const uint32_t one[] = { 5000 };
	static const uint32_t two[] = { 100, 15 * SF_BLOCK_SIZE + 100 };

	read_back_fails(one, 1, 1);
	read_back_fails(two, 2, 0);
	read_back_fails(two, 2, 15);
}

/* A zero chunk zeroed in place that does not read back zero fails too. */
TEST(read_back_checks_a_zeroed_chunk)
{
	uint64_t at = at_block(3, 2);
	struct sf_fault fault = { .hook = flip_at_flush, .hook_data = &at };
	struct sf_ctx ctx = test_ctx;
	struct setup s;
	struct sf_apply_stats st;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0x55);
	ctx.fault = &fault;
	CHECK_EQ(apply_ctx(&ctx, &s, 2, &st), -EIO);
	CHECK_LOG("read-back of chunk 3 (bytes 196608-262143) differs from "
		  "what was written");
	done(&s);
}

/*
 * A full image onto a slot that holds it but for block 3 of each text
 * chunk (0, 2, 4, 5 and 6): five chunks written in part in one batch,
 * their blocks hashed side by side when written and when read back. With
 * @damaged, that chunk's block is flipped at the flush.
 */
static void written_in_part(int damaged)
{
	static const uint32_t text[] = { 0, 2, 4, 5, 6 };
	uint64_t at = damaged >= 0 ? at_block((uint32_t)damaged, 3) : 0;
	struct sf_fault fault = { .hook = flip_at_flush, .hook_data = &at };
	struct sf_ctx ctx = test_ctx;
	struct setup s;
	struct sf_apply_stats st;
	char want[80];

	unlink("efi.out");
	setup(&s, CHUNKS * CHUNK);
	make_slot_holding(&s, s.rootfs);
	for (size_t i = 0; i < ARRAY_SIZE(text); i++)
		damage("slot", at_block(text[i], 3));
	if (damaged < 0) {
		apply(&s, &st);
		check_slot(&s);
		CHECK_EQ(st.chunks_written, ARRAY_SIZE(text) + 1);
		CHECK_EQ(st.chunks_read_back, ARRAY_SIZE(text));
		CHECK_EQ(st.bytes_written,
			 ARRAY_SIZE(text) * SF_BLOCK_SIZE + 20000);
	} else {
		ctx.fault = &fault;
		CHECK_EQ(apply_ctx(&ctx, &s, 2, &st), -EIO);
		snprintf(want, sizeof(want), "read-back of chunk %d (",
			 damaged);
		CHECK_LOG(want);
	}
	done(&s);
}

TEST(chunks_written_in_part_are_read_back_each_against_its_own)
{
	static const char *const impls[] = { "generic", "avx2", "avx512" };

	for (size_t i = 0; i < ARRAY_SIZE(impls); i++) {
		if (sf_hash_select(impls[i]) == -ENOTSUP)
			continue;
		written_in_part(-1);
		written_in_part(0);
		written_in_part(5);
		written_in_part(6);
	}
	CHECK_EQ(sf_hash_select(NULL), 0);
}

/*
 * The changed blocks go through the write queue: a write that fails there
 * fails the apply, with what went wrong (a slot that takes no writes).
 */
TEST(changed_blocks_write_failure_fails_the_apply)
{
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1, *got;
	size_t len;

	setup_delta(&s, &v1);
	make_slot_holding(&s, v1);
	close(s.slot_fd);
	s.slot_fd = open("slot", O_RDONLY | O_CLOEXEC);
	CHECK(s.slot_fd >= 0);
	CHECK_EQ(apply_threads(&s, 2, &st), -EBADF);
	CHECK_LOG("cannot write the spare slot: Bad file descriptor");
	got = test_read_file("slot", &len);
	CHECK(len == s.size && memcmp(got, v1, len) == 0);
	free(got);
	free(v1);
	done(&s);
}

/*
 * Chunks are taken as many at a time as the hash implementation hashes
 * side by side (8, 4 or 1 here: batches of all, half and one of the
 * chunks): a delta onto its base and a full image onto another slot give
 * the same slot and the same counts with each that this CPU runs.
 */
TEST(every_hash_implementation_applies_alike)
{
	static const char *const impls[] = { "generic", "avx2", "avx512" };
	struct sf_apply_stats st;
	unsigned ran = 0;

	for (size_t i = 0; i < ARRAY_SIZE(impls); i++) {
		struct setup s;
		uint8_t *v1;

		int r = sf_hash_select(impls[i]);

		if (r == -ENOTSUP)
			continue;
		CHECK_EQ(r, 0);
		CHECK_STREQ(sf_hash_impl(), impls[i]);
		ran++;
		unlink("efi.out");
		setup_delta(&s, &v1);
		make_slot_holding(&s, v1);
		apply(&s, &st);
		check_slot(&s);
		CHECK_EQ(st.chunks_written, 1 + 1);
		CHECK_EQ(st.chunks_skipped, CHUNKS - 1);
		CHECK_EQ(st.bytes_written, SF_BLOCK_SIZE + 20000);
		free(v1);
		done(&s);
		unlink("efi.out");
		setup(&s, CHUNKS * CHUNK);
		make_slot(&s, 0x55);
		apply(&s, &st);
		check_slot(&s);
		CHECK_EQ(st.chunks_written, CHUNKS + 1);
		CHECK_EQ(st.chunks_read_back, CHUNKS); /* the rootfs chunks */
		done(&s);
	}
	/* generic, and avx2 and avx512 where this CPU has them. */
	CHECK_EQ(sf_hash_select(NULL), 0);
	CHECK_EQ(ran, 1u + (sf_hash_lanes() >= 4) + (sf_hash_lanes() >= 8));
}

/* A spare slot that cannot be read fails the apply, and says so. */
TEST(unreadable_spare_slot_fails_the_apply)
{
	struct setup s;
	struct sf_apply_stats st;

	setup(&s, CHUNKS * CHUNK);
	make_slot(&s, 0x55);
	close(s.slot_fd);
	s.slot_fd = open("slot", O_WRONLY | O_CLOEXEC);
	CHECK(s.slot_fd >= 0);
	CHECK_EQ(apply_threads(&s, 2, &st), -EBADF);
	CHECK_LOG("cannot read the spare slot: Bad file descriptor");
	done(&s);
}

/* At the flush, the slot's fd @fd becomes a copy of @with. */
struct swap {
	int fd, with;
};

static void swap_at_flush(void *data, const char *what)
{
	const struct swap *sw = data;

	if (strcmp(what, "slot flush") == 0)
		CHECK(dup2(sw->with, sw->fd) >= 0);
}

/* The delta onto its base, the slot's fd swapped for @with at the flush. */
static int apply_swapped_at_flush(int with)
{
	struct swap sw = { .with = with };
	struct sf_fault fault = { .hook = swap_at_flush, .hook_data = &sw };
	struct sf_ctx ctx = test_ctx;
	struct setup s;
	struct sf_apply_stats st;
	uint8_t *v1;
	int r;

	setup_delta(&s, &v1);
	make_slot_holding(&s, v1);
	sw.fd = s.slot_fd;
	ctx.fault = &fault;
	r = apply_ctx(&ctx, &s, 2, &st);
	free(v1);
	done(&s);
	close(with);
	return r;
}

/* A read-back that cannot read the slot fails the apply, and says so. */
TEST(read_back_that_cannot_read_fails_the_apply)
{
	int fd = open("slot", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK_EQ(apply_swapped_at_flush(fd), -EBADF);
	CHECK_LOG("cannot read the spare slot back: Bad file descriptor");
}

/* A slot that cannot be flushed (a pipe here) fails the apply. */
TEST(flush_failure_fails_the_apply)
{
	int p[2];

	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	CHECK_EQ(apply_swapped_at_flush(p[0]), -EINVAL);
	CHECK_LOG("cannot flush the spare slot: Invalid argument");
}
