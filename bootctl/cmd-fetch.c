// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip fetch: get an update from the repository of the config's
 * [server] (docs/REPO.md, "The device's algorithm"): the timestamp, the
 * key chain, the index, then the one image that fits the running slot,
 * downloaded into the data partition and staged as `slotflip stage`
 * stages. The network is another program's (slotflip-http, which links
 * libcurl); file:// repositories are read here, with the same caps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "fileio.h"
#include "staging.h"
#include "transition.h"
#include "util.h"
#include "version.h"

#ifndef SF_HTTP_HELPER /* set by mk/install.mk */
#define SF_HTTP_HELPER "/usr/local/lib/slotflip/slotflip-http"
#endif
#define DOC_NAME "fetch-doc"
#define PARTIAL_PREFIX "fetch-"
#define PARTIAL_SUFFIX ".partial"
#define COPY_BUF (1u << 20)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

struct fetch {
	struct cli *c;
	const struct sf_server_config *srv;
	int dir_fd;
	bool file; /* a file:// repository */
	char base[4096]; /* file://: the directory under --root */
	struct fetch_state st, next;
	struct sf_repo_keyset ks;
	char *ks_text; /* the set in force as fetched, when not the config's */
	size_t ks_len;
	struct sf_repo_timestamp ts;
	struct sf_repo_index idx;
	uint64_t now;
	const struct sf_repo_image *pick;
	char pick_rel[96]; /* images/HASH.img */
	struct fetch_follow fl; /* the image download, checked as it grows */
	bool staged; /* the run ends with the update staged */
	struct fetch_last last;
};

/* ------------------------------------------------------------------ */
/* Transport: the helper for http(s), the files themselves for file://. */

static const char *helper_path(const struct fetch *f)
{
	const char *env = getenv("SLOTFLIP_HTTP_HELPER");

	if (env && *env)
		return env;
	return f->srv->http_helper[0] ? f->srv->http_helper : SF_HTTP_HELPER;
}

/* A path of the config (ca, cert, key) under --root, into @buf. */
static const char *rooted(const struct fetch *f, const char *path, char *buf,
			  size_t size)
{
	return sf_root_path(&f->c->ctx, path, buf, size) < 0 ? path : buf;
}

struct argv {
	const char *v[64];
	unsigned n;
	char nums[4][24];
	char paths[3][4096];
};

static void arg2(struct argv *a, const char *opt, const char *val)
{
	if (a->n + 3 > ARRAY_SIZE(a->v))
		return;
	a->v[a->n++] = opt;
	a->v[a->n++] = val;
}

static void arg_num(struct argv *a, unsigned i, const char *opt, uint64_t n)
{
	snprintf(a->nums[i], sizeof(a->nums[i]), "%" PRIu64, n);
	arg2(a, opt, a->nums[i]);
}

/* The options every request shares: TLS, limits, opt-ins. */
static void common_args(const struct fetch *f, struct argv *a)
{
	const struct sf_server_config *s = f->srv;

	if (s->ca[0])
		arg2(a, "--ca", rooted(f, s->ca, a->paths[0], 4096));
	if (s->cert[0]) {
		arg2(a, "--cert", rooted(f, s->cert, a->paths[1], 4096));
		arg2(a, "--key", rooted(f, s->key, a->paths[2], 4096));
	}
	if (s->limit_rate)
		arg_num(a, 1, "--limit-rate", s->limit_rate);
	if (s->connect_timeout)
		arg_num(a, 2, "--connect-timeout", s->connect_timeout);
	if (s->stall_timeout)
		arg_num(a, 3, "--stall-timeout", s->stall_timeout);
	if (s->allow_http)
		a->v[a->n++] = "--allow-http";
}

/* What the helper's exit status means for slotflip's. */
static int helper_status(struct fetch *f, const char *url, int status)
{
	switch (status) {
	case 0:
		return EXIT_OK;
	case EXIT_REFUSED:
		return cli_fail(f->c, EXIT_REFUSED,
				"%s refused (above): nothing was staged", url);
	case EXIT_NETWORK:
		return cli_fail(f->c, EXIT_NETWORK,
				"%s: the server or the network failed (above): "
				"try again later",
				url);
	case EXIT_IO:
		return cli_fail(f->c, EXIT_IO,
				"%s could not be written on the data partition "
				"(above)",
				url);
	default:
		return cli_fail(f->c, EXIT_IO,
				"the download helper %s failed (exit status "
				"%d)",
				helper_path(f), status);
	}
}

static pid_t spawn_helper(struct fetch *f, const char **argv)
{
	int devnull;
	pid_t pid = fork();

	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		/* The helper writes through the staging directory we opened
		 * (no path to follow again: see http_get()). */
		fcntl(f->dir_fd, F_SETFD, 0);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "slotflip: cannot run %s: %m\n", argv[0]);
		_exit(127);
	}
	return pid;
}

/* Wait for the helper. With @fl, follow its download meanwhile (every
 * 20 ms): what does not check stops the helper at once. */
static int wait_helper(struct fetch *f, pid_t pid, const char *url,
		       struct fetch_follow *fl)
{
	const struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };
	int status = 0, r;
	pid_t w;

	if (pid < 0)
		return cli_fail(f->c, EXIT_IO, "cannot run %s: %m",
				helper_path(f));
	while ((w = waitpid(pid, &status, fl ? WNOHANG : 0)) != pid) {
		if (w < 0 && errno != EINTR)
			return cli_fail(f->c, EXIT_IO, "cannot wait for %s: %m",
					helper_path(f));
		if (!fl || w < 0)
			continue;
		r = fetch_follow_step(fl);
		if (r) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			return r;
		}
		nanosleep(&tick, NULL);
	}
	if (!WIFEXITED(status))
		return cli_fail(f->c, EXIT_IO, "%s was killed", helper_path(f));
	return helper_status(f, url, WEXITSTATUS(status));
}

/* Download @rel of the repository into @out (a file in the staging
 * directory): at most @cap bytes, or exactly @size when not 0; followed
 * by @fl when not NULL. */
static int http_get(struct fetch *f, const char *rel, const char *out,
		    uint64_t cap, uint64_t size, const char **headers,
		    struct fetch_follow *fl)
{
	char url[4096], path[4096];
	struct argv a = { .n = 0 };

	snprintf(url, sizeof(url), "%s/%s", f->srv->url, rel);
	/* The output, named through the staging directory's fd, which the
	 * helper inherits: a directory swapped for a symlink since it was
	 * opened (O_NOFOLLOW) is not followed. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", f->dir_fd, out);
	a.v[a.n++] = helper_path(f);
	a.v[a.n++] = url;
	a.v[a.n++] = path;
	arg_num(&a, 0, size ? "--size" : "--max-bytes", size ? size : cap);
	common_args(f, &a);
	for (; headers && *headers; headers++)
		arg2(&a, "--header", *headers);
	/* An image on a terminal: the helper's bar (lines are ours). */
	if (size && isatty(STDERR_FILENO))
		arg2(&a, "--progress", "downloading");
	a.v[a.n] = NULL;
	return wait_helper(f, spawn_helper(f, a.v), url, fl);
}

/* The report headers (docs/REPO.md, "Reports"), for the timestamp only. */
struct report {
	char h[5][160];
	const char *list[6];
};

static void device_id(const struct fetch *f, char out[SF_REPO_HEX_SIZE])
{
	char path[4096], id[128];
	uint8_t key[SF_HASH_BYTES], h[SF_HASH_BYTES];
	ssize_t n = -1;

	if (sf_root_path(&f->c->ctx, "/etc/machine-id", path, sizeof(path)) >=
	    0)
		n = read_text_file(path, id, sizeof(id));
	if (n <= 0) {
		strcpy(out, "unknown");
		return;
	}
	id[strcspn(id, "\n")] = '\0';
	/* libsodium's keyed BLAKE2b takes 16 to 64 key bytes: the key is
	 * the hash of the product name. */
	sf_repo_hash(f->srv->product, strlen(f->srv->product), key);
	crypto_generichash(h, sizeof(h), (const uint8_t *)id, strlen(id), key,
			   sizeof(key));
	sf_repo_hex(h, out);
}

static void report_headers(const struct fetch *f, struct report *r)
{
	const struct cli *c = f->c;
	struct sf_last_result lr = { .result = "none" };
	char dev[SF_REPO_HEX_SIZE];

	sf_last_result_read(f->dir_fd, &lr);
	device_id(f, dev);
	snprintf(r->h[0], sizeof(r->h[0]), "Slotflip-Version: %s",
		 c->st.slot[c->booted].version[0]
			 ? c->st.slot[c->booted].version
			 : "unknown");
	snprintf(r->h[1], sizeof(r->h[1]), "Slotflip-Slot: %s",
		 sf_slot_name((uint8_t)c->booted));
	snprintf(r->h[2], sizeof(r->h[2]), "Slotflip-Channel: %s",
		 f->srv->channel);
	snprintf(r->h[3], sizeof(r->h[3]), "Slotflip-Last-Result: %s",
		 lr.result[0] ? lr.result : "none");
	snprintf(r->h[4], sizeof(r->h[4]), "Slotflip-Device: %s", dev);
	for (int i = 0; i < 5; i++)
		r->list[i] = r->h[i];
	r->list[5] = NULL;
}

static int file_path(struct fetch *f, const char *rel, char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/%s", f->base, rel) >= size)
		return cli_fail(f->c, EXIT_IO, "repository path too long");
	return EXIT_OK;
}

static int read_error(struct fetch *f, const char *rel, size_t cap, int r)
{
	if (r == -EFBIG)
		return cli_fail(f->c, EXIT_REFUSED,
				"%s refused: more than its cap of %zu bytes "
				"(endless data?)",
				rel, cap);
	if (r == -ENOENT)
		return cli_fail(f->c, EXIT_REFUSED,
				"%s is not in the repository %s", rel,
				f->srv->url);
	return cli_fail(f->c, EXIT_IO, "cannot read %s: %s", rel, strerror(-r));
}

/* A document of the repository, at most @cap bytes, into *@ret. (Its
 * callers set *@ret_len to 0 first: GCC's analyzer cannot see that
 * cli_fail(), in another file, never returns EXIT_OK.) */
static int get_doc(struct fetch *f, const char *rel, size_t cap, bool report,
		   char **ret, size_t *ret_len)
{
	struct report rep;
	char path[4096];
	int r;

	if (f->file) {
		r = file_path(f, rel, path, sizeof(path));
		if (r)
			return r;
		r = sf_repo_read_at(NULL, AT_FDCWD, path, cap, ret, ret_len);
		return r < 0 ? read_error(f, rel, cap, r) : EXIT_OK;
	}
	if (report)
		report_headers(f, &rep);
	unlinkat(f->dir_fd, DOC_NAME, 0);
	r = http_get(f, rel, DOC_NAME, cap, 0, report ? rep.list : NULL, NULL);
	if (!r)
		r = sf_repo_read_at(NULL, f->dir_fd, DOC_NAME, cap, ret,
				    ret_len);
	/* Nothing of a document stays: what a refused one held included. */
	unlinkat(f->dir_fd, DOC_NAME, 0);
	if (r > 0)
		return r;
	return r < 0 ? read_error(f, rel, cap, r) : EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Documents: the key chain, the timestamp, the index. */

static int refused(struct fetch *f, const char *what)
{
	return cli_fail(
		f->c, EXIT_REFUSED,
		"%s refused (above): nothing changed, nothing was staged",
		what);
}

static int load_keyset(struct fetch *f)
{
	char path[4096];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if (f->st.keyset) {
		r = sf_repo_read_at(&f->c->ctx, f->dir_fd, FETCH_KEYS_NAME,
				    SF_REPO_KEYSET_CAP, &text, &len);
		if (r >= 0)
			r = sf_repo_keyset_parse(&f->c->ctx, FETCH_KEYS_NAME,
						 text, len, &f->ks);
		if (r < 0 || f->ks.set != f->st.keyset)
			return cli_fail(
				f->c, EXIT_IO,
				"the key set in force (%s, set %" PRIu64
				") is unusable: remove %s and %s to "
				"start over from the config's repo-keys",
				FETCH_KEYS_NAME, f->st.keyset, FETCH_KEYS_NAME,
				FETCH_STATE_NAME);
		return EXIT_OK;
	}
	r = sf_root_path(&f->c->ctx, f->srv->repo_keys, path, sizeof(path));
	if (r >= 0)
		r = sf_repo_read_at(&f->c->ctx, AT_FDCWD, path,
				    SF_REPO_KEYSET_CAP, &text, &len);
	if (r >= 0)
		r = sf_repo_keyset_parse(&f->c->ctx, path, text, len, &f->ks);
	/* Kept as the set in force from the first run on. */
	f->ks_text = TAKE_PTR(text);
	f->ks_len = len;
	if (r < 0)
		return cli_fail(f->c, EXIT_CONFIG,
				"the first key set (config: repo-keys = %s) is "
				"unusable (above)",
				f->srv->repo_keys);
	if (strcmp(f->ks.product, f->srv->product))
		return cli_fail(f->c, EXIT_CONFIG,
				"repo-keys %s is the key set of product %s, "
				"not %s (config: product)",
				f->srv->repo_keys, f->ks.product,
				f->srv->product);
	return EXIT_OK;
}

/* One step of the chain: set ks.set + 1, signed by both thresholds. */
static int chain_step(struct fetch *f)
{
	char rel[64], srel[80];
	_cleanup_free_ char *text = NULL, *sigs = NULL;
	size_t len = 0, slen = 0;
	struct sf_repo_keyset next;
	int r;

	snprintf(rel, sizeof(rel), "keys/%" PRIu64, f->ks.set + 1);
	snprintf(srel, sizeof(srel), "%s.minisig", rel);
	r = get_doc(f, rel, SF_REPO_KEYSET_CAP, false, &text, &len);
	if (!r)
		r = get_doc(f, srel, SF_REPO_SIGFILE_CAP, false, &sigs, &slen);
	if (r)
		return r;
	if (sf_repo_keyset_accept(&f->c->ctx, rel, &f->ks, text, len, sigs,
				  slen, &next) < 0)
		return refused(f, rel);
	cli_say(f->c,
		"fetch: key set %" PRIu64 " accepted (signed by set %" PRIu64
		" and by itself)",
		next.set, f->ks.set);
	f->ks = next;
	free(f->ks_text);
	f->ks_text = TAKE_PTR(text);
	f->ks_len = len;
	return EXIT_OK;
}

static int walk_chain(struct fetch *f, uint64_t want)
{
	int r;

	if (want > f->ks.set + SF_REPO_CHAIN_MAX)
		return cli_fail(f->c, EXIT_REFUSED,
				"the timestamp names key set %" PRIu64
				", more than %u sets above the one in force "
				"(%" PRIu64 "): nothing was staged",
				want, SF_REPO_CHAIN_MAX, f->ks.set);
	while (f->ks.set < want)
		if ((r = chain_step(f)))
			return r;
	return EXIT_OK;
}

static void doc_comment(const struct fetch *f, enum sf_repodoc_kind kind,
			char *buf, size_t size)
{
	sf_repo_comment(kind, f->srv->product, f->srv->channel, 0, buf, size);
}

/* The signature file @rel of @doc, checked with the set in force. */
static int check_doc_sigs(struct fetch *f, const char *rel, const char *name,
			  const char *doc, size_t len,
			  enum sf_repodoc_kind kind)
{
	_cleanup_free_ char *sigs = NULL;
	char comment[256];
	size_t slen = 0;
	int r = get_doc(f, rel, SF_REPO_SIGFILE_CAP, false, &sigs, &slen);

	if (r)
		return r;
	doc_comment(f, kind, comment, sizeof(comment));
	if (sf_repo_check_sigs(&f->c->ctx, name, doc, len, sigs, slen, &f->ks,
			       comment) < 0)
		return refused(f, name);
	return EXIT_OK;
}

static struct sf_repo_seen seen_of(const struct fetch *f)
{
	struct sf_repo_seen s = { .ts_serial = f->st.ts_serial,
				  .index_serial = f->st.index_serial };

	snprintf(s.floor, sizeof(s.floor), "%s", f->st.floor);
	return s;
}

static int get_timestamp(struct fetch *f)
{
	char rel[96], srel[128];
	_cleanup_free_ char *text = NULL;
	struct sf_repo_seen seen = seen_of(f);
	size_t len = 0;
	int r;

	snprintf(rel, sizeof(rel), "channels/%s/timestamp", f->srv->channel);
	r = get_doc(f, rel, SF_REPO_TIMESTAMP_CAP, true, &text, &len);
	if (r)
		return r;
	if (sf_repo_timestamp_parse(&f->c->ctx, rel, text, len, &f->ts) < 0)
		return refused(f, rel);
	if (f->ts.keyset > f->ks.set && (r = walk_chain(f, f->ts.keyset)))
		return r;
	snprintf(srel, sizeof(srel), "%s.%" PRIu64 ".minisig", rel,
		 f->ts.serial);
	r = check_doc_sigs(f, srel, rel, text, len, SF_REPODOC_TIMESTAMP);
	if (r)
		return r;
	if (sf_repo_timestamp_check(&f->c->ctx, rel, &f->ts, f->srv->product,
				    f->srv->channel, f->ks.set, &seen,
				    f->now) < 0)
		return refused(f, rel);
	cli_say(f->c,
		"fetch: timestamp serial %" PRIu64 " (key set %" PRIu64 ")",
		f->ts.serial, f->ks.set);
	return EXIT_OK;
}

static int get_index(struct fetch *f)
{
	char hex[SF_REPO_HEX_SIZE], rel[160], srel[192];
	_cleanup_free_ char *text = NULL;
	struct sf_repo_seen seen = seen_of(f);
	size_t len = 0;
	int r;

	sf_repo_hex(f->ts.index_hash, hex);
	snprintf(rel, sizeof(rel), "channels/%s/index.%s", f->srv->channel,
		 hex);
	snprintf(srel, sizeof(srel), "%s.minisig", rel);
	r = get_doc(f, rel, (size_t)f->ts.index_size, false, &text, &len);
	if (r)
		return r;
	if (sf_repo_index_bytes_check(&f->c->ctx, rel, &f->ts, text, len) < 0)
		return refused(f, rel);
	r = check_doc_sigs(f, srel, rel, text, len, SF_REPODOC_INDEX);
	if (r)
		return r;
	if (sf_repo_index_parse(&f->c->ctx, rel, text, len, &f->idx) < 0 ||
	    sf_repo_index_check(&f->c->ctx, rel, &f->idx, f->srv->product,
				f->c->cfg.compatible, f->srv->channel, &seen,
				f->now) < 0)
		return refused(f, rel);
	cli_say(f->c, "fetch: index serial %" PRIu64 " offers version %s",
		f->idx.serial, f->idx.version);
	snprintf(f->last.version, sizeof(f->last.version), "%s",
		 f->idx.version);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* The choice, the state. */

/* @a is above @b ("0" and "" are no version: nothing is below them). */
static bool above(const char *a, const char *b)
{
	int cmp;

	if (!b[0] || !strcmp(b, "0"))
		return true;
	return sf_version_cmp_str(a, b, &cmp) == 0 && cmp > 0;
}

static const char *higher_floor(const char *a, const char *b)
{
	return above(a, b) ? a : b;
}

/* The index offers something this device takes. */
static bool offers_update(const struct fetch *f)
{
	const struct cli *c = f->c;

	return above(f->idx.version, c->st.slot[c->booted].version) &&
	       above(f->idx.version, c->st.floor) &&
	       above(f->idx.version, f->st.floor);
}

/* The delta whose base is the running slot (its version and the full
 * image's manifest fetch recorded when it staged it), else the full. */
static void choose(struct fetch *f)
{
	const struct cli *c = f->c;
	const struct fetch_slot *run = &f->st.slot[c->booted];
	const char *v = c->st.slot[c->booted].version;

	f->pick = &f->idx.full;
	if (!run->known || strcmp(run->version, v))
		return;
	for (unsigned i = 0; i < f->idx.n_deltas; i++)
		if (!strcmp(f->idx.deltas[i].base_version, v) &&
		    !memcmp(f->idx.deltas[i].base_manifest, run->manifest,
			    SF_HASH_BYTES))
			f->pick = &f->idx.deltas[i];
}

/* What steps 1 and 2 accepted, for the state (docs/REPO.md, step 6). */
static void remember(struct fetch *f, bool idle)
{
	struct fetch_state *n = &f->next;

	*n = f->st;
	n->keyset = f->ks.set;
	snprintf(n->channel, sizeof(n->channel), "%s", f->srv->channel);
	n->ts_serial = f->ts.serial;
	n->ts_issued = f->ts.issued > n->ts_issued ? f->ts.issued
						   : n->ts_issued;
	n->index_serial = f->idx.serial;
	n->have_index = true;
	memcpy(n->index_hash, f->ts.index_hash, SF_HASH_BYTES);
	snprintf(n->idle, sizeof(n->idle), "%s",
		 idle ? f->c->st.slot[f->c->booted].version : "");
	snprintf(n->floor, sizeof(n->floor), "%s",
		 higher_floor(f->idx.floor, f->st.floor));
}

static int store_state(struct fetch *f)
{
	int r;

	if (f->ks_text) {
		r = write_file_atomic_at(f->dir_fd, FETCH_KEYS_NAME, f->ks_text,
					 f->ks_len, 0644);
		if (r < 0)
			return cli_fail(f->c, EXIT_IO, "cannot write %s: %s",
					FETCH_KEYS_NAME, strerror(-r));
	}
	r = fetch_state_store(f->c, f->dir_fd, &f->next);
	if (!r)
		f->st = f->next;
	return r;
}

/* ------------------------------------------------------------------ */
/* The image. */

static void partial_name(const struct fetch *f, char *buf, size_t size)
{
	char hex[SF_REPO_HEX_SIZE];

	sf_repo_hex(f->pick->hash, hex);
	snprintf(buf, size, PARTIAL_PREFIX "%s" PARTIAL_SUFFIX, hex);
}

/* Partial downloads of other images: what the index no longer offers. */
static void remove_stale_partials(const struct fetch *f, const char *keep)
{
	int fd = openat(f->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t n;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (!strncmp(e->d_name, PARTIAL_PREFIX, 6) && n > 8 &&
		    !strcmp(e->d_name + n - 8, PARTIAL_SUFFIX) &&
		    strcmp(e->d_name, keep))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static uint64_t have_bytes(const struct fetch *f, const char *name)
{
	struct stat st;

	if (fstatat(f->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

static int check_space(struct fetch *f, uint64_t need)
{
	struct statvfs vfs;
	uint64_t avail;

	if (fstatvfs(f->dir_fd, &vfs) < 0)
		return cli_fail(f->c, EXIT_IO,
				"cannot stat the data partition: %m");
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail >= need)
		return EXIT_OK;
	return cli_fail(f->c, EXIT_IO,
			"not enough space on the data partition: the download "
			"needs %" PRIu64 " KiB more, %" PRIu64
			" KiB are free; nothing was staged",
			need >> 10, avail >> 10);
}

/* file://: copy from where @name ends, never past the signed size. */
static int file_copy(struct fetch *f, const char *rel, const char *name,
		     uint64_t off)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_BUF);
	_cleanup_close_ int in = -1, out = -1;
	char path[4096];
	ssize_t n = 0;
	int r = file_path(f, rel, path, sizeof(path));

	if (r)
		return r;
	in = open_regular_at(AT_FDCWD, path, O_RDONLY);
	if (in < 0)
		return read_error(f, rel, 0, in);
	out = openat(f->dir_fd, name,
		     O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (!buf || out < 0)
		return cli_fail(f->c, EXIT_IO, "cannot create %s: %m", name);
	while (off < f->pick->size) {
		n = pread(in, buf, MIN((uint64_t)COPY_BUF, f->pick->size - off),
			  (off_t)off);
		if (n <= 0)
			break;
		r = pwrite_full(out, buf, (size_t)n, off);
		if (r < 0)
			return cli_fail(f->c, EXIT_IO, "cannot write %s: %s",
					name, strerror(-r));
		off += (uint64_t)n;
		r = fetch_follow_step(&f->fl);
		if (r)
			return r;
	}
	if (n < 0)
		return cli_fail(f->c, EXIT_IO, "cannot read %s: %m", rel);
	return EXIT_OK;
}

/*
 * The whole file is exactly the signed size and hash: the hash the
 * follow made of it as it checked it, when it checked it all (the file
 * is then its size: the follow stops at the last chunk's end, and the
 * helper never writes more than the signed size); else read again.
 */
static int check_download(struct fetch *f, const char *name)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	crypto_generichash_state h;
	uint8_t got[SF_HASH_BYTES];
	ssize_t n = 0;
	uint64_t total = have_bytes(f, name);

	if (fetch_follow_done(&f->fl) && total == f->pick->size) {
		crypto_generichash_final(&f->fl.whole, got, SF_HASH_BYTES);
		goto compare;
	}
	buf = malloc(COPY_BUF);
	fd = openat(f->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (!buf || fd < 0)
		return cli_fail(f->c, EXIT_IO, "cannot read %s: %m", name);
	total = 0;
	crypto_generichash_init(&h, NULL, 0, SF_HASH_BYTES);
	while ((n = read_full(fd, buf, COPY_BUF)) > 0) {
		crypto_generichash_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	crypto_generichash_final(&h, got, SF_HASH_BYTES);
	if (n < 0)
		return cli_fail(f->c, EXIT_IO, "cannot read %s", name);
compare:
	if (total == f->pick->size &&
	    !memcmp(got, f->pick->hash, SF_HASH_BYTES))
		return EXIT_OK;
	unlinkat(f->dir_fd, name, 0);
	return cli_fail(f->c, EXIT_REFUSED,
			"the image downloaded (%" PRIu64 " bytes) is not the "
			"one the index names (%" PRIu64
			" bytes and its hash): removed, nothing was staged",
			total, f->pick->size);
}

/* The partial as it is: cut to the prefix that checks before a byte
 * more is fetched. Returns EXIT_OK with the bytes kept in *@ret_have. */
static int resume_point(struct fetch *f, const char *name, uint64_t *ret_have)
{
	uint64_t have = have_bytes(f, name), kept = 0;
	int r;

	remove_stale_partials(f, name);
	if (have > f->pick->size) {
		unlinkat(f->dir_fd, name, 0);
		have = 0;
	}
	/* Nothing is created on a data partition without room (a partial
	 * cut below needs at most a chunk more: the helper then says). */
	r = check_space(f, f->pick->size - have);
	if (r)
		return r;
	f->fl = (struct fetch_follow){ .c = f->c,
				       .dir_fd = f->dir_fd,
				       .name = name,
				       .rel = f->pick_rel,
				       .want = f->pick,
				       .version = f->idx.version,
				       .fd = -1 };
	r = fetch_follow_open(&f->fl);
	if (!r)
		r = fetch_follow_resume(&f->fl, &kept);
	if (r)
		return r;
	if (kept < have)
		cli_say(f->c,
			"fetch: %" PRIu64 " of the %" PRIu64 " bytes already "
			"downloaded check; the rest is fetched again",
			kept, have);
	*ret_have = kept;
	return EXIT_OK;
}

/* The download stopped (@r): a partial keeps only what checked. */
static int download_failed(struct fetch *f, int r)
{
	struct fetch_follow *fl = &f->fl;
	uint64_t at = have_bytes(f, fl->name);

	if (fl->bad && !fl->verified) {
		unlinkat(f->dir_fd, fl->name, 0);
		return cli_fail(f->c, r,
				"the download was stopped at %" PRIu64
				" of %" PRIu64
				" bytes and removed: nothing was staged",
				at, f->pick->size);
	}
	if (fl->bad) {
		if (fetch_follow_trim(fl))
			return r;
		return cli_fail(f->c, r,
				"the download was stopped at %" PRIu64
				" of %" PRIu64
				" bytes; the partial keeps the %" PRIu64
				" bytes before that chunk: nothing was staged",
				at, f->pick->size, fl->verified);
	}
	/* What arrived of the chunk in progress stays: checked when its
	 * chunk is whole, in the next run. */
	cli_say(f->c,
		"fetch: the partial download keeps %" PRIu64 " of the %" PRIu64
		" bytes (%" PRIu64 " checked, the rest when its chunk is "
		"whole), for the next run",
		at, f->pick->size, fl->verified);
	return r;
}

static int download(struct fetch *f, const char *name)
{
	uint64_t have = 0;
	int r = resume_point(f, name, &have);

	if (r)
		return r;
	cli_say(f->c, "fetch: downloading %s %s (%" PRIu64 " bytes%s)",
		f->pick->base_version[0] ? "the delta from" : "the full image",
		f->pick->base_version[0] ? f->pick->base_version : f->pick_rel,
		f->pick->size,
		have == f->pick->size ? ", already downloaded"
		: have		      ? ", resuming"
				      : "");
	r = f->file ? file_copy(f, f->pick_rel, name, have)
		    : http_get(f, f->pick_rel, name, 0, f->pick->size, NULL,
			       &f->fl);
	if (!r)
		r = fetch_follow_step(&f->fl); /* the last bytes */
	f->last.bytes = f->fl.grown;
	f->st.tries.bytes += f->fl.grown;
	if (r)
		return download_failed(f, r);
	return check_download(f, name);
}

static int stage_download(struct fetch *f, const char *name)
{
	struct cli *c = f->c;
	uint8_t spare = (uint8_t)(1 - c->booted);
	uint8_t manifest[SF_HASH_BYTES];
	struct fetch_slot *s = &f->next.slot[spare];
	int r = cli_stage_placed(c, f->dir_fd, name, name, f->idx.version,
				 fetch_follow_done(&f->fl), manifest);

	if (r)
		return r;
	cli_say(c, "staged version %s: slot %s gets it at the next reboot",
		f->idx.version, sf_slot_name(spare));
	/* The base a later delta names: the full image's manifest; its
	 * build time, the clock's floor once it runs. */
	f->next = f->st;
	s->known = true;
	snprintf(s->version, sizeof(s->version), "%s", f->idx.version);
	memcpy(s->manifest, f->idx.manifest, SF_HASH_BYTES);
	s->build_time = f->fl.img ? f->fl.img->m.build_time : 0;
	return fetch_state_store(c, f->dir_fd, &f->next);
}

/* ------------------------------------------------------------------ */

static int open_dir(struct fetch *f)
{
	struct cli *c = f->c;

	f->dir_fd = sf_staging_dir_open(&c->ctx, &c->cfg, true);
	if (f->dir_fd < 0)
		return cli_fail(c, EXIT_IO,
				"the staging directory on the data partition "
				"is not usable (is it mounted at %s? config: "
				"data-dir)",
				c->cfg.data_dir);
	return EXIT_OK;
}

/* The build time of the image the running slot holds: the one fetch
 * recorded when it staged it, else the one mark-good recorded when it
 * confirmed it; 0 when unknown. */
static uint64_t running_build_time(const struct fetch *f)
{
	const struct cli *c = f->c;
	const char *v;
	const struct fetch_slot *run;

	if (c->booted < 0 || c->booted > 1)
		return 0;
	v = c->st.slot[c->booted].version;
	run = &f->st.slot[c->booted];
	if (run->known && run->build_time && !strcmp(run->version, v))
		return run->build_time;
	return fetch_installed_build_time(f->dir_fd, (uint8_t)c->booted, v);
}

static int setup(struct fetch *f)
{
	struct cli *c = f->c;
	int r;

	if (!f->srv->present)
		return cli_fail(c, EXIT_CONFIG,
				"%s has no [server] section: nowhere to fetch "
				"from (README: the device config file)",
				c->cfg.file);
	f->file = !strncmp(f->srv->url, "file://", 7);
	if (f->file && sf_root_path(&c->ctx, f->srv->url + 7, f->base,
				    sizeof(f->base)) < 0)
		return cli_fail(c, EXIT_CONFIG, "url too long");
	r = cli_stage_allowed(c);
	if (!r)
		r = open_dir(f);
	if (!r)
		r = fetch_state_load(c, f->dir_fd, &f->st);
	if (!r && strcmp(f->st.channel, f->srv->channel)) {
		/* Another channel: its serials start over; the key set and
		 * the floor stay. */
		f->st.ts_serial = f->st.index_serial = 0;
		f->st.have_index = false;
		f->st.idle[0] = '\0';
	}
	if (!r)
		r = load_keyset(f);
	if (!r)
		f->now = sf_repo_clock(c->now, f->st.ts_issued,
				       running_build_time(f));
	return r;
}

/* Steps 1 to 3. Returns EXIT_OK with f->pick set, EXIT_NO_UPDATE, or an
 * error. */
static int documents(struct fetch *f)
{
	bool same;
	int r = get_timestamp(f);

	if (r)
		return r;
	same = f->st.have_index && f->st.idle[0] &&
	       !strcmp(f->st.idle, f->c->st.slot[f->c->booted].version) &&
	       !memcmp(f->st.index_hash, f->ts.index_hash, SF_HASH_BYTES);
	if (same) {
		cli_say(f->c, "fetch: nothing new (the same index as the last "
			      "run)");
		snprintf(f->last.result, sizeof(f->last.result), "nothing-new");
		f->next = f->st;
		f->next.ts_serial = f->ts.serial;
		f->next.ts_issued = MAX(f->ts.issued, f->st.ts_issued);
		r = store_state(f);
		return r ? r : EXIT_NO_UPDATE;
	}
	r = get_index(f);
	if (r)
		return r;
	remember(f, !offers_update(f));
	r = store_state(f);
	if (r)
		return r;
	if (f->st.idle[0]) {
		cli_say(f->c, "fetch: up to date (running %s, offered %s)",
			f->c->st.slot[f->c->booted].version, f->idx.version);
		snprintf(f->last.result, sizeof(f->last.result), "up-to-date");
		return EXIT_NO_UPDATE;
	}
	choose(f);
	return EXIT_OK;
}

/* fetch staged this version for the spare slot, and it is still there. */
static bool staged_already(const struct fetch *f)
{
	const struct fetch_slot *s = &f->st.slot[1 - f->c->booted];
	struct stat st;

	return s->known && !strcmp(s->version, f->idx.version) &&
	       fstatat(f->dir_fd, SF_STAGED_NAME, &st, AT_SYMLINK_NOFOLLOW) ==
		       0;
}

static uint64_t bytes_cap(const struct fetch *f)
{
	uint64_t size = f->pick->size;

	if (size > (UINT64_MAX - FETCH_BYTES_SLACK) / FETCH_MAX_BYTES_FACTOR)
		return UINT64_MAX;
	return size * FETCH_MAX_BYTES_FACTOR + FETCH_BYTES_SLACK;
}

/* One more download attempt for this index serial, counted before it
 * starts (a run killed midway counts); refused once a cap is reached. */
static int count_attempt(struct fetch *f)
{
	struct fetch_tries *t = &f->st.tries;
	uint64_t cap = bytes_cap(f);

	if (t->serial != f->idx.serial)
		*t = (struct fetch_tries){ .serial = f->idx.serial };
	if (t->attempts >= FETCH_MAX_ATTEMPTS || t->bytes >= cap) {
		snprintf(f->last.result, sizeof(f->last.result), "gave-up");
		return cli_fail(
			f->c, EXIT_REFUSED,
			"fetch: gave up on version %s of index serial %" PRIu64
			": %" PRIu64 " download attempts and %" PRIu64
			" bytes did not give a good image (caps per index "
			"serial: %u attempts, %" PRIu64
			" bytes); nothing was staged. A new index serial "
			"starts over",
			f->idx.version, t->serial, t->attempts, t->bytes,
			FETCH_MAX_ATTEMPTS, cap);
	}
	t->attempts++;
	return fetch_state_store(f->c, f->dir_fd, &f->st);
}

/* The download ended (@r): its bytes counted. With --stage, only a
 * staged image ends the count (an image that downloads whole but does
 * not stage is tried again no more often than a bad one). */
static int count_done(struct fetch *f, int r)
{
	int s;

	if (!r && !f->c->stage)
		f->st.tries = (struct fetch_tries){ 0 };
	s = fetch_state_store(f->c, f->dir_fd, &f->st);
	if (!r && f->c->stage)
		f->st.tries = (struct fetch_tries){ 0 }; /* stored if staged */
	return r ? r : s;
}

static int run(struct fetch *f)
{
	char name[128], hex[SF_REPO_HEX_SIZE];
	int r = documents(f);

	if (r)
		return r;
	if (f->c->check) {
		cli_say(f->c,
			"update available: version %s (%s, %" PRIu64 " bytes)",
			f->idx.version,
			f->pick->base_version[0] ? "delta" : "full image",
			f->pick->size);
		snprintf(f->last.result, sizeof(f->last.result), "available");
		return EXIT_OK;
	}
	if (staged_already(f)) {
		cli_say(f->c,
			"fetch: version %s is staged already: slot %s "
			"gets it at the next reboot",
			f->idx.version,
			sf_slot_name((uint8_t)(1 - f->c->booted)));
		snprintf(f->last.result, sizeof(f->last.result), "staged");
		f->staged = true;
		return EXIT_OK;
	}
	partial_name(f, name, sizeof(name));
	sf_repo_hex(f->pick->hash, hex);
	snprintf(f->pick_rel, sizeof(f->pick_rel), "images/%s.img", hex);
	r = count_attempt(f);
	if (r)
		return r;
	r = count_done(f, download(f, name));
	if (r)
		return r;
	snprintf(f->last.result, sizeof(f->last.result), "downloaded");
	if (!f->c->stage) {
		cli_say(f->c,
			"fetch: version %s downloaded and checked; "
			"slotflip fetch --stage stages it",
			f->idx.version);
		return EXIT_OK;
	}
	r = stage_download(f, name);
	if (!r) {
		snprintf(f->last.result, sizeof(f->last.result), "staged");
		f->staged = true;
	}
	return r;
}

int cmd_fetch(struct cli *c)
{
	struct fetch f = {
		.c = c, .srv = &c->cfg.server, .dir_fd = -1, .fl = { .fd = -1 }
	};
	int r = cli_load(c, "fetch", NEED_ROOT | NEED_BOOTED);

	if (c->reboot)
		c->stage = true;
	if (!r)
		r = setup(&f);
	if (!r)
		r = run(&f);
	if (f.dir_fd >= 0) {
		f.last.time = c->now;
		if (!f.last.result[0])
			snprintf(f.last.result, sizeof(f.last.result), "%s",
				 r == EXIT_NETWORK ? "failed" : "refused");
		fetch_last_store(f.dir_fd, &f.last);
		close(f.dir_fd);
	}
	free(f.ks_text);
	fetch_follow_close(&f.fl);
	/* The config's reboot = yes: the timer's runs apply what they
	 * staged (docs/REPO.md). */
	if (!r && (c->reboot || (f.staged && c->cfg.server.reboot)))
		r = cli_reboot(c);
	if (r == EXIT_NO_UPDATE && !c->check)
		r = EXIT_OK;
	return r;
}
