// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int read_password_file(const char *path, char **ret)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr,
			"slotflip-image: error: cannot read password file %s: "
			"%m\n",
			path);
		return EXIT_KEY;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		/* An empty file: the empty password. */
		free(line);
		line = strdup("");
		n = 0;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*ret = TAKE_PTR(line);
	return *ret ? EXIT_OK : EXIT_IO;
}

int load_seckeys(char **paths, unsigned n, const char *password_file,
		 struct ms_seckey *ret)
{
	_cleanup_free_ char *password = NULL;
	int r = 0;

	if (password_file &&
	    (r = read_password_file(password_file, &password)) != EXIT_OK)
		return r;
	for (unsigned i = 0; i < n; i++) {
		r = ms_seckey_load(&cli_ctx, paths[i], password, &ret[i]);
		if (r == -EKEYREJECTED && !password)
			fprintf(stderr,
				"slotflip-image: error: secret key %s is "
				"password-protected: give its password with "
				"--password-file FILE\n",
				paths[i]);
		if (r < 0) {
			fprintf(stderr,
				"slotflip-image: error: cannot use secret key "
				"%s\n",
				paths[i]);
			break;
		}
	}
	if (password)
		sodium_memzero(password, strlen(password));
	return r < 0 ? EXIT_KEY : EXIT_OK;
}

int load_pubkeys(char **paths, unsigned n, struct ms_pubkey *ret)
{
	for (unsigned i = 0; i < n; i++)
		if (ms_pubkey_load(&cli_ctx, paths[i], &ret[i]) < 0) {
			fprintf(stderr,
				"slotflip-image: error: cannot use public key "
				"%s\n",
				paths[i]);
			return EXIT_KEY;
		}
	return EXIT_OK;
}

int open_verified(const char *path, const struct ms_pubkey *keys,
		  unsigned n_keys, unsigned threshold, struct sf_image **ret)
{
	struct sf_image *img = NULL;
	int r;

	r = sf_image_open(&cli_ctx, path, &img);
	if (r < 0)
		return exit_for_image_error(r);
	r = sf_image_check_signatures(&cli_ctx, img, keys, n_keys, threshold);
	if (r < 0) {
		sf_image_close(img);
		return exit_for_image_error(r);
	}
	*ret = img;
	return EXIT_OK;
}

bool path_join(char *buf, size_t size, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);

	if (d + 1 + n >= size)
		return false;
	memcpy(buf, dir, d);
	buf[d] = '/';
	memcpy(buf + d + 1, name, n + 1);
	return true;
}
