/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ed25519 keys and signatures in minisign's file formats (via libsodium), so
 * that keys and signatures interoperate with the minisign tool both ways.
 *
 * Public key file:  "untrusted comment: ..." line, then base64 of
 *	"Ed" || key id (8) || Ed25519 public key (32)
 * Secret key file:  "untrusted comment: ..." line, then base64 of
 *	"Ed" || kdf ("Sc" or two zero bytes) || "B2" || salt (32) ||
 *	opslimit (8, LE) || memlimit (8, LE) ||
 *	key id (8) || Ed25519 secret key (64) || BLAKE2b-256 checksum (32)
 *	(the last 104 bytes XORed with scrypt(password) when kdf is "Sc")
 * Signature file:   "untrusted comment: ..." line, base64 of
 *	"ED" || key id (8) || Ed25519 signature of BLAKE2b-512(message) (64),
 *	"trusted comment: TEXT" line, base64 of the global signature: Ed25519
 *	over signature (64) || TEXT.
 *
 * Every function returns 0 on success or a negative errno, and reports what
 * went wrong through sf_err(ctx, ...). ret_ arguments are untouched on
 * failure. Text inputs may use CRLF line ends and may lack the final newline;
 * anything after the last expected line is refused.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define MS_KEYID_BYTES 8
#define MS_PUBLICKEY_BYTES 32
#define MS_SECRETKEY_BYTES 64
#define MS_SIGNATURE_BYTES 64
/* BLAKE2b-512 of the message: what an "ED" signature signs. */
#define MS_HASH_BYTES 64
/* Longest trusted comment, in bytes, without the "trusted comment: " prefix. */
#define MS_TRUSTED_COMMENT_MAX 1024
/* Longest key or signature text (and file) accepted, in bytes. */
#define MS_TEXT_MAX 4096
/* Buffer sizes that always suffice for ms_pubkey_format/ms_seckey_format. */
#define MS_PUBKEY_TEXT_SIZE 128
#define MS_SECKEY_TEXT_SIZE 320
struct ms_pubkey {
	uint8_t keyid[MS_KEYID_BYTES];
	uint8_t pk[MS_PUBLICKEY_BYTES];
};

struct ms_sig {
	/* Always "ED" (prehashed) after ms_sig_parse(). */
	uint8_t alg[2];
	uint8_t keyid[MS_KEYID_BYTES];
	uint8_t sig[MS_SIGNATURE_BYTES];
	/* NUL-terminated; covered by global_sig. */
	char trusted_comment[MS_TRUSTED_COMMENT_MAX + 1];
	uint8_t global_sig[MS_SIGNATURE_BYTES];
};

/*
 * ms_pubkey_parse - parse the text of a minisign public key file.
 * @text, @len: the file's contents (need not be NUL-terminated).
 * Returns 0, -EINVAL (malformed: missing line, no "untrusted comment: "
 * prefix, bad base64, wrong length, algorithm other than "Ed", trailing
 * data, NUL byte) or -EFBIG (@len above MS_TEXT_MAX).
 */
int ms_pubkey_parse(const struct sf_ctx *ctx, const char *text, size_t len,
		    struct ms_pubkey *ret);

/*
 * ms_pubkey_load - read and parse a public key file.
 * @path is used as given (callers add ctx->root where it applies). It must
 * name a regular file, not a symbolic link, of at most MS_TEXT_MAX bytes.
 * Returns 0, the errors of ms_pubkey_parse(), -ELOOP (symbolic link),
 * -EFBIG (too large), -EINVAL (not a regular file) or the open/read errno.
 */
int ms_pubkey_load(const struct sf_ctx *ctx, const char *path,
		   struct ms_pubkey *ret);

/*
 * ms_pubkey_format - write the whole text of a public key file, as minisign
 * writes it, NUL-terminated, into @buf of @size bytes
 * (MS_PUBKEY_TEXT_SIZE suffices).
 * Returns 0 or -ENOBUFS.
 */
int ms_pubkey_format(const struct ms_pubkey *pk, char *buf, size_t size);

/*
 * ms_hash - BLAKE2b-512 of a message, what ms_sign_prehashed() signs.
 * Callers hashing a stream use crypto_generichash_init() with
 * MS_HASH_BYTES instead.
 */
void ms_hash(const void *msg, size_t len, uint8_t out[MS_HASH_BYTES]);

/*
 * ms_sig_parse - parse the text of a .minisig file (4 lines).
 * Returns 0, -EINVAL (malformed, as for ms_pubkey_parse(); no
 * "trusted comment: " prefix; trusted comment over MS_TRUSTED_COMMENT_MAX
 * bytes; legacy "Ed" or unknown algorithm) or -EFBIG.
 */
int ms_sig_parse(const struct sf_ctx *ctx, const char *text, size_t len,
		 struct ms_sig *ret);

/*
 * ms_sig_format - the .minisig text of @sig exactly as ms_sign() writes it
 * (untrusted comment "signature from slotflip secret key"), malloc'd.
 * Returns 0 or -ENOMEM.
 */
int ms_sig_format(const struct ms_sig *sig, char **ret_text);

/* ms_sig_load - read and parse a .minisig file, as ms_pubkey_load() does. */
int ms_sig_load(const struct sf_ctx *ctx, const char *path, struct ms_sig *ret);

/*
 * ms_sig_verify - check that @sig signs @msg (@len bytes) with @pk, and that
 * its global signature covers its trusted comment. The key ids are compared
 * first.
 * Returns 0, -ENOKEY (signature made with another key id), -EBADMSG
 * (signature or global signature does not verify), -EINVAL (@sig has an
 * unsupported algorithm or an unterminated trusted comment) or -EIO.
 */
int ms_sig_verify(const struct sf_ctx *ctx, const struct ms_sig *sig,
		  const struct ms_pubkey *pk, const void *msg, size_t len);

/* ms_sig_verify_prehashed - ms_sig_verify() given the message's ms_hash(). */
int ms_sig_verify_prehashed(const struct sf_ctx *ctx, const struct ms_sig *sig,
			    const struct ms_pubkey *pk,
			    const uint8_t hash[MS_HASH_BYTES]);

/*
 * ms_keyid_hex - the key id as minisign prints it: 16 upper-case hex digits
 * of the 8 bytes read as a little-endian integer, NUL-terminated.
 */
void ms_keyid_hex(const uint8_t keyid[MS_KEYID_BYTES], char out[17]);
