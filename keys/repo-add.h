/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The options of the repo commands, and repo add (keys/repo-add.c). */
#pragma once

#include "repo.h"

struct repo_args {
	/* "repo add" etc., for messages. */
	char cmd[32];
	const char *dir;
	/* The argument after DIR: IMAGE (add), VERSION (promote). */
	const char *arg;
	char *keys[MAX_KEYS];
	unsigned n_keys;
	char *new_keys[MAX_KEYS];
	unsigned n_new_keys;
	char *image_keys[MAX_KEYS];
	unsigned n_image_keys;
	char *pubkeys[MAX_KEYS];
	unsigned n_pubkeys;
	const char *product, *compatible, *channel, *from, *to, *floor;
	const char *password_file;
	unsigned long threshold, deltas, ts_days, index_days;
	uint64_t now;
};

/*
 * repo add: put the full image a->arg in the repository with deltas
 * from the last a->deltas versions (signed by @image_keys,
 * a->n_image_keys of them), and offer it in a->channel.
 */
int repo_add(struct repo *r, struct repo_args *a,
	     const struct ms_seckey *image_keys);

/* The channel's new floor into @out: --floor, else the old one (or 0). */
int repo_new_floor(struct repo_args *a, const struct channel *c,
		   const char *version, char *out);

/* @version must be above what channel @c offers. */
int repo_check_newer(const struct channel *c, const char *version);
