/*
 * cp_export.h — controld's events out for SIEM pipelines: every committed
 * standing change, violation, complaint, opt-out/opt-in and rules
 * publish/rollback (struct cp_notice) as
 *   (a) an RFC 5424 syslog message with the facts in structured data, to
 *       /dev/log, a Unix datagram socket or UDP ([controld] events_syslog);
 *   (b) one JSON object per line, appended to a file or written to a Unix
 *       socket ([controld] events_json).
 * Both describe a notice from the same field list (one description, two
 * encoders). Sending never blocks controld: a burst waits in a bounded
 * queue (syslog: 8192 messages; JSON socket: 256 KiB of whole lines) and
 * goes out as the receiver drains it; past the bound events are dropped
 * and counted. Private to controlplane/.
 */
#ifndef SMSFW_CP_EXPORT_H
#define SMSFW_CP_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "cp_engine.h"

/** SD-ID of the structured data element (RFC 5424 section 6.3.2; 32473 is
 *  the private enterprise number reserved for documentation, RFC 5612). */
#define CP_EXPORT_SD_ID "smsfw@32473"
/** APP-NAME of the syslog messages and "app" of the JSON lines. */
#define CP_EXPORT_APP "smsfw-controld"

struct cp_export;

/** Counters of an exporter (metrics). */
struct cp_export_stats {
	uint64_t syslog_sent, syslog_dropped;
	uint64_t json_sent, json_dropped;
};

/**
 * Open the exporters configured in @p c ([controld] events_syslog,
 * events_syslog_facility, events_json, events_kinds). With neither
 * destination configured *out is an exporter that does nothing.
 * A socket that is not there yet is retried later (not an error); a bad
 * destination or kind is.
 * @return CP_OK; CP_ERR_INVAL with the reason in @p err; CP_ERR_IO (the
 *         JSON file cannot be opened); CP_ERR_NOMEM.
 */
int cp_export_open(const struct smsfw_conf *c, struct cp_export **out, char *err, size_t errlen);

/** Close (NULL is fine). */
void cp_export_close(struct cp_export *x);

/** Export one notice (skipped when its kind is not in events_kinds). */
void cp_export_notice(struct cp_export *x, const struct cp_notice *n);

/** Something waits for a slow receiver (call cp_export_flush soon). */
bool cp_export_pending(const struct cp_export *x);

/** Send what waits, as far as the receivers take it now; never blocks. */
void cp_export_flush(struct cp_export *x);

/** Reopen the JSON file (after log rotation; SIGHUP). */
void cp_export_reopen(struct cp_export *x);

/** Read the counters. */
void cp_export_get_stats(const struct cp_export *x, struct cp_export_stats *st);

/**
 * Format @p n as one RFC 5424 message (no trailing newline) into @p buf.
 * @p facility is the syslog facility code (e.g. 3 = daemon).
 * @return the length (< cap), or -1 when it does not fit.
 */
int cp_export_syslog_format(const struct cp_notice *n, int facility, const char *host, int pid,
			    char *buf, size_t cap);

/**
 * Format @p n as one JSON object followed by a newline.
 * @return a malloc'd NUL-terminated line the caller frees, or NULL.
 */
char *cp_export_json_format(const struct cp_notice *n, const char *host);

/** Name of a notice kind ("standing", "violation", ...; "unknown"). */
const char *cp_notice_kind_name(unsigned kind);

#endif
