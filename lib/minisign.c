// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * minisign key and signature files. The on-disk layouts are byte arrays with
 * the offsets below; see minisign.h for the formats.
 */
#include "minisign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "minisign-text.h"
#include "util.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == MS_PUBLICKEY_BYTES, "pk size");
_Static_assert(crypto_sign_BYTES == MS_SIGNATURE_BYTES, "signature size");

int ms_sodium_ready(const struct sf_ctx *ctx)
{
	if (sodium_init() < 0)
		return sf_err(ctx, -EIO, "libsodium failed to initialise");
	return 0;
}

/* An algorithm tag for messages: "Ed" if printable, else hex. */
static const char *alg_str(const uint8_t *alg, char out[8])
{
	if (alg[0] > ' ' && alg[0] < 0x7f && alg[1] > ' ' && alg[1] < 0x7f)
		snprintf(out, 8, "\"%c%c\"", alg[0], alg[1]);
	else
		snprintf(out, 8, "0x%02x%02x", alg[0], alg[1]);
	return out;
}

int ms_lines_init(const struct sf_ctx *ctx, struct lines *l, const char *name,
		  const char *text, size_t len)
{
	if (len > MS_TEXT_MAX)
		return sf_err(ctx, -EFBIG,
			      "%s: too large (%zu bytes, at most %d)", name,
			      len, MS_TEXT_MAX);
	if (!text)
		text = "";
	if (memchr(text, '\0', len))
		return sf_err(ctx, -EINVAL, "%s: contains a NUL byte", name);
	*l = (struct lines){ .name = name, .p = text, .end = text + len };
	return 0;
}

/* The next line, without its "\n" or "\r\n". */
static int next_line(const struct sf_ctx *ctx, struct lines *l,
		     const char *what, struct span *ret)
{
	const char *nl;
	size_t len;

	if (l->p >= l->end)
		return sf_err(ctx, -EINVAL, "%s: line %u (%s) is missing",
			      l->name, l->n + 1, what);
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	len = (size_t)((nl ? nl : l->end) - l->p);
	if (len > 0 && l->p[len - 1] == '\r')
		len--;
	*ret = (struct span){ l->p, len };
	l->p = nl ? nl + 1 : l->end;
	l->n++;
	return 0;
}

int ms_lines_end(const struct sf_ctx *ctx, const struct lines *l)
{
	if (l->p != l->end)
		return sf_err(ctx, -EINVAL, "%s: unexpected data after line %u",
			      l->name, l->n);
	return 0;
}

/*
 * A comment line: @prefix ("@what: "), then at most @max bytes, returned in
 * @ret.
 */
int ms_read_comment(const struct sf_ctx *ctx, struct lines *l, const char *what,
		    size_t max, struct span *ret)
{
	char prefix[32];
	size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "%s: ", what);
	struct span s;
	int r;

	r = next_line(ctx, l, what, &s);
	if (r < 0)
		return r;
	if (s.len < plen || memcmp(s.s, prefix, plen) != 0)
		return sf_err(ctx, -EINVAL,
			      "%s: line %u does not start with \"%s\"", l->name,
			      l->n, prefix);
	if (s.len - plen > max)
		return sf_err(
			ctx, -EINVAL,
			"%s: line %u: comment too long (%zu bytes, at most %zu)",
			l->name, l->n, s.len - plen, max);
	if (ret)
		*ret = (struct span){ s.s + plen, s.len - plen };
	return 0;
}

/* A base64 line that must decode to exactly @size bytes. */
int ms_read_base64(const struct sf_ctx *ctx, struct lines *l, const char *what,
		   uint8_t *out, size_t size)
{
	size_t want = B64_LEN(size) - 1, bin_len;
	struct span s;
	int r;

	r = next_line(ctx, l, what, &s);
	if (r < 0)
		return r;
	if (s.len != want)
		return sf_err(
			ctx, -EINVAL,
			"%s: line %u (%s): wrong length (%zu base64 characters, want %zu)",
			l->name, l->n, what, s.len, want);
	if (sodium_base642bin(out, size, s.s, s.len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return sf_err(ctx, -EINVAL, "%s: line %u (%s): invalid base64",
			      l->name, l->n, what);
	if (bin_len != size)
		return sf_err(
			ctx, -EINVAL,
			"%s: line %u (%s): wrong length (%zu bytes, want %zu)",
			l->name, l->n, what, bin_len, size);
	return 0;
}

int ms_check_alg(const struct sf_ctx *ctx, const char *name, const char *what,
		 const uint8_t *alg, const char *want)
{
	char buf[8];

	if (memcmp(alg, want, ALG_BYTES) == 0)
		return 0;
	return sf_err(ctx, -EINVAL, "%s: unsupported %s %s (want \"%s\")", name,
		      what, alg_str(alg, buf), want);
}

/*
 * Open @path for reading, refusing symbolic links and anything but a
 * regular file of at most MS_TEXT_MAX bytes. O_NONBLOCK keeps a FIFO from
 * blocking the open.
 */
static int open_small_file(const struct sf_ctx *ctx, const char *name,
			   const char *path)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			return sf_err(ctx, r, "%s is a symbolic link: refused",
				      name);
		return sf_err(ctx, r, "cannot open %s: %s", name, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		return sf_err(ctx, r, "cannot stat %s: %s", name, strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return sf_err(ctx, -EINVAL, "%s is not a regular file", name);
	if (st.st_size > MS_TEXT_MAX)
		return sf_err(ctx, -EFBIG,
			      "%s is too large (%lld bytes, at most %d)", name,
			      (long long)st.st_size, MS_TEXT_MAX);
	return TAKE_FD(fd);
}

/* Read the whole of @path into @buf (MS_TEXT_MAX + 1 bytes). */
int ms_read_small_file(const struct sf_ctx *ctx, const char *name,
		       const char *path, char *buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;

	fd = open_small_file(ctx, name, path);
	if (fd < 0)
		return fd;
	/* One byte more than allowed, to notice a file that grew. */
	while (len <= MS_TEXT_MAX) {
		n = read(fd, buf + len, MS_TEXT_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sf_err(ctx, -errno, "cannot read %s: %s", name,
				      strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > MS_TEXT_MAX)
		return sf_err(ctx, -EFBIG,
			      "%s is too large (more than %d bytes)", name,
			      MS_TEXT_MAX);
	*ret_len = len;
	return 0;
}

void ms_keyid_hex(const uint8_t keyid[MS_KEYID_BYTES], char out[17])
{
	snprintf(out, 17, "%016" PRIX64, le64_load(keyid));
}

int ms_read_key_text(const struct sf_ctx *ctx, const char *name,
		     const char *text, size_t len, const char *what,
		     uint8_t *blob, size_t size)
{
	struct lines l;
	int r;

	r = ms_lines_init(ctx, &l, name, text, len);
	if (r < 0)
		return r;
	r = ms_read_comment(ctx, &l, UNTRUSTED, UNTRUSTED_COMMENT_MAX, NULL);
	if (r < 0)
		return r;
	r = ms_read_base64(ctx, &l, what, blob, size);
	if (r < 0)
		return r;
	r = ms_lines_end(ctx, &l);
	if (r < 0)
		return r;
	return ms_check_alg(ctx, name, "signature algorithm", blob, SIG_ALG);
}

/* Parsing of a public key text; @name starts messages. */
static int pubkey_parse(const struct sf_ctx *ctx, const char *name,
			const char *text, size_t len, struct ms_pubkey *ret)
{
	uint8_t blob[PK_BYTES];
	int r = ms_read_key_text(ctx, name, text, len, "public key", blob,
				 sizeof(blob));

	if (r < 0)
		return r;
	memcpy(ret->keyid, blob + PK_KEYID, MS_KEYID_BYTES);
	memcpy(ret->pk, blob + PK_PK, MS_PUBLICKEY_BYTES);
	return 0;
}

int ms_pubkey_parse(const struct sf_ctx *ctx, const char *text, size_t len,
		    struct ms_pubkey *ret)
{
	return pubkey_parse(ctx, "public key", text, len, ret);
}

int ms_pubkey_load(const struct sf_ctx *ctx, const char *path,
		   struct ms_pubkey *ret)
{
	char name[PATH_MAX + 32], text[MS_TEXT_MAX + 1];
	size_t len;
	int r;

	snprintf(name, sizeof(name), "public key %s", path);
	r = ms_read_small_file(ctx, name, path, text, &len);
	if (r < 0)
		return r;
	return pubkey_parse(ctx, name, text, len, ret);
}

int ms_pubkey_format(const struct ms_pubkey *pk, char *buf, size_t size)
{
	uint8_t blob[PK_BYTES];
	char b64[B64_LEN(PK_BYTES)], id[17];
	int n;

	memcpy(blob, SIG_ALG, ALG_BYTES);
	memcpy(blob + PK_KEYID, pk->keyid, MS_KEYID_BYTES);
	memcpy(blob + PK_PK, pk->pk, MS_PUBLICKEY_BYTES);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
	ms_keyid_hex(pk->keyid, id);
	n = snprintf(buf, size, UNTRUSTED_PREFIX "minisign public key %s\n%s\n",
		     id, b64);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return 0;
}

void ms_hash(const void *msg, size_t len, uint8_t out[MS_HASH_BYTES])
{
	crypto_generichash(out, MS_HASH_BYTES, msg, len, NULL, 0);
}

/*
 * The message of the global signature: signature || trusted comment, into
 * @out of MS_SIGNATURE_BYTES + MS_TRUSTED_COMMENT_MAX bytes.
 */
size_t ms_global_msg(const uint8_t *sig, const char *tc, uint8_t *out)
{
	size_t len = strlen(tc);

	memcpy(out, sig, MS_SIGNATURE_BYTES);
	memcpy(out + MS_SIGNATURE_BYTES, tc, len);
	return MS_SIGNATURE_BYTES + len;
}

#define SIG_TEXT_FMT                                                           \
	UNTRUSTED_PREFIX SIG_COMMENT "\n%s\n" TRUSTED_PREFIX "%s\n%s\n"

int ms_sig_text(const uint8_t *blob, const char *tc, const uint8_t *global,
		char **ret_text)
{
	char b64[B64_LEN(SIG_BYTES)], gb64[B64_LEN(MS_SIGNATURE_BYTES)];
	char *text;
	int n;

	sodium_bin2base64(b64, sizeof(b64), blob, SIG_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(gb64, sizeof(gb64), global, MS_SIGNATURE_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(NULL, 0, SIG_TEXT_FMT, b64, tc, gb64);
	if (n < 0)
		return -EINVAL;
	text = malloc((size_t)n + 1);
	if (!text)
		return -ENOMEM;
	snprintf(text, (size_t)n + 1, SIG_TEXT_FMT, b64, tc, gb64);
	*ret_text = text;
	return 0;
}

static int sig_check_alg(const struct sf_ctx *ctx, const char *name,
			 const uint8_t *alg)
{
	if (memcmp(alg, SIG_ALG, ALG_BYTES) == 0)
		return sf_err(
			ctx, -EINVAL,
			"%s: legacy signature (algorithm \"Ed\", not prehashed) refused: sign without minisign -l",
			name);
	return ms_check_alg(ctx, name, "signature algorithm", alg,
			    SIG_ALG_HASHED);
}

/* The four lines of a signature, into @sig. */
static int sig_read(const struct sf_ctx *ctx, struct lines *l,
		    struct ms_sig *sig)
{
	uint8_t blob[SIG_BYTES];
	struct span tc;
	int r;

	r = ms_read_comment(ctx, l, UNTRUSTED, UNTRUSTED_COMMENT_MAX, NULL);
	if (r < 0)
		return r;
	r = ms_read_base64(ctx, l, "signature", blob, sizeof(blob));
	if (r < 0)
		return r;
	r = sig_check_alg(ctx, l->name, blob);
	if (r < 0)
		return r;
	r = ms_read_comment(ctx, l, TRUSTED, MS_TRUSTED_COMMENT_MAX, &tc);
	if (r < 0)
		return r;
	r = ms_read_base64(ctx, l, "global signature", sig->global_sig,
			   sizeof(sig->global_sig));
	if (r < 0)
		return r;
	memcpy(sig->alg, blob, ALG_BYTES);
	memcpy(sig->keyid, blob + SIG_KEYID, MS_KEYID_BYTES);
	memcpy(sig->sig, blob + SIG_SIG, MS_SIGNATURE_BYTES);
	memcpy(sig->trusted_comment, tc.s, tc.len);
	sig->trusted_comment[tc.len] = '\0';
	return ms_lines_end(ctx, l);
}

static int sig_parse(const struct sf_ctx *ctx, const char *name,
		     const char *text, size_t len, struct ms_sig *ret)
{
	struct ms_sig sig;
	struct lines l;
	int r;

	r = ms_lines_init(ctx, &l, name, text, len);
	if (r < 0)
		return r;
	r = sig_read(ctx, &l, &sig);
	if (r < 0)
		return r;
	*ret = sig;
	return 0;
}

int ms_sig_parse(const struct sf_ctx *ctx, const char *text, size_t len,
		 struct ms_sig *ret)
{
	return sig_parse(ctx, "signature", text, len, ret);
}

int ms_sig_load(const struct sf_ctx *ctx, const char *path, struct ms_sig *ret)
{
	char name[PATH_MAX + 32], text[MS_TEXT_MAX + 1];
	size_t len;
	int r;

	snprintf(name, sizeof(name), "signature %s", path);
	r = ms_read_small_file(ctx, name, path, text, &len);
	if (r < 0)
		return r;
	return sig_parse(ctx, name, text, len, ret);
}

int ms_sig_verify_prehashed(const struct sf_ctx *ctx, const struct ms_sig *sig,
			    const struct ms_pubkey *pk,
			    const uint8_t hash[MS_HASH_BYTES])
{
	uint8_t gmsg[MS_SIGNATURE_BYTES + MS_TRUSTED_COMMENT_MAX];
	char sig_id[17], pk_id[17];
	size_t glen;
	int r;

	r = ms_sodium_ready(ctx);
	if (r < 0)
		return r;
	r = sig_check_alg(ctx, "signature", sig->alg);
	if (r < 0)
		return r;
	if (!memchr(sig->trusted_comment, '\0', sizeof(sig->trusted_comment)))
		return sf_err(ctx, -EINVAL,
			      "signature: trusted comment is not terminated");
	ms_keyid_hex(sig->keyid, sig_id);
	ms_keyid_hex(pk->keyid, pk_id);
	if (memcmp(sig->keyid, pk->keyid, MS_KEYID_BYTES) != 0)
		return sf_err(
			ctx, -ENOKEY,
			"signature was made with key %s, but the public key is %s",
			sig_id, pk_id);
	r = crypto_sign_verify_detached(sig->sig, hash, MS_HASH_BYTES, pk->pk);
	if (r != 0)
		return sf_err(
			ctx, -EBADMSG,
			"signature verification failed with key %s: data or signature modified",
			pk_id);
	glen = ms_global_msg(sig->sig, sig->trusted_comment, gmsg);
	r = crypto_sign_verify_detached(sig->global_sig, gmsg, glen, pk->pk);
	if (r != 0)
		return sf_err(
			ctx, -EBADMSG,
			"trusted comment signature verification failed with key %s",
			pk_id);
	return 0;
}

int ms_sig_verify(const struct sf_ctx *ctx, const struct ms_sig *sig,
		  const struct ms_pubkey *pk, const void *msg, size_t len)
{
	uint8_t hash[MS_HASH_BYTES];
	int r;

	r = ms_sodium_ready(ctx);
	if (r < 0)
		return r;
	ms_hash(msg, len, hash);
	return ms_sig_verify_prehashed(ctx, sig, pk, hash);
}

int ms_sig_format(const struct ms_sig *sig, char **ret_text)
{
	uint8_t blob[SIG_BYTES];

	memcpy(blob, sig->alg, ALG_BYTES);
	memcpy(blob + SIG_KEYID, sig->keyid, MS_KEYID_BYTES);
	memcpy(blob + SIG_SIG, sig->sig, MS_SIGNATURE_BYTES);
	return ms_sig_text(blob, sig->trusted_comment, sig->global_sig,
			   ret_text);
}
