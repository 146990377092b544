// SPDX-License-Identifier: LGPL-2.1-or-later
/* create: make a signed (full or delta) image. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "imgwrite.h"
#include "util.h"

static const char create_help[] =
	"Usage: slotflip-image create --rootfs FILE --efi FILE --version V\n"
	"         --compatible C --key SEC [--key SEC2 ...] -o IMAGE\n"
	"         [--delta-from OLD_IMAGE [--base-pubkey PUB ...]\n"
	"         [--threshold K]] [--password-file FILE]\n"
	"         [--chunk-size BYTES] [--codec zstd|zlib] [--level L]\n"
	"         [--format 1|2] [--threads N]\n"
	"\n"
	"Create an image of the root filesystem image and the slot's EFI\n"
	"binary, compressed on all cores and signed by each --key.\n"
	"  --version V        1 to 8 dot-separated numbers, e.g. 1.10.0\n"
	"  --compatible C     the device string, [A-Za-z0-9._+-], e.g.\n"
	"                     acme-gateway-v2\n"
	"  --delta-from OLD   make a delta against OLD, a full image of an\n"
	"                     earlier version for the same device, whose\n"
	"                     signatures must verify\n"
	"  --base-pubkey PUB  a key OLD is checked against (repeatable;\n"
	"                     default: the public halves of the --key keys)\n"
	"  --threshold K      OLD needs valid signatures of K of those keys\n"
	"                     (default 1)\n"
	"  --chunk-size N     power of two, 4096 to 4194304 (default 4194304)\n"
	"  --codec C          how chunks are compressed: zstd (default) or\n"
	"                     zlib\n"
	"  --level L          zstd 1-19 (default 9), zlib 1-9 (default 9)\n"
	"  --format F         image format version: 2 (default), or 1 for\n"
	"                     devices whose slotflip reads only version 1\n"
	"                     (zlib only)\n"
	"  --password-file F  password of protected secret keys\n"
	"The build time is SOURCE_DATE_EPOCH when set, else now.\n";

struct create_args {
	struct sf_create_opts o;
	char *keys[MAX_KEYS];
	char *base_pubkeys[MAX_KEYS];
	unsigned n_base_pubkeys;
	unsigned long threshold;
	const char *out, *password_file;
};

static int parse_number_opt(const char *what, const char *s, unsigned long max,
			    unsigned long *ret)
{
	if (!sf_parse_uint(s, max, ret))
		return usage_error("create", "bad %s \"%s\"", what, s);
	return EXIT_OK;
}

static int parse_codec(const char *s, enum sf_codec_kind *ret)
{
	if (strcmp(s, "zstd") == 0)
		*ret = SF_CODEC_ZSTD;
	else if (strcmp(s, "zlib") == 0)
		*ret = SF_CODEC_ZLIB;
	else
		return usage_error("create", "bad codec \"%s\" (zstd or zlib)",
				   s);
	return EXIT_OK;
}

static int parse_create(int argc, char **argv, struct create_args *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "efi", required_argument, NULL, 'e' },
		{ "version", required_argument, NULL, 'V' },
		{ "compatible", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "delta-from", required_argument, NULL, 'd' },
		{ "base-pubkey", required_argument, NULL, 'B' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "codec", required_argument, NULL, 'z' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c, r = EXIT_OK;

	while (r == EXIT_OK &&
	       (c = getopt_long(argc, argv, "o:k:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->o.rootfs = optarg;
			break;
		case 'e':
			a->o.efi = optarg;
			break;
		case 'V':
			a->o.version = optarg;
			break;
		case 'C':
			a->o.compatible = optarg;
			break;
		case 'd':
			a->o.delta_from = optarg;
			break;
		case 'B':
			if (a->n_base_pubkeys == MAX_KEYS)
				return usage_error("create",
						   "too many --base-pubkey");
			a->base_pubkeys[a->n_base_pubkeys++] = optarg;
			break;
		case 'T':
			if (!sf_parse_uint(optarg, MAX_KEYS, &a->threshold))
				return usage_error("create",
						   "bad threshold \"%s\"",
						   optarg);
			break;
		case 'P':
			a->password_file = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'k':
			if (a->o.n_keys == MAX_KEYS)
				return usage_error("create", "too many --key");
			a->keys[a->o.n_keys++] = optarg;
			break;
		case 'c':
			r = parse_number_opt("chunk size", optarg, SF_CHUNK_MAX,
					     &v);
			a->o.chunk_size = (uint32_t)v;
			break;
		case 'l':
			r = parse_number_opt("level", optarg, SF_ZSTD_LEVEL_MAX,
					     &v);
			a->o.level = (int)v;
			break;
		case 'z':
			r = parse_codec(optarg, &a->o.codec);
			break;
		case 'F':
			r = parse_number_opt("format", optarg,
					     SF_FORMAT_VERSION, &v);
			a->o.format = (uint32_t)v;
			break;
		case 't':
			r = parse_number_opt("thread count", optarg, 64, &v);
			a->o.threads = (unsigned)v;
			break;
		case 'h':
			fputs(create_help, stdout);
			return -1;
		default:
			return usage_error("create", "bad option");
		}
	}
	if (r == EXIT_OK && optind != argc)
		r = usage_error("create", "unexpected argument \"%s\"",
				argv[optind]);
	return r;
}

static int check_required(const struct create_args *a)
{
	if (!a->o.rootfs || !a->o.efi)
		return usage_error("create",
				   "give --rootfs FILE and --efi FILE");
	if (!a->o.version || !a->o.compatible)
		return usage_error("create", "give --version and --compatible");
	if (!a->o.n_keys)
		return usage_error("create", "give at least one --key SEC");
	if (!a->out)
		return usage_error("create", "give -o IMAGE");
	if (!a->o.delta_from && (a->n_base_pubkeys || a->threshold))
		return usage_error("create", "--base-pubkey and --threshold "
					     "go with --delta-from");
	if (a->threshold >
	    (a->n_base_pubkeys ? a->n_base_pubkeys : a->o.n_keys))
		return usage_error("create",
				   "threshold %lu is above the %u keys the "
				   "base is checked against",
				   a->threshold,
				   a->n_base_pubkeys ? a->n_base_pubkeys
						     : a->o.n_keys);
	return EXIT_OK;
}

static void print_summary(const char *path)
{
	struct sf_ctx quiet = cli_ctx;
	struct sf_image *img;
	struct stat st;

	quiet.log_fn = NULL;
	if (sf_image_open(&quiet, path, &img) < 0)
		return;
	if (sf_image_load_manifest(&quiet, img) == 0 && stat(path, &st) == 0)
		printf("%s: %s image %s for %s, %llu bytes, %u signature(s)\n",
		       path,
		       img->m.flags & SF_MANIFEST_FLAG_DELTA ? "delta" : "full",
		       img->m.version, img->m.compatible,
		       (unsigned long long)st.st_size, img->sigs.n);
	sf_image_close(img);
}

/* Which keys the delta base was checked against, and how to give others. */
static void base_key_hint(const struct create_args *a)
{
	bool from_keys = a->n_base_pubkeys == 0;
	char *const *files = from_keys ? a->keys : a->base_pubkeys;
	unsigned n = from_keys ? a->o.n_keys : a->n_base_pubkeys;

	fprintf(stderr, "slotflip-image: error: %s was checked against %s",
		a->o.delta_from,
		from_keys ? "the public half of --key" : "--base-pubkey");
	for (unsigned i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? ", " : " ", files[i]);
	fputs("; if another key signed it, give that key's public key with "
	      "--base-pubkey PUB (repeatable, with --threshold K)\n",
	      stderr);
}

int cmd_create(int argc, char **argv)
{
	struct create_args a = { .o = { .threads = 0 } };
	struct ms_seckey keys[MAX_KEYS];
	struct ms_pubkey pubs[MAX_KEYS];
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	struct sf_progress progress;
	unsigned long t;
	int r;

	r = parse_create(argc, argv, &a);
	if (r != EXIT_OK)
		return r < 0 ? EXIT_OK : r;
	r = check_required(&a);
	if (r != EXIT_OK)
		return r;
	if (epoch && !sf_parse_uint(epoch, ~0ul, &t))
		return usage_error("create", "bad SOURCE_DATE_EPOCH");
	a.o.build_time = epoch ? t : 0;
	r = load_seckeys(a.keys, a.o.n_keys, a.password_file, keys);
	if (r == EXIT_OK && a.n_base_pubkeys)
		r = load_pubkeys(a.base_pubkeys, a.n_base_pubkeys, pubs);
	if (r != EXIT_OK) {
		for (unsigned i = 0; i < a.o.n_keys; i++)
			ms_seckey_wipe(&keys[i]);
		return r;
	}
	a.o.keys = keys;
	a.o.base_keys = pubs;
	a.o.n_base_keys = a.n_base_pubkeys;
	a.o.base_threshold = (unsigned)a.threshold;
	sf_progress_init(&progress, "create", false);
	a.o.progress = sf_progress_update;
	a.o.progress_data = &progress;
	r = sf_image_create(&cli_ctx, &a.o, a.out);
	sf_progress_end(&progress);
	for (unsigned i = 0; i < a.o.n_keys; i++)
		ms_seckey_wipe(&keys[i]);
	if (r == -EINVAL)
		return EXIT_USAGE;
	if (r == -EKEYREJECTED && a.o.delta_from)
		base_key_hint(&a);
	if (r < 0)
		return exit_for_image_error(r);
	print_summary(a.out);
	return EXIT_OK;
}
