// SPDX-License-Identifier: LGPL-2.1-or-later
#include "staging.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "util.h"

#define MANIFEST_MIN 360u
#define MANIFEST_MAX (64ull << 20)

int sf_staged_path(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   const char *name, char *buf, size_t size)
{
	char rel[SF_CONFIG_VALUE_MAX + 64];

	if (snprintf(rel, sizeof(rel), "%s/slotflip/%s", cfg->data_dir, name) >=
	    (int)sizeof(rel))
		return -ENAMETOOLONG;
	return sf_root_path(ctx, rel, buf, size);
}

int sf_image_claimed_size(const uint8_t *head, size_t len, uint64_t *ret)
{
	uint64_t m, data;

	if (len < SF_IMAGE_HEAD_BYTES || memcmp(head, "SLOTFLIP", 8) != 0)
		return -EBADMSG;
	if (le32_load(head + 8) != 1)
		return -EPROTONOSUPPORT;
	m = le64_load(head + 16);
	if (m < MANIFEST_MIN || m > MANIFEST_MAX ||
	    memcmp(head + SF_HEADER_SIZE, "SFMANIFS", 8) != 0)
		return -EBADMSG;
	data = le64_load(head + SF_HEADER_SIZE + 24);
	if (data > (1ull << 50))
		return -EBADMSG;
	*ret = sf_image_data_offset(m) + data;
	return 0;
}
