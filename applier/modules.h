/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading kernel modules with libkmod, from the module tree of the
 * initramfs (/lib/modules/RELEASE with depmod's output): each module with
 * the modules it depends on (modules.dep).
 */
#pragma once

#include "initplan.h"
#include "log.h"

/*
 * sf_modules_load - load the @n modules of @names from the tree
 * @moddir (under ctx->root; NULL: /lib/modules/<running release>).
 * A module built into the kernel or already loaded counts as loaded.
 * Every failure is logged (naming the module and why); loading goes on
 * with the next one. Returns the number of modules that could not be
 * loaded (0 = all), or -errno when libkmod cannot start (no module tree).
 */
int sf_modules_load(const struct sf_ctx *ctx, const char *moddir,
		    char (*names)[SF_MODULE_NAME_MAX], size_t n);

/*
 * sf_modules_load_list - read the module list file @path (under
 * ctx->root; format: sf_modlist_parse()) and load its modules. A missing
 * list loads nothing. Returns as sf_modules_load(), or -EINVAL for a list
 * that does not parse (with a message naming the line).
 */
int sf_modules_load_list(const struct sf_ctx *ctx, const char *path,
			 const char *moddir);
