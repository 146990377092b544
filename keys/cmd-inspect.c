// SPDX-License-Identifier: LGPL-2.1-or-later
/* inspect and manifest. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fileio.h"
#include "util.h"

/* The forms a manifest parses to: zero to reference (docs/FORMAT.md). */
#define N_FORMS (SF_FORM_REF + 1)

struct payload_stats {
	uint32_t forms[N_FORMS];
	uint64_t stored;
	uint32_t refs; /* reference ranges */
	uint64_t ref_bytes; /* their bytes: what an apply reads of the base */
};

static void payload_stats(const struct sf_manifest *m,
			  const struct sf_payload *p, struct payload_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint32_t i = p->first_chunk; i < p->first_chunk + p->n_chunks;
	     i++) {
		const struct sf_chunk *c = &m->chunks[i];

		st->forms[c->form]++;
		st->stored += c->stored_len;
		for (uint32_t k = 0; k < sf_chunk_ref_count(c); k++) {
			st->refs++;
			st->ref_bytes += m->refs[c->first_ref + k].length;
		}
	}
}

/* How the image's full chunks are compressed, from their forms. */
static const char *codec_name(const struct sf_manifest *m)
{
	bool zstd = false, zlib = false;

	for (uint32_t i = 0; i < m->n_chunks; i++) {
		zstd |= m->chunks[i].form == SF_FORM_ZSTD;
		zlib |= m->chunks[i].form == SF_FORM_DEFLATE ||
			m->chunks[i].form == SF_FORM_PATCH;
	}
	return zstd && zlib ? "zstd+zlib"
	       : zstd	    ? "zstd"
	       : zlib	    ? "zlib"
			    : "none";
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* Key id and trusted comment of signature @s, or false if malformed. */
static bool sig_info(const struct sf_image *img, unsigned s, char id[17],
		     struct ms_sig *sig)
{
	struct sf_ctx quiet = { .log_fn = NULL };

	if (ms_sig_parse(&quiet, img->sigs.text[s], img->sigs.len[s], sig) < 0)
		return false;
	ms_keyid_hex(sig->keyid, id);
	return true;
}

/* JSON string: our strings are [A-Za-z0-9._+-] or key-made comments. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void inspect_json(const char *path, const struct sf_image *img)
{
	const struct sf_manifest *m = &img->m;
	char h[2 * SF_HASH_BYTES + 1], id[17];
	struct ms_sig sig;

	hex(img->manifest_hash, SF_HASH_BYTES, h);
	printf("{\"file\": ");
	json_str(path);
	printf(", \"size\": %llu, \"format\": %u, \"compatible\": \"%s\", "
	       "\"version\": \"%s\", \"build_time\": %llu, \"manifest_hash\": "
	       "\"%s\", \"chunk_size\": %u, \"codec\": \"%s\", \"delta\": %s",
	       (unsigned long long)img->file_size, m->format, m->compatible,
	       m->version, (unsigned long long)m->build_time, h, m->chunk_size,
	       codec_name(m),
	       m->flags & SF_MANIFEST_FLAG_DELTA ? "true" : "false");
	if (m->flags & SF_MANIFEST_FLAG_DELTA) {
		hex(m->base_manifest_hash, SF_HASH_BYTES, h);
		printf(", \"base_version\": \"%s\", \"base_manifest_hash\": "
		       "\"%s\"",
		       m->base_version, h);
	}
	printf(", \"payloads\": [");
	for (unsigned i = 0; i < m->n_payloads; i++) {
		struct payload_stats st;

		payload_stats(m, &m->payloads[i], &st);
		printf("%s{\"kind\": \"%s\", \"size\": %llu, \"chunks\": %u, "
		       "\"stored_bytes\": %llu, \"references\": %u, "
		       "\"reference_bytes\": %llu, \"forms\": {",
		       i ? ", " : "", sf_payload_kind_name(m->payloads[i].kind),
		       (unsigned long long)m->payloads[i].size,
		       m->payloads[i].n_chunks, (unsigned long long)st.stored,
		       st.refs, (unsigned long long)st.ref_bytes);
		for (uint8_t f = 0; f < N_FORMS; f++)
			printf("%s\"%s\": %u", f ? ", " : "", sf_form_name(f),
			       st.forms[f]);
		printf("}}");
	}
	printf("], \"signatures\": [");
	for (unsigned s = 0; s < img->sigs.n; s++) {
		bool ok = sig_info(img, s, id, &sig);

		printf("%s{\"key_id\": \"%s\", \"trusted_comment\": ",
		       s ? ", " : "", ok ? id : "");
		json_str(ok ? sig.trusted_comment : "");
		printf(", \"well_formed\": %s}", ok ? "true" : "false");
	}
	printf("]}\n");
}

static void inspect_text(const char *path, const struct sf_image *img)
{
	const struct sf_manifest *m = &img->m;
	char h[2 * SF_HASH_BYTES + 1], when[32], id[17];
	time_t t = (time_t)m->build_time;
	struct ms_sig sig;
	struct tm tm;

	hex(img->manifest_hash, SF_HASH_BYTES, h);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	printf("image:       %s (%llu bytes, format %u)\n", path,
	       (unsigned long long)img->file_size, m->format);
	printf("compatible:  %s\nversion:     %s\nbuilt:       %s\n",
	       m->compatible, m->version, when);
	if (m->flags & SF_MANIFEST_FLAG_DELTA)
		printf("type:        delta from version %s\n", m->base_version);
	else
		printf("type:        full\n");
	printf("manifest:    %s\nchunk size:  %u\ncodec:       %s\n", h,
	       m->chunk_size, codec_name(m));
	for (unsigned i = 0; i < m->n_payloads; i++) {
		struct payload_stats st;

		payload_stats(m, &m->payloads[i], &st);
		printf("payload %-6s %llu bytes in %u chunks, %llu stored "
		       "(zero %u, stored %u, deflate %u, base %u, patch %u, "
		       "zstd %u, reference %u)\n",
		       sf_payload_kind_name(m->payloads[i].kind),
		       (unsigned long long)m->payloads[i].size,
		       m->payloads[i].n_chunks, (unsigned long long)st.stored,
		       st.forms[0], st.forms[1], st.forms[2], st.forms[3],
		       st.forms[4], st.forms[5], st.forms[6]);
		if (st.refs)
			printf("               %u reference ranges, %llu bytes of "
			       "the base\n",
			       st.refs, (unsigned long long)st.ref_bytes);
	}
	printf("signatures:  %u\n", img->sigs.n);
	for (unsigned s = 0; s < img->sigs.n; s++)
		if (sig_info(img, s, id, &sig))
			printf("  key %s: %s\n", id, sig.trusted_comment);
		else
			printf("  signature %u: malformed\n", s);
	printf("(inspect checks nothing: use `slotflip-image verify`)\n");
}

static const char inspect_help[] =
	"Usage: slotflip-image inspect IMAGE [--json]\n"
	"Show an image's manifest and signatures. Nothing is verified.\n";

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sf_image *img = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(inspect_help, stdout);
			return EXIT_OK;
		default:
			return usage_error("inspect", "bad option");
		}
	}
	if (optind + 1 != argc)
		return usage_error("inspect", "give one IMAGE");
	r = sf_image_open(&cli_ctx, argv[optind], &img);
	if (r >= 0)
		r = sf_image_load_manifest(&cli_ctx, img);
	if (r < 0) {
		sf_image_close(img);
		return exit_for_image_error(r);
	}
	if (json)
		inspect_json(argv[optind], img);
	else
		inspect_text(argv[optind], img);
	sf_image_close(img);
	return EXIT_OK;
}

static const char manifest_help[] =
	"Usage: slotflip-image manifest IMAGE -o MANIFEST -x MANIFEST.minisig\n"
	"         [--signature N]\n"
	"Write the signed manifest bytes and signature N (default 0) so that\n"
	"`minisign -Vm MANIFEST -x MANIFEST.minisig -p PUB` can check them.\n";

static int write_out(const char *path, const void *buf, size_t len)
{
	int r = write_file_atomic(path, buf, len, 0644);

	if (r < 0) {
		fprintf(stderr, "slotflip-image: error: cannot write %s: %s\n",
			path, strerror(-r));
		return EXIT_IO;
	}
	return EXIT_OK;
}

int cmd_manifest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "signature", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *sig_out = NULL;
	struct sf_image *img = NULL;
	unsigned long n = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:x:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'x':
			sig_out = optarg;
			break;
		case 'n':
			if (!strcmp(optarg, "0"))
				n = 0;
			else if (!sf_parse_uint(optarg, SF_MAX_SIGS - 1, &n))
				return usage_error("manifest",
						   "bad signature number");
			break;
		case 'h':
			fputs(manifest_help, stdout);
			return EXIT_OK;
		default:
			return usage_error("manifest", "bad option");
		}
	}
	if (optind + 1 != argc || !out || !sig_out)
		return usage_error("manifest",
				   "give IMAGE, -o MANIFEST and -x SIGFILE");
	r = sf_image_open(&cli_ctx, argv[optind], &img);
	if (r < 0)
		return exit_for_image_error(r);
	if (n >= img->sigs.n) {
		fprintf(stderr,
			"slotflip-image: error: %s has %u signature(s), no "
			"signature %lu\n",
			argv[optind], img->sigs.n, n);
		sf_image_close(img);
		return EXIT_REFUSED;
	}
	r = write_out(out, img->manifest_raw, img->manifest_size);
	if (r == EXIT_OK)
		r = write_out(sig_out, img->sigs.text[n], img->sigs.len[n]);
	sf_image_close(img);
	return r;
}
