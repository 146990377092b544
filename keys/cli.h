/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared pieces of the slotflip-image commands. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cliutil.h"
#include "image.h"
#include "log.h"
#include "minisign.h"
#include "seckey.h"

#define MAX_KEYS 16

extern struct sf_ctx cli_ctx;

int cmd_keygen(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_repo(int argc, char **argv);

/* Print "slotflip-image CMD: error: ..." and return EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Exit code for a failed image step: refused for bad data, else I/O. */
int exit_for_image_error(int r);

/* Read a password from the first line of @path into a malloc'd string. */
int read_password_file(const char *path, char **ret);

/* Load secret keys (with an optional password file). EXIT_* on failure. */
int load_seckeys(char **paths, unsigned n, const char *password_file,
		 struct ms_seckey *ret);

/* Load trusted public keys. EXIT_* on failure. */
int load_pubkeys(char **paths, unsigned n, struct ms_pubkey *ret);

/*
 * Open @path and check its signatures against @keys; EXIT_* on failure.
 * On success *@ret is the image with its manifest loaded.
 */
int open_verified(const char *path, const struct ms_pubkey *keys,
		  unsigned n_keys, unsigned threshold, struct sf_image **ret);

/*
 * Write payload @p of the verified image @img to @out (through a
 * temporary file renamed into place); a delta reads its base payload
 * from @base_path. Returns 0 or -errno, with a message.
 */
int extract_payload(struct sf_image *img, const struct sf_payload *p,
		    const char *out, const char *base_path);

/* @dir "/" @name into @buf (@size bytes); false if it does not fit. */
bool path_join(char *buf, size_t size, const char *dir, const char *name);
