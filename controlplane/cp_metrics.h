/*
 * cp_metrics.h — controld's Prometheus metrics: counters fed by the event
 * socket and the engine's notices, rendered in the Prometheus text
 * exposition format (version 0.0.4) and served on GET /metrics by
 * libmicrohttpd running inside controld's poll loop (no extra thread: the
 * handler reads the engine and the store from the one controld thread).
 * Private to controlplane/. Metric names are documented in README.md.
 */
#ifndef SMSFW_CP_METRICS_H
#define SMSFW_CP_METRICS_H

#include <stddef.h>

#include <jansson.h>

#include "cp_engine.h"
#include "cp_export.h"

/** What controld itself knows at render time. */
struct cp_metrics_src {
	struct cp_engine *eng;
	uint64_t started; /**< unix seconds */
	unsigned dp_connected;
	uint64_t dp_connects, acks_sent, gens_sent, event_batches;
	struct cp_export_stats exp;
};

/** Fills @p src when a scrape comes in. */
typedef void (*cp_metrics_fill_fn)(void *arg, struct cp_metrics_src *src);

struct cp_metrics;

/**
 * Create the metrics state and, when @p port is not 0, listen for HTTP on
 * @p addr (an IPv4 or IPv6 literal) : @p port.
 * @return CP_OK; CP_ERR_INVAL (bad address, message in @p err); CP_ERR_IO
 *         (cannot listen, message in @p err); CP_ERR_NOMEM.
 */
int cp_metrics_open(const char *addr, unsigned port, cp_metrics_fill_fn fill, void *arg,
		    struct cp_metrics **out, char *err, size_t errlen);
void cp_metrics_close(struct cp_metrics *m);

/** File descriptor to poll for input (-1 when HTTP is off). */
int cp_metrics_fd(const struct cp_metrics *m);
/** Longest wait before cp_metrics_run must be called, ms (-1 = none). */
int cp_metrics_timeout_ms(const struct cp_metrics *m);
/** Serve what is ready (accept, read, answer); never blocks. */
void cp_metrics_run(struct cp_metrics *m);

/** A dataplane said HELLO; @p generation is the store's (its first load
 *  is not a propagation). */
void cp_metrics_dp_hello(struct cp_metrics *m, uint64_t instance, uint32_t pid, uint32_t workers,
			 uint64_t generation);
/** A dataplane connection closed. */
void cp_metrics_dp_gone(struct cp_metrics *m, uint64_t instance);
/** A STATS or STATS_EXT record from dataplane @p instance. */
void cp_metrics_dp_stats(struct cp_metrics *m, uint64_t instance, const struct cp_event *ev);
/** Generation @p gen was committed at unix ms @p commit_ms (@p standing:
 *  it carries a standing change). */
void cp_metrics_generation(struct cp_metrics *m, uint64_t gen, uint64_t commit_ms, bool standing);
/** Count a committed notice. */
void cp_metrics_notice(struct cp_metrics *m, const struct cp_notice *n);

/**
 * Per-port counters (rte_eth_stats) of the dataplanes connected now, from
 * their last STATS_EXT: an array of {"port", "rx_packets", "tx_packets",
 * "rx_bytes", "tx_bytes", "rx_missed", "rx_errors", "tx_errors", "age_ms",
 * "instance"} objects (a counter the dataplane did not send is absent).
 * @return a new JSON array (empty when no dataplane is connected), or NULL
 *         when out of memory.
 */
json_t *cp_metrics_ports_json(const struct cp_metrics *m);

/**
 * Render the exposition text.
 * @return a malloc'd NUL-terminated text (*len bytes) or NULL (no memory).
 */
char *cp_metrics_render(struct cp_metrics *m, size_t *len);

#endif
