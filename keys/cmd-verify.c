// SPDX-License-Identifier: LGPL-2.1-or-later
/* verify and extract. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fileio.h"
#include "util.h"

struct verify_args {
	char *pubkeys[MAX_KEYS];
	unsigned n_pubkeys;
	unsigned long threshold;
	const char *out[SF_MAX_PAYLOADS + 1]; /* by payload kind */
	const char *base[SF_MAX_PAYLOADS + 1]; /* by payload kind */
	bool content; /* verify --content */
};

static const char verify_help[] =
	"Usage: slotflip-image verify IMAGE --pubkey PUB [--pubkey PUB2 ...]\n"
	"         [--threshold K]\n"
	"         [--content [--base-rootfs FILE] [--base-efi FILE]]\n"
	"Check that K (default 1) distinct trusted keys signed the manifest,\n"
	"then the hash of every chunk's stored data (on all cores).\n"
	"\n"
	"--content also decodes every chunk and checks that it gives exactly\n"
	"the length and content hash the manifest declares (slower: it\n"
	"inflates everything). This catches an image that a faulty build\n"
	"server signed with a chunk that lies about its content, which\n"
	"slotflip-init would refuse at boot. The base and patch chunks of a\n"
	"delta image read the payloads of the version it was made against:\n"
	"give them with --base-rootfs and --base-efi (as `extract` takes them);\n"
	"without them those chunks are counted as not checked.\n"
	"\n"
	"Exit status: 0 all holds; 1 the image is refused (a signature, a\n"
	"hash, a chunk's content, or a base that is not what the delta was\n"
	"made against); 2 usage error; 5 a file could not be read; 7 a key\n"
	"file is unusable; 8 (--content only) nothing is wrong, but some\n"
	"chunks of a delta could not be checked without its base payloads.\n";

static const char extract_help[] =
	"Usage: slotflip-image extract IMAGE --pubkey PUB [--threshold K]\n"
	"         --rootfs OUT [--efi OUT]\n"
	"         [--base-rootfs FILE] [--base-efi FILE]\n"
	"Verify IMAGE, then write its payloads. A delta image needs the\n"
	"payloads of the version it was made against (--base-*).\n";

static int parse_verify(const char *cmd, int argc, char **argv,
			struct verify_args *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "threshold", required_argument, NULL, 't' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "efi", required_argument, NULL, 'e' },
		{ "base-rootfs", required_argument, NULL, 'R' },
		{ "base-efi", required_argument, NULL, 'E' },
		{ "content", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	bool extract = !strcmp(cmd, "extract");
	int c;

	a->threshold = 1;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (extract ? c == 'c' : strchr("re", c) != NULL)
			c = '?';
		switch (c) {
		case 'p':
			if (a->n_pubkeys == MAX_KEYS)
				return usage_error(cmd, "too many --pubkey");
			a->pubkeys[a->n_pubkeys++] = optarg;
			break;
		case 't':
			if (!sf_parse_uint(optarg, MAX_KEYS, &a->threshold))
				return usage_error(cmd, "bad threshold \"%s\"",
						   optarg);
			break;
		case 'r':
			a->out[SF_PAYLOAD_ROOTFS] = optarg;
			break;
		case 'e':
			a->out[SF_PAYLOAD_EFI] = optarg;
			break;
		case 'R':
			a->base[SF_PAYLOAD_ROOTFS] = optarg;
			break;
		case 'E':
			a->base[SF_PAYLOAD_EFI] = optarg;
			break;
		case 'c':
			a->content = true;
			break;
		case 'h':
			fputs(extract ? extract_help : verify_help, stdout);
			return -1;
		default:
			return usage_error(cmd, "bad option");
		}
	}
	if (optind + 1 != argc || !a->n_pubkeys)
		return usage_error(cmd, "give IMAGE and --pubkey PUB");
	if (!extract && !a->content &&
	    (a->base[SF_PAYLOAD_ROOTFS] || a->base[SF_PAYLOAD_EFI]))
		return usage_error(cmd, "--base-rootfs and --base-efi go with "
					"--content");
	if (a->threshold > a->n_pubkeys)
		return usage_error(cmd,
				   "threshold %lu is above the %u keys given",
				   a->threshold, a->n_pubkeys);
	return EXIT_OK;
}

static int open_checked(const char *cmd, int argc, char **argv,
			struct verify_args *a, struct sf_image **ret)
{
	struct ms_pubkey keys[MAX_KEYS];
	int r = parse_verify(cmd, argc, argv, a);

	if (r != EXIT_OK)
		return r;
	r = load_pubkeys(a->pubkeys, a->n_pubkeys, keys);
	if (r != EXIT_OK)
		return r;
	return open_verified(argv[optind], keys, a->n_pubkeys,
			     (unsigned)a->threshold, ret);
}

static int pread_base(void *data, uint64_t offset, void *buf, size_t len)
{
	return pread_full(*(int *)data, buf, len, offset);
}

/* The base files of verify --content, by payload kind. */
struct bases {
	int fd[SF_MAX_PAYLOADS + 1];
	struct sf_base base[SF_MAX_PAYLOADS + 1];
};

static int open_bases(const struct verify_args *a, const struct sf_image *img,
		      struct bases *b)
{
	bool delta = img->m.flags & SF_MANIFEST_FLAG_DELTA;

	for (unsigned k = 0; k <= SF_MAX_PAYLOADS; k++) {
		b->fd[k] = -1;
		b->base[k] = (struct sf_base){ .read = NULL,
					       .data = NULL,
					       .size = 0 };
	}
	for (unsigned k = 1; k <= SF_MAX_PAYLOADS; k++) {
		if (!a->base[k])
			continue;
		if (!delta)
			sf_log(&cli_ctx, SF_LOG_WARNING, 0,
			       "not a delta image: --base-%s is not used",
			       sf_payload_kind_name(k));
		b->fd[k] = open(a->base[k], O_RDONLY | O_CLOEXEC);
		if (b->fd[k] < 0)
			return sf_err(&cli_ctx, -errno,
				      "cannot open base %s: %m", a->base[k]);
		b->base[k] = (struct sf_base){ .read = pread_base,
					       .data = &b->fd[k],
					       .size = fd_size(b->fd[k]) };
	}
	return 0;
}

static void close_bases(struct bases *b)
{
	for (unsigned k = 0; k <= SF_MAX_PAYLOADS; k++)
		if (b->fd[k] >= 0)
			close(b->fd[k]);
}

static int verify_content(const struct verify_args *a, struct sf_image *img,
			  uint32_t *ret_unchecked)
{
	struct sf_progress p;
	struct bases b;
	int r = open_bases(a, img, &b);

	sf_progress_init(&p, "verify", false);
	if (r >= 0)
		r = sf_image_verify_content(&cli_ctx, img, b.base, 0,
					    sf_progress_update, &p,
					    ret_unchecked);
	sf_progress_end(&p);
	close_bases(&b);
	return r;
}

static int report(const char *path, const struct sf_image *img, bool content,
		  uint32_t unchecked)
{
	const struct sf_manifest *m = &img->m;

	if (unchecked) {
		printf("%s: not fully checked: signatures and %u chunks check, "
		       "but the content of %u chunks that read the payloads of "
		       "version %s was not checked: give them with "
		       "--base-rootfs FILE and --base-efi FILE\n",
		       path, m->n_chunks, unchecked, m->base_version);
		return EXIT_UNCHECKED;
	}
	printf("%s: good: %s image %s for %s, signatures and %u chunks%s "
	       "check\n",
	       path, m->flags & SF_MANIFEST_FLAG_DELTA ? "delta" : "full",
	       m->version, m->compatible, m->n_chunks,
	       content ? " with their content" : "");
	return EXIT_OK;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_args a = { .n_pubkeys = 0 };
	struct sf_image *img = NULL;
	uint32_t unchecked = 0;
	int r;

	r = open_checked("verify", argc, argv, &a, &img);
	if (r != EXIT_OK)
		return r < 0 ? EXIT_OK : r;
	if (a.content) {
		r = verify_content(&a, img, &unchecked);
	} else {
		struct sf_progress p;

		sf_progress_init(&p, "verify", false);
		r = sf_image_verify_data(&cli_ctx, img, 0, sf_progress_update,
					 &p);
		sf_progress_end(&p);
	}
	if (r == 0)
		r = report(argv[optind], img, a.content, unchecked);
	else if (r == -EBADMSG || r == -EXDEV)
		fprintf(stderr,
			"slotflip-image: error: %s is refused: its signatures "
			"are valid, but its data is not what its manifest "
			"declares%s\n",
			argv[optind],
			r == -EXDEV ? " (or the base is not the one the delta "
				      "was made against)"
				    : "");
	sf_image_close(img);
	return r < 0 ? exit_for_image_error(r) : r;
}

/* Decode payload @p of @img into @fd. */
static int write_payload(struct sf_image *img, const struct sf_payload *p,
			 int fd, const struct sf_base *base)
{
	_cleanup_free_ uint8_t *stored = malloc(img->m.chunk_size);
	_cleanup_free_ uint8_t *out = malloc(img->m.chunk_size);
	struct sf_progress progress;
	struct sf_codec codec;
	int r = 0;

	if (!stored || !out)
		return -ENOMEM;
	sf_progress_init(&progress, "extract", false);
	sf_codec_init(&codec, 9);
	for (uint32_t i = p->first_chunk;
	     r >= 0 && i < p->first_chunk + p->n_chunks; i++) {
		const struct sf_chunk *c = &img->m.chunks[i];

		r = sf_image_read_stored(&cli_ctx, img, i, stored);
		if (r >= 0)
			r = sf_chunk_decode(&cli_ctx, &codec, &img->m, c, i,
					    stored, base, true, out);
		if (r >= 0)
			r = pwrite_full(fd, out, c->length, c->offset);
		sf_progress_update(&progress, c->offset + c->length, p->size);
	}
	sf_codec_done(&codec);
	sf_progress_end(&progress);
	return r < 0 ? r : ftruncate(fd, (off_t)p->size) < 0 ? -errno : 0;
}

int extract_payload(struct sf_image *img, const struct sf_payload *p,
		    const char *out, const char *base_path)
{
	_cleanup_close_ int base_fd = -1;
	_cleanup_free_ char *tmp = NULL;
	struct sf_base base = { .read = pread_base,
				.data = &base_fd,
				.size = 0 };
	int fd, r;

	if (base_path && (base_fd = open(base_path, O_RDONLY | O_CLOEXEC)) < 0)
		return sf_err(&cli_ctx, -errno, "cannot open base %s: %m",
			      base_path);
	if (base_fd >= 0)
		base.size = fd_size(base_fd);
	if ((img->m.flags & SF_MANIFEST_FLAG_DELTA) && !base_path)
		return sf_err(&cli_ctx, -EXDEV,
			      "this is a delta image from version %s: give the "
			      "%s payload of that version with --base-%s FILE",
			      img->m.base_version,
			      sf_payload_kind_name(p->kind),
			      sf_payload_kind_name(p->kind));
	fd = tmpfile_create(out, 0644, &tmp);
	if (fd < 0)
		return sf_err(&cli_ctx, fd, "cannot create %s: %s", out,
			      strerror(-fd));
	r = write_payload(img, p, fd, base_path ? &base : NULL);
	if (r >= 0)
		r = tmpfile_commit(fd, tmp, out);
	else
		unlink(tmp);
	close(fd);
	return r;
}

int cmd_extract(int argc, char **argv)
{
	struct verify_args a = { .n_pubkeys = 0 };
	struct sf_image *img = NULL;
	int r = EXIT_OK;

	r = open_checked("extract", argc, argv, &a, &img);
	if (r != EXIT_OK)
		return r < 0 ? EXIT_OK : r;
	if (!a.out[SF_PAYLOAD_ROOTFS] && !a.out[SF_PAYLOAD_EFI]) {
		sf_image_close(img);
		return usage_error("extract", "give --rootfs OUT or --efi OUT");
	}
	for (unsigned k = 1; r == EXIT_OK && k <= SF_MAX_PAYLOADS; k++) {
		const struct sf_payload *p = sf_manifest_payload(&img->m, k);
		int e;

		if (!a.out[k])
			continue;
		if (!p) {
			sf_err(&cli_ctx, 0, "the image has no %s payload",
			       sf_payload_kind_name(k));
			r = EXIT_REFUSED;
			break;
		}
		e = extract_payload(img, p, a.out[k], a.base[k]);
		r = e < 0 ? exit_for_image_error(e) : EXIT_OK;
	}
	sf_image_close(img);
	return r;
}
