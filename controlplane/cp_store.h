/*
 * cp_store.h — controld's side of the store: the single writer.
 * Private to controlplane/ (controld, smsfwctl's offline paths, tests);
 * the dataplane uses only the read API in cp.h.
 */
#ifndef SMSFW_CP_STORE_H
#define SMSFW_CP_STORE_H

#include <lmdb.h>

#include "cp.h"

/** Database handles, in the order of cp_db_names[]. */
enum cp_db {
	CP_DBI_CUSTOMERS,
	CP_DBI_VIOLATIONS,
	CP_DBI_COMPLAINTS,
	CP_DBI_MESSAGES,
	CP_DBI_EVIDENCE,
	CP_DBI_OPTOUTS,
	CP_DBI_RULESETS,
	CP_DBI_HISTORY,
	CP_DBI_META,
	CP_DBI_VIOL_IDX,
	CP_DBI_COMPL_IDX,
	CP_DBI_MSG_IDX,
	CP_DBI_COUNT
};

extern const char *const cp_db_names[CP_DBI_COUNT];

/** The writer's environment. One per process; controld is the only writer. */
struct cp_store {
	MDB_env *env;
	MDB_dbi dbi[CP_DBI_COUNT];
	size_t map_size;
	uint64_t generation; /**< last committed generation */
	bool gen_bumped;     /**< set by cp_store_bump_generation in this txn */
	unsigned map_grows;  /**< how many times MDB_MAP_FULL grew the map */
	char dir[256];
};

/**
 * Open (creating when absent) the store in @p dir for writing. An older
 * schema is migrated in place; a newer one is refused with a message in
 * @p err naming both versions.
 * @return CP_OK; CP_ERR_SCHEMA; CP_ERR_IO (directory); CP_ERR_STORE.
 */
int cp_store_open(const char *dir, size_t map_size, struct cp_store **out, char *err,
		  size_t errlen);
void cp_store_close(struct cp_store *s);

/** Work done inside one write transaction. Return CP_OK to commit, or a
 *  cp_status / MDB error (> 0) to abort. It may run more than once (after
 *  the map grew), so it must not change state outside the transaction
 *  until cp_store_write returns. */
typedef int (*cp_store_fn)(struct cp_store *s, MDB_txn *txn, void *arg);

/**
 * Run @p fn in a write transaction and commit durably (fsync). MDB_MAP_FULL
 * from fn or from the commit doubles the map and runs fn again.
 * @return fn's error, CP_ERR_STORE (with the LMDB text in err when given) or
 *         CP_OK once committed.
 */
int cp_store_write(struct cp_store *s, cp_store_fn fn, void *arg);

/** Bump the generation counter inside @p txn (the dataplane must look). */
int cp_store_bump_generation(struct cp_store *s, MDB_txn *txn);

/** Next free u64 id in a database keyed by big-endian u64 (1 when empty). */
int cp_store_next_id(struct cp_store *s, MDB_txn *txn, enum cp_db db, uint64_t *id);

/** Big-endian u64 key helpers. */
void cp_key_u64(uint8_t out[8], uint64_t v);
uint64_t cp_key_get_u64(const void *p);

/** Read a meta u64 (0 when absent). */
int cp_meta_get_u64(struct cp_store *s, MDB_txn *txn, const char *key, uint64_t *v);
int cp_meta_put_u64(struct cp_store *s, MDB_txn *txn, const char *key, uint64_t v);

/**
 * Copy a customer record value into @p out, upgrading an older, shorter
 * record (new fields zero) — shared by reader and writer.
 * @return CP_OK, CP_ERR_SCHEMA (newer), CP_ERR_FORMAT (truncated).
 */
int cp_customer_from_val(const MDB_val *v, struct cp_customer_rec *out);

/** Fill a fresh customer with the defaults of @p tmpl (or zeros). */
void cp_customer_init(struct cp_customer_rec *c, const char *id, size_t len, uint64_t now);

/** Put a customer record (key = its system_id). */
int cp_customer_put(struct cp_store *s, MDB_txn *txn, const struct cp_customer_rec *c);
/** Get a customer by id in a write or read txn. */
int cp_customer_get(struct cp_store *s, MDB_txn *txn, const char *id, struct cp_customer_rec *out);

/** Map an LMDB return code onto cp_status. */
int cp_status_from_mdb(int rc);

/** Copy a C string into a fixed NUL-padded field (truncating). */
void cp_field_set(char *dst, size_t cap, const char *src, size_t len);
/** Length of a fixed NUL-padded field. */
size_t cp_field_len(const char *f, size_t cap);

#endif
