/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * minisign secret keys and signing (the formats are in minisign.h): key
 * generation, secret key files, signatures. Only the build server's tool
 * links this module; the device's programs verify with minisign.h alone.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "minisign.h"

/*
 * Highest scrypt limits ms_seckey_parse() accepts in a password-protected
 * key: four times what minisign writes (opslimit 2^25, memlimit 1 GiB).
 */
#define MS_KDF_OPSLIMIT_MAX (4ULL << 25)
#define MS_KDF_MEMLIMIT_MAX (4ULL << 30)

/* Wipe with ms_seckey_wipe() when done. */
struct ms_seckey {
	uint8_t keyid[MS_KEYID_BYTES];
	/* libsodium layout: seed (32) || public key (32). */
	uint8_t sk[MS_SECRETKEY_BYTES];
};

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
