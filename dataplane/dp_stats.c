/* dp_stats.c — per-customer and per-rule counters, kept by the main lcore
 * from the verdict events it drains (workers keep only per-worker totals:
 * a per-customer table on every worker would cost memory and cache for
 * numbers that are only read by operators). Observations may be dropped
 * under overload, so these counts can lag the workers' totals; the drop
 * counters say by how much. Bounded tables; overflow is counted. */
#include <string.h>

#include "dp_app.h"

#define CUST_SLOTS 4096
#define RULE_SLOTS 4096

static struct dp_cust_stats cust[CUST_SLOTS];
static struct dp_rule_stats rules[RULE_SLOTS];
static uint64_t cust_overflow, rule_overflow;

static uint32_t str_hash(const char *s, size_t max)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < max && s[i]; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static struct dp_cust_stats *cust_get(const char *sid)
{
	uint32_t h = str_hash(sid, DP_SYSTEM_ID_MAX);
	for (uint32_t i = 0; i < CUST_SLOTS; i++) {
		struct dp_cust_stats *c = &cust[(h + i) % CUST_SLOTS];
		if (c->used && strncmp(c->system_id, sid, DP_SYSTEM_ID_MAX) == 0)
			return c;
		if (!c->used) {
			c->used = 1;
			memcpy(c->system_id, sid, DP_SYSTEM_ID_MAX);
			c->system_id[DP_SYSTEM_ID_MAX - 1] = '\0';
			return c;
		}
	}
	cust_overflow++;
	return NULL;
}

static struct dp_rule_stats *rule_get(const char *rule)
{
	uint32_t h = str_hash(rule, DP_RULE_ID_MAX);
	for (uint32_t i = 0; i < RULE_SLOTS; i++) {
		struct dp_rule_stats *r = &rules[(h + i) % RULE_SLOTS];
		if (r->used && strncmp(r->rule, rule, DP_RULE_ID_MAX) == 0)
			return r;
		if (!r->used) {
			r->used = 1;
			memcpy(r->rule, rule, DP_RULE_ID_MAX);
			r->rule[DP_RULE_ID_MAX - 1] = '\0';
			return r;
		}
	}
	rule_overflow++;
	return NULL;
}

void dp_stats_event(struct dp_app *a, const struct dp_event *e)
{
	pthread_mutex_lock(&a->lock);
	if (e->type == DP_EV_VERDICT) {
		struct dp_cust_stats *c = cust_get(e->system_id);
		if (c != NULL) {
			c->submits++;
			c->verdicts[e->verdict < 3 ? e->verdict : 0]++;
		}
		if (e->rule_id[0]) {
			struct dp_rule_stats *r = rule_get(e->rule_id);
			if (r != NULL) {
				r->hits++;
				r->category = e->category;
			}
		}
	} else if (e->type == DP_EV_BIND) {
		struct dp_cust_stats *c = cust_get(e->system_id);
		if (c != NULL)
			c->binds++;
	} else if (e->type == DP_EV_OPTOUT) {
		struct dp_cust_stats *c = cust_get(e->system_id);
		if (c != NULL)
			c->optouts += e->optout_on ? 1 : 0;
	}
	pthread_mutex_unlock(&a->lock);
}

void dp_stats_each(void (*cf)(void *arg, const struct dp_cust_stats *c),
		   void (*rf)(void *arg, const struct dp_rule_stats *r), void *arg)
{
	for (uint32_t i = 0; cf && i < CUST_SLOTS; i++)
		if (cust[i].used)
			cf(arg, &cust[i]);
	for (uint32_t i = 0; rf && i < RULE_SLOTS; i++)
		if (rules[i].used)
			rf(arg, &rules[i]);
}

void dp_stats_overflow(uint64_t *customers, uint64_t *rules_)
{
	*customers = cust_overflow;
	*rules_ = rule_overflow;
}
