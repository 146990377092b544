// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Replays a fuzz target's corpus without libFuzzer: every file in
 * $SF_SRCDIR/tests/fuzz/corpus/<target>/ goes through
 * LLVMFuzzerTestOneInput() once. Built with gcc and the sanitizers by
 * `make check`; a crash or sanitizer report fails the case.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
		return 1;
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		return 1;
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *target = strrchr(argv[0], '-') + 1;
	const char *src = getenv("SF_SRCDIR");
	char dir[4096], path[8192], *names[1024];
	size_t n = 0;
	int failed = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", src ? src : ".",
		 target);
	d = opendir(dir);
	if (!d || argc > 1) {
		printf("FAIL replay-%s (no corpus at %s)\n", target, dir);
		return 1;
	}
	while ((e = readdir(d)) && n < 1024)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		pid_t pid;
		int status = 1;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(run_file(path));
		waitpid(pid, &status, 0);
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		printf("%s replay-%s/%s\n", status ? "FAIL" : "PASS", target,
		       names[i]);
		failed |= status;
		free(names[i]);
	}
	if (n == 0)
		printf("FAIL replay-%s (empty corpus)\n", target);
	return failed || n == 0;
}
