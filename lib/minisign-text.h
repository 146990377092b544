/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What lib/minisign.c (public keys, signatures) and lib/seckey.c (secret
 * keys, signing) share: the files' fixed strings and layouts, and the
 * reader of their lines. Not for use outside these two modules.
 */
#pragma once

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "minisign.h"

#define ALG_BYTES 2
#define SIG_ALG "Ed"
#define SIG_ALG_HASHED "ED"
#define KDF_ALG "Sc"
#define KDF_NONE "\0\0"
#define CHK_ALG "B2"
#define UNTRUSTED "untrusted comment"
#define TRUSTED "trusted comment"
#define UNTRUSTED_PREFIX UNTRUSTED ": "
#define TRUSTED_PREFIX TRUSTED ": "
/* minisign reads comment lines into 1024-byte buffers. */
#define UNTRUSTED_COMMENT_MAX 1024
#define SIG_COMMENT "signature from slotflip secret key"
#define SECKEY_COMMENT "slotflip secret key (unencrypted)"
#define CHK_BYTES 32
#define B64_LEN(n)                                                             \
	(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL))

/* Public key: algorithm, key id, public key. */
enum {
	PK_KEYID = ALG_BYTES,
	PK_PK = PK_KEYID + MS_KEYID_BYTES,
	PK_BYTES = PK_PK + MS_PUBLICKEY_BYTES,
};

/* Signature line: algorithm, key id, signature. */
enum {
	SIG_KEYID = ALG_BYTES,
	SIG_SIG = SIG_KEYID + MS_KEYID_BYTES,
	SIG_BYTES = SIG_SIG + MS_SIGNATURE_BYTES,
};

/* The lines of a key or signature text, consumed one by one. */
struct lines {
	/* "public key FILE" etc., to start messages with. */
	const char *name;
	const char *p;
	const char *end;
	unsigned int n;
};

struct span {
	const char *s;
	size_t len;
};

int ms_sodium_ready(const struct sf_ctx *ctx);

/* Start reading @text (@len bytes); @name starts every message. */
int ms_lines_init(const struct sf_ctx *ctx, struct lines *l, const char *name,
		  const char *text, size_t len);
/* All lines were read: nothing may follow. */
int ms_lines_end(const struct sf_ctx *ctx, const struct lines *l);
/* A comment line "@what: ..." of at most @max bytes, into @ret (or NULL). */
int ms_read_comment(const struct sf_ctx *ctx, struct lines *l, const char *what,
		    size_t max, struct span *ret);
/* A base64 line that must decode to exactly @size bytes. */
int ms_read_base64(const struct sf_ctx *ctx, struct lines *l, const char *what,
		   uint8_t *out, size_t size);
/* The 2-byte algorithm @alg must be @want; @what names it in messages. */
int ms_check_alg(const struct sf_ctx *ctx, const char *name, const char *what,
		 const uint8_t *alg, const char *want);
/*
 * The text of a key file: an untrusted comment line, then one base64 line
 * of exactly @size bytes (@what names it) into @blob, nothing after it,
 * and the "Ed" signature algorithm at its start.
 */
int ms_read_key_text(const struct sf_ctx *ctx, const char *name,
		     const char *text, size_t len, const char *what,
		     uint8_t *blob, size_t size);
/*
 * The whole of @path (a regular file, no link, at most MS_TEXT_MAX bytes;
 * opened so that a FIFO cannot block) into @buf of MS_TEXT_MAX + 1 bytes.
 */
int ms_read_small_file(const struct sf_ctx *ctx, const char *name,
		       const char *path, char *buf, size_t *ret_len);
/*
 * The message of the global signature: signature || trusted comment, into
 * @out of MS_SIGNATURE_BYTES + MS_TRUSTED_COMMENT_MAX bytes.
 */
size_t ms_global_msg(const uint8_t *sig, const char *tc, uint8_t *out);
/* The .minisig text of a signature line @blob, @tc and @global, malloc'd. */
int ms_sig_text(const uint8_t *blob, const char *tc, const uint8_t *global,
		char **ret_text);
