// SPDX-License-Identifier: LGPL-2.1-or-later
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "partdev.h"
#include "manifest.h"
#include "util.h"

#define CONFIG_FILE_MAX (64u << 10)
#define NO_SECTION -1
#define SERVER_SECTION 2

struct parser {
	const struct sf_ctx *ctx;
	const char *path;
	unsigned line;
	int section; /* NO_SECTION, 0 or 1 (slots), SERVER_SECTION */
	struct sf_config *cfg;
	unsigned seen; /* bit per key: duplicates */
};

static int set_string(struct parser *p, const char *key, const char *v,
		      char *dst, size_t size)
{
	if (strlen(v) >= size)
		return sf_err(p->ctx, -EINVAL, "%s:%u: %s is too long", p->path,
			      p->line, key);
	strcpy(dst, v);
	return 0;
}

#define DEC_DIGITS "0123456789"
#define HEX_DIGITS "0123456789abcdefABCDEF"

/* Plain decimal digits only: strtoul() alone takes a sign ("+3", and "-1"
 * as ULONG_MAX) and leading blanks. */
static int set_uint(struct parser *p, const char *key, const char *v,
		    unsigned max, unsigned *dst)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (!*v || v[strspn(v, DEC_DIGITS)] || *end || n < 1 || n > max)
		return sf_err(p->ctx, -EINVAL,
			      "%s:%u: %s must be a number from 1 to %u, not "
			      "\"%s\"",
			      p->path, p->line, key, max, v);
	*dst = (unsigned)n;
	return 0;
}

static int set_deadline(struct parser *p, const char *v, unsigned *dst)
{
	unsigned long n = strtoul(v, NULL, 10);

	/* Digits only: strtoul() alone takes a sign and spaces. */
	if (!*v || v[strspn(v, "0123456789")] || strlen(v) > 6 ||
	    n < SF_CONFIG_DEADLINE_MIN || n > SF_CONFIG_DEADLINE_MAX)
		return sf_err(p->ctx, -EINVAL,
			      "%s:%u: trial-deadline must be a number of "
			      "seconds from %u to %u, not \"%s\"",
			      p->path, p->line, SF_CONFIG_DEADLINE_MIN,
			      SF_CONFIG_DEADLINE_MAX, v);
	*dst = (unsigned)n;
	return 0;
}

/* 1 to 4 hex digits: strtoul() alone takes a sign ("-1" would be FFFF,
 * "-FFE" F002) and a "0x" prefix. */
static int set_entry(struct parser *p, const char *v, uint16_t *dst)
{
	unsigned long n = strtoul(v, NULL, 16);

	if (!*v || v[strspn(v, HEX_DIGITS)] || strlen(v) > 4)
		return sf_err(p->ctx, -EINVAL,
			      "%s:%u: boot-entry must be 1 to 4 hex digits "
			      "(the #### of Boot####), not \"%s\"",
			      p->path, p->line, v);
	*dst = (uint16_t)n;
	return 0;
}

static int global_key(struct parser *p, const char *k, const char *v)
{
	struct sf_config *c = p->cfg;

	if (!strcmp(k, "compatible")) {
		if (!sf_compatible_valid(v))
			return sf_err(p->ctx, -EINVAL,
				      "%s:%u: compatible must be 1 to 63 "
				      "characters from [A-Za-z0-9._+-]",
				      p->path, p->line);
		return set_string(p, k, v, c->compatible,
				  sizeof(c->compatible));
	}
	if (!strcmp(k, "pubkey")) {
		if (c->n_pubkeys == SF_CONFIG_MAX_KEYS)
			return sf_err(p->ctx, -EINVAL,
				      "%s:%u: more than %u pubkey lines",
				      p->path, p->line, SF_CONFIG_MAX_KEYS);
		return set_string(p, k, v, c->pubkeys[c->n_pubkeys++],
				  SF_CONFIG_VALUE_MAX);
	}
	if (!strcmp(k, "threshold"))
		return set_uint(p, k, v, SF_CONFIG_MAX_KEYS, &c->threshold);
	if (!strcmp(k, "tries"))
		return set_uint(p, k, v, 100, &c->tries);
	if (!strcmp(k, "trial-deadline"))
		return set_deadline(p, v, &c->trial_deadline_s);
	if (!strcmp(k, "data"))
		return set_string(p, k, v, c->data, SF_CONFIG_VALUE_MAX);
	if (!strcmp(k, "data-dir"))
		return set_string(p, k, v, c->data_dir, SF_CONFIG_VALUE_MAX);
	if (!strcmp(k, "esp"))
		return set_string(p, k, v, c->esp, SF_CONFIG_VALUE_MAX);
	if (!strcmp(k, "esp-dir"))
		return set_string(p, k, v, c->esp_dir, SF_CONFIG_VALUE_MAX);
	if (!strcmp(k, "esp-disk"))
		return set_string(p, k, v, c->esp_disk, SF_CONFIG_VALUE_MAX);
	return sf_err(
		p->ctx, -EINVAL,
		"%s:%u: unknown key \"%s\" (keys: compatible, pubkey, "
		"threshold, tries, trial-deadline, data, data-dir, esp, "
		"esp-dir, esp-disk; in [slot a] and [slot b]: device, efi, "
		"boot-entry)",
		p->path, p->line, k);
}

static int slot_key(struct parser *p, const char *k, const char *v)
{
	struct sf_slot_config *s = &p->cfg->slot[p->section];

	if (!strcmp(k, "device"))
		return set_string(p, k, v, s->device, sizeof(s->device));
	if (!strcmp(k, "efi"))
		return set_string(p, k, v, s->efi, sizeof(s->efi));
	if (!strcmp(k, "boot-entry"))
		return set_entry(p, v, &s->boot_entry);
	return sf_err(p->ctx, -EINVAL,
		      "%s:%u: unknown key \"%s\" in [slot %c] (keys: device, "
		      "efi, boot-entry)",
		      p->path, p->line, k, 'a' + p->section);
}

/* yes or no: an explicit opt-in. */
static int set_bool(struct parser *p, const char *key, const char *v, bool *dst)
{
	if (strcmp(v, "yes") && strcmp(v, "no"))
		return sf_err(p->ctx, -EINVAL,
			      "%s:%u: %s must be yes or no, not \"%s\"",
			      p->path, p->line, key, v);
	*dst = !strcmp(v, "yes");
	return 0;
}

static int set_name(struct parser *p, const char *key, const char *v, char *dst,
		    size_t size)
{
	size_t n = strlen(v);

	if (!n || n >= size ||
	    v[strspn(v, "abcdefghijklmnopqrstuvwxyz"
			"0123456789-")])
		return sf_err(p->ctx, -EINVAL,
			      "%s:%u: %s must be 1 to %zu characters from "
			      "[a-z0-9-], not \"%s\"",
			      p->path, p->line, key, size - 1, v);
	strcpy(dst, v);
	return 0;
}

static int set_server_number(struct parser *p, const char *k, const char *v,
			     unsigned *dst)
{
	return set_uint(p, k, v, SF_SERVER_NUMBER_MAX, dst);
}

static int server_key(struct parser *p, const char *k, const char *v)
{
	struct sf_server_config *s = &p->cfg->server;

	if (!strcmp(k, "url"))
		return set_string(p, k, v, s->url, sizeof(s->url));
	if (!strcmp(k, "product"))
		return set_name(p, k, v, s->product, sizeof(s->product));
	if (!strcmp(k, "channel"))
		return set_name(p, k, v, s->channel, sizeof(s->channel));
	if (!strcmp(k, "repo-keys"))
		return set_string(p, k, v, s->repo_keys, sizeof(s->repo_keys));
	if (!strcmp(k, "ca"))
		return set_string(p, k, v, s->ca, sizeof(s->ca));
	if (!strcmp(k, "cert"))
		return set_string(p, k, v, s->cert, sizeof(s->cert));
	if (!strcmp(k, "key"))
		return set_string(p, k, v, s->key, sizeof(s->key));
	if (!strcmp(k, "http-helper"))
		return set_string(p, k, v, s->http_helper,
				  sizeof(s->http_helper));
	if (!strcmp(k, "limit-rate"))
		return set_server_number(p, k, v, &s->limit_rate);
	if (!strcmp(k, "connect-timeout"))
		return set_server_number(p, k, v, &s->connect_timeout);
	if (!strcmp(k, "stall-timeout"))
		return set_server_number(p, k, v, &s->stall_timeout);
	if (!strcmp(k, "allow-http"))
		return set_bool(p, k, v, &s->allow_http);
	if (!strcmp(k, "allow-file"))
		return set_bool(p, k, v, &s->allow_file);
	if (!strcmp(k, "reboot"))
		return set_bool(p, k, v, &s->reboot);
	return sf_err(p->ctx, -EINVAL,
		      "%s:%u: unknown key \"%s\" in [server] (keys: url, "
		      "product, channel, repo-keys, ca, cert, key, "
		      "limit-rate, connect-timeout, stall-timeout, "
		      "allow-http, allow-file, http-helper, reboot)",
		      p->path, p->line, k);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A '#' at the start or after white space starts a comment. */
static void strip_comment(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int section_line(struct parser *p, const char *s)
{
	if (!strcmp(s, "[slot a]") || !strcmp(s, "[slot b]")) {
		p->section = s[6] - 'a';
		return 0;
	}
	if (!strcmp(s, "[server]")) {
		p->section = SERVER_SECTION;
		p->cfg->server.present = true;
		return 0;
	}
	return sf_err(p->ctx, -EINVAL,
		      "%s:%u: unknown section %s (sections: [slot a], "
		      "[slot b], [server])",
		      p->path, p->line, s);
}

/* Duplicate keys are refused, except pubkey (one line per key). */
static int check_duplicate(struct parser *p, const char *k, char seen[][40],
			   unsigned *n_seen)
{
	char id[40];

	if (!strcmp(k, "pubkey"))
		return 0;
	snprintf(id, sizeof(id), "%d:%.32s", p->section, k);
	for (unsigned i = 0; i < *n_seen; i++)
		if (!strcmp(seen[i], id))
			return sf_err(p->ctx, -EINVAL, "%s:%u: %s given twice",
				      p->path, p->line, k);
	if (*n_seen < 32)
		strcpy(seen[(*n_seen)++], id);
	return 0;
}

static int parse_line(struct parser *p, char *s, char seen[][40],
		      unsigned *n_seen)
{
	char *eq, *k, *v;
	int r;

	strip_comment(s);
	s = trim(s);
	if (!*s)
		return 0;
	if (*s == '[')
		return section_line(p, s);
	eq = strchr(s, '=');
	if (!eq)
		return sf_err(p->ctx, -EINVAL,
			      "%s:%u: expected \"key = value\", got \"%.60s\"",
			      p->path, p->line, s);
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	if (!*k || !*v)
		return sf_err(p->ctx, -EINVAL, "%s:%u: empty key or value",
			      p->path, p->line);
	r = check_duplicate(p, k, seen, n_seen);
	if (r < 0)
		return r;
	if (p->section == SERVER_SECTION)
		return server_key(p, k, v);
	return p->section == NO_SECTION ? global_key(p, k, v)
					: slot_key(p, k, v);
}

static int missing(const struct sf_ctx *ctx, const char *path, const char *key,
		   const char *where)
{
	return sf_err(ctx, -EINVAL, "%s: %s is missing%s", path, key, where);
}

static bool has_scheme(const char *url, const char *scheme)
{
	return !strncmp(url, scheme, strlen(scheme));
}

/* The url's scheme: https, or what the config opts in to explicitly. */
static int check_url(const struct sf_ctx *ctx, const char *path,
		     const struct sf_server_config *s)
{
	if (has_scheme(s->url, "https://") && s->url[8]) {
		if (!s->ca[0])
			return missing(ctx, path, "ca",
				       " in [server] (https trusts only the "
				       "pinned CA)");
		return 0;
	}
	if (has_scheme(s->url, "http://") && s->url[7] && s->allow_http)
		return 0;
	if (has_scheme(s->url, "file:///") && s->allow_file)
		return 0;
	return sf_err(ctx, -EINVAL,
		      "%s: [server] url \"%s\": give https://HOST/PATH; "
		      "http:// needs allow-http = yes, file:///PATH "
		      "allow-file = yes",
		      path, s->url);
}

static int check_server(const struct sf_ctx *ctx, const char *path,
			const struct sf_server_config *s)
{
	static const char *const in = " in [server]";

	if (!s->present)
		return 0;
	if (!s->url[0])
		return missing(ctx, path, "url", in);
	if (!s->product[0])
		return missing(ctx, path, "product", in);
	if (!s->channel[0])
		return missing(ctx, path, "channel", in);
	if (!s->repo_keys[0])
		return missing(ctx, path, "repo-keys", in);
	if (!s->cert[0] != !s->key[0])
		return sf_err(ctx, -EINVAL,
			      "%s: [server] cert and key go together: give "
			      "both or neither",
			      path);
	return check_url(ctx, path, s);
}

static int check_required(const struct sf_ctx *ctx, const char *path,
			  struct sf_config *c)
{
	static const char *const where[2] = { " in [slot a]", " in [slot b]" };

	if (!c->compatible[0])
		return missing(ctx, path, "compatible", "");
	if (!c->n_pubkeys)
		return missing(ctx, path, "pubkey", "");
	if (!c->data[0])
		return missing(ctx, path, "data", "");
	if (!c->esp[0])
		return missing(ctx, path, "esp", "");
	for (int s = 0; s < 2; s++) {
		if (!c->slot[s].device[0])
			return missing(ctx, path, "device", where[s]);
		if (!c->slot[s].efi[0])
			return missing(ctx, path, "efi", where[s]);
		if (!c->slot[s].boot_entry)
			return missing(ctx, path, "boot-entry", where[s]);
	}
	if (c->slot[0].boot_entry == c->slot[1].boot_entry)
		return sf_err(ctx, -EINVAL,
			      "%s: both slots name boot entry %04X", path,
			      c->slot[0].boot_entry);
	if (c->threshold > c->n_pubkeys)
		return sf_err(ctx, -EINVAL,
			      "%s: threshold %u is above the %u pubkey lines",
			      path, c->threshold, c->n_pubkeys);
	return check_server(ctx, path, &c->server);
}

static void set_defaults(struct sf_config *c)
{
	memset(c, 0, sizeof(*c));
	c->threshold = 1;
	c->tries = 3;
	c->trial_deadline_s = SF_CONFIG_DEADLINE_DEFAULT;
	strcpy(c->data_dir, "/run/slotflip/data");
	strcpy(c->esp_dir, "/run/slotflip/esp");
}

int sf_config_parse(const struct sf_ctx *ctx, const char *path,
		    const char *text, size_t len, struct sf_config *ret)
{
	_cleanup_free_ char *copy = strndup(text, len);
	struct sf_config *cfg = calloc(1, sizeof(*cfg));
	struct parser p = {
		.ctx = ctx, .path = path, .section = NO_SECTION, .cfg = cfg
	};
	char seen[32][40], *line, *save = NULL;
	unsigned n_seen = 0;
	int r = 0;

	if (!copy || !cfg) {
		free(cfg);
		return -ENOMEM;
	}
	set_defaults(cfg);
	if (strlen(copy) != len)
		r = sf_err(ctx, -EINVAL, "%s: contains a NUL byte", path);
	/* strtok_r would skip empty lines and lose the line count. */
	for (line = copy; r >= 0 && line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		p.line++;
		r = parse_line(&p, line, seen, &n_seen);
	}
	if (r >= 0)
		r = check_required(ctx, path, cfg);
	snprintf(cfg->file, sizeof(cfg->file), "%s", path);
	if (r >= 0)
		*ret = *cfg;
	free(cfg);
	return r;
}

int sf_config_load(const struct sf_ctx *ctx, const char *path,
		   struct sf_config *ret)
{
	char full[4096];
	_cleanup_free_ char *text = malloc(CONFIG_FILE_MAX + 1);
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!text)
		return -ENOMEM;
	r = sf_root_path(ctx, path, full, sizeof(full));
	if (r < 0)
		return sf_err(ctx, r, "config path too long");
	/* Never blocks: a FIFO in its place is refused, not waited on. */
	fd = open_regular_at(AT_FDCWD, full, O_RDONLY | O_NOFOLLOW);
	if (fd < 0 && fd != -EINVAL)
		return sf_err(ctx, fd, "cannot read config file %s: %s", full,
			      strerror(-fd));
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > CONFIG_FILE_MAX)
		return sf_err(ctx, -EINVAL,
			      "config file %s: not a regular file of at most "
			      "%u bytes",
			      full, CONFIG_FILE_MAX);
	r = pread_full(fd, text, (size_t)st.st_size, 0);
	if (r < 0)
		return sf_err(ctx, r, "cannot read config file %s", full);
	return sf_config_parse(ctx, full, text, (size_t)st.st_size, ret);
}

int sf_config_resolve_device(const struct sf_ctx *ctx, const char *spec,
			     char *buf, size_t size)
{
	char sysfs[4096], devdir[4096];
	int r;

	if (spec[0] == '/')
		return sf_root_path(ctx, spec, buf, size);
	if (strncmp(spec, "PARTLABEL=", 10) && strncmp(spec, "PARTUUID=", 9))
		return sf_err(ctx, -EINVAL,
			      "device \"%s\": give PARTLABEL=, PARTUUID= or a "
			      "path",
			      spec);
	r = sf_root_path(ctx, "/sys", sysfs, sizeof(sysfs));
	if (r >= 0)
		r = sf_root_path(ctx, "/dev", devdir, sizeof(devdir));
	if (r >= 0)
		r = sf_partdev_find(sysfs, devdir, spec, buf, size);
	if (r == -ENOENT || r == -EINVAL)
		return sf_err(
			ctx, -ENOENT,
			"no partition with %s (is the disk there? is /dev "
			"populated?)",
			spec);
	return r;
}

bool sf_same_device(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) &&
		       a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int slots_clash(const struct sf_ctx *ctx, const struct sf_config *cfg,
		       const char *dev)
{
	return sf_err(ctx, -EINVAL,
		      "%s: [slot a] (device = %s) and [slot b] (device = %s) "
		      "are one device, %s: an update of the spare slot would "
		      "overwrite the running one; fix the config: give each "
		      "slot its own partition",
		      cfg->file, cfg->slot[0].device, cfg->slot[1].device, dev);
}

int sf_config_check_slots(const struct sf_ctx *ctx, const struct sf_config *cfg)
{
	struct sf_ctx quiet = *ctx;
	char dev[2][4096];
	struct stat st[2];

	if (!strcmp(cfg->slot[0].device, cfg->slot[1].device))
		return slots_clash(ctx, cfg, cfg->slot[0].device);
	quiet.log_fn = NULL;
	for (int s = 0; s < 2; s++)
		if (sf_config_resolve_device(&quiet, cfg->slot[s].device,
					     dev[s], sizeof(dev[s])) < 0 ||
		    stat(dev[s], &st[s]) < 0)
			return 0;
	if (!sf_same_device(&st[0], &st[1]))
		return 0;
	return slots_clash(ctx, cfg, dev[0]);
}

int sf_config_load_pubkeys(const struct sf_ctx *ctx,
			   const struct sf_config *cfg, struct ms_pubkey *keys)
{
	char path[4096];
	int r;

	for (unsigned i = 0; i < cfg->n_pubkeys; i++) {
		r = sf_root_path(ctx, cfg->pubkeys[i], path, sizeof(path));
		if (r >= 0)
			r = ms_pubkey_load(ctx, path, &keys[i]);
		if (r < 0)
			return sf_err(ctx, r,
				      "cannot load the trusted public key %s "
				      "(config: pubkey)",
				      path);
	}
	return 0;
}
