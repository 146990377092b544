// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Test tool: make a validly signed image whose chunk lies.
 *	lie-image IN OUT SECKEY CHUNK longer|wrong|short
 * Copies image IN to OUT, with root filesystem chunk CHUNK replaced by a
 * deflate stream that inflates to twice the chunk's declared length
 * ("longer"), to its declared length but other content ("wrong") or that
 * is one byte long ("short", more than deflate can expand); the manifest's
 * stored length and stored hash follow, and SECKEY signs the new manifest.
 * Only a check of the inflated chunk can catch the lie.
 *	lie-image IN OUT SECKEY CHUNK zlonger|zshort|zwrong|zwindow|ztrailing
 * The same with a zstd frame (the image must be of format 2): a frame of
 * twice the chunk's length ("zlonger"); one whose header declares the
 * length but whose blocks hold half of it ("zshort"); the length of
 * other content ("zwrong"); the length with a window of 128 MiB
 * ("zwindow"); a frame of the length followed by a byte ("ztrailing").
 *	lie-image IN OUT SECKEY CHUNK rhash|rout|rlonger|rwindow|rwrong
 * Chunk CHUNK must be a reference chunk (form 6, a format 2 delta): its
 * first reference's hash changed ("rhash": the base does not hold what
 * the delta was made against); the reference moved to 2^39, beyond any
 * slot ("rout"); or its frame replaced as for zlonger, zwindow and zwrong
 * ("rlonger", "rwindow", "rwrong"), the chunk staying a reference chunk.
 *	lie-image IN OUT SECKEY SIZE zeros|fill
 * Copies IN to OUT with a root filesystem payload of SIZE bytes instead:
 * all zero chunks ("zeros") or all deflated chunks of one repeated byte
 * ("fill"): a small file that declares a huge payload.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader() */
#include <zstd.h>

#include "chunk.h"
#include "hash.h"
#include "fileio.h"
#include "image.h"
#include "seckey.h"
#include "util.h"

static struct sf_ctx ctx = { .log_fn = sf_log_stderr,
			     .log_data = "lie-image",
			     .log_level = SF_LOG_ERR };

/* Read every chunk's stored bytes. */
static int read_all(struct sf_image *img, uint8_t ***ret)
{
	uint8_t **data = calloc(img->m.n_chunks, sizeof(*data));

	if (!data)
		return -ENOMEM;
	for (uint32_t i = 0; i < img->m.n_chunks; i++) {
		data[i] = malloc(img->m.chunks[i].stored_len + 1);
		if (!data[i] || sf_image_read_stored(&ctx, img, i, data[i]) < 0)
			return -EIO;
	}
	*ret = data;
	return 0;
}

/* Replace chunk @c's stored bytes by a lying deflate stream. */
static int lie(struct sf_chunk *c, bool longer, uint8_t **stored)
{
	uint32_t len = longer ? 2 * c->length : c->length;
	uint8_t *content = malloc(len), *out = malloc(len + 1024);
	struct sf_codec codec;
	int n;

	if (!content || !out)
		return -ENOMEM;
	memset(content, 'L', len);
	sf_codec_init(&codec, 9);
	n = sf_deflate(&codec, content, len, NULL, out, len + 1024);
	sf_codec_done(&codec);
	free(content);
	if (n < 0) {
		free(out);
		return n;
	}
	free(*stored);
	*stored = out;
	c->form = SF_FORM_DEFLATE;
	c->stored_len = (uint32_t)n;
	sf_hash(out, (size_t)n, c->stored_hash);
	return 0;
}

/*
 * The zstd frame @z (@n bytes, room for 16 more) with a new header: 4-byte
 * content size @fcs, window descriptor @wd (-1: single segment). Returns
 * the new size.
 */
static uint32_t reheader(uint8_t *z, uint32_t n, int wd, uint32_t fcs)
{
	uint8_t h[16];
	uint32_t k = 5;
	ZSTD_frameHeader fh;

	if (ZSTD_getFrameHeader(&fh, z, n) != 0)
		return n;
	memcpy(h, z, 4);
	h[4] = (uint8_t)(2 << 6 | (wd < 0 ? 0x20 : 0));
	if (wd >= 0)
		h[k++] = (uint8_t)wd;
	le32_store(h + k, fcs);
	k += 4;
	memmove(z + k, z + fh.headerSize, n - fh.headerSize);
	memcpy(z, h, k);
	return k + n - fh.headerSize;
}

/* Replace chunk @c's stored bytes by a lying zstd frame (@how). */
static int zlie(struct sf_chunk *c, const char *how, uint8_t **stored)
{
	uint32_t len = !strcmp(how, "zlonger")	? 2 * c->length
		       : !strcmp(how, "zshort") ? c->length / 2
						: c->length;
	uint8_t *content = malloc(len), *out = malloc(len + 1024);
	struct sf_codec codec;
	int n;

	if (!content || !out)
		return -ENOMEM;
	memset(content, 'Z', len);
	sf_codec_init(&codec, 3);
	n = sf_zstd(&codec, content, len, NULL, 0, out, len + 1000);
	sf_codec_done(&codec);
	free(content);
	if (n < 0) {
		free(out);
		return n;
	}
	if (!strcmp(how, "zshort"))
		n = (int)reheader(out, (uint32_t)n, -1, c->length);
	else if (!strcmp(how, "zwindow"))
		n = (int)reheader(out, (uint32_t)n, 17 << 3, c->length);
	else if (!strcmp(how, "ztrailing"))
		out[n++] = 0;
	free(*stored);
	*stored = out;
	c->form = SF_FORM_ZSTD;
	c->stored_len = (uint32_t)n;
	sf_hash(out, (size_t)n, c->stored_hash);
	return 0;
}

/* Chunk @k of @m no longer a reference chunk: its references go. */
static void unref(struct sf_manifest *m, uint32_t k)
{
	struct sf_chunk *c = &m->chunks[k];
	uint32_t n = sf_chunk_ref_count(c);

	if (!n)
		return;
	memmove(&m->refs[c->first_ref], &m->refs[c->first_ref + n],
		(m->n_refs - c->first_ref - n) * sizeof(*m->refs));
	m->n_refs -= n;
	c->base_offset = 0;
}

/* The lies about reference chunk @k of @m ("r..." modes). */
static int rlie(struct sf_manifest *m, uint32_t k, const char *how,
		uint8_t **stored)
{
	struct sf_chunk *c = &m->chunks[k];
	struct sf_ref *f = &m->refs[c->first_ref];
	char zhow[16];
	int r;

	if (c->form != SF_FORM_REF) {
		fprintf(stderr, "lie-image: chunk %u is a %s chunk\n", k,
			sf_form_name(c->form));
		return -EINVAL;
	}
	if (!strcmp(how, "rhash")) {
		f->hash[0] ^= 1;
		return 0;
	}
	if (!strcmp(how, "rout")) {
		f->offset = 1ull << 39;
		return 0;
	}
	snprintf(zhow, sizeof(zhow), "z%s", how + 1);
	r = zlie(c, zhow, stored);
	c->form = SF_FORM_REF;
	return r;
}

/* Chunk @c's stored bytes: one repeated byte, deflated. */
static int fill(struct sf_chunk *c, uint8_t **stored)
{
	uint8_t *content = malloc(c->length), *out = malloc(c->length);
	struct sf_codec codec;
	int n;

	if (!content || !out)
		return -ENOMEM;
	memset(content, 'F', c->length);
	sf_codec_init(&codec, 9);
	n = sf_deflate(&codec, content, c->length, NULL, out, c->length);
	sf_codec_done(&codec);
	sf_hash(content, c->length, c->content_hash);
	free(content);
	if (n < 0) {
		free(out);
		return n;
	}
	*stored = out;
	c->form = SF_FORM_DEFLATE;
	c->stored_len = (uint32_t)n;
	sf_hash(out, (size_t)n, c->stored_hash);
	return 0;
}

/*
 * @m with a root filesystem of @size bytes (zero or filled chunks), the
 * other payloads' chunks and @data kept; new chunks and data in *@ret.
 */
static int regrow(struct sf_manifest *m, uint8_t **data, uint64_t size,
		  bool filled, struct sf_manifest *ret, uint8_t ***ret_data)
{
	struct sf_manifest n = *m;
	uint8_t **nd;
	int r;

	n.chunks = NULL;
	for (unsigned p = 0; p < n.n_payloads; p++)
		if (n.payloads[p].kind == SF_PAYLOAD_ROOTFS)
			n.payloads[p].size = size;
	r = sf_manifest_layout(&n);
	if (r < 0)
		return r;
	nd = calloc(n.n_chunks, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	for (unsigned p = 0; p < n.n_payloads; p++) {
		const struct sf_payload *np = &n.payloads[p];
		const struct sf_payload *op = &m->payloads[p];

		for (uint32_t j = 0; r >= 0 && j < np->n_chunks; j++) {
			struct sf_chunk *c = &n.chunks[np->first_chunk + j];

			if (np->kind == SF_PAYLOAD_ROOTFS) {
				if (filled && j && c->length == c[-1].length) {
					/* The same stream again (saves time). */
					memcpy(c, &c[-1],
					       offsetof(struct sf_chunk,
							length));
					nd[np->first_chunk + j] =
						nd[np->first_chunk + j - 1];
				} else if (filled) {
					r = fill(c, &nd[np->first_chunk + j]);
				}
				continue;
			}
			c->form = m->chunks[op->first_chunk + j].form;
			c->stored_len =
				m->chunks[op->first_chunk + j].stored_len;
			memcpy(c->content_hash,
			       m->chunks[op->first_chunk + j].content_hash,
			       SF_HASH_BYTES);
			memcpy(c->stored_hash,
			       m->chunks[op->first_chunk + j].stored_hash,
			       SF_HASH_BYTES);
			nd[np->first_chunk + j] = data[op->first_chunk + j];
			data[op->first_chunk + j] = NULL;
		}
	}
	*ret = n;
	*ret_data = nd;
	return r;
}

static int sign(struct sf_manifest *m, const uint8_t *man, size_t len,
		const char *seckey, uint8_t *block)
{
	struct sf_sigblock sb = { .n = 0 };
	struct ms_seckey sk;
	char comment[256], *text = NULL;
	int r;

	r = ms_seckey_load(&ctx, seckey, NULL, &sk);
	if (r < 0)
		return r;
	sf_image_trusted_comment(m, comment, sizeof(comment));
	r = ms_sign(&ctx, &sk, man, len, comment, &text);
	ms_seckey_wipe(&sk);
	if (r >= 0)
		r = sf_sigblock_add(&sb, text);
	if (r >= 0)
		r = sf_sigblock_encode(&sb, block);
	free(text);
	sf_sigblock_free(&sb);
	return r;
}

static int write_image(const char *path, struct sf_manifest *m, uint8_t **data,
		       const char *seckey)
{
	size_t len = sf_manifest_encoded_size(m);
	uint8_t *man = malloc(len), header[SF_HEADER_SIZE];
	uint8_t block[SF_SIGBLOCK_SIZE];
	uint64_t d = sf_image_data_offset(len);
	int fd, r;

	if (!man)
		return -ENOMEM;
	sf_manifest_set_data_offsets(m);
	sf_manifest_encode(m, man);
	r = sign(m, man, len, seckey, block);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (r >= 0 && fd < 0)
		r = -errno;
	sf_image_header_encode(header, m->format, len);
	if (r >= 0)
		r = pwrite_full(fd, header, sizeof(header), 0);
	if (r >= 0)
		r = pwrite_full(fd, man, len, SF_HEADER_SIZE);
	if (r >= 0)
		r = pwrite_full(fd, block, sizeof(block),
				sf_image_sig_offset(len));
	for (uint32_t i = 0; r >= 0 && i < m->n_chunks; i++)
		r = pwrite_full(fd, data[i], m->chunks[i].stored_len,
				d + m->chunks[i].data_offset);
	if (r >= 0 && ftruncate(fd, (off_t)(d + m->data_size)) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(man);
	return r;
}

/* The "zeros" and "fill" modes. */
static int grown(struct sf_image *img, uint8_t **data, char **argv)
{
	struct sf_manifest n = { .n_chunks = 0 };
	uint8_t **nd = NULL;
	int r;

	r = regrow(&img->m, data, strtoull(argv[4], NULL, 0),
		   !strcmp(argv[5], "fill"), &n, &nd);
	if (r >= 0)
		r = write_image(argv[2], &n, nd, argv[3]);
	for (uint32_t i = 0; nd && i < n.n_chunks; i++)
		if (!i || nd[i] != nd[i - 1])
			free(nd[i]);
	free(nd);
	sf_manifest_free(&n);
	return r;
}

int main(int argc, char **argv)
{
	struct sf_image *img = NULL;
	uint8_t **data = NULL;
	const struct sf_payload *p;
	uint32_t k;
	int r;

	if (argc != 6 || sodium_init() < 0) {
		fprintf(stderr,
			"usage: lie-image IN OUT SECKEY CHUNK "
			"longer|wrong|short\n"
			"       lie-image IN OUT SECKEY CHUNK "
			"zlonger|zshort|zwrong|zwindow|ztrailing\n"
			"       lie-image IN OUT SECKEY CHUNK "
			"rhash|rout|rlonger|rwindow|rwrong\n"
			"       lie-image IN OUT SECKEY SIZE zeros|fill\n");
		return 2;
	}
	r = sf_image_open(&ctx, argv[1], &img);
	if (r >= 0)
		r = sf_image_load_manifest(&ctx, img);
	if (r >= 0)
		r = read_all(img, &data);
	if (r < 0)
		return 1;
	if (!strcmp(argv[5], "zeros") || !strcmp(argv[5], "fill")) {
		r = grown(img, data, argv);
		goto out;
	}
	p = sf_manifest_payload(&img->m, SF_PAYLOAD_ROOTFS);
	k = (uint32_t)atoi(argv[4]);
	if (k >= p->n_chunks)
		return 2;
	k += p->first_chunk;
	if (!strcmp(argv[5], "short")) {
		/* One stored byte for a whole chunk. */
		unref(&img->m, k);
		img->m.chunks[k].form = SF_FORM_DEFLATE;
		img->m.chunks[k].stored_len = 1;
		sf_hash(data[k], 1, img->m.chunks[k].stored_hash);
	} else if (argv[5][0] == 'r') {
		r = rlie(&img->m, k, argv[5], &data[k]);
	} else if (argv[5][0] == 'z') {
		unref(&img->m, k);
		r = zlie(&img->m.chunks[k], argv[5], &data[k]);
	} else {
		unref(&img->m, k);
		r = lie(&img->m.chunks[k], !strcmp(argv[5], "longer"),
			&data[k]);
	}
	if (r >= 0)
		r = write_image(argv[2], &img->m, data, argv[3]);
out:
	if (r < 0)
		fprintf(stderr, "lie-image: %s\n", strerror(-r));
	for (uint32_t i = 0; i < img->m.n_chunks; i++)
		free(data[i]);
	free(data);
	sf_image_close(img);
	return r < 0;
}
