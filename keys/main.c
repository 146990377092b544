// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip-image: the build server's tool. Makes keys, creates, signs,
 * verifies and inspects slotflip images (docs/FORMAT.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

struct sf_ctx cli_ctx = {
	.root = "/",
	.log_fn = sf_log_stderr,
	.log_data = "slotflip-image",
	.log_level = SF_LOG_WARNING,
};

static const char help_text[] =
	"Usage: slotflip-image COMMAND [OPTIONS]\n"
	"\n"
	"Make and check signed slotflip update images (docs/FORMAT.md).\n"
	"\n"
	"Commands:\n"
	"  keygen -p PUB -s SEC [--force]\n"
	"      Make an Ed25519 key pair in minisign's formats (the secret\n"
	"      key unencrypted, mode 0600, never overwritten without --force).\n"
	"  create --rootfs FILE --efi FILE --version V --compatible C\n"
	"         --key SEC [--key SEC2 ...] [--delta-from OLD_IMAGE] -o IMAGE\n"
	"      Create a signed image; with --delta-from, a delta against a\n"
	"      full image of an earlier version.\n"
	"  sign IMAGE --key SEC\n"
	"      Add a signature.\n"
	"  verify IMAGE --pubkey PUB [--pubkey PUB2 ...] [--threshold K]\n"
	"         [--content [--base-rootfs FILE] [--base-efi FILE]]\n"
	"      Check the signatures (K of the given keys, default 1), then\n"
	"      the hash of every chunk; with --content also decode every\n"
	"      chunk and check its length and content hash.\n"
	"  inspect IMAGE [--json]\n"
	"      Show what an image holds (checks nothing: use verify).\n"
	"  manifest IMAGE -o MANIFEST -x MANIFEST.minisig [--signature N]\n"
	"      Write the manifest and one signature, for `minisign -V`.\n"
	"  extract IMAGE --pubkey PUB [--threshold K] --rootfs OUT\n"
	"          [--efi OUT] [--base-rootfs FILE] [--base-efi FILE]\n"
	"      Verify, then write the payloads out (a delta needs its base).\n"
	"  repo init|add|refresh|promote|rotate-keys|verify DIR ...\n"
	"      Write and check an update repository for a fleet\n"
	"      (docs/REPO.md); `slotflip-image repo --help` lists them.\n"
	"\n"
	"Run `slotflip-image COMMAND --help` for a command's options.\n"
	"\n"
	"Exit status:\n"
	"  0  success\n"
	"  1  the image is refused: not an image, unknown format version,\n"
	"     malformed, truncated, tampered, too few valid signatures,\n"
	"     or a delta whose base is missing or wrong\n"
	"  2  usage error (unknown option, missing argument, bad value)\n"
	"  5  a file could not be read or written (missing, permissions,\n"
	"     disk full)\n"
	"  7  a key file is unusable or a password is wrong\n"
	"  8  verify --content: nothing is wrong, but chunks of a delta\n"
	"     could not be checked without its base payloads (--base-*)\n"
	"(The statuses mean the same in slotflip, the device's tool.)\n";

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "slotflip-image %s: error: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun `slotflip-image %s --help` for usage.\n", cmd);
	return EXIT_USAGE;
}

int exit_for_image_error(int r)
{
	switch (r) {
	case -EBADMSG:
	case -EPROTONOSUPPORT:
	case -EKEYREJECTED:
	case -EXDEV:
		return EXIT_REFUSED;
	default:
		return EXIT_IO;
	}
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "keygen", cmd_keygen },   { "create", cmd_create },
	{ "sign", cmd_sign },	    { "verify", cmd_verify },
	{ "inspect", cmd_inspect }, { "manifest", cmd_manifest },
	{ "extract", cmd_extract }, { "repo", cmd_repo },
};

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "slotflip-image: error: libsodium failed\n");
		return EXIT_IO;
	}
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(help_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (getenv("SLOTFLIP_DEBUG"))
		cli_ctx.log_level = SF_LOG_DEBUG;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr,
		"slotflip-image: error: unknown command \"%s\"\n"
		"Run `slotflip-image --help` for the list of commands.\n",
		argv[1]);
	return EXIT_USAGE;
}
