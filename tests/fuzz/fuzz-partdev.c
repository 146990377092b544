// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the partition-table lookup of PARTLABEL= and PARTUUID=
 * (sf_partdev_find_tables(): libblkid's GPT/MBR parsers, then
 * sf_partlist_match()) on a disk image made from the input. A temporary
 * sysfs and /dev show one whole disk "sdx" (the
 * input) with partitions 1 and 2; the lookup must name one of them or
 * fail with -ENOENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"PARTLABEL=root-a",
	"PARTLABEL=root-\xc3\xa4",
	"PARTUUID=5f1e0000-0000-4000-8000-000000000002",
};

/* The layout, in creation order: a trailing '/' marks a directory; a
 * file's text follows its name. */
static const char *const layout[][2] = {
	{ "sys/" },
	{ "sys/class/" },
	{ "sys/class/block/" },
	{ "sys/class/block/sdx/" },
	{ "sys/class/block/sdx/sdx1/" },
	{ "sys/class/block/sdx/sdx1/partition", "1\n" },
	{ "sys/class/block/sdx/sdx2/" },
	{ "sys/class/block/sdx/sdx2/partition", "2\n" },
	{ "sys/class/block/sdx1/" },
	{ "sys/class/block/sdx1/partition", "1\n" },
	{ "sys/class/block/sdx2/" },
	{ "sys/class/block/sdx2/partition", "2\n" },
	{ "dev/" },
};
#define N_LAYOUT (sizeof(layout) / sizeof(layout[0]))

static void make(const char *root, const char *name, const char *text)
{
	char path[4096];
	size_t n = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (name[n - 1] == '/') {
		if (mkdir(path, 0755) < 0)
			abort();
		return;
	}
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void undo(const char *root, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (name[strlen(name) - 1] == '/' ? rmdir(path) : unlink(path))
		abort();
}

/* A fresh temporary root per input (the replay runs each input in its own
 * process): ROOT/sys/class/block/{sdx,sdx1,sdx2} and ROOT/dev/sdx. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/fuzz-partdev-XXXXXX";
	char sys[4096], dev[4096], disk[4096], buf[4096];
	int fd;

	if (!mkdtemp(root))
		abort();
	for (size_t i = 0; i < N_LAYOUT; i++)
		make(root, layout[i][0], layout[i][1]);
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(disk, sizeof(disk), "%s/dev/sdx", root);
	fd = open(disk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
		abort();
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int r = sf_partdev_find_tables(sys, dev, specs[i], buf,
					       sizeof(buf));

		if (r == 0 ? strncmp(buf, disk, strlen(disk)) != 0
			   : r != -ENOENT)
			abort();
	}
	undo(root, "dev/sdx");
	for (size_t i = N_LAYOUT; i-- > 0;)
		undo(root, layout[i][0]);
	if (rmdir(root) < 0)
		abort();
	return 0;
}
