/* dp_sessions.h — SMPP sessions remembered across a dataplane restart, and
 * the policy for mid-stream sessions of unknown identity.
 *
 * The main lcore writes the bound sessions of every worker (flow key,
 * system_id, bind kind, interface_version, bind time, last activity) to a
 * small file in the state directory once a second and at clean shutdown
 * (temp file + rename, versioned header, checksum, bounded size). On start
 * the file is loaded into a read-only table; a flow picked up mid-stream
 * whose key is in it gets its session identity back (sessions_restored).
 * The bind's password is never stored.
 *
 * File layout (host byte order: the file is read back by the same host):
 *   header  struct dp_sessfile_hdr (64 bytes)
 *   records count × struct dp_sess_rec (88 bytes each)
 * checksum: dp_hash64 over the header with `sum` zeroed, chained over the
 * records.
 */
#ifndef SMSFW_DP_SESSIONS_H
#define SMSFW_DP_SESSIONS_H

#include "dp.h"

#define DP_SESSFILE_MAGIC "SMSFWSES"
#define DP_SESSFILE_VERSION 1u
/** Most sessions one file holds (88 bytes each: ≤ 5.5 MiB); more are not
 *  remembered (counted in not_saved). */
#define DP_SESSFILE_MAX 65536u

/** One remembered session. */
struct dp_sess_rec {
	struct dp_flow_key key;           /**< as the flow table keys the flow */
	char system_id[DP_SYSTEM_ID_MAX]; /**< NUL-terminated printable ASCII */
	uint32_t bind_cmd;                /**< bind_transmitter / _receiver / _transceiver */
	uint8_t version;                  /**< interface_version of the bind */
	uint8_t esme_dir;                 /**< enum dp_dir of the ESME in the key */
	uint8_t pad[2];
	uint64_t bind_ms;                 /**< when the bind was accepted (Unix ms) */
	uint64_t last_ms;                 /**< last packet of the flow (Unix ms) */
	uint64_t reserved;
};
_Static_assert(sizeof(struct dp_sess_rec) == 88, "record layout is the file format");

/** File header. */
struct dp_sessfile_hdr {
	char magic[8];        /**< DP_SESSFILE_MAGIC */
	uint32_t version;     /**< DP_SESSFILE_VERSION */
	uint32_t rec_size;    /**< sizeof(struct dp_sess_rec) */
	uint32_t count;       /**< records that follow */
	uint32_t flags;       /**< 0 */
	uint64_t written_ms;  /**< Unix ms of the write */
	uint64_t sum;         /**< checksum (see above) */
	uint8_t reserved[24];
};
_Static_assert(sizeof(struct dp_sessfile_hdr) == 64, "header layout is the file format");

/** What a load found (for the log and the counters). */
struct dp_sessfile_info {
	uint32_t records;     /**< records in the file */
	uint32_t loaded;      /**< fresh records in the table */
	uint32_t stale;       /**< records older than the bound: ignored */
	uint32_t invalid;     /**< records with a bad system_id or key: ignored */
	uint64_t written_ms;  /**< the header's write time */
	char why[160];        /**< why a file was refused (empty when accepted) */
};

/** The read-only table of remembered sessions (sorted by key). */
struct dp_sess_table;

/**
 * Write @p n records to @p path atomically: a temporary file in the same
 * directory, fsync, rename over @p path.
 * @return DP_OK; DP_EINVAL (n > DP_SESSFILE_MAX, NULL path); DP_EIO (the
 *         temporary file could not be written or renamed: errno kept).
 */
int dp_sessfile_write(const char *path, const struct dp_sess_rec *r, uint32_t n,
		      uint64_t now_ms);

/**
 * Load @p path. Records whose last activity is older than @p max_age_ms at
 * @p now_ms are ignored (a flow idle that long would have expired); so is
 * the whole file when it was written that long ago.
 * @return DP_OK with *out set (may hold 0 sessions); DP_ENOENT when there is
 *         no file (*out NULL); DP_EINVAL when the file is refused — bad magic,
 *         another version or record size, truncated, longer than its header
 *         says, over DP_SESSFILE_MAX records, or a checksum mismatch — with
 *         info->why saying which (*out NULL); DP_EIO on a read error;
 *         DP_ENOMEM.
 */
int dp_sessfile_load(const char *path, uint64_t now_ms, uint64_t max_age_ms,
		     struct dp_sess_table **out, struct dp_sessfile_info *info);

/** Free a table (NULL is fine). */
void dp_sess_table_free(struct dp_sess_table *t);
/** @return the sessions in the table. */
uint32_t dp_sess_table_count(const struct dp_sess_table *t);
/** @return the index of the session with flow key @p k, or -1. */
int32_t dp_sess_table_find(const struct dp_sess_table *t, const struct dp_flow_key *k);
/** @return record @p i (i < count). */
const struct dp_sess_rec *dp_sess_table_rec(const struct dp_sess_table *t, uint32_t i);
/** Mark record @p i as given to a flow (a worker; the main lcore reads it). */
void dp_sess_table_take(struct dp_sess_table *t, uint32_t i);
/** @return true once record @p i was given to a flow. */
bool dp_sess_table_taken(const struct dp_sess_table *t, uint32_t i);

/**
 * Copy the bound SMPP sessions of a flow table into @p out (at most @p cap;
 * *more counts those left out). Reads flows a worker may be changing: a
 * session is taken only when two copies of its fields agree and it is bound,
 * so a torn read is skipped (it is written again a second later).
 * @return the number of records written.
 */
uint32_t dp_sess_collect(struct dp_flow_table *ft, struct dp_sess_rec *out, uint32_t cap,
			 uint64_t *more);

/**
 * Give the engine the table of remembered sessions (NULL: none). The table
 * must outlive the engine's use of it; the engine marks the records it gives
 * to flows (dp_sess_table_take).
 */
void dp_engine_set_restored(struct dp_engine *e, struct dp_sess_table *t);

/* Engine internals (dp_engine.c). */
/** A flow's first frame, not a SYN: its session back from the table. */
void dp_sess_restore(struct dp_engine *e, struct dp_flow *f);
/** unknown_session = reset: RST toward both ends of a flow whose submit
 *  came without a known bind (built like the restart probe's resets). */
void dp_sess_reset_unknown(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
			   const struct dp_frame *fr, const uint8_t *p, uint32_t len);

#endif
