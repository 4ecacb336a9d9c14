/*
 * smsfw-bench patterns — rule compile time and scan rate on one core.
 *
 * Configurations: the shipped rules; shipped + 5,000 generated rules;
 * shipped + 20,000 generated rules. Generated rules are 80 % literal phrases
 * (pat=/two or three words/) and 20 % regexes with classes and bounded
 * repeats, all target=norm, action=score:0.01 (so verdicts stay those of the
 * shipped rules), from a fixed-seed generator.
 *
 * For each configuration, over the texts of the labelled corpora:
 *   compile   — parse + every Hyperscan database (block and streaming)
 *   scan+norm — pat_scan_msg(): normalisation, URL hosts, every database,
 *               scopes and scores
 *   scan-raw  — the same rules compiled with every norm/norm-subst target
 *               turned into text, so nothing is normalised
 *   bare hs   — hs_scan() alone over the same block databases, on texts
 *               normalised beforehand (the floor the library adds to)
 * and the ratios between them; then the floor: the shipped whole-word rules
 * alone (normalisation + word table + verdict, no Hyperscan), and the bound:
 * the words of the other norm rules as one literal database, bare hs_scan.
 * Environment: SMSFW_RULES_DIR,
 * SMSFW_CORPUS_DIR override where rules and corpora are looked for.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hs/hs.h>

#include "pat.h"
#include "pat_priv.h" /* bare hs_scan needs the databases */

#define SEED 0x5eed1234u

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Walk up from the executable looking for DIR/rel; NULL if none. */
static char *find_up(const char *rel)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	for (char *slash = strrchr(exe, '/'); slash; slash = strrchr(exe, '/')) {
		*slash = 0;
		snprintf(cand, sizeof(cand), "%s/%s", exe, rel);
		if (is_dir(cand))
			return strdup(cand);
	}
	return NULL;
}

/* ---- sources ---- */

struct srcs {
	struct pat_source *s;
	size_t n;
};

static void add_src(struct srcs *v, const char *name, char *data, size_t len)
{
	v->s = realloc(v->s, (v->n + 1) * sizeof(*v->s));
	if (!v->s)
		abort();
	v->s[v->n].name = strdup(name);
	v->s[v->n].data = data;
	v->s[v->n].len = len;
	v->n++;
}

static void read_dir(struct srcs *v, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d) {
		fprintf(stderr, "bench: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	while ((de = readdir(d))) {
		char p[PATH_MAX + 256];
		FILE *f;
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		char *buf = malloc((size_t)st.st_size + 1);
		f = fopen(p, "rb");
		if (!buf || !f || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
			abort();
		fclose(f);
		add_src(v, de->d_name, buf, (size_t)st.st_size);
	}
	closedir(d);
}

static uint32_t rng = SEED;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void word(char *out, size_t *o)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ne", "tu", "ra", "zo",
		"pe", "shi", "dan", "vor", "qui", "bel", "tra", "gon", "fex" };
	unsigned k = 2 + rnd() % 3;
	for (unsigned i = 0; i < k; i++) {
		const char *s = syl[rnd() % 16];
		size_t l = strlen(s);
		memcpy(out + *o, s, l);
		*o += l;
	}
}

/* n generated rules, ids from 100000: 80 % literal phrases, 20 % regexes. */
static char *gen_rules(unsigned n, size_t *len)
{
	size_t cap = (size_t)n * 200 + 64, o = 0;
	char *b = malloc(cap);

	rng = SEED;
	for (unsigned i = 0; i < n; i++) {
		char pat[160];
		size_t p = 0;
		if (rnd() % 5 != 0) {
			unsigned words = 2 + rnd() % 2;
			for (unsigned w = 0; w < words; w++) {
				if (w)
					pat[p++] = ' ';
				word(pat, &p);
			}
		} else {
			switch (rnd() % 4) {
			case 0:
				p += (size_t)snprintf(pat, sizeof(pat), "\\b");
				word(pat, &p);
				p += (size_t)snprintf(pat + p, sizeof(pat) - p, "[a-z]{0,3}\\s+\\d{2,4}\\b");
				break;
			case 1:
				word(pat, &p);
				p += (size_t)snprintf(pat + p, sizeof(pat) - p, "\\.(com|net|xyz)\\/[a-z0-9]{1,8}");
				break;
			case 2:
				p += (size_t)snprintf(pat, sizeof(pat), "\\b(txt|call)\\s?");
				word(pat, &p);
				p += (size_t)snprintf(pat + p, sizeof(pat) - p, "\\s?[0-9]{5,11}");
				break;
			default:
				word(pat, &p);
				p += (size_t)snprintf(pat + p, sizeof(pat) - p, "[^a-z]{1,4}");
				word(pat, &p);
				break;
			}
		}
		pat[p] = 0;
		o += (size_t)snprintf(b + o, cap - o,
				      "rule id=%u cat=spam target=norm action=score:0.01 pat=/%s/ desc=\"generated\"\n",
				      100000 + i, pat);
	}
	*len = o;
	return b;
}

/* The shipped sources with only their whole-word rules (the ones the word
 * table takes in block mode) and the category/threshold lines: the floor
 * of normalisation + word table + bookkeeping with no Hyperscan block
 * database for the message text. *n_rules: rules kept. */
static struct srcs words_only(const struct srcs *v, const struct pat_ruleset *rs,
			      unsigned *n_rules)
{
	struct srcs o = { 0 };

	*n_rules = 0;
	for (size_t i = 0; i < v->n; i++) {
		const char *p = v->s[i].data, *end = p + v->s[i].len;
		char *out = malloc(v->s[i].len + 1);
		size_t ol = 0;
		if (!out)
			abort();
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl + 1 : end;
			int keep = 1;
			if ((size_t)(le - p) > 8 && memcmp(p, "rule id=", 8) == 0) {
				uint32_t id = 0;
				for (const char *d = p + 8; d < le && *d >= '0' && *d <= '9'; d++)
					id = id * 10 + (uint32_t)(*d - '0');
				int k = pat_rule_index(rs, id);
				keep = k >= 0 && pat_words_rule(&rs->rules[k]);
				*n_rules += (unsigned)keep;
			}
			if (keep) {
				memcpy(out + ol, p, (size_t)(le - p));
				ol += (size_t)(le - p);
			}
			p = le;
		}
		add_src(&o, v->s[i].name, out, ol);
	}
	return o;
}

/* Same sources with every normalised target made raw text. */
static struct srcs raw_variant(const struct srcs *v)
{
	struct srcs r = { 0 };
	for (size_t i = 0; i < v->n; i++) {
		const char *d = v->s[i].data;
		size_t n = v->s[i].len, o = 0;
		char *c = malloc(n + 1);
		for (size_t k = 0; k < n;) {
			if (n - k >= 18 && memcmp(d + k, "target=norm-subst", 17) == 0) {
				memcpy(c + o, "target=text", 11);
				o += 11;
				k += 17;
			} else if (n - k >= 12 && memcmp(d + k, "target=norm ", 12) == 0) {
				memcpy(c + o, "target=text ", 12);
				o += 12;
				k += 12;
			} else {
				c[o++] = d[k++];
			}
		}
		add_src(&r, v->s[i].name, c, o);
	}
	return r;
}

/* ---- corpus ---- */

struct text {
	const char *p;
	size_t n;
};
static struct text *texts;
static size_t n_texts, text_bytes;

static void load_corpus(const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[PATH_MAX + 256];
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".tsv") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		FILE *f = fopen(p, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while (f && (n = getline(&line, &cap, f)) > 0) {
			char *tab = memchr(line, '\t', (size_t)n);
			if (!tab)
				continue;
			size_t tl = (size_t)(line + n - tab - 1);
			while (tl && (tab[tl] == '\n' || tab[tl] == '\r'))
				tl--;
			texts = realloc(texts, (n_texts + 1) * sizeof(*texts));
			char *t = malloc(tl ? tl : 1);
			memcpy(t, tab + 1, tl);
			texts[n_texts].p = t;
			texts[n_texts].n = tl;
			text_bytes += tl;
			n_texts++;
		}
		free(line);
		if (f)
			fclose(f);
	}
	closedir(d);
}

/* ---- measurements ---- */

struct rate {
	double msgs_s, mb_s;
};

/* Repeat passes over the corpus for about `secs` seconds. */
static struct rate scan_rate(const struct pat_ruleset *rs, double secs, unsigned *blocked)
{
	struct pat_scratch *sc;
	struct pat_result r;
	size_t msgs = 0, bytes = 0;
	double t0, t;

	if (pat_scratch_alloc(rs, &sc))
		abort();
	*blocked = 0;
	for (size_t i = 0; i < n_texts; i++) {
		struct pat_msg m = { .text = texts[i].p, .text_len = texts[i].n };
		pat_scan_msg(rs, sc, &m, &r);
		*blocked += r.verdict == PAT_VERDICT_BLOCK;
	}
	t0 = now();
	do {
		for (size_t i = 0; i < n_texts; i++) {
			struct pat_msg m = { .text = texts[i].p, .text_len = texts[i].n };
			pat_scan_msg(rs, sc, &m, &r);
		}
		msgs += n_texts;
		bytes += text_bytes;
		t = now() - t0;
	} while (t < secs);
	pat_scratch_free(sc);
	return (struct rate){ (double)msgs / t, (double)bytes / t / 1e6 };
}

static int count_cb(unsigned int id, unsigned long long from,
		    unsigned long long to, unsigned int flags, void *ctx)
{
	(void)id; (void)from; (void)to; (void)flags;
	(*(unsigned long *)ctx)++;
	return 0;
}

/* The corpus texts normalised with @p flags, each in its own malloc'd
 * buffer (free with free_texts()). */
static struct text *normalised_texts(unsigned flags)
{
	struct text *out = calloc(n_texts, sizeof(*out));

	if (!out)
		abort();
	for (size_t i = 0; i < n_texts; i++) {
		char *b = malloc(2 * texts[i].n + 8);
		if (!b)
			abort();
		out[i].n = pat_normalise(texts[i].p, texts[i].n, b, 2 * texts[i].n + 8, flags);
		out[i].p = b;
	}
	return out;
}

static void free_texts(struct text *t)
{
	for (size_t i = 0; i < n_texts; i++)
		free((void *)t[i].p);
	free(t);
}

/* hs_scan alone over the text, norm and norm-subst block databases, on
 * texts normalised beforehand. */
static struct rate bare_rate(const struct pat_ruleset *rs, double secs)
{
	hs_scratch_t *hsc = NULL;
	struct text *norm = normalised_texts(0), *sub = normalised_texts(PAT_NORM_SUBST);
	unsigned long hits = 0;
	size_t msgs = 0, bytes = 0;
	double t0, t;

	for (unsigned tg = 0; tg < 3; tg++)
		for (unsigned k = 0; k < 2; k++)
			if (rs->db[tg][k][0] && hs_alloc_scratch(rs->db[tg][k][0], &hsc))
				abort();
	t0 = now();
	do {
		for (size_t i = 0; i < n_texts; i++) {
			const struct text *in[3] = { &texts[i], &norm[i], &sub[i] };
			for (unsigned tg = 0; tg < 3; tg++)
				for (unsigned k = 0; k < 2; k++)
					if (rs->db[tg][k][0])
						hs_scan(rs->db[tg][k][0], in[tg]->p, (unsigned)in[tg]->n,
							0, hsc, count_cb, &hits);
		}
		msgs += n_texts;
		bytes += text_bytes;
		t = now() - t0;
	} while (t < secs);
	free_texts(norm);
	free_texts(sub);
	hs_free_scratch(hsc);
	return (struct rate){ (double)msgs / t, (double)bytes / t / 1e6 };
}

/* What finding the words of the shipped regex rules costs with Hyperscan,
 * before any rule logic: every word (a run of two or more letters) the
 * norm/norm-subst regex rules name, as one literal database
 * (hs_compile_lit_multi, every hit reported, as an engine that checks the
 * gaps between words itself would need), scanned over the substituted
 * normalised texts. *n_rules: those rules; *n_lits: distinct words. */
static struct rate literal_bound(const struct pat_ruleset *rs, double secs, unsigned *n_rules,
				 unsigned *n_lits, double *hits_per_msg)
{
	size_t cap = 4096, n = 0;
	const char **lit = malloc(cap * sizeof(*lit));
	size_t *len = malloc(cap * sizeof(*len));
	unsigned *ids = malloc(cap * sizeof(*ids)), *flags = calloc(cap, sizeof(*flags));
	struct text *sub;
	hs_database_t *db = NULL;
	hs_scratch_t *hsc = NULL;
	hs_compile_error_t *err = NULL;
	unsigned long hits = 0;
	size_t msgs = 0, bytes = 0;
	double t0, t;

	if (!lit || !len || !ids || !flags)
		abort();
	*n_rules = 0;
	for (uint32_t k = 0; k < rs->n_rules; k++) {
		const struct pat_rule *r = &rs->rules[k];
		if (r->is_list || pat_words_rule(r) ||
		    (r->target != PAT_TARGET_NORM && r->target != PAT_TARGET_NORM_SUBST))
			continue;
		++*n_rules;
		for (const char *q = r->pattern; *q;) {
			/* skip escapes (\b, \s, \d ...): their letter is no word */
			if (*q == '\\' && q[1]) {
				q += 2;
				continue;
			}
			const char *w = q;
			while (*q >= 'a' && *q <= 'z')
				q++;
			if (q == w) {
				q++;
				continue;
			}
			size_t l = (size_t)(q - w), j;
			if (l < 2)
				continue;
			for (j = 0; j < n; j++)
				if (len[j] == l && memcmp(lit[j], w, l) == 0)
					break;
			if (j < n || n == cap)
				continue;
			lit[n] = w;
			len[n] = l;
			ids[n] = (unsigned)n;
			n++;
		}
	}
	*n_lits = (unsigned)n;
	if (hs_compile_lit_multi(lit, flags, ids, len, (unsigned)n, HS_MODE_BLOCK, NULL, &db, &err) ||
	    hs_alloc_scratch(db, &hsc))
		abort();
	sub = normalised_texts(PAT_NORM_SUBST);
	t0 = now();
	do {
		for (size_t i = 0; i < n_texts; i++)
			hs_scan(db, sub[i].p, (unsigned)sub[i].n, 0, hsc, count_cb, &hits);
		msgs += n_texts;
		bytes += text_bytes;
		t = now() - t0;
	} while (t < secs);
	*hits_per_msg = (double)hits / (double)msgs;
	free_texts(sub);
	hs_free_scratch(hsc);
	hs_free_database(db);
	free(lit);
	free(len);
	free(ids);
	free(flags);
	return (struct rate){ (double)msgs / t, (double)bytes / t / 1e6 };
}

static double normalise_ns_160(const char *base, unsigned flags)
{
	char in[161], out[400];
	size_t bl = strlen(base), k = 0;
	unsigned long iters = 0;
	volatile size_t sink = 0;
	double t0, t;

	while (k < 160) {
		size_t c = bl < 160 - k ? bl : 160 - k;
		memcpy(in + k, base, c);
		k += c;
	}
	t0 = now();
	do {
		for (int i = 0; i < 10000; i++)
			sink += pat_normalise(in, 160, out, sizeof(out), flags);
		iters += 10000;
		t = now() - t0;
	} while (t < 0.5);
	(void)sink;
	return t / (double)iters * 1e9;
}

int main(int argc, char **argv)
{
	const char *rules_env = getenv("SMSFW_RULES_DIR"), *corpus_env = getenv("SMSFW_CORPUS_DIR");
	char *rules_dir = rules_env ? strdup(rules_env) : find_up("patterns/rules");
	char *corpus_dir = corpus_env ? strdup(corpus_env) : find_up("shared/corpus/sms");
	static const unsigned extra[] = { 0, 5000, 20000 };
	const double secs = 1.0;
	char cpu[256] = "unknown";
	FILE *ci = fopen("/proc/cpuinfo", "r");

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: smsfw-bench patterns   (no arguments)\n");
		return 2;
	}
	if (ci) {
		char line[512];
		while (fgets(line, sizeof(line), ci))
			if (strncmp(line, "model name", 10) == 0) {
				char *c = strchr(line, ':');
				const char *v = c ? c + 2 : line;
				size_t l = strnlen(v, sizeof(cpu) - 1);
				memcpy(cpu, v, l);
				cpu[l] = 0;
				cpu[strcspn(cpu, "\n")] = 0;
				break;
			}
		fclose(ci);
	}
	if (!rules_dir && is_dir("/usr/local/share/smsfw/rules"))
		rules_dir = strdup("/usr/local/share/smsfw/rules");
	if (!rules_dir) {
		fprintf(stderr, "bench: no shipped rules found; set SMSFW_RULES_DIR\n");
		return 1;
	}
	load_corpus(corpus_dir);
	if (!n_texts) {
		fprintf(stderr, "bench: no corpus (*.tsv) found; set SMSFW_CORPUS_DIR\n");
		return 1;
	}

	printf("# smsfw-bench patterns\n");
	printf("config: cpu \"%s\", one thread, Hyperscan %s\n", cpu, hs_version());
	printf("config: rules %s; corpus %s: %zu messages, %zu bytes (mean %.0f B)\n",
	       rules_dir, corpus_dir, n_texts, text_bytes, (double)text_bytes / (double)n_texts);
	printf("config: generated rules: 80%% literal phrases, 20%% regexes (classes, bounded repeats),"
	       " target=norm, score:0.01, seed 0x%x\n", SEED);
	printf("config: each rate measured for >= %.1f s; compile = parse + all databases (block + streaming),\n"
	       "        wall time with one compile thread per CPU (%ld online); cpu_s = CPU time of all threads\n",
	       secs, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);

	struct srcs shipped = { 0 };
	read_dir(&shipped, rules_dir);
	{
		static const char plain[] = "Congratulations! You have WON a 1000 prize. Call 09061701461 "
					    "or visit http://bit.ly/abc to claim. Free entry, reply STOP "
					    "to opt out. See you at the fair today ok ";
		static const char obf[] = "Congr4tulations! You've WON a \xc2\xa3" "1000 prize. Call 09061701461 "
					  "or visit http://bit.ly/abc to cl@im. F R E E entry, reply STOP "
					  "to opt out. \xd0\xa0\xd0\xb0yPal \xef\xbc\xa6\xef\xbd\x92\xef\xbd\x85\xef\xbd\x85 ";
		char out[4 * 1024];
		double t0 = now();
		size_t sink = 0;
		for (int r = 0; r < 20; r++)
			for (size_t i = 0; i < n_texts; i++)
				sink += pat_normalise(texts[i].p, texts[i].n, out, sizeof(out), 0);
		double per = (now() - t0) / 20 / (double)n_texts * 1e9;
		printf("\nnormalise: plain 160 chars %.0f ns; obfuscated 160 chars (look-alikes, \"F R E E\") %.0f ns,"
		       " with PAT_NORM_SUBST %.0f ns; corpus mean (%.0f B) %.0f ns [%zu]\n",
		       normalise_ns_160(plain, 0), normalise_ns_160(obf, 0),
		       normalise_ns_160(obf, PAT_NORM_SUBST), (double)text_bytes / (double)n_texts, per,
		       sink % 10);
	}
	printf("\n%-16s %6s %9s %9s %12s %9s %12s %12s %12s %8s %8s\n", "ruleset", "rules", "compile_s", "cpu_s",
	       "scan_msg/s", "scan_MB/s", "raw_msg/s", "bare_msg/s", "bare_MB/s", "scan/bare", "norm_cost");
	for (unsigned c = 0; c < 3; c++) {
		struct srcs v = { 0 };
		struct pat_ruleset *rs, *raw;
		struct pat_error e;
		unsigned blocked, blocked_raw;
		for (size_t i = 0; i < shipped.n; i++) {
			char *d = malloc(shipped.s[i].len + 1);
			memcpy(d, shipped.s[i].data, shipped.s[i].len);
			add_src(&v, shipped.s[i].name, d, shipped.s[i].len);
		}
		if (extra[c]) {
			size_t gl;
			char *g = gen_rules(extra[c], &gl);
			add_src(&v, "zz_generated.rules", g, gl);
		}
		double t0 = now(), c0 = cpu_now();
		if (pat_ruleset_compile_sources(v.s, v.n, NULL, &rs, &e)) {
			fprintf(stderr, "bench: compile: %s:%u:%u %s\n", e.file, e.line, e.column, e.message);
			return 1;
		}
		double ct = now() - t0, cc = cpu_now() - c0;
		struct srcs rv = raw_variant(&v);
		if (pat_ruleset_compile_sources(rv.s, rv.n, NULL, &raw, &e)) {
			fprintf(stderr, "bench: compile raw: %s\n", e.message);
			return 1;
		}
		struct rate s = scan_rate(rs, secs, &blocked);
		struct rate r = scan_rate(raw, secs, &blocked_raw);
		struct rate b = bare_rate(rs, secs);
		char name[32];
		snprintf(name, sizeof(name), extra[c] ? "shipped+%u" : "shipped", extra[c]);
		printf("%-16s %6zu %9.2f %9.2f %12.0f %9.1f %12.0f %12.0f %12.1f %8.2f %8.2f\n", name,
		       pat_ruleset_rule_count(rs), ct, cc, s.msgs_s, s.mb_s, r.msgs_s, b.msgs_s, b.mb_s,
		       s.msgs_s / b.msgs_s, r.msgs_s / s.msgs_s);
		printf("  (%u of %zu corpus messages blocked; with raw-text targets %u)\n", blocked,
		       n_texts, blocked_raw);
		fflush(stdout);
		pat_ruleset_free(rs);
		pat_ruleset_free(raw);
		for (size_t i = 0; i < v.n; i++) {
			free((void *)v.s[i].name);
			free((void *)v.s[i].data);
			free((void *)rv.s[i].name);
			free((void *)rv.s[i].data);
		}
		free(v.s);
		free(rv.s);
	}
	{
		struct pat_ruleset *rs, *wrs;
		struct pat_error e;
		unsigned nw, blocked;
		if (pat_ruleset_compile_sources(shipped.s, shipped.n, NULL, &rs, &e)) {
			fprintf(stderr, "bench: compile: %s\n", e.message);
			return 1;
		}
		struct srcs wv = words_only(&shipped, rs, &nw);
		if (pat_ruleset_compile_sources(wv.s, wv.n, NULL, &wrs, &e)) {
			fprintf(stderr, "bench: compile words-only: %s\n", e.message);
			return 1;
		}
		struct rate r = scan_rate(wrs, secs, &blocked);
		printf("\nfloor: the %u whole-word rules of the shipped set alone (normalise, substitute, word table and\n"
		       "       verdict; no Hyperscan database at all): %.0f msg/s, %.1f MB/s\n",
		       nw, r.msgs_s, r.mb_s);
		unsigned nr, nl;
		double hpm;
		struct rate lb = literal_bound(rs, secs, &nr, &nl, &hpm);
		printf("bound: the %u words the other %u norm/norm-subst rules name, as one literal Hyperscan\n"
		       "       database, bare hs_scan over pre-normalised texts (finding the words, no rule logic):\n"
		       "       %.0f msg/s, %.1f MB/s, %.1f word hits per message\n",
		       nl, nr, lb.msgs_s, lb.mb_s, hpm);
		for (size_t i = 0; i < wv.n; i++) {
			free((void *)wv.s[i].name);
			free((void *)wv.s[i].data);
		}
		free(wv.s);
		pat_ruleset_free(wrs);
		pat_ruleset_free(rs);
	}
	printf("\nscan/bare = pat_scan_msg rate / bare hs_scan rate (cost of normalisation + bookkeeping);\n"
	       "norm_cost = raw-target rate / normalised-target rate.\n"
	       "targets: shipped+20000 compile <= 10 s; shipped scan+norm >= 3,000,000 msg/s/core\n");
	return 0;
}
