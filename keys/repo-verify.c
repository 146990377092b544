// SPDX-License-Identifier: LGPL-2.1-or-later
/* repo verify: every document and image checked as a device would. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "repo.h"
#include "util.h"

struct image_keys {
	const struct ms_pubkey *keys;
	unsigned n;
	unsigned threshold;
};

static int check_size_and_hash(struct repo *r, const char *name,
			       const struct sf_repo_image *im)
{
	uint8_t hash[SF_HASH_BYTES];
	uint64_t size;
	struct stat st;
	int e;

	/* The size first: a device never takes more than the index says. */
	if (fstatat(r->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sf_err(&cli_ctx, -errno, "%s: %m", name);
	if ((uint64_t)st.st_size != im->size)
		return sf_err(&cli_ctx, -EBADMSG,
			      "%s: %llu bytes, the index says %" PRIu64, name,
			      (unsigned long long)st.st_size, im->size);
	e = repo_hash_file(r, name, &size, hash);
	if (e < 0)
		return sf_err(&cli_ctx, e, "%s: %s", name, strerror(-e));
	if (size != im->size || memcmp(hash, im->hash, SF_HASH_BYTES))
		return sf_err(&cli_ctx, -EBADMSG,
			      "%s: its hash is not the one the index names "
			      "(changed on the server)",
			      name);
	return 0;
}

/* What the manifest says against what the index line says. */
static int check_manifest(const char *name, const struct sf_image *img,
			  const struct sf_repo_index *idx,
			  const struct sf_repo_image *im)
{
	const struct sf_manifest *m = &img->m;
	bool delta = im->base_version[0] != '\0';

	if (strcmp(m->compatible, idx->compatible) ||
	    strcmp(m->version, idx->version))
		return sf_err(&cli_ctx, -EBADMSG,
			      "%s: image %s for %s, the index offers %s for %s",
			      name, m->version, m->compatible, idx->version,
			      idx->compatible);
	if (!!(m->flags & SF_MANIFEST_FLAG_DELTA) != delta)
		return sf_err(&cli_ctx, -EBADMSG, "%s: not a %s image", name,
			      delta ? "delta" : "full");
	if (!delta && memcmp(img->manifest_hash, idx->manifest, SF_HASH_BYTES))
		return sf_err(&cli_ctx, -EBADMSG,
			      "%s: its manifest hash is not the index's", name);
	if (delta &&
	    (strcmp(m->base_version, im->base_version) ||
	     memcmp(m->base_manifest_hash, im->base_manifest, SF_HASH_BYTES)))
		return sf_err(
			&cli_ctx, -EBADMSG,
			"%s: a delta from %s, not from the base the index "
			"names (%s)",
			name, m->base_version, im->base_version);
	return 0;
}

static int verify_image(struct repo *r, const struct sf_repo_index *idx,
			const struct sf_repo_image *im,
			const struct image_keys *ik)
{
	struct sf_image *img = NULL;
	char name[128];
	int e;

	repo_image_name(im->hash, name, sizeof(name));
	e = check_size_and_hash(r, name, im);
	if (e == 0)
		e = sf_image_open_at(&cli_ctx, r->fd, name, name, &img);
	if (e == 0)
		e = ik->n ? sf_image_check_signatures(&cli_ctx, img, ik->keys,
						      ik->n, ik->threshold)
			  : sf_image_load_manifest(&cli_ctx, img);
	if (e >= 0)
		e = check_manifest(name, img, idx, im);
	if (e == 0)
		e = sf_image_verify_data(&cli_ctx, img, 0, NULL, NULL);
	if (img)
		sf_image_close(img);
	return e < 0 ? e : 0;
}

static int verify_index(struct repo *r, const struct channel *c, uint64_t now,
			const struct image_keys *ik)
{
	const struct sf_repo_index *idx = &c->idx;
	char name[128];
	int e;

	snprintf(name, sizeof(name), "channels/%s/index", c->name);
	e = sf_repo_index_check(&cli_ctx, name, idx, r->ks.product,
				r->ks.compatible, c->name, NULL, now);
	if (e == 0)
		e = verify_image(r, idx, &idx->full, ik);
	for (unsigned i = 0; e == 0 && i < idx->n_deltas; i++)
		e = verify_image(r, idx, &idx->deltas[i], ik);
	return e;
}

static int verify_channel(struct repo *r, const char *name, uint64_t now,
			  const struct image_keys *ik)
{
	struct channel c;
	char ts_name[96];
	int e = repo_channel_load(r, name, &c);

	if (e == EXIT_OK && !c.exists)
		e = sf_err(&cli_ctx, EXIT_REFUSED,
			   "channels/%s has no timestamp", name);
	if (e != EXIT_OK)
		return e;
	snprintf(ts_name, sizeof(ts_name), "channels/%s/timestamp", name);
	e = sf_repo_timestamp_check(&cli_ctx, ts_name, &c.ts, r->ks.product,
				    name, r->ks.set, NULL, now);
	if (e == 0)
		e = verify_index(r, &c, now, ik);
	if (e < 0)
		return EXIT_REFUSED;
	printf("channel %s: good: version %s (floor %s), full image and %u "
	       "delta(s); timestamp serial %" PRIu64 " expires in %" PRIu64
	       " h, index serial %" PRIu64 " in %" PRIu64 " h\n",
	       name, c.idx.version, c.idx.floor, c.idx.n_deltas, c.ts.serial,
	       (c.ts.expires - now) / 3600, c.idx.serial,
	       (c.idx.expires - now) / 3600);
	return EXIT_OK;
}

int repo_verify(struct repo *r, const char *only_channel,
		const struct ms_pubkey *keys, unsigned n_keys,
		unsigned threshold)
{
	char names[64][SF_REPO_CHANNEL_SIZE];
	struct image_keys ik = { keys, n_keys, threshold };
	uint64_t now = (uint64_t)time(NULL);
	unsigned bad = 0;
	int n;

	printf("%s: %s for %s, key set %" PRIu64 " (%u of %u keys)\n", r->dir,
	       r->ks.product, r->ks.compatible, r->ks.set, r->ks.threshold,
	       r->ks.n_keys);
	if (!n_keys)
		printf("image signatures not checked (give --pubkey)\n");
	if (only_channel) {
		n = 1;
		snprintf(names[0], sizeof(names[0]), "%s", only_channel);
	} else if ((n = repo_channels(r, names, 64)) < 0) {
		fprintf(stderr, "slotflip-image: error: %s/channels: %s\n",
			r->dir, strerror(-n));
		return EXIT_IO;
	}
	for (int i = 0; i < n; i++)
		if (verify_channel(r, names[i], now, &ik) != EXIT_OK) {
			fprintf(stderr, "channel %s: refused\n", names[i]);
			bad++;
		}
	if (n == 0)
		printf("no channel yet\n");
	return bad ? EXIT_REFUSED : EXIT_OK;
}
