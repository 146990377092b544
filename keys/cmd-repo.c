// SPDX-License-Identifier: LGPL-2.1-or-later
/* repo: the update repository's commands (docs/REPO.md). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "repo.h"
#include "repo-add.h"
#include "util.h"
#include "version.h"

#define DAY 86400u

static const char repo_help[] =
	"Usage: slotflip-image repo COMMAND DIR [OPTIONS]\n"
	"\n"
	"Write and check an update repository: plain files that any web\n"
	"server serves (docs/REPO.md).\n"
	"\n"
	"Commands:\n"
	"  init DIR --product P --compatible C --key SEC ... [--threshold K]\n"
	"  add DIR IMAGE --channel CH --key SEC ... [--image-key SEC ...]\n"
	"      [--deltas N] [--floor V]\n"
	"  refresh DIR --key SEC ...\n"
	"  promote DIR VERSION --from CH --to CH --key SEC ... [--floor V]\n"
	"  rotate-keys DIR --key SEC ... --new-key SEC ... [--threshold K]\n"
	"  verify DIR [--channel CH] [--pubkey PUB ... [--threshold K]]\n"
	"\n"
	"Run `slotflip-image repo COMMAND --help` for a command's options.\n"
	"\n"
	"Exit status: 0 done; 1 refused (an image or document that does not\n"
	"check, a version not above the channel's, an expired document);\n"
	"2 usage error; 5 a file could not be read or written; 7 a key file\n"
	"is unusable, not a key of the repository, or too few keys.\n";

#define COMMON_HELP                                                            \
	"  --key SEC            a secret key of the repository's newest key\n" \
	"                       set (repeatable; at least its threshold)\n"    \
	"  --password-file F    password of protected secret keys\n"           \
	"  --timestamp-days D   expiry of the new timestamp (default 7)\n"     \
	"  --index-days D       expiry of a new index (default 28)\n"          \
	"SOURCE_DATE_EPOCH sets the issue time, else now.\n"

static const char init_help[] =
	"Usage: slotflip-image repo init DIR --product P --compatible C\n"
	"         --key SEC [--key SEC ...] [--threshold K]\n"
	"Make a new, empty repository in DIR (made if missing, else empty)\n"
	"for product P (its name) and devices of compatible string C, with\n"
	"key set 1: the public halves of the --key keys, of which K\n"
	"(default 1) must sign every document. keys/1 is signed by all.\n";

static const char add_help[] =
	"Usage: slotflip-image repo add DIR IMAGE --channel CH --key SEC ...\n"
	"         [--image-key SEC ...] [--deltas N] [--floor V]\n"
	"Put the full image IMAGE in the repository (images/HASH.img), make\n"
	"delta images against the full images of the last N versions below\n"
	"it already there (default 3; 0: none), and offer it in channel CH:\n"
	"a new signed index, then a new timestamp.\n"
	"  --channel CH         1 to 31 characters from [a-z0-9-]\n"
	"  --image-key SEC      signs the deltas, and IMAGE and the bases\n"
	"                       must be signed by one of these (default:\n"
	"                       the --key keys; repeatable)\n"
	"  --deltas N           0 to 16\n"
	"  --floor V            the channel's new anti-rollback floor: at\n"
	"                       most IMAGE's version, not below the old one\n"
	"                       (default: unchanged, at first 0)\n" COMMON_HELP;

static const char refresh_help[] =
	"Usage: slotflip-image repo refresh DIR --key SEC ...\n"
	"Write a new timestamp for every channel (run it daily from cron);\n"
	"an index with less than half its lifetime left, or signed by an\n"
	"older key set (an interrupted rotate-keys), is issued again\n"
	"first.\n" COMMON_HELP;

static const char promote_help[] =
	"Usage: slotflip-image repo promote DIR VERSION --from CH --to CH\n"
	"         --key SEC ... [--floor V]\n"
	"Offer VERSION, what channel --from offers, in channel --to too\n"
	"(the same images); it must be above what --to offers.\n" COMMON_HELP;

static const char rotate_help[] =
	"Usage: slotflip-image repo rotate-keys DIR --key SEC ...\n"
	"         --new-key SEC ... [--threshold K]\n"
	"Make key set N+1 of the --new-key keys, K of which (default 1)\n"
	"must sign from now on, signed by the --key keys of set N and by\n"
	"the new keys (a device accepts it only with both thresholds), then\n"
	"issue every channel's index and timestamp again with the new\n"
	"set.\n" COMMON_HELP;

static const char verify_help[] =
	"Usage: slotflip-image repo verify DIR [--channel CH]\n"
	"         [--pubkey PUB ... [--threshold K]]\n"
	"Check every document and image as a device would: the key chain,\n"
	"then for each channel (or CH) the timestamp and index (signatures,\n"
	"expiry against the clock, sizes and hashes), and every image the\n"
	"index names (size, hash, manifest against the index, every chunk's\n"
	"hash; signatures when image keys are given with --pubkey).\n"
	"Exit status 1 when anything is refused or expired.\n";

struct subcommand {
	const char *name;
	const char *help;
	/* Options it takes, as their getopt letters. */
	const char *opts;
	/* Positional arguments after DIR. */
	unsigned n_args;
	int (*fn)(struct repo_args *a);
};

static int repo_init(struct repo_args *a);
static int repo_add_cmd(struct repo_args *a);
static int repo_refresh(struct repo_args *a);
static int repo_promote(struct repo_args *a);
static int repo_rotate(struct repo_args *a);
static int repo_verify_cmd(struct repo_args *a);

static const struct subcommand subcommands[] = {
	{ "init", init_help, "pckTw", 0, repo_init },
	{ "add", add_help, "CkIDFwsi", 1, repo_add_cmd },
	{ "refresh", refresh_help, "kwsi", 0, repo_refresh },
	{ "promote", promote_help, "fokFwsi", 1, repo_promote },
	{ "rotate-keys", rotate_help, "knTwsi", 0, repo_rotate },
	{ "verify", verify_help, "CPT", 0, repo_verify_cmd },
};

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "product", required_argument, NULL, 'p' },
	{ "compatible", required_argument, NULL, 'c' },
	{ "key", required_argument, NULL, 'k' },
	{ "new-key", required_argument, NULL, 'n' },
	{ "image-key", required_argument, NULL, 'I' },
	{ "pubkey", required_argument, NULL, 'P' },
	{ "threshold", required_argument, NULL, 'T' },
	{ "channel", required_argument, NULL, 'C' },
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 'o' },
	{ "deltas", required_argument, NULL, 'D' },
	{ "floor", required_argument, NULL, 'F' },
	{ "password-file", required_argument, NULL, 'w' },
	{ "timestamp-days", required_argument, NULL, 's' },
	{ "index-days", required_argument, NULL, 'i' },
	{ NULL, 0, NULL, 0 },
};

static int add_file(const char *cmd, char **list, unsigned *n, const char *what)
{
	if (*n == MAX_KEYS)
		return usage_error(cmd, "more than %u %s", MAX_KEYS, what);
	list[(*n)++] = optarg;
	return EXIT_OK;
}

static int number_opt(const char *cmd, const char *what, unsigned long min,
		      unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(optarg, &end, 10);
	if (!*optarg || optarg[strspn(optarg, "0123456789")] || errno ||
	    v < min || v > max)
		return usage_error(cmd,
				   "%s must be a number from %lu to %lu, "
				   "not \"%s\"",
				   what, min, max, optarg);
	*ret = v;
	return EXIT_OK;
}

static int take_option(const char *cmd, int c, struct repo_args *a)
{
	switch (c) {
	case 'p':
		a->product = optarg;
		return EXIT_OK;
	case 'c':
		a->compatible = optarg;
		return EXIT_OK;
	case 'k':
		return add_file(cmd, a->keys, &a->n_keys, "--key");
	case 'n':
		return add_file(cmd, a->new_keys, &a->n_new_keys, "--new-key");
	case 'I':
		return add_file(cmd, a->image_keys, &a->n_image_keys,
				"--image-key");
	case 'P':
		return add_file(cmd, a->pubkeys, &a->n_pubkeys, "--pubkey");
	case 'T':
		return number_opt(cmd, "threshold", 1, MAX_KEYS, &a->threshold);
	case 'C':
		a->channel = optarg;
		return EXIT_OK;
	case 'f':
		a->from = optarg;
		return EXIT_OK;
	case 'o':
		a->to = optarg;
		return EXIT_OK;
	case 'D':
		return number_opt(cmd, "--deltas", 0, SF_REPO_MAX_DELTAS,
				  &a->deltas);
	case 'F':
		a->floor = optarg;
		return EXIT_OK;
	case 'w':
		a->password_file = optarg;
		return EXIT_OK;
	case 's':
		return number_opt(cmd, "--timestamp-days", 1, 365, &a->ts_days);
	default:
		return number_opt(cmd, "--index-days", 1, 3650, &a->index_days);
	}
}

static int parse_args(const struct subcommand *sc, int argc, char **argv,
		      struct repo_args *a)
{
	int c, r = EXIT_OK;

	snprintf(a->cmd, sizeof(a->cmd), "repo %s", sc->name);
	a->deltas = 3;
	a->ts_days = 7;
	a->index_days = 28;
	while (r == EXIT_OK &&
	       (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'h') {
			fputs(sc->help, stdout);
			return -1;
		}
		if (c == '?' || !strchr(sc->opts, c))
			return usage_error(a->cmd, "bad option");
		r = take_option(a->cmd, c, a);
	}
	if (r != EXIT_OK)
		return r;
	if ((unsigned)(argc - optind) != 1 + sc->n_args)
		return usage_error(a->cmd, "give DIR%s",
				   sc->n_args ? " and one more argument" : "");
	a->dir = argv[optind];
	a->arg = sc->n_args ? argv[optind + 1] : NULL;
	return EXIT_OK;
}

static int issue_time(struct repo_args *a)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	unsigned long t;

	if (epoch && !sf_parse_uint(epoch, SF_REPO_NUMBER_MAX / 2, &t))
		return usage_error(a->cmd, "bad SOURCE_DATE_EPOCH");
	a->now = epoch ? t : (uint64_t)time(NULL);
	return EXIT_OK;
}

static void wipe(struct ms_seckey *keys, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ms_seckey_wipe(&keys[i]);
}

/* Open the repository with the --key keys as its signers. */
static int open_signing(struct repo_args *a, struct repo *r,
			struct ms_seckey *keys)
{
	int e;

	if (!a->n_keys)
		return usage_error(a->cmd, "give at least one --key SEC");
	if ((e = issue_time(a)) != EXIT_OK ||
	    (e = load_seckeys(a->keys, a->n_keys, a->password_file, keys)) !=
		    EXIT_OK)
		return e;
	e = repo_open(a->dir, true, r);
	if (e == EXIT_OK && (e = repo_set_keys(r, keys, a->n_keys)) != EXIT_OK)
		repo_close(r);
	r->now = a->now;
	r->ts_life = a->ts_days * DAY;
	r->index_life = a->index_days * DAY;
	return e;
}

/* ---- init ---- */

static int init_dirs(const char *dir)
{
	static const char *const subdirs[] = { "", "/keys", "/channels",
					       "/images" };
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subdirs[i]);
		if (mkdir(path, 0755) < 0 && (errno != EEXIST || i > 0)) {
			fprintf(stderr,
				"slotflip-image: error: cannot make %s: %m%s\n",
				path,
				errno == EEXIST ? " (DIR must be new or empty)"
						: "");
			return EXIT_IO;
		}
	}
	return EXIT_OK;
}

static int init_checks(struct repo_args *a)
{
	if (!a->product || !sf_compatible_valid(a->product))
		return usage_error(a->cmd, "give --product P: 1 to 63 "
					   "characters from [A-Za-z0-9._+-]");
	if (!a->compatible || !sf_compatible_valid(a->compatible))
		return usage_error(a->cmd, "give --compatible C: 1 to 63 "
					   "characters from [A-Za-z0-9._+-]");
	if (!a->n_keys)
		return usage_error(a->cmd, "give at least one --key SEC");
	if (!a->threshold)
		a->threshold = 1;
	if (a->threshold > a->n_keys)
		return usage_error(a->cmd,
				   "threshold %lu is above the %u --key keys",
				   a->threshold, a->n_keys);
	return issue_time(a);
}

/* The text of key set 1: the public halves of @keys. */
static int first_set(struct repo_args *a, const struct ms_seckey *keys,
		     char **ret_text, size_t *ret_len)
{
	struct sf_repo_keyset ks = { .set = 1 };

	strcpy(ks.product, a->product);
	strcpy(ks.compatible, a->compatible);
	ks.threshold = (unsigned)a->threshold;
	ks.issued = a->now;
	ks.n_keys = a->n_keys;
	for (unsigned i = 0; i < a->n_keys; i++)
		ms_pubkey_from_seckey(&keys[i], &ks.keys[i]);
	if (sf_repo_keyset_format(&cli_ctx, &ks, ret_text, ret_len) < 0)
		return usage_error(a->cmd, "the keys do not make a key set");
	return EXIT_OK;
}

static int write_first_set(struct repo_args *a, struct ms_seckey *keys,
			   const char *text, size_t len)
{
	struct repo r = { .dir = a->dir, .fd = -1 };
	char comment[MS_TRUSTED_COMMENT_MAX];

	r.keys = keys;
	r.n_keys = a->n_keys;
	sf_repo_comment(SF_REPODOC_KEYS, a->product, NULL, 1, comment,
			sizeof(comment));
	return repo_write_signed(&r, "keys/1", NULL, text, len, comment, NULL,
				 0);
}

static int repo_init(struct repo_args *a)
{
	struct ms_seckey keys[MAX_KEYS];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	char path[PATH_MAX];
	struct stat st;
	int e;

	if ((e = init_checks(a)) != EXIT_OK)
		return e;
	snprintf(path, sizeof(path), "%s/keys/1", a->dir);
	if (lstat(path, &st) == 0) {
		fprintf(stderr,
			"slotflip-image: error: %s is a repository already "
			"(keys/1 exists)\n",
			a->dir);
		return EXIT_IO;
	}
	if ((e = load_seckeys(a->keys, a->n_keys, a->password_file, keys)) !=
	    EXIT_OK)
		return e;
	/* What can be refused is checked before a directory is made. */
	e = first_set(a, keys, &text, &len);
	if (e == EXIT_OK)
		e = init_dirs(a->dir);
	if (e == EXIT_OK)
		e = write_first_set(a, keys, text, len);
	wipe(keys, a->n_keys);
	if (e == EXIT_OK)
		printf("%s: repository of %s for %s, key set 1 (%lu of %u "
		       "keys)\n",
		       a->dir, a->product, a->compatible, a->threshold,
		       a->n_keys);
	return e;
}

/* ---- add, promote ---- */

int repo_new_floor(struct repo_args *a, const struct channel *c,
		   const char *version, char *out)
{
	const char *old = c->exists ? c->idx.floor : "0";
	const char *want = a->floor ? a->floor : old;
	struct sf_version v;
	int up, down;

	if (sf_version_parse(want, &v) < 0)
		return usage_error(a->cmd, "bad --floor \"%s\"", want);
	sf_version_cmp_str(want, version, &up);
	sf_version_cmp_str(want, old, &down);
	if (up > 0 || down < 0) {
		fprintf(stderr,
			"slotflip-image: error: floor %s must be from the "
			"channel's floor %s to the version offered, %s\n",
			want, old, version);
		return EXIT_REFUSED;
	}
	strcpy(out, want);
	return EXIT_OK;
}

int repo_check_newer(const struct channel *c, const char *version)
{
	int cmp;

	if (!c->exists)
		return EXIT_OK;
	sf_version_cmp_str(version, c->idx.version, &cmp);
	if (cmp > 0)
		return EXIT_OK;
	fprintf(stderr,
		"slotflip-image: error: version %s is not above %s, what "
		"channel %s offers\n",
		version, c->idx.version, c->name);
	return EXIT_REFUSED;
}

static int repo_add_cmd(struct repo_args *a)
{
	struct ms_seckey keys[MAX_KEYS], image_keys[MAX_KEYS];
	struct repo r;
	int e;

	if (!a->channel)
		return usage_error(a->cmd, "give --channel CH");
	if (!sf_repo_channel_valid(a->channel))
		return usage_error(a->cmd,
				   "bad channel \"%s\": 1 to 31 "
				   "characters from [a-z0-9-]",
				   a->channel);
	if ((e = open_signing(a, &r, keys)) != EXIT_OK) {
		wipe(keys, a->n_keys);
		return e;
	}
	if (a->n_image_keys)
		e = load_seckeys(a->image_keys, a->n_image_keys,
				 a->password_file, image_keys);
	else
		memcpy(image_keys, keys, a->n_keys * sizeof(*keys));
	if (!a->n_image_keys)
		a->n_image_keys = a->n_keys;
	if (e == EXIT_OK)
		e = repo_add(&r, a, image_keys);
	wipe(keys, a->n_keys);
	wipe(image_keys, a->n_image_keys);
	repo_close(&r);
	return e;
}

static int promote_checks(struct repo_args *a)
{
	struct sf_version v;

	if (!a->from || !a->to)
		return usage_error(a->cmd, "give --from CH and --to CH");
	if (!strcmp(a->from, a->to))
		return usage_error(a->cmd, "--from and --to are the same");
	if (sf_version_parse(a->arg, &v) < 0)
		return usage_error(a->cmd, "bad version \"%s\"", a->arg);
	return EXIT_OK;
}

static int promote_into(struct repo_args *a, struct repo *r)
{
	struct channel *from = calloc(1, sizeof(*from));
	struct channel *to = calloc(1, sizeof(*to));
	struct sf_repo_index idx;
	int e = from && to ? EXIT_OK : EXIT_IO;

	if (e == EXIT_OK &&
	    (e = repo_channel_load(r, a->from, from)) == EXIT_OK &&
	    (!from->exists || strcmp(from->idx.version, a->arg))) {
		fprintf(stderr,
			"slotflip-image: error: channel %s offers %s, not %s\n",
			a->from, from->exists ? from->idx.version : "nothing",
			a->arg);
		e = EXIT_REFUSED;
	}
	if (e == EXIT_OK)
		e = repo_channel_load(r, a->to, to);
	if (e == EXIT_OK)
		e = repo_check_newer(to, a->arg);
	if (e == EXIT_OK) {
		idx = from->idx;
		e = repo_new_floor(a, to, a->arg, idx.floor);
	}
	if (e == EXIT_OK)
		e = repo_publish(r, to, &idx);
	if (e == EXIT_OK)
		printf("%s: channel %s offers %s (from %s); timestamp serial "
		       "%" PRIu64 "\n",
		       a->dir, a->to, a->arg, a->from, to->ts.serial);
	free(from);
	free(to);
	return e;
}

static int repo_promote(struct repo_args *a)
{
	struct ms_seckey keys[MAX_KEYS];
	struct repo r;
	int e = promote_checks(a);

	if (e != EXIT_OK)
		return e;
	e = open_signing(a, &r, keys);
	if (e == EXIT_OK) {
		e = promote_into(a, &r);
		repo_close(&r);
	}
	wipe(keys, a->n_keys);
	return e;
}

/* ---- refresh, rotate-keys ---- */

/*
 * A new timestamp; first a new index when less than half its life is left,
 * or when an older key set signed it (a rotation that was interrupted).
 */
static int refresh_channel(struct repo *r, const char *name, bool new_index)
{
	struct channel *c = calloc(1, sizeof(*c));
	struct sf_repo_index idx;
	int e = c ? repo_channel_load(r, name, c) : EXIT_IO;

	if (e == EXIT_OK && !c->exists)
		e = EXIT_OK;
	else if (e == EXIT_OK &&
		 (new_index || c->ts.keyset != r->ks.set ||
		  c->idx.expires < r->now + r->index_life / 2)) {
		idx = c->idx;
		e = repo_publish(r, c, &idx);
	} else if (e == EXIT_OK)
		e = repo_publish_timestamp(r, c);
	if (e == EXIT_OK && c->exists)
		printf("channel %s: timestamp serial %" PRIu64
		       ", index serial %" PRIu64 "\n",
		       name, c->ts.serial, c->idx.serial);
	free(c);
	return e;
}

static int refresh_all(struct repo *r, bool new_index)
{
	char names[64][SF_REPO_CHANNEL_SIZE];
	int n = repo_channels(r, names, 64), e = EXIT_OK;

	if (n < 0) {
		fprintf(stderr, "slotflip-image: error: %s/channels: %s\n",
			r->dir, strerror(-n));
		return EXIT_IO;
	}
	for (int i = 0; e == EXIT_OK && i < n; i++)
		e = refresh_channel(r, names[i], new_index);
	return e;
}

static int repo_refresh(struct repo_args *a)
{
	struct ms_seckey keys[MAX_KEYS];
	struct repo r;
	int e = open_signing(a, &r, keys);

	if (e == EXIT_OK) {
		e = refresh_all(&r, false);
		repo_close(&r);
	}
	wipe(keys, a->n_keys);
	return e;
}

static int write_next_set(struct repo_args *a, struct repo *r,
			  struct ms_seckey *new_keys)
{
	struct sf_repo_keyset next = r->ks;
	_cleanup_free_ char *text = NULL;
	char name[64], comment[MS_TRUSTED_COMMENT_MAX];
	size_t len;
	int e;

	next.set = r->ks.set + 1;
	next.threshold = (unsigned)(a->threshold ? a->threshold : 1);
	next.issued = a->now;
	next.n_keys = a->n_new_keys;
	for (unsigned i = 0; i < a->n_new_keys; i++)
		ms_pubkey_from_seckey(&new_keys[i], &next.keys[i]);
	if (sf_repo_keyset_format(&cli_ctx, &next, &text, &len) < 0)
		return usage_error(a->cmd,
				   "the new keys do not make a key set");
	snprintf(name, sizeof(name), "keys/%" PRIu64, next.set);
	sf_repo_comment(SF_REPODOC_KEYS, next.product, NULL, next.set, comment,
			sizeof(comment));
	e = repo_write_signed(r, name, NULL, text, len, comment, new_keys,
			      a->n_new_keys);
	if (e != EXIT_OK)
		return e;
	r->prev = r->ks;
	r->ks = next;
	r->keys = new_keys;
	r->n_keys = a->n_new_keys;
	printf("%s: key set %" PRIu64 " (%u of %u keys)\n", a->dir, next.set,
	       next.threshold, next.n_keys);
	return EXIT_OK;
}

static int repo_rotate(struct repo_args *a)
{
	struct ms_seckey keys[MAX_KEYS], new_keys[MAX_KEYS];
	struct repo r;
	int e;

	if (!a->n_new_keys)
		return usage_error(a->cmd, "give at least one --new-key SEC");
	if (a->threshold > a->n_new_keys)
		return usage_error(a->cmd,
				   "threshold %lu is above the %u --new-key "
				   "keys",
				   a->threshold, a->n_new_keys);
	e = open_signing(a, &r, keys);
	if (e == EXIT_OK)
		e = load_seckeys(a->new_keys, a->n_new_keys, a->password_file,
				 new_keys);
	if (e == EXIT_OK)
		e = write_next_set(a, &r, new_keys);
	if (e == EXIT_OK)
		e = refresh_all(&r, true);
	if (r.fd >= 0)
		repo_close(&r);
	wipe(keys, a->n_keys);
	wipe(new_keys, a->n_new_keys);
	return e;
}

/* ---- verify ---- */

static int repo_verify_cmd(struct repo_args *a)
{
	struct ms_pubkey pubs[MAX_KEYS];
	struct repo r;
	int e;

	if (a->threshold > a->n_pubkeys)
		return usage_error(
			a->cmd, "threshold %lu is above the %u --pubkey keys",
			a->threshold, a->n_pubkeys);
	if (a->channel && !sf_repo_channel_valid(a->channel))
		return usage_error(a->cmd, "bad channel \"%s\"", a->channel);
	e = load_pubkeys(a->pubkeys, a->n_pubkeys, pubs);
	if (e == EXIT_OK)
		e = repo_open(a->dir, false, &r);
	if (e != EXIT_OK)
		return e;
	e = repo_verify(&r, a->channel, pubs, a->n_pubkeys,
			a->threshold ? (unsigned)a->threshold : 1);
	repo_close(&r);
	return e;
}

int cmd_repo(int argc, char **argv)
{
	struct repo_args a = { .n_keys = 0 };
	int e;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(repo_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++) {
		if (strcmp(argv[1], subcommands[i].name))
			continue;
		e = parse_args(&subcommands[i], argc - 1, argv + 1, &a);
		if (e != EXIT_OK)
			return e < 0 ? EXIT_OK : e;
		return subcommands[i].fn(&a);
	}
	return usage_error("repo",
			   "unknown command \"%s\" (init, add, "
			   "refresh, promote, rotate-keys, verify)",
			   argv[1]);
}
