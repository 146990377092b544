// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/repodoc.c and lib/repowrite.c: the repository documents of
 * docs/REPO.md round trip; every rule of their text is enforced with a
 * message; signature files count distinct keys of the set with the right
 * trusted comment; key rotation needs both thresholds; a device's checks
 * of expiry, serials, floors, sizes and hashes.
 */
#include "repodoc.h"
#include "repowrite.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "util.h"

#define HASH_A                                                                 \
	"aa01000000000000000000000000000000000000000000000000000000000001"
#define HASH_B                                                                 \
	"bb02000000000000000000000000000000000000000000000000000000000002"

static const char ts_text[] = "slotflip-repo timestamp 1\n"
			      "product acme\n"
			      "channel stable\n"
			      "serial 42\n"
			      "issued 1000\n"
			      "expires 2000\n"
			      "keys 1\n"
			      "index-size 300\n"
			      "index-hash " HASH_A "\n";

static const char index_text[] = "slotflip-repo index 1\n"
				 "product acme\n"
				 "compatible acme-gw\n"
				 "channel stable\n"
				 "serial 7\n"
				 "issued 1000\n"
				 "expires 5000\n"
				 "version 1.4.0\n"
				 "floor 1.2\n"
				 "manifest " HASH_A "\n"
				 "full 104857600 " HASH_B "\n"
				 "delta 1.3.0 " HASH_A " 3145728 " HASH_B "\n"
				 "delta 1.2.1 " HASH_B " 9437184 " HASH_A "\n";

static void reset_log(void)
{
	test_log_buf[0] = '\0';
}

/* A malloc'd copy of @text with the first @from replaced by @to. */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *out;

	if (!p)
		test_fail(__FILE__, __LINE__, "no \"%s\" in the text", from);
	if (asprintf(&out, "%.*s%s%s", (int)(p - text), text, to,
		     p + strlen(from)) < 0)
		abort();
	return out;
}

static int parse_ts(const char *text)
{
	struct sf_repo_timestamp ts;

	reset_log();
	return sf_repo_timestamp_parse(&test_ctx, "ts", text, strlen(text),
				       &ts);
}

static int parse_index(const char *text)
{
	struct sf_repo_index idx;

	reset_log();
	return sf_repo_index_parse(&test_ctx, "idx", text, strlen(text), &idx);
}

/* Parsing @text edited (@from -> @to) gives @err and logs @msg. */
static void refused_ts(const char *from, const char *to, int err,
		       const char *msg)
{
	_cleanup_free_ char *t = edit(ts_text, from, to);

	CHECK_EQ(parse_ts(t), err);
	CHECK_LOG(msg);
}

static void refused_index(const char *from, const char *to, int err,
			  const char *msg)
{
	_cleanup_free_ char *t = edit(index_text, from, to);

	CHECK_EQ(parse_index(t), err);
	CHECK_LOG(msg);
}

TEST(timestamp_round_trip)
{
	struct sf_repo_timestamp ts;
	_cleanup_free_ char *out = NULL;
	size_t len;

	CHECK_EQ(sf_repo_timestamp_parse(&test_ctx, "ts", ts_text,
					 strlen(ts_text), &ts),
		 0);
	CHECK_STREQ(ts.product, "acme");
	CHECK_STREQ(ts.channel, "stable");
	CHECK_EQ(ts.serial, 42);
	CHECK_EQ(ts.issued, 1000);
	CHECK_EQ(ts.expires, 2000);
	CHECK_EQ(ts.keyset, 1);
	CHECK_EQ(ts.index_size, 300);
	CHECK_EQ(ts.index_hash[0], 0xaa);
	CHECK_EQ(ts.index_hash[31], 0x01);
	CHECK_EQ(sf_repo_timestamp_format(&test_ctx, &ts, &out, &len), 0);
	CHECK_EQ(len, strlen(ts_text));
	CHECK_STREQ(out, ts_text);
}

TEST(index_round_trip)
{
	struct sf_repo_index idx;
	_cleanup_free_ char *out = NULL;
	size_t len;

	CHECK_EQ(sf_repo_index_parse(&test_ctx, "idx", index_text,
				     strlen(index_text), &idx),
		 0);
	CHECK_STREQ(idx.version, "1.4.0");
	CHECK_STREQ(idx.floor, "1.2");
	CHECK_EQ(idx.full.size, 104857600);
	CHECK_STREQ(idx.full.base_version, "");
	CHECK_EQ(idx.n_deltas, 2);
	CHECK_STREQ(idx.deltas[1].base_version, "1.2.1");
	CHECK_EQ(idx.deltas[1].size, 9437184);
	CHECK_EQ(idx.deltas[1].base_manifest[0], 0xbb);
	CHECK_EQ(sf_repo_index_format(&test_ctx, &idx, &out, &len), 0);
	CHECK_STREQ(out, index_text);
}

TEST(first_line_names_kind_and_format)
{
	refused_ts("timestamp 1", "index 1", -EBADMSG,
		   "a \"index\" document, not a timestamp document");
	refused_ts("timestamp 1", "timestamp 2", -EPROTONOSUPPORT,
		   "format 2, this reader knows 1: update slotflip");
	refused_ts("slotflip-repo timestamp 1", "slotflip-repo timestamp",
		   -EBADMSG, "line 1: want \"slotflip-repo timestamp 1\"");
	refused_ts("slotflip-repo", "slotflap-repo", -EBADMSG,
		   "line 1: want \"slotflip-repo VALUE\"");
}

TEST(lines_are_strict)
{
	refused_ts("serial 42\n", "", -EBADMSG,
		   "line 4: want \"serial VALUE\"");
	refused_ts("serial 42\nissued 1000\n", "issued 1000\nserial 42\n",
		   -EBADMSG, "line 4: want \"serial VALUE\"");
	refused_ts("channel stable\n", "channel stable\r\n", -EBADMSG,
		   "line 3: channel: a value is printable ASCII");
	refused_ts("channel stable", "channel  stable", -EBADMSG,
		   "line 3: channel: a value is printable ASCII");
	refused_ts("channel stable", "channel stable ", -EBADMSG,
		   "printable ASCII words");
	refused_ts("product acme", "product\tacme", -EBADMSG,
		   "line 2: want \"product VALUE\"");
	refused_ts("channel stable", "channel Stable", -EBADMSG,
		   "channel must be 1 to 31 characters from [a-z0-9-]");
	refused_ts("product acme", "product a/b", -EBADMSG,
		   "product must be 1 to 63 characters");
	refused_ts(HASH_A "\n", HASH_A "\nextra 1\n", -EBADMSG,
		   "line 10: unexpected");
	refused_ts(HASH_A "\n", HASH_A, -EBADMSG,
		   "line 9 does not end with a newline");
	refused_ts("keys 1\n", "keys 1\n\n", -EBADMSG,
		   "line 8: want \"index-size VALUE\"");
}

TEST(numbers_and_hashes_are_strict)
{
	refused_ts("serial 42", "serial 042", -EBADMSG,
		   "serial must be a number from 1 to");
	refused_ts("serial 42", "serial +42", -EBADMSG, "not \"+42\"");
	refused_ts("serial 42", "serial 0", -EBADMSG, "not \"0\"");
	refused_ts("serial 42", "serial 9223372036854775808", -EBADMSG,
		   "serial must be a number");
	refused_ts("index-size 300", "index-size 65537", -EBADMSG,
		   "index-size must be a number from 1 to 65536");
	refused_ts("index-hash aa", "index-hash AA", -EBADMSG,
		   "index-hash must be 64 lower-case hex digits");
	refused_ts(HASH_A, HASH_A "0", -EBADMSG,
		   "index-hash must be 64 lower-case hex digits");
	refused_ts("expires 2000", "expires 1000", -EBADMSG,
		   "expires before it was issued");
}

TEST(nul_and_size_caps)
{
	char big[SF_REPO_TIMESTAMP_CAP + 1];
	struct sf_repo_timestamp ts;
	char nul[sizeof(ts_text)];

	memset(big, 'x', sizeof(big));
	reset_log();
	CHECK_EQ(sf_repo_timestamp_parse(&test_ctx, "ts", big, sizeof(big),
					 &ts),
		 -EFBIG);
	CHECK_LOG("a timestamp document has at most 4096");
	memcpy(nul, ts_text, sizeof(ts_text));
	nul[20] = '\0';
	reset_log();
	CHECK_EQ(sf_repo_timestamp_parse(&test_ctx, "ts", nul,
					 sizeof(ts_text) - 1, &ts),
		 -EBADMSG);
	CHECK_LOG("contains a NUL byte");
	CHECK_EQ(sf_repo_timestamp_parse(&test_ctx, "ts", NULL, 0, &ts),
		 -EBADMSG);
}

TEST(index_rules)
{
	refused_index("floor 1.2", "floor 1.5", -EBADMSG,
		      "floor 1.5 is above version 1.4.0");
	refused_index("version 1.4.0", "version 1.04", -EBADMSG,
		      "version must be a version");
	refused_index("delta 1.3.0", "delta 1.4.0", -EBADMSG,
		      "base version 1.4.0 is not below 1.4.0");
	refused_index("delta 1.2.1", "delta 1.3.1", -EBADMSG,
		      "base version 1.3.1 is not below 1.3.0");
	refused_index("full 104857600", "full 0", -EBADMSG,
		      "want \"full SIZE HASH\"");
	refused_index(" 3145728 ", " 3145728 x ", -EBADMSG,
		      "want \"delta BASE-VERSION BASE-MANIFEST SIZE HASH\"");
	refused_index("compatible acme-gw\n", "", -EBADMSG,
		      "want \"compatible VALUE\"");
}

TEST(index_without_deltas_and_with_too_many)
{
	char text[8192];
	size_t n;

	n = (size_t)(strstr(index_text, "delta") - index_text);
	memcpy(text, index_text, n);
	text[n] = '\0';
	CHECK_EQ(parse_index(text), 0);
	for (unsigned i = 0; i <= SF_REPO_MAX_DELTAS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "delta 1.3.%u " HASH_A " 1 " HASH_B "\n",
				      SF_REPO_MAX_DELTAS - i);
	CHECK_EQ(parse_index(text), -EBADMSG);
	CHECK_LOG("more than 16 deltas");
}

/* Three key pairs and a set of them with @threshold. */
struct keys {
	struct ms_pubkey pk[3];
	struct ms_seckey sk[3];
	struct sf_repo_keyset set;
};

static void make_keys(struct keys *k, uint64_t set, unsigned threshold)
{
	memset(k, 0, sizeof(*k));
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(ms_keygen(&k->pk[i], &k->sk[i]), 0);
		k->set.keys[i] = k->pk[i];
	}
	strcpy(k->set.product, "acme");
	strcpy(k->set.compatible, "acme-gw");
	k->set.set = set;
	k->set.threshold = threshold;
	k->set.issued = 1000;
	k->set.n_keys = 3;
}

TEST(keyset_round_trip_and_rules)
{
	struct keys k;
	struct sf_repo_keyset back;
	_cleanup_free_ char *text = NULL, *dup = NULL, *high = NULL;
	size_t len;
	char line[128];

	make_keys(&k, 1, 2);
	CHECK_EQ(sf_repo_keyset_format(&test_ctx, &k.set, &text, &len), 0);
	CHECK(strstr(text, "slotflip-repo keys 1\nproduct acme\n"));
	CHECK_EQ(sf_repo_keyset_parse(&test_ctx, "keys/1", text, len, &back),
		 0);
	CHECK_EQ(back.n_keys, 3);
	CHECK_EQ(back.threshold, 2);
	CHECK(!memcmp(back.keys[2].pk, k.pk[2].pk, MS_PUBLICKEY_BYTES));
	/* The same key twice. */
	snprintf(line, sizeof(line), "%.*s",
		 (int)strcspn(strstr(text, "key "), "\n"),
		 strstr(text, "key "));
	{
		char buf[4096];

		snprintf(buf, sizeof(buf), "%s%s\n", text, line);
		reset_log();
		CHECK_EQ(sf_repo_keyset_parse(&test_ctx, "k", buf, strlen(buf),
					      &back),
			 -EBADMSG);
		CHECK_LOG("line 10: key given twice");
	}
	high = edit(text, "threshold 2", "threshold 4");
	reset_log();
	CHECK_EQ(sf_repo_keyset_parse(&test_ctx, "k", high, strlen(high),
				      &back),
		 -EBADMSG);
	CHECK_LOG("threshold 4 is above the 3 keys");
	dup = edit(text, "key RW", "key XW");
	reset_log();
	CHECK_EQ(sf_repo_keyset_parse(&test_ctx, "k", dup, strlen(dup), &back),
		 -EBADMSG);
	CHECK_LOG("line 7: not a minisign public key");
	/* The formatter refuses what a reader would. */
	k.set.threshold = 0;
	reset_log();
	free(text);
	text = NULL;
	CHECK_EQ(sf_repo_keyset_format(&test_ctx, &k.set, &text, &len),
		 -EBADMSG);
	CHECK_LOG("new keys document: line 5: threshold must be");
	CHECK(text == NULL);
}

static char *sign_with(const char *doc, const char *comment,
		       const struct ms_seckey *keys, unsigned n, size_t *len)
{
	char *sigs = NULL;

	CHECK_EQ(sf_repo_sign(&test_ctx, doc, strlen(doc), comment, keys, n,
			      &sigs, len),
		 0);
	return sigs;
}

static int check(const char *doc, const char *sigs, size_t len,
		 const struct sf_repo_keyset *ks, const char *comment)
{
	reset_log();
	return sf_repo_check_sigs(&test_ctx, "doc", doc, strlen(doc), sigs, len,
				  ks, comment);
}

TEST(signatures_count_distinct_keys_of_the_set)
{
	struct keys k, other;
	struct ms_seckey two[3];
	_cleanup_free_ char *s2 = NULL, *s1 = NULL, *twice = NULL,
			    *foreign = NULL;
	size_t l2, l1, lt, lf;
	const char *c = "slotflip-repo timestamp product:acme channel:stable";

	make_keys(&k, 1, 2);
	make_keys(&other, 1, 1);
	s2 = sign_with(ts_text, c, k.sk, 2, &l2);
	CHECK_EQ(check(ts_text, s2, l2, &k.set, c), 2);
	k.set.threshold = 3;
	CHECK_EQ(check(ts_text, s2, l2, &k.set, c), -EKEYREJECTED);
	CHECK_LOG("by 2 of the 3 keys of key set 1, 3 required");
	k.set.threshold = 2;
	/* One key twice counts once. */
	two[0] = k.sk[0];
	two[1] = k.sk[0];
	twice = sign_with(ts_text, c, two, 2, &lt);
	CHECK_EQ(check(ts_text, twice, lt, &k.set, c), -EKEYREJECTED);
	CHECK_LOG("by 1 of the 3 keys");
	/* Keys of another set count for nothing. */
	foreign = sign_with(ts_text, c, other.sk, 3, &lf);
	CHECK_EQ(check(ts_text, foreign, lf, &k.set, c), -EKEYREJECTED);
	CHECK_LOG("by 0 of the 3 keys");
	/* Another role's comment, or another document. */
	CHECK_EQ(check(ts_text, s2, l2, &k.set,
		       "slotflip-repo index product:acme channel:stable"),
		 -EKEYREJECTED);
	CHECK_EQ(check(index_text, s2, l2, &k.set, c), -EKEYREJECTED);
	s1 = sign_with(ts_text, c, k.sk, 1, &l1);
	k.set.threshold = 1;
	CHECK_EQ(check(ts_text, s1, l1, &k.set, c), 1);
}

/* The length of the first three lines of @s. */
static size_t three_lines(const char *s)
{
	const char *p = s;

	for (unsigned i = 0; i < 3; i++)
		p = strchr(p, '\n') + 1;
	return (size_t)(p - s);
}

TEST(sign_needs_one_to_sixteen_keys)
{
	struct keys k;
	char *sigs = NULL;
	size_t len;

	make_keys(&k, 1, 1);
	reset_log();
	CHECK_EQ(sf_repo_sign(&test_ctx, "x", 1, "c", k.sk, 0, &sigs, &len),
		 -EINVAL);
	CHECK_EQ(sf_repo_sign(&test_ctx, "x", 1, "c", k.sk, 17, &sigs, &len),
		 -EINVAL);
	CHECK_LOG("sign with 1 to 16 keys, not 17");
	CHECK(sigs == NULL);
	CHECK_EQ(sf_repo_sign(&test_ctx, "x", 1, "bad\ncomment", k.sk, 1, &sigs,
			      &len),
		 -EINVAL);
	CHECK(sigs == NULL);
}

TEST(signature_file_rules)
{
	struct keys k;
	_cleanup_free_ char *s = NULL, *changed = NULL, *big = NULL;
	size_t l;
	const char *c = "slotflip-repo index product:acme channel:stable";

	make_keys(&k, 1, 1);
	s = sign_with(index_text, c, k.sk, 1, &l);
	/* Three lines are not a signature. */
	CHECK_EQ(check(index_text, s, three_lines(s), &k.set, c), -EBADMSG);
	CHECK_EQ(check(index_text, s, l - 1, &k.set, c), -EBADMSG);
	CHECK_LOG("not 1 to 16 minisign signatures of 4 lines each");
	CHECK_EQ(check(index_text, s, 0, &k.set, c), -EBADMSG);
	CHECK_LOG("the signature file is empty");
	/* The untrusted comment is not signed, yet must be canonical. */
	changed = edit(s, "signature from slotflip", "signature from slotflop");
	CHECK_EQ(check(index_text, changed, l, &k.set, c), -EKEYREJECTED);
	big = malloc(17 * l + 1);
	for (unsigned i = 0; i < 17; i++)
		memcpy(big + i * l, s, l);
	CHECK_EQ(check(index_text, big, 17 * l, &k.set, c), -EBADMSG);
	CHECK_LOG("not 1 to 16");
	CHECK_EQ(check(index_text, big, SF_REPO_SIGFILE_CAP + 1, &k.set, c),
		 -EFBIG);
	for (unsigned i = 0; i < 16; i++)
		memcpy(big + i * l, s, l);
	CHECK_EQ(check(index_text, big, 16 * l, &k.set, c), 1);
}

/* Key set 2 from @old (threshold 2), signed by @signers. */
static int rotate(const struct keys *old, const struct keys *new,
		  const struct ms_seckey *signers, unsigned n)
{
	_cleanup_free_ char *text = NULL, *sigs = NULL;
	struct sf_repo_keyset got;
	char comment[256];
	size_t len, slen;

	CHECK_EQ(sf_repo_keyset_format(&test_ctx, &new->set, &text, &len), 0);
	sf_repo_comment(SF_REPODOC_KEYS, "acme", NULL, new->set.set, comment,
			sizeof(comment));
	sigs = sign_with(text, comment, signers, n, &slen);
	reset_log();
	return sf_repo_keyset_accept(&test_ctx, "keys/2", &old->set, text, len,
				     sigs, slen, &got);
}

TEST(rotation_needs_both_thresholds)
{
	struct keys old, new;
	struct ms_seckey s[4];
	char comment[256];

	make_keys(&old, 1, 2);
	make_keys(&new, 2, 2);
	sf_repo_comment(SF_REPODOC_KEYS, "acme", NULL, 2, comment,
			sizeof(comment));
	CHECK_STREQ(comment, "slotflip-repo keys product:acme set:2");
	s[0] = old.sk[0];
	s[1] = old.sk[2];
	s[2] = new.sk[1];
	s[3] = new.sk[0];
	CHECK_EQ(rotate(&old, &new, s, 4), 0);
	CHECK_EQ(rotate(&old, &new, s + 2, 2), -EKEYREJECTED);
	CHECK_LOG("by 0 of the 3 keys of key set 1, 2 required");
	CHECK_EQ(rotate(&old, &new, s, 2), -EKEYREJECTED);
	CHECK_LOG("by 0 of the 3 keys of key set 2, 2 required");
	CHECK_EQ(rotate(&old, &new, s + 1, 2), -EKEYREJECTED);
	new.set.set = 3;
	CHECK_EQ(rotate(&old, &new, s, 4), -EBADMSG);
	CHECK_LOG("key set 3 does not follow set 1");
	new.set.set = 2;
	strcpy(new.set.product, "other");
	CHECK_EQ(rotate(&old, &new, s, 4), -EBADMSG);
	CHECK_LOG("key set for other/acme-gw, the trusted one is for "
		  "acme/acme-gw");
}

TEST(clock_takes_the_latest)
{
	CHECK_EQ(sf_repo_clock(5, 3, 4), 5);
	CHECK_EQ(sf_repo_clock(0, 3, 4), 4);
	CHECK_EQ(sf_repo_clock(0, 9, 4), 9);
}

TEST(timestamp_checks)
{
	struct sf_repo_timestamp ts;
	struct sf_repo_seen seen = { .ts_serial = 42 };

	CHECK_EQ(sf_repo_timestamp_parse(&test_ctx, "ts", ts_text,
					 strlen(ts_text), &ts),
		 0);
	CHECK_EQ(sf_repo_timestamp_check(&test_ctx, "ts", &ts, "acme", "stable",
					 1, &seen, 1999),
		 0);
	CHECK_EQ(sf_repo_timestamp_check(&test_ctx, "ts", &ts, "acme", "stable",
					 1, NULL, 2000),
		 -ESTALE);
	CHECK_LOG("ts: expired at 2000 (now 2000)");
	seen.ts_serial = 43;
	CHECK_EQ(sf_repo_timestamp_check(&test_ctx, "ts", &ts, "acme", "stable",
					 1, &seen, 1500),
		 -ERANGE);
	CHECK_LOG("serial 42 is below 43, seen before");
	CHECK_EQ(sf_repo_timestamp_check(&test_ctx, "ts", &ts, "acme", "beta",
					 1, NULL, 1500),
		 -EBADMSG);
	CHECK_LOG("channel stable, this device wants beta");
	CHECK_EQ(sf_repo_timestamp_check(&test_ctx, "ts", &ts, "acme", "stable",
					 2, NULL, 1500),
		 -EBADMSG);
	CHECK_LOG("names key set 1, the one in force is 2");
}

TEST(index_checks)
{
	struct sf_repo_index idx;
	struct sf_repo_timestamp ts = { .index_size = strlen(index_text) };
	struct sf_repo_seen seen = { .index_serial = 7 };

	CHECK_EQ(parse_index(index_text), 0);
	sf_repo_index_parse(&test_ctx, "idx", index_text, strlen(index_text),
			    &idx);
	sf_repo_hash(index_text, strlen(index_text), ts.index_hash);
	CHECK_EQ(sf_repo_index_bytes_check(&test_ctx, "idx", &ts, index_text,
					   strlen(index_text)),
		 0);
	CHECK_EQ(sf_repo_index_bytes_check(&test_ctx, "idx", &ts, index_text,
					   strlen(index_text) - 1),
		 -EBADMSG);
	CHECK_LOG("the timestamp says");
	ts.index_hash[5] ^= 1;
	CHECK_EQ(sf_repo_index_bytes_check(&test_ctx, "idx", &ts, index_text,
					   strlen(index_text)),
		 -EBADMSG);
	CHECK_LOG("not the one the timestamp names");
	strcpy(seen.floor, "1.4.0");
	CHECK_EQ(sf_repo_index_check(&test_ctx, "idx", &idx, "acme", "acme-gw",
				     "stable", &seen, 4999),
		 0);
	strcpy(seen.floor, "1.4.1");
	CHECK_EQ(sf_repo_index_check(&test_ctx, "idx", &idx, "acme", "acme-gw",
				     "stable", &seen, 10),
		 -ERANGE);
	CHECK_LOG("version 1.4.0 is below the floor 1.4.1");
	seen.floor[0] = '\0';
	seen.index_serial = 8;
	CHECK_EQ(sf_repo_index_check(&test_ctx, "idx", &idx, "acme", "acme-gw",
				     "stable", &seen, 10),
		 -ERANGE);
	CHECK_EQ(sf_repo_index_check(&test_ctx, "idx", &idx, "acme", "other",
				     "stable", NULL, 10),
		 -EBADMSG);
	CHECK_LOG("compatible acme-gw, this device wants other");
	CHECK_EQ(sf_repo_index_check(&test_ctx, "idx", &idx, "acme", "acme-gw",
				     "stable", NULL, 5000),
		 -ESTALE);
}

TEST(read_at_caps_and_refuses_links)
{
	char *buf = NULL;
	size_t len;

	test_write_file("doc", "12345", 5);
	CHECK_EQ(sf_repo_read_at(&test_ctx, AT_FDCWD, "doc", 5, &buf, &len), 0);
	CHECK_EQ(len, 5);
	CHECK_STREQ(buf, "12345");
	free(buf);
	reset_log();
	CHECK_EQ(sf_repo_read_at(&test_ctx, AT_FDCWD, "doc", 4, &buf, &len),
		 -EFBIG);
	CHECK_LOG("doc: more than 4 bytes");
	CHECK(symlink("doc", "link") == 0);
	CHECK_EQ(sf_repo_read_at(&test_ctx, AT_FDCWD, "link", 5, &buf, &len),
		 -ELOOP);
	CHECK(mkfifo("fifo", 0600) == 0);
	CHECK_EQ(sf_repo_read_at(&test_ctx, AT_FDCWD, "fifo", 5, &buf, &len),
		 -EINVAL);
	CHECK_LOG("fifo: not a regular file");
}
