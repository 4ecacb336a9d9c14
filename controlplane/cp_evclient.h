/**
 * @file cp_evclient.h
 * @brief The dataplane's side of controld's event socket, ready to use from
 *        a main lcore: non-blocking, no threads, no DPDK.
 *
 * Observations are batched and sent when the socket takes them; when it
 * does not (controld slow or away) they are dropped and counted. Facts get a
 * sequence number, are appended to an on-disk spool (bounded) before they are
 * sent, and stay there until controld acknowledges them; after a reconnect or
 * a dataplane restart the unacknowledged ones are sent again (controld skips
 * what it already committed, so each fact is ingested exactly once). The
 * spool file also keeps the instance id, so sequences survive restarts.
 *
 * Typical loop on the main lcore:
 * @code
 *   cp_evclient_poll(c, &gen);           // connect, read ACK / GENERATION
 *   if (gen != seen) reload_snapshots();
 *   cp_evclient_observe(c, &ev);         // per message, may drop
 *   cp_evclient_fact(c, &fact);          // violations, opt-outs: kept
 *   cp_evclient_flush(c);                // send what is batched
 *   poll(cp_evclient_fd(c), POLLIN, ...) // wait without spinning
 * @endcode
 */
#ifndef SMSFW_CP_EVCLIENT_H
#define SMSFW_CP_EVCLIENT_H

#include "cp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cp_evclient;

/** Configuration; strings are copied. */
struct cp_evclient_cfg {
	const char *socket_path;  /**< controld's event socket */
	const char *spool_path;	  /**< spool file (created; directory must exist) */
	uint64_t spool_max_bytes; /**< facts refused beyond this (0 = 64 MiB) */
	uint32_t workers;	  /**< reported in HELLO */
	uint32_t reconnect_ms;	  /**< wait between connection attempts (0 = 500) */
};

/** Counters. */
struct cp_evclient_stats {
	uint64_t obs_sent, obs_dropped;
	uint64_t facts_spooled, facts_acked, facts_refused;
	uint64_t spool_bytes; /**< bytes of unacknowledged facts */
	uint64_t connects, disconnects;
	uint64_t instance;   /**< this spool's instance id */
	uint64_t next_seq;   /**< sequence the next fact gets */
	uint64_t acked_seq;  /**< highest acknowledged */
	uint64_t generation; /**< last generation announced by controld */
	bool connected;
};

/**
 * Open the client: load or create the spool (instance id, unacknowledged
 * facts). Does not connect yet; cp_evclient_poll does.
 * A record torn by a crash mid-append is cut off with what follows it; a
 * file that is not a spool at all is started afresh (new instance).
 * @return CP_OK; CP_ERR_IO (spool file); CP_ERR_NOMEM; CP_ERR_INVAL.
 */
int cp_evclient_open(const struct cp_evclient_cfg *cfg, struct cp_evclient **out);

/** Flush what can be sent, close the socket and the spool (NULL is fine). */
void cp_evclient_close(struct cp_evclient *c);

/** The socket to poll for input (-1 while disconnected). */
int cp_evclient_fd(const struct cp_evclient *c);

/** Milliseconds until cp_evclient_poll wants to run again: 0 now, > 0 a
 *  reconnect or resend is due then, -1 only when cp_evclient_fd is readable. */
int cp_evclient_timeout_ms(const struct cp_evclient *c);

/**
 * Connect when due, read ACK and GENERATION records, trim the spool, resend
 * unacknowledged facts after a (re)connect. Never blocks.
 * @param generation receives the last generation controld announced (0
 *        before the first); a change means "reload from the store".
 * @return CP_OK (connected or not); CP_ERR_IO on a spool write error.
 */
int cp_evclient_poll(struct cp_evclient *c, uint64_t *generation);

/**
 * Queue an observation (OBSERVATION, STATS or STATS_EXT). Dropped, and
 * counted, when disconnected or when the socket is backed up.
 * @return CP_OK (queued or dropped); CP_ERR_INVAL (bad record).
 */
int cp_evclient_observe(struct cp_evclient *c, const struct cp_event *ev);

/**
 * Spool a fact (VIOLATION, OPTOUT, OPTIN): ev->seq is assigned here, the
 * record is written to the spool file, then sent when possible.
 * @return CP_OK; CP_ERR_TOOBIG when the spool is full (the fact is refused:
 *         say so loudly); CP_ERR_IO (spool write); CP_ERR_INVAL.
 */
int cp_evclient_fact(struct cp_evclient *c, struct cp_event *ev);

/** Send what is batched as far as the socket takes it. @return CP_OK. */
int cp_evclient_flush(struct cp_evclient *c);

/** Copy the counters. */
void cp_evclient_stats(const struct cp_evclient *c, struct cp_evclient_stats *st);

#ifdef __cplusplus
}
#endif
#endif
