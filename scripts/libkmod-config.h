/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.h for building libkmod 30 (Debian bookworm's kmod source package)
 * as a static archive without its autotools build: see
 * scripts/build-libkmod.sh. These are the values kmod's configure finds with
 * glibc 2.36 on Debian 12, amd64. No compression and no OpenSSL support:
 * our kernel modules are plain .ko files, and nothing reads their signatures.
 */
#pragma once

#define PACKAGE "kmod"
#define VERSION "30"
#define KMOD_FEATURES ""

/* glibc 2.36 */
#define HAVE_SECURE_GETENV 1
#define HAVE_STRUCT_STAT_ST_MTIM 1
#define HAVE_DECL_STRNDUPA 1
#define HAVE_DECL_BE32TOH 1
#define HAVE_LINUX_MODULE_H 1
/* glibc has no finit_module() wrapper: kmod calls syscall() (missing.h). */
#undef HAVE_FINIT_MODULE
#undef HAVE___SECURE_GETENV
#undef HAVE___XSTAT

/* gcc 12, C11 */
#define HAVE_STATIC_ASSERT 1
#define HAVE_NORETURN 1
#define HAVE___BUILTIN_CLZ 1
#define HAVE___BUILTIN_TYPES_COMPATIBLE_P 1
#define HAVE___BUILTIN_UADDL_OVERFLOW 1
#define HAVE___BUILTIN_UADDLL_OVERFLOW 1

/* Messages go to the log function the caller installs (kmod_set_log_fn). */
#define ENABLE_LOGGING 1
#undef ENABLE_DEBUG
#undef ENABLE_ZLIB
#undef ENABLE_XZ
#undef ENABLE_ZSTD
#undef ENABLE_OPENSSL
#undef ENABLE_EXPERIMENTAL
