/* dp_app.h — the smsfw-dataplane program: state shared by the main lcore
 * (dp_main.c, dp_snapshot.c), the workers (dp_worker.c) and the telemetry
 * callbacks (dp_telemetry.c). Not part of the core library. */
#ifndef SMSFW_DP_APP_H
#define SMSFW_DP_APP_H

#include <pthread.h>
#include <stdio.h>

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dp.h"

#define DP_MAX_PAIRS 8
#define DP_BURST 32

struct smsfw_conf;
struct cp_reader;

struct dp_app {
	struct dp_settings set;
	unsigned n_workers;
	unsigned worker_lcore[DP_MAX_WORKERS];
	struct dp_engine *eng[DP_MAX_WORKERS];
	struct rte_ring *ring[DP_MAX_WORKERS];
	uint16_t n_pairs;
	uint16_t pair[DP_MAX_PAIRS][2]; /**< [esme side, smsc side] port ids */
	struct rte_mempool *mp;
	struct rte_rcu_qsbr *qsv;
	struct dp_snapshot *snap;       /**< published (read by workers with acquire) */
	struct dp_snapshot *retired;    /**< waiting for the grace period */
	uint64_t retire_token;
	volatile int quit;
	volatile int reload;
	uint8_t monitor;                /**< run-time mode, read by the workers (relaxed) */
	char config_path[512];          /**< reread on SIGHUP for the mode */
	int reload_store;               /**< controld said GENERATION: look at the store now */
	char event_socket[256];
	char state_dir[256];
	uint64_t spool_max_bytes;
	uint32_t idle_sleep_us;
	uint64_t tsc_hz, tsc0, unix_ms0;
	/* events */
	FILE *events;
	uint64_t events_written;
	/* sources of snapshots */
	char rules[512];
	char lmdb[512];
	struct cp_reader *reader;
	uint64_t lmdb_gen;
	uint64_t generation;
	int store_rs_known;             /**< the running ruleset came from the store */
	uint64_t store_rs_version;
	uint8_t store_rs_sha[32];
	uint64_t ruleset_version;
	char ruleset_hash[65];
	size_t ruleset_rules;
	uint64_t swaps, swap_failures;
	struct dp_rules *zombies[8];    /**< replaced rulesets messages in flight still use */
	/* telemetry reads the snapshot under this lock (main frees under it) */
	pthread_mutex_t lock;
	uint64_t worker_loops[DP_MAX_WORKERS];
	uint64_t worker_idle_sleeps[DP_MAX_WORKERS];
	uint64_t tx_drops[DP_MAX_WORKERS];
};

extern struct dp_app dp_app;

/** Milliseconds since the Unix epoch, from the TSC (cheap, for workers). */
static inline uint64_t dp_app_now_ms(const struct dp_app *a)
{
	return a->unix_ms0 + (rte_get_tsc_cycles() - a->tsc0) * 1000 / a->tsc_hz;
}

/* dp_worker.c */
int dp_worker_main(void *arg);

/* dp_snapshot.c */
int dp_snapshot_build(struct dp_app *a, struct dp_snapshot **out, char *err, size_t errlen);
void dp_snapshot_free(struct dp_app *a, struct dp_snapshot *s);
/** Build and publish a new snapshot; the old one is retired by RCU. */
int dp_snapshot_publish(struct dp_app *a);
/** Free the retired snapshot once every worker passed a quiescent state. */
void dp_snapshot_reap(struct dp_app *a, bool wait);

/* dp_main.c: the session file read at start (sessions remembered across a
 * restart): sessions loaded from it, and 1 when it was refused (damaged). */
void dp_main_sessions_counters(uint64_t *loaded, uint64_t *file_refused);
/* The calling thread's effective capabilities as a bit mask (bit n is
 * capability n); UINT64_MAX if they cannot be read. */
uint64_t dp_main_cap_effective(void);

/* dp_ctl.c: the link to smsfw-controld */
int dp_ctl_init(const char *event_socket, const char *state_dir, uint64_t spool_max);
void dp_ctl_event(const struct dp_event *e);
void dp_ctl_poll(struct dp_app *a, const struct dp_counters *totals);
void dp_ctl_counters(uint64_t *obs_sent, uint64_t *obs_dropped, uint64_t *facts_spooled,
		     uint64_t *facts_acked, uint64_t *facts_refused, int *connected);
void dp_ctl_close(void);

/* dp_stats.c: per-customer and per-rule counters (main lcore, from events) */
struct dp_cust_stats {
	char system_id[DP_SYSTEM_ID_MAX];
	uint8_t used;
	uint64_t submits, binds, optouts;
	uint64_t verdicts[3];
};
struct dp_rule_stats {
	char rule[DP_RULE_ID_MAX];
	uint8_t used, category;
	uint64_t hits;
};
/** Count one drained event (takes a->lock). */
void dp_stats_event(struct dp_app *a, const struct dp_event *e);
/** Visit the tables (caller holds a->lock). */
void dp_stats_each(void (*cf)(void *arg, const struct dp_cust_stats *c),
		   void (*rf)(void *arg, const struct dp_rule_stats *r), void *arg);
void dp_stats_overflow(uint64_t *customers, uint64_t *rules);

/* dp_telemetry.c */
int dp_telemetry_register(struct dp_app *a);

#endif
