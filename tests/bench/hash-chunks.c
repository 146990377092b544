// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hash-chunks FILE: the hashing part of the floor of a delta apply. Reads
 * FILE into memory, then hashes it in 1 MiB chunks with BLAKE2b-256 on one
 * thread per CPU, twice: as slotflip-init proves the chunks held by the
 * spare slot (sf_hash_many(), sf_hash_lanes() chunks side by side), and
 * one chunk at a time (libsodium). Prints one line:
 *   bytes=B threads=T impl=NAME lanes=L seconds=S one=S1
 * where S and S1 are the times of the hashing alone (the read is not
 * counted). Used by tests/bench/bench-apply.sh (make bench). Exit 1 on
 * any error.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

#define CHUNK (1u << 20)

static unsigned char *data;
static size_t size;
static atomic_size_t next_chunk;

static size_t chunk_len(size_t i)
{
	size_t off = i * CHUNK;

	return size - off < CHUNK ? size - off : CHUNK;
}

/* One chunk at a time, libsodium's BLAKE2b. */
static void *hash_one_by_one(void *arg)
{
	unsigned char h[32];
	size_t i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_chunk, 1)) * CHUNK < size)
		crypto_generichash(h, sizeof(h), data + i * CHUNK, chunk_len(i),
				   NULL, 0);
	return NULL;
}

/* As many chunks at once as are hashed side by side. */
static void *hash_side_by_side(void *arg)
{
	unsigned lanes = sf_hash_lanes();
	const uint8_t *bufs[SF_HASH_LANES_MAX];
	size_t lens[SF_HASH_LANES_MAX];
	uint8_t h[SF_HASH_LANES_MAX][SF_HASH_BYTES];
	size_t i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_chunk, lanes)) * CHUNK < size) {
		unsigned n = 0;

		for (; n < lanes && (i + n) * CHUNK < size; n++) {
			bufs[n] = data + (i + n) * CHUNK;
			lens[n] = chunk_len(i + n);
		}
		sf_hash_many(n, bufs, lens, h);
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds @threads threads take to run @fn over the chunks, or -1. */
static double timed(unsigned threads, void *(*fn)(void *))
{
	pthread_t tid[256];
	double t0 = now();

	atomic_store(&next_chunk, 0);
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, fn, NULL) != 0)
			return -1;
	for (unsigned i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return now() - t0;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cpus > 0 && cpus < 256 ? (unsigned)cpus : 1;
	double t_many, t_one;
	FILE *f;

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
	t_many = timed(threads, hash_side_by_side);
	t_one = timed(threads, hash_one_by_one);
	if (t_many < 0 || t_one < 0) {
		fprintf(stderr, "hash-chunks: cannot start a thread\n");
		return 1;
	}
	printf("bytes=%zu threads=%u impl=%s lanes=%u seconds=%.3f one=%.3f\n",
	       size, threads, sf_hash_impl(), sf_hash_lanes(), t_many, t_one);
	free(data);
	return 0;
}
