// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * repo add: a full image into images/, deltas against the last versions
 * there, a new index and timestamp for the channel. Every file is written
 * under a temporary name in the repository and renamed: images first,
 * the timestamp last (repo_publish()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "imgwrite.h"
#include "repo-add.h"
#include "util.h"
#include "version.h"

#define MAX_BASES 256
#define COPY_BUF (1u << 20)

struct base {
	char version[SF_STRING_FIELD];
	/* "images/" and a file name of at most 255 bytes. */
	char name[8 + NAME_MAX];
	uint8_t manifest_hash[SF_HASH_BYTES];
};

/* What repo add works with. */
struct add {
	struct repo *r;
	struct repo_args *a;
	const struct ms_seckey *image_keys;
	struct ms_pubkey image_pubs[MAX_KEYS];
	unsigned n_image_keys;
	/* The copy of IMAGE, under a temporary name until it checks. */
	int fd;
	char *tmp;
	struct sf_image *img;
	uint64_t size;
	uint8_t hash[SF_HASH_BYTES];
	/* images/work.tmp.XXXXXX: the payloads and each delta as made. */
	char work[PATH_MAX];
	struct sf_repo_index idx;
};

static int copy_loop(int in, int out, struct add *ad)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_BUF);
	crypto_generichash_state st;
	ssize_t n;
	int e = 0;

	if (!buf)
		return -ENOMEM;
	crypto_generichash_init(&st, NULL, 0, SF_HASH_BYTES);
	ad->size = 0;
	while (e == 0 && (n = read_full(in, buf, COPY_BUF)) > 0) {
		crypto_generichash_update(&st, buf, (size_t)n);
		e = pwrite_full(out, buf, (size_t)n, ad->size);
		ad->size += (uint64_t)n;
	}
	if (e == 0 && n < 0)
		e = (int)n;
	crypto_generichash_final(&st, ad->hash, SF_HASH_BYTES);
	return e;
}

/* Copy IMAGE to a temporary file in images/, hashing what is written. */
static int copy_in(struct add *ad)
{
	_cleanup_close_ int in =
		open_regular_at(AT_FDCWD, ad->a->arg, O_RDONLY);
	char path[PATH_MAX];
	int e;

	if (in < 0)
		return sf_err(
			&cli_ctx, EXIT_IO, "cannot read %s: %s", ad->a->arg,
			in == -EINVAL ? "not a regular file" : strerror(-in));
	snprintf(path, sizeof(path), "%s/images/new.img", ad->r->dir);
	ad->fd = tmpfile_create(path, 0644, &ad->tmp);
	if (ad->fd < 0)
		return sf_err(&cli_ctx, EXIT_IO,
			      "cannot create a file in %s: %s", path,
			      strerror(-ad->fd));
	e = copy_loop(in, ad->fd, ad);
	if (e < 0)
		return sf_err(&cli_ctx, EXIT_IO, "cannot copy %s to %s: %s",
			      ad->a->arg, ad->tmp, strerror(-e));
	return EXIT_OK;
}

/* The copy is a full image of this repository, signed by an image key. */
static int check_image(struct add *ad)
{
	const char *path = ad->a->arg;
	const struct sf_manifest *m;
	int e = sf_image_open(&cli_ctx, ad->tmp, &ad->img);

	if (e == 0)
		e = sf_image_check_signatures(&cli_ctx, ad->img, ad->image_pubs,
					      ad->n_image_keys, 1);
	if (e == -EKEYREJECTED)
		return sf_err(&cli_ctx, EXIT_REFUSED,
			      "%s is not signed by an image key (--image-key, "
			      "else --key)",
			      path);
	if (e < 0)
		return sf_err(&cli_ctx, exit_for_image_error(e),
			      "%s is refused", path);
	m = &ad->img->m;
	if (m->flags & SF_MANIFEST_FLAG_DELTA)
		return sf_err(&cli_ctx, EXIT_REFUSED,
			      "%s is a delta image: add full images, the "
			      "repository makes the deltas",
			      path);
	if (strcmp(m->compatible, ad->r->ks.compatible))
		return sf_err(&cli_ctx, EXIT_REFUSED,
			      "%s is for compatible %s, the repository for %s",
			      path, m->compatible, ad->r->ks.compatible);
	return EXIT_OK;
}

/* Rename @tmp to the content-addressed images/<hash>.img. */
static int place_image(struct add *ad, const char *tmp, int fd,
		       const uint8_t hash[SF_HASH_BYTES])
{
	char name[128], path[PATH_MAX];
	struct stat st;
	int e;

	repo_image_name(hash, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", ad->r->dir, name);
	if (lstat(path, &st) == 0) {
		/* The same bytes are there: never rewrite an image. */
		unlink(tmp);
		return EXIT_OK;
	}
	e = fd >= 0		    ? tmpfile_commit(fd, tmp, path)
	    : rename(tmp, path) < 0 ? -errno
				    : fsync_parent(path);
	if (e < 0)
		return sf_err(&cli_ctx, EXIT_IO, "cannot write %s: %s", path,
			      strerror(-e));
	return EXIT_OK;
}

/* ---- the bases of the deltas ---- */

static bool image_name(const char *s)
{
	return strlen(s) == 2 * SF_HASH_BYTES + 4 &&
	       strspn(s, "0123456789abcdef") == 2 * SF_HASH_BYTES &&
	       !strcmp(s + 2 * SF_HASH_BYTES, ".img");
}

/* A full image of this device below @version: a base for a delta. */
static bool read_base(struct add *ad, const char *file, struct base *b)
{
	struct sf_ctx quiet = cli_ctx;
	struct sf_image *img = NULL;
	bool ok;
	int cmp = 0;

	quiet.log_fn = NULL;
	snprintf(b->name, sizeof(b->name), "images/%s", file);
	if (sf_image_open_at(&quiet, ad->r->fd, b->name, b->name, &img) < 0)
		return false;
	ok = sf_image_load_manifest(&quiet, img) == 0 &&
	     !(img->m.flags & SF_MANIFEST_FLAG_DELTA) &&
	     !strcmp(img->m.compatible, ad->img->m.compatible) &&
	     sf_version_cmp_str(img->m.version, ad->img->m.version, &cmp) ==
		     0 &&
	     cmp < 0;
	if (ok) {
		strcpy(b->version, img->m.version);
		memcpy(b->manifest_hash, img->manifest_hash, SF_HASH_BYTES);
	}
	sf_image_close(img);
	return ok;
}

static int cmp_bases(const void *x, const void *y)
{
	const struct base *a = x, *b = y;
	int cmp = 0;

	sf_version_cmp_str(b->version, a->version, &cmp);
	return cmp ? cmp : strcmp(a->name, b->name);
}

/* The full images of the last @max versions, highest first. */
static unsigned list_bases(struct add *ad, struct base *bases, unsigned max)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned n = 0, kept = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/images", ad->r->dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < MAX_BASES)
		if (image_name(de->d_name) &&
		    read_base(ad, de->d_name, &bases[n]))
			n++;
	closedir(d);
	qsort(bases, n, sizeof(*bases), cmp_bases);
	for (unsigned i = 0; i < n && kept < max; i++)
		if (!kept || strcmp(bases[i].version, bases[kept - 1].version))
			bases[kept++] = bases[i];
	return kept;
}

/* ---- the deltas ---- */

/* @file in the work directory (its name is short: it always fits). */
static void work_path(const struct add *ad, const char *file, char *buf,
		      size_t size)
{
	if (!path_join(buf, size, ad->work, file))
		buf[0] = '\0';
}

static int extract_payloads(struct add *ad)
{
	char out[PATH_MAX];
	int e = 0;

	snprintf(ad->work, sizeof(ad->work), "%s/images/work.tmp.XXXXXX",
		 ad->r->dir);
	if (!mkdtemp(ad->work)) {
		e = -errno;
		ad->work[0] = '\0';
		return sf_err(&cli_ctx, EXIT_IO,
			      "cannot make a directory in "
			      "%s/images: %s",
			      ad->r->dir, strerror(-e));
	}
	for (unsigned k = SF_PAYLOAD_ROOTFS; e == 0 && k <= SF_PAYLOAD_EFI;
	     k++) {
		const struct sf_payload *p =
			sf_manifest_payload(&ad->img->m, k);

		work_path(ad, sf_payload_kind_name(k), out, sizeof(out));
		if (p)
			e = extract_payload(ad->img, p, out, NULL);
	}
	return e < 0 ? exit_for_image_error(e) : EXIT_OK;
}

static void remove_work(struct add *ad)
{
	static const char *const files[] = { "rootfs", "efi", "delta.img" };
	char path[PATH_MAX];

	if (!ad->work[0])
		return;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		work_path(ad, files[i], path, sizeof(path));
		unlink(path);
	}
	rmdir(ad->work);
}

static void delta_opts(struct add *ad, const struct base *b, char *rootfs,
		       char *efi, char *from, struct sf_create_opts *o)
{
	const struct sf_manifest *m = &ad->img->m;

	work_path(ad, "rootfs", rootfs, PATH_MAX);
	work_path(ad, "efi", efi, PATH_MAX);
	snprintf(from, PATH_MAX, "%s/%s", ad->r->dir, b->name);
	*o = (struct sf_create_opts){
		.rootfs = rootfs,
		.efi = sf_manifest_payload(m, SF_PAYLOAD_EFI) ? efi : NULL,
		.version = m->version,
		.compatible = m->compatible,
		.chunk_size = m->chunk_size,
		.build_time = m->build_time,
		.delta_from = from,
		.base_keys = ad->image_pubs,
		.n_base_keys = ad->n_image_keys,
		.base_threshold = 1,
		.keys = ad->image_keys,
		.n_keys = ad->n_image_keys,
	};
}

/* Place a delta made against @b, unless it is no smaller than the full. */
static int keep_delta(struct add *ad, const struct base *b)
{
	struct sf_repo_image *im = &ad->idx.deltas[ad->idx.n_deltas];
	char rel[PATH_MAX], path[PATH_MAX];
	int e;

	snprintf(rel, sizeof(rel), "%s/delta.img",
		 ad->work + strlen(ad->r->dir) + 1);
	e = repo_hash_file(ad->r, rel, &im->size, im->hash);
	if (e < 0)
		return sf_err(&cli_ctx, EXIT_IO, "cannot read %s: %s", rel,
			      strerror(-e));
	if (im->size >= ad->size) {
		printf("no delta from %s: %" PRIu64 " bytes, not smaller than "
		       "the full image\n",
		       b->version, im->size);
		return EXIT_OK;
	}
	work_path(ad, "delta.img", path, sizeof(path));
	e = place_image(ad, path, -1, im->hash);
	if (e != EXIT_OK)
		return e;
	strcpy(im->base_version, b->version);
	memcpy(im->base_manifest, b->manifest_hash, SF_HASH_BYTES);
	ad->idx.n_deltas++;
	printf("delta from %s: %" PRIu64 " bytes\n", b->version, im->size);
	return EXIT_OK;
}

static int make_delta(struct add *ad, const struct base *b)
{
	char rootfs[PATH_MAX], efi[PATH_MAX], from[PATH_MAX], out[PATH_MAX];
	struct sf_create_opts o;
	int e;

	delta_opts(ad, b, rootfs, efi, from, &o);
	work_path(ad, "delta.img", out, sizeof(out));
	e = sf_image_create(&cli_ctx, &o, out);
	if (e == -EKEYREJECTED) {
		sf_log(&cli_ctx, SF_LOG_WARNING, 0,
		       "no delta from %s: %s is not signed by an image key",
		       b->version, b->name);
		return EXIT_OK;
	}
	if (e < 0)
		return sf_err(&cli_ctx, exit_for_image_error(e),
			      "cannot make the delta from %s", b->version);
	return keep_delta(ad, b);
}

static int make_deltas(struct add *ad)
{
	_cleanup_free_ struct base *bases = calloc(MAX_BASES, sizeof(*bases));
	unsigned n;
	int e;

	if (!bases)
		return EXIT_IO;
	n = list_bases(ad, bases, (unsigned)ad->a->deltas);
	if (n == 0)
		return EXIT_OK;
	e = extract_payloads(ad);
	for (unsigned i = 0; e == EXIT_OK && i < n; i++)
		e = make_delta(ad, &bases[i]);
	return e;
}

/* ---- add ---- */

static int add_checked(struct add *ad, struct channel *c)
{
	const struct sf_manifest *m = &ad->img->m;
	int e;

	if ((e = repo_check_newer(c, m->version)) != EXIT_OK ||
	    (e = repo_new_floor(ad->a, c, m->version, ad->idx.floor)) !=
		    EXIT_OK ||
	    (e = place_image(ad, ad->tmp, ad->fd, ad->hash)) != EXIT_OK)
		return e;
	close(ad->fd);
	ad->fd = -1;
	strcpy(ad->idx.version, m->version);
	memcpy(ad->idx.manifest, ad->img->manifest_hash, SF_HASH_BYTES);
	ad->idx.full.size = ad->size;
	memcpy(ad->idx.full.hash, ad->hash, SF_HASH_BYTES);
	if (ad->a->deltas && (e = make_deltas(ad)) != EXIT_OK)
		return e;
	return repo_publish(ad->r, c, &ad->idx);
}

int repo_add(struct repo *r, struct repo_args *a,
	     const struct ms_seckey *image_keys)
{
	_cleanup_free_ struct add *ad = calloc(1, sizeof(*ad));
	_cleanup_free_ struct channel *c = calloc(1, sizeof(*c));
	int e;

	if (!ad || !c)
		return EXIT_IO;
	*ad = (struct add){ .r = r,
			    .a = a,
			    .image_keys = image_keys,
			    .n_image_keys = a->n_image_keys,
			    .fd = -1 };
	for (unsigned i = 0; i < a->n_image_keys; i++)
		ms_pubkey_from_seckey(&image_keys[i], &ad->image_pubs[i]);
	e = repo_channel_load(r, a->channel, c);
	if (e == EXIT_OK)
		e = copy_in(ad);
	if (e == EXIT_OK)
		e = check_image(ad);
	if (e == EXIT_OK)
		e = add_checked(ad, c);
	if (e == EXIT_OK)
		printf("%s: channel %s offers %s: full image %" PRIu64
		       " bytes, %u delta(s); timestamp serial %" PRIu64 "\n",
		       r->dir, a->channel, ad->idx.version, ad->size,
		       ad->idx.n_deltas, c->ts.serial);
	if (ad->fd >= 0) {
		close(ad->fd);
		unlink(ad->tmp);
	}
	free(ad->tmp);
	if (ad->img)
		sf_image_close(ad->img);
	remove_work(ad);
	return e;
}
