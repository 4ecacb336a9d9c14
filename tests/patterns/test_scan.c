/*
 * test_scan.c — what a scan decides: direct block/monitor, score thresholds
 * (per category and total), scopes, sender/destination/URL targets, raw vs
 * normalised text, the bounded match list, and streaming over concatenated
 * parts (a URL split across two parts is found; state lives compressed in
 * caller memory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pat.h"

static const char rules[] =
	"category name=lottery\n"
	"threshold cat=spam block=3 monitor=1.5\n"
	"threshold cat=* block=5\n"
	"rule id=1 cat=fraud target=norm action=block pat=/verify your account/ desc=\"verify\"\n"
	"rule id=2 cat=spam target=text action=monitor pat=/PROMO/ desc=\"promo\"\n"
	"rule id=3 cat=spam target=norm action=score:2 pat=/\\bprize\\b/ desc=\"prize\"\n"
	"rule id=4 cat=spam target=norm action=score:1.5 pat=/\\bclaim\\b/ desc=\"claim\"\n"
	"rule id=5 cat=lottery target=norm action=score:1 pat=/\\bdraw\\b/ desc=\"draw\"\n"
	"rule id=6 cat=fraud target=norm action=score:2.5 pat=/\\burgent\\b/ desc=\"urgent\"\n"
	"rule id=7 cat=spam target=norm action=score:-2 pat=/\\blol\\b/ desc=\"personal\"\n"
	"rule id=8 cat=lottery target=norm action=score:1.5 pat=/\\bjackpot\\b/ desc=\"jackpot\"\n"
	"rule id=9 cat=lottery target=norm action=score:1.5 pat=/\\bwinner\\b/ desc=\"winner\"\n"
	"rule id=20 cat=spoofing target=sender action=block list=senders.txt match=exact scope=except:bank_ok desc=\"protected\"\n"
	"rule id=21 cat=spoofing target=sender action=monitor list=senders.txt desc=\"contains protected\"\n"
	"rule id=22 cat=spam target=dest action=block pat=/^999/ desc=\"emergency number\"\n"
	"rule id=30 cat=malware target=url action=block list=hosts.txt desc=\"bad host\"\n"
	"rule id=31 cat=malware target=url action=monitor pat=/^bit\\.ly$/ desc=\"shortener\"\n"
	"rule id=40 cat=fraud target=norm-subst action=block pat=/\\bfree cash\\b/ desc=\"subst\"\n"
	"rule id=50 cat=spam target=norm action=block pat=/only for acme/ scope=only:acme,acme2 desc=\"only\"\n"
	"rule id=51 cat=spam target=norm action=block pat=/except acme/ scope=except:acme desc=\"except\"\n"
	"rule id=60 cat=spam target=norm action=block pat=/the end$/ desc=\"end anchor\"\n";

static struct pat_ruleset *rs;
static struct pat_scratch *sc;

static int setup(void **state)
{
	struct pat_source s[3] = {
		{ "t.rules", rules, sizeof(rules) - 1 },
		{ "senders.txt", "HSBC\nPayPal\n", 12 },
		{ "hosts.txt", "evil.example\n", 13 },
	};
	struct pat_error e;

	(void)state;
	if (pat_ruleset_compile_sources(s, 3, NULL, &rs, &e)) {
		print_error("%s:%u:%u %s\n", e.file, e.line, e.column, e.message);
		return -1;
	}
	return pat_scratch_alloc(rs, &sc);
}

static int teardown(void **state)
{
	(void)state;
	pat_scratch_free(sc);
	pat_ruleset_free(rs);
	return 0;
}

static struct pat_result scan(const char *text, const char *sender,
			      const char *dest, const char *sysid)
{
	struct pat_msg m = { 0 };
	struct pat_result r;

	m.text = text;
	m.text_len = text ? strlen(text) : 0;
	m.sender = sender;
	m.sender_len = sender ? strlen(sender) : 0;
	m.dest = dest;
	m.dest_len = dest ? strlen(dest) : 0;
	m.system_id = sysid;
	m.system_id_len = sysid ? strlen(sysid) : 0;
	assert_int_equal(pat_scan_msg(rs, sc, &m, &r), PAT_OK);
	return r;
}

static int has(const struct pat_result *r, uint32_t id)
{
	for (unsigned i = 0; i < r->n_matches; i++)
		if (r->matches[i] == id)
			return 1;
	return 0;
}

static void test_bad_args(void **state)
{
	struct pat_msg m = { .text = "x", .text_len = 1 };
	struct pat_result r;
	struct pat_ruleset *other;
	struct pat_scratch *osc;
	struct pat_source s = { "o.rules", "rule id=1 cat=spam target=text action=block pat=/x/ desc=\"d\"\n", 61 };

	(void)state;
	assert_int_equal(pat_scan_msg(NULL, sc, &m, &r), PAT_EINVAL);
	assert_int_equal(pat_scan_msg(rs, sc, NULL, &r), PAT_EINVAL);
	assert_int_equal(pat_ruleset_compile_sources(&s, 1, NULL, &other, NULL), PAT_OK);
	assert_int_equal(pat_scratch_alloc(other, &osc), PAT_OK);
	/* scratch made for another ruleset */
	assert_int_equal(pat_scan_msg(rs, osc, &m, &r), PAT_ESCRATCH);
	assert_int_equal(pat_scan_msg(other, osc, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	pat_scratch_free(osc);
	pat_ruleset_free(other);
}

static void test_direct(void **state)
{
	struct pat_result r;

	(void)state;
	r = scan("hello there", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	assert_int_equal(r.rule_id, 0);
	assert_int_equal(r.category, -1);
	assert_int_equal(r.n_matches, 0);

	/* normalised target sees through look-alikes and zero-width spaces */
	r = scan("Please V\xd0\x95RIFY y\xd0\xbeur\xe2\x80\x8b account", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 1);
	assert_int_equal(r.category, PAT_CAT_FRAUD);

	/* raw-text target is case sensitive and sees the raw bytes */
	r = scan("big PROMO today", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	assert_int_equal(r.rule_id, 2);
	r = scan("big promo today", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);

	/* block beats monitor */
	r = scan("PROMO: verify your account", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_true(has(&r, 1) && has(&r, 2));

	/* substitution target: digits and symbols folded */
	r = scan("get fr33 c@sh", NULL, NULL, NULL);
	assert_int_equal(r.rule_id, 40);
	r = scan("get free cash", NULL, NULL, NULL);
	assert_int_equal(r.rule_id, 40);
}

static void test_scores(void **state)
{
	struct pat_result r;

	(void)state;
	/* 2 < 3 (spam block) but >= 1.5 (spam monitor) */
	r = scan("a prize", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	assert_int_equal(r.rule_id, 3);
	assert_true(r.scores[PAT_CAT_SPAM] == 2.0f);
	/* 2 + 1.5 = 3.5 >= 3: block, decided by the heavier rule */
	r = scan("claim a prize", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.category, PAT_CAT_SPAM);
	assert_int_equal(r.rule_id, 3);
	assert_true(r.scores[PAT_CAT_SPAM] == 3.5f);
	/* a negative weight pulls the score back under the threshold */
	r = scan("claim a prize lol", NULL, NULL, NULL);
	assert_true(r.scores[PAT_CAT_SPAM] == 1.5f);
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	/* no category reaches its own threshold, the total (5) does:
	 * prize 2 + draw 1 (lottery) + urgent 2.5 (fraud) = 5.5 */
	r = scan("urgent: prize draw", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 6);
	assert_int_equal(r.category, PAT_CAT_FRAUD);
	assert_true(r.scores[5] == 1.0f);
	/* a total block is charged to the category that contributed most
	 * (lottery 1.5 + 1.5 + 1 = 4), not to the heaviest single rule
	 * (urgent, fraud 2.5): the AUP ladder counts categories apart */
	r = scan("urgent: jackpot winner in the draw", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.category, 5);
	assert_true(r.rule_id == 8 || r.rule_id == 9);
	assert_true(r.scores[5] == 4.0f);
	/* 2.5 + 1 = 3.5 < 5, no category threshold for fraud/lottery */
	r = scan("urgent draw", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	assert_int_equal(r.n_matches, 2);
}

/* A threshold is reached when the decimal weights add up to it exactly,
 * whatever their binary rounding: 0.1 + 2.1 is 2.1999998 in float, which
 * stayed under block=2.2 (the same for monitor= and cat=*). */
static void test_threshold_reached_exactly(void **state)
{
	static const char src[] =
		"category name=cx\n"
		"threshold cat=spam block=2.2\n"
		"threshold cat=fraud monitor=2.4\n"
		"threshold cat=* block=1.6\n"
		"rule id=1 cat=spam target=text action=score:0.1 pat=/a1/ desc=\"a\"\n"
		"rule id=2 cat=spam target=text action=score:2.1 pat=/a2/ desc=\"a\"\n"
		"rule id=3 cat=fraud target=text action=score:0.3 pat=/b1/ desc=\"b\"\n"
		"rule id=4 cat=fraud target=text action=score:2.1 pat=/b2/ desc=\"b\"\n"
		"rule id=5 cat=cx target=text action=score:0.1 pat=/c1/ desc=\"c\"\n"
		"rule id=6 cat=cx target=text action=score:0.2 pat=/c2/ desc=\"c\"\n"
		"rule id=7 cat=malware target=text action=score:1.3 pat=/c3/ desc=\"c\"\n";
	struct pat_source s = { "x.rules", src, sizeof(src) - 1 };
	struct pat_ruleset *xr;
	struct pat_scratch *xs;
	struct pat_result r;
	struct pat_msg m = { 0 };

	(void)state;
	assert_int_equal(pat_ruleset_compile_sources(&s, 1, NULL, &xr, NULL), PAT_OK);
	assert_int_equal(pat_scratch_alloc(xr, &xs), PAT_OK);
	m.text = "a1 a2";
	m.text_len = 5;
	assert_int_equal(pat_scan_msg(xr, xs, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.category, PAT_CAT_SPAM);
	assert_int_equal(r.rule_id, 2);
	/* monitor=2.4 reached by 0.3 + 2.1 (the total, 2.4, is past 1.6 and
	 * blocks: charged to fraud) */
	m.text = "b1 b2";
	assert_int_equal(pat_scan_msg(xr, xs, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.category, PAT_CAT_FRAUD);
	/* cat=* block=1.6 reached by 0.1 + 0.2 (cx) + 1.3 (malware) */
	m.text = "c1 c2 c3";
	m.text_len = 8;
	assert_int_equal(pat_scan_msg(xr, xs, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.category, PAT_CAT_MALWARE);
	assert_int_equal(r.rule_id, 7);
	/* one rule fewer stays under */
	m.text = "c1 c3";
	m.text_len = 5;
	assert_int_equal(pat_scan_msg(xr, xs, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	pat_scratch_free(xs);
	pat_ruleset_free(xr);
}

static void test_scope(void **state)
{
	struct pat_result r;

	(void)state;
	r = scan("only for acme", NULL, NULL, "acme");
	assert_int_equal(r.rule_id, 50);
	r = scan("only for acme", NULL, NULL, "acme2");
	assert_int_equal(r.rule_id, 50);
	r = scan("only for acme", NULL, NULL, "acm");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	assert_int_equal(r.n_matches, 0); /* out of scope: not even listed */
	r = scan("only for acme", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	r = scan("except acme", NULL, NULL, "acme");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	r = scan("except acme", NULL, NULL, "other");
	assert_int_equal(r.rule_id, 51);
	r = scan("except acme", NULL, NULL, NULL);
	assert_int_equal(r.rule_id, 51);
}

static void test_sender_dest(void **state)
{
	struct pat_result r;

	(void)state;
	r = scan("hi", "HSBC", NULL, "shop");
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 20);
	assert_int_equal(r.category, PAT_CAT_SPOOFING);
	r = scan("hi", "hsbc", NULL, "shop"); /* lists are caseless */
	assert_int_equal(r.rule_id, 20);
	/* the bank's own account is exempt from the exact rule; the
	 * contains rule still monitors */
	r = scan("hi", "HSBC", NULL, "bank_ok");
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	assert_int_equal(r.rule_id, 21);
	/* "HSBC-UK" is not an exact match, but contains the name */
	r = scan("hi", "HSBC-UK", NULL, "shop");
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	assert_int_equal(r.rule_id, 21);
	r = scan("hi", "ACME", NULL, "shop");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	r = scan("hi", NULL, "999123", NULL);
	assert_int_equal(r.rule_id, 22);
	r = scan("hi", NULL, "123999", NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	/* blanks around a sender ID do not show on a handset: "HSBC " is
	 * HSBC to the subscriber (it escaped the exact list), and a
	 * destination " 999123" is 999123 */
	r = scan("hi", "HSBC ", NULL, "shop");
	assert_int_equal(r.rule_id, 20);
	r = scan("hi", " \tPayPal\r\n", NULL, "shop");
	assert_int_equal(r.rule_id, 20);
	r = scan("hi", NULL, " 999123", NULL);
	assert_int_equal(r.rule_id, 22);
	r = scan("hi", "   ", NULL, "shop");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	/* a protected name read through separators and look-alikes is the
	 * name: "H.S.B.C", "Pay-Pal", "PayPal.", Cyrillic "РayPal" (U+0420);
	 * one that only contains it ("HSBC-UK") or another word is not */
	static const char *const spoofs[] = { "H.S.B.C", "Pay-Pal", "PayPal.", "pay pal",
					       "\xd0\xa0" "ayPal", "\xef\xbc\xa8" "SBC" };
	for (size_t i = 0; i < sizeof(spoofs) / sizeof(spoofs[0]); i++) {
		r = scan("hi", spoofs[i], NULL, "shop");
		assert_int_equal(r.rule_id, 20);
		assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
		assert_int_equal(r.n_matches, 2); /* exact and contains, once each */
	}
	r = scan("hi", "H.S.B.C", NULL, "bank_ok"); /* still exempt */
	assert_int_equal(r.rule_id, 21);
	r = scan("hi", "HSBC-UK", NULL, "shop");
	assert_int_equal(r.rule_id, 21);
	r = scan("hi", "Pay-Pals", NULL, "shop");
	assert_int_equal(r.rule_id, 21);
	r = scan("hi", "A.C.M.E", NULL, "shop");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
}

static void test_urls(void **state)
{
	struct pat_result r;

	(void)state;
	r = scan("go to https://WWW.Evil.Example/login now", NULL, NULL, NULL);
	assert_int_equal(r.rule_id, 30);
	assert_int_equal(r.category, PAT_CAT_MALWARE);
	r = scan("go to evil.example/login", NULL, NULL, NULL);
	assert_int_equal(r.rule_id, 30);
	r = scan("see http://a.b.evil.example.", NULL, NULL, NULL);
	assert_int_equal(r.rule_id, 30);
	/* a label boundary is required: notevil.example is another host */
	r = scan("see http://notevil.example/x", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	/* nor is the name inside the path a host */
	r = scan("see http://good.example/evil.example", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	/* regex over the host, anchored per host */
	r = scan("tap bit.ly/abc or http://x.bit.ly/", NULL, NULL, NULL);
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	assert_int_equal(r.rule_id, 31);
	/* a bare name with an unknown TLD and no path is no URL */
	r = scan("ok.so see you", NULL, NULL, NULL);
	assert_int_equal(r.n_matches, 0);
}

/* The host is the one a handset opens: an '@' in the path, query or
 * fragment, user information before the host (the old trick
 * "bank.com@evil.example"), a port, and '_' inside a label (linkified by
 * Android, resolved by browsers) hid a listed host; an e-mail address is
 * still no URL. */
static void test_url_host_tricks(void **state)
{
	static const char *const hit[] = {
		"go http://evil.example/x?to=me@mail.example",
		"go https://paypal.com@evil.example/login",
		"go http://user:pw@evil.example:8080/x",
		"go evil.example/x?u=a@b.example",
		"go HTTP://a@b@evil.example/",
		"go http://evil.example#@paypal.com",
		"go http://evil.example?@x",
		"go http://a_b.evil.example/x",
		"go www.my_bank.evil.example",
		/* '\\' is a path separator (and in the scheme) for browsers */
		"go https://evil.example\\login",
		"go evil.example\\x",
		"go https:\\\\evil.example\\x",
		"go HTTP:/\\evil.example",
		/* the host need not start the token: links are found after
		 * any character that cannot be in a host */
		"Pay:evil.example/x",
		"go https:/evil.example/x",
		"Click:https://evil.example",
		"go a.bc=evil.example/x",
		"go \xe2\x86\x92\x65vil.example/x",
		"go xx/evil.example/y",
		"go x!user@evil.example/y",
	};
	char text[400];
	struct pat_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		r = scan(hit[i], NULL, NULL, NULL);
		if (r.rule_id != 30) {
			print_error("%s: rule %u, want 30\n", hit[i], r.rule_id);
			fail();
		}
	}
	/* an e-mail address, a user-info host that is not listed, a '_' in
	 * the top-level label */
	assert_int_equal(scan("write to me@evil.example", NULL, NULL, NULL).n_matches, 0);
	assert_int_equal(scan("go http://evil.example@good.example/", NULL, NULL, NULL).n_matches, 0);
	assert_int_equal(scan("go http://evil.exam_ple/", NULL, NULL, NULL).n_matches, 0);
	assert_int_equal(scan("go a:me@evil.example", NULL, NULL, NULL).n_matches, 0);
	assert_int_equal(scan("go http://good.example/x:evil.example/", NULL, NULL, NULL).n_matches, 0);
	/* user information of 64 + 1 + 25 bytes (the most Android links)
	 * with a 253-byte host, whole in a stream cut after the '@' */
	char host[254];
	memset(host, 'a', 253);
	host[253] = '\0';
	for (int k = 63; k < 253; k += 64)
		host[k] = '.';
	memcpy(host + 253 - 13, ".evil.example", 13);
	memset(text, 0, sizeof(text));
	strcpy(text, "go https://");
	memset(text + 11, 'u', 64);
	text[75] = ':';
	memset(text + 76, 'p', 25);
	text[101] = '@';
	memcpy(text + 102, host, 253);
	strcpy(text + 355, "/x");
	assert_int_equal(scan(text, NULL, NULL, NULL).rule_id, 30);
	size_t cap = pat_stream_size(rs);
	void *mem = aligned_alloc(8, (cap + 7) & ~(size_t)7);
	struct pat_stream *st;
	struct pat_msg m = { .text = text, .text_len = 102 };
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	m.text = text + 102;
	m.text_len = strlen(text + 102);
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.rule_id, 30);
	free(mem);
}

static void test_match_list_bound(void **state)
{
	char src[40 * 96];
	size_t o = 0;
	struct pat_ruleset *big;
	struct pat_scratch *bs;
	struct pat_result r;
	struct pat_msg m = { .text = "aaa", .text_len = 3 };

	(void)state;
	for (unsigned i = 1; i <= 40; i++)
		o += (size_t)snprintf(src + o, sizeof(src) - o,
				      "rule id=%u cat=spam target=text action=score:0.1 pat=/a/ desc=\"a\"\n", i);
	struct pat_source s = { "b.rules", src, o };
	assert_int_equal(pat_ruleset_compile_sources(&s, 1, NULL, &big, NULL), PAT_OK);
	assert_int_equal(pat_scratch_alloc(big, &bs), PAT_OK);
	assert_int_equal(pat_scan_msg(big, bs, &m, &r), PAT_OK);
	assert_int_equal(r.n_matches, PAT_MAX_MATCHES);
	assert_int_equal(r.matches_dropped, 40 - PAT_MAX_MATCHES);
	/* every rule matched once (single match), all scores counted */
	assert_true(r.scores[PAT_CAT_SPAM] > 3.99f && r.scores[PAT_CAT_SPAM] < 4.01f);
	pat_scratch_free(bs);
	pat_ruleset_free(big);
}

/* A rule counts once per message also when more rules matched than the
 * result keeps: past PAT_MAX_MATCHES the kept list was the only record of
 * what had counted, so a list rule hit through two literals, or a URL rule
 * matched in two parts, added its weight twice (and matches_dropped). */
static void test_once_past_match_list(void **state)
{
	char src[48 * 96], text[256];
	size_t o = 0, t = 0, cap;
	struct pat_ruleset *big;
	struct pat_scratch *bs;
	struct pat_stream *st;
	struct pat_result r;
	struct pat_msg m = { 0 };
	void *mem;

	(void)state;
	for (unsigned i = 1; i <= 40; i++) {
		o += (size_t)snprintf(src + o, sizeof(src) - o,
				      "rule id=%u cat=spam target=text action=score:0.1 pat=/w%02u/ desc=\"w\"\n",
				      i, i);
		t += (size_t)snprintf(text + t, sizeof(text) - t, "w%02u ", i);
	}
	o += (size_t)snprintf(src + o, sizeof(src) - o,
			      "rule id=100 cat=fraud target=norm action=score:1 list=l.txt desc=\"l\"\n"
			      "rule id=101 cat=malware target=url action=score:1 pat=/^evil\\.example$/ desc=\"u\"\n");
	struct pat_source s[2] = { { "b.rules", src, o }, { "l.txt", "foo\nbar\n", 8 } };
	assert_int_equal(pat_ruleset_compile_sources(s, 2, NULL, &big, NULL), PAT_OK);
	assert_int_equal(pat_scratch_alloc(big, &bs), PAT_OK);

	snprintf(text + t, sizeof(text) - t, "foo bar");
	m.text = text;
	m.text_len = strlen(text);
	assert_int_equal(pat_scan_msg(big, bs, &m, &r), PAT_OK);
	assert_int_equal(r.n_matches, PAT_MAX_MATCHES);
	assert_int_equal(r.matches_dropped, 41 - PAT_MAX_MATCHES);
	assert_true(r.scores[PAT_CAT_FRAUD] == 1.0f);

	/* stream: the 40 rules and foo in part 1, bar in part 2; the URL
	 * host in parts 2 and 3 */
	cap = pat_stream_size(big);
	mem = aligned_alloc(8, (cap + 7) & ~(size_t)7);
	assert_int_equal(pat_stream_open(big, bs, mem, cap, &st), PAT_OK);
	text[t + 3] = '\0';
	m.text_len = strlen(text);
	assert_int_equal(pat_stream_scan(big, bs, st, &m, &r), PAT_OK);
	m.text = " bar http://evil.example/a ";
	m.text_len = strlen(m.text);
	assert_int_equal(pat_stream_scan(big, bs, st, &m, &r), PAT_OK);
	m.text = "and http://evil.example/b";
	m.text_len = strlen(m.text);
	assert_int_equal(pat_stream_scan(big, bs, st, &m, &r), PAT_OK);
	assert_int_equal(pat_stream_close(big, bs, st, &r), PAT_OK);
	assert_int_equal(r.n_matches, PAT_MAX_MATCHES);
	assert_int_equal(r.matches_dropped, 42 - PAT_MAX_MATCHES);
	assert_true(r.scores[PAT_CAT_FRAUD] == 1.0f);
	assert_true(r.scores[PAT_CAT_MALWARE] == 1.0f);
	free(mem);
	pat_scratch_free(bs);
	pat_ruleset_free(big);
}

/* Literals of norm / norm-subst lists meet normalised text, so they are
 * normalised the same way: an accented phrase, a double space, a
 * look-alike or a digit swap in a list entry made it never match. */
static void test_norm_lists(void **state)
{
	static const char src[] =
		"rule id=1 cat=fraud target=norm action=block list=n.txt desc=\"n\"\n"
		"rule id=2 cat=spam target=norm-subst action=block list=s.txt desc=\"s\"\n";
	static const char nl[] = "tr\xc3\xa9sor public\nFree  Cash\n\xd0\xa0\x61y now\n";
	static const char sl[] = "fr33 prize\n";
	struct pat_source s[3] = {
		{ "x.rules", src, sizeof(src) - 1 },
		{ "n.txt", nl, sizeof(nl) - 1 },
		{ "s.txt", sl, sizeof(sl) - 1 },
	};
	static const struct {
		const char *text;
		uint32_t rule;
	} cases[] = {
		{ "TRESOR PUBLIC: remboursement", 1 },
		{ "Tr\xc3\xa9sor public", 1 },
		{ "get free cash", 1 },
		{ "FREE \xe2\x80\x8b CASH", 1 },
		{ "pay now", 1 },
		{ "a free prize", 2 },
		{ "a fr3e priz3", 2 },
		{ "prize free", 0 },
	};
	struct pat_ruleset *xr;
	struct pat_scratch *xs;
	struct pat_result r;

	(void)state;
	assert_int_equal(pat_ruleset_compile_sources(s, 3, NULL, &xr, NULL), PAT_OK);
	assert_int_equal(pat_scratch_alloc(xr, &xs), PAT_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pat_msg m = { .text = cases[i].text, .text_len = strlen(cases[i].text) };
		assert_int_equal(pat_scan_msg(xr, xs, &m, &r), PAT_OK);
		if (r.rule_id != cases[i].rule) {
			print_error("'%s': rule %u, want %u\n", cases[i].text, r.rule_id,
				    cases[i].rule);
			fail();
		}
	}
	pat_scratch_free(xs);
	pat_ruleset_free(xr);
}

/* A big literal list (100,000 domains) compiles quickly and matches any of
 * its entries; a list rule hit through two literals counts once. */
static void test_big_list(void **state)
{
	const unsigned n = 100000;
	char *list = malloc((size_t)n * 24), mid[32] = "";
	size_t o = 0;
	uint32_t x = 12345;
	struct pat_ruleset *big;
	struct pat_scratch *bs;
	struct pat_result r;
	struct pat_error e;

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		size_t start = o;
		for (unsigned k = 0; k < 10; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			list[o++] = (char)('a' + x % 26);
		}
		memcpy(list + o, ".example\n", 9);
		o += 9;
		if (i == n / 2)
			memcpy(mid, list + start, 18);
	}
	static const char rules_big[] =
		"rule id=1 cat=malware target=url action=score:1.5 list=big.txt desc=\"big\"\n"
		"rule id=2 cat=malware target=url action=score:1 list=two.txt desc=\"two\"\n";
	struct pat_source s[3] = { { "b.rules", rules_big, sizeof(rules_big) - 1 },
				   { "big.txt", list, o },
				   { "two.txt", "evil.example\nexample\n", 21 } };
	assert_int_equal(pat_ruleset_compile_sources(s, 3, NULL, &big, &e), PAT_OK);
	assert_int_equal(pat_scratch_alloc(big, &bs), PAT_OK);
	char text[96];
	snprintf(text, sizeof(text), "see http://www.%s/x now", mid);
	struct pat_msg m = { .text = text, .text_len = strlen(text) };
	assert_int_equal(pat_scan_msg(big, bs, &m, &r), PAT_OK);
	assert_int_equal(r.n_matches, 2); /* rule 1, and rule 2 via "example" */
	assert_true(r.scores[PAT_CAT_MALWARE] == 2.5f);
	m.text = "go to http://a.evil.example/";
	m.text_len = strlen(m.text);
	assert_int_equal(pat_scan_msg(big, bs, &m, &r), PAT_OK);
	assert_int_equal(r.n_matches, 1);
	assert_int_equal(r.matches[0], 2);
	assert_true(r.scores[PAT_CAT_MALWARE] == 1.0f); /* two literals, once */
	/* the literal map survives serialisation */
	void *blob;
	size_t len;
	struct pat_ruleset *back;
	assert_int_equal(pat_ruleset_serialize(big, &blob, &len), PAT_OK);
	assert_int_equal(pat_ruleset_load(blob, len, &back, &e), PAT_OK);
	pat_scratch_free(bs);
	assert_int_equal(pat_scratch_alloc(back, &bs), PAT_OK);
	assert_int_equal(pat_scan_msg(back, bs, &m, &r), PAT_OK);
	assert_int_equal(r.matches[0], 2);
	free(blob);
	pat_scratch_free(bs);
	pat_ruleset_free(back);
	pat_ruleset_free(big);
	free(list);
}

/* Text longer than PAT_MAX_TEXT is scanned up to the cap; a message with
 * no text is still checked on its sender; an empty ruleset passes all. */
static void test_edges(void **state)
{
	size_t n = PAT_MAX_TEXT + 100;
	char *big = malloc(n);
	struct pat_result r;

	(void)state;
	memset(big, 'a', n);
	memcpy(big + 10, " verify your account ", 21);
	memcpy(big + PAT_MAX_TEXT + 10, " verify your account ", 21);
	struct pat_msg m = { .text = big, .text_len = n };
	assert_int_equal(pat_scan_msg(rs, sc, &m, &r), PAT_OK);
	assert_int_equal(r.rule_id, 1);
	memcpy(big + 10, "aaaaaaaaaaaaaaaaaaaaa", 21);
	assert_int_equal(pat_scan_msg(rs, sc, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS); /* past the cap: unseen */
	free(big);

	r = scan(NULL, "PayPal", NULL, "shop");
	assert_int_equal(r.rule_id, 20);

	struct pat_ruleset *none;
	struct pat_scratch *ns;
	struct pat_source src = { "empty.rules", "# no rules\n", 11 };
	assert_int_equal(pat_ruleset_compile_sources(&src, 1, NULL, &none, NULL), PAT_OK);
	assert_int_equal(pat_ruleset_rule_count(none), 0);
	assert_int_equal(pat_scratch_alloc(none, &ns), PAT_OK);
	struct pat_msg t = { .text = "verify your account", .text_len = 19 };
	assert_int_equal(pat_scan_msg(none, ns, &t, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	size_t cap = pat_stream_size(none);
	void *mem = malloc(cap);
	struct pat_stream *st;
	assert_int_equal(pat_stream_open(none, ns, mem, cap, &st), PAT_OK);
	assert_int_equal(pat_stream_scan(none, ns, st, &t, &r), PAT_OK);
	assert_int_equal(pat_stream_close(none, ns, st, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	free(mem);
	pat_scratch_free(ns);
	pat_ruleset_free(none);
}

/* ---- streaming ---- */

static void *stream_mem(size_t *cap)
{
	*cap = pat_stream_size(rs);
	assert_true(*cap > 0);
	return aligned_alloc(8, (*cap + 7) & ~(size_t)7);
}

static struct pat_result feed(struct pat_stream *st, const char *part)
{
	struct pat_msg m = { .text = part, .text_len = strlen(part) };
	struct pat_result r;
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	return r;
}

static void test_stream_split_url(void **state)
{
	size_t cap;
	void *mem = stream_mem(&cap);
	struct pat_stream *st;
	struct pat_result r;
	const char *p1 = "Your parcel is held, pay the fee at http://ev";
	const char *p2 = "il.example/pay today";

	(void)state;
	/* each part alone is innocent */
	assert_int_equal(scan(p1, NULL, NULL, NULL).verdict, PAT_VERDICT_PASS);
	assert_int_equal(scan(p2, NULL, NULL, NULL).verdict, PAT_VERDICT_PASS);

	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	r = feed(st, p1);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	r = feed(st, p2);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 30);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.rule_id, 30);
	free(mem);
}

/* A URL in the last part with nothing after it is found at close. */
static void test_stream_url_at_end(void **state)
{
	size_t cap;
	void *mem = stream_mem(&cap);
	struct pat_stream *st;
	struct pat_result r;

	(void)state;
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	feed(st, "click http://evil.");
	r = feed(st, "example");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.rule_id, 30);
	free(mem);
}

/* URL hosts are looked for in tokens cut at the same separators in block
 * and stream mode, on a token's first PAT_URL_TOKEN_MAX (353) bytes: a host
 * after a long unbroken run and a quote (found by fuzz_pat_normalise: the
 * stream cut at whitespace and kept 256 bytes of the run, losing the host),
 * and a host at the start of a token longer than the carry, split. */
static void test_stream_long_tokens(void **state)
{
	char text[1200], p1[700];
	size_t cap;
	void *mem = stream_mem(&cap);
	struct pat_stream *st;
	struct pat_result r, b;

	(void)state;
	memset(text, 'u', 300);
	snprintf(text + 300, sizeof(text) - 300, "\"evil.example/x|||");
	b = scan(text, NULL, NULL, NULL);
	assert_int_equal(b.rule_id, 30);
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	r = feed(st, text);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.verdict, b.verdict);
	assert_int_equal(r.rule_id, 30);

	/* "http://evil.example/" then 600 path bytes, split inside the path:
	 * the carried token is cut to 353 bytes and still holds the host. */
	snprintf(p1, sizeof(p1), "see http://evil.example/");
	memset(p1 + strlen(p1), 'a', 400);
	p1[24 + 400] = '\0';
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	r = feed(st, p1);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	r = feed(st, "bbbb end");
	assert_int_equal(r.rule_id, 30);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	snprintf(text, sizeof(text), "%sbbbb end", p1);
	assert_int_equal(scan(text, NULL, NULL, NULL).rule_id, 30);

	/* an '@' past the examined bytes does not make it an e-mail address,
	 * in either mode */
	memset(text, 0, sizeof(text));
	snprintf(text, sizeof(text), "http://evil.example/");
	memset(text + 20, 'c', 300);
	text[320] = '@';
	assert_int_equal(scan(text, NULL, NULL, NULL).rule_id, 30);
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	feed(st, text);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.rule_id, 30);
	free(mem);
}

/* Text patterns span parts; two messages in flight stay independent; an
 * end anchor is decided at close; scores are counted once per message. */
static void test_stream_interleaved(void **state)
{
	size_t cap;
	void *m1 = stream_mem(&cap), *m2 = stream_mem(&cap);
	struct pat_stream *a, *b;
	struct pat_result r;

	(void)state;
	assert_int_equal(pat_stream_open(rs, sc, m1, cap, &a), PAT_OK);
	assert_int_equal(pat_stream_open(rs, sc, m2, cap, &b), PAT_OK);
	feed(a, "please veri");
	feed(b, "a prize, a prize and this is the e");
	r = feed(a, "fy your acc");
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	r = feed(b, "nd");
	assert_int_equal(r.verdict, PAT_VERDICT_MONITOR);
	assert_true(r.scores[PAT_CAT_SPAM] == 2.0f); /* prize twice: counted once */
	r = feed(a, "ount now");
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 1);
	assert_int_equal(pat_stream_close(rs, sc, b, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 60);
	assert_int_equal(pat_stream_close(rs, sc, a, &r), PAT_OK);
	assert_int_equal(r.rule_id, 1);
	free(m1);
	free(m2);
}

/* Many parts, one at a time; the whole-message verdict holds from the part
 * that completes the match on, and the state keeps to its size. */
static void test_stream_many_parts(void **state)
{
	size_t cap;
	void *mem = stream_mem(&cap);
	struct pat_stream *st;
	struct pat_result r;
	const char *msg = "Dear user, please verify your account today or it will close.";

	(void)state;
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	for (size_t i = 0; msg[i]; i++) {
		char part[2] = { msg[i], 0 };
		r = feed(st, part);
		/* "verify your account" is complete at its last 't' */
		size_t done = (size_t)(strstr(msg, "account") - msg) + 6;
		assert_int_equal(r.verdict, i < done ? PAT_VERDICT_PASS : PAT_VERDICT_BLOCK);
	}
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.rule_id, 1);
	free(mem);
}

/* The customer is the first part's (pat.h): scopes of matches in later
 * parts, which may carry no system_id or another one, follow it. */
static void test_stream_customer_of_first_part(void **state)
{
	size_t cap;
	void *mem = stream_mem(&cap);
	struct pat_stream *st;
	struct pat_result r;
	struct pat_msg m = { 0 };

	(void)state;
	/* only:acme,acme2 — matched in the second part, customer acme */
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	m.text = "this is only for ";
	m.text_len = strlen(m.text);
	m.system_id = "acme";
	m.system_id_len = 4;
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	m.text = "acme customers";
	m.text_len = strlen(m.text);
	m.system_id = NULL;
	m.system_id_len = 0;
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_BLOCK);
	assert_int_equal(r.rule_id, 50);

	/* except:acme — acme is exempt for the whole message, even when a
	 * later part names another customer */
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	m.text = "all except ";
	m.text_len = strlen(m.text);
	m.system_id = "acme";
	m.system_id_len = 4;
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	m.text = "acme today";
	m.text_len = strlen(m.text);
	m.system_id = "other";
	m.system_id_len = 5;
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	assert_int_equal(r.verdict, PAT_VERDICT_PASS);
	free(mem);
}

static void test_stream_bad(void **state)
{
	size_t cap;
	void *mem = stream_mem(&cap);
	struct pat_stream *st;
	struct pat_result r;

	(void)state;
	assert_int_equal(pat_stream_open(rs, sc, mem, cap - 1, &st), PAT_ENOSPACE);
	assert_int_equal(pat_stream_open(NULL, sc, mem, cap, &st), PAT_EINVAL);
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_OK);
	/* a closed state is not a stream any more */
	assert_int_equal(pat_stream_close(rs, sc, st, &r), PAT_ESCRATCH);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_scores),
		cmocka_unit_test(test_threshold_reached_exactly),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_sender_dest),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_url_host_tricks),
		cmocka_unit_test(test_match_list_bound),
		cmocka_unit_test(test_once_past_match_list),
		cmocka_unit_test(test_big_list),
		cmocka_unit_test(test_norm_lists),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_stream_bad),
		cmocka_unit_test(test_stream_split_url),
		cmocka_unit_test(test_stream_long_tokens),
		cmocka_unit_test(test_stream_url_at_end),
		cmocka_unit_test(test_stream_interleaved),
		cmocka_unit_test(test_stream_many_parts),
		cmocka_unit_test(test_stream_customer_of_first_part),
	};
	return cmocka_run_group_tests_name("pat_scan", tests, setup, teardown);
}
