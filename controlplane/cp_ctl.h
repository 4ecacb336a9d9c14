/*
 * cp_ctl.h — controld's CLI request handlers: one JSON request in, one JSON
 * answer out. Private to controlplane/.
 *
 * Request:  {"cmd": "customers.show", "args": {...}}
 * Answer:   {"ok": true, "result": ...}
 *        or {"ok": false, "error": CODE, "message": TEXT}
 * CODE is one of "usage", "not_found", "refused", "exists", "internal";
 * smsfwctl maps them onto its exit codes.
 */
#ifndef SMSFW_CP_CTL_H
#define SMSFW_CP_CTL_H

#include <jansson.h>

#include "cp_engine.h"
#include "cp_metrics.h"
#include "cp_rules.h"

struct cp_ctl_ctx {
	struct cp_engine *eng;
	const struct smsfw_conf *conf;
	const struct cp_trusted_key *keys;
	size_t n_keys;
	const char *actor; /**< user name of the peer */
	const char *lmdb_path;
	uint64_t started;      /**< unix seconds */
	unsigned dp_connected; /**< dataplanes connected now (after HELLO) */
	uint64_t dp_connects, acks_sent, gens_sent;
	const struct cp_metrics *met; /**< per-port counters of the dataplanes (may be NULL) */
};

/** Build an error answer. */
json_t *cp_ctl_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Handle one request; never NULL. */
json_t *cp_ctl_dispatch(struct cp_ctl_ctx *ctx, json_t *req);

#endif
