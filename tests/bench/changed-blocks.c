// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * changed-blocks OLD NEW: the floor a delta is measured against. Compares
 * OLD and NEW 4 KiB block by block (block k of NEW with block k of OLD) and
 * compresses the blocks of NEW that differ, one after the other, as a single
 * zlib stream at level 6 (what compress2(..., 6) makes of their
 * concatenation). A block of NEW past the end of OLD counts as differing.
 * Prints one line of key=value pairs:
 *   blocks=N changed=D changed_bytes=B zlib6_bytes=Z
 * Used by tests/bench/bench-image.sh (make bench). Exit 1 on any error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BLOCK 4096u
#define BUF_BLOCKS 256u /* 1 MiB reads */

struct counter {
	z_stream zs;
	uint64_t out_bytes;
	unsigned char out[1u << 16];
};

static int squeeze(struct counter *c, int flush)
{
	int r;

	do {
		c->zs.next_out = c->out;
		c->zs.avail_out = sizeof(c->out);
		r = deflate(&c->zs, flush);
		if (r == Z_STREAM_ERROR)
			return -1;
		c->out_bytes += sizeof(c->out) - c->zs.avail_out;
	} while (c->zs.avail_out == 0);
	return flush == Z_FINISH && r != Z_STREAM_END ? -1 : 0;
}

static int feed(struct counter *c, const unsigned char *p, size_t n)
{
	c->zs.next_in = (unsigned char *)p;
	c->zs.avail_in = (uInt)n;
	return squeeze(c, Z_NO_FLUSH);
}

/* Read up to @n bytes; fewer only at the end of the file. */
static int read_upto(FILE *f, const char *path, unsigned char *buf, size_t n,
		     size_t *got)
{
	*got = fread(buf, 1, n, f);
	if (*got < n && ferror(f)) {
		fprintf(stderr, "changed-blocks: cannot read %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct counter c;
	unsigned char *a, *b;
	uint64_t blocks = 0, changed = 0, changed_bytes = 0;
	FILE *f[2];
	int r = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: changed-blocks OLD NEW\n");
		return 2;
	}
	for (int i = 1; i <= 2; i++) {
		f[i - 1] = fopen(argv[i], "rb");
		if (!f[i - 1]) {
			fprintf(stderr, "changed-blocks: cannot open %s: %s\n",
				argv[i], strerror(errno));
			return 1;
		}
	}
	a = malloc(BUF_BLOCKS * BLOCK);
	b = malloc(BUF_BLOCKS * BLOCK);
	if (!a || !b || deflateInit(&c.zs, 6) != Z_OK) {
		fprintf(stderr, "changed-blocks: out of memory\n");
		return 1;
	}
	for (;;) {
		size_t na, nb;

		if (read_upto(f[0], argv[1], a, BUF_BLOCKS * BLOCK, &na) < 0 ||
		    read_upto(f[1], argv[2], b, BUF_BLOCKS * BLOCK, &nb) < 0)
			return 1;
		if (nb == 0)
			break;
		for (size_t off = 0; r == 0 && off < nb; off += BLOCK) {
			size_t len = nb - off < BLOCK ? nb - off : BLOCK;

			blocks++;
			if (off + len <= na &&
			    memcmp(a + off, b + off, len) == 0)
				continue;
			changed++;
			changed_bytes += len;
			r = feed(&c, b + off, len);
		}
		if (r < 0 || nb < BUF_BLOCKS * BLOCK)
			break;
	}
	if (r == 0)
		r = squeeze(&c, Z_FINISH);
	if (r < 0) {
		fprintf(stderr, "changed-blocks: deflate failed\n");
		return 1;
	}
	deflateEnd(&c.zs);
	printf("blocks=%" PRIu64 " changed=%" PRIu64 " changed_bytes=%" PRIu64
	       " zlib6_bytes=%" PRIu64 "\n",
	       blocks, changed, changed_bytes, c.out_bytes);
	fclose(f[0]);
	fclose(f[1]);
	free(a);
	free(b);
	return 0;
}
