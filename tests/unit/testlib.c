// SPDX-License-Identifier: LGPL-2.1-or-later
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CASES 512
#define EXIT_SKIP 77

static struct test_case cases[MAX_CASES];
static size_t n_cases;
char test_log_buf[16384];

static void test_log_fn(void *data, int level, const char *msg)
{
	size_t used = strlen(test_log_buf);

	(void)data;
	(void)level;
	snprintf(test_log_buf + used, sizeof(test_log_buf) - used, "%s\n", msg);
	fprintf(stderr, "  log: %s\n", msg);
}

struct sf_ctx test_ctx = {
	.root = ".",
	.log_fn = test_log_fn,
	.log_level = SF_LOG_DEBUG,
};

void test_register(const char *name, void (*fn)(void))
{
	if (n_cases >= MAX_CASES)
		abort();
	cases[n_cases++] = (struct test_case){ name, fn };
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void test_skip(const char *reason)
{
	printf("  skip reason: %s\n", reason);
	fflush(stdout);
	exit(EXIT_SKIP);
}

void test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		test_fail(__FILE__, __LINE__, "cannot write %s: %m", path);
}

void *test_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
		test_fail(__FILE__, __LINE__, "cannot read %s: %m", path);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
	buf[len] = 0;
	fclose(f);
	*ret_len = (size_t)len;
	return buf;
}

void test_fill_random(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Run one case in a child, inside a fresh temporary directory. */
static int run_case(const char *prog, const struct test_case *tc)
{
	char dir[] = "/tmp/sf-test-XXXXXX";
	int status;
	pid_t pid;

	if (!mkdtemp(dir))
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (chdir(dir) < 0)
			exit(1);
		tc->fn();
		exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf("PASS %s/%s\n", prog, tc->name);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP)
		printf("SKIP %s/%s\n", prog, tc->name);
	else
		printf("FAIL %s/%s (%s %d)\n", prog, tc->name,
		       WIFSIGNALED(status) ? "signal" : "exit",
		       WIFSIGNALED(status) ? WTERMSIG(status)
					   : WEXITSTATUS(status));
	return WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
				     WEXITSTATUS(status) == EXIT_SKIP)
		       ? 0
		       : 1;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1
						 : argv[0];
	int failed = 0;

	/* Arguments, if any, select cases by name. */
	for (size_t i = 0; i < n_cases; i++) {
		bool selected = argc < 2;

		for (int a = 1; a < argc; a++)
			selected |= strcmp(argv[a], cases[i].name) == 0;
		if (selected)
			failed |= run_case(prog, &cases[i]) != 0;
	}
	return failed;
}

/* sys/class/block/NAME, a partition (PARTN, PARTNAME) when @partn > 0. */
void test_sys_block(const char *parent, const char *name, int partn,
		    const char *partname)
{
	char dir[512], path[600], text[512];
	int n;

	if (parent)
		snprintf(dir, sizeof(dir), "sys/class/block/%s/%s", parent,
			 name);
	else
		snprintf(dir, sizeof(dir), "sys/class/block/%s", name);
	CHECK(system("mkdir -p sys/class/block") == 0);
	CHECK(mkdir(dir, 0755) == 0);
	n = snprintf(text, sizeof(text), "MAJOR=254\nDEVNAME=%s\nDEVTYPE=%s\n",
		     name, partn ? "partition" : "disk");
	if (partn)
		n += snprintf(text + n, sizeof(text) - n, "PARTN=%d\n", partn);
	if (partname)
		n += snprintf(text + n, sizeof(text) - n, "PARTNAME=%s\n",
			      partname);
	snprintf(path, sizeof(path), "%s/uevent", dir);
	test_write_file(path, text, (size_t)n);
	if (partn) {
		n = snprintf(text, sizeof(text), "%d\n", partn);
		snprintf(path, sizeof(path), "%s/partition", dir);
		test_write_file(path, text, (size_t)n);
	}
	/* sysfs lists the partitions at the top too (symlinks there). */
	if (parent) {
		snprintf(path, sizeof(path), "sys/class/block/%s", name);
		snprintf(text, sizeof(text), "%s/%s", parent, name);
		CHECK(symlink(text, path) == 0);
	}
}

/* dev/sdx: a GPT disk image: 1 esp, 2 root-a, 3 "root-ä", 4 data. */
void test_gpt_disk(void)
{
	if (system("command -v sfdisk >/dev/null") != 0)
		test_skip("no sfdisk (package fdisk)");
	CHECK(system("mkdir -p dev && truncate -s 8M dev/sdx && "
		     "printf '%s\\n' 'label: gpt' "
		     "'start=2048, size=2048, name=esp, "
		     "uuid=5F1E0000-0000-4000-8000-000000000001' "
		     "'size=2048, name=root-a, "
		     "uuid=5F1E0000-0000-4000-8000-000000000002' "
		     "'size=2048, name=\"root-\xc3\xa4\", "
		     "uuid=5F1E0000-0000-4000-8000-000000000003' "
		     "'size=2048, name=data, "
		     "uuid=5F1E0000-0000-4000-8000-000000000004' | "
		     "sfdisk -q dev/sdx >/dev/null") == 0);
	test_sys_block(NULL, "sdx", 0, NULL);
	test_sys_block("sdx", "sdx1", 1, "esp");
	test_sys_block("sdx", "sdx2", 2, "root-a");
	/* The kernel keeps the low byte of each UTF-16 unit: ä -> 0xe4,
	 * not printable -> '!'. */
	test_sys_block("sdx", "sdx3", 3, "root-!");
	test_sys_block("sdx", "sdx4", 4, "data");
}
