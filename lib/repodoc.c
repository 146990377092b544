// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Repository documents (docs/REPO.md): a strict line reader, one parser
 * and one formatter per kind, signature files, and a device's checks.
 */
#include "repodoc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "util.h"
#include "version.h"

#define MAGIC "slotflip-repo"
/* Longest line of any document (a delta line is about 220 bytes). */
#define LINE_MAX_BYTES 256u
#define KEY_COMMENT "untrusted comment: k\n"

static const char *const kind_names[] = {
	[SF_REPODOC_KEYS] = "keys",
	[SF_REPODOC_TIMESTAMP] = "timestamp",
	[SF_REPODOC_INDEX] = "index",
};

static const size_t kind_caps[] = {
	[SF_REPODOC_KEYS] = SF_REPO_KEYSET_CAP,
	[SF_REPODOC_TIMESTAMP] = SF_REPO_TIMESTAMP_CAP,
	[SF_REPODOC_INDEX] = SF_REPO_INDEX_CAP,
};

/* The reader: one "key value" line after the other. */
struct rd {
	const struct sf_ctx *ctx;
	const char *name;
	const char *p;
	const char *end;
	unsigned line;
	/* The current line's value, NUL-terminated. */
	char v[LINE_MAX_BYTES];
};

#define bad(r, ...) sf_err((r)->ctx, -EBADMSG, __VA_ARGS__)

/* Printable ASCII words separated by single spaces. */
static bool value_ok(const char *v)
{
	if (!*v || *v == ' ')
		return false;
	for (const char *c = v; *c; c++)
		if (*c < ' ' || *c > '~' ||
		    (*c == ' ' && (c[1] == ' ' || !c[1])))
			return false;
	return true;
}

static int rd_init(const struct sf_ctx *ctx, struct rd *r, const char *name,
		   enum sf_repodoc_kind kind, const char *text, size_t len)
{
	if (len > kind_caps[kind])
		return sf_err(ctx, -EFBIG,
			      "%s: %zu bytes, a %s document has at most %zu",
			      name, len, kind_names[kind], kind_caps[kind]);
	if (len && memchr(text, '\0', len))
		return sf_err(ctx, -EBADMSG, "%s: contains a NUL byte", name);
	*r = (struct rd){ .ctx = ctx, .name = name, .p = text, .end = text };
	r->end = text ? text + len : text;
	return 0;
}

/* Is the next line a "@key ..." line? */
static bool rd_peek(const struct rd *r, const char *key)
{
	size_t klen = strlen(key);

	return (size_t)(r->end - r->p) > klen && !memcmp(r->p, key, klen) &&
	       r->p[klen] == ' ';
}

/* The next line, which must be "@key VALUE": VALUE into r->v. */
static int rd_next(struct rd *r, const char *key)
{
	size_t klen = strlen(key), len;
	const char *nl;

	r->line++;
	if (r->p >= r->end)
		return bad(r, "%s: line %u is missing (want \"%s ...\")",
			   r->name, r->line, key);
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	if (!nl)
		return bad(r, "%s: line %u does not end with a newline",
			   r->name, r->line);
	len = (size_t)(nl - r->p);
	if (len >= LINE_MAX_BYTES)
		return bad(r, "%s: line %u is longer than %u bytes", r->name,
			   r->line, LINE_MAX_BYTES - 1);
	if (!rd_peek(r, key))
		return bad(r, "%s: line %u: want \"%s VALUE\"", r->name,
			   r->line, key);
	memcpy(r->v, r->p + klen + 1, len - klen - 1);
	r->v[len - klen - 1] = '\0';
	r->p = nl + 1;
	if (!value_ok(r->v))
		return bad(r,
			   "%s: line %u: %s: a value is printable ASCII words "
			   "separated by single spaces",
			   r->name, r->line, key);
	return 0;
}

static int rd_end(struct rd *r)
{
	if (r->p != r->end)
		return bad(r,
			   "%s: line %u: unexpected (the document ends "
			   "before it)",
			   r->name, r->line + 1);
	return 0;
}

/* Split @s in place at single spaces into exactly @n words. */
static bool split_words(char *s, char **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		w[i] = s;
		s = strchr(s, ' ');
		if (i + 1 < n) {
			if (!s)
				return false;
			*s++ = '\0';
		}
	}
	return s == NULL;
}

/* Decimal digits, no sign or leading zero, at most SF_REPO_NUMBER_MAX. */
static bool number_parse(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 19 || s[strspn(s, "0123456789")] ||
	    (s[0] == '0' && n > 1))
		return false;
	for (; *s; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (v > SF_REPO_NUMBER_MAX)
		return false;
	*ret = v;
	return true;
}

static bool hash_parse(const char *s, uint8_t out[SF_HASH_BYTES])
{
	if (strlen(s) != 2 * SF_HASH_BYTES || s[strspn(s, "0123456789abcdef")])
		return false;
	for (unsigned i = 0; i < SF_HASH_BYTES; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };

		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	return true;
}

static int rd_number(struct rd *r, const char *key, uint64_t min, uint64_t max,
		     uint64_t *ret)
{
	uint64_t v;
	int e = rd_next(r, key);

	if (e < 0)
		return e;
	if (!number_parse(r->v, &v) || v < min || v > max)
		return bad(r,
			   "%s: line %u: %s must be a number from %" PRIu64
			   " to %" PRIu64 ", not \"%s\"",
			   r->name, r->line, key, min, max, r->v);
	*ret = v;
	return 0;
}

static int rd_hash(struct rd *r, const char *key, uint8_t out[SF_HASH_BYTES])
{
	int e = rd_next(r, key);

	if (e < 0)
		return e;
	if (!hash_parse(r->v, out))
		return bad(r,
			   "%s: line %u: %s must be 64 lower-case hex digits",
			   r->name, r->line, key);
	return 0;
}

static bool name_valid(const char *s)
{
	return sf_compatible_valid(s);
}

bool sf_repo_channel_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < SF_REPO_CHANNEL_SIZE &&
	       !s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-")];
}

static bool version_valid(const char *s)
{
	struct sf_version v;

	return strlen(s) < SF_STRING_FIELD && sf_version_parse(s, &v) == 0;
}

/* A string field checked by @valid (what @what says it must be). */
static int rd_string(struct rd *r, const char *key, bool (*valid)(const char *),
		     const char *what, char *out, size_t size)
{
	int e = rd_next(r, key);

	if (e < 0)
		return e;
	if (strlen(r->v) >= size || !valid(r->v))
		return bad(r, "%s: line %u: %s must be %s, not \"%s\"", r->name,
			   r->line, key, what, r->v);
	strcpy(out, r->v);
	return 0;
}

#define NAME_RULE "1 to 63 characters from [A-Za-z0-9._+-]"
#define CHANNEL_RULE "1 to 31 characters from [a-z0-9-]"
#define VERSION_RULE "a version (docs/FORMAT.md)"

static int rd_magic(struct rd *r, enum sf_repodoc_kind kind)
{
	char *w[2];
	uint64_t fmt;
	int e = rd_next(r, MAGIC);

	if (e < 0)
		return e;
	if (!split_words(r->v, w, 2) || !number_parse(w[1], &fmt))
		return bad(r, "%s: line 1: want \"" MAGIC " %s %d\"", r->name,
			   kind_names[kind], SF_REPO_FORMAT);
	if (strcmp(w[0], kind_names[kind]))
		return bad(r, "%s: a \"%s\" document, not a %s document",
			   r->name, w[0], kind_names[kind]);
	if (fmt != SF_REPO_FORMAT)
		return sf_err(r->ctx, -EPROTONOSUPPORT,
			      "%s: format %" PRIu64 ", this reader knows %d: "
			      "update slotflip",
			      r->name, fmt, SF_REPO_FORMAT);
	return 0;
}

static int rd_times(struct rd *r, uint64_t *issued, uint64_t *expires)
{
	int e = rd_number(r, "issued", 0, SF_REPO_NUMBER_MAX, issued);

	if (e < 0)
		return e;
	if (!expires)
		return 0;
	e = rd_number(r, "expires", 0, SF_REPO_NUMBER_MAX, expires);
	if (e == 0 && *expires <= *issued)
		return bad(r, "%s: line %u: expires before it was issued",
			   r->name, r->line);
	return e;
}

/* ---- formatting ---- */

/* A memory stream for the formatters. */
struct wr {
	FILE *f;
	char *buf;
	size_t len;
};

static int wr_open(struct wr *w, enum sf_repodoc_kind kind)
{
	*w = (struct wr){ NULL, NULL, 0 };
	w->f = open_memstream(&w->buf, &w->len);
	if (!w->f)
		return -ENOMEM;
	fprintf(w->f, MAGIC " %s %d\n", kind_names[kind], SF_REPO_FORMAT);
	return 0;
}

static int wr_close(struct wr *w, char **ret_text, size_t *ret_len)
{
	bool failed = ferror(w->f);

	if (fclose(w->f) != 0 || failed) {
		free(w->buf);
		return -ENOMEM;
	}
	*ret_text = w->buf;
	*ret_len = w->len;
	return 0;
}

static void wr_hash(struct wr *w, const char *key, const uint8_t *h)
{
	char hex[SF_REPO_HEX_SIZE];

	sf_repo_hex(h, hex);
	fprintf(w->f, "%s %s\n", key, hex);
}

/* The base64 line of a public key file, as `key` lines hold it. */
static void wr_key(struct wr *w, const struct ms_pubkey *pk)
{
	char text[MS_PUBKEY_TEXT_SIZE];
	const char *b64;

	if (ms_pubkey_format(pk, text, sizeof(text)) < 0)
		return;
	b64 = strchr(text, '\n') + 1;
	fprintf(w->f, "key %s", b64);
}

static int keyset_raw(const struct sf_repo_keyset *ks, char **ret_text,
		      size_t *ret_len)
{
	struct wr w;

	if (wr_open(&w, SF_REPODOC_KEYS) < 0)
		return -ENOMEM;
	fprintf(w.f,
		"product %s\ncompatible %s\nset %" PRIu64
		"\nthreshold %u\nissued %" PRIu64 "\n",
		ks->product, ks->compatible, ks->set, ks->threshold,
		ks->issued);
	for (unsigned i = 0; i < ks->n_keys && i < SF_REPO_MAX_KEYS; i++)
		wr_key(&w, &ks->keys[i]);
	return wr_close(&w, ret_text, ret_len);
}

static int timestamp_raw(const struct sf_repo_timestamp *ts, char **ret_text,
			 size_t *ret_len)
{
	struct wr w;

	if (wr_open(&w, SF_REPODOC_TIMESTAMP) < 0)
		return -ENOMEM;
	fprintf(w.f,
		"product %s\nchannel %s\nserial %" PRIu64 "\nissued %" PRIu64
		"\nexpires %" PRIu64 "\nkeys %" PRIu64 "\nindex-size %" PRIu64
		"\n",
		ts->product, ts->channel, ts->serial, ts->issued, ts->expires,
		ts->keyset, ts->index_size);
	wr_hash(&w, "index-hash", ts->index_hash);
	return wr_close(&w, ret_text, ret_len);
}

static void wr_image(struct wr *w, const struct sf_repo_image *im, bool delta)
{
	char base[SF_REPO_HEX_SIZE], hash[SF_REPO_HEX_SIZE];

	sf_repo_hex(im->base_manifest, base);
	sf_repo_hex(im->hash, hash);
	if (delta)
		fprintf(w->f, "delta %s %s %" PRIu64 " %s\n", im->base_version,
			base, im->size, hash);
	else
		fprintf(w->f, "full %" PRIu64 " %s\n", im->size, hash);
}

static int index_raw(const struct sf_repo_index *idx, char **ret_text,
		     size_t *ret_len)
{
	struct wr w;

	if (wr_open(&w, SF_REPODOC_INDEX) < 0)
		return -ENOMEM;
	fprintf(w.f,
		"product %s\ncompatible %s\nchannel %s\nserial %" PRIu64
		"\nissued %" PRIu64 "\nexpires %" PRIu64
		"\nversion %s\nfloor %s\n",
		idx->product, idx->compatible, idx->channel, idx->serial,
		idx->issued, idx->expires, idx->version, idx->floor);
	wr_hash(&w, "manifest", idx->manifest);
	wr_image(&w, &idx->full, false);
	for (unsigned i = 0; i < idx->n_deltas && i < SF_REPO_MAX_DELTAS; i++)
		wr_image(&w, &idx->deltas[i], true);
	return wr_close(&w, ret_text, ret_len);
}

/* The text must be what the formatter writes for what was parsed. */
static int check_canonical(struct rd *r,
			   int (*raw)(const void *, char **, size_t *),
			   const void *doc, const char *text, size_t len)
{
	_cleanup_free_ char *again = NULL;
	size_t n;

	if (raw(doc, &again, &n) < 0)
		return -ENOMEM;
	if (n != len || memcmp(again, text, len))
		return bad(r, "%s: not in canonical form", r->name);
	return 0;
}

static int keyset_raw_v(const void *d, char **t, size_t *n)
{
	return keyset_raw(d, t, n);
}

static int timestamp_raw_v(const void *d, char **t, size_t *n)
{
	return timestamp_raw(d, t, n);
}

static int index_raw_v(const void *d, char **t, size_t *n)
{
	return index_raw(d, t, n);
}

/* ---- key sets ---- */

static int rd_key(struct rd *r, struct ms_pubkey *ret)
{
	struct sf_ctx quiet = { .log_fn = NULL };
	char text[sizeof(KEY_COMMENT) + LINE_MAX_BYTES + 1];
	int e = rd_next(r, "key");

	if (e < 0)
		return e;
	snprintf(text, sizeof(text), KEY_COMMENT "%s\n", r->v);
	if (ms_pubkey_parse(&quiet, text, strlen(text), ret) < 0)
		return bad(r,
			   "%s: line %u: not a minisign public key (the "
			   "second line of a .pub file)",
			   r->name, r->line);
	return 0;
}

static int rd_keys(struct rd *r, struct sf_repo_keyset *ks)
{
	int e;

	while (rd_peek(r, "key") || ks->n_keys == 0) {
		if (ks->n_keys == SF_REPO_MAX_KEYS)
			return bad(r, "%s: more than %u keys", r->name,
				   SF_REPO_MAX_KEYS);
		e = rd_key(r, &ks->keys[ks->n_keys]);
		if (e < 0)
			return e;
		for (unsigned i = 0; i < ks->n_keys; i++)
			if (!memcmp(ks->keys[i].pk, ks->keys[ks->n_keys].pk,
				    MS_PUBLICKEY_BYTES))
				return bad(r, "%s: line %u: key given twice",
					   r->name, r->line);
		ks->n_keys++;
	}
	if (ks->threshold > ks->n_keys)
		return bad(r, "%s: threshold %u is above the %u keys", r->name,
			   ks->threshold, ks->n_keys);
	return 0;
}

static int keyset_fields(struct rd *r, struct sf_repo_keyset *ks)
{
	uint64_t thr;
	int e;

	if ((e = rd_string(r, "product", name_valid, NAME_RULE, ks->product,
			   sizeof(ks->product))) < 0 ||
	    (e = rd_string(r, "compatible", name_valid, NAME_RULE,
			   ks->compatible, sizeof(ks->compatible))) < 0 ||
	    (e = rd_number(r, "set", 1, SF_REPO_NUMBER_MAX, &ks->set)) < 0 ||
	    (e = rd_number(r, "threshold", 1, SF_REPO_MAX_KEYS, &thr)) < 0)
		return e;
	ks->threshold = (unsigned)thr;
	if ((e = rd_times(r, &ks->issued, NULL)) < 0 ||
	    (e = rd_keys(r, ks)) < 0)
		return e;
	return rd_end(r);
}

int sf_repo_keyset_parse(const struct sf_ctx *ctx, const char *name,
			 const char *text, size_t len,
			 struct sf_repo_keyset *ret)
{
	_cleanup_free_ struct sf_repo_keyset *ks = calloc(1, sizeof(*ks));
	struct rd r;
	int e;

	if (!ks)
		return -ENOMEM;
	if ((e = rd_init(ctx, &r, name, SF_REPODOC_KEYS, text, len)) < 0 ||
	    (e = rd_magic(&r, SF_REPODOC_KEYS)) < 0 ||
	    (e = keyset_fields(&r, ks)) < 0 ||
	    (e = check_canonical(&r, keyset_raw_v, ks, text, len)) < 0)
		return e;
	*ret = *ks;
	return 0;
}

/* ---- timestamps ---- */

static int timestamp_fields(struct rd *r, struct sf_repo_timestamp *ts)
{
	int e;

	if ((e = rd_string(r, "product", name_valid, NAME_RULE, ts->product,
			   sizeof(ts->product))) < 0 ||
	    (e = rd_string(r, "channel", sf_repo_channel_valid, CHANNEL_RULE,
			   ts->channel, sizeof(ts->channel))) < 0 ||
	    (e = rd_number(r, "serial", 1, SF_REPO_NUMBER_MAX, &ts->serial)) <
		    0 ||
	    (e = rd_times(r, &ts->issued, &ts->expires)) < 0 ||
	    (e = rd_number(r, "keys", 1, SF_REPO_NUMBER_MAX, &ts->keyset)) <
		    0 ||
	    (e = rd_number(r, "index-size", 1, SF_REPO_INDEX_CAP,
			   &ts->index_size)) < 0 ||
	    (e = rd_hash(r, "index-hash", ts->index_hash)) < 0)
		return e;
	return rd_end(r);
}

int sf_repo_timestamp_parse(const struct sf_ctx *ctx, const char *name,
			    const char *text, size_t len,
			    struct sf_repo_timestamp *ret)
{
	struct sf_repo_timestamp ts = { .serial = 0 };
	struct rd r;
	int e;

	if ((e = rd_init(ctx, &r, name, SF_REPODOC_TIMESTAMP, text, len)) < 0 ||
	    (e = rd_magic(&r, SF_REPODOC_TIMESTAMP)) < 0 ||
	    (e = timestamp_fields(&r, &ts)) < 0 ||
	    (e = check_canonical(&r, timestamp_raw_v, &ts, text, len)) < 0)
		return e;
	*ret = ts;
	return 0;
}

/* ---- indexes ---- */

static int rd_full(struct rd *r, struct sf_repo_image *im)
{
	char *w[2];
	int e = rd_next(r, "full");

	if (e < 0)
		return e;
	if (!split_words(r->v, w, 2) || !number_parse(w[0], &im->size) ||
	    im->size == 0 || !hash_parse(w[1], im->hash))
		return bad(r, "%s: line %u: want \"full SIZE HASH\"", r->name,
			   r->line);
	return 0;
}

static int rd_delta(struct rd *r, const struct sf_repo_index *idx,
		    struct sf_repo_image *im)
{
	char *w[4];
	int cmp, e = rd_next(r, "delta");

	if (e < 0)
		return e;
	if (!split_words(r->v, w, 4) || !version_valid(w[0]) ||
	    !hash_parse(w[1], im->base_manifest) ||
	    !number_parse(w[2], &im->size) || im->size == 0 ||
	    !hash_parse(w[3], im->hash))
		return bad(r,
			   "%s: line %u: want \"delta BASE-VERSION "
			   "BASE-MANIFEST SIZE HASH\"",
			   r->name, r->line);
	strcpy(im->base_version, w[0]);
	sf_version_cmp_str(
		w[0], im == idx->deltas ? idx->version : im[-1].base_version,
		&cmp);
	if (cmp >= 0)
		return bad(r,
			   "%s: line %u: base version %s is not below %s "
			   "(deltas are listed highest base first, each "
			   "base below the version)",
			   r->name, r->line, w[0],
			   im == idx->deltas ? idx->version
					     : im[-1].base_version);
	return 0;
}

static int rd_floor(struct rd *r, struct sf_repo_index *idx)
{
	int cmp, e = rd_string(r, "floor", version_valid, VERSION_RULE,
			       idx->floor, sizeof(idx->floor));

	if (e < 0)
		return e;
	sf_version_cmp_str(idx->floor, idx->version, &cmp);
	if (cmp > 0)
		return bad(r, "%s: line %u: floor %s is above version %s",
			   r->name, r->line, idx->floor, idx->version);
	return 0;
}

static int index_fields(struct rd *r, struct sf_repo_index *idx)
{
	int e;

	if ((e = rd_string(r, "product", name_valid, NAME_RULE, idx->product,
			   sizeof(idx->product))) < 0 ||
	    (e = rd_string(r, "compatible", name_valid, NAME_RULE,
			   idx->compatible, sizeof(idx->compatible))) < 0 ||
	    (e = rd_string(r, "channel", sf_repo_channel_valid, CHANNEL_RULE,
			   idx->channel, sizeof(idx->channel))) < 0 ||
	    (e = rd_number(r, "serial", 1, SF_REPO_NUMBER_MAX, &idx->serial)) <
		    0 ||
	    (e = rd_times(r, &idx->issued, &idx->expires)) < 0 ||
	    (e = rd_string(r, "version", version_valid, VERSION_RULE,
			   idx->version, sizeof(idx->version))) < 0 ||
	    (e = rd_floor(r, idx)) < 0 ||
	    (e = rd_hash(r, "manifest", idx->manifest)) < 0 ||
	    (e = rd_full(r, &idx->full)) < 0)
		return e;
	while (rd_peek(r, "delta")) {
		if (idx->n_deltas == SF_REPO_MAX_DELTAS)
			return bad(r, "%s: more than %u deltas", r->name,
				   SF_REPO_MAX_DELTAS);
		e = rd_delta(r, idx, &idx->deltas[idx->n_deltas]);
		if (e < 0)
			return e;
		idx->n_deltas++;
	}
	return rd_end(r);
}

int sf_repo_index_parse(const struct sf_ctx *ctx, const char *name,
			const char *text, size_t len, struct sf_repo_index *ret)
{
	_cleanup_free_ struct sf_repo_index *idx = calloc(1, sizeof(*idx));
	struct rd r;
	int e;

	if (!idx)
		return -ENOMEM;
	if ((e = rd_init(ctx, &r, name, SF_REPODOC_INDEX, text, len)) < 0 ||
	    (e = rd_magic(&r, SF_REPODOC_INDEX)) < 0 ||
	    (e = index_fields(&r, idx)) < 0 ||
	    (e = check_canonical(&r, index_raw_v, idx, text, len)) < 0)
		return e;
	*ret = *idx;
	return 0;
}

/* ---- formatting, checked by the parser ---- */

union any_doc {
	struct sf_repo_keyset ks;
	struct sf_repo_timestamp ts;
	struct sf_repo_index idx;
};

/* Format with @raw, then parse the result: nothing a reader refuses. */
static int format_checked(const struct sf_ctx *ctx,
			  int (*raw)(const void *, char **, size_t *),
			  enum sf_repodoc_kind kind, const void *doc,
			  char **ret_text, size_t *ret_len)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ union any_doc *back = calloc(1, sizeof(*back));
	char name[32];
	size_t len;
	int e;

	if (!back || raw(doc, &text, &len) < 0)
		return -ENOMEM;
	snprintf(name, sizeof(name), "new %s document", kind_names[kind]);
	if (kind == SF_REPODOC_KEYS)
		e = sf_repo_keyset_parse(ctx, name, text, len, &back->ks);
	else if (kind == SF_REPODOC_TIMESTAMP)
		e = sf_repo_timestamp_parse(ctx, name, text, len, &back->ts);
	else
		e = sf_repo_index_parse(ctx, name, text, len, &back->idx);
	if (e < 0)
		return e == -ENOMEM ? e : -EBADMSG;
	*ret_text = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

int sf_repo_keyset_format(const struct sf_ctx *ctx,
			  const struct sf_repo_keyset *ks, char **ret_text,
			  size_t *ret_len)
{
	return format_checked(ctx, keyset_raw_v, SF_REPODOC_KEYS, ks, ret_text,
			      ret_len);
}

int sf_repo_timestamp_format(const struct sf_ctx *ctx,
			     const struct sf_repo_timestamp *ts,
			     char **ret_text, size_t *ret_len)
{
	return format_checked(ctx, timestamp_raw_v, SF_REPODOC_TIMESTAMP, ts,
			      ret_text, ret_len);
}

int sf_repo_index_format(const struct sf_ctx *ctx,
			 const struct sf_repo_index *idx, char **ret_text,
			 size_t *ret_len)
{
	return format_checked(ctx, index_raw_v, SF_REPODOC_INDEX, idx, ret_text,
			      ret_len);
}

/* ---- signatures ---- */

void sf_repo_comment(enum sf_repodoc_kind kind, const char *product,
		     const char *channel, uint64_t set, char *buf, size_t size)
{
	if (kind == SF_REPODOC_KEYS)
		snprintf(buf, size, MAGIC " keys product:%s set:%" PRIu64,
			 product, set);
	else
		snprintf(buf, size, MAGIC " %s product:%s channel:%s",
			 kind_names[kind], product, channel);
}

/* The signature texts in @sigs: 4 lines each. */
struct sigfile {
	unsigned n;
	struct ms_sig sig[SF_REPO_MAX_SIGS];
	/* Parsed and canonical: counts. */
	bool ok[SF_REPO_MAX_SIGS];
};

/* The length of the 4 lines at @p (before @end), or 0. */
static size_t four_lines(const char *p, const char *end)
{
	const char *q = p;

	for (unsigned i = 0; i < 4; i++) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));

		if (!nl)
			return 0;
		q = nl + 1;
	}
	return (size_t)(q - p);
}

static bool sig_canonical(const char *text, size_t len, struct ms_sig *sig)
{
	struct sf_ctx quiet = { .log_fn = NULL };
	_cleanup_free_ char *again = NULL;

	if (ms_sig_parse(&quiet, text, len, sig) < 0 ||
	    ms_sig_format(sig, &again) < 0)
		return false;
	return strlen(again) == len && !memcmp(again, text, len);
}

static int sigfile_parse(const struct sf_ctx *ctx, const char *name,
			 const char *sigs, size_t len, struct sigfile *sf)
{
	const char *p = sigs, *end = sigs + len;

	if (len > SF_REPO_SIGFILE_CAP)
		return sf_err(ctx, -EFBIG,
			      "%s: signatures: %zu bytes, at most %u", name,
			      len, SF_REPO_SIGFILE_CAP);
	if (len == 0 || memchr(sigs, '\0', len))
		return sf_err(ctx, -EBADMSG,
			      "%s: the signature file is empty or holds a NUL "
			      "byte",
			      name);
	sf->n = 0;
	while (p < end) {
		size_t n = four_lines(p, end);

		if (sf->n == SF_REPO_MAX_SIGS || n == 0)
			return sf_err(ctx, -EBADMSG,
				      "%s: the signature file is not 1 to %u "
				      "minisign signatures of 4 lines each",
				      name, SF_REPO_MAX_SIGS);
		sf->ok[sf->n] = sig_canonical(p, n, &sf->sig[sf->n]);
		sf->n++;
		p += n;
	}
	return 0;
}

/* Does a signature in @sf by @pk verify and carry @comment? */
static bool signed_by(const struct sigfile *sf, const struct ms_pubkey *pk,
		      const uint8_t *hash, const char *comment)
{
	struct sf_ctx quiet = { .log_fn = NULL };

	for (unsigned s = 0; s < sf->n; s++)
		if (sf->ok[s] &&
		    !memcmp(sf->sig[s].keyid, pk->keyid, MS_KEYID_BYTES) &&
		    !strcmp(sf->sig[s].trusted_comment, comment) &&
		    ms_sig_verify_prehashed(&quiet, &sf->sig[s], pk, hash) == 0)
			return true;
	return false;
}

static bool key_repeated(const struct sf_repo_keyset *ks, unsigned k)
{
	for (unsigned j = 0; j < k; j++)
		if (!memcmp(ks->keys[j].pk, ks->keys[k].pk, MS_PUBLICKEY_BYTES))
			return true;
	return false;
}

int sf_repo_check_sigs(const struct sf_ctx *ctx, const char *name,
		       const void *doc, size_t doc_len, const char *sigs,
		       size_t sigs_len, const struct sf_repo_keyset *ks,
		       const char *comment)
{
	_cleanup_free_ struct sigfile *sf = calloc(1, sizeof(*sf));
	uint8_t hash[MS_HASH_BYTES];
	unsigned good = 0;
	int e;

	if (!sf)
		return -ENOMEM;
	if (sodium_init() < 0)
		return sf_err(ctx, -EIO, "libsodium failed to initialise");
	if ((e = sigfile_parse(ctx, name, sigs, sigs_len, sf)) < 0)
		return e;
	ms_hash(doc, doc_len, hash);
	for (unsigned k = 0; k < ks->n_keys && k < SF_REPO_MAX_KEYS; k++)
		if (!key_repeated(ks, k) &&
		    signed_by(sf, &ks->keys[k], hash, comment))
			good++;
	if (good < ks->threshold || good == 0)
		return sf_err(ctx, -EKEYREJECTED,
			      "%s: valid signatures (trusted comment \"%s\") "
			      "by %u of the %u keys of key set %" PRIu64
			      ", %u required",
			      name, comment, good, ks->n_keys, ks->set,
			      ks->threshold);
	return (int)good;
}

static int keyset_follows(const struct sf_ctx *ctx, const char *name,
			  const struct sf_repo_keyset *cur,
			  const struct sf_repo_keyset *next)
{
	if (next->set != cur->set + 1)
		return sf_err(ctx, -EBADMSG,
			      "%s: key set %" PRIu64 " does not follow set "
			      "%" PRIu64,
			      name, next->set, cur->set);
	if (strcmp(next->product, cur->product) ||
	    strcmp(next->compatible, cur->compatible))
		return sf_err(ctx, -EBADMSG,
			      "%s: key set for %s/%s, the trusted one is for "
			      "%s/%s",
			      name, next->product, next->compatible,
			      cur->product, cur->compatible);
	return 0;
}

int sf_repo_keyset_accept(const struct sf_ctx *ctx, const char *name,
			  const struct sf_repo_keyset *cur, const char *text,
			  size_t len, const char *sigs, size_t sigs_len,
			  struct sf_repo_keyset *ret)
{
	_cleanup_free_ struct sf_repo_keyset *next = calloc(1, sizeof(*next));
	char comment[MS_TRUSTED_COMMENT_MAX];
	int e;

	if (!next)
		return -ENOMEM;
	if ((e = sf_repo_keyset_parse(ctx, name, text, len, next)) < 0 ||
	    (e = keyset_follows(ctx, name, cur, next)) < 0)
		return e;
	sf_repo_comment(SF_REPODOC_KEYS, next->product, NULL, next->set,
			comment, sizeof(comment));
	if ((e = sf_repo_check_sigs(ctx, name, text, len, sigs, sigs_len, cur,
				    comment)) < 0 ||
	    (e = sf_repo_check_sigs(ctx, name, text, len, sigs, sigs_len, next,
				    comment)) < 0)
		return e;
	*ret = *next;
	return 0;
}

/* ---- a device's checks ---- */

uint64_t sf_repo_clock(uint64_t rtc, uint64_t last_issued, uint64_t build_time)
{
	uint64_t now = rtc > last_issued ? rtc : last_issued;

	return now > build_time ? now : build_time;
}

static int check_fresh(const struct sf_ctx *ctx, const char *name,
		       uint64_t expires, uint64_t now)
{
	if (expires <= now)
		return sf_err(ctx, -ESTALE,
			      "%s: expired at %" PRIu64 " (now %" PRIu64
			      "): the repository is stale or frozen; the "
			      "server must run `slotflip-image repo refresh`",
			      name, expires, now);
	return 0;
}

static int check_field(const struct sf_ctx *ctx, const char *name,
		       const char *field, const char *got, const char *want)
{
	if (strcmp(got, want))
		return sf_err(ctx, -EBADMSG, "%s: %s %s, this device wants %s",
			      name, field, got, want);
	return 0;
}

static int check_serial(const struct sf_ctx *ctx, const char *name,
			uint64_t serial, uint64_t seen)
{
	if (serial < seen)
		return sf_err(ctx, -ERANGE,
			      "%s: serial %" PRIu64 " is below %" PRIu64
			      ", seen before: an old copy (rollback)",
			      name, serial, seen);
	return 0;
}

int sf_repo_timestamp_check(const struct sf_ctx *ctx, const char *name,
			    const struct sf_repo_timestamp *ts,
			    const char *product, const char *channel,
			    uint64_t keyset, const struct sf_repo_seen *seen,
			    uint64_t now)
{
	int e;

	if ((e = check_field(ctx, name, "product", ts->product, product)) < 0 ||
	    (e = check_field(ctx, name, "channel", ts->channel, channel)) < 0)
		return e;
	if (ts->keyset != keyset)
		return sf_err(ctx, -EBADMSG,
			      "%s: names key set %" PRIu64
			      ", the one in force is %" PRIu64,
			      name, ts->keyset, keyset);
	if (seen &&
	    (e = check_serial(ctx, name, ts->serial, seen->ts_serial)) < 0)
		return e;
	return check_fresh(ctx, name, ts->expires, now);
}

int sf_repo_index_bytes_check(const struct sf_ctx *ctx, const char *name,
			      const struct sf_repo_timestamp *ts,
			      const char *text, size_t len)
{
	uint8_t h[SF_HASH_BYTES];

	if (len != ts->index_size)
		return sf_err(ctx, -EBADMSG,
			      "%s: %zu bytes, the timestamp says %" PRIu64
			      " (mix-and-match or a damaged copy)",
			      name, len, ts->index_size);
	sf_repo_hash(text, len, h);
	if (sodium_memcmp(h, ts->index_hash, SF_HASH_BYTES))
		return sf_err(ctx, -EBADMSG,
			      "%s: its hash is not the one the timestamp "
			      "names (mix-and-match or a damaged copy)",
			      name);
	return 0;
}

static int check_floor(const struct sf_ctx *ctx, const char *name,
		       const struct sf_repo_index *idx, const char *floor)
{
	int cmp;

	if (!floor || !*floor || sf_version_cmp_str(idx->version, floor, &cmp))
		return 0;
	if (cmp < 0)
		return sf_err(ctx, -ERANGE,
			      "%s: version %s is below the floor %s seen "
			      "before (rollback)",
			      name, idx->version, floor);
	return 0;
}

int sf_repo_index_check(const struct sf_ctx *ctx, const char *name,
			const struct sf_repo_index *idx, const char *product,
			const char *compatible, const char *channel,
			const struct sf_repo_seen *seen, uint64_t now)
{
	int e;

	if ((e = check_field(ctx, name, "product", idx->product, product)) <
		    0 ||
	    (e = check_field(ctx, name, "compatible", idx->compatible,
			     compatible)) < 0 ||
	    (e = check_field(ctx, name, "channel", idx->channel, channel)) < 0)
		return e;
	if (seen && ((e = check_serial(ctx, name, idx->serial,
				       seen->index_serial)) < 0 ||
		     (e = check_floor(ctx, name, idx, seen->floor)) < 0))
		return e;
	return check_fresh(ctx, name, idx->expires, now);
}

/* ---- small helpers ---- */

void sf_repo_hex(const uint8_t *h, char out[SF_REPO_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < SF_HASH_BYTES; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * SF_HASH_BYTES] = '\0';
}

void sf_repo_hash(const void *buf, size_t len, uint8_t out[SF_HASH_BYTES])
{
	crypto_generichash(out, SF_HASH_BYTES, buf, len, NULL, 0);
}

int sf_repo_read_at(const struct sf_ctx *ctx, int dirfd, const char *path,
		    size_t cap, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = malloc(cap + 2);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	fd = open_regular_at(dirfd, path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return sf_err(ctx, fd, "cannot open %s: %s", path,
			      fd == -EINVAL ? "not a regular file"
					    : strerror(-fd));
	n = read_full(fd, buf, cap + 1);
	if (n < 0)
		return sf_err(ctx, (int)n, "cannot read %s: %s", path,
			      strerror((int)-n));
	if ((size_t)n > cap)
		return sf_err(ctx, -EFBIG, "%s: more than %zu bytes", path,
			      cap);
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return 0;
}
