/*
 * cp_rules.c — rule publishing (see cp_rules.h). The compile happens before
 * any write: a bundle that fails anywhere leaves the store untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pat.h>

#include "cp_rules.h"

int cp_rules_load_keys(const struct smsfw_conf *c, struct cp_trusted_key *keys, size_t cap,
		       char *err, size_t errlen)
{
	size_t n = smsfw_conf_list_len(c, SMSFW_CONF_controld_trusted_keys);
	size_t got = 0;

	for (size_t i = 0; i < n && got < cap; i++) {
		const char *path = smsfw_conf_list_item(c, SMSFW_CONF_controld_trusted_keys, i);
		const char *base = strrchr(path, '/');
		size_t bl;
		int rc = pat_key_load(path, keys[got].pk, PAT_BUNDLE_PUBLICKEY_BYTES);
		if (rc) {
			snprintf(err, errlen, "trusted key %s: %s", path, pat_strerror(rc));
			return CP_ERR_IO;
		}
		base = base ? base + 1 : path;
		bl = strlen(base);
		if (bl > 4 && strcmp(base + bl - 4, ".pub") == 0)
			bl -= 4;
		cp_field_set(keys[got].name, sizeof(keys[got].name), base,
			     bl < sizeof(keys[got].name) ? bl : sizeof(keys[got].name) - 1);
		got++;
	}
	return (int)got;
}

static int read_file(const char *path, void **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	*buf = malloc((size_t)n + 1);
	if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		free(*buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}

/* Parse a VERSION file's bytes: decimal digits, optional trailing newline. */
static int parse_version(const void *data, size_t len, uint64_t *v)
{
	const char *p = data;
	uint64_t x = 0;
	size_t i = 0;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' '))
		len--;
	if (len == 0 || len > 19)
		return -1;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	if (x == 0)
		return -1;
	*v = x;
	return 0;
}

struct store_op {
	struct cp_ruleset_rec hdr;
	const void *blob;
	size_t blob_len;
	const void *src;
	size_t src_len;
	struct cp_engine *e;
	const char *signer_name, *sha256;
	bool allow_downgrade;
	uint64_t previous;
	const char *actor;
	char *err;
	size_t errlen;
};

static int history_note(struct cp_store *s, MDB_txn *txn, uint64_t now, const char *actor,
			const char *reason)
{
	struct cp_history_rec h;
	uint8_t key[8];
	uint64_t id;
	MDB_val k = {8, key}, v = {sizeof(h), &h};
	int rc = cp_store_next_id(s, txn, CP_DBI_HISTORY, &id);

	if (rc)
		return rc;
	memset(&h, 0, sizeof(h));
	h.schema = CP_SCHEMA_VERSION;
	h.source = CP_SRC_OPERATOR;
	h.time = now;
	memcpy(h.customer, "#rules", 6);
	cp_field_set(h.actor, sizeof(h.actor), actor, strnlen(actor, sizeof(h.actor) - 1));
	cp_field_set(h.reason, sizeof(h.reason), reason, strnlen(reason, sizeof(h.reason) - 1));
	cp_key_u64(key, id);
	return mdb_put(txn, s->dbi[CP_DBI_HISTORY], &k, &v, 0);
}

static int store_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct store_op *o = arg;
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	char note[CP_REASON_MAX];
	int rc;

	if ((rc = cp_meta_get_u64(s, txn, CP_META_RULESET, &o->previous)))
		return rc;
	if (o->hdr.version <= o->previous && !o->allow_downgrade) {
		snprintf(o->err, o->errlen,
			 "version %llu is not newer than the running version %llu "
			 "(replayed or old bundle; --allow-downgrade to force)",
			 (unsigned long long)o->hdr.version, (unsigned long long)o->previous);
		return CP_ERR_REFUSED;
	}
	cp_key_u64(key, o->hdr.version);
	v.mv_size = sizeof(o->hdr) + o->blob_len + o->src_len;
	if ((rc = mdb_put(txn, s->dbi[CP_DBI_RULESETS], &k, &v, MDB_RESERVE)))
		return rc;
	memcpy(v.mv_data, &o->hdr, sizeof(o->hdr));
	memcpy((uint8_t *)v.mv_data + sizeof(o->hdr), o->blob, o->blob_len);
	if (o->src_len)
		memcpy((uint8_t *)v.mv_data + sizeof(o->hdr) + o->blob_len, o->src, o->src_len);
	if ((rc = cp_meta_put_u64(s, txn, CP_META_RULESET, o->hdr.version)))
		return rc;
	snprintf(note, sizeof(note), "published ruleset %llu (was %llu)%s",
		 (unsigned long long)o->hdr.version, (unsigned long long)o->previous,
		 o->hdr.version <= o->previous ? " as an allowed downgrade" : "");
	if ((rc = history_note(s, txn, o->hdr.published, o->actor, note)))
		return rc;
	struct cp_notice n = {.kind = CP_NOTICE_RULES,
			      .source = CP_SRC_OPERATOR,
			      .time_ms = o->hdr.published * 1000,
			      .version = o->hdr.version,
			      .previous = o->previous,
			      .n_rules = o->hdr.n_rules};
	snprintf(n.signer, sizeof(n.signer), "%s", o->signer_name);
	snprintf(n.sha256, sizeof(n.sha256), "%s", o->sha256);
	snprintf(n.actor, sizeof(n.actor), "%s", o->actor);
	snprintf(n.reason, sizeof(n.reason), "%s", note);
	cp_engine_notice(o->e, &n);
	return cp_store_bump_generation(s, txn);
}

static int newest_version(struct cp_store *s, uint64_t *v)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*v = 0;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return CP_ERR_STORE;
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_RULESETS], &cur) == 0) {
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
		if (rc == 0 && k.mv_size == 8)
			*v = cp_key_get_u64(k.mv_data);
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return CP_OK;
}

static void pat_err_text(const struct pat_error *pe, int rc, char *err, size_t errlen)
{
	if (pe->file[0] && pe->line)
		snprintf(err, errlen, "%s:%u: %s", pe->file, pe->line, pe->message);
	else if (pe->message[0])
		snprintf(err, errlen, "%s", pe->message);
	else
		snprintf(err, errlen, "%s", pat_strerror(rc));
}

int cp_rules_publish(struct cp_engine *e, const char *path, const struct cp_trusted_key *keys,
		     size_t n_keys, bool allow_downgrade, const char *actor,
		     struct cp_publish_result *res, char *err, size_t errlen)
{
	struct stat st;
	struct pat_ruleset *rs = NULL;
	struct pat_error pe;
	struct pat_compile_opts opts = {0};
	struct store_op op = {0};
	void *bundle = NULL, *blob = NULL;
	size_t bundle_len = 0, blob_len = 0;
	const char *signer = "";
	char sha_hex[65];
	uint64_t version = 0;
	int rc, st_rc = CP_OK;

	memset(res, 0, sizeof(*res));
	memset(&pe, 0, sizeof(pe));
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CP_ERR_IO;
	}
	if (S_ISDIR(st.st_mode)) {
		char vpath[512];
		void *vbuf;
		size_t vlen;
		if (n_keys) {
			snprintf(
			    err, errlen,
			    "%s is an unsigned rule directory and trusted keys are configured: "
			    "publish a signed bundle",
			    path);
			return CP_ERR_REFUSED;
		}
		snprintf(vpath, sizeof(vpath), "%s/%s", path, CP_RULES_VERSION_FILE);
		if (read_file(vpath, &vbuf, &vlen) == 0) {
			int bad = parse_version(vbuf, vlen, &version);
			free(vbuf);
			if (bad) {
				snprintf(err, errlen, "%s:1: not a positive decimal version",
					 vpath);
				return CP_ERR_FORMAT;
			}
		} else {
			newest_version(e->store, &version);
			version++;
		}
		opts.version = version;
		rc = pat_ruleset_compile_dir(path, &opts, &rs, &pe);
		if (rc) {
			pat_err_text(&pe, rc, err, errlen);
			return rc == PAT_EIO ? CP_ERR_IO : CP_ERR_FORMAT;
		}
	} else {
		struct pat_bundle_contents bc = {0};
		size_t i;
		if (n_keys == 0) {
			snprintf(
			    err, errlen,
			    "%s: no trusted keys configured ([controld] trusted_keys) to verify "
			    "a signed bundle; publish a rule directory instead",
			    path);
			return CP_ERR_REFUSED;
		}
		if (read_file(path, &bundle, &bundle_len)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return CP_ERR_IO;
		}
		rc = PAT_ESIGNATURE;
		for (i = 0; i < n_keys; i++) {
			rc = pat_bundle_open(bundle, bundle_len, keys[i].pk, &bc, &pe);
			if (rc != PAT_ESIGNATURE)
				break;
		}
		if (rc) {
			if (rc == PAT_ESIGNATURE)
				snprintf(err, errlen,
					 "%s: unsigned or signed by an unknown key (none of %zu "
					 "trusted keys verifies it)",
					 path, n_keys);
			else
				snprintf(err, errlen, "%s: %s", path, pat_strerror(rc));
			st_rc = CP_ERR_REFUSED;
			goto out;
		}
		signer = keys[i].name;
		for (size_t j = 0; j < bc.n; j++)
			if (strcmp(bc.srcs[j].name, CP_RULES_VERSION_FILE) == 0 &&
			    parse_version(bc.srcs[j].data, bc.srcs[j].len, &version) == 0)
				break;
		if (version == 0) {
			pat_bundle_contents_free(&bc);
			snprintf(err, errlen,
				 "%s: bundle carries no signed %s file (a decimal number)", path,
				 CP_RULES_VERSION_FILE);
			st_rc = CP_ERR_REFUSED;
			goto out;
		}
		opts.version = version;
		rc = pat_ruleset_compile_sources(bc.srcs, bc.n, &opts, &rs, &pe);
		pat_bundle_contents_free(&bc);
		if (rc) {
			pat_err_text(&pe, rc, err, errlen);
			st_rc = CP_ERR_FORMAT;
			goto out;
		}
	}
	rc = pat_ruleset_serialize(rs, &blob, &blob_len);
	if (rc) {
		snprintf(err, errlen, "serialise: %s", pat_strerror(rc));
		st_rc = CP_ERR_FORMAT;
		goto out;
	}
	if (blob_len + bundle_len > 0x7fffffffu) {
		snprintf(err, errlen, "ruleset too large to store");
		st_rc = CP_ERR_TOOBIG;
		goto out;
	}
	op.hdr.schema = CP_SCHEMA_VERSION;
	op.hdr.blob_len = (uint32_t)blob_len;
	op.hdr.src_len = (uint32_t)bundle_len;
	op.hdr.n_rules = (uint32_t)pat_ruleset_rule_count(rs);
	op.hdr.version = version;
	op.hdr.published = cp_engine_now(e);
	memcpy(op.hdr.src_sha256, pat_ruleset_source_hash(rs), 32);
	cp_field_set(op.hdr.signer, sizeof(op.hdr.signer), signer, strlen(signer));
	op.blob = blob;
	op.blob_len = blob_len;
	op.src = bundle;
	op.src_len = bundle_len;
	op.allow_downgrade = allow_downgrade;
	op.actor = actor && *actor ? actor : "operator";
	op.err = err;
	op.errlen = errlen;
	op.e = e;
	op.signer_name = signer;
	pat_ruleset_source_hash_hex(rs, sha_hex);
	op.sha256 = sha_hex;
	rc = cp_engine_write(e, store_fn, &op);
	if (rc) {
		if (rc != CP_ERR_REFUSED)
			snprintf(err, errlen, "store: %s", cp_strerror(rc));
		st_rc = rc;
		goto out;
	}
	res->version = version;
	res->previous = op.previous;
	res->n_rules = op.hdr.n_rules;
	snprintf(res->signer, sizeof(res->signer), "%s", signer);
	pat_ruleset_source_hash_hex(rs, res->sha256);
out:
	pat_ruleset_free(rs);
	free(blob);
	free(bundle);
	return st_rc;
}

struct rollback_op {
	struct cp_engine *e;
	uint64_t version, now;
	const char *actor, *reason;
};

static int rollback_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct rollback_op *o = arg;
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	uint64_t prev;
	char note[CP_REASON_MAX];
	int rc;

	cp_key_u64(key, o->version);
	rc = mdb_get(txn, s->dbi[CP_DBI_RULESETS], &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? CP_ERR_NOTFOUND : rc;
	if ((rc = cp_meta_get_u64(s, txn, CP_META_RULESET, &prev)))
		return rc;
	if ((rc = cp_meta_put_u64(s, txn, CP_META_RULESET, o->version)))
		return rc;
	snprintf(note, sizeof(note), "rollback from %llu to %llu: %s", (unsigned long long)prev,
		 (unsigned long long)o->version, o->reason);
	if ((rc = history_note(s, txn, o->now, o->actor, note)))
		return rc;
	struct cp_ruleset_rec h;
	struct cp_notice n = {.kind = CP_NOTICE_RULES,
			      .source = CP_SRC_OPERATOR,
			      .rollback = true,
			      .time_ms = o->now * 1000,
			      .version = o->version,
			      .previous = prev};
	if (v.mv_size >= sizeof(h)) {
		memcpy(&h, v.mv_data, sizeof(h));
		n.n_rules = h.n_rules;
		snprintf(n.signer, sizeof(n.signer), "%.*s",
			 (int)cp_field_len(h.signer, sizeof(h.signer)), h.signer);
		for (int i = 0; i < 32; i++)
			snprintf(n.sha256 + 2 * i, 3, "%02x", h.src_sha256[i]);
	}
	snprintf(n.actor, sizeof(n.actor), "%s", o->actor);
	snprintf(n.reason, sizeof(n.reason), "%s", o->reason);
	cp_engine_notice(o->e, &n);
	return cp_store_bump_generation(s, txn);
}

int cp_rules_rollback(struct cp_engine *e, uint64_t version, const char *actor, const char *reason)
{
	struct rollback_op o = {e, version, cp_engine_now(e), actor && *actor ? actor : "operator",
				reason};

	if (!reason || !*reason)
		return CP_ERR_INVAL;
	return cp_engine_write(e, rollback_fn, &o);
}
