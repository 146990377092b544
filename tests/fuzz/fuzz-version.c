// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the version parser and comparison (versions come from
 * manifests, the state record, the slot's version file and the command
 * line). The input is two strings split at the first newline. A version
 * that parses must print back as the same string (one spelling each: no
 * leading zeros, no sign); comparison must be a total order: reflexive
 * and antisymmetric.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* @s parsed into @v prints back as @s. */
static void check_spelling(const char *s, const struct sf_version *v)
{
	char buf[SF_VERSION_MAX_PARTS * 11 + 1];
	size_t n = 0;

	if (v->n_parts < 1 || v->n_parts > SF_VERSION_MAX_PARTS)
		abort();
	for (unsigned i = 0; i < v->n_parts; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u",
				      i ? "." : "", v->part[i]);
	if (strcmp(buf, s) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[128], b[128];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t la = nl ? (size_t)(nl - data) : size;
	size_t lb = nl ? size - la - 1 : 0;
	struct sf_version va, vb;
	int pa, pb, cmp;

	if (la >= sizeof(a) || lb >= sizeof(b))
		return 0;
	memcpy(a, data, la);
	a[la] = '\0';
	memcpy(b, nl ? nl + 1 : data, lb);
	b[lb] = '\0';
	pa = sf_version_parse(a, &va);
	pb = sf_version_parse(b, &vb);
	if (pa == 0) {
		check_spelling(a, &va);
		if (sf_version_cmp(&va, &va) != 0)
			abort();
	}
	if (pa == 0 && pb == 0) {
		if (sign(sf_version_cmp(&va, &vb)) !=
		    -sign(sf_version_cmp(&vb, &va)))
			abort();
		if (sf_version_cmp_str(a, b, &cmp) != 0 ||
		    sign(cmp) != sign(sf_version_cmp(&va, &vb)))
			abort();
	} else if (sf_version_cmp_str(a, b, &cmp) == 0) {
		abort(); /* a string that does not parse compared */
	}
	return 0;
}
