// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip-http: one download over HTTPS (libcurl) into a file, resumed
 * where the file ends, for `slotflip fetch` (docs/REPO.md). A program of
 * its own: Debian's libcurl cannot be linked statically, and slotflip
 * stays static; the network code runs in a process that holds nothing
 * but the file it writes.
 *
 * What it promises: never more than --max-bytes in the file (the signed
 * size: a server sending endless data is cut off), only https unless told
 * otherwise, only the pinned CA, TLS 1.2 or later, no decompression, a
 * stalled transfer given up, retries with exponential backoff and jitter
 * on network errors, 408, 429 and 5xx (Retry-After honoured), never on
 * other 4xx. What it received stays in the file for the next resume.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"

#define PROG "slotflip-http"
#define MAX_HEADERS 16
/* What an error response's body may be before it is cut off. */
#define ERROR_BODY_MAX 65536

static const char help_text[] =
	"Usage: " PROG " URL OUTPUT (--size N | --max-bytes N) [OPTIONS]\n"
	"\n"
	"Download URL into OUTPUT. When OUTPUT holds bytes already, the\n"
	"download resumes after them (an HTTP Range request); a server that\n"
	"ignores the range sends the whole file again, which replaces them.\n"
	"Used by `slotflip fetch`; useful alone to test a repository.\n"
	"\n"
	"  --size N            the file is N bytes (signed): not one more is\n"
	"                      taken, and a file of N bytes is not fetched\n"
	"  --max-bytes N       take at most N bytes (when the size is unknown)\n"
	"  --ca FILE           trust only this CA certificate (PEM)\n"
	"  --cert FILE --key FILE  a client certificate and its key (PEM)\n"
	"  --header 'NAME: VALUE'  send this header (up to 16)\n"
	"  --limit-rate N      at most N bytes per second\n"
	"  --connect-timeout S give up a connection after S seconds (30)\n"
	"  --stall-timeout S   give up a transfer that moved under 1 KiB/s\n"
	"                      for S seconds (60)\n"
	"  --attempts N        tries in all (5); waits double from\n"
	"  --backoff S         S seconds (2), with jitter, up to\n"
	"  --backoff-max S     S seconds (300); a longer Retry-After gives up\n"
	"  --allow-http        allow plain http:// (tests, labs)\n"
	"  --allow-file        allow file:// (offline media)\n"
	"  --progress WHAT     show progress (a bar on a terminal)\n"
	"\n"
	"On success prints one line: the bytes OUTPUT holds, the HTTP status\n"
	"and the byte the transfer started at.\n"
	"\n"
	"Exit status: 0 done; 1 refused: a client error (4xx other than 408\n"
	"and 429), more bytes than allowed, a certificate that does not\n"
	"verify, a redirect elsewhere than https; 2 usage error; 5 OUTPUT\n"
	"cannot be written (no space); 9 the server or the network failed\n"
	"every attempt (try again later). The statuses mean the same as in\n"
	"slotflip and slotflip-image.\n";

struct opts {
	const char *url, *out;
	curl_off_t size, max_bytes;
	const char *ca, *cert, *key, *progress;
	const char *headers[MAX_HEADERS];
	unsigned n_headers;
	unsigned long limit_rate, connect_timeout, stall_timeout;
	unsigned long attempts, backoff, backoff_max;
	bool allow_http, allow_file;
};

/* One attempt's state, seen by the callbacks. */
struct xfer {
	const struct opts *o;
	CURL *curl;
	int fd;
	curl_off_t start; /* the byte this attempt asked from */
	curl_off_t at; /* the bytes the file holds now */
	curl_off_t error_body; /* bytes of an error response, discarded */
	long status; /* the final response's status, once its body starts */
	bool body_started;
	int write_errno; /* the file could not be written */
	bool over_cap; /* the server sent more than allowed */
	bool range_mismatch; /* a 206 that does not start where asked */
	struct sf_progress *progress;
};

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static curl_off_t cap(const struct opts *o)
{
	return o->size >= 0 ? o->size : o->max_bytes;
}

/* "bytes S-E/T" of a 206: S must be where the file ends. */
static void check_content_range(struct xfer *x, const char *value)
{
	long long s;

	if (sscanf(value, " bytes %lld-", &s) != 1 || s != (long long)x->start)
		x->range_mismatch = true;
}

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
	struct xfer *x = data;
	size_t len = size * n;
	char line[256];

	if (len >= sizeof(line))
		return len;
	memcpy(line, buf, len);
	line[len] = '\0';
	if (!strncasecmp(line, "content-range:", 14))
		check_content_range(x, line + 14);
	return len;
}

/* The first bytes of the final response's body: what status it has. */
static bool body_begins(struct xfer *x)
{
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	x->body_started = true;
	if (x->status == 206 && x->range_mismatch)
		return false;
	if ((x->status == 200 || x->status == 0) && x->start > 0) {
		/* The whole file again (a server without ranges): it
		 * replaces what we had. */
		if (ftruncate(x->fd, 0) < 0) {
			x->write_errno = errno;
			return false;
		}
		x->start = x->at = 0;
	}
	return true;
}

static bool is_body_status(long status)
{
	return status == 200 || status == 206 || status == 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *data)
{
	struct xfer *x = data;
	size_t len = size * n;
	ssize_t w;

	if (!x->body_started && !body_begins(x))
		return 0;
	if (!is_body_status(x->status)) {
		x->error_body += (curl_off_t)len;
		return x->error_body > ERROR_BODY_MAX ? 0 : len;
	}
	if (x->at + (curl_off_t)len > cap(x->o)) {
		x->over_cap = true;
		return 0;
	}
	for (size_t done = 0; done < len; done += (size_t)w) {
		w = pwrite(x->fd, buf + done, len - done, x->at + (off_t)done);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			x->write_errno = w < 0 ? errno : EIO;
			return 0;
		}
	}
	x->at += (curl_off_t)len;
	if (x->progress)
		sf_progress_update(x->progress, (uint64_t)x->at,
				   (uint64_t)cap(x->o));
	return len;
}

/* The protocols allowed: https, and what the options add. */
static const char *protocols(const struct opts *o)
{
	if (o->allow_http && o->allow_file)
		return "https,http,file";
	if (o->allow_http)
		return "https,http";
	return o->allow_file ? "https,file" : "https";
}

static int setup(CURL *c, struct xfer *x, struct curl_slist *headers,
		 char *range, size_t range_size)
{
	const struct opts *o = x->o;
	CURLcode e = CURLE_OK;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (e == CURLE_OK)                                             \
			e = curl_easy_setopt(c, opt, val);                     \
	} while (0)
	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_PROTOCOLS_STR, protocols(o));
	SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols(o));
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 5L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca) {
		SET(CURLOPT_CAINFO, o->ca);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	if (o->cert) {
		SET(CURLOPT_SSLCERT, o->cert);
		SET(CURLOPT_SSLKEY, o->key);
	}
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_CONNECTTIMEOUT, (long)o->connect_timeout);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)o->stall_timeout);
	if (o->limit_rate)
		SET(CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)o->limit_rate);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_USERAGENT, "slotflip-http");
	if (x->start > 0) {
		snprintf(range, range_size, "%lld-", (long long)x->start);
		SET(CURLOPT_RANGE, range);
	}
#undef SET
	return e == CURLE_OK ? 0 : -EINVAL;
}

/* What an attempt came to. */
enum outcome {
	DONE,
	RETRY, /* a network error, 408, 429 or 5xx */
	REFUSED, /* not retried: the message says why */
	WRITE_FAILED,
};

static enum outcome judge(struct xfer *x, CURLcode e, char *why, size_t size)
{
	if (x->write_errno) {
		snprintf(why, size, "cannot write %s: %s", x->o->out,
			 strerror(x->write_errno));
		return WRITE_FAILED;
	}
	if (x->over_cap) {
		snprintf(why, size,
			 "the server sent more than the %lld bytes allowed: "
			 "stopped there (the server or a mirror is broken or "
			 "hostile)",
			 (long long)cap(x->o));
		return REFUSED;
	}
	if (x->range_mismatch && x->status == 206) {
		snprintf(why, size,
			 "the server resumed at another byte than %lld: "
			 "starting over",
			 (long long)x->start);
		return RETRY;
	}
	if (e == CURLE_OK && x->status == 416) {
		snprintf(why, size,
			 "the server has no bytes after %lld: starting over",
			 (long long)x->start);
		return RETRY;
	}
	if (e == CURLE_OK && is_body_status(x->status))
		return DONE;
	if (e == CURLE_OK) {
		snprintf(why, size, "HTTP status %ld from %s", x->status,
			 x->o->url);
		return x->status == 408 || x->status == 429 || x->status >= 500
			       ? RETRY
			       : REFUSED;
	}
	snprintf(why, size, "%s: %s", x->o->url, curl_easy_strerror(e));
	switch (e) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_FILE_COULDNT_READ_FILE:
		return REFUSED;
	default:
		return RETRY;
	}
}

/* One attempt from where the file ends. */
static enum outcome attempt(struct xfer *x, struct curl_slist *headers,
			    curl_off_t *retry_after, char *why, size_t size)
{
	char range[32];
	CURLcode e;
	struct stat st;

	if (fstat(x->fd, &st) < 0) {
		x->write_errno = errno;
		return judge(x, CURLE_OK, why, size);
	}
	x->start = x->at = st.st_size;
	x->status = 0;
	x->body_started = x->over_cap = x->range_mismatch = false;
	x->error_body = 0;
	x->curl = curl_easy_init();
	if (!x->curl || setup(x->curl, x, headers, range, sizeof(range)) < 0) {
		snprintf(why, size, "libcurl cannot be set up");
		if (x->curl)
			curl_easy_cleanup(x->curl);
		return REFUSED;
	}
	e = curl_easy_perform(x->curl);
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	*retry_after = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RETRY_AFTER, retry_after);
	curl_easy_cleanup(x->curl);
	x->curl = NULL;
	return judge(x, e, why, size);
}

/* Wait before attempt @n (from 2): Retry-After, else backoff doubled
 * each time, jittered down to half (devices that failed together do not
 * come back together). Returns false when the wait would exceed the cap. */
static bool wait_before(const struct opts *o, unsigned long n,
			curl_off_t retry_after)
{
	double wait = (double)o->backoff;
	struct timespec ts;
	uint32_t r = 0;

	for (unsigned long i = 2; i < n && wait < (double)o->backoff_max; i++)
		wait *= 2;
	if (wait > (double)o->backoff_max)
		wait = (double)o->backoff_max;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)time(NULL);
	wait = wait / 2 + wait / 2 * (r / 4294967296.0);
	if (retry_after > 0) {
		if (retry_after > (curl_off_t)o->backoff_max)
			return false;
		wait = (double)retry_after;
	}
	fprintf(stderr, PROG ": retrying in %.1f s (attempt %lu of %lu)\n",
		wait, n, o->attempts);
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return true;
}

static int download(const struct opts *o, int fd, struct sf_progress *p)
{
	struct xfer x = { .o = o, .fd = fd, .progress = p };
	struct curl_slist *headers = NULL;
	curl_off_t retry_after = 0;
	enum outcome out = RETRY;
	char why[512] = "";

	for (unsigned i = 0; i < o->n_headers; i++)
		headers = curl_slist_append(headers, o->headers[i]);
	for (unsigned long n = 1; n <= o->attempts; n++) {
		if (n > 1 && !wait_before(o, n, retry_after)) {
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; the server asks to wait %lld s, more than "
				 "--backoff-max",
				 (long long)retry_after);
			break;
		}
		out = attempt(&x, headers, &retry_after, why, sizeof(why));
		if (out != RETRY)
			break;
		fprintf(stderr, PROG ": %s\n", why);
		if ((x.range_mismatch || x.status == 416) && ftruncate(fd, 0))
			return fail(EXIT_IO, "cannot truncate %s: %m", o->out);
	}
	curl_slist_free_all(headers);
	if (out == DONE) {
		printf(PROG ": %s: %lld bytes (HTTP status %ld, from byte "
			    "%lld)\n",
		       o->url, (long long)x.at, x.status, (long long)x.start);
		return EXIT_OK;
	}
	if (out == WRITE_FAILED)
		return fail(EXIT_IO, "%s", why);
	if (out == REFUSED)
		return fail(EXIT_REFUSED, "%s", why);
	return fail(EXIT_NETWORK,
		    "%s; gave up after %lu attempts: try again later", why,
		    o->attempts);
}

static bool url_allowed(const struct opts *o)
{
	return !strncmp(o->url, "https://", 8) ||
	       (o->allow_http && !strncmp(o->url, "http://", 7)) ||
	       (o->allow_file && !strncmp(o->url, "file://", 7));
}

static int check_opts(const struct opts *o)
{
	if (!url_allowed(o))
		return fail(EXIT_USAGE,
			    "%s: only https:// URLs (plain http:// with "
			    "--allow-http, file:// with --allow-file)",
			    o->url);
	if (o->size < 0 && o->max_bytes < 0)
		return fail(EXIT_USAGE, "give --size N or --max-bytes N: a "
					"download is never unbounded");
	if (!o->cert != !o->key)
		return fail(EXIT_USAGE, "give --cert and --key together");
	return EXIT_OK;
}

static bool parse_count(const char *s, unsigned long *ret)
{
	return sf_parse_uint(s, 1ul << 62, ret);
}

static int parse_opt(struct opts *o, int c, const char *arg)
{
	unsigned long v = 0;

	switch (c) {
	case 's':
	case 'm':
		if (!parse_count(arg, &v))
			return fail(EXIT_USAGE, "bad byte count \"%s\"", arg);
		*(c == 's' ? &o->size : &o->max_bytes) = (curl_off_t)v;
		return EXIT_OK;
	case 'H':
		if (o->n_headers == MAX_HEADERS || !strchr(arg, ':') ||
		    strpbrk(arg, "\r\n"))
			return fail(EXIT_USAGE, "bad or too many --header");
		o->headers[o->n_headers++] = arg;
		return EXIT_OK;
	}
	unsigned long *num = c == 'r'	? &o->limit_rate
			     : c == 'c' ? &o->connect_timeout
			     : c == 't' ? &o->stall_timeout
			     : c == 'n' ? &o->attempts
			     : c == 'b' ? &o->backoff
					: &o->backoff_max;
	if (!sf_parse_uint(arg, 100000000ul, num))
		return fail(EXIT_USAGE, "bad number \"%s\"", arg);
	return EXIT_OK;
}

static int parse(struct opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "size", required_argument, NULL, 's' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "ca", required_argument, NULL, 'C' },
		{ "cert", required_argument, NULL, 'E' },
		{ "key", required_argument, NULL, 'K' },
		{ "header", required_argument, NULL, 'H' },
		{ "limit-rate", required_argument, NULL, 'r' },
		{ "connect-timeout", required_argument, NULL, 'c' },
		{ "stall-timeout", required_argument, NULL, 't' },
		{ "attempts", required_argument, NULL, 'n' },
		{ "backoff", required_argument, NULL, 'b' },
		{ "backoff-max", required_argument, NULL, 'B' },
		{ "allow-http", no_argument, NULL, 'P' },
		{ "allow-file", no_argument, NULL, 'F' },
		{ "progress", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(help_text, stdout);
			exit(EXIT_OK);
		} else if (c == 'C' || c == 'E' || c == 'K' || c == 'p') {
			*(c == 'C'   ? &o->ca
			  : c == 'E' ? &o->cert
			  : c == 'K' ? &o->key
				     : &o->progress) = optarg;
		} else if (c == 'P' || c == 'F') {
			*(c == 'P' ? &o->allow_http : &o->allow_file) = true;
		} else if (c == '?') {
			return fail(EXIT_USAGE, "bad option (see --help)");
		} else if ((r = parse_opt(o, c, optarg)) != EXIT_OK) {
			return r;
		}
	}
	if (argc - optind != 2)
		return fail(EXIT_USAGE, "give URL and OUTPUT (see --help)");
	o->url = argv[optind];
	o->out = argv[optind + 1];
	return check_opts(o);
}

int main(int argc, char **argv)
{
	struct opts o = { .size = -1,
			  .max_bytes = -1,
			  .connect_timeout = 30,
			  .stall_timeout = 60,
			  .attempts = 5,
			  .backoff = 2,
			  .backoff_max = 300 };
	struct sf_progress progress;
	struct stat st;
	int fd, r;

	r = parse(&o, argc, argv);
	if (r != EXIT_OK)
		return r;
	fd = open(o.out, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		  0600);
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(EXIT_IO, "cannot open %s: %m", o.out);
	if (!S_ISREG(st.st_mode))
		return fail(EXIT_IO, "%s is not a regular file", o.out);
	if (o.size >= 0 && st.st_size == o.size) {
		printf(PROG ": %s: %lld bytes already there\n", o.url,
		       (long long)o.size);
		return EXIT_OK;
	}
	if (st.st_size > cap(&o) && ftruncate(fd, 0) < 0)
		return fail(EXIT_IO, "cannot truncate %s: %m", o.out);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(EXIT_IO, "libcurl cannot start");
	if (o.progress)
		sf_progress_init(&progress, o.progress, true);
	r = download(&o, fd, o.progress ? &progress : NULL);
	if (o.progress)
		sf_progress_end(&progress);
	if (r == EXIT_OK && fsync(fd) < 0)
		r = fail(EXIT_IO, "cannot flush %s: %m", o.out);
	close(fd);
	curl_global_cleanup();
	return r;
}
