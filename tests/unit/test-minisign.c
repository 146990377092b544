// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/minisign.c: round trips, forgeries, malformed input, password-protected
 * keys, and interoperation with the real minisign binary both ways.
 */
#include "minisign.h"
#include "seckey.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "util.h"

#define MINISIGN "/usr/bin/minisign"

/* Made by minisign 0.11: `minisign -G -W`, then -S -t "my comment" of MSG. */
#define VEC_PUB                                                                \
	"untrusted comment: minisign public key F5104028E79D833F\n"            \
	"RWQ/g53nKEAQ9Yuf/FGTNLPaAQhOL65eMdO+FLdrf/SLntLd8OipM23p\n"
#define VEC_MSG "hello\n"
#define VEC_SIG                                                                \
	"untrusted comment: signature from minisign secret key\n"              \
	"RUQ/g53nKEAQ9eT6OaryBwBQkE9oXqzpEEk4GnegXjS2J36+wR5Y4X5qkMoViVFgxbu"  \
	"IXzfSR2NPyTxnJ34B+uLGCDz7ZlMT+gI=\n"                                  \
	"trusted comment: my comment\n"                                        \
	"lYmxNz+hPAO+w7PQWDojKvVEaQeYmIyHP4R7ufK3eOcNZ3NXsmyZltPzT9tEaBY5bz/"  \
	"Jk0YeXjpeOTjWrfn4CA==\n"
/* The same key and message, signed with minisign -S -l (legacy "Ed"). */
#define VEC_LEGACY_SIG                                                         \
	"untrusted comment: signature from minisign secret key\n"              \
	"RWQ/g53nKEAQ9dOoyGFdciZTx+utwHcX6GBN+DqoOethY1PTBGqiu+5KtaAnnpPacg9"  \
	"7Yi/RHGt4aUfeDFb+aULGl0HXHMvVjwc=\n"                                  \
	"trusted comment: timestamp:1795360207\tfile:msg\n"                    \
	"h6ZfK7g825qc9fdCYX2DYr+IBAgtlmpCUbP8/PQ1oHg4XE+DRWS+Hjh9P8ehq/mvNYF"  \
	"Jib+yS+DPQQ1qqctRBA==\n"

/* The key id of VEC_PUB, as stored (little-endian). */
static const uint8_t vec_keyid[8] = { 0x3f, 0x83, 0x9d, 0xe7,
				      0x28, 0x40, 0x10, 0xf5 };

/* Offsets in the decoded base64 lines. */
#define SIG_OFF_KEYID 2
#define SIG_OFF_SIG 10
#define SK_OFF_KDF 2
#define SK_OFF_CHKALG 4
#define SK_OFF_SALT 6
#define SK_OFF_OPS 38
#define SK_OFF_MEM 46
#define SK_OFF_KEYNUM 54
#define SK_OFF_SK 62
#define SK_OFF_CHK 126
#define SK_BYTES 158

static void reset_log(void)
{
	test_log_buf[0] = '\0';
}

static void need_minisign(void)
{
	if (access(MINISIGN, X_OK) != 0)
		test_skip("minisign not installed");
}

/* Run a shell command; its exit status, or -1 if it did not exit. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fprintf(stderr, "  run: %s\n", cmd);
	status = system(cmd);
	if (status < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void write_text(const char *path, const char *text)
{
	test_write_file(path, text, strlen(text));
}

/* [start, end) of line @n (1-based) of @text; the line must exist. */
static void find_line(const char *text, int n, size_t *start, size_t *end)
{
	const char *p = text;

	for (int i = 1; i < n; i++) {
		p = strchr(p, '\n');
		if (!p)
			test_fail(__FILE__, __LINE__, "no line %d", n);
		p++;
	}
	*start = (size_t)(p - text);
	*end = *start + strcspn(p, "\r\n");
}

/* A malloc'd copy of @text with line @n replaced by @repl. */
static char *replace_line(const char *text, int n, const char *repl)
{
	size_t start, end;
	char *out;

	find_line(text, n, &start, &end);
	if (asprintf(&out, "%.*s%s%s", (int)start, text, repl, text + end) < 0)
		abort();
	return out;
}

/* Decode base64 line @n of @text into @out; its length. */
static size_t line_bytes(const char *text, int n, uint8_t *out, size_t size)
{
	size_t start, end, len;

	find_line(text, n, &start, &end);
	CHECK(sodium_base642bin(out, size, text + start, end - start, NULL,
				&len, NULL,
				sodium_base64_VARIANT_ORIGINAL) == 0);
	return len;
}

/* A malloc'd copy of @text with line @n set to base64 of @bin. */
static char *replace_bytes(const char *text, int n, const uint8_t *bin,
			   size_t len)
{
	char b64[1024];

	sodium_bin2base64(b64, sizeof(b64), bin, len,
			  sodium_base64_VARIANT_ORIGINAL);
	return replace_line(text, n, b64);
}

/* A malloc'd copy of @text with byte @off of base64 line @n XORed by @x. */
static char *flip(const char *text, int n, size_t off, uint8_t x)
{
	uint8_t bin[512];
	size_t len = line_bytes(text, n, bin, sizeof(bin));

	CHECK(off < len);
	bin[off] ^= x;
	return replace_bytes(text, n, bin, len);
}

static void keygen(struct ms_pubkey *pk, struct ms_seckey *sk)
{
	CHECK_EQ(ms_keygen(pk, sk), 0);
}

static char *sign(const struct ms_seckey *sk, const char *msg, const char *tc)
{
	char *text = NULL;

	CHECK_EQ(ms_sign(&test_ctx, sk, msg, strlen(msg), tc, &text), 0);
	CHECK(text);
	return text;
}

static int verify_text(const char *sigtext, const struct ms_pubkey *pk,
		       const char *msg)
{
	struct ms_sig sig;
	int r;

	r = ms_sig_parse(&test_ctx, sigtext, strlen(sigtext), &sig);
	if (r < 0)
		return r;
	return ms_sig_verify(&test_ctx, &sig, pk, msg, strlen(msg));
}

static void vec_pubkey(struct ms_pubkey *pk)
{
	CHECK_EQ(ms_pubkey_parse(&test_ctx, VEC_PUB, strlen(VEC_PUB), pk), 0);
}

/* The checksum minisign defines for a decoded secret key. */
static void sk_chk(const uint8_t *blob, uint8_t out[32])
{
	uint8_t in[2 + 8 + 64];

	memcpy(in, blob, 2);
	memcpy(in + 2, blob + SK_OFF_KEYNUM, 72);
	crypto_generichash(out, 32, in, sizeof(in), NULL, 0);
}

/*
 * A password-protected secret key text for @sk, written here independently
 * of the library: "Sc" kdf, key id || sk || chk XORed with scrypt output.
 */
static void encrypted_seckey(const struct ms_seckey *sk, const char *pw,
			     uint64_t ops, uint64_t mem, char *buf, size_t size)
{
	uint8_t blob[SK_BYTES] = "EdScB2", stream[104];
	char b64[300];

	randombytes_buf(blob + SK_OFF_SALT, 32);
	le64_store(blob + SK_OFF_OPS, ops);
	le64_store(blob + SK_OFF_MEM, mem);
	memcpy(blob + SK_OFF_KEYNUM, sk->keyid, 8);
	memcpy(blob + SK_OFF_SK, sk->sk, 64);
	sk_chk(blob, blob + SK_OFF_CHK);
	CHECK(crypto_pwhash_scryptsalsa208sha256(stream, sizeof(stream), pw,
						 strlen(pw), blob + SK_OFF_SALT,
						 ops, mem) == 0);
	for (size_t i = 0; i < sizeof(stream); i++)
		blob[SK_OFF_KEYNUM + i] ^= stream[i];
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(buf, size,
		 "untrusted comment: minisign encrypted secret key\n"
		 "%s\n",
		 b64);
}

#define FAST_OPS crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN
#define FAST_MEM crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN

/* ---- key ids, formats, round trips ---- */

TEST(keyid_hex_as_minisign_prints_it)
{
	char hex[17];

	ms_keyid_hex(vec_keyid, hex);
	CHECK_STREQ(hex, "F5104028E79D833F");
}

TEST(pubkey_vector_parses_and_formats_identically)
{
	char buf[MS_PUBKEY_TEXT_SIZE];
	struct ms_pubkey pk;

	vec_pubkey(&pk);
	CHECK(memcmp(pk.keyid, vec_keyid, 8) == 0);
	CHECK_EQ(ms_pubkey_format(&pk, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, VEC_PUB);
	CHECK_EQ(ms_pubkey_format(&pk, buf, strlen(VEC_PUB)), -ENOBUFS);
}

TEST(pubkey_round_trip)
{
	struct ms_pubkey pk, back;
	struct ms_seckey sk;
	char buf[MS_PUBKEY_TEXT_SIZE];

	keygen(&pk, &sk);
	CHECK_EQ(ms_pubkey_format(&pk, buf, sizeof(buf)), 0);
	CHECK_EQ(ms_pubkey_parse(&test_ctx, buf, strlen(buf), &back), 0);
	CHECK(memcmp(&pk, &back, sizeof(pk)) == 0);
	write_text("k.pub", buf);
	memset(&back, 0, sizeof(back));
	CHECK_EQ(ms_pubkey_load(&test_ctx, "k.pub", &back), 0);
	CHECK(memcmp(&pk, &back, sizeof(pk)) == 0);
}

TEST(keygen_makes_distinct_keys)
{
	struct ms_pubkey pk1, pk2, derived;
	struct ms_seckey sk1, sk2;

	keygen(&pk1, &sk1);
	keygen(&pk2, &sk2);
	CHECK(memcmp(pk1.keyid, pk2.keyid, 8) != 0);
	CHECK(memcmp(pk1.pk, pk2.pk, 32) != 0);
	ms_pubkey_from_seckey(&sk1, &derived);
	CHECK(memcmp(&derived, &pk1, sizeof(pk1)) == 0);
	ms_seckey_wipe(&sk1);
	CHECK(sodium_is_zero((const uint8_t *)&sk1, sizeof(sk1)));
}

TEST(seckey_round_trip_writes_unencrypted_key_with_checksum)
{
	char buf[MS_SECKEY_TEXT_SIZE];
	uint8_t blob[SK_BYTES + 2], chk[32];
	struct ms_pubkey pk;
	struct ms_seckey sk, back;

	keygen(&pk, &sk);
	CHECK_EQ(ms_seckey_format(&sk, buf, sizeof(buf)), 0);
	CHECK_EQ(line_bytes(buf, 2, blob, sizeof(blob)), SK_BYTES);
	CHECK(memcmp(blob, "Ed\0\0B2", 6) == 0);
	sk_chk(blob, chk);
	CHECK(memcmp(blob + SK_OFF_CHK, chk, 32) == 0);
	CHECK(memcmp(blob + SK_OFF_KEYNUM, sk.keyid, 8) == 0);
	CHECK_EQ(ms_seckey_parse(&test_ctx, buf, strlen(buf), NULL, &back), 0);
	CHECK(memcmp(&sk, &back, sizeof(sk)) == 0);
	/* A password given for an unencrypted key is not needed. */
	CHECK_EQ(ms_seckey_parse(&test_ctx, buf, strlen(buf), "pw", &back), 0);
	write_text("k.sec", buf);
	CHECK_EQ(ms_seckey_load(&test_ctx, "k.sec", NULL, &back), 0);
	CHECK(memcmp(&sk, &back, sizeof(sk)) == 0);
}

TEST(seckey_format_too_small_buffer_is_wiped)
{
	char buf[MS_SECKEY_TEXT_SIZE];
	struct ms_pubkey pk;
	struct ms_seckey sk;

	keygen(&pk, &sk);
	CHECK_EQ(ms_seckey_format(&sk, buf, 200), -ENOBUFS);
	CHECK(sodium_is_zero((uint8_t *)buf, 200));
}

TEST(sign_parse_verify_round_trip)
{
	struct ms_pubkey pk;
	struct ms_seckey sk;
	struct ms_sig sig;
	char *text;

	keygen(&pk, &sk);
	text = sign(&sk, "payload", "timestamp:1\tfile:x");
	CHECK(strncmp(text,
		      "untrusted comment: signature from slotflip secret key\n",
		      54) == 0);
	CHECK_EQ(ms_sig_parse(&test_ctx, text, strlen(text), &sig), 0);
	CHECK(memcmp(sig.alg, "ED", 2) == 0);
	CHECK(memcmp(sig.keyid, pk.keyid, 8) == 0);
	CHECK_STREQ(sig.trusted_comment, "timestamp:1\tfile:x");
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, "payload", 7), 0);
	write_text("x.minisig", text);
	memset(&sig, 0, sizeof(sig));
	CHECK_EQ(ms_sig_load(&test_ctx, "x.minisig", &sig), 0);
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, "payload", 7), 0);
	free(text);
}

TEST(sign_empty_message_and_comment)
{
	struct ms_pubkey pk;
	struct ms_seckey sk;
	struct ms_sig sig;
	char *text = NULL;

	keygen(&pk, &sk);
	CHECK_EQ(ms_sign(&test_ctx, &sk, NULL, 0, NULL, &text), 0);
	CHECK(strstr(text, "\ntrusted comment: \n"));
	CHECK_EQ(ms_sig_parse(&test_ctx, text, strlen(text), &sig), 0);
	CHECK_STREQ(sig.trusted_comment, "");
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, NULL, 0), 0);
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, "x", 1), -EBADMSG);
	free(text);
}

TEST(prehashed_matches_whole_message)
{
	uint8_t hash[MS_HASH_BYTES];
	crypto_generichash_state st;
	struct ms_pubkey pk;
	struct ms_seckey sk;
	struct ms_sig sig;
	char *text = NULL;

	keygen(&pk, &sk);
	crypto_generichash_init(&st, NULL, 0, MS_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)"pay", 3);
	crypto_generichash_update(&st, (const uint8_t *)"load", 4);
	crypto_generichash_final(&st, hash, MS_HASH_BYTES);
	CHECK_EQ(ms_sign_prehashed(&test_ctx, &sk, hash, "c", &text), 0);
	CHECK_EQ(verify_text(text, &pk, "payload"), 0);
	CHECK_EQ(ms_sig_parse(&test_ctx, text, strlen(text), &sig), 0);
	CHECK_EQ(ms_sig_verify_prehashed(&test_ctx, &sig, &pk, hash), 0);
	hash[0] ^= 1;
	CHECK_EQ(ms_sig_verify_prehashed(&test_ctx, &sig, &pk, hash), -EBADMSG);
	free(text);
}

TEST(trusted_comment_limits_when_signing)
{
	char tc[MS_TRUSTED_COMMENT_MAX + 2], *text = NULL;
	struct ms_pubkey pk;
	struct ms_seckey sk;

	keygen(&pk, &sk);
	memset(tc, 'c', MS_TRUSTED_COMMENT_MAX);
	tc[MS_TRUSTED_COMMENT_MAX] = '\0';
	text = sign(&sk, "m", tc);
	CHECK_EQ(verify_text(text, &pk, "m"), 0);
	free(text);
	text = NULL;
	strcpy(tc + MS_TRUSTED_COMMENT_MAX, "c");
	CHECK_EQ(ms_sign(&test_ctx, &sk, "m", 1, tc, &text), -EINVAL);
	CHECK_LOG("trusted comment too long");
	CHECK_EQ(ms_sign(&test_ctx, &sk, "m", 1, "a\nb", &text), -EINVAL);
	CHECK_EQ(ms_sign(&test_ctx, &sk, "m", 1, "a\r", &text), -EINVAL);
	CHECK_LOG("must be one line");
	CHECK(text == NULL);
}

/* ---- verification failures ---- */

TEST(vector_from_minisign_verifies)
{
	struct ms_pubkey pk;

	vec_pubkey(&pk);
	CHECK_EQ(verify_text(VEC_SIG, &pk, VEC_MSG), 0);
}

TEST(verify_wrong_key_is_enokey)
{
	struct ms_pubkey pk;
	struct ms_seckey sk;

	keygen(&pk, &sk);
	CHECK_EQ(verify_text(VEC_SIG, &pk, VEC_MSG), -ENOKEY);
	CHECK_LOG("signature was made with key F5104028E79D833F");
}

TEST(verify_same_keyid_other_key_is_ebadmsg)
{
	struct ms_pubkey pk;
	struct ms_seckey sk;

	keygen(&pk, &sk);
	memcpy(pk.keyid, vec_keyid, 8);
	CHECK_EQ(verify_text(VEC_SIG, &pk, VEC_MSG), -EBADMSG);
	CHECK_LOG("signature verification failed");
}

TEST(verify_flipped_message_byte)
{
	struct ms_pubkey pk;

	vec_pubkey(&pk);
	CHECK_EQ(verify_text(VEC_SIG, &pk, "hellO\n"), -EBADMSG);
	CHECK_EQ(verify_text(VEC_SIG, &pk, "hello"), -EBADMSG);
	CHECK_LOG("signature verification failed");
}

TEST(verify_flipped_signature_bytes)
{
	struct ms_pubkey pk;
	char *bad;

	vec_pubkey(&pk);
	for (size_t off = SIG_OFF_SIG; off < SIG_OFF_SIG + 64; off += 7) {
		bad = flip(VEC_SIG, 2, off, 0x01);
		CHECK_EQ(verify_text(bad, &pk, VEC_MSG), -EBADMSG);
		free(bad);
	}
	bad = flip(VEC_SIG, 2, SIG_OFF_KEYID, 0x01);
	CHECK_EQ(verify_text(bad, &pk, VEC_MSG), -ENOKEY);
	free(bad);
}

TEST(verify_changed_trusted_comment)
{
	struct ms_pubkey pk;
	char *bad;

	vec_pubkey(&pk);
	/* A checked-in forgery: the comment of a genuine signature edited. */
	bad = replace_line(VEC_SIG, 3, "trusted comment: my commenT");
	CHECK_EQ(verify_text(bad, &pk, VEC_MSG), -EBADMSG);
	CHECK_LOG("trusted comment signature verification failed");
	free(bad);
	bad = replace_line(VEC_SIG, 3, "trusted comment: my comment ");
	CHECK_EQ(verify_text(bad, &pk, VEC_MSG), -EBADMSG);
	free(bad);
}

TEST(verify_flipped_global_signature)
{
	struct ms_pubkey pk;
	char *bad;

	vec_pubkey(&pk);
	for (size_t off = 0; off < 64; off += 9) {
		bad = flip(VEC_SIG, 4, off, 0x80);
		reset_log();
		CHECK_EQ(verify_text(bad, &pk, VEC_MSG), -EBADMSG);
		CHECK_LOG("trusted comment signature verification failed");
		free(bad);
	}
}

TEST(verify_refuses_bad_struct)
{
	struct ms_pubkey pk;
	struct ms_sig sig;

	vec_pubkey(&pk);
	CHECK_EQ(ms_sig_parse(&test_ctx, VEC_SIG, strlen(VEC_SIG), &sig), 0);
	memset(sig.trusted_comment, 'x', sizeof(sig.trusted_comment));
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, VEC_MSG, 6), -EINVAL);
	CHECK_LOG("not terminated");
	memcpy(sig.alg, "Ed", 2);
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, VEC_MSG, 6), -EINVAL);
	CHECK_LOG("legacy signature");
}

/* ---- tolerated and malformed text ---- */

static char *crlf(const char *text)
{
	char *out = malloc(strlen(text) * 2 + 1), *o = out;

	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			*o++ = '\r';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

TEST(crlf_and_missing_final_newline_accepted)
{
	char *pub = crlf(VEC_PUB), *sig = crlf(VEC_SIG);
	char *pub_nonl = strdup(VEC_PUB), *sig_nonl = strdup(VEC_SIG);
	struct ms_pubkey pk;

	CHECK_EQ(ms_pubkey_parse(&test_ctx, pub, strlen(pub), &pk), 0);
	CHECK_EQ(verify_text(sig, &pk, VEC_MSG), 0);
	pub_nonl[strlen(pub_nonl) - 1] = '\0';
	sig_nonl[strlen(sig_nonl) - 1] = '\0';
	CHECK_EQ(ms_pubkey_parse(&test_ctx, pub_nonl, strlen(pub_nonl), &pk),
		 0);
	CHECK_EQ(verify_text(sig_nonl, &pk, VEC_MSG), 0);
	/* CRLF without the final newline: "...==\r" */
	sig[strlen(sig) - 1] = '\0';
	CHECK_EQ(verify_text(sig, &pk, VEC_MSG), 0);
	free(pub);
	free(sig);
	free(pub_nonl);
	free(sig_nonl);
}

struct bad_case {
	char *text;
	size_t len;
	int err;
	const char *msg;
};

static struct bad_case bad(char *text, int err, const char *msg)
{
	return (struct bad_case){ text, strlen(text), err, msg };
}

static char *cat(const char *a, const char *b)
{
	char *out;

	if (asprintf(&out, "%s%s", a, b) < 0)
		abort();
	return out;
}

/* @text with its untrusted comment replaced by @extra bytes of 'x'. */
static char *padded_comment(const char *text, size_t extra)
{
	char *pad = malloc(extra + 1), *out;

	memset(pad, 'x', extra);
	pad[extra] = '\0';
	if (asprintf(&out, "untrusted comment: %s%s", pad, strchr(text, '\n')) <
	    0)
		abort();
	free(pad);
	return out;
}

/* The common malformations of a text whose line 2 is base64. */
static size_t common_bad(const char *good, struct bad_case *c)
{
	size_t start, end, n = 0;
	char *s;

	find_line(good, 2, &start, &end);
	c[n++] = bad(strdup(""), -EINVAL,
		     "line 1 (untrusted comment) is missing");
	c[n++] = bad(strndup(good, start), -EINVAL, "line 2 (");
	c[n++] = bad(strdup(good + start), -EINVAL,
		     "line 1 does not start with \"untrusted comment: \"");
	c[n++] = bad(replace_line(good, 1, "untrusted comment:x"), -EINVAL,
		     "line 1 does not start with");
	c[n++] = bad(replace_line(good, 2, ""), -EINVAL, "wrong length");
	s = strdup(good);
	s[start + 5] = '*';
	c[n++] = bad(s, -EINVAL, "invalid base64");
	s = strdup(good);
	s[start + 5] = ' ';
	c[n++] = bad(s, -EINVAL, "invalid base64");
	/* Right number of characters, fewer bytes. */
	s = strdup(good);
	memcpy(s + end - 4, "AA==", 4);
	c[n++] = bad(s, -EINVAL, "bytes, want");
	s = strdup(good);
	s[end - 1] = '\0';
	c[n++] = bad(cat(s, "\n"), -EINVAL, "wrong length");
	free(s);
	c[n++] = bad(cat(good, "\n"), -EINVAL, "unexpected data after line");
	c[n++] = bad(cat(good, "garbage"), -EINVAL, "unexpected data after");
	c[n++] = bad(padded_comment(good, 1025), -EINVAL, "comment too long");
	c[n++] = bad(padded_comment(good, MS_TEXT_MAX), -EFBIG, "too large");
	s = strdup(good);
	s[strlen(s) - 1] = '\0';
	c[n++] = (struct bad_case){ s, strlen(good), -EINVAL, "NUL byte" };
	return n;
}

/* Replace the base64 line 2 of @good by base64 of @len bytes of @bin. */
static struct bad_case bad_bytes(const char *good, const uint8_t *bin,
				 size_t len, int err, const char *msg)
{
	return bad(replace_bytes(good, 2, bin, len), err, msg);
}

static void check_bad(const struct bad_case *c, size_t n,
		      int (*parse)(const char *, size_t))
{
	for (size_t i = 0; i < n; i++) {
		reset_log();
		fprintf(stderr, "  case %zu: expect %d \"%s\"\n", i, c[i].err,
			c[i].msg);
		CHECK_EQ(parse(c[i].text, c[i].len), c[i].err);
		CHECK_LOG(c[i].msg);
		free(c[i].text);
	}
}

static int parse_pub(const char *text, size_t len)
{
	struct ms_pubkey pk, before;
	int r;

	memset(&pk, 0xa5, sizeof(pk));
	before = pk;
	r = ms_pubkey_parse(&test_ctx, text, len, &pk);
	if (r < 0)
		CHECK(memcmp(&pk, &before, sizeof(pk)) == 0);
	return r;
}

TEST(empty_and_null_text_refused)
{
	struct ms_pubkey pk;
	struct ms_seckey sk;
	struct ms_sig sig;

	CHECK_EQ(ms_pubkey_parse(&test_ctx, NULL, 0, &pk), -EINVAL);
	CHECK_EQ(ms_seckey_parse(&test_ctx, NULL, 0, NULL, &sk), -EINVAL);
	CHECK_EQ(ms_sig_parse(&test_ctx, "", 0, &sig), -EINVAL);
	CHECK_LOG("signature: line 1 (untrusted comment) is missing");
}

TEST(pubkey_malformed_refused)
{
	struct bad_case c[32];
	uint8_t bin[43];
	size_t n;

	n = common_bad(VEC_PUB, c);
	CHECK_EQ(line_bytes(VEC_PUB, 2, bin, sizeof(bin)), 42);
	c[n++] = bad_bytes(VEC_PUB, bin, 41, -EINVAL, "wrong length");
	bin[42] = 0;
	c[n++] = bad_bytes(VEC_PUB, bin, 43, -EINVAL, "wrong length");
	bin[1] = 'D';
	c[n++] = bad_bytes(VEC_PUB, bin, 42, -EINVAL,
			   "unsupported signature algorithm \"ED\"");
	bin[0] = 0;
	c[n++] = bad_bytes(VEC_PUB, bin, 42, -EINVAL,
			   "unsupported signature algorithm 0x0044");
	check_bad(c, n, parse_pub);
}

static int parse_sec(const char *text, size_t len)
{
	struct ms_seckey sk, before;
	int r;

	memset(&sk, 0xa5, sizeof(sk));
	before = sk;
	r = ms_seckey_parse(&test_ctx, text, len, "pw", &sk);
	if (r < 0)
		CHECK(memcmp(&sk, &before, sizeof(sk)) == 0);
	return r;
}

TEST(seckey_malformed_refused)
{
	char good[MS_SECKEY_TEXT_SIZE];
	struct bad_case c[40];
	uint8_t bin[SK_BYTES], b[SK_BYTES];
	struct ms_pubkey pk;
	struct ms_seckey sk;
	size_t n;

	keygen(&pk, &sk);
	CHECK_EQ(ms_seckey_format(&sk, good, sizeof(good)), 0);
	n = common_bad(good, c);
	CHECK_EQ(line_bytes(good, 2, bin, sizeof(bin)), SK_BYTES);
	c[n++] = bad_bytes(good, bin, SK_BYTES - 1, -EINVAL, "wrong length");
	memcpy(b, bin, SK_BYTES);
	b[1] = 'D';
	c[n++] = bad_bytes(good, b, SK_BYTES, -EINVAL,
			   "unsupported signature algorithm");
	memcpy(b, bin, SK_BYTES);
	memcpy(b + SK_OFF_KDF, "Ar", 2);
	c[n++] = bad_bytes(good, b, SK_BYTES, -EINVAL,
			   "unsupported key derivation algorithm \"Ar\"");
	memcpy(b, bin, SK_BYTES);
	memcpy(b + SK_OFF_CHKALG, "B3", 2);
	c[n++] = bad_bytes(good, b, SK_BYTES, -EINVAL,
			   "unsupported checksum algorithm \"B3\"");
	memcpy(b, bin, SK_BYTES);
	b[SK_OFF_CHK + 31] ^= 1;
	c[n++] = bad_bytes(good, b, SK_BYTES, -EBADMSG,
			   "corrupt secret key (checksum mismatch)");
	memcpy(b, bin, SK_BYTES);
	b[SK_OFF_SK + 3] ^= 1;
	c[n++] = bad_bytes(good, b, SK_BYTES, -EBADMSG,
			   "corrupt secret key (checksum mismatch)");
	/* Zero checksum (as minisign -W writes) but a corrupt public half. */
	memcpy(b, bin, SK_BYTES);
	memset(b + SK_OFF_CHK, 0, 32);
	b[SK_OFF_SK + 40] ^= 1;
	c[n++] = bad_bytes(good, b, SK_BYTES, -EBADMSG,
			   "public half does not match");
	check_bad(c, n, parse_sec);
}

TEST(seckey_zero_checksum_accepted_only_unencrypted)
{
	char good[MS_SECKEY_TEXT_SIZE], *text;
	uint8_t bin[SK_BYTES];
	struct ms_pubkey pk;
	struct ms_seckey sk, back;

	keygen(&pk, &sk);
	CHECK_EQ(ms_seckey_format(&sk, good, sizeof(good)), 0);
	line_bytes(good, 2, bin, sizeof(bin));
	memset(bin + SK_OFF_CHK, 0, 32);
	text = replace_bytes(good, 2, bin, sizeof(bin));
	CHECK_EQ(ms_seckey_parse(&test_ctx, text, strlen(text), NULL, &back),
		 0);
	CHECK(memcmp(&back, &sk, sizeof(sk)) == 0);
	free(text);
}

static int parse_sig(const char *text, size_t len)
{
	struct ms_sig sig, before;
	int r;

	memset(&sig, 0xa5, sizeof(sig));
	before = sig;
	r = ms_sig_parse(&test_ctx, text, len, &sig);
	if (r < 0)
		CHECK(memcmp(&sig, &before, sizeof(sig)) == 0);
	return r;
}

/* Malformations of the lines after the second one. */
static size_t sig_bad_tail(struct bad_case *c, size_t n)
{
	char tc[MS_TRUSTED_COMMENT_MAX + 32], *s;
	size_t start, end;

	find_line(VEC_SIG, 3, &start, &end);
	s = strndup(VEC_SIG, start);
	c[n++] = bad(s, -EINVAL, "line 3 (trusted comment) is missing");
	find_line(VEC_SIG, 4, &start, &end);
	s = strndup(VEC_SIG, start);
	c[n++] = bad(s, -EINVAL, "line 4 (global signature) is missing");
	c[n++] = bad(replace_line(VEC_SIG, 3, "trusted comment:x"), -EINVAL,
		     "line 3 does not start with \"trusted comment: \"");
	c[n++] = bad(replace_line(VEC_SIG, 3, "untrusted comment: x"), -EINVAL,
		     "line 3 does not start with \"trusted comment: \"");
	strcpy(tc, "trusted comment: ");
	memset(tc + 17, 'c', MS_TRUSTED_COMMENT_MAX + 1);
	tc[17 + MS_TRUSTED_COMMENT_MAX + 1] = '\0';
	c[n++] = bad(replace_line(VEC_SIG, 3, tc), -EINVAL,
		     "line 3: comment too long (1025 bytes, at most 1024)");
	c[n++] = bad(replace_line(VEC_SIG, 4, "lYmx"), -EINVAL,
		     "line 4 (global signature): wrong length");
	c[n++] = bad(cat(VEC_SIG, VEC_SIG), -EINVAL,
		     "unexpected data after line 4");
	return n;
}

TEST(sig_malformed_refused)
{
	struct bad_case c[40];
	uint8_t bin[SIG_OFF_SIG + 64], b[sizeof(bin)];
	size_t n;

	n = common_bad(VEC_SIG, c);
	n = sig_bad_tail(c, n);
	CHECK_EQ(line_bytes(VEC_SIG, 2, bin, sizeof(bin)), sizeof(bin));
	c[n++] = bad_bytes(VEC_SIG, bin, sizeof(bin) - 1, -EINVAL,
			   "wrong length");
	memcpy(b, bin, sizeof(b));
	memcpy(b, "Ex", 2);
	c[n++] = bad_bytes(
		VEC_SIG, b, sizeof(b), -EINVAL,
		"unsupported signature algorithm \"Ex\" (want \"ED\")");
	c[n++] = bad(strdup(VEC_LEGACY_SIG), -EINVAL,
		     "legacy signature (algorithm \"Ed\", not prehashed)");
	check_bad(c, n, parse_sig);
}

TEST(sig_trusted_comment_of_1024_bytes_accepted)
{
	char tc[MS_TRUSTED_COMMENT_MAX + 32], *text;
	struct ms_sig sig;

	strcpy(tc, "trusted comment: ");
	memset(tc + 17, 'c', MS_TRUSTED_COMMENT_MAX);
	tc[17 + MS_TRUSTED_COMMENT_MAX] = '\0';
	text = replace_line(VEC_SIG, 3, tc);
	CHECK_EQ(ms_sig_parse(&test_ctx, text, strlen(text), &sig), 0);
	CHECK_EQ(strlen(sig.trusted_comment), MS_TRUSTED_COMMENT_MAX);
	free(text);
}

/* ---- files ---- */

TEST(load_refuses_symlink_dir_fifo_missing_and_oversized)
{
	char big[MS_TEXT_MAX + 1];
	struct ms_pubkey pk;
	struct ms_sig sig;
	struct ms_seckey sk;

	write_text("k.pub", VEC_PUB);
	CHECK(symlink("k.pub", "link.pub") == 0);
	CHECK_EQ(ms_pubkey_load(&test_ctx, "link.pub", &pk), -ELOOP);
	CHECK_LOG("public key link.pub is a symbolic link: refused");
	CHECK(mkdir("dir.pub", 0755) == 0);
	CHECK_EQ(ms_pubkey_load(&test_ctx, "dir.pub", &pk), -EINVAL);
	CHECK_LOG("public key dir.pub is not a regular file");
	CHECK(mkfifo("fifo.minisig", 0644) == 0);
	CHECK_EQ(ms_sig_load(&test_ctx, "fifo.minisig", &sig), -EINVAL);
	CHECK_LOG("signature fifo.minisig is not a regular file");
	CHECK_EQ(ms_seckey_load(&test_ctx, "none.sec", NULL, &sk), -ENOENT);
	CHECK_LOG("cannot open secret key none.sec: No such file");
	memset(big, '\n', sizeof(big));
	test_write_file("big.minisig", big, sizeof(big));
	CHECK_EQ(ms_sig_load(&test_ctx, "big.minisig", &sig), -EFBIG);
	CHECK_LOG("big.minisig is too large (4097 bytes, at most 4096)");
	CHECK_EQ(ms_pubkey_load(&test_ctx, "k.pub", &pk), 0);
}

TEST(load_reports_file_name_in_parse_errors)
{
	struct ms_pubkey pk;

	write_text("bad.pub", "untrusted comment: x\nRWQ*\n");
	CHECK_EQ(ms_pubkey_load(&test_ctx, "bad.pub", &pk), -EINVAL);
	CHECK_LOG("public key bad.pub: line 2 (public key): wrong length");
}

/* ---- password-protected keys ---- */

TEST(encrypted_seckey_right_wrong_and_missing_password)
{
	char text[MS_SECKEY_TEXT_SIZE];
	struct ms_pubkey pk;
	struct ms_seckey sk, back;

	keygen(&pk, &sk);
	encrypted_seckey(&sk, "right", FAST_OPS, FAST_MEM, text, sizeof(text));
	CHECK_EQ(ms_seckey_parse(&test_ctx, text, strlen(text), "right", &back),
		 0);
	CHECK(memcmp(&back, &sk, sizeof(sk)) == 0);
	memset(&back, 0, sizeof(back));
	CHECK_EQ(ms_seckey_parse(&test_ctx, text, strlen(text), "wrong", &back),
		 -EKEYREJECTED);
	CHECK_LOG("secret key: wrong password or corrupt secret key");
	CHECK(sodium_is_zero((uint8_t *)&back, sizeof(back)));
	CHECK_EQ(ms_seckey_parse(&test_ctx, text, strlen(text), "", &back),
		 -EKEYREJECTED);
	CHECK_EQ(ms_seckey_parse(&test_ctx, text, strlen(text), NULL, &back),
		 -EKEYREJECTED);
	CHECK_LOG("secret key is password-protected: give its password with "
		  "--password-file");
	write_text("e.sec", text);
	CHECK_EQ(ms_seckey_load(&test_ctx, "e.sec", NULL, &back),
		 -EKEYREJECTED);
	CHECK_LOG("secret key e.sec is password-protected: give its password "
		  "with --password-file");
	CHECK_EQ(ms_seckey_load(&test_ctx, "e.sec", "right", &back), 0);
	CHECK(memcmp(&back, &sk, sizeof(sk)) == 0);
}

TEST(encrypted_seckey_zero_checksum_refused)
{
	char text[MS_SECKEY_TEXT_SIZE], *bad_text;
	uint8_t bin[SK_BYTES], stream[104];
	struct ms_pubkey pk;
	struct ms_seckey sk, back;

	keygen(&pk, &sk);
	encrypted_seckey(&sk, "pw", FAST_OPS, FAST_MEM, text, sizeof(text));
	line_bytes(text, 2, bin, sizeof(bin));
	/* Make the decrypted checksum all zero. */
	CHECK(crypto_pwhash_scryptsalsa208sha256(stream, sizeof(stream), "pw",
						 2, bin + SK_OFF_SALT, FAST_OPS,
						 FAST_MEM) == 0);
	memcpy(bin + SK_OFF_CHK, stream + (SK_OFF_CHK - SK_OFF_KEYNUM), 32);
	bad_text = replace_bytes(text, 2, bin, sizeof(bin));
	CHECK_EQ(ms_seckey_parse(&test_ctx, bad_text, strlen(bad_text), "pw",
				 &back),
		 -EKEYREJECTED);
	CHECK_LOG("wrong password or corrupt secret key");
	free(bad_text);
}

TEST(encrypted_seckey_kdf_limits_capped)
{
	char text[MS_SECKEY_TEXT_SIZE];
	struct ms_pubkey pk;
	struct ms_seckey sk, back;

	keygen(&pk, &sk);
	/* Would take 8 GiB and minutes if the cap did not refuse it first. */
	encrypted_seckey(&sk, "pw", FAST_OPS, FAST_MEM, text, sizeof(text));
	CHECK_EQ(ms_seckey_parse_capped(&test_ctx, text, strlen(text), "pw",
					FAST_OPS - 1, FAST_MEM, &back),
		 -EINVAL);
	CHECK_LOG("scrypt limits too high");
	CHECK_EQ(ms_seckey_parse_capped(&test_ctx, text, strlen(text), "pw",
					FAST_OPS, FAST_MEM - 1, &back),
		 -EINVAL);
	CHECK_EQ(ms_seckey_parse_capped(&test_ctx, text, strlen(text), "pw",
					FAST_OPS, FAST_MEM, &back),
		 0);
}

TEST(encrypted_seckey_huge_limits_refused_without_scrypt)
{
	char text[MS_SECKEY_TEXT_SIZE], *huge;
	uint8_t bin[SK_BYTES];
	struct ms_pubkey pk;
	struct ms_seckey sk, back;

	keygen(&pk, &sk);
	encrypted_seckey(&sk, "pw", FAST_OPS, FAST_MEM, text, sizeof(text));
	line_bytes(text, 2, bin, sizeof(bin));
	le64_store(bin + SK_OFF_OPS, MS_KDF_OPSLIMIT_MAX + 1);
	huge = replace_bytes(text, 2, bin, sizeof(bin));
	CHECK_EQ(ms_seckey_parse(&test_ctx, huge, strlen(huge), "pw", &back),
		 -EINVAL);
	CHECK_LOG("scrypt limits too high (opslimit 134217729");
	free(huge);
	le64_store(bin + SK_OFF_OPS, FAST_OPS);
	le64_store(bin + SK_OFF_MEM, UINT64_MAX);
	huge = replace_bytes(text, 2, bin, sizeof(bin));
	CHECK_EQ(ms_seckey_parse(&test_ctx, huge, strlen(huge), "pw", &back),
		 -EINVAL);
	CHECK_LOG("memlimit 18446744073709551615");
	free(huge);
}

/* ---- interoperation with minisign ---- */

TEST(minisign_keys_sign_with_us_and_minisign_verifies)
{
	struct ms_pubkey pk, derived;
	struct ms_seckey sk;
	char *text, *out;
	size_t len;

	need_minisign();
	CHECK_EQ(run(MINISIGN " -G -W -p k.pub -s k.sec >out.txt 2>&1"), 0);
	CHECK_EQ(ms_pubkey_load(&test_ctx, "k.pub", &pk), 0);
	CHECK_EQ(ms_seckey_load(&test_ctx, "k.sec", NULL, &sk), 0);
	ms_pubkey_from_seckey(&sk, &derived);
	CHECK(memcmp(&derived, &pk, sizeof(pk)) == 0);
	write_text("file", "file contents\n");
	text = sign(&sk, "file contents\n", "slotflip test comment");
	write_text("file.minisig", text);
	CHECK_EQ(run(MINISIGN " -Vm file -x file.minisig -p k.pub >out.txt"),
		 0);
	out = test_read_file("out.txt", &len);
	CHECK(strstr(out, "Trusted comment: slotflip test comment"));
	free(out);
	/* The same check must fail on other data: minisign did verify. */
	write_text("file", "file contents!\n");
	CHECK(run(MINISIGN
		  " -Vm file -x file.minisig -p k.pub >out.txt 2>&1") != 0);
	free(text);
}

TEST(minisign_signature_verifies_with_us)
{
	struct ms_pubkey pk;
	struct ms_sig sig;
	size_t len;
	char *msg;

	need_minisign();
	CHECK_EQ(run(MINISIGN " -G -W -p k.pub -s k.sec >out.txt 2>&1"), 0);
	test_fill_random(msg = malloc(100000), 100000, 7);
	test_write_file("file", msg, 100000);
	CHECK_EQ(run(MINISIGN " -S -s k.sec -m file -t 'release 1.2' "
			      ">out.txt 2>&1"),
		 0);
	CHECK_EQ(ms_pubkey_load(&test_ctx, "k.pub", &pk), 0);
	CHECK_EQ(ms_sig_load(&test_ctx, "file.minisig", &sig), 0);
	CHECK_STREQ(sig.trusted_comment, "release 1.2");
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, msg, 100000), 0);
	msg[99999] ^= 1;
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, msg, 100000), -EBADMSG);
	free(msg);
	msg = test_read_file("file.minisig", &len);
	CHECK(msg[len - 1] == '\n');
	free(msg);
}

TEST(our_seckey_usable_by_minisign)
{
	char pub[MS_PUBKEY_TEXT_SIZE], sec[MS_SECKEY_TEXT_SIZE];
	struct ms_pubkey pk;
	struct ms_seckey sk;
	struct ms_sig sig;

	need_minisign();
	keygen(&pk, &sk);
	CHECK_EQ(ms_pubkey_format(&pk, pub, sizeof(pub)), 0);
	CHECK_EQ(ms_seckey_format(&sk, sec, sizeof(sec)), 0);
	write_text("our.pub", pub);
	write_text("our.sec", sec);
	write_text("file", "data");
	CHECK_EQ(run(MINISIGN " -S -s our.sec -m file -t ours </dev/null "
			      ">out.txt 2>&1"),
		 0);
	CHECK_EQ(run(MINISIGN " -Vm file -p our.pub >out.txt 2>&1"), 0);
	CHECK_EQ(ms_sig_load(&test_ctx, "file.minisig", &sig), 0);
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, "data", 4), 0);
	CHECK_EQ(ms_sig_verify(&test_ctx, &sig, &pk, "date", 4), -EBADMSG);
}

TEST(minisign_legacy_signature_refused)
{
	struct ms_sig sig;

	need_minisign();
	CHECK_EQ(run(MINISIGN " -G -W -p k.pub -s k.sec >out.txt 2>&1"), 0);
	write_text("file", "data");
	CHECK_EQ(run(MINISIGN " -S -l -s k.sec -m file >out.txt 2>&1"), 0);
	CHECK_EQ(ms_sig_load(&test_ctx, "file.minisig", &sig), -EINVAL);
	CHECK_LOG("signature file.minisig: legacy signature");
}

/* minisign's own scrypt limits: about 1 GiB and a few seconds. */
TEST(minisign_encrypted_key_loads_with_password)
{
	struct ms_pubkey pk, derived;
	struct ms_seckey sk;
	char *text;

	need_minisign();
	CHECK_EQ(run("printf 'pw\\npw\\n' | " MINISIGN
		     " -G -p e.pub -s e.sec -f >out.txt 2>&1"),
		 0);
	CHECK_EQ(ms_seckey_load(&test_ctx, "e.sec", NULL, &sk), -EKEYREJECTED);
	CHECK_LOG("secret key e.sec is password-protected");
	CHECK_EQ(ms_seckey_load(&test_ctx, "e.sec", "pw", &sk), 0);
	CHECK_EQ(ms_pubkey_load(&test_ctx, "e.pub", &pk), 0);
	ms_pubkey_from_seckey(&sk, &derived);
	CHECK(memcmp(&derived, &pk, sizeof(pk)) == 0);
	text = sign(&sk, "data", "encrypted key");
	write_text("file", "data");
	write_text("file.minisig", text);
	CHECK_EQ(run(MINISIGN " -Vm file -p e.pub >out.txt 2>&1"), 0);
	ms_seckey_wipe(&sk);
	free(text);
}
