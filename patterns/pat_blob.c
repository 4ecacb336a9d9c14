/*
 * pat_blob.c — compiled ruleset ⇄ versioned blob, and ruleset accessors.
 *
 * Layout (host byte order; the blob is CPU specific anyway):
 *   struct blob_hdr (magic, format, Hyperscan version and platform, ruleset
 *   version, source hash, payload length, BLAKE2b-128 of the payload)
 *   payload: categories, scope names, rules, then one length-prefixed
 *   hs_serialize_database() image per database slot (length 0: none).
 * The header is checked (magic, format, length, checksum, platform) before a
 * single payload byte is interpreted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "pat_priv.h"

struct blob_hdr {
	char magic[8];
	uint32_t format;
	uint32_t hdr_len;
	char hs_version[64];
	uint64_t hs_tune;
	uint64_t hs_cpu_features;
	uint64_t version;
	uint8_t source_hash[32];
	uint64_t payload_len;
	uint8_t checksum[16];
};
_Static_assert(sizeof(struct blob_hdr) == 8 + 4 + 4 + 64 + 8 + 8 + 8 + 32 + 8 + 16,
	       "blob header has no padding");

/* Rules are written field by field, except the six one-byte fields from
 * category to scope_mode, written as one run: keep them adjacent. */
_Static_assert(offsetof(struct pat_rule, scope_mode) - offsetof(struct pat_rule, category) == 5,
	       "pat_rule one-byte fields are contiguous");

static void platform_fill(struct blob_hdr *h)
{
	hs_platform_info_t pi;

	memset(&pi, 0, sizeof(pi));
	hs_populate_platform(&pi);
	snprintf(h->hs_version, sizeof(h->hs_version), "%s", hs_version());
	h->hs_tune = pi.tune;
	h->hs_cpu_features = pi.cpu_features;
}

struct wbuf {
	unsigned char *p;
	size_t n, cap;
	int oom;
};

static void put(struct wbuf *w, const void *d, size_t n)
{
	if (w->oom)
		return;
	if (w->n + n > w->cap) {
		size_t nc = w->cap ? w->cap : 4096;
		while (nc < w->n + n)
			nc *= 2;
		unsigned char *np = realloc(w->p, nc);
		if (!np) {
			w->oom = 1;
			return;
		}
		w->p = np;
		w->cap = nc;
	}
	memcpy(w->p + w->n, d, n);
	w->n += n;
}

static void put_u32(struct wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct wbuf *w, uint64_t v) { put(w, &v, 8); }

static void put_str(struct wbuf *w, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
	put_u32(w, n);
	if (s)
		put(w, s, n);
}

int pat_ruleset_serialize(const struct pat_ruleset *rs, void **blob, size_t *len)
{
	struct wbuf w = { 0 };
	struct blob_hdr h;

	if (!rs || !blob || !len)
		return PAT_EINVAL;
	if (sodium_init() < 0)
		return PAT_ENOMEM;
	memset(&h, 0, sizeof(h));
	put(&w, &h, sizeof(h)); /* filled last */
	put_u32(&w, rs->n_cats);
	for (unsigned c = 0; c < rs->n_cats; c++) {
		put_str(&w, rs->cat_names[c]);
		put(&w, &rs->cat_block[c], sizeof(float));
		put(&w, &rs->cat_monitor[c], sizeof(float));
	}
	put(&w, &rs->total_block, sizeof(float));
	put(&w, &rs->total_monitor, sizeof(float));
	put_u32(&w, rs->n_scope_names);
	for (uint32_t i = 0; i < rs->n_scope_names; i++)
		put_str(&w, rs->scope_names[i]);
	put_u32(&w, rs->n_rules);
	for (uint32_t i = 0; i < rs->n_rules; i++) {
		const struct pat_rule *r = &rs->rules[i];
		put_u32(&w, r->id);
		put(&w, &r->category, 6); /* category..scope_mode */
		put(&w, &r->scope_n, 2);
		put_u32(&w, r->scope_off);
		put(&w, &r->weight, sizeof(float));
		put_str(&w, r->pattern);
		put_str(&w, r->desc);
		put_str(&w, r->ref);
	}
	put_u32(&w, rs->n_lits);
	if (rs->n_lits)
		put(&w, rs->lit_rule, (size_t)rs->n_lits * 4);
	for (unsigned t = 0; t < PAT_TARGET_COUNT; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			for (unsigned m = 0; m < PAT_MODE_COUNT; m++) {
				char *img = NULL;
				size_t il = 0;
				if (!rs->db[t][k][m]) {
					put_u64(&w, 0);
					continue;
				}
				if (hs_serialize_database(rs->db[t][k][m], &img, &il) !=
				    HS_SUCCESS) {
					free(w.p);
					return PAT_EHYPERSCAN;
				}
				put_u64(&w, il);
				put(&w, img, il);
				free(img);
			}
	if (w.oom) {
		free(w.p);
		return PAT_ENOMEM;
	}
	memcpy(h.magic, PAT_BLOB_MAGIC, 8);
	h.format = PAT_BLOB_FORMAT;
	h.hdr_len = sizeof(h);
	platform_fill(&h);
	h.version = rs->version;
	memcpy(h.source_hash, rs->source_hash, 32);
	h.payload_len = w.n - sizeof(h);
	crypto_generichash(h.checksum, sizeof(h.checksum), w.p + sizeof(h),
			   h.payload_len, NULL, 0);
	memcpy(w.p, &h, sizeof(h));
	*blob = w.p;
	*len = w.n;
	return PAT_OK;
}

struct rbuf {
	const unsigned char *p;
	size_t n, off;
	int bad;
};

static int get(struct rbuf *r, void *d, size_t n)
{
	if (r->bad || r->n - r->off < n) {
		r->bad = 1;
		memset(d, 0, n);
		return -1;
	}
	memcpy(d, r->p + r->off, n);
	r->off += n;
	return 0;
}

static uint32_t get_u32(struct rbuf *r) { uint32_t v = 0; get(r, &v, 4); return v; }
static uint64_t get_u64(struct rbuf *r) { uint64_t v = 0; get(r, &v, 8); return v; }

/* Length-prefixed string into a malloc'd copy (NULL for "none"). */
static int get_str(struct rbuf *r, char **out, size_t max)
{
	uint32_t n = get_u32(r);

	*out = NULL;
	if (r->bad)
		return -1;
	if (n == UINT32_MAX)
		return 0;
	if (n > max || r->n - r->off < n) {
		r->bad = 1;
		return -1;
	}
	*out = strndup((const char *)r->p + r->off, n);
	if (!*out)
		return -2;
	r->off += n;
	return 0;
}

int pat_ruleset_load(const void *blob, size_t len, struct pat_ruleset **out,
		     struct pat_error *err)
{
	struct blob_hdr h, mine;
	struct pat_ruleset *rs = NULL;
	struct rbuf r;
	uint8_t sum[16];
	int rc = PAT_EFORMAT;

	if (!blob || !out)
		return PAT_EINVAL;
	*out = NULL;
	if (sodium_init() < 0)
		return PAT_ENOMEM;
	if (len < sizeof(h)) {
		pat_error_set(err, "", 0, 0, "ruleset blob truncated: %zu bytes, header needs %zu",
			      len, sizeof(h));
		return PAT_ETRUNCATED;
	}
	memcpy(&h, blob, sizeof(h));
	if (memcmp(h.magic, PAT_BLOB_MAGIC, 8) != 0) {
		pat_error_set(err, "", 0, 0, "not a compiled smsfw ruleset (bad magic)");
		return PAT_EFORMAT;
	}
	if (h.format != PAT_BLOB_FORMAT || h.hdr_len != sizeof(h)) {
		pat_error_set(err, "", 0, 0, "ruleset format %u, this build reads %u",
			      h.format, PAT_BLOB_FORMAT);
		return PAT_EFORMAT;
	}
	if (h.payload_len != len - sizeof(h)) {
		pat_error_set(err, "", 0, 0, "ruleset blob is %zu bytes, header says %llu",
			      len, (unsigned long long)(h.payload_len + sizeof(h)));
		return h.payload_len > len - sizeof(h) ? PAT_ETRUNCATED : PAT_EFORMAT;
	}
	crypto_generichash(sum, sizeof(sum), (const unsigned char *)blob + sizeof(h),
			   h.payload_len, NULL, 0);
	if (sodium_memcmp(sum, h.checksum, sizeof(sum)) != 0) {
		pat_error_set(err, "", 0, 0, "ruleset blob checksum mismatch");
		return PAT_ECHECKSUM;
	}
	memset(&mine, 0, sizeof(mine));
	platform_fill(&mine);
	if (memcmp(mine.hs_version, h.hs_version, sizeof(h.hs_version)) != 0 ||
	    mine.hs_tune != h.hs_tune || mine.hs_cpu_features != h.hs_cpu_features) {
		pat_error_set(err, "", 0, 0,
			      "ruleset compiled for Hyperscan %.40s tune %llu features %llx; recompile here",
			      h.hs_version, (unsigned long long)h.hs_tune,
			      (unsigned long long)h.hs_cpu_features);
		return PAT_EPLATFORM;
	}

	r.p = (const unsigned char *)blob + sizeof(h);
	r.n = h.payload_len;
	r.off = 0;
	r.bad = 0;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return PAT_ENOMEM;
	rs->version = h.version;
	memcpy(rs->source_hash, h.source_hash, 32);
	rs->n_cats = get_u32(&r);
	if (rs->n_cats < PAT_CAT_BUILTIN_COUNT || rs->n_cats > PAT_MAX_CATEGORIES)
		goto bad;
	for (unsigned c = 0; c < rs->n_cats; c++) {
		char *s = NULL;
		if (get_str(&r, &s, PAT_CATEGORY_NAME_MAX) || !s) {
			free(s);
			goto bad;
		}
		snprintf(rs->cat_names[c], sizeof(rs->cat_names[c]), "%s", s);
		free(s);
		get(&r, &rs->cat_block[c], sizeof(float));
		get(&r, &rs->cat_monitor[c], sizeof(float));
	}
	get(&r, &rs->total_block, sizeof(float));
	get(&r, &rs->total_monitor, sizeof(float));
	rs->n_scope_names = get_u32(&r);
	if (r.bad || rs->n_scope_names > r.n / 4)
		goto bad;
	rs->scope_names = calloc(rs->n_scope_names ? rs->n_scope_names : 1,
				 sizeof(*rs->scope_names));
	if (!rs->scope_names)
		goto oom;
	for (uint32_t i = 0; i < rs->n_scope_names; i++) {
		char *s = NULL;
		if (get_str(&r, &s, PAT_SCOPE_NAME_MAX) || !s) {
			free(s);
			goto bad;
		}
		snprintf(rs->scope_names[i], PAT_SCOPE_NAME_MAX + 1, "%s", s);
		free(s);
	}
	uint32_t nr = get_u32(&r);
	if (r.bad || nr > r.n / 16)
		goto bad;
	rs->rules = calloc(nr ? nr : 1, sizeof(*rs->rules));
	if (!rs->rules)
		goto oom;
	for (uint32_t i = 0; i < nr; i++) {
		struct pat_rule *x = &rs->rules[i];
		x->id = get_u32(&r);
		get(&r, &x->category, 6);
		get(&r, &x->scope_n, 2);
		x->scope_off = get_u32(&r);
		get(&r, &x->weight, sizeof(float));
		rs->n_rules = i + 1;
		if (get_str(&r, &x->pattern, 1u << 20) ||
		    get_str(&r, &x->desc, 1u << 20) || get_str(&r, &x->ref, 1u << 20))
			goto bad;
		if (r.bad || x->category >= rs->n_cats || x->target >= PAT_TARGET_COUNT ||
		    x->action > PAT_ACTION_SCORE || x->scope_mode > PAT_SCOPE_EXCEPT ||
		    (uint64_t)x->scope_off + x->scope_n > rs->n_scope_names)
			goto bad;
	}
	rs->n_lits = get_u32(&r);
	if (r.bad || rs->n_lits > (r.n - r.off) / 4)
		goto bad;
	rs->lit_rule = malloc(rs->n_lits ? (size_t)rs->n_lits * 4 : 4);
	if (!rs->lit_rule)
		goto oom;
	get(&r, rs->lit_rule, (size_t)rs->n_lits * 4);
	for (uint32_t k = 0; k < rs->n_lits; k++)
		if (rs->lit_rule[k] >= rs->n_rules || !rs->rules[rs->lit_rule[k]].is_list)
			goto bad;
	for (unsigned t = 0; t < PAT_TARGET_COUNT; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			for (unsigned m = 0; m < PAT_MODE_COUNT; m++) {
				uint64_t il = get_u64(&r);
				if (r.bad || il > r.n - r.off)
					goto bad;
				if (il == 0)
					continue;
				if (hs_deserialize_database((const char *)r.p + r.off, il,
							    &rs->db[t][k][m]) != HS_SUCCESS) {
					pat_error_set(err, "", 0, 0,
						      "Hyperscan refused a database image");
					rc = PAT_EHYPERSCAN;
					goto fail;
				}
				r.off += il;
			}
	if (r.off != r.n)
		goto bad;
	rc = pat_ruleset_finish(rs);
	if (rc)
		goto fail;
	for (uint32_t i = 1; i < rs->n_rules; i++)
		if (rs->rules[rs->by_id[i]].id == rs->rules[rs->by_id[i - 1]].id)
			goto bad;
	*out = rs;
	return PAT_OK;
oom:
	rc = PAT_ENOMEM;
	goto fail;
bad:
	pat_error_set(err, "", 0, 0, "ruleset payload is malformed");
	rc = PAT_EFORMAT;
fail:
	pat_ruleset_free(rs);
	return rc;
}

int pat_ruleset_load_file(const char *path, struct pat_ruleset **out,
			  struct pat_error *err)
{
	void *d;
	size_t n;
	int rc;

	if (!path || !out)
		return PAT_EINVAL;
	rc = pat_file_read(path, &d, &n);
	if (rc) {
		pat_error_set(err, path, 0, 0, "cannot read: %s", strerror(errno));
		return rc;
	}
	rc = pat_ruleset_load(d, n, out, err);
	if (rc && err && !err->file[0])
		snprintf(err->file, sizeof(err->file), "%s", path);
	free(d);
	return rc;
}

int pat_ruleset_save_file(const struct pat_ruleset *rs, const char *path)
{
	void *blob;
	size_t len;
	char tmp[4096];
	FILE *f;
	int rc;

	if (!rs || !path)
		return PAT_EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    sizeof(tmp))
		return PAT_EINVAL;
	rc = pat_ruleset_serialize(rs, &blob, &len);
	if (rc)
		return rc;
	f = fopen(tmp, "wb");
	if (!f) {
		free(blob);
		return PAT_EIO;
	}
	if (fwrite(blob, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		free(blob);
		return PAT_EIO;
	}
	free(blob);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return PAT_EIO;
	}
	return PAT_OK;
}

uint64_t pat_ruleset_version(const struct pat_ruleset *rs)
{
	return rs ? rs->version : 0;
}

const uint8_t *pat_ruleset_source_hash(const struct pat_ruleset *rs)
{
	return rs->source_hash;
}

void pat_ruleset_source_hash_hex(const struct pat_ruleset *rs, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hx[rs->source_hash[i] >> 4];
		out[2 * i + 1] = hx[rs->source_hash[i] & 15];
	}
	out[64] = 0;
}

size_t pat_ruleset_rule_count(const struct pat_ruleset *rs)
{
	return rs ? rs->n_rules : 0;
}

unsigned pat_ruleset_category_count(const struct pat_ruleset *rs)
{
	return rs ? rs->n_cats : 0;
}

const char *pat_category_name(const struct pat_ruleset *rs, unsigned id)
{
	return rs && id < rs->n_cats ? rs->cat_names[id] : NULL;
}

int pat_category_id(const struct pat_ruleset *rs, const char *name, size_t len)
{
	if (!rs || !name)
		return -1;
	for (unsigned i = 0; i < rs->n_cats; i++)
		if (strlen(rs->cat_names[i]) == len &&
		    memcmp(rs->cat_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

double pat_category_threshold(const struct pat_ruleset *rs, unsigned id)
{
	return rs && id < rs->n_cats ? rs->cat_block[id] : 0;
}

double pat_ruleset_total_threshold(const struct pat_ruleset *rs)
{
	return rs ? rs->total_block : 0;
}

int pat_rule_info(const struct pat_ruleset *rs, uint32_t rule_id,
		  struct pat_rule_info *info)
{
	int i;

	if (!rs || !info)
		return PAT_EINVAL;
	i = pat_rule_index(rs, rule_id);
	if (i < 0)
		return PAT_EINVAL;
	const struct pat_rule *r = &rs->rules[i];
	memset(info, 0, sizeof(*info));
	info->id = r->id;
	info->category = r->category;
	info->target = (enum pat_target)r->target;
	info->action = (enum pat_action)r->action;
	info->weight = r->weight;
	info->pattern = r->pattern;
	info->is_list = r->is_list;
	info->description = r->desc;
	info->reference = r->ref;
	return PAT_OK;
}
