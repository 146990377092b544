// SPDX-License-Identifier: LGPL-2.1-or-later
/* keygen and sign. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fileio.h"
#include "imgwrite.h"
#include "util.h"

/* Write @text to @path through a temporary file, with mode @mode. */
static int write_key_file(const char *path, const char *text, int mode)
{
	int r = write_file_atomic(path, text, strlen(text), mode);

	if (r < 0) {
		fprintf(stderr, "slotflip-image: error: cannot write %s: %s\n",
			path, strerror(-r));
		return EXIT_IO;
	}
	return EXIT_OK;
}

static const char keygen_help[] =
	"Usage: slotflip-image keygen -p PUB -s SEC [--force]\n"
	"Make an Ed25519 key pair in minisign's formats. The secret key is\n"
	"written unencrypted with mode 0600: keep it on the build server.\n"
	"Existing files are never overwritten without --force.\n";

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pub = NULL, *sec = NULL;
	char pub_text[MS_PUBKEY_TEXT_SIZE], sec_text[MS_SECKEY_TEXT_SIZE];
	struct ms_pubkey pk;
	struct ms_seckey sk;
	bool force = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "p:s:f", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pub = optarg;
			break;
		case 's':
			sec = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			fputs(keygen_help, stdout);
			return EXIT_OK;
		default:
			return usage_error("keygen", "bad option");
		}
	}
	if (!pub || !sec || optind != argc)
		return usage_error("keygen", "give -p PUB and -s SEC");
	if (!force && (access(pub, F_OK) == 0 || access(sec, F_OK) == 0)) {
		fprintf(stderr,
			"slotflip-image keygen: error: %s exists; give --force "
			"to replace the key pair\n",
			access(sec, F_OK) == 0 ? sec : pub);
		return EXIT_IO;
	}
	if (ms_keygen(&pk, &sk) < 0 ||
	    ms_pubkey_format(&pk, pub_text, sizeof(pub_text)) < 0 ||
	    ms_seckey_format(&sk, sec_text, sizeof(sec_text)) < 0) {
		ms_seckey_wipe(&sk);
		return EXIT_IO;
	}
	ms_seckey_wipe(&sk);
	r = write_key_file(sec, sec_text, 0600);
	sodium_memzero(sec_text, sizeof(sec_text));
	if (r == EXIT_OK)
		r = write_key_file(pub, pub_text, 0644);
	if (r == EXIT_OK) {
		char id[17];

		ms_keyid_hex(pk.keyid, id);
		printf("key %s: public key %s, secret key %s\n", id, pub, sec);
	}
	return r;
}

static const char sign_help[] =
	"Usage: slotflip-image sign IMAGE --key SEC [--password-file FILE]\n"
	"Add a signature by SEC to IMAGE (the file is replaced atomically;\n"
	"the manifest does not change).\n";

int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "key", required_argument, NULL, 'k' },
		{ "password-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	char *key = NULL;
	const char *password_file = NULL;
	struct ms_seckey sk;
	int c, r;

	while ((c = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'P':
			password_file = optarg;
			break;
		case 'h':
			fputs(sign_help, stdout);
			return EXIT_OK;
		default:
			return usage_error("sign", "bad option");
		}
	}
	if (!key || optind + 1 != argc)
		return usage_error("sign", "give IMAGE and --key SEC");
	r = load_seckeys(&key, 1, password_file, &sk);
	if (r != EXIT_OK)
		return r;
	r = sf_image_add_signature(&cli_ctx, argv[optind], &sk);
	ms_seckey_wipe(&sk);
	if (r == -EEXIST)
		return EXIT_OK;
	if (r == -ENOSPC)
		return EXIT_REFUSED;
	return r < 0 ? exit_for_image_error(r) : EXIT_OK;
}
