/* dp_worker.c — the worker lcore loop: rx → dp_engine_frame → tx.
 *
 * Worker i polls queue i of every port. For each bridge pair, frames from
 * the ESME side go out of the SMSC side and the other way round; symmetric
 * RSS (or the kernel's symmetric fanout hash for af_packet) puts both
 * directions of a flow on the same queue index, hence on the same worker.
 * The loop never blocks, allocates or locks; when idle it backs off with
 * short sleeps if idle_sleep_us is set (lab, CI), else it busy-polls.
 */
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp_app.h"

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

static unsigned forward(struct dp_engine *e, struct rte_mbuf **pkts, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		enum dp_action act;
		if (m->nb_segs == 1) {
			act = dp_engine_frame(e, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		} else {
			/* Chained mbufs (jumbo frames) are not inspected: counted. */
			dp_engine_counters(e)->bad_frames++;
			act = DP_ACT_FORWARD;
		}
		if (act == DP_ACT_FORWARD)
			pkts[k++] = m;
		else
			rte_pktmbuf_free(m);
	}
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
	uint32_t idle = 0, sleep_us = 0;
	uint64_t last_expire = 0;

	dp_engine_set_event_sink(e, ring_sink, &ws);
	rte_rcu_qsbr_thread_register(a->qsv, w);
	rte_rcu_qsbr_thread_online(a->qsv, w);

	while (!a->quit) {
		/* Acquire pairs with the main lcore's release store: the
		 * snapshot's contents are visible before its pointer. */
		struct dp_snapshot *snap = __atomic_load_n(&a->snap, __ATOMIC_ACQUIRE);
		dp_engine_set_snapshot(e, snap);
		uint64_t now = dp_app_now_ms(a);
		dp_engine_set_time(e, now);
		unsigned total = 0;
		for (unsigned p = 0; p < a->n_pairs; p++) {
			for (int side = 0; side < 2; side++) {
				uint16_t in = a->pair[p][side], out = a->pair[p][!side];
				uint16_t n = rte_eth_rx_burst(in, (uint16_t)w, pkts, DP_BURST);
				if (n == 0)
					continue;
				total += n;
				unsigned k = forward(e, pkts, n);
				uint16_t sent = rte_eth_tx_burst(out, (uint16_t)w, pkts, (uint16_t)k);
				c->tx_frames += sent;
				if (sent < k) {
					a->tx_drops[w] += k - sent;
					rte_pktmbuf_free_bulk(pkts + sent, k - sent);
				}
			}
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
	rte_rcu_qsbr_thread_offline(a->qsv, w);
	rte_rcu_qsbr_thread_unregister(a->qsv, w);
	return 0;
}
