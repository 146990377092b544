/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signing repository documents (docs/REPO.md, "Signatures"): the build
 * server's side of repodoc.h. Only slotflip-image links this module.
 */
#pragma once

#include <stddef.h>

#include "repodoc.h"
#include "seckey.h"

/*
 * sf_repo_sign - the signature file of @doc (@len bytes): one canonical
 * minisign signature per key of @keys (@n_keys, 1 to SF_REPO_MAX_SIGS),
 * each with the trusted comment @comment, one after the other; malloc'd,
 * NUL-terminated, its length in *@ret_len.
 * Returns 0, -EINVAL (no key, too many, a bad comment), -ENOMEM, -EIO.
 */
int sf_repo_sign(const struct sf_ctx *ctx, const void *doc, size_t len,
		 const char *comment, const struct ms_seckey *keys,
		 unsigned n_keys, char **ret_text, size_t *ret_len);
