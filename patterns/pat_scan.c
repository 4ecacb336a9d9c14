/*
 * pat_scan.c — the scan path: block scan of single-part messages and
 * streaming scan of concatenated ones. Nothing here allocates: all buffers
 * live in the per-thread scratch or in the caller's stream state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pat_priv.h"

#define NORM_CAP (2 * PAT_MAX_TEXT + 16)
#define URL_CAP (PAT_MAX_TEXT + 16)
#define ADDR_MAX 256
#define SKEL_CAP (4 * ADDR_MAX) /* look-alikes may unfold to several letters */
#define CARRY_MAX PAT_URL_TOKEN_MAX
#define STREAM_MAGIC 0x5053544du /* "PSTM" */

struct pat_scratch {
	const struct pat_ruleset *rs;
	hs_scratch_t *hs;
	hs_stream_t *live[PAT_STREAM_TARGETS][PAT_KIND_COUNT];
	/* + PAT_WORDS_PAD: the word table hashes 8 bytes at a time */
	char norm[NORM_CAP + PAT_WORDS_PAD];
	char subst[NORM_CAP + PAT_WORDS_PAD];
	char url_re[URL_CAP];
	char url_lit[URL_CAP + 2];
	char joined[CARRY_MAX + PAT_MAX_TEXT];
	char addr[ADDR_MAX + 2];
	char skel[SKEL_CAP + 2]; /* a sender ID's skeleton, "\n"-framed */
	uint32_t *word_stamp; /* per whole-word rule: last scan that hit it */
	uint32_t word_epoch;
	uint32_t *rule_stamp; /* per rule: last pat_scan_msg that counted it */
	uint32_t rule_epoch;
};

/* What a message has earned so far (kept in the stream state between parts). */
struct pat_acc {
	struct pat_result res;
	uint32_t block_rule, monitor_rule;
	int block_cat, monitor_cat;
	float best_w[PAT_MAX_CATEGORIES];
	uint32_t best_rule[PAT_MAX_CATEGORIES];
	/* Scores in millionths, summed exactly: weights are decimals stored
	 * as floats, and a float sum of 0.1 and 2.1 stays under 2.2. */
	int64_t score_u[PAT_MAX_CATEGORIES];
};

/* A weight or threshold in millionths (the decimal it was written as, for
 * up to six decimals). */
static int64_t micro(float w)
{
	return llround((double)w * 1e6);
}

struct pat_stream {
	uint32_t magic;
	uint32_t first_done : 1;
	uint32_t ended_space : 1;  /* the last part ended in whitespace */
	uint32_t norm_emitted : 1; /* normalised text was fed already */
	const struct pat_ruleset *rs;
	struct pat_acc acc;
	uint16_t carry_len;
	char carry[CARRY_MAX];
	/* The customer, kept from the first part for close(); a longer id
	 * than any scope name keeps length PAT_SCOPE_NAME_MAX + 1 so it
	 * never equals one. */
	uint8_t sysid_len;
	char sysid[PAT_SCOPE_NAME_MAX + 1];
	uint32_t comp_len[PAT_STREAM_TARGETS][PAT_KIND_COUNT];
	uint32_t comp_cap[PAT_STREAM_TARGETS][PAT_KIND_COUNT];
	uint32_t comp_off[PAT_STREAM_TARGETS][PAT_KIND_COUNT];
	uint32_t seen_off; /* in data: one bit per rule, set once it counted */
	size_t data_cap;
	unsigned char data[];
};

struct scan_ctx {
	const struct pat_ruleset *rs;
	const char *sysid;
	size_t sysid_len;
	struct pat_acc *acc;
	/* a rule counts once per message: block scans stamp it with the
	 * scan's epoch, streams set its bit in the stream state */
	uint32_t *stamp;
	uint32_t epoch;
	uint8_t *seen;
};

static int in_scope(const struct pat_ruleset *rs, const struct pat_rule *r,
		    const char *sysid, size_t n)
{
	int listed = 0;

	if (r->scope_mode == PAT_SCOPE_ALL)
		return 1;
	for (unsigned i = 0; i < r->scope_n; i++) {
		const char *s = rs->scope_names[r->scope_off + i];
		if (strlen(s) == n && memcmp(s, sysid, n) == 0) {
			listed = 1;
			break;
		}
	}
	return r->scope_mode == PAT_SCOPE_ONLY ? listed : !listed;
}

static int on_match(unsigned int id, unsigned long long from,
		    unsigned long long to, unsigned int flags, void *vctx)
{
	struct scan_ctx *c = vctx;
	const struct pat_ruleset *rs = c->rs;
	const struct pat_rule *r;
	struct pat_acc *a = c->acc;
	struct pat_result *res = &a->res;

	(void)from;
	(void)to;
	(void)flags;
	if (id >= rs->n_rules) {
		/* a list literal: its own id, mapped to its rule */
		if (id - rs->n_rules >= rs->n_lits)
			return 0;
		id = rs->lit_rule[id - rs->n_rules];
	}
	r = &rs->rules[id];
	if (!in_scope(rs, r, c->sysid, c->sysid_len))
		return 0;
	/* Regex rules match once per scan (single-match flag); a list rule
	 * may match through several literals, and a stream sees several
	 * scans: those are counted once, whether or not the match list
	 * still has room. */
	if (c->seen) {
		if (c->seen[id >> 3] & (1u << (id & 7)))
			return 0;
		c->seen[id >> 3] |= (uint8_t)(1u << (id & 7));
	} else {
		if (c->stamp[id] == c->epoch)
			return 0;
		c->stamp[id] = c->epoch;
	}
	if (res->n_matches < PAT_MAX_MATCHES)
		res->matches[res->n_matches++] = r->id;
	else
		res->matches_dropped++;
	switch (r->action) {
	case PAT_ACTION_BLOCK:
		if (!a->block_rule) {
			a->block_rule = r->id;
			a->block_cat = r->category;
		}
		break;
	case PAT_ACTION_MONITOR:
		if (!a->monitor_rule) {
			a->monitor_rule = r->id;
			a->monitor_cat = r->category;
		}
		break;
	default:
		a->score_u[r->category] += micro(r->weight);
		if (r->weight > a->best_w[r->category]) {
			a->best_w[r->category] = r->weight;
			a->best_rule[r->category] = r->id;
		}
		break;
	}
	return 0;
}

static void acc_init(struct pat_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->block_cat = a->monitor_cat = -1;
}

/* Turn the accumulated matches into the verdict. */
static void acc_verdict(const struct pat_ruleset *rs, struct pat_acc *a)
{
	struct pat_result *res = &a->res;
	int bc = -1, mc = -1, tc = -1;
	double bratio = 0, mratio = 0;
	int64_t tscore = 0, total = 0; /* the total: every category's score */

	for (unsigned c = 0; c < rs->n_cats; c++) {
		int64_t s = a->score_u[c];
		int64_t blk = micro(rs->cat_block[c]), mon = micro(rs->cat_monitor[c]);

		res->scores[c] = (float)((double)s / 1e6);
		total += s;
		/* A block on the total score (threshold cat=*) is charged to
		 * the category that contributed most, not to whichever rule
		 * weighed most: the AUP ladder treats fraud and spam apart. */
		if (a->best_rule[c] && s > tscore) {
			tscore = s;
			tc = (int)c;
		}
		if (blk > 0 && s >= blk && (double)s / (double)blk > bratio) {
			bratio = (double)s / (double)blk;
			bc = (int)c;
		}
		if (mon > 0 && s >= mon && (double)s / (double)mon > mratio) {
			mratio = (double)s / (double)mon;
			mc = (int)c;
		}
	}
	if (a->block_rule) {
		res->verdict = PAT_VERDICT_BLOCK;
		res->rule_id = a->block_rule;
		res->category = a->block_cat;
	} else if (bc < 0 && rs->total_block > 0 && total >= micro(rs->total_block) &&
		   tc >= 0) {
		res->verdict = PAT_VERDICT_BLOCK;
		res->rule_id = a->best_rule[tc];
		res->category = tc;
	} else if (bc >= 0) {
		res->verdict = PAT_VERDICT_BLOCK;
		res->rule_id = a->best_rule[bc];
		res->category = bc;
	} else if (a->monitor_rule) {
		res->verdict = PAT_VERDICT_MONITOR;
		res->rule_id = a->monitor_rule;
		res->category = a->monitor_cat;
	} else if (mc >= 0) {
		res->verdict = PAT_VERDICT_MONITOR;
		res->rule_id = a->best_rule[mc];
		res->category = mc;
	} else if (rs->total_monitor > 0 && total >= micro(rs->total_monitor) &&
		   tc >= 0) {
		res->verdict = PAT_VERDICT_MONITOR;
		res->rule_id = a->best_rule[tc];
		res->category = tc;
	} else {
		res->verdict = PAT_VERDICT_PASS;
		res->rule_id = 0;
		res->category = -1;
	}
}

int pat_scratch_alloc(const struct pat_ruleset *rs, struct pat_scratch **out)
{
	struct pat_scratch *s;

	if (!rs || !out)
		return PAT_EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return PAT_ENOMEM;
	s->rs = rs;
	s->word_stamp = calloc(rs->n_word_rules ? rs->n_word_rules : 1,
			       sizeof(uint32_t));
	s->rule_stamp = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(uint32_t));
	if (!s->word_stamp || !s->rule_stamp) {
		free(s->word_stamp);
		free(s->rule_stamp);
		free(s);
		return PAT_ENOMEM;
	}
	for (unsigned t = 0; t < PAT_TARGET_COUNT; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			for (unsigned m = 0; m < PAT_MODE_COUNT; m++) {
				hs_database_t *db = rs->db[t][k][m];
				if (!db)
					continue;
				if (hs_alloc_scratch(db, &s->hs) != HS_SUCCESS)
					goto fail;
				if (m == PAT_MODE_STREAM &&
				    hs_open_stream(db, 0, &s->live[t][k]) != HS_SUCCESS)
					goto fail;
			}
	*out = s;
	return PAT_OK;
fail:
	pat_scratch_free(s);
	return PAT_EHYPERSCAN;
}

void pat_scratch_free(struct pat_scratch *s)
{
	if (!s)
		return;
	for (unsigned t = 0; t < PAT_STREAM_TARGETS; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			if (s->live[t][k])
				hs_close_stream(s->live[t][k], NULL, NULL, NULL);
	hs_free_scratch(s->hs);
	free(s->word_stamp);
	free(s->rule_stamp);
	free(s);
}

static int scan_block(hs_database_t *db, const char *d, size_t n,
		      struct pat_scratch *s, struct scan_ctx *c)
{
	if (!db)
		return PAT_OK;
	if (hs_scan(db, d, (unsigned)n, 0, s->hs, on_match, c) != HS_SUCCESS)
		return PAT_EHYPERSCAN;
	return PAT_OK;
}

/* A sender ID as a subscriber reads the name in it: look-alikes folded and
 * lower-cased (pat_normalise), then only letters, digits and non-ASCII
 * characters kept, so "H.S.B.C", "Pay-Pal" and "PayPal." read as hsbc and
 * paypal. Returns its length in out[0..cap). */
static size_t sender_skeleton(const char *v, size_t n, char *out, size_t cap)
{
	size_t k = pat_normalise(v, n, out, cap, PAT_NORM_NO_COLLAPSE), w = 0;

	for (size_t i = 0; i < k; i++) {
		unsigned char b = (unsigned char)out[i];
		if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b >= 0x80)
			out[w++] = (char)b;
	}
	return w;
}

/* 1 when v[0..n) is ASCII letters and digits only: its skeleton is the
 * value lower-cased (pat_normalise changes nothing else in it), which the
 * rules already saw, so most senders (numbers, plain names) skip it. */
static int plain_alnum(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)v[i] | 0x20;
		if (!((b >= 'a' && b <= 'z') || (v[i] >= '0' && v[i] <= '9')))
			return 0;
	}
	return 1;
}

/* Sender or destination: the regex database sees the value, the list
 * database sees "\nVALUE\n" so exact-match literals can anchor. Blanks and
 * control bytes around it are left out: a handset does not show them, so
 * "HSBC " is HSBC to the subscriber. A sender is matched a second time as
 * its skeleton (sender_skeleton) when that reads differently, so
 * separators and look-alikes do not take a protected name past its rules;
 * a rule counts once either way. */
static int scan_addr(const struct pat_ruleset *rs, struct pat_scratch *s,
		     struct scan_ctx *c, unsigned t, const char *v, size_t n)
{
	int rc;

	if (!v)
		return PAT_OK;
	while (n > 0 && (unsigned char)v[0] <= ' ') {
		v++;
		n--;
	}
	while (n > 0 && (unsigned char)v[n - 1] <= ' ')
		n--;
	if (n == 0)
		return PAT_OK;
	if (n > ADDR_MAX)
		n = ADDR_MAX;
	rc = scan_block(rs->db[t][PAT_KIND_RE][PAT_MODE_BLOCK], v, n, s, c);
	if (rc)
		return rc;
	if (rs->db[t][PAT_KIND_LIT][PAT_MODE_BLOCK]) {
		s->addr[0] = '\n';
		memcpy(s->addr + 1, v, n);
		s->addr[n + 1] = '\n';
		rc = scan_block(rs->db[t][PAT_KIND_LIT][PAT_MODE_BLOCK], s->addr, n + 2, s, c);
	}
	if (rc || t != PAT_TARGET_SENDER || plain_alnum(v, n))
		return rc; /* plain letters and digits are their own skeleton */
	size_t k = sender_skeleton(v, n, s->skel + 1, SKEL_CAP);
	if (k == 0 || (k == n && strncasecmp(s->skel + 1, v, n) == 0))
		return PAT_OK; /* reads as written */
	rc = scan_block(rs->db[t][PAT_KIND_RE][PAT_MODE_BLOCK], s->skel + 1, k, s, c);
	if (rc)
		return rc;
	s->skel[0] = '\n';
	s->skel[k + 1] = '\n';
	return scan_block(rs->db[t][PAT_KIND_LIT][PAT_MODE_BLOCK], s->skel, k + 2, s, c);
}

static int scan_urls(const struct pat_ruleset *rs, struct pat_scratch *s,
		     struct scan_ctx *c, const char *text, size_t n)
{
	size_t rl, ll;
	int rc;

	if (!rs->db[PAT_TARGET_URL][PAT_KIND_RE][PAT_MODE_BLOCK] &&
	    !rs->db[PAT_TARGET_URL][PAT_KIND_LIT][PAT_MODE_BLOCK])
		return PAT_OK;
	if (!pat_url_hosts(text, n, s->url_re, URL_CAP, &rl, s->url_lit,
			   URL_CAP + 2, &ll))
		return PAT_OK;
	rc = scan_block(rs->db[PAT_TARGET_URL][PAT_KIND_RE][PAT_MODE_BLOCK],
			s->url_re, rl, s, c);
	if (rc)
		return rc;
	return scan_block(rs->db[PAT_TARGET_URL][PAT_KIND_LIT][PAT_MODE_BLOCK],
			  s->url_lit, ll, s, c);
}

static int word_hit(unsigned rule, void *ctx)
{
	return on_match(rule, 0, 0, 0, ctx);
}

/* The whole-word rules (block mode only: the streaming databases still
 * hold them). tables: bit 0 norm rules, bit 1 norm-subst rules. */
static void scan_words(const struct pat_ruleset *rs, struct pat_scratch *s,
		       struct scan_ctx *c, unsigned tables, const char *d, size_t n)
{
	if (!(tables & rs->word_targets))
		return;
	if (++s->word_epoch == 0) {
		memset(s->word_stamp, 0, rs->n_word_rules * sizeof(uint32_t));
		s->word_epoch = 1;
	}
	pat_words_scan(rs, tables, d, n, s->word_stamp, s->word_epoch, word_hit, c);
}

static int need_norm(const struct pat_ruleset *rs, unsigned mode)
{
	if (mode == PAT_MODE_BLOCK && rs->word_targets)
		return 1;
	for (unsigned t = PAT_TARGET_NORM; t <= PAT_TARGET_NORM_SUBST; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			if (rs->db[t][k][mode])
				return 1;
	return 0;
}

static int need_subst(const struct pat_ruleset *rs, unsigned mode)
{
	return (mode == PAT_MODE_BLOCK && (rs->word_targets & 2u)) ||
	       rs->db[PAT_TARGET_NORM_SUBST][PAT_KIND_RE][mode] ||
	       rs->db[PAT_TARGET_NORM_SUBST][PAT_KIND_LIT][mode];
}

int pat_scan_msg(const struct pat_ruleset *rs, struct pat_scratch *s,
		 const struct pat_msg *msg, struct pat_result *res)
{
	struct pat_acc acc;
	struct scan_ctx c;
	size_t tl;
	int rc = PAT_OK;

	if (!rs || !s || !msg || !res)
		return PAT_EINVAL;
	if (s->rs != rs)
		return PAT_ESCRATCH;
	acc_init(&acc);
	c.rs = rs;
	c.sysid = msg->system_id ? msg->system_id : "";
	c.sysid_len = msg->system_id ? msg->system_id_len : 0;
	c.acc = &acc;
	if (++s->rule_epoch == 0) {
		memset(s->rule_stamp, 0, rs->n_rules * sizeof(uint32_t));
		s->rule_epoch = 1;
	}
	c.stamp = s->rule_stamp;
	c.epoch = s->rule_epoch;
	c.seen = NULL;
	tl = msg->text ? msg->text_len : 0;
	if (tl > PAT_MAX_TEXT)
		tl = PAT_MAX_TEXT;
	if (tl) {
		for (unsigned k = 0; k < PAT_KIND_COUNT && !rc; k++)
			rc = scan_block(rs->db[PAT_TARGET_TEXT][k][PAT_MODE_BLOCK],
					msg->text, tl, s, &c);
		if (!rc && need_norm(rs, PAT_MODE_BLOCK)) {
			size_t nl = pat_normalise(msg->text, tl, s->norm, NORM_CAP, 0);
			for (unsigned k = 0; k < PAT_KIND_COUNT && !rc; k++)
				rc = scan_block(rs->db[PAT_TARGET_NORM][k][PAT_MODE_BLOCK],
						s->norm, nl, s, &c);
			if (!rc && need_subst(rs, PAT_MODE_BLOCK)) {
				memcpy(s->subst, s->norm, nl);
				pat_normalise_subst(s->subst, nl);
				/* nothing substituted (most texts): one word
				 * pass serves both targets */
				if (memcmp(s->subst, s->norm, nl) == 0) {
					scan_words(rs, s, &c, 3u, s->norm, nl);
				} else {
					scan_words(rs, s, &c, 1u, s->norm, nl);
					scan_words(rs, s, &c, 2u, s->subst, nl);
				}
				for (unsigned k = 0; k < PAT_KIND_COUNT && !rc; k++)
					rc = scan_block(rs->db[PAT_TARGET_NORM_SUBST][k][PAT_MODE_BLOCK],
							s->subst, nl, s, &c);
			} else {
				scan_words(rs, s, &c, 1u, s->norm, nl);
			}
		}
		if (!rc)
			rc = scan_urls(rs, s, &c, msg->text, tl);
	}
	if (!rc)
		rc = scan_addr(rs, s, &c, PAT_TARGET_SENDER, msg->sender, msg->sender_len);
	if (!rc)
		rc = scan_addr(rs, s, &c, PAT_TARGET_DEST, msg->dest, msg->dest_len);
	if (rc)
		return rc;
	acc_verdict(rs, &acc);
	*res = acc.res;
	return PAT_OK;
}

/* ------------------------------------------------------------------ */
/* Streaming                                                           */
/* ------------------------------------------------------------------ */

size_t pat_stream_size(const struct pat_ruleset *rs)
{
	if (!rs)
		return 0;
	/* A compressed stream is never larger than the live one; keep a
	 * little slack per stream for Hyperscan's own header. */
	return sizeof(struct pat_stream) + rs->stream_bytes +
	       PAT_STREAM_TARGETS * PAT_KIND_COUNT * 64 + (rs->n_rules + 7) / 8;
}

static int stream_check(const struct pat_ruleset *rs, struct pat_scratch *s,
			const struct pat_stream *st)
{
	if (!rs || !s || !st)
		return PAT_EINVAL;
	if (s->rs != rs || st->magic != STREAM_MAGIC || st->rs != rs)
		return PAT_ESCRATCH;
	return PAT_OK;
}

static int stream_save(struct pat_scratch *s, struct pat_stream *st,
		       unsigned t, unsigned k)
{
	size_t used = 0;

	if (hs_compress_stream(s->live[t][k], (char *)st->data + st->comp_off[t][k],
			       st->comp_cap[t][k], &used) != HS_SUCCESS)
		return PAT_EHYPERSCAN;
	st->comp_len[t][k] = (uint32_t)used;
	return PAT_OK;
}

int pat_stream_open(const struct pat_ruleset *rs, struct pat_scratch *s,
		    void *mem, size_t cap, struct pat_stream **out)
{
	struct pat_stream *st = mem;
	size_t off = 0;

	if (!rs || !s || !mem || !out)
		return PAT_EINVAL;
	if (s->rs != rs)
		return PAT_ESCRATCH;
	if (cap < pat_stream_size(rs))
		return PAT_ENOSPACE;
	memset(st, 0, sizeof(*st));
	st->magic = STREAM_MAGIC;
	st->rs = rs;
	acc_init(&st->acc);
	st->data_cap = cap - sizeof(*st);
	for (unsigned t = 0; t < PAT_STREAM_TARGETS; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++) {
			size_t sz = 0;
			if (!s->live[t][k])
				continue;
			hs_stream_size(rs->db[t][k][PAT_MODE_STREAM], &sz);
			st->comp_off[t][k] = (uint32_t)off;
			st->comp_cap[t][k] = (uint32_t)(sz + 64);
			off += sz + 64;
			if (hs_reset_stream(s->live[t][k], 0, NULL, NULL, NULL) != HS_SUCCESS)
				return PAT_EHYPERSCAN;
			int rc = stream_save(s, st, t, k);
			if (rc)
				return rc;
		}
	st->seen_off = (uint32_t)off;
	memset(st->data + off, 0, (rs->n_rules + 7) / 8);
	*out = st;
	return PAT_OK;
}

/* Expand, scan, compress one stream database. */
static int stream_feed(struct pat_scratch *s, struct pat_stream *st,
		       unsigned t, struct scan_ctx *c, const char *d, size_t n)
{
	for (unsigned k = 0; k < PAT_KIND_COUNT; k++) {
		if (!s->live[t][k])
			continue;
		if (hs_reset_and_expand_stream(s->live[t][k],
					       (const char *)st->data + st->comp_off[t][k],
					       st->comp_len[t][k], NULL, NULL, NULL) != HS_SUCCESS)
			return PAT_EHYPERSCAN;
		if (n && hs_scan_stream(s->live[t][k], d, (unsigned)n, 0, s->hs,
					on_match, c) != HS_SUCCESS)
			return PAT_EHYPERSCAN;
		int rc = stream_save(s, st, t, k);
		if (rc)
			return rc;
	}
	return PAT_OK;
}

static int is_ws(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int pat_stream_scan(const struct pat_ruleset *rs, struct pat_scratch *s,
		    struct pat_stream *st, const struct pat_msg *part,
		    struct pat_result *res)
{
	struct scan_ctx c;
	size_t tl;
	int rc;

	rc = stream_check(rs, s, st);
	if (rc)
		return rc;
	if (!part || !res)
		return PAT_EINVAL;
	c.rs = rs;
	/* the customer is the first part's, for the whole message */
	if (st->first_done) {
		c.sysid = st->sysid;
		c.sysid_len = st->sysid_len;
	} else {
		c.sysid = part->system_id ? part->system_id : "";
		c.sysid_len = part->system_id ? part->system_id_len : 0;
	}
	c.acc = &st->acc;
	c.stamp = NULL;
	c.epoch = 0;
	c.seen = st->data + st->seen_off;
	tl = part->text ? part->text_len : 0;
	if (tl > PAT_MAX_TEXT)
		tl = PAT_MAX_TEXT;
	if (tl) {
		rc = stream_feed(s, st, PAT_TARGET_TEXT, &c, part->text, tl);
		if (!rc && need_norm(rs, PAT_MODE_STREAM)) {
			size_t nl = pat_normalise(part->text, tl, s->norm + 1,
						  NORM_CAP - 1, 0);
			char *np = s->norm + 1;
			/* Parts are normalised one by one (which trims them);
			 * keep a word boundary that fell between two parts. */
			if (nl && st->norm_emitted &&
			    (st->ended_space || is_ws((unsigned char)part->text[0]))) {
				np = s->norm;
				np[0] = ' ';
				nl++;
			}
			if (nl)
				st->norm_emitted = 1;
			if (!rc)
				rc = stream_feed(s, st, PAT_TARGET_NORM, &c, np, nl);
			if (!rc && need_subst(rs, PAT_MODE_STREAM)) {
				memcpy(s->subst, np, nl);
				pat_normalise_subst(s->subst, nl);
				rc = stream_feed(s, st, PAT_TARGET_NORM_SUBST, &c, s->subst, nl);
			}
		}
		st->ended_space = is_ws((unsigned char)part->text[tl - 1]);
		/* URL hosts: the carried unfinished token of the previous part
		 * joined to this one; this part's unfinished token is carried. */
		if (!rc) {
			size_t jl = st->carry_len, cut;
			memcpy(s->joined, st->carry, st->carry_len);
			memcpy(s->joined + jl, part->text, tl);
			jl += tl;
			cut = jl;
			while (cut > 0 && !pat_url_sep((unsigned char)s->joined[cut - 1]))
				cut--;
			rc = scan_urls(rs, s, &c, s->joined, cut);
			st->carry_len = (uint16_t)(jl - cut > CARRY_MAX ? CARRY_MAX : jl - cut);
			memcpy(st->carry, s->joined + cut, st->carry_len);
		}
	}
	if (!rc && !st->first_done) {
		size_t n = c.sysid_len > PAT_SCOPE_NAME_MAX ? PAT_SCOPE_NAME_MAX : c.sysid_len;
		memcpy(st->sysid, c.sysid, n);
		st->sysid_len = (uint8_t)(c.sysid_len > PAT_SCOPE_NAME_MAX
					  ? PAT_SCOPE_NAME_MAX + 1 : c.sysid_len);
		rc = scan_addr(rs, s, &c, PAT_TARGET_SENDER, part->sender, part->sender_len);
		if (!rc)
			rc = scan_addr(rs, s, &c, PAT_TARGET_DEST, part->dest, part->dest_len);
		st->first_done = 1;
	}
	if (rc)
		return rc;
	acc_verdict(rs, &st->acc);
	*res = st->acc.res;
	return PAT_OK;
}

int pat_stream_close(const struct pat_ruleset *rs, struct pat_scratch *s,
		     struct pat_stream *st, struct pat_result *res)
{
	struct scan_ctx c;
	int rc;

	rc = stream_check(rs, s, st);
	if (rc)
		return rc;
	if (!res)
		return PAT_EINVAL;
	c.rs = rs;
	c.sysid = st->sysid;
	c.sysid_len = st->sysid_len;
	c.acc = &st->acc;
	c.stamp = NULL;
	c.epoch = 0;
	c.seen = st->data + st->seen_off;
	for (unsigned t = 0; t < PAT_STREAM_TARGETS; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++) {
			if (!s->live[t][k])
				continue;
			if (hs_reset_and_expand_stream(s->live[t][k],
						       (const char *)st->data + st->comp_off[t][k],
						       st->comp_len[t][k], NULL, NULL, NULL) != HS_SUCCESS)
				return PAT_EHYPERSCAN;
			if (hs_reset_stream(s->live[t][k], 0, s->hs, on_match, &c) != HS_SUCCESS)
				return PAT_EHYPERSCAN;
		}
	if (st->carry_len)
		rc = scan_urls(rs, s, &c, st->carry, st->carry_len);
	if (rc)
		return rc;
	acc_verdict(rs, &st->acc);
	*res = st->acc.res;
	st->magic = 0;
	return PAT_OK;
}
