// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * static-probe: proof that the initramfs toolchain works. Linked with
 * `gcc -static` against Debian's libblkid.a, libsodium.a, libz.a,
 * libzstd.a and our libkmod.a (mk/static.mk), it calls real code of each
 * library.
 *
 *	static-probe [blkid|sodium|zlib|zstd|kmod]...
 *
 * Runs the named checks (all without arguments); exits 0 only if all pass,
 * else prints why on stderr and exits 1.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libkmod.h>
#include <sodium.h>
#include <zlib.h>
#include <zstd.h>

static int failf(const char *check, const char *what)
{
	fprintf(stderr, "static-probe: %s: %s\n", check, what);
	return -1;
}

/* A zero-filled device holds no signature: blkid_do_safeprobe() says 1. */
static int check_blkid(void)
{
	blkid_probe pr;
	int fd, rc;

	fd = memfd_create("static-probe", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return failf("blkid", "cannot create a memfd");
	pr = blkid_new_probe();
	if (!pr) {
		close(fd);
		return failf("blkid", "blkid_new_probe() failed");
	}
	rc = blkid_probe_set_device(pr, fd, 0, 0);
	if (rc == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		rc = blkid_do_safeprobe(pr);
	}
	blkid_free_probe(pr);
	close(fd);
	if (rc != 1)
		return failf("blkid", "a zeroed device was not reported empty");
	return 0;
}

/* BLAKE2b-256 of "abc" (RFC 7693 test vector, 32-byte output). */
static int check_sodium(void)
{
	static const unsigned char want[32] = {
		0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72,
		0x31, 0x71, 0xef, 0x3f, 0xee, 0x98, 0x57, 0x9b,
		0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb, 0x3e, 0x42,
		0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19,
	};
	unsigned char out[32];

	if (sodium_init() < 0)
		return failf("sodium", "sodium_init() failed");
	if (crypto_generichash(out, sizeof(out), (const unsigned char *)"abc",
			       3, NULL, 0) != 0)
		return failf("sodium", "crypto_generichash() failed");
	if (memcmp(out, want, sizeof(want)) != 0)
		return failf("sodium", "wrong BLAKE2b-256 of \"abc\"");
	return 0;
}

static int check_zlib(void)
{
	static unsigned char in[64 * 1024], packed[8192], out[sizeof(in)];
	uLongf packed_len = sizeof(packed), out_len = sizeof(out);

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)("slotflip"[i % 8] + i / 4096);
	if (compress2(packed, &packed_len, in, sizeof(in), 9) != Z_OK)
		return failf("zlib", "compress2() failed");
	if (uncompress(out, &out_len, packed, packed_len) != Z_OK)
		return failf("zlib", "uncompress() failed");
	if (out_len != sizeof(in) || memcmp(in, out, sizeof(in)) != 0)
		return failf("zlib", "round trip changed the data");
	return 0;
}

static int check_zstd(void)
{
	static unsigned char in[64 * 1024], packed[8192], out[sizeof(in)];
	size_t n, m;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)("slotflip"[i % 8] + i / 4096);
	n = ZSTD_compress(packed, sizeof(packed), in, sizeof(in), 19);
	if (ZSTD_isError(n))
		return failf("zstd", "ZSTD_compress() failed");
	m = ZSTD_decompress(out, sizeof(out), packed, n);
	if (ZSTD_isError(m))
		return failf("zstd", "ZSTD_decompress() failed");
	if (m != sizeof(in) || memcmp(in, out, sizeof(in)) != 0)
		return failf("zstd", "round trip changed the data");
	return 0;
}

/*
 * A context on an empty module directory, with one configuration file:
 * the module's name is normalized and its options come from the file.
 */
static int check_kmod_in(const char *dir, const char *conf)
{
	const char *configs[] = { conf, NULL };
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	const char *opts;
	int rc = -1;

	ctx = kmod_new(dir, configs);
	if (!ctx)
		return failf("kmod", "kmod_new() failed");
	if (kmod_module_new_from_name(ctx, "virtio-blk", &mod) < 0) {
		failf("kmod", "kmod_module_new_from_name() failed");
		goto out;
	}
	opts = kmod_module_get_options(mod);
	if (strcmp(kmod_module_get_name(mod), "virtio_blk") != 0)
		failf("kmod", "module name not normalized");
	else if (!opts || strcmp(opts, "queue_depth=4") != 0)
		failf("kmod", "options from the configuration file not found");
	else
		rc = 0;
	kmod_module_unref(mod);
out:
	kmod_unref(ctx);
	return rc;
}

static int check_kmod(void)
{
	static const char conf_text[] = "options virtio_blk queue_depth=4\n";
	char dir[] = "/tmp/static-probe-XXXXXX";
	char conf[sizeof(dir) + 16];
	FILE *f;
	int rc;

	if (!mkdtemp(dir))
		return failf("kmod", "cannot create a temporary directory");
	snprintf(conf, sizeof(conf), "%s/test.conf", dir);
	f = fopen(conf, "w");
	if (!f || fputs(conf_text, f) < 0 || fclose(f) != 0) {
		rmdir(dir);
		return failf("kmod", "cannot write the configuration file");
	}
	rc = check_kmod_in(dir, conf);
	unlink(conf);
	rmdir(dir);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(void);
} checks[] = {
	{ "blkid", check_blkid }, { "sodium", check_sodium },
	{ "zlib", check_zlib },	  { "zstd", check_zstd },
	{ "kmod", check_kmod },
};

/* Runs the check called @name, or every check if @name is NULL. */
static int run(const char *name)
{
	bool found = false;
	int rc = 0;

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (name && strcmp(name, checks[i].name) != 0)
			continue;
		found = true;
		if (checks[i].fn() < 0)
			rc = -1;
	}
	return found ? rc : failf(name, "no such check");
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc < 2)
		return run(NULL) < 0;
	for (int i = 1; i < argc; i++)
		failed |= run(argv[i]) < 0;
	return failed;
}
