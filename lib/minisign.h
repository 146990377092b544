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
/*
 * Highest scrypt limits ms_seckey_parse() accepts in a password-protected
 * key: four times what minisign writes (opslimit 2^25, memlimit 1 GiB).
 */
#define MS_KDF_OPSLIMIT_MAX (4ULL << 25)
#define MS_KDF_MEMLIMIT_MAX (4ULL << 30)

struct ms_pubkey {
	uint8_t keyid[MS_KEYID_BYTES];
	uint8_t pk[MS_PUBLICKEY_BYTES];
};

/* Wipe with ms_seckey_wipe() when done. */
struct ms_seckey {
	uint8_t keyid[MS_KEYID_BYTES];
	/* libsodium layout: seed (32) || public key (32). */
	uint8_t sk[MS_SECRETKEY_BYTES];
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
 * ms_seckey_parse - parse the text of a minisign secret key file.
 * @password: decrypts a password-protected ("Sc") key, used as given (no
 * newline stripping); may be NULL; ignored for unencrypted keys.
 * The checksum must match; an unencrypted key may instead carry an all-zero
 * checksum (minisign -G -W 0.11 writes those). The public half of the
 * secret key must match its seed.
 * Returns 0, -EINVAL (malformed, as for ms_pubkey_parse(), unknown kdf or
 * checksum algorithm, scrypt limits above MS_KDF_*_MAX), -EFBIG,
 * -EKEYREJECTED (password needed but NULL, or wrong password),
 * -EBADMSG (corrupt unencrypted key) or -ENOMEM (scrypt failed).
 */
int ms_seckey_parse(const struct sf_ctx *ctx, const char *text, size_t len,
		    const char *password, struct ms_seckey *ret);

/*
 * ms_seckey_parse_capped - ms_seckey_parse() with lower scrypt limits: a key
 * asking for more than @opslimit_max or @memlimit_max is refused (-EINVAL)
 * before any key derivation. For fuzzing and for memory-starved callers.
 */
int ms_seckey_parse_capped(const struct sf_ctx *ctx, const char *text,
			   size_t len, const char *password,
			   uint64_t opslimit_max, uint64_t memlimit_max,
			   struct ms_seckey *ret);

/*
 * ms_seckey_load - read and parse a secret key file, as ms_pubkey_load()
 * does. File permissions are the caller's business.
 * Returns 0, the errors of ms_seckey_parse() or of ms_pubkey_load().
 */
int ms_seckey_load(const struct sf_ctx *ctx, const char *path,
		   const char *password, struct ms_seckey *ret);

/*
 * ms_seckey_format - write the whole text of an unencrypted secret key file
 * (kdf "\0\0", correct checksum), loadable by minisign -S, NUL-terminated,
 * into @buf of @size bytes (MS_SECKEY_TEXT_SIZE suffices). @buf holds the
 * secret key: wipe it when done.
 * Returns 0 or -ENOBUFS (and @buf is wiped).
 */
int ms_seckey_format(const struct ms_seckey *sk, char *buf, size_t size);

/* ms_seckey_wipe - overwrite @sk with zeros (sodium_memzero). */
void ms_seckey_wipe(struct ms_seckey *sk);

/*
 * ms_keygen - make a new key pair with a random key id.
 * Returns 0 or -EIO (libsodium failed to initialise).
 */
int ms_keygen(struct ms_pubkey *ret_pk, struct ms_seckey *ret_sk);

/* ms_pubkey_from_seckey - the public key (and key id) of @sk. */
void ms_pubkey_from_seckey(const struct ms_seckey *sk, struct ms_pubkey *ret);

/*
 * ms_hash - BLAKE2b-512 of a message, what ms_sign_prehashed() signs.
 * Callers hashing a stream use crypto_generichash_init() with
 * MS_HASH_BYTES instead.
 */
void ms_hash(const void *msg, size_t len, uint8_t out[MS_HASH_BYTES]);

/*
 * ms_sign - sign @msg (@len bytes) in the prehashed "ED" format.
 * @trusted_comment: at most MS_TRUSTED_COMMENT_MAX bytes, no CR or LF;
 * NULL means empty.
 * @ret_text: the .minisig file text (untrusted comment "signature from
 * slotflip secret key"), NUL-terminated, malloc'd: free() it.
 * Returns 0, -EINVAL (bad trusted comment), -ENOMEM or -EIO.
 */
int ms_sign(const struct sf_ctx *ctx, const struct ms_seckey *sk,
	    const void *msg, size_t len, const char *trusted_comment,
	    char **ret_text);

/* ms_sign_prehashed - ms_sign() given the message's ms_hash(). */
int ms_sign_prehashed(const struct sf_ctx *ctx, const struct ms_seckey *sk,
		      const uint8_t hash[MS_HASH_BYTES],
		      const char *trusted_comment, char **ret_text);

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
