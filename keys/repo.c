// SPDX-License-Identifier: LGPL-2.1-or-later
/* An update repository on the build server: keys, channels, publication. */
#include "repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "repowrite.h"
#include "util.h"

/* EXIT_* for a failed repodoc or file step. */
static int repo_exit(int e)
{
	switch (e) {
	case -EBADMSG:
	case -EPROTONOSUPPORT:
	case -EKEYREJECTED:
	case -ESTALE:
	case -ERANGE:
	case -EFBIG:
	case -EXDEV:
		return EXIT_REFUSED;
	default:
		return EXIT_IO;
	}
}

/* A document and its signature file, read with their caps. */
struct doc {
	char *text;
	size_t len;
	char *sigs;
	size_t sigs_len;
};

static void doc_free(struct doc *d)
{
	free(d->text);
	free(d->sigs);
	*d = (struct doc){ NULL, 0, NULL, 0 };
}

static int doc_read(struct repo *r, const char *name, size_t cap,
		    const char *sig_name, struct doc *d)
{
	char sname[PATH_MAX];
	int e;

	*d = (struct doc){ NULL, 0, NULL, 0 };
	if (!sig_name) {
		snprintf(sname, sizeof(sname), "%s.minisig", name);
		sig_name = sname;
	}
	e = sf_repo_read_at(&cli_ctx, r->fd, name, cap, &d->text, &d->len);
	if (e == 0)
		e = sf_repo_read_at(&cli_ctx, r->fd, sig_name,
				    SF_REPO_SIGFILE_CAP, &d->sigs,
				    &d->sigs_len);
	if (e < 0)
		doc_free(d);
	return e;
}

/* keys/1: signed by its own threshold. */
static int load_first_set(struct repo *r)
{
	struct doc d;
	char comment[MS_TRUSTED_COMMENT_MAX];
	int e = doc_read(r, "keys/1", SF_REPO_KEYSET_CAP, NULL, &d);

	if (e == -ENOENT) {
		fprintf(stderr,
			"slotflip-image: error: %s is not a repository (no "
			"keys/1): make one with `slotflip-image repo init`\n",
			r->dir);
		return EXIT_IO;
	}
	if (e == 0)
		e = sf_repo_keyset_parse(&cli_ctx, "keys/1", d.text, d.len,
					 &r->ks);
	if (e == 0 && r->ks.set != 1)
		e = sf_err(&cli_ctx, -EBADMSG, "keys/1 holds key set %" PRIu64,
			   r->ks.set);
	sf_repo_comment(SF_REPODOC_KEYS, r->ks.product, NULL, 1, comment,
			sizeof(comment));
	if (e == 0)
		e = sf_repo_check_sigs(&cli_ctx, "keys/1", d.text, d.len,
				       d.sigs, d.sigs_len, &r->ks, comment);
	doc_free(&d);
	return e < 0 ? repo_exit(e) : EXIT_OK;
}

/* keys/2, keys/3, ...: each accepted by the one before. */
static int walk_chain(struct repo *r)
{
	for (;;) {
		char name[64];
		struct doc d;
		int e;

		snprintf(name, sizeof(name), "keys/%" PRIu64, r->ks.set + 1);
		if (faccessat(r->fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT)
			return EXIT_OK;
		e = doc_read(r, name, SF_REPO_KEYSET_CAP, NULL, &d);
		r->prev = r->ks;
		if (e == 0)
			e = sf_repo_keyset_accept(&cli_ctx, name, &r->prev,
						  d.text, d.len, d.sigs,
						  d.sigs_len, &r->ks);
		doc_free(&d);
		if (e < 0)
			return repo_exit(e);
	}
}

int repo_open(const char *dir, bool writer, struct repo *r)
{
	int e;

	*r = (struct repo){ .dir = dir, .fd = -1 };
	r->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0 || (writer && flock(r->fd, LOCK_EX) < 0)) {
		fprintf(stderr, "slotflip-image: error: cannot %s %s: %m\n",
			r->fd < 0 ? "open" : "lock", dir);
		repo_close(r);
		return EXIT_IO;
	}
	e = load_first_set(r);
	if (e == EXIT_OK)
		e = walk_chain(r);
	if (e != EXIT_OK)
		repo_close(r);
	return e;
}

void repo_close(struct repo *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static bool in_set(const struct sf_repo_keyset *ks, const struct ms_seckey *k)
{
	struct ms_pubkey pk;

	ms_pubkey_from_seckey(k, &pk);
	for (unsigned i = 0; i < ks->n_keys; i++)
		if (!memcmp(ks->keys[i].pk, pk.pk, MS_PUBLICKEY_BYTES))
			return true;
	return false;
}

int repo_set_keys(struct repo *r, const struct ms_seckey *keys, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!in_set(&r->ks, &keys[i])) {
			char id[17];

			ms_keyid_hex(keys[i].keyid, id);
			fprintf(stderr,
				"slotflip-image: error: key %s (--key number "
				"%u) is not a key of key set %" PRIu64
				" of %s\n",
				id, i + 1, r->ks.set, r->dir);
			return EXIT_KEY;
		}
	if (n < r->ks.threshold) {
		fprintf(stderr,
			"slotflip-image: error: key set %" PRIu64
			" needs signatures by %u keys, %u given\n",
			r->ks.set, r->ks.threshold, n);
		return EXIT_KEY;
	}
	r->keys = keys;
	r->n_keys = n;
	return EXIT_OK;
}

/* @name in the repository; an empty string when too long (opens fail). */
static void path_of(const struct repo *r, const char *name, char *buf,
		    size_t size)
{
	if (!path_join(buf, size, r->dir, name))
		buf[0] = '\0';
}

int repo_write_signed(struct repo *r, const char *name, const char *sig_name,
		      const char *text, size_t len, const char *comment,
		      const struct ms_seckey *extra_keys, unsigned n_extra)
{
	_cleanup_free_ char *sigs = NULL;
	struct ms_seckey all[2 * MAX_KEYS];
	char path[PATH_MAX], spath[PATH_MAX + 16];
	size_t slen;
	int e;

	memcpy(all, r->keys, r->n_keys * sizeof(*all));
	if (n_extra)
		memcpy(all + r->n_keys, extra_keys, n_extra * sizeof(*all));
	e = sf_repo_sign(&cli_ctx, text, len, comment, all, r->n_keys + n_extra,
			 &sigs, &slen);
	sodium_memzero(all, sizeof(all));
	if (e < 0)
		return repo_exit(e);
	path_of(r, name, path, sizeof(path));
	if (sig_name)
		path_of(r, sig_name, spath, sizeof(spath));
	else
		snprintf(spath, sizeof(spath), "%s.minisig", path);
	e = write_file_atomic(spath, sigs, slen, 0644);
	if (e == 0)
		e = write_file_atomic(path, text, len, 0644);
	if (e < 0) {
		fprintf(stderr, "slotflip-image: error: cannot write %s: %s\n",
			path, strerror(-e));
		return EXIT_IO;
	}
	return EXIT_OK;
}

int repo_check_doc(struct repo *r, const char *name, const char *sig_name,
		   const char *text, size_t len,
		   const struct sf_repo_keyset *ks, const char *comment)
{
	_cleanup_free_ char *sigs = NULL;
	char sname[PATH_MAX];
	size_t slen;
	int e;

	if (!ks)
		return -EBADMSG;
	if (!sig_name) {
		snprintf(sname, sizeof(sname), "%s.minisig", name);
		sig_name = sname;
	}
	e = sf_repo_read_at(&cli_ctx, r->fd, sig_name, SF_REPO_SIGFILE_CAP,
			    &sigs, &slen);
	if (e == 0)
		e = sf_repo_check_sigs(&cli_ctx, name, text, len, sigs, slen,
				       ks, comment);
	return e < 0 ? e : 0;
}

/* The key set a timestamp names: the newest or the one before. */
static const struct sf_repo_keyset *set_of(const struct repo *r,
					   const struct sf_repo_timestamp *ts)
{
	if (ts->keyset == r->ks.set)
		return &r->ks;
	if (r->prev.set && ts->keyset == r->prev.set)
		return &r->prev;
	sf_err(&cli_ctx, -EBADMSG,
	       "channels/%s/timestamp names key set %" PRIu64
	       ", the newest is %" PRIu64,
	       ts->channel, ts->keyset, r->ks.set);
	return NULL;
}

static int load_index(struct repo *r, struct channel *c)
{
	char name[128], hex[SF_REPO_HEX_SIZE], comment[MS_TRUSTED_COMMENT_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int e;

	sf_repo_hex(c->ts.index_hash, hex);
	snprintf(name, sizeof(name), "channels/%s/index.%s", c->name, hex);
	e = sf_repo_read_at(&cli_ctx, r->fd, name, c->ts.index_size, &text,
			    &len);
	if (e == 0)
		e = sf_repo_index_bytes_check(&cli_ctx, name, &c->ts, text,
					      len);
	sf_repo_comment(SF_REPODOC_INDEX, r->ks.product, c->name, 0, comment,
			sizeof(comment));
	if (e == 0)
		e = repo_check_doc(r, name, NULL, text, len, set_of(r, &c->ts),
				   comment);
	if (e == 0)
		e = sf_repo_index_parse(&cli_ctx, name, text, len, &c->idx);
	return e < 0 ? repo_exit(e) : EXIT_OK;
}

static int check_timestamp_sigs(struct repo *r, const struct channel *c,
				const char *text, size_t len)
{
	const struct sf_repo_keyset *ks = set_of(r, &c->ts);
	char name[96], sig_name[128], comment[MS_TRUSTED_COMMENT_MAX];

	if (!ks)
		return -EBADMSG;
	if (strcmp(c->ts.channel, c->name) ||
	    strcmp(c->ts.product, ks->product))
		return sf_err(&cli_ctx, -EBADMSG,
			      "channels/%s/timestamp is for %s channel %s",
			      c->name, c->ts.product, c->ts.channel);
	snprintf(sig_name, sizeof(sig_name),
		 "channels/%s/timestamp.%" PRIu64 ".minisig", c->name,
		 c->ts.serial);
	sf_repo_comment(SF_REPODOC_TIMESTAMP, ks->product, c->name, 0, comment,
			sizeof(comment));
	snprintf(name, sizeof(name), "channels/%s/timestamp", c->name);
	return repo_check_doc(r, name, sig_name, text, len, ks, comment);
}

int repo_channel_load(struct repo *r, const char *name, struct channel *c)
{
	struct sf_ctx quiet = { .log_fn = NULL };
	_cleanup_free_ char *text = NULL;
	char path[128];
	size_t len;
	int e;

	memset(c, 0, sizeof(*c));
	if (!sf_repo_channel_valid(name))
		return usage_error("repo",
				   "bad channel \"%s\": 1 to 31 "
				   "characters from [a-z0-9-]",
				   name);
	strcpy(c->name, name);
	snprintf(path, sizeof(path), "channels/%s/timestamp", name);
	e = sf_repo_read_at(&quiet, r->fd, path, SF_REPO_TIMESTAMP_CAP, &text,
			    &len);
	if (e == -ENOENT)
		return EXIT_OK;
	if (e < 0)
		e = sf_repo_read_at(&cli_ctx, r->fd, path,
				    SF_REPO_TIMESTAMP_CAP, &text, &len);
	if (e == 0)
		e = sf_repo_timestamp_parse(&cli_ctx, path, text, len, &c->ts);
	if (e == 0)
		e = check_timestamp_sigs(r, c, text, len);
	if (e < 0)
		return repo_exit(e);
	c->exists = true;
	return load_index(r, c);
}

static int make_channel_dir(struct repo *r, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/channels/%s", r->dir, name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "slotflip-image: error: cannot make %s: %m\n",
			path);
		return EXIT_IO;
	}
	return EXIT_OK;
}

/* Remove the signatures of the timestamp that fell out of the window. */
static void prune_ts_sigs(struct repo *r, const struct channel *c)
{
	char name[128];

	if (c->ts.serial <= REPO_KEEP_TS_SIGS)
		return;
	snprintf(name, sizeof(name),
		 "channels/%s/timestamp.%" PRIu64 ".minisig", c->name,
		 c->ts.serial - REPO_KEEP_TS_SIGS);
	if (unlinkat(r->fd, name, 0) < 0 && errno != ENOENT)
		sf_log(&cli_ctx, SF_LOG_WARNING, 0, "cannot remove %s: %m",
		       name);
}

int repo_publish_timestamp(struct repo *r, struct channel *c)
{
	struct sf_repo_timestamp ts = c->ts;
	_cleanup_free_ char *text = NULL;
	char name[128], sig_name[128], comment[MS_TRUSTED_COMMENT_MAX];
	size_t len;
	int e;

	strcpy(ts.product, r->ks.product);
	strcpy(ts.channel, c->name);
	ts.serial = c->exists ? c->ts.serial + 1 : 1;
	/* Issue times never go back, whatever the clock says. */
	ts.issued = c->exists && c->ts.issued > r->now ? c->ts.issued : r->now;
	ts.expires = ts.issued + r->ts_life;
	ts.keyset = r->ks.set;
	e = sf_repo_timestamp_format(&cli_ctx, &ts, &text, &len);
	if (e < 0)
		return repo_exit(e);
	snprintf(name, sizeof(name), "channels/%s/timestamp", c->name);
	snprintf(sig_name, sizeof(sig_name),
		 "channels/%s/timestamp.%" PRIu64 ".minisig", c->name,
		 ts.serial);
	sf_repo_comment(SF_REPODOC_TIMESTAMP, ts.product, c->name, 0, comment,
			sizeof(comment));
	e = repo_write_signed(r, name, sig_name, text, len, comment, NULL, 0);
	if (e != EXIT_OK)
		return e;
	c->ts = ts;
	c->exists = true;
	prune_ts_sigs(r, c);
	return EXIT_OK;
}

int repo_publish(struct repo *r, struct channel *c, struct sf_repo_index *idx)
{
	_cleanup_free_ char *text = NULL;
	char name[128], hex[SF_REPO_HEX_SIZE], comment[MS_TRUSTED_COMMENT_MAX];
	size_t len;
	int e;

	strcpy(idx->product, r->ks.product);
	strcpy(idx->compatible, r->ks.compatible);
	strcpy(idx->channel, c->name);
	idx->serial = c->exists ? c->idx.serial + 1 : 1;
	idx->issued = c->exists && c->idx.issued > r->now ? c->idx.issued
							  : r->now;
	idx->expires = idx->issued + r->index_life;
	e = sf_repo_index_format(&cli_ctx, idx, &text, &len);
	if (e < 0)
		return repo_exit(e);
	if ((e = make_channel_dir(r, c->name)) != EXIT_OK)
		return e;
	sf_repo_hash(text, len, c->ts.index_hash);
	c->ts.index_size = len;
	sf_repo_hex(c->ts.index_hash, hex);
	snprintf(name, sizeof(name), "channels/%s/index.%s", c->name, hex);
	sf_repo_comment(SF_REPODOC_INDEX, idx->product, c->name, 0, comment,
			sizeof(comment));
	e = repo_write_signed(r, name, NULL, text, len, comment, NULL, 0);
	if (e != EXIT_OK)
		return e;
	c->idx = *idx;
	return repo_publish_timestamp(r, c);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int repo_channels(struct repo *r, char (*names)[SF_REPO_CHANNEL_SIZE],
		  unsigned max)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	path_of(r, "channels", path, sizeof(path));
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max)
		if (sf_repo_channel_valid(de->d_name))
			strcpy(names[n++], de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	return (int)n;
}

int repo_hash_file(struct repo *r, const char *name, uint64_t *ret_size,
		   uint8_t hash[SF_HASH_BYTES])
{
	_cleanup_close_ int fd = open_regular_at(r->fd, name, O_RDONLY);
	_cleanup_free_ uint8_t *buf = malloc(1u << 20);
	crypto_generichash_state st;
	uint64_t size = 0;
	ssize_t n;

	if (fd < 0 || !buf)
		return fd < 0 ? fd : -ENOMEM;
	crypto_generichash_init(&st, NULL, 0, SF_HASH_BYTES);
	while ((n = read_full(fd, buf, 1u << 20)) > 0) {
		crypto_generichash_update(&st, buf, (size_t)n);
		size += (uint64_t)n;
	}
	if (n < 0)
		return (int)n;
	crypto_generichash_final(&st, hash, SF_HASH_BYTES);
	*ret_size = size;
	return 0;
}

void repo_image_name(const uint8_t hash[SF_HASH_BYTES], char *buf, size_t size)
{
	char hex[SF_REPO_HEX_SIZE];

	sf_repo_hex(hash, hex);
	snprintf(buf, size, "images/%s.img", hex);
}
