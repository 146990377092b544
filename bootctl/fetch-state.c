// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The files `slotflip fetch` keeps in DATA_DIR/slotflip: "key value"
 * lines, written whole and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "fileio.h"
#include "util.h"
#include "version.h"

static bool parse_u64(const char *v, uint64_t *ret)
{
	char *end;

	if (!*v || v[strspn(v, "0123456789")] || strlen(v) > 19)
		return false;
	*ret = strtoull(v, &end, 10);
	return true;
}

static bool parse_hash(const char *v, uint8_t out[SF_HASH_BYTES])
{
	size_t n = 0;

	return strlen(v) == 2 * SF_HASH_BYTES &&
	       sodium_hex2bin(out, SF_HASH_BYTES, v, strlen(v), NULL, &n,
			      NULL) == 0 &&
	       n == SF_HASH_BYTES;
}

static bool parse_version(const char *v, char *dst)
{
	int cmp;

	if (strlen(v) >= SF_STRING_FIELD ||
	    (strcmp(v, "0") && sf_version_cmp_str(v, v, &cmp) < 0))
		return false;
	strcpy(dst, v);
	return true;
}

/* "slot a VERSION HASH [BUILD-TIME]" (an older slotflip wrote no build
 * time) */
static bool parse_slot(char *v, struct fetch_state *st)
{
	char *ver, *hash, *build;
	struct fetch_slot *s;

	if ((v[0] != 'a' && v[0] != 'b') || v[1] != ' ')
		return false;
	s = &st->slot[v[0] - 'a'];
	ver = v + 2;
	hash = strchr(ver, ' ');
	if (!hash)
		return false;
	*hash++ = '\0';
	build = strchr(hash, ' ');
	if (build)
		*build++ = '\0';
	s->known = parse_version(ver, s->version) &&
		   parse_hash(hash, s->manifest) &&
		   (!build || parse_u64(build, &s->build_time));
	return s->known;
}

/* "tries SERIAL ATTEMPTS BYTES" */
static bool parse_tries(const char *v, struct fetch_tries *t)
{
	char a[24], b[24], c[24], extra;

	return sscanf(v, "%23s %23s %23s%c", a, b, c, &extra) == 3 &&
	       parse_u64(a, &t->serial) && parse_u64(b, &t->attempts) &&
	       parse_u64(c, &t->bytes);
}

static bool parse_field(struct fetch_state *st, const char *k, char *v)
{
	if (!strcmp(k, "keyset"))
		return parse_u64(v, &st->keyset);
	if (!strcmp(k, "channel"))
		return sf_repo_channel_valid(v) &&
		       snprintf(st->channel, sizeof(st->channel), "%s", v) > 0;
	if (!strcmp(k, "timestamp-serial"))
		return parse_u64(v, &st->ts_serial);
	if (!strcmp(k, "timestamp-issued"))
		return parse_u64(v, &st->ts_issued);
	if (!strcmp(k, "index-serial"))
		return parse_u64(v, &st->index_serial);
	if (!strcmp(k, "index-hash"))
		return (st->have_index = parse_hash(v, st->index_hash));
	if (!strcmp(k, "idle"))
		return !strcmp(v, "-") || parse_version(v, st->idle);
	if (!strcmp(k, "floor"))
		return parse_version(v, st->floor);
	if (!strcmp(k, "slot"))
		return parse_slot(v, st);
	if (!strcmp(k, "tries"))
		return parse_tries(v, &st->tries);
	return false;
}

static int parse_state(char *text, struct fetch_state *st)
{
	char *line, *next, *sp;

	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			return -EBADMSG;
		*next++ = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			return -EBADMSG;
		*sp = '\0';
		if (!parse_field(st, line, sp + 1))
			return -EBADMSG;
	}
	return 0;
}

int fetch_state_load(struct cli *c, int dir_fd, struct fetch_state *ret)
{
	_cleanup_free_ char *text = NULL;
	struct fetch_state st = { .floor = "0" };
	size_t len;
	int r = sf_repo_read_at(NULL, dir_fd, FETCH_STATE_NAME, FETCH_STATE_MAX,
				&text, &len);

	if (r == -ENOENT) {
		*ret = st;
		return EXIT_OK;
	}
	if (r >= 0)
		r = strlen(text) == len ? parse_state(text, &st) : -EBADMSG;
	if (r < 0)
		return cli_fail(
			c, EXIT_IO,
			"the fetch state %s on the data partition is "
			"unreadable or corrupt (%s): remove it to start "
			"over from the config's repo-keys (the serials "
			"seen are then forgotten)",
			FETCH_STATE_NAME, strerror(-r));
	*ret = st;
	return EXIT_OK;
}

static size_t format_state(const struct fetch_state *st, char *buf, size_t size)
{
	char hex[SF_REPO_HEX_SIZE];
	size_t n;

	n = (size_t)snprintf(buf, size,
			     "keyset %" PRIu64 "\nchannel %s\n"
			     "timestamp-serial %" PRIu64 "\n"
			     "timestamp-issued %" PRIu64 "\n"
			     "index-serial %" PRIu64 "\nidle %s\nfloor %s\n",
			     st->keyset, st->channel, st->ts_serial,
			     st->ts_issued, st->index_serial,
			     st->idle[0] ? st->idle : "-", st->floor);
	if (st->have_index) {
		sf_repo_hex(st->index_hash, hex);
		n += (size_t)snprintf(buf + n, size - n, "index-hash %s\n",
				      hex);
	}
	for (int s = 0; s < 2; s++) {
		if (!st->slot[s].known)
			continue;
		sf_repo_hex(st->slot[s].manifest, hex);
		n += (size_t)snprintf(buf + n, size - n,
				      "slot %c %s %s %" PRIu64 "\n", 'a' + s,
				      st->slot[s].version, hex,
				      st->slot[s].build_time);
	}
	if (st->tries.serial)
		n += (size_t)snprintf(buf + n, size - n,
				      "tries %" PRIu64 " %" PRIu64 " %" PRIu64
				      "\n",
				      st->tries.serial, st->tries.attempts,
				      st->tries.bytes);
	return n;
}

int fetch_state_store(struct cli *c, int dir_fd, const struct fetch_state *st)
{
	char buf[FETCH_STATE_MAX];
	size_t n = format_state(st, buf, sizeof(buf));
	int r = write_file_atomic_at(dir_fd, FETCH_STATE_NAME, buf, n, 0644);

	if (r < 0)
		return cli_fail(c, EXIT_IO,
				"cannot write the fetch state %s: %s",
				FETCH_STATE_NAME, strerror(-r));
	return EXIT_OK;
}

void fetch_last_store(int dir_fd, const struct fetch_last *l)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "time %" PRIu64 "\nresult %s\nversion %s\n"
			 "bytes %" PRIu64 "\n",
			 l->time, l->result, l->version[0] ? l->version : "-",
			 l->bytes);

	write_file_atomic_at(dir_fd, FETCH_LAST_NAME, buf, (size_t)n, 0644);
}

int fetch_last_read(int dir_fd, struct fetch_last *ret)
{
	_cleanup_free_ char *text = NULL;
	struct fetch_last l = { 0 };
	char result[32], version[SF_STRING_FIELD];
	unsigned long long t, b;
	size_t len;
	int r = sf_repo_read_at(NULL, dir_fd, FETCH_LAST_NAME, 512, &text,
				&len);

	if (r < 0)
		return r;
	if (sscanf(text, "time %llu\nresult %31s\nversion %63s\nbytes %llu", &t,
		   result, version, &b) != 4)
		return -EBADMSG;
	l.time = t;
	l.bytes = b;
	strcpy(l.result, result);
	if (strcmp(version, "-"))
		strcpy(l.version, version);
	*ret = l;
	return 0;
}

static void installed_name(uint8_t slot, char *buf, size_t size)
{
	snprintf(buf, size, FETCH_INSTALLED_PREFIX "%c", slot ? 'b' : 'a');
}

void fetch_installed_store(int dir_fd, uint8_t slot, const char *version,
			   uint64_t build_time)
{
	char name[32], buf[SF_STRING_FIELD + 32];
	int n = snprintf(buf, sizeof(buf), "%s %" PRIu64 "\n", version,
			 build_time);

	installed_name(slot, name, sizeof(name));
	write_file_atomic_at(dir_fd, name, buf, (size_t)n, 0644);
}

uint64_t fetch_installed_build_time(int dir_fd, uint8_t slot,
				    const char *version)
{
	_cleanup_free_ char *text = NULL;
	char name[32], *sp, *nl;
	uint64_t t = 0;
	size_t len;

	installed_name(slot, name, sizeof(name));
	if (sf_repo_read_at(NULL, dir_fd, name, SF_STRING_FIELD + 32, &text,
			    &len) < 0 ||
	    strlen(text) != len)
		return 0;
	sp = strchr(text, ' ');
	nl = strchr(text, '\n');
	if (!sp || !nl || nl[1] || sp > nl)
		return 0;
	*sp = *nl = '\0';
	if (strcmp(text, version) || !parse_u64(sp + 1, &t))
		return 0;
	return t;
}
