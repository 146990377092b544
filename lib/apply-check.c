// SPDX-License-Identifier: LGPL-2.1-or-later
#include "apply-check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "version.h"

static int refuse(const struct sf_ctx *ctx, char *reason, size_t size,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(const struct sf_ctx *ctx, char *reason, size_t size,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
	return sf_err(ctx, -EPERM, "refused: %s", reason);
}

static int check_version(const struct sf_ctx *ctx, const struct sf_image *img,
			 const struct sf_apply_policy *p, char *reason,
			 size_t size)
{
	const char *v = img->m.version;
	int cmp;

	if (p->floor && p->floor[0] &&
	    (sf_version_cmp_str(v, p->floor, &cmp) < 0 || cmp <= 0))
		return refuse(ctx, reason, size,
			      "version %s is not above the anti-rollback floor "
			      "%s",
			      v, p->floor);
	if (p->running_version && p->running_version[0] &&
	    (sf_version_cmp_str(v, p->running_version, &cmp) < 0 || cmp < 0))
		return refuse(ctx, reason, size,
			      "version %s is below the running version %s "
			      "(a downgrade)",
			      v, p->running_version);
	if ((img->m.flags & SF_MANIFEST_FLAG_DELTA) &&
	    (!p->running_version ||
	     strcmp(img->m.base_version, p->running_version) != 0))
		return refuse(ctx, reason, size,
			      "delta image made against version %s, but the "
			      "running slot has %s",
			      img->m.base_version,
			      p->running_version && p->running_version[0]
				      ? p->running_version
				      : "an unknown version");
	return 0;
}

int sf_apply_precheck(const struct sf_ctx *ctx, const struct sf_image *img,
		      const struct sf_apply_policy *p, char *reason,
		      size_t size)
{
	const struct sf_payload *rootfs =
		sf_manifest_payload(&img->m, SF_PAYLOAD_ROOTFS);
	const struct sf_payload *efi =
		sf_manifest_payload(&img->m, SF_PAYLOAD_EFI);
	int r;

	if (strcmp(img->m.compatible, p->compatible) != 0)
		return refuse(ctx, reason, size,
			      "image is for \"%s\", this device is \"%s\"",
			      img->m.compatible, p->compatible);
	r = check_version(ctx, img, p, reason, size);
	if (r < 0)
		return r;
	if (rootfs->size > p->slot_size)
		return refuse(ctx, reason, size,
			      "root filesystem of %llu bytes does not fit the "
			      "%llu-byte slot",
			      (unsigned long long)rootfs->size,
			      (unsigned long long)p->slot_size);
	if (!efi)
		return refuse(ctx, reason, size, "image has no EFI binary");
	if (efi->size > SF_EFI_PAYLOAD_MAX)
		return refuse(ctx, reason, size,
			      "EFI binary of %llu bytes is over the %llu limit",
			      (unsigned long long)efi->size,
			      SF_EFI_PAYLOAD_MAX);
	return 0;
}
