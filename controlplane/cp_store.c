/*
 * cp_store.c — the LMDB store: shared record helpers, the read API of cp.h
 * (dataplane, CLI) and the single writer used by controld.
 *
 * Readers begin a transaction per call and end it before returning, so no
 * reader pins old pages across a wait (a pinned reader would make the file
 * grow without bound under a busy writer).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_store.h"

const char *const cp_db_names[CP_DBI_COUNT] = {
    CP_DB_CUSTOMERS, CP_DB_VIOLATIONS, CP_DB_COMPLAINTS, CP_DB_MESSAGES,
    CP_DB_EVIDENCE,  CP_DB_OPTOUTS,    CP_DB_RULESETS,	 CP_DB_HISTORY,
    CP_DB_META,	     CP_DB_VIOL_IDX,   CP_DB_COMPL_IDX,	 CP_DB_MSG_IDX,
};

const char *cp_strerror(int status)
{
	switch (status) {
	case CP_OK:
		return "ok";
	case CP_AGAIN:
		return "need more bytes";
	case CP_ERR_INVAL:
		return "invalid argument";
	case CP_ERR_NOMEM:
		return "out of memory";
	case CP_ERR_IO:
		return "system call failed";
	case CP_ERR_STORE:
		return "LMDB store error";
	case CP_ERR_NOTFOUND:
		return "not found";
	case CP_ERR_SCHEMA:
		return "store written by a newer smsfw (schema too new)";
	case CP_ERR_FORMAT:
		return "malformed record or event";
	case CP_ERR_CHECKSUM:
		return "event batch checksum mismatch";
	case CP_ERR_VERSION:
		return "unknown event format version";
	case CP_ERR_TOOBIG:
		return "does not fit";
	case CP_ERR_REFUSED:
		return "refused by policy";
	case CP_ERR_EXISTS:
		return "already exists";
	case CP_ERR_NOSTORE:
		return "no store (controld has not created it yet)";
	default:
		return "unknown status";
	}
}

static const char *const cat_names[CP_CAT_COUNT] = {
    "none", "spam",   "fraud",	   "harassment", "spoofing",	  "flood",
    "bulk", "optout", "suspended", "bind",	 "uninspectable", "complaints",
};

const char *cp_category_name(unsigned cat)
{
	return cat < CP_CAT_COUNT ? cat_names[cat] : "unknown";
}

int cp_category_parse(const char *name)
{
	for (unsigned i = 0; i < CP_CAT_COUNT; i++)
		if (strcmp(name, cat_names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const standing_names[] = {"active", "warned", "suspended", "terminated"};

const char *cp_standing_name(unsigned s)
{
	return s <= CP_STANDING_TERMINATED ? standing_names[s] : "unknown";
}

int cp_standing_parse(const char *name)
{
	for (unsigned i = 0; i <= CP_STANDING_TERMINATED; i++)
		if (strcmp(name, standing_names[i]) == 0)
			return (int)i;
	return -1;
}

int cp_status_from_mdb(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return CP_OK;
	case MDB_NOTFOUND:
		return CP_ERR_NOTFOUND;
	case MDB_KEYEXIST:
		return CP_ERR_EXISTS;
	case ENOMEM:
		return CP_ERR_NOMEM;
	default:
		return rc < 0 && rc > -100 ? rc : CP_ERR_STORE;
	}
}

void cp_key_u64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t cp_key_get_u64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

void cp_field_set(char *dst, size_t cap, const char *src, size_t len)
{
	memset(dst, 0, cap);
	if (len > cap)
		len = cap;
	if (len)
		memcpy(dst, src, len);
}

size_t cp_field_len(const char *f, size_t cap)
{
	return strnlen(f, cap);
}

/* Customer records grow by appending fields: an older, shorter record is
 * copied and zero-extended, which is the migration for every schema so far. */
#define CUST_MIN_SIZE offsetof(struct cp_customer_rec, system_id) + CP_SYSTEM_ID_MAX

int cp_customer_from_val(const MDB_val *v, struct cp_customer_rec *out)
{
	struct cp_customer_rec hdr;

	if (v->mv_size < 4)
		return CP_ERR_FORMAT;
	memcpy(&hdr, v->mv_data, 4);
	if (hdr.schema > CP_SCHEMA_VERSION)
		return CP_ERR_SCHEMA;
	if (v->mv_size < CUST_MIN_SIZE)
		return CP_ERR_FORMAT;
	memset(out, 0, sizeof(*out));
	memcpy(out, v->mv_data, v->mv_size < sizeof(*out) ? v->mv_size : sizeof(*out));
	out->schema = CP_SCHEMA_VERSION;
	out->size = sizeof(*out);
	if (out->n_senders > CP_MAX_SENDERS)
		out->n_senders = CP_MAX_SENDERS;
	if (out->n_ipranges > CP_MAX_IPRANGES)
		out->n_ipranges = CP_MAX_IPRANGES;
	if (out->n_exceptions > CP_MAX_EXCEPTIONS)
		out->n_exceptions = CP_MAX_EXCEPTIONS;
	return CP_OK;
}

void cp_customer_init(struct cp_customer_rec *c, const char *id, size_t len, uint64_t now)
{
	memset(c, 0, sizeof(*c));
	c->schema = CP_SCHEMA_VERSION;
	c->size = sizeof(*c);
	c->standing = CP_STANDING_ACTIVE;
	c->pending_standing = CP_STANDING_ACTIVE;
	c->created = now;
	c->standing_since = now;
	cp_field_set(c->system_id, sizeof(c->system_id), id, len);
}

/* ------------------------------------------------------------------------- */
/* Reader                                                                    */
/* ------------------------------------------------------------------------- */

struct cp_reader {
	MDB_env *env;
	MDB_dbi dbi[CP_DBI_COUNT];
};

static int store_exists(const char *dir)
{
	char path[512];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, CP_STORE_FILE) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Begin a read-only transaction; when the writer grew the map since we
 * mapped it, adopt the new size and try again. */
static int reader_txn(struct cp_reader *r, MDB_txn **txn)
{
	int rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, txn);

	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(r->env, 0);
		rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, txn);
	}
	return rc == 0 ? CP_OK : CP_ERR_STORE;
}

static int meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v)
{
	MDB_val k = {strlen(key), (void *)key}, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return CP_OK;
	if (rc)
		return CP_ERR_STORE;
	if (d.mv_size == 4) {
		uint32_t x;
		memcpy(&x, d.mv_data, 4);
		*v = x;
	} else if (d.mv_size == 8) {
		memcpy(v, d.mv_data, 8);
	} else {
		return CP_ERR_FORMAT;
	}
	return CP_OK;
}

int cp_reader_open(const char *dir, struct cp_reader **out)
{
	struct cp_reader *r;
	MDB_txn *txn = NULL;
	uint64_t schema;
	int rc, st = CP_ERR_STORE;

	if (!dir || !out)
		return CP_ERR_INVAL;
	*out = NULL;
	if (!store_exists(dir))
		return CP_ERR_NOSTORE;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CP_ERR_NOMEM;
	if (mdb_env_create(&r->env))
		goto fail_free;
	mdb_env_set_maxdbs(r->env, CP_DB_MAX);
	mdb_env_set_maxreaders(r->env, 126);
	if (mdb_env_open(r->env, dir, MDB_RDONLY | MDB_NOTLS, 0644))
		goto fail_env;
	if (reader_txn(r, &txn))
		goto fail_env;
	for (int i = 0; i < CP_DBI_COUNT; i++) {
		rc = mdb_dbi_open(txn, cp_db_names[i], 0, &r->dbi[i]);
		if (rc) {
			st = rc == MDB_NOTFOUND ? CP_ERR_NOSTORE : CP_ERR_STORE;
			goto fail_txn;
		}
	}
	st = meta_u64(txn, r->dbi[CP_DBI_META], CP_META_SCHEMA, &schema);
	if (st)
		goto fail_txn;
	if (schema > CP_SCHEMA_VERSION) {
		st = CP_ERR_SCHEMA;
		goto fail_txn;
	}
	/* Committing a read txn keeps the dbi handles opened inside it. */
	if (mdb_txn_commit(txn)) {
		st = CP_ERR_STORE;
		goto fail_env;
	}
	*out = r;
	return CP_OK;

fail_txn:
	mdb_txn_abort(txn);
fail_env:
	mdb_env_close(r->env);
fail_free:
	free(r);
	return st;
}

void cp_reader_close(struct cp_reader *r)
{
	if (!r)
		return;
	mdb_env_close(r->env);
	free(r);
}

int cp_reader_generation(struct cp_reader *r, uint64_t *gen)
{
	MDB_txn *txn;
	int st;

	if (!r || !gen)
		return CP_ERR_INVAL;
	st = reader_txn(r, &txn);
	if (st)
		return st;
	st = meta_u64(txn, r->dbi[CP_DBI_META], CP_META_GENERATION, gen);
	mdb_txn_abort(txn);
	return st;
}

/* One row of a reader walk: 0 to go on, else the status to stop with. */
struct reader_row {
	int (*row)(const MDB_val *k, const MDB_val *v, struct reader_row *w);
	union {
		cp_customer_fn customer;
		cp_optout_fn optout;
	} fn;
	void *arg;
};

/* A user callback's stop value as a status: > 0 as is, < 0 CP_ERR_INVAL. */
static int stop_status(int stop)
{
	return stop > 0 ? stop : stop < 0 ? CP_ERR_INVAL : 0;
}

/* Walk database @db in key order within one read transaction, the
 * generation (when @gen) read in the same snapshot. */
static int reader_walk(struct cp_reader *r, enum cp_db db, uint64_t *gen, struct reader_row *w)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int st, rc;

	st = reader_txn(r, &txn);
	if (st)
		return st;
	if (gen && (st = meta_u64(txn, r->dbi[CP_DBI_META], CP_META_GENERATION, gen)))
		goto out;
	if (mdb_cursor_open(txn, r->dbi[db], &cur)) {
		st = CP_ERR_STORE;
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if ((st = w->row(&k, &v, w)))
			break;
	if (rc && rc != MDB_NOTFOUND)
		st = CP_ERR_STORE;
	mdb_cursor_close(cur);
out:
	mdb_txn_abort(txn);
	return st;
}

static int customer_row(const MDB_val *k, const MDB_val *v, struct reader_row *w)
{
	struct cp_customer_rec rec;
	int st = cp_customer_from_val(v, &rec);

	(void)k;
	return st ? st : stop_status(w->fn.customer(&rec, w->arg));
}

int cp_reader_customers_each(struct cp_reader *r, cp_customer_fn fn, void *arg, uint64_t *gen)
{
	struct reader_row w = {.row = customer_row, .fn.customer = fn, .arg = arg};

	if (!r || !fn)
		return CP_ERR_INVAL;
	return reader_walk(r, CP_DBI_CUSTOMERS, gen, &w);
}

int cp_reader_customer_get(struct cp_reader *r, const char *id, size_t len,
			   struct cp_customer_rec *out)
{
	MDB_txn *txn;
	MDB_val k = {len, (void *)id}, v;
	int st, rc;

	if (!r || !id || !out || len == 0 || len >= CP_SYSTEM_ID_MAX)
		return CP_ERR_INVAL;
	st = reader_txn(r, &txn);
	if (st)
		return st;
	rc = mdb_get(txn, r->dbi[CP_DBI_CUSTOMERS], &k, &v);
	if (rc == MDB_NOTFOUND)
		st = CP_ERR_NOTFOUND;
	else if (rc)
		st = CP_ERR_STORE;
	else
		st = cp_customer_from_val(&v, out);
	mdb_txn_abort(txn);
	return st;
}

static int optout_row(const MDB_val *k, const MDB_val *v, struct reader_row *w)
{
	struct cp_optout_key key;
	struct cp_optout_rec rec;

	if (k->mv_size != sizeof(key) || v->mv_size < sizeof(rec))
		return CP_ERR_FORMAT;
	memcpy(&key, k->mv_data, sizeof(key));
	memcpy(&rec, v->mv_data, sizeof(rec));
	if (rec.schema > CP_SCHEMA_VERSION)
		return CP_ERR_SCHEMA;
	return stop_status(w->fn.optout(&key, &rec, w->arg));
}

int cp_reader_optouts_each(struct cp_reader *r, cp_optout_fn fn, void *arg, uint64_t *gen)
{
	struct reader_row w = {.row = optout_row, .fn.optout = fn, .arg = arg};

	if (!r || !fn)
		return CP_ERR_INVAL;
	return reader_walk(r, CP_DBI_OPTOUTS, gen, &w);
}

int cp_reader_ruleset_load(struct cp_reader *r, struct cp_ruleset_rec *hdr, void **blob,
			   size_t *blob_len)
{
	MDB_txn *txn;
	MDB_val k, v;
	uint8_t key[8];
	uint64_t ver;
	struct cp_ruleset_rec h;
	int st, rc;

	if (!r || !blob || !blob_len)
		return CP_ERR_INVAL;
	*blob = NULL;
	*blob_len = 0;
	st = reader_txn(r, &txn);
	if (st)
		return st;
	st = meta_u64(txn, r->dbi[CP_DBI_META], CP_META_RULESET, &ver);
	if (st)
		goto out;
	if (ver == 0) {
		st = CP_ERR_NOTFOUND;
		goto out;
	}
	cp_key_u64(key, ver);
	k.mv_size = 8;
	k.mv_data = key;
	rc = mdb_get(txn, r->dbi[CP_DBI_RULESETS], &k, &v);
	if (rc) {
		st = rc == MDB_NOTFOUND ? CP_ERR_NOTFOUND : CP_ERR_STORE;
		goto out;
	}
	if (v.mv_size < sizeof(h)) {
		st = CP_ERR_FORMAT;
		goto out;
	}
	memcpy(&h, v.mv_data, sizeof(h));
	if (h.schema > CP_SCHEMA_VERSION) {
		st = CP_ERR_SCHEMA;
		goto out;
	}
	if ((uint64_t)h.blob_len + h.src_len + sizeof(h) > v.mv_size) {
		st = CP_ERR_FORMAT;
		goto out;
	}
	*blob = malloc(h.blob_len ? h.blob_len : 1);
	if (!*blob) {
		st = CP_ERR_NOMEM;
		goto out;
	}
	memcpy(*blob, (const uint8_t *)v.mv_data + sizeof(h), h.blob_len);
	*blob_len = h.blob_len;
	if (hdr)
		*hdr = h;
out:
	mdb_txn_abort(txn);
	return st;
}

/* ------------------------------------------------------------------------- */
/* Writer                                                                    */
/* ------------------------------------------------------------------------- */

int cp_meta_get_u64(struct cp_store *s, MDB_txn *txn, const char *key, uint64_t *v)
{
	return meta_u64(txn, s->dbi[CP_DBI_META], key, v);
}

int cp_meta_put_u64(struct cp_store *s, MDB_txn *txn, const char *key, uint64_t v)
{
	MDB_val k = {strlen(key), (void *)key}, d = {8, &v};
	return mdb_put(txn, s->dbi[CP_DBI_META], &k, &d, 0);
}

int cp_store_bump_generation(struct cp_store *s, MDB_txn *txn)
{
	uint64_t g;
	int st = cp_meta_get_u64(s, txn, CP_META_GENERATION, &g);

	if (st)
		return st;
	s->gen_bumped = true;
	return cp_meta_put_u64(s, txn, CP_META_GENERATION, g + 1);
}

int cp_store_next_id(struct cp_store *s, MDB_txn *txn, enum cp_db db, uint64_t *id)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (mdb_cursor_open(txn, s->dbi[db], &cur))
		return CP_ERR_STORE;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*id = 1;
		return CP_OK;
	}
	if (rc || k.mv_size != 8)
		return CP_ERR_STORE;
	*id = cp_key_get_u64(k.mv_data) + 1;
	return CP_OK;
}

int cp_customer_put(struct cp_store *s, MDB_txn *txn, const struct cp_customer_rec *c)
{
	MDB_val k = {cp_field_len(c->system_id, CP_SYSTEM_ID_MAX), (void *)c->system_id};
	MDB_val v = {sizeof(*c), (void *)c};

	if (k.mv_size == 0 || k.mv_size >= CP_SYSTEM_ID_MAX)
		return CP_ERR_INVAL;
	return mdb_put(txn, s->dbi[CP_DBI_CUSTOMERS], &k, &v, 0);
}

int cp_customer_get(struct cp_store *s, MDB_txn *txn, const char *id, struct cp_customer_rec *out)
{
	MDB_val k = {strlen(id), (void *)id}, v;
	int rc;

	if (k.mv_size == 0 || k.mv_size >= CP_SYSTEM_ID_MAX)
		return CP_ERR_INVAL;
	rc = mdb_get(txn, s->dbi[CP_DBI_CUSTOMERS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return CP_ERR_NOTFOUND;
	if (rc)
		return CP_ERR_STORE;
	return cp_customer_from_val(&v, out);
}

/* Migrate an older store: every customer record is rewritten at the current
 * size and schema (new fields zero), then meta "schema" is set. Runs in the
 * same transaction that records the new schema, so a crash leaves either the
 * old store or the migrated one. */
static int migrate(struct cp_store *s, MDB_txn *txn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, st = CP_OK;

	(void)arg;
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_CUSTOMERS], &cur))
		return CP_ERR_STORE;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct cp_customer_rec c;
		MDB_val nv = {sizeof(c), &c};
		st = cp_customer_from_val(&v, &c);
		if (st)
			break;
		if (c.pending_standing == 0)
			c.pending_standing = c.standing;
		rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT);
		if (rc) {
			st = rc;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (st)
		return st;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	rc = cp_meta_put_u64(s, txn, CP_META_SCHEMA, CP_SCHEMA_VERSION);
	if (rc)
		return rc;
	return cp_store_bump_generation(s, txn);
}

int cp_store_write(struct cp_store *s, cp_store_fn fn, void *arg)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		MDB_txn *txn;
		uint64_t gen;
		int rc = mdb_txn_begin(s->env, NULL, 0, &txn);

		if (rc)
			return CP_ERR_STORE;
		s->gen_bumped = false;
		rc = fn(s, txn, arg);
		if (rc == 0 && s->gen_bumped)
			rc = cp_meta_get_u64(s, txn, CP_META_GENERATION, &gen);
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
			if (rc == 0) {
				if (s->gen_bumped)
					s->generation = gen;
				return CP_OK;
			}
		} else {
			mdb_txn_abort(txn);
		}
		if (rc != MDB_MAP_FULL)
			return rc < 0 ? rc : cp_status_from_mdb(rc);
		/* Grow: no transaction is open in this process now, which
		 * mdb_env_set_mapsize requires. Readers adopt the new size on
		 * their next transaction (MDB_MAP_RESIZED). */
		s->map_size *= 2;
		if (mdb_env_set_mapsize(s->env, s->map_size))
			return CP_ERR_STORE;
		s->map_grows++;
	}
	return CP_ERR_STORE;
}

static int mkdir_p(const char *dir)
{
	char tmp[256];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0750) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (mkdir(tmp, 0750) && errno != EEXIST)
		return -1;
	return 0;
}

static int open_dbs(struct cp_store *s, MDB_txn *txn, void *arg)
{
	(void)arg;
	for (int i = 0; i < CP_DBI_COUNT; i++) {
		int rc = mdb_dbi_open(txn, cp_db_names[i], MDB_CREATE, &s->dbi[i]);
		if (rc)
			return rc;
	}
	return CP_OK;
}

int cp_store_open(const char *dir, size_t map_size, struct cp_store **out, char *err, size_t errlen)
{
	struct cp_store *s;
	MDB_txn *txn;
	MDB_envinfo info;
	uint64_t schema = 0, gen = 0;
	bool fresh;
	int rc, st = CP_ERR_STORE;

	*out = NULL;
	if (strlen(dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "state directory path too long");
		return CP_ERR_INVAL;
	}
	if (mkdir_p(dir)) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return CP_ERR_IO;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return CP_ERR_NOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->map_size = map_size ? map_size : (size_t)64 << 20;
	fresh = !store_exists(dir);
	if ((rc = mdb_env_create(&s->env)))
		goto fail_mdb;
	mdb_env_set_maxdbs(s->env, CP_DB_MAX);
	mdb_env_set_maxreaders(s->env, 126);
	if ((rc = mdb_env_set_mapsize(s->env, s->map_size)))
		goto fail_env;
	/* 0660: readers write their slot in lock.mdb, so a dataplane that
	 * dropped root needs group write on it (same group as controld). */
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0660)))
		goto fail_env;
	/* An existing file may already be larger than what we asked for. */
	if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
		s->map_size = info.me_mapsize;

	/* Check the schema before creating anything in a store we may refuse. */
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		goto fail_env;
	if (mdb_dbi_open(txn, CP_DB_META, 0, &s->dbi[CP_DBI_META]) == 0)
		meta_u64(txn, s->dbi[CP_DBI_META], CP_META_SCHEMA, &schema);
	mdb_txn_abort(txn);
	if (schema > CP_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "store %s has schema %llu, this smsfw understands up to %u: "
			 "refusing to open it (upgrade smsfw)",
			 dir, (unsigned long long)schema, CP_SCHEMA_VERSION);
		st = CP_ERR_SCHEMA;
		goto fail_env;
	}
	if ((rc = cp_store_write(s, open_dbs, NULL)))
		goto fail_env_st;
	if (fresh) {
		rc = mdb_txn_begin(s->env, NULL, 0, &txn);
		if (rc)
			goto fail_env;
		rc = cp_meta_put_u64(s, txn, CP_META_SCHEMA, CP_SCHEMA_VERSION);
		if (!rc)
			rc = cp_meta_put_u64(s, txn, CP_META_GENERATION, 1);
		if (rc) {
			mdb_txn_abort(txn);
			goto fail_env;
		}
		if ((rc = mdb_txn_commit(txn)))
			goto fail_env;
	} else if (schema < CP_SCHEMA_VERSION) {
		if ((rc = cp_store_write(s, migrate, NULL)))
			goto fail_env_st;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		goto fail_env;
	meta_u64(txn, s->dbi[CP_DBI_META], CP_META_GENERATION, &gen);
	mdb_txn_abort(txn);
	s->generation = gen;
	*out = s;
	return CP_OK;

fail_env_st:
	snprintf(err, errlen, "store %s: %s", dir, cp_strerror(rc));
	st = rc;
	mdb_env_close(s->env);
	free(s);
	return st;
fail_env:
	mdb_env_close(s->env);
fail_mdb:
	if (st != CP_ERR_SCHEMA)
		snprintf(err, errlen, "store %s: %s", dir, mdb_strerror(rc));
	free(s);
	return st;
}

void cp_store_close(struct cp_store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	free(s);
}
