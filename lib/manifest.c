// SPDX-License-Identifier: LGPL-2.1-or-later
#include "manifest.h"

#include <errno.h>
#include <string.h>

#include "util.h"
#include "version.h"

static const uint8_t manifest_magic[8] = "SFMANIFS";

#define BAD(ctx, ...) sf_err((ctx), -EBADMSG, "manifest: " __VA_ARGS__)

bool sf_compatible_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SF_STRING_FIELD)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._+-") == n;
}

/* A NUL-padded string field: 1..63 bytes, then zeros only. */
static int parse_string(const struct sf_ctx *ctx, const char *what,
			const uint8_t *field, char *dst)
{
	size_t n = strnlen((const char *)field, SF_STRING_FIELD);

	if (n == 0 || n == SF_STRING_FIELD)
		return BAD(ctx, "%s is empty or not terminated", what);
	if (!is_zero(field + n, SF_STRING_FIELD - n))
		return BAD(ctx, "%s has bytes after its end", what);
	memcpy(dst, field, SF_STRING_FIELD);
	return 0;
}

static int parse_strings(const struct sf_ctx *ctx, const uint8_t *buf,
			 struct sf_manifest *m)
{
	struct sf_version v;
	int r;

	r = parse_string(ctx, "compatible string", buf + 40, m->compatible);
	if (r < 0)
		return r;
	if (!sf_compatible_valid(m->compatible))
		return BAD(ctx, "compatible string has characters outside "
				"[A-Za-z0-9._+-]");
	r = parse_string(ctx, "version", buf + 104, m->version);
	if (r < 0)
		return r;
	if (sf_version_parse(m->version, &v) < 0)
		return BAD(ctx, "version \"%s\" is not a version", m->version);
	if (!(m->flags & SF_MANIFEST_FLAG_DELTA)) {
		if (!is_zero(buf + 168, SF_STRING_FIELD + SF_HASH_BYTES))
			return BAD(ctx, "full image names a base");
		return 0;
	}
	r = parse_string(ctx, "base version", buf + 168, m->base_version);
	if (r < 0)
		return r;
	if (sf_version_parse(m->base_version, &v) < 0)
		return BAD(ctx, "base version is not a version");
	memcpy(m->base_manifest_hash, buf + 232, SF_HASH_BYTES);
	return 0;
}

int sf_manifest_data_size(const uint8_t *buf, size_t len, uint64_t *ret)
{
	if (len < SF_MANIFEST_HEAD_BYTES || memcmp(buf, manifest_magic, 8) != 0)
		return -EBADMSG;
	*ret = le64_load(buf + 24);
	return 0;
}

/* Version 2's reference count (the table is parsed after the chunks). */
static int parse_reference_count(const struct sf_ctx *ctx, const uint8_t *buf,
				 size_t len, struct sf_manifest *m)
{
	if (len < SF_MANIFEST_FIXED_V2)
		return BAD(ctx, "too short (%zu bytes)", len);
	m->n_refs = le32_load(buf + 264);
	if (le32_load(buf + 268) != 0)
		return BAD(ctx, "reserved bytes set");
	if (m->n_refs > SF_MANIFEST_MAX / SF_REF_ENTRY)
		return BAD(ctx, "%u references, more than a manifest can hold",
			   m->n_refs);
	return 0;
}

static int parse_fixed(const struct sf_ctx *ctx, const uint8_t *buf, size_t len,
		       struct sf_manifest *m)
{
	if (len < SF_MANIFEST_FIXED || memcmp(buf, manifest_magic, 8) != 0)
		return BAD(ctx, "bad magic or too short (%zu bytes)", len);
	m->format = le32_load(buf + 8);
	if (m->format < SF_FORMAT_MIN || m->format > SF_FORMAT_VERSION)
		return sf_err(ctx, -EPROTONOSUPPORT,
			      "manifest: format version %u, this reader knows "
			      "%u to %u: update slotflip",
			      m->format, SF_FORMAT_MIN, SF_FORMAT_VERSION);
	if (m->format >= 2) {
		int r = parse_reference_count(ctx, buf, len, m);

		if (r < 0)
			return r;
	}
	m->flags = le32_load(buf + 12);
	if (m->flags & ~SF_MANIFEST_FLAG_DELTA)
		return BAD(ctx, "unknown flags 0x%x", m->flags);
	m->build_time = le64_load(buf + 16);
	m->data_size = le64_load(buf + 24);
	m->chunk_size = le32_load(buf + 32);
	if (m->chunk_size < SF_CHUNK_MIN || m->chunk_size > SF_CHUNK_MAX ||
	    (m->chunk_size & (m->chunk_size - 1)))
		return BAD(ctx,
			   "chunk size %u is not a power of two from 4 KiB "
			   "to 4 MiB",
			   m->chunk_size);
	m->n_payloads = le32_load(buf + 36);
	if (m->n_payloads < 1 || m->n_payloads > SF_MAX_PAYLOADS)
		return BAD(ctx, "%u payloads (1 to %u allowed)", m->n_payloads,
			   SF_MAX_PAYLOADS);
	return parse_strings(ctx, buf, m);
}

static int parse_payloads(const struct sf_ctx *ctx, const uint8_t *buf,
			  size_t len, struct sf_manifest *m)
{
	uint32_t fixed = sf_manifest_fixed_size(m->format);
	const uint8_t *p = buf + fixed;

	if (len < fixed + (size_t)m->n_payloads * SF_PAYLOAD_ENTRY)
		return BAD(ctx, "truncated payload table");
	for (unsigned i = 0; i < m->n_payloads; i++, p += SF_PAYLOAD_ENTRY) {
		struct sf_payload *pl = &m->payloads[i];

		pl->kind = le32_load(p);
		pl->size = le64_load(p + 8);
		if (pl->kind != SF_PAYLOAD_ROOTFS && pl->kind != SF_PAYLOAD_EFI)
			return BAD(ctx, "payload %u has unknown kind %u", i,
				   pl->kind);
		if (i == 0 ? pl->kind != SF_PAYLOAD_ROOTFS
			   : pl->kind <= m->payloads[i - 1].kind)
			return BAD(ctx, "payload kinds out of order");
		if (le32_load(p + 4) != 0)
			return BAD(ctx, "payload %u: reserved bytes set", i);
		if (pl->size == 0 || pl->size > SF_PAYLOAD_MAX)
			return BAD(ctx, "payload %u: size %llu out of bounds",
				   i, (unsigned long long)pl->size);
	}
	return 0;
}

/* The number of chunks @m's payload table calls for. */
static uint64_t chunk_count(const struct sf_manifest *m)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < m->n_payloads; i++)
		total += (m->payloads[i].size + m->chunk_size - 1) /
			 m->chunk_size;
	return total;
}

int sf_manifest_layout(struct sf_manifest *m)
{
	uint64_t total = 0;
	uint32_t k = 0;

	if (!m->format)
		m->format = SF_FORMAT_VERSION;
	for (unsigned i = 0; i < m->n_payloads; i++) {
		struct sf_payload *pl = &m->payloads[i];

		if (pl->size == 0 || pl->size > SF_PAYLOAD_MAX)
			return -EINVAL;
		pl->first_chunk = (uint32_t)total;
		total += (pl->size + m->chunk_size - 1) / m->chunk_size;
		pl->n_chunks = (uint32_t)(total - pl->first_chunk);
	}
	if (total * SF_CHUNK_ENTRY > SF_MANIFEST_MAX)
		return -EINVAL;
	m->n_chunks = (uint32_t)total;
	if (!m->chunks && !(m->chunks = calloc(total, sizeof(*m->chunks))))
		return -ENOMEM;
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct sf_payload *pl = &m->payloads[i];

		for (uint32_t j = 0; j < pl->n_chunks; j++, k++) {
			struct sf_chunk *c = &m->chunks[k];
			uint64_t left = pl->size - (uint64_t)j * m->chunk_size;

			c->offset = (uint64_t)j * m->chunk_size;
			c->length = (uint32_t)(left < m->chunk_size
						       ? left
						       : m->chunk_size);
			c->payload = i;
		}
	}
	return 0;
}

void sf_manifest_set_data_offsets(struct sf_manifest *m)
{
	uint64_t off = 0;
	uint32_t ref = 0;

	for (uint32_t i = 0; i < m->n_chunks; i++) {
		m->chunks[i].data_offset = off;
		off += m->chunks[i].stored_len;
		m->chunks[i].first_ref = ref;
		ref += sf_chunk_ref_count(&m->chunks[i]);
	}
	m->data_size = off;
}

/* The per-form rules of docs/FORMAT.md, "Chunk table entry". */
static int check_chunk(const struct sf_ctx *ctx, const struct sf_manifest *m,
		       uint32_t i, const struct sf_chunk *c)
{
	bool delta = m->flags & SF_MANIFEST_FLAG_DELTA;
	bool no_stored_hash = is_zero(c->stored_hash, SF_HASH_BYTES);

	switch (c->form) {
	case SF_FORM_ZERO:
		if (c->stored_len || c->base_offset || !no_stored_hash ||
		    !is_zero(c->content_hash, SF_HASH_BYTES))
			return BAD(ctx, "chunk %u: zero chunk with data", i);
		return 0;
	case SF_FORM_STORED:
		if (c->stored_len != c->length || c->base_offset ||
		    memcmp(c->stored_hash, c->content_hash, SF_HASH_BYTES))
			return BAD(ctx, "chunk %u: inconsistent stored chunk",
				   i);
		return 0;
	case SF_FORM_ZSTD:
		if (m->format < 2)
			return BAD(ctx,
				   "chunk %u: zstd chunk in a version 1 "
				   "image",
				   i);
		/* fall through */
	case SF_FORM_DEFLATE:
	case SF_FORM_PATCH:
		if (c->form == SF_FORM_PATCH && !delta)
			return BAD(ctx, "chunk %u: patch in a full image", i);
		if (c->stored_len == 0 || c->stored_len >= c->length ||
		    c->base_offset)
			return BAD(ctx,
				   "chunk %u: stored length %u for %u bytes", i,
				   c->stored_len, c->length);
		return 0;
	case SF_FORM_BASE:
		if (!delta)
			return BAD(ctx, "chunk %u: base chunk in a full image",
				   i);
		if (c->stored_len || !no_stored_hash ||
		    c->base_offset % SF_BLOCK_SIZE ||
		    c->base_offset > SF_PAYLOAD_MAX)
			return BAD(ctx, "chunk %u: bad base chunk", i);
		return 0;
	case SF_FORM_REF:
		if (m->format < 2)
			break;
		if (!delta)
			return BAD(ctx,
				   "chunk %u: reference chunk in a full image",
				   i);
		if (c->stored_len == 0 || c->stored_len >= c->length)
			return BAD(ctx,
				   "chunk %u: stored length %u for %u bytes", i,
				   c->stored_len, c->length);
		if (c->base_offset == 0 || c->base_offset > SF_REFS_PER_CHUNK)
			return BAD(ctx,
				   "chunk %u: %llu references (1 to %u "
				   "allowed)",
				   i, (unsigned long long)c->base_offset,
				   SF_REFS_PER_CHUNK);
		return 0;
	default:
		break;
	}
	return BAD(ctx, "chunk %u: unknown form %u", i, c->form);
}

static int parse_chunks(const struct sf_ctx *ctx, const uint8_t *p,
			struct sf_manifest *m)
{
	uint64_t refs = 0;

	for (uint32_t i = 0; i < m->n_chunks; i++, p += SF_CHUNK_ENTRY) {
		struct sf_chunk *c = &m->chunks[i];
		int r;

		c->form = p[0];
		if (p[1] || p[2] || p[3])
			return BAD(ctx, "chunk %u: reserved bytes set", i);
		c->stored_len = le32_load(p + 4);
		c->base_offset = le64_load(p + 8);
		memcpy(c->content_hash, p + 16, SF_HASH_BYTES);
		memcpy(c->stored_hash, p + 48, SF_HASH_BYTES);
		r = check_chunk(ctx, m, i, c);
		if (r < 0)
			return r;
		c->first_ref = (uint32_t)refs;
		refs += sf_chunk_ref_count(c);
	}
	if (refs != m->n_refs)
		return BAD(ctx,
			   "reference chunks name %llu references, the table "
			   "has %u",
			   (unsigned long long)refs, m->n_refs);
	return 0;
}

/* The reference table (docs/FORMAT.md, "Reference table"), after the
 * chunks: each chunk's ranges together at most SF_REF_BYTES_MAX. */
static int parse_refs(const struct sf_ctx *ctx, const uint8_t *p,
		      struct sf_manifest *m)
{
	for (uint32_t i = 0; i < m->n_refs; i++, p += SF_REF_ENTRY) {
		struct sf_ref *f = &m->refs[i];

		f->offset = le64_load(p);
		f->length = le32_load(p + 8);
		memcpy(f->hash, p + 16, SF_HASH_BYTES);
		if (le32_load(p + 12) != 0)
			return BAD(ctx, "reference %u: reserved bytes set", i);
		if (f->length == 0 || f->length > SF_REF_BYTES_MAX ||
		    f->offset > SF_PAYLOAD_MAX - f->length)
			return BAD(ctx,
				   "reference %u: %u bytes at %llu out of "
				   "bounds",
				   i, f->length, (unsigned long long)f->offset);
	}
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		const struct sf_chunk *c = &m->chunks[i];
		uint64_t sum = 0;

		for (uint32_t k = 0; k < sf_chunk_ref_count(c); k++)
			sum += m->refs[c->first_ref + k].length;
		if (sum > SF_REF_BYTES_MAX)
			return BAD(ctx,
				   "chunk %u: references of %llu bytes "
				   "(at most %u)",
				   i, (unsigned long long)sum,
				   SF_REF_BYTES_MAX);
	}
	return 0;
}

int sf_manifest_parse(const struct sf_ctx *ctx, const uint8_t *buf, size_t len,
		      struct sf_manifest *ret)
{
	struct sf_manifest m = { .chunks = NULL };
	const uint8_t *p;
	uint64_t declared;
	int r;

	if (len > SF_MANIFEST_MAX)
		return BAD(ctx, "%zu bytes, over the %u limit", len,
			   SF_MANIFEST_MAX);
	r = parse_fixed(ctx, buf, len, &m);
	if (r >= 0)
		r = parse_payloads(ctx, buf, len, &m);
	if (r < 0)
		return r;
	/* Before anything is allocated for the chunks: a few hundred bytes
	 * claiming a huge payload must not cost a chunk array. */
	if (len != sf_manifest_fixed_size(m.format) +
			   (uint64_t)m.n_payloads * SF_PAYLOAD_ENTRY +
			   chunk_count(&m) * SF_CHUNK_ENTRY +
			   (uint64_t)m.n_refs * SF_REF_ENTRY)
		return BAD(ctx, "size %zu does not match its tables", len);
	r = sf_manifest_layout(&m);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || len != sf_manifest_encoded_size(&m)) {
		free(m.chunks);
		return BAD(ctx, "size %zu does not match its tables", len);
	}
	if (m.n_refs && !(m.refs = calloc(m.n_refs, sizeof(*m.refs)))) {
		free(m.chunks);
		return -ENOMEM;
	}
	declared = m.data_size;
	p = buf + sf_manifest_fixed_size(m.format) +
	    m.n_payloads * SF_PAYLOAD_ENTRY;
	r = parse_chunks(ctx, p, &m);
	if (r >= 0)
		r = parse_refs(ctx, p + (size_t)m.n_chunks * SF_CHUNK_ENTRY,
			       &m);
	sf_manifest_set_data_offsets(&m);
	if (r >= 0 && m.data_size != declared)
		r = BAD(ctx, "data size %llu, chunks hold %llu",
			(unsigned long long)declared,
			(unsigned long long)m.data_size);
	if (r < 0) {
		sf_manifest_free(&m);
		return r;
	}
	*ret = m;
	return 0;
}

size_t sf_manifest_encoded_size(const struct sf_manifest *m)
{
	return sf_manifest_fixed_size(m->format) +
	       (size_t)m->n_payloads * SF_PAYLOAD_ENTRY +
	       (size_t)m->n_chunks * SF_CHUNK_ENTRY +
	       (size_t)m->n_refs * SF_REF_ENTRY;
}

static void encode_chunk(const struct sf_chunk *c, uint8_t *p)
{
	memset(p, 0, SF_CHUNK_ENTRY);
	p[0] = c->form;
	le32_store(p + 4, c->stored_len);
	le64_store(p + 8, c->base_offset);
	memcpy(p + 16, c->content_hash, SF_HASH_BYTES);
	memcpy(p + 48, c->stored_hash, SF_HASH_BYTES);
}

size_t sf_manifest_encode(const struct sf_manifest *m, uint8_t *buf)
{
	uint32_t fixed = sf_manifest_fixed_size(m->format);
	uint8_t *p = buf + fixed;

	memset(buf, 0, fixed);
	memcpy(buf, manifest_magic, 8);
	le32_store(buf + 8, m->format);
	le32_store(buf + 12, m->flags);
	le64_store(buf + 16, m->build_time);
	le64_store(buf + 24, m->data_size);
	le32_store(buf + 32, m->chunk_size);
	le32_store(buf + 36, m->n_payloads);
	/* The string fields are kept NUL-padded to their full size. */
	memcpy(buf + 40, m->compatible, SF_STRING_FIELD);
	memcpy(buf + 104, m->version, SF_STRING_FIELD);
	if (m->format >= 2)
		le32_store(buf + 264, m->n_refs);
	if (m->flags & SF_MANIFEST_FLAG_DELTA) {
		memcpy(buf + 168, m->base_version, SF_STRING_FIELD);
		memcpy(buf + 232, m->base_manifest_hash, SF_HASH_BYTES);
	}
	for (unsigned i = 0; i < m->n_payloads; i++, p += SF_PAYLOAD_ENTRY) {
		memset(p, 0, SF_PAYLOAD_ENTRY);
		le32_store(p, m->payloads[i].kind);
		le64_store(p + 8, m->payloads[i].size);
	}
	for (uint32_t i = 0; i < m->n_chunks; i++, p += SF_CHUNK_ENTRY)
		encode_chunk(&m->chunks[i], p);
	for (uint32_t i = 0; i < m->n_refs; i++, p += SF_REF_ENTRY) {
		memset(p, 0, SF_REF_ENTRY);
		le64_store(p, m->refs[i].offset);
		le32_store(p + 8, m->refs[i].length);
		memcpy(p + 16, m->refs[i].hash, SF_HASH_BYTES);
	}
	return (size_t)(p - buf);
}

void sf_manifest_free(struct sf_manifest *m)
{
	free(m->chunks);
	free(m->refs);
	m->chunks = NULL;
	m->refs = NULL;
	m->n_chunks = 0;
	m->n_refs = 0;
}

const struct sf_payload *sf_manifest_payload(const struct sf_manifest *m,
					     uint32_t kind)
{
	for (unsigned i = 0; i < m->n_payloads; i++)
		if (m->payloads[i].kind == kind)
			return &m->payloads[i];
	return NULL;
}

const char *sf_payload_kind_name(uint32_t kind)
{
	return kind == SF_PAYLOAD_ROOTFS ? "rootfs"
	       : kind == SF_PAYLOAD_EFI	 ? "efi"
					 : "unknown";
}

const char *sf_form_name(uint8_t form)
{
	static const char *const names[] = { "zero",	 "stored", "deflate",
					     "base",	 "patch",  "zstd",
					     "reference" };

	return form < ARRAY_SIZE(names) ? names[form] : "unknown";
}
