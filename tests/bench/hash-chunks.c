// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hash-chunks FILE: the hashing part of the floor of a delta apply. Reads
 * FILE into memory, then hashes it in 1 MiB chunks with BLAKE2b-256
 * (libsodium, as slotflip-init proves a chunk held by the spare slot) on
 * one thread per CPU, and prints one line:
 *   bytes=B threads=T seconds=S
 * where S is the time of the hashing alone (the read is not counted).
 * Used by tests/bench/bench-apply.sh (make bench). Exit 1 on any error.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static unsigned char *data;
static size_t size;
static atomic_size_t next_chunk;

static void *hash_chunks(void *arg)
{
	unsigned char h[32];
	size_t i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_chunk, 1)) * CHUNK < size) {
		size_t off = i * CHUNK;
		size_t len = size - off < CHUNK ? size - off : CHUNK;

		crypto_generichash(h, sizeof(h), data + off, len, NULL, 0);
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cpus > 0 && cpus < 256 ? (unsigned)cpus : 1;
	pthread_t tid[256];
	FILE *f;
	double t0;

	if (argc != 2) {
		fprintf(stderr, "usage: hash-chunks FILE\n");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || ftell(f) < 0) {
		perror(argv[1]);
		return 1;
	}
	size = (size_t)ftell(f);
	rewind(f);
	data = malloc(size ? size : 1);
	if (!data || fread(data, 1, size, f) != size) {
		fprintf(stderr, "hash-chunks: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	t0 = now();
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, hash_chunks, NULL) != 0) {
			fprintf(stderr, "hash-chunks: cannot start a thread\n");
			return 1;
		}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	printf("bytes=%zu threads=%u seconds=%.3f\n", size, threads,
	       now() - t0);
	free(data);
	return 0;
}
