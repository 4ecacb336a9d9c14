/* dp_worker.c — the worker lcore loop: rx → dp_engine_frame → tx.
 *
 * Worker i polls queue i of every port. For each bridge pair, frames from
 * the ESME side go out of the SMSC side and the other way round; symmetric
 * RSS (or the kernel's symmetric fanout hash for af_packet) puts both
 * directions of a flow on the same queue index, hence on the same worker.
 * The loop never blocks, allocates or locks; when idle it backs off with
 * short sleeps if idle_sleep_us is set (lab, CI), else it busy-polls.
 */
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp_app.h"

/* Longest frame judged: a 65,535-byte IP packet behind Ethernet and two
 * VLAN tags. */
#define DP_FRAME_MAX (65535u + 22u)

struct worker_sink {
	struct rte_ring *ring;
	struct dp_counters *c;
	unsigned reserve; /**< ring slots kept free for facts */
};

/* Observations may be dropped (counted); facts take the reserved slots and
 * are counted loudly if even those are gone. */
static void ring_sink(void *arg, const struct dp_event *ev)
{
	struct worker_sink *ws = arg;
	bool fact = ev->type == DP_EV_OPTOUT;
	if (!fact && rte_ring_free_count(ws->ring) <= ws->reserve) {
		ws->c->events_dropped++;
		return;
	}
	if (rte_ring_enqueue_elem(ws->ring, (void *)(uintptr_t)ev, sizeof(*ev)) != 0) {
		if (fact)
			ws->c->facts_dropped++;
		else
			ws->c->events_dropped++;
	}
}

/* Inline mode: frames the engine builds. Those that travel the way of the
 * burst being processed join its output array in order (k, out); the others
 * go out at once. */
struct worker_tx {
	struct dp_app *a;
	unsigned w;
	struct dp_counters *c;
	uint16_t cur_out;          /* port the burst's frames leave by */
	struct rte_mbuf **out;     /* the burst's output array */
	unsigned *k, cap;
};

static void tx_frame(void *arg, unsigned pair, int to_smsc, const uint8_t *frame, uint32_t len)
{
	struct worker_tx *t = arg;
	struct dp_app *a = t->a;
	if (pair >= a->n_pairs)
		return;
	uint16_t port = a->pair[pair][to_smsc ? 1 : 0];
	struct rte_mbuf *m = rte_pktmbuf_alloc(a->mp);
	if (m == NULL) {
		t->c->edit_tx_nombuf++;
		return;
	}
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		t->c->edit_tx_nombuf++;
		return;
	}
	memcpy(d, frame, len);
	if (t->out != NULL && port == t->cur_out && *t->k < t->cap) {
		t->out[(*t->k)++] = m;
		return;
	}
	if (rte_eth_tx_burst(port, (uint16_t)t->w, &m, 1) == 1) {
		t->c->tx_frames++;
	} else {
		a->tx_drops[t->w]++;
		rte_pktmbuf_free(m);
	}
}

/* A frame in chained mbufs (larger than one mbuf's data room: jumbo
 * frames) is judged on a linear copy like any other frame; the bytes the
 * engine rewrote in place (sequence/ACK mapping) are written back segment
 * by segment. A frame longer than any IP packet cannot be parsed: counted,
 * forwarded. */
static enum dp_action judge_chained(struct dp_engine *e, struct rte_mbuf *m)
{
	static __thread uint8_t lin[DP_FRAME_MAX];
	uint32_t len = rte_pktmbuf_pkt_len(m), off = 0;
	enum dp_action act;

	if (len > sizeof(lin)) {
		dp_engine_counters(e)->bad_frames++;
		return DP_ACT_FORWARD;
	}
	/* a chain shorter than pkt_len: NULL, nothing read; all of it in the
	 * first segment (empty ones after it): a pointer into that segment */
	const uint8_t *src = rte_pktmbuf_read(m, 0, len, lin);
	if (src == NULL) {
		dp_engine_counters(e)->bad_frames++;
		return DP_ACT_FORWARD;
	}
	if (src != lin)
		memcpy(lin, src, len);
	act = dp_engine_frame_rw(e, lin, len);
	if (act != DP_ACT_FORWARD)
		return act;
	for (struct rte_mbuf *s = m; s != NULL && off < len; s = s->next) {
		uint32_t n = s->data_len < len - off ? s->data_len : len - off;
		memcpy(rte_pktmbuf_mtod(s, uint8_t *), lin + off, n);
		off += n;
	}
	return act;
}

static unsigned forward(struct dp_engine *e, struct worker_tx *t, struct rte_mbuf **pkts,
			unsigned n, struct rte_mbuf **out, unsigned cap)
{
	unsigned k = 0;
	t->out = out;
	t->k = &k;
	t->cap = cap;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		enum dp_action act;
		/* The next frame's headers and first bytes load while this one
		 * is judged. */
		if (i + 1 < n) {
			const uint8_t *nx = rte_pktmbuf_mtod(pkts[i + 1], const uint8_t *);
			rte_prefetch0(nx);
			rte_prefetch0(nx + RTE_CACHE_LINE_SIZE);
		}
		if (m->nb_segs == 1 && (t->a->set.test_impair & DP_IMPAIR_REORDER) &&
		    dp_engine_impair_hold(e, rte_pktmbuf_mtod(m, uint8_t *), m->data_len)) {
			rte_pktmbuf_free(m); /* test only: the engine feeds its copy later */
			continue;
		}
		if (m->nb_segs == 1 && t->a->set.test_impair & DP_IMPAIR_DUP_BLOCK) {
			/* Test only: a segment that lost a blocked PDU arrives
			 * twice (the copy as the ESME sent it). */
			static uint8_t copy[2048];
			uint16_t cl = m->data_len < sizeof(copy) ? m->data_len : 0;
			memcpy(copy, rte_pktmbuf_mtod(m, uint8_t *), cl);
			act = dp_engine_frame_rw(e, rte_pktmbuf_mtod(m, uint8_t *), m->data_len);
			if (cl && dp_engine_impair_take_dup(e)) {
				if (act == DP_ACT_FORWARD && k < cap) {
					out[k++] = m; /* keep the order: original first */
					act = DP_ACT_DROP;
					m = NULL;
				}
				struct rte_mbuf *d = rte_pktmbuf_alloc(t->a->mp);
				uint8_t *dd = d ? (uint8_t *)rte_pktmbuf_append(d, cl) : NULL;
				if (dd != NULL) {
					memcpy(dd, copy, cl);
					if (dp_engine_frame_rw(e, dd, cl) == DP_ACT_FORWARD && k < cap)
						out[k++] = d;
					else
						rte_pktmbuf_free(d);
				} else if (d != NULL) {
					rte_pktmbuf_free(d);
				}
				dp_engine_impair_done(e);
			} else {
				dp_engine_impair_done(e);
			}
			if (m == NULL)
				continue;
		} else if (m->nb_segs == 1) {
			act = dp_engine_frame_rw(e, rte_pktmbuf_mtod(m, uint8_t *), m->data_len);
		} else {
			act = judge_chained(e, m);
		}
		if (act == DP_ACT_FORWARD && k < cap)
			out[k++] = m;
		else
			rte_pktmbuf_free(m);
		if (t->a->set.test_impair & DP_IMPAIR_REORDER)
			dp_engine_impair_release(e); /* test only: after the one that overtook it */
	}
	t->out = NULL;
	return k;
}

int dp_worker_main(void *arg)
{
	struct dp_app *a = &dp_app;
	unsigned w = (unsigned)(uintptr_t)arg;
	struct dp_engine *e = a->eng[w];
	struct dp_counters *c = dp_engine_counters(e);
	struct worker_sink ws = { .ring = a->ring[w], .c = c,
				  .reserve = a->set.event_ring_size / 8 };
	struct rte_mbuf *pkts[DP_BURST];
	/* Room for what inline editing adds (held ranges, split segments). */
	struct rte_mbuf *outv[DP_BURST * 4];
	uint32_t idle = 0, sleep_us = 0;
	uint64_t last_expire = 0, last_tick = 0;
	struct worker_tx wt = { .a = a, .w = w, .c = c };
	uint64_t tsc_hz = rte_get_tsc_hz();

	dp_engine_set_event_sink(e, ring_sink, &ws);
	dp_engine_set_tx(e, tx_frame, &wt);
	rte_rcu_qsbr_thread_register(a->qsv, w);
	rte_rcu_qsbr_thread_online(a->qsv, w);

	while (!a->quit) {
		/* Acquire pairs with the main lcore's release store: the
		 * snapshot's contents are visible before its pointer. */
		struct dp_snapshot *snap = __atomic_load_n(&a->snap, __ATOMIC_ACQUIRE);
		dp_engine_set_snapshot(e, snap);
		uint64_t now = dp_app_now_ms(a);
		dp_engine_set_time(e, now);
		/* The resend timers run on the TSC (ns). */
		uint64_t tsc = rte_get_tsc_cycles();
		uint64_t now_ns = (uint64_t)((double)tsc * 1e9 / (double)tsc_hz);
		dp_engine_set_time_ns(e, now_ns);
		bool mon = __atomic_load_n(&a->monitor, __ATOMIC_RELAXED) != 0;
		if (mon != dp_engine_monitor(e))
			dp_engine_set_monitor(e, mon);
		unsigned total = 0;
		for (unsigned p = 0; p < a->n_pairs; p++) {
			for (int side = 0; side < 2; side++) {
				uint16_t in = a->pair[p][side], out = a->pair[p][!side];
				uint16_t n = rte_eth_rx_burst(in, (uint16_t)w, pkts, DP_BURST);
				if (n == 0)
					continue;
				total += n;
				dp_engine_set_rx(e, p, (unsigned)side);
				wt.cur_out = out;
				unsigned k = forward(e, &wt, pkts, n, outv, DP_BURST * 4);
				uint16_t sent = rte_eth_tx_burst(out, (uint16_t)w, outv, (uint16_t)k);
				c->tx_frames += sent;
				if (sent < k) {
					a->tx_drops[w] += k - sent;
					rte_pktmbuf_free_bulk(outv + sent, k - sent);
				}
			}
		}
		if (now_ns - last_tick >= 1000000ull) {
			/* Resends of injected responses (1 ms resolution). */
			last_tick = now_ns;
			dp_engine_edit_tick(e);
		}
		if (now != last_expire) {
			dp_engine_expire(e, 256);
			last_expire = now;
		}
		/* Done with every snapshot pointer read in this iteration. */
		rte_rcu_qsbr_quiescent(a->qsv, w);
		a->worker_loops[w]++;
		if (total > 0 || a->idle_sleep_us == 0) {
			idle = 0;
			sleep_us = 0;
			continue;
		}
		if (++idle < 64)
			continue;
		/* Idle: go offline so a ruleset swap need not wait for us, and
		 * back off up to idle_sleep_us. */
		sleep_us = sleep_us ? sleep_us * 2 : 10;
		if (sleep_us > a->idle_sleep_us)
			sleep_us = a->idle_sleep_us;
		rte_rcu_qsbr_thread_offline(a->qsv, w);
		usleep(sleep_us);
		rte_rcu_qsbr_thread_online(a->qsv, w);
		a->worker_idle_sleeps[w]++;
	}
	dp_engine_sync_counters(e); /* the final counters: edits since the last tick */
	rte_rcu_qsbr_thread_offline(a->qsv, w);
	rte_rcu_qsbr_thread_unregister(a->qsv, w);
	return 0;
}
