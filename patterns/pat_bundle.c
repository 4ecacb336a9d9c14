/*
 * pat_bundle.c — signed rule bundles.
 *
 * Layout: "SMSFWBD1", u32 count, count × (u32 name length, name, u64 data
 * length, data), then a 64-byte Ed25519 detached signature over every byte
 * before it. Nothing but the magic is read before the signature holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pat_priv.h"

#define SIG_BYTES crypto_sign_BYTES
#define NAME_MAX_LEN 255

_Static_assert(PAT_BUNDLE_PUBLICKEY_BYTES == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(PAT_BUNDLE_SECRETKEY_BYTES == crypto_sign_SECRETKEYBYTES, "sk size");

int pat_bundle_keygen(uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES],
		      uint8_t sk[PAT_BUNDLE_SECRETKEY_BYTES])
{
	if (!pk || !sk)
		return PAT_EINVAL;
	if (sodium_init() < 0)
		return PAT_ENOMEM;
	crypto_sign_keypair(pk, sk);
	return PAT_OK;
}

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == '\\' || (unsigned char)s[i] < 0x20)
			return 0;
	return 1;
}

int pat_bundle_create(const struct pat_source *srcs, size_t n,
		      const uint8_t sk[PAT_BUNDLE_SECRETKEY_BYTES],
		      void **out, size_t *out_len)
{
	size_t total = 8 + 4 + SIG_BYTES, o = 0;
	unsigned char *b;
	uint32_t cnt = (uint32_t)n;

	if (!srcs || !sk || !out || !out_len || n > UINT32_MAX)
		return PAT_EINVAL;
	if (sodium_init() < 0)
		return PAT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!srcs[i].name || !name_ok(srcs[i].name, strlen(srcs[i].name)))
			return PAT_EINVAL;
		total += 4 + strlen(srcs[i].name) + 8 + srcs[i].len;
	}
	b = malloc(total);
	if (!b)
		return PAT_ENOMEM;
	memcpy(b, PAT_BUNDLE_MAGIC, 8);
	o = 8;
	memcpy(b + o, &cnt, 4);
	o += 4;
	for (size_t i = 0; i < n; i++) {
		uint32_t nl = (uint32_t)strlen(srcs[i].name);
		uint64_t dl = srcs[i].len;
		memcpy(b + o, &nl, 4);
		o += 4;
		memcpy(b + o, srcs[i].name, nl);
		o += nl;
		memcpy(b + o, &dl, 8);
		o += 8;
		if (dl)
			memcpy(b + o, srcs[i].data, dl);
		o += dl;
	}
	crypto_sign_detached(b + o, NULL, b, o, sk);
	*out = b;
	*out_len = total;
	return PAT_OK;
}

int pat_bundle_open(const void *bundle, size_t len,
		    const uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES],
		    struct pat_bundle_contents *out, struct pat_error *err)
{
	const unsigned char *b = bundle;
	size_t body, o = 12;
	uint32_t cnt;

	if (!bundle || !pk || !out)
		return PAT_EINVAL;
	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return PAT_ENOMEM;
	if (len < 8 || memcmp(b, PAT_BUNDLE_MAGIC, 8) != 0) {
		pat_error_set(err, "", 0, 0, len < 8 ? "bundle truncated: no header"
				: "not an smsfw rule bundle (bad magic)");
		return len < 8 ? PAT_ETRUNCATED : PAT_EFORMAT;
	}
	if (len < 8 + 4 + SIG_BYTES) {
		pat_error_set(err, "", 0, 0, "bundle truncated: %zu bytes, no room for a signature", len);
		return PAT_ETRUNCATED;
	}
	body = len - SIG_BYTES;
	if (crypto_sign_verify_detached(b + body, b, body, pk) != 0) {
		pat_error_set(err, "", 0, 0,
			      "bundle signature does not verify with this public key: the bundle was changed or truncated, or signed with another key");
		return PAT_ESIGNATURE;
	}
	memcpy(&cnt, b + 8, 4);
	if (cnt > body / 12) {
		pat_error_set(err, "", 0, 0, "bundle lists %u files, too many for its size", cnt);
		return PAT_EFORMAT;
	}
	out->srcs = calloc(cnt ? cnt : 1, sizeof(*out->srcs));
	if (!out->srcs)
		return PAT_ENOMEM;
	/* Names are NUL-terminated copies kept right after the array would
	 * need a second allocation; instead each name is duplicated. */
	for (uint32_t i = 0; i < cnt; i++) {
		uint32_t nl;
		uint64_t dl;
		if (body - o < 4)
			goto bad;
		memcpy(&nl, b + o, 4);
		o += 4;
		if (nl > body - o || !name_ok((const char *)b + o, nl))
			goto bad;
		char *name = strndup((const char *)b + o, nl);
		if (!name) {
			pat_bundle_contents_free(out);
			return PAT_ENOMEM;
		}
		out->srcs[i].name = name;
		out->n = i + 1;
		o += nl;
		if (body - o < 8)
			goto bad;
		memcpy(&dl, b + o, 8);
		o += 8;
		if (dl > body - o)
			goto bad;
		out->srcs[i].data = b + o;
		out->srcs[i].len = dl;
		o += dl;
	}
	if (o != body)
		goto bad;
	return PAT_OK;
bad:
	pat_error_set(err, "", 0, 0, "bundle layout is malformed");
	pat_bundle_contents_free(out);
	return PAT_EFORMAT;
}

void pat_bundle_contents_free(struct pat_bundle_contents *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free((void *)c->srcs[i].name);
	free(c->srcs);
	c->srcs = NULL;
	c->n = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pat_key_load(const char *path, uint8_t *key, size_t nbytes)
{
	void *d;
	size_t n, k = 0;
	const char *s;
	int rc;

	if (!path || !key)
		return PAT_EINVAL;
	rc = pat_file_read(path, &d, &n);
	if (rc)
		return rc;
	s = d;
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n != 2 * nbytes) {
		free(d);
		return PAT_EFORMAT;
	}
	for (k = 0; k < nbytes; k++) {
		int hi = hexval(s[2 * k]), lo = hexval(s[2 * k + 1]);
		if (hi < 0 || lo < 0) {
			sodium_memzero(d, n);
			free(d);
			return PAT_EFORMAT;
		}
		key[k] = (uint8_t)(hi << 4 | lo);
	}
	sodium_memzero(d, n);
	free(d);
	return PAT_OK;
}

int pat_ruleset_compile_bundle(const char *bundle_path,
			       const uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES],
			       const struct pat_compile_opts *opts,
			       struct pat_ruleset **out, struct pat_error *err)
{
	struct pat_bundle_contents c;
	void *d;
	size_t n;
	int rc;

	if (!bundle_path || !pk || !out)
		return PAT_EINVAL;
	rc = pat_file_read(bundle_path, &d, &n);
	if (rc) {
		pat_error_set(err, bundle_path, 0, 0, "cannot read: %s", strerror(errno));
		return rc;
	}
	rc = pat_bundle_open(d, n, pk, &c, err);
	if (rc == PAT_OK) {
		rc = pat_ruleset_compile_sources(c.srcs, c.n, opts, out, err);
		pat_bundle_contents_free(&c);
	} else if (err) {
		snprintf(err->file, sizeof(err->file), "%s", bundle_path);
	}
	free(d);
	return rc;
}
