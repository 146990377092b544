// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * minisign secret keys and signing: the build server's half of minisign
 * (lib/minisign.c has the device's half). See seckey.h.
 */
#include "seckey.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minisign-text.h"
#include "util.h"

#define KDF_ALG "Sc"
#define KDF_NONE "\0\0"
#define CHK_ALG "B2"
#define SECKEY_COMMENT "slotflip secret key (unencrypted)"
#define CHK_BYTES 32

/* Secret key; KEYNUM..end is what the password encrypts. */
enum {
	SK_KDF_ALG = ALG_BYTES,
	SK_CHK_ALG = SK_KDF_ALG + ALG_BYTES,
	SK_SALT = SK_CHK_ALG + ALG_BYTES,
	SK_OPSLIMIT = SK_SALT + crypto_pwhash_scryptsalsa208sha256_SALTBYTES,
	SK_MEMLIMIT = SK_OPSLIMIT + 8,
	SK_KEYNUM = SK_MEMLIMIT + 8,
	SK_KEYID = SK_KEYNUM,
	SK_SK = SK_KEYID + MS_KEYID_BYTES,
	SK_CHK = SK_SK + MS_SECRETKEY_BYTES,
	SK_BYTES = SK_CHK + CHK_BYTES,
};

_Static_assert(SK_BYTES == 158, "minisign secret key is 158 bytes");
_Static_assert(crypto_sign_SECRETKEYBYTES == MS_SECRETKEY_BYTES, "sk size");

/* Checksum of a secret key: BLAKE2b-256 of algorithm, key id, key. */
static void seckey_chk(const uint8_t *blob, uint8_t out[CHK_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CHK_BYTES);
	crypto_generichash_update(&st, blob, ALG_BYTES);
	crypto_generichash_update(&st, blob + SK_KEYID,
				  MS_KEYID_BYTES + MS_SECRETKEY_BYTES);
	crypto_generichash_final(&st, out, CHK_BYTES);
	sodium_memzero(&st, sizeof(st));
}

/* Lines and algorithms of a secret key text, decoded into @blob. */
static int seckey_decode(const struct sf_ctx *ctx, const char *name,
			 const char *text, size_t len, uint8_t *blob)
{
	int r = ms_read_key_text(ctx, name, text, len, "secret key", blob,
				 SK_BYTES);

	if (r < 0)
		return r;
	r = ms_check_alg(ctx, name, "checksum algorithm", blob + SK_CHK_ALG,
			 CHK_ALG);
	if (r < 0)
		return r;
	if (memcmp(blob + SK_KDF_ALG, KDF_NONE, ALG_BYTES) == 0)
		return 0;
	return ms_check_alg(ctx, name, "key derivation algorithm",
			    blob + SK_KDF_ALG, KDF_ALG);
}

/* XOR the key id, key and checksum with scrypt(@password). */
static int seckey_decrypt(const struct sf_ctx *ctx, const char *name,
			  uint8_t *blob, const char *password,
			  uint64_t opslimit_max, uint64_t memlimit_max)
{
	uint64_t ops = le64_load(blob + SK_OPSLIMIT);
	uint64_t mem = le64_load(blob + SK_MEMLIMIT);
	uint8_t stream[SK_BYTES - SK_KEYNUM];
	int r = 0;

	if (!password)
		return sf_err(
			ctx, -EKEYREJECTED,
			"%s is password-protected: give its password with --password-file",
			name);
	if (ops > opslimit_max || mem > memlimit_max || mem > SIZE_MAX)
		return sf_err(ctx, -EINVAL,
			      "%s: scrypt limits too high (opslimit %" PRIu64
			      ", memlimit %" PRIu64 "; at most %" PRIu64
			      " and %" PRIu64 ")",
			      name, ops, mem, opslimit_max, memlimit_max);
	if (crypto_pwhash_scryptsalsa208sha256(stream, sizeof(stream), password,
					       strlen(password), blob + SK_SALT,
					       ops, (size_t)mem) != 0)
		r = sf_err(ctx, -ENOMEM,
			   "%s: scrypt failed (memlimit %" PRIu64 ")", name,
			   mem);
	for (size_t i = 0; r == 0 && i < sizeof(stream); i++)
		blob[SK_KEYNUM + i] ^= stream[i];
	sodium_memzero(stream, sizeof(stream));
	return r;
}

/* The checksum, and the public half of the key against its seed. */
static int seckey_check(const struct sf_ctx *ctx, const char *name,
			const uint8_t *blob, bool encrypted)
{
	uint8_t chk[CHK_BYTES], pk[MS_PUBLICKEY_BYTES], sk[MS_SECRETKEY_BYTES];
	bool chk_ok, pk_ok;

	seckey_chk(blob, chk);
	chk_ok = sodium_memcmp(chk, blob + SK_CHK, CHK_BYTES) == 0;
	/* minisign -G -W (0.11) leaves the checksum of such keys zero. */
	if (!encrypted && sodium_is_zero(blob + SK_CHK, CHK_BYTES))
		chk_ok = true;
	crypto_sign_seed_keypair(pk, sk, blob + SK_SK);
	pk_ok = sodium_memcmp(pk, blob + SK_SK + 32, sizeof(pk)) == 0;
	sodium_memzero(chk, sizeof(chk));
	sodium_memzero(sk, sizeof(sk));
	if (!chk_ok && encrypted)
		return sf_err(ctx, -EKEYREJECTED,
			      "%s: wrong password or corrupt secret key", name);
	if (!chk_ok)
		return sf_err(ctx, -EBADMSG,
			      "%s: corrupt secret key (checksum mismatch)",
			      name);
	if (!pk_ok)
		return sf_err(
			ctx, -EBADMSG,
			"%s: corrupt secret key (public half does not match)",
			name);
	return 0;
}

static int seckey_parse(const struct sf_ctx *ctx, const char *name,
			const char *text, size_t len, const char *password,
			uint64_t opslimit_max, uint64_t memlimit_max,
			struct ms_seckey *ret)
{
	uint8_t blob[SK_BYTES];
	bool encrypted = false;
	int r;

	r = ms_sodium_ready(ctx);
	if (r >= 0)
		r = seckey_decode(ctx, name, text, len, blob);
	if (r >= 0) {
		encrypted = memcmp(blob + SK_KDF_ALG, KDF_ALG, ALG_BYTES) == 0;
		if (encrypted)
			r = seckey_decrypt(ctx, name, blob, password,
					   opslimit_max, memlimit_max);
	}
	if (r >= 0)
		r = seckey_check(ctx, name, blob, encrypted);
	if (r >= 0) {
		memcpy(ret->keyid, blob + SK_KEYID, MS_KEYID_BYTES);
		memcpy(ret->sk, blob + SK_SK, MS_SECRETKEY_BYTES);
	}
	sodium_memzero(blob, sizeof(blob));
	return r;
}

int ms_seckey_parse_capped(const struct sf_ctx *ctx, const char *text,
			   size_t len, const char *password,
			   uint64_t opslimit_max, uint64_t memlimit_max,
			   struct ms_seckey *ret)
{
	return seckey_parse(ctx, "secret key", text, len, password,
			    opslimit_max, memlimit_max, ret);
}

int ms_seckey_parse(const struct sf_ctx *ctx, const char *text, size_t len,
		    const char *password, struct ms_seckey *ret)
{
	return seckey_parse(ctx, "secret key", text, len, password,
			    MS_KDF_OPSLIMIT_MAX, MS_KDF_MEMLIMIT_MAX, ret);
}

int ms_seckey_load(const struct sf_ctx *ctx, const char *path,
		   const char *password, struct ms_seckey *ret)
{
	char name[PATH_MAX + 32], text[MS_TEXT_MAX + 1];
	size_t len;
	int r;

	snprintf(name, sizeof(name), "secret key %s", path);
	r = ms_read_small_file(ctx, name, path, text, &len);
	if (r >= 0)
		r = seckey_parse(ctx, name, text, len, password,
				 MS_KDF_OPSLIMIT_MAX, MS_KDF_MEMLIMIT_MAX, ret);
	sodium_memzero(text, sizeof(text));
	return r;
}

int ms_seckey_format(const struct ms_seckey *sk, char *buf, size_t size)
{
	uint8_t blob[SK_BYTES] = { 0 };
	char b64[B64_LEN(SK_BYTES)], id[17];
	int n;

	memcpy(blob, SIG_ALG, ALG_BYTES);
	memcpy(blob + SK_CHK_ALG, CHK_ALG, ALG_BYTES);
	memcpy(blob + SK_KEYID, sk->keyid, MS_KEYID_BYTES);
	memcpy(blob + SK_SK, sk->sk, MS_SECRETKEY_BYTES);
	seckey_chk(blob, blob + SK_CHK);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
	ms_keyid_hex(sk->keyid, id);
	n = snprintf(buf, size, UNTRUSTED_PREFIX SECKEY_COMMENT " %s\n%s\n", id,
		     b64);
	sodium_memzero(blob, sizeof(blob));
	sodium_memzero(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= size) {
		sodium_memzero(buf, size);
		return -ENOBUFS;
	}
	return 0;
}

void ms_seckey_wipe(struct ms_seckey *sk)
{
	sodium_memzero(sk, sizeof(*sk));
}

int ms_keygen(struct ms_pubkey *ret_pk, struct ms_seckey *ret_sk)
{
	struct ms_seckey sk;
	struct ms_pubkey pk;

	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(sk.keyid, sizeof(sk.keyid));
	if (crypto_sign_keypair(pk.pk, sk.sk) != 0) {
		ms_seckey_wipe(&sk);
		return -EIO;
	}
	memcpy(pk.keyid, sk.keyid, sizeof(sk.keyid));
	*ret_pk = pk;
	*ret_sk = sk;
	ms_seckey_wipe(&sk);
	return 0;
}

void ms_pubkey_from_seckey(const struct ms_seckey *sk, struct ms_pubkey *ret)
{
	memcpy(ret->keyid, sk->keyid, MS_KEYID_BYTES);
	crypto_sign_ed25519_sk_to_pk(ret->pk, sk->sk);
}

static int check_trusted_comment(const struct sf_ctx *ctx, const char *tc)
{
	size_t len = strnlen(tc, MS_TRUSTED_COMMENT_MAX + 1);

	if (len > MS_TRUSTED_COMMENT_MAX)
		return sf_err(ctx, -EINVAL,
			      "trusted comment too long (more than %d bytes)",
			      MS_TRUSTED_COMMENT_MAX);
	if (strpbrk(tc, "\r\n"))
		return sf_err(ctx, -EINVAL,
			      "trusted comment must be one line (no CR or LF)");
	return 0;
}

int ms_sign_prehashed(const struct sf_ctx *ctx, const struct ms_seckey *sk,
		      const uint8_t hash[MS_HASH_BYTES],
		      const char *trusted_comment, char **ret_text)
{
	uint8_t blob[SIG_BYTES], global[MS_SIGNATURE_BYTES];
	uint8_t gmsg[MS_SIGNATURE_BYTES + MS_TRUSTED_COMMENT_MAX];
	const char *tc = trusted_comment ? trusted_comment : "";
	size_t glen;
	int r;

	r = ms_sodium_ready(ctx);
	if (r < 0)
		return r;
	r = check_trusted_comment(ctx, tc);
	if (r < 0)
		return r;
	memcpy(blob, SIG_ALG_HASHED, ALG_BYTES);
	memcpy(blob + SIG_KEYID, sk->keyid, MS_KEYID_BYTES);
	crypto_sign_detached(blob + SIG_SIG, NULL, hash, MS_HASH_BYTES, sk->sk);
	glen = ms_global_msg(blob + SIG_SIG, tc, gmsg);
	crypto_sign_detached(global, NULL, gmsg, glen, sk->sk);
	r = ms_sig_text(blob, tc, global, ret_text);
	if (r < 0)
		return sf_err(ctx, r, "cannot format a signature: %s",
			      strerror(-r));
	return 0;
}

int ms_sign(const struct sf_ctx *ctx, const struct ms_seckey *sk,
	    const void *msg, size_t len, const char *trusted_comment,
	    char **ret_text)
{
	uint8_t hash[MS_HASH_BYTES];
	int r;

	r = ms_sodium_ready(ctx);
	if (r < 0)
		return r;
	ms_hash(msg, len, hash);
	return ms_sign_prehashed(ctx, sk, hash, trusted_comment, ret_text);
}
