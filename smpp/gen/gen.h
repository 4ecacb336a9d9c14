/*
 * gen.h — smsfw-gen internals: message mixes, connections, statistics and
 * the two roles (ESME, SMSC). Private to smpp/gen/; the program's manual is
 * docs/man/smsfw-gen.1.
 *
 * One thread, one epoll loop per role. Every message the generator sends is
 * encoded once at start-up into a template; sending copies the template and
 * patches the sequence number (and the concatenation reference), which is
 * what lets one core drive well over 100k submit_sm per second.
 */
#ifndef SMSFW_GEN_H
#define SMSFW_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

#include "smpp.h"

/* ------------------------------------------------------------------------ */
/* Message mixes (gen_mix.c)                                                */
/* ------------------------------------------------------------------------ */

enum gen_concat {
	GEN_CONCAT_UDH8,    /* UDH IEI 0x00, 8-bit reference (default) */
	GEN_CONCAT_UDH16,   /* UDH IEI 0x08, 16-bit reference */
	GEN_CONCAT_SAR,	    /* sar_* TLVs */
	GEN_CONCAT_PAYLOAD, /* one PDU, text in message_payload */
};

/* One pre-encoded PDU of a message (a part, for concatenated ones). */
struct gen_part {
	uint8_t *pdu;
	uint32_t len;
	uint32_t ref_off; /* offset of the concatenation reference, 0: none */
	bool ref16;	  /* the reference is two octets (big-endian) */
};

struct gen_msg {
	struct gen_part *parts;
	unsigned n_parts;
};

/* A list of messages sent in order, round robin. */
struct gen_mix {
	struct gen_msg *msgs;
	unsigned n;
};

/* What every message of a mix shares. */
struct gen_mix_opts {
	uint32_t command_id;	     /* SMPP_CMD_SUBMIT_SM or SMPP_CMD_DELIVER_SM */
	uint8_t registered_delivery; /* submit_sm: ask for receipts */
};

/* One message given on the command line rather than in a file. */
struct gen_mix_line {
	const char *sender, *dest, *text, *coding, *concat;
};

/*
 * Load a mix file (format in docs/man/smsfw-gen.1, section MIX FILES):
 * SENDER TAB DESTINATION TAB TEXT [TAB DATA_CODING [TAB CONCAT]] per line.
 * Returns 0, or -1 with a message naming the line in @err.
 */
int gen_mix_load(const char *path, const struct gen_mix_opts *o, struct gen_mix *mix, char *err,
		 size_t errlen);
/* Build a one-message mix from @l. Returns 0 or -1 with @err. */
int gen_mix_one(const struct gen_mix_line *l, const struct gen_mix_opts *o, struct gen_mix *mix,
		char *err, size_t errlen);
void gen_mix_free(struct gen_mix *mix);

/* Copy @part into @out (room for part->len), with @seq and reference @ref. */
void gen_part_emit(const struct gen_part *part, uint32_t seq, uint16_t ref, uint8_t *out);

/* ------------------------------------------------------------------------ */
/* Statistics (gen_stats.c)                                                 */
/* ------------------------------------------------------------------------ */

/* Log-linear latency histogram: 64 sub-buckets per power of two (< 1.6 %). */
#define GEN_HIST_SUB	 64u
#define GEN_HIST_BUCKETS (GEN_HIST_SUB * 40u)

struct gen_hist {
	uint64_t n, sum, max;
	uint64_t b[GEN_HIST_BUCKETS];
};

void gen_hist_add(struct gen_hist *h, uint64_t ns);
/* The value (ns) below which a fraction @q of the samples lie; 0 when empty. */
uint64_t gen_hist_quantile(const struct gen_hist *h, double q);

/* command_status counts, in first-seen order. */
#define GEN_MAX_STATUS 64u

struct gen_status_count {
	uint32_t n;
	struct {
		uint32_t status;
		uint64_t count;
	} v[GEN_MAX_STATUS];
	uint64_t other; /* more distinct values than the table holds */
};

void gen_status_add(struct gen_status_count *s, uint32_t status);

struct json_t;
/* {"ESME_ROK": n, ...} (unlisted values as "0x%08x"). */
struct json_t *gen_status_json(const struct gen_status_count *s);
/* {"p50":..,"p90":..,"p99":..,"max":..,"mean":..,"samples":..} in µs. */
struct json_t *gen_hist_json(const struct gen_hist *h);
/* Text lines for the human report. */
void gen_status_print(FILE *f, const char *label, const struct gen_status_count *s);
void gen_hist_print(FILE *f, const char *label, const struct gen_hist *h);

/* ------------------------------------------------------------------------ */
/* Connections (gen_conn.c)                                                 */
/* ------------------------------------------------------------------------ */

#define GEN_RBUF (1u << 20)

struct gen_conn {
	int fd;
	bool dead;    /* read/write error or EOF: close at the next turn */
	bool eof;     /* the peer closed */
	bool pollout; /* EPOLLOUT currently requested */
	uint32_t seq; /* last sequence_number used */
	struct smpp_framer fr;
	uint8_t *rbuf;
	uint8_t *wbuf;
	size_t wlen, wcap;
};

int gen_conn_init(struct gen_conn *c, int fd);
void gen_conn_free(struct gen_conn *c);
/* Room for @n more octets at the end of the write buffer (NULL: no memory). */
uint8_t *gen_conn_reserve(struct gen_conn *c, size_t n);
static inline void gen_conn_commit(struct gen_conn *c, size_t n)
{
	c->wlen += n;
}
/* The sequence number the next PDU will take (1 after 0x7FFFFFFF). */
static inline uint32_t gen_conn_peek_seq(const struct gen_conn *c)
{
	return c->seq >= 0x7FFFFFFFu ? 1 : c->seq + 1;
}
static inline uint32_t gen_conn_next_seq(struct gen_conn *c)
{
	c->seq = gen_conn_peek_seq(c);
	return c->seq;
}
/* Write what the kernel takes. 0, or -1 on a socket error (c->dead set). */
int gen_conn_flush(struct gen_conn *c);
/* Read what is there into the framer. >0 octets, 0 nothing more now, -1 EOF/error. */
int gen_conn_fill(struct gen_conn *c);
/* The next whole PDU read so far, into @v: true, or false when there is none
 * (a framing error is said on stderr and sets c->dead). */
bool gen_conn_pop(struct gen_conn *c, struct smpp_view *v);
/* Stop polling @c on @epfd and close its socket (fd -1; buffers kept). */
void gen_conn_close(struct gen_conn *c, int epfd);
/* Queue @part with the next sequence number and concatenation reference
 * @ref. false (nothing queued, seq unchanged) when the write buffer is full. */
bool gen_conn_send_part(struct gen_conn *c, const struct gen_part *part, uint16_t ref);
/* Encode a header-only PDU onto the write buffer. */
int gen_conn_send_empty(struct gen_conn *c, uint32_t cmd, uint32_t seq, uint32_t status);
/* Update EPOLLOUT interest after a flush. */
void gen_conn_poll_update(struct gen_conn *c, int epfd, void *ptr);

/* "HOST:PORT", "[v6]:PORT" or "PORT" (host defaults to @defhost). */
int gen_parse_addr(const char *s, const char *defhost, char *host, size_t hostlen, char *port,
		   size_t portlen);
struct addrinfo;
/* Resolve @addr (as gen_parse_addr) for a TCP socket with getaddrinfo @flags.
 * The list to freeaddrinfo, or NULL with @err ("bad address '...' @form"). */
struct addrinfo *gen_resolve(const char *addr, const char *defhost, const char *form, int flags,
			     char *err, size_t errlen);

uint64_t gen_now_ns(void);

/* A record line: KIND SYSTEM_ID SOURCE DEST DATA_CODING CONCAT TEXT. */
void gen_record(FILE *f, const char *kind, struct smpp_view system_id, const struct smpp_pdu *pdu);

/* Signals: set by SIGINT/SIGTERM, polled by the loops. */
extern volatile sig_atomic_t gen_stop;

/* ------------------------------------------------------------------------ */
/* Roles                                                                    */
/* ------------------------------------------------------------------------ */

struct gen_opts {
	/* both */
	const char *addr;
	bool json;
	bool quiet;
	uint64_t limit;	 /* -n: messages (PDUs) */
	double duration; /* -t: seconds, 0: none */
	double drain;	 /* seconds to wait for answers after sending */
	unsigned window;
	const char *system_id, *password, *system_type;
	const char *record; /* file for received messages */
	double enquire;	    /* enquire_link interval, 0: never */
	/* esme */
	uint32_t bind_cmd;
	unsigned connections;
	double rate; /* submits per second, 0: as fast as the window allows */
	bool dlr;    /* registered_delivery=1 and wait for receipts */
	const char *mix_file;
	struct gen_mix_line line;
	double connect_wait; /* retry connecting this long */
	/* smsc */
	const char *mo_file;
	uint64_t mo_count; /* MO messages per session, 0: each line once */
	bool no_receipts;
	uint32_t reject_every;
	uint32_t reject_status;
	uint32_t bind_status;
	bool once;
	const char *port_file;
};

int gen_esme_run(const struct gen_opts *o);
int gen_smsc_run(const struct gen_opts *o);

#endif /* SMSFW_GEN_H */
