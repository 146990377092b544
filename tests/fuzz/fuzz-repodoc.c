// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the repository documents (docs/REPO.md), which a device
 * reads from a server it does not trust. The first byte picks what the
 * rest is: a key set, a timestamp, an index (one that parses must format
 * back to the same bytes, its strings terminated), or a signature file
 * checked against a fixed key set (the key of minisign's test vector,
 * the signature of "hello\n" with the comment "my comment").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repodoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VEC_PUB                                                                \
	"untrusted comment: minisign public key F5104028E79D833F\n"            \
	"RWQ/g53nKEAQ9Yuf/FGTNLPaAQhOL65eMdO+FLdrf/SLntLd8OipM23p\n"

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		abort();
}

static void same_bytes(char *text, size_t len, const char *in, size_t n)
{
	if (len != n || memcmp(text, in, n))
		abort();
	free(text);
}

static void keyset(const char *in, size_t n)
{
	struct sf_repo_keyset ks;
	char *text;
	size_t len;

	if (sf_repo_keyset_parse(NULL, "fuzz", in, n, &ks) < 0)
		return;
	check_str(ks.product, sizeof(ks.product));
	if (ks.n_keys == 0 || ks.n_keys > SF_REPO_MAX_KEYS ||
	    ks.threshold == 0 || ks.threshold > ks.n_keys ||
	    sf_repo_keyset_format(NULL, &ks, &text, &len) < 0)
		abort();
	same_bytes(text, len, in, n);
}

static void timestamp(const char *in, size_t n)
{
	struct sf_repo_timestamp ts;
	char *text;
	size_t len;

	if (sf_repo_timestamp_parse(NULL, "fuzz", in, n, &ts) < 0)
		return;
	check_str(ts.channel, sizeof(ts.channel));
	if (ts.expires <= ts.issued ||
	    sf_repo_timestamp_format(NULL, &ts, &text, &len) < 0)
		abort();
	same_bytes(text, len, in, n);
}

static void index_doc(const char *in, size_t n)
{
	struct sf_repo_index idx;
	char *text;
	size_t len;

	if (sf_repo_index_parse(NULL, "fuzz", in, n, &idx) < 0)
		return;
	check_str(idx.version, sizeof(idx.version));
	check_str(idx.floor, sizeof(idx.floor));
	for (unsigned i = 0; i < idx.n_deltas; i++)
		check_str(idx.deltas[i].base_version,
			  sizeof(idx.deltas[i].base_version));
	if (idx.n_deltas > SF_REPO_MAX_DELTAS ||
	    sf_repo_index_format(NULL, &idx, &text, &len) < 0)
		abort();
	same_bytes(text, len, in, n);
}

static void sigfile(const char *in, size_t n)
{
	struct sf_repo_keyset ks = { .threshold = 1, .n_keys = 1, .set = 1 };
	int r;

	if (ms_pubkey_parse(NULL, VEC_PUB, strlen(VEC_PUB), &ks.keys[0]) < 0)
		abort();
	r = sf_repo_check_sigs(NULL, "fuzz", "hello\n", 6, in, n, &ks,
			       "my comment");
	if (r > 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		keyset(in, size - 1);
		break;
	case 1:
		timestamp(in, size - 1);
		break;
	case 2:
		index_doc(in, size - 1);
		break;
	default:
		sigfile(in, size - 1);
	}
	return 0;
}
