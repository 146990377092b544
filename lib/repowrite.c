// SPDX-License-Identifier: LGPL-2.1-or-later
#include "repowrite.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int sf_repo_sign(const struct sf_ctx *ctx, const void *doc, size_t len,
		 const char *comment, const struct ms_seckey *keys,
		 unsigned n_keys, char **ret_text, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	uint8_t hash[MS_HASH_BYTES];

	if (n_keys == 0 || n_keys > SF_REPO_MAX_SIGS)
		return sf_err(ctx, -EINVAL, "sign with 1 to %u keys, not %u",
			      SF_REPO_MAX_SIGS, n_keys);
	ms_hash(doc, len, hash);
	for (unsigned i = 0; i < n_keys; i++) {
		_cleanup_free_ char *sig = NULL;
		size_t n;
		char *grown;
		int e = ms_sign_prehashed(ctx, &keys[i], hash, comment, &sig);

		if (e < 0)
			return e;
		n = strlen(sig);
		grown = realloc(out, out_len + n + 1);
		if (!grown)
			return -ENOMEM;
		out = grown;
		memcpy(out + out_len, sig, n + 1);
		out_len += n;
	}
	*ret_text = TAKE_PTR(out);
	*ret_len = out_len;
	return 0;
}
