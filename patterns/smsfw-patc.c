/*
 * smsfw-patc — the security team's rule tool.
 *
 *   smsfw-patc validate [RULES_DIR]
 *   smsfw-patc compile [--version N] -o OUT.rsb [RULES_DIR]
 *   smsfw-patc keygen -o NAME            (writes NAME.pub and NAME.key)
 *   smsfw-patc bundle -k NAME.key -o OUT.bundle [RULES_DIR]
 *   smsfw-patc verify -p NAME.pub BUNDLE
 *   smsfw-patc scan [--rules DIR] [--sender S] [--dest D] [--system-id ID] TEXT
 *   smsfw-patc test [--json] [--lines all|odd|even] [--matches] --corpus FILE [RULES_DIR]
 *
 * Exit codes: 0 success (for test: the corpus was scored, whatever the
 * score; for scan: the text was scanned, whatever the verdict); 1 the rules
 * do not parse or compile; 2 usage error; 3 a file could not be read or
 * written; 4 a bundle was refused (signature, truncation, format); 5 any
 * other failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <jansson.h>

#include "pat.h"

enum {
	EX_OK = 0,
	EX_RULES = 1,
	EX_USAGE = 2,
	EX_IO = 3,
	EX_BUNDLE = 4,
	EX_OTHER = 5,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smsfw-patc COMMAND [OPTIONS]\n"
		"  validate [RULES_DIR]                     parse and compile, report errors\n"
		"  compile [--version N] -o OUT [RULES_DIR] write a compiled ruleset blob\n"
		"  keygen -o NAME                           make NAME.pub / NAME.key (Ed25519)\n"
		"  bundle -k NAME.key -o OUT [RULES_DIR]    sign the rule files into a bundle\n"
		"  verify -p NAME.pub BUNDLE                check a bundle and compile it\n"
		"  scan [--rules DIR] [--sender S] [--dest D] [--system-id ID] TEXT\n"
		"  test [--json] [--lines all|odd|even] [--matches] --corpus FILE [RULES_DIR]\n"
		"     (--matches: one line per message: M, line, label, verdict, rule ids)\n"
		"RULES_DIR defaults to the installed shipped rules (%s),\n"
		"or %s when run from the build tree.\n"
		"exit: 0 ok, 1 rules invalid, 2 usage, 3 I/O, 4 bundle refused, 5 other\n",
		PAT_RULES_INSTALLED, PAT_RULES_SOURCE);
}

static const char *default_rules(void)
{
	struct stat st;
	if (stat(PAT_RULES_INSTALLED, &st) == 0 && S_ISDIR(st.st_mode))
		return PAT_RULES_INSTALLED;
	return PAT_RULES_SOURCE;
}

static int report_error(int rc, const struct pat_error *e)
{
	if (e->file[0] && e->line)
		fprintf(stderr, "%s:%u:%u: error: %s\n", e->file, e->line, e->column,
			e->message);
	else if (e->file[0])
		fprintf(stderr, "%s: error: %s\n", e->file, e->message[0] ? e->message
						      : pat_strerror(rc));
	else
		fprintf(stderr, "smsfw-patc: error: %s\n",
			e->message[0] ? e->message : pat_strerror(rc));
	switch (rc) {
	case PAT_ESYNTAX: case PAT_EDUPID: case PAT_ECOMPILE: case PAT_ELIMIT:
		return EX_RULES;
	case PAT_EIO: return EX_IO;
	case PAT_ESIGNATURE: case PAT_ETRUNCATED: case PAT_EFORMAT:
		return EX_BUNDLE;
	default: return EX_OTHER;
	}
}

static int compile_dir(const char *dir, const struct pat_compile_opts *o,
		       struct pat_ruleset **rs)
{
	struct pat_error e;
	int rc = pat_ruleset_compile_dir(dir, o, rs, &e);
	if (rc)
		return report_error(rc, &e);
	return EX_OK;
}

static void print_summary(const struct pat_ruleset *rs)
{
	char hex[65];
	pat_ruleset_source_hash_hex(rs, hex);
	printf("ok: %zu rules, %u categories, source hash %s\n",
	       pat_ruleset_rule_count(rs), pat_ruleset_category_count(rs), hex);
}

static int cmd_validate(int argc, char **argv)
{
	struct pat_ruleset *rs;
	int ex;

	if (argc > 2)
		return usage(stderr), EX_USAGE;
	ex = compile_dir(argc == 2 ? argv[1] : default_rules(), NULL, &rs);
	if (ex)
		return ex;
	print_summary(rs);
	pat_ruleset_free(rs);
	return EX_OK;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

static int cmd_compile(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "version", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pat_compile_opts o = { 0 };
	const char *out = NULL;
	struct pat_ruleset *rs;
	int c, ex;

	while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'V' && parse_u64(optarg, &o.version) == 0)
			continue;
		else
			return usage(stderr), EX_USAGE;
	}
	if (!out || argc - optind > 1)
		return usage(stderr), EX_USAGE;
	ex = compile_dir(optind < argc ? argv[optind] : default_rules(), &o, &rs);
	if (ex)
		return ex;
	c = pat_ruleset_save_file(rs, out);
	if (c) {
		fprintf(stderr, "smsfw-patc: %s: %s\n", out, pat_strerror(c));
		pat_ruleset_free(rs);
		return c == PAT_EIO ? EX_IO : EX_OTHER;
	}
	print_summary(rs);
	pat_ruleset_free(rs);
	return EX_OK;
}

static int write_hex(const char *path, const uint8_t *k, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	FILE *f;
	if (fd < 0) {
		fprintf(stderr, "smsfw-patc: %s: %s\n", path, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", k[i]);
	fprintf(f, "\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int cmd_keygen(int argc, char **argv)
{
	uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES], sk[PAT_BUNDLE_SECRETKEY_BYTES];
	char p1[4096], p2[4096];
	const char *name = NULL;
	int c;

	while ((c = getopt(argc, argv, "o:")) != -1) {
		if (c == 'o')
			name = optarg;
		else
			return usage(stderr), EX_USAGE;
	}
	if (!name || optind != argc)
		return usage(stderr), EX_USAGE;
	if (pat_bundle_keygen(pk, sk))
		return EX_OTHER;
	snprintf(p1, sizeof(p1), "%s.pub", name);
	snprintf(p2, sizeof(p2), "%s.key", name);
	if (write_hex(p1, pk, sizeof(pk), 0644) || write_hex(p2, sk, sizeof(sk), 0600))
		return EX_IO;
	printf("public key %s, secret key %s\n", p1, p2);
	return EX_OK;
}

/* All regular files of dir, as sources (names sorted by the compiler). */
static int read_dir_sources(const char *dir, struct pat_source **out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct pat_source *s = NULL;
	size_t k = 0;

	if (!d) {
		fprintf(stderr, "smsfw-patc: %s: %s\n", dir, strerror(errno));
		return EX_IO;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;
		FILE *f;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		struct pat_source *ns = realloc(s, (k + 1) * sizeof(*s));
		if (!ns)
			break;
		s = ns;
		char *buf = malloc((size_t)st.st_size + 1);
		f = fopen(path, "rb");
		if (!buf || !f || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			fprintf(stderr, "smsfw-patc: %s: cannot read\n", path);
			free(buf);
			if (f)
				fclose(f);
			closedir(d);
			*out = s;
			*n = k;
			return EX_IO;
		}
		fclose(f);
		s[k].name = strdup(de->d_name);
		s[k].data = buf;
		s[k].len = (size_t)st.st_size;
		k++;
	}
	closedir(d);
	*out = s;
	*n = k;
	return EX_OK;
}

static void free_sources(struct pat_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((void *)s[i].name);
		free((void *)s[i].data);
	}
	free(s);
}

static int cmd_bundle(int argc, char **argv)
{
	const char *keyf = NULL, *out = NULL, *dir;
	uint8_t sk[PAT_BUNDLE_SECRETKEY_BYTES];
	struct pat_source *srcs = NULL;
	struct pat_ruleset *rs = NULL;
	struct pat_error e;
	size_t n = 0, blen;
	void *blob;
	int c, ex;

	while ((c = getopt(argc, argv, "k:o:")) != -1) {
		if (c == 'k')
			keyf = optarg;
		else if (c == 'o')
			out = optarg;
		else
			return usage(stderr), EX_USAGE;
	}
	if (!keyf || !out || argc - optind > 1)
		return usage(stderr), EX_USAGE;
	dir = optind < argc ? argv[optind] : default_rules();
	if ((c = pat_key_load(keyf, sk, sizeof(sk)))) {
		fprintf(stderr, "smsfw-patc: %s: not a secret key file (%s)\n", keyf,
			pat_strerror(c));
		return c == PAT_EIO ? EX_IO : EX_USAGE;
	}
	ex = read_dir_sources(dir, &srcs, &n);
	if (ex)
		goto out;
	/* Never sign rules that do not compile. */
	c = pat_ruleset_compile_sources(srcs, n, NULL, &rs, &e);
	if (c) {
		ex = report_error(c, &e);
		goto out;
	}
	if (pat_ruleset_rule_count(rs) == 0) {
		/* loaded, it would turn every rule of the firewall off */
		fprintf(stderr, "smsfw-patc: %s: no rules: a bundle without rules is not signed\n", dir);
		ex = EX_RULES;
		goto out;
	}
	c = pat_bundle_create(srcs, n, sk, &blob, &blen);
	if (c) {
		/* say which file: names travel in the bundle and are
		 * refused with a control character or a '\\' (pat.h) */
		for (size_t i = 0; i < n && c == PAT_EINVAL; i++)
			for (const char *p = srcs[i].name; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == '\\') {
					fprintf(stderr, "smsfw-patc: %s/%s: a file name with a control character or '\\' cannot go in a bundle\n",
						dir, srcs[i].name);
					break;
				}
		if (c != PAT_EINVAL)
			fprintf(stderr, "smsfw-patc: bundle: %s\n", pat_strerror(c));
		ex = EX_OTHER;
		goto out;
	}
	FILE *f = fopen(out, "wb");
	if (!f || fwrite(blob, 1, blen, f) != blen || fclose(f) != 0) {
		fprintf(stderr, "smsfw-patc: %s: %s\n", out, strerror(errno));
		ex = EX_IO;
	} else {
		printf("bundle %s: %zu files, %zu bytes, signed\n", out, n, blen);
	}
	free(blob);
out:
	pat_ruleset_free(rs);
	free_sources(srcs, n);
	return ex;
}

static int cmd_verify(int argc, char **argv)
{
	uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES];
	const char *keyf = NULL;
	struct pat_ruleset *rs;
	struct pat_error e;
	int c;

	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c == 'p')
			keyf = optarg;
		else
			return usage(stderr), EX_USAGE;
	}
	if (!keyf || argc - optind != 1)
		return usage(stderr), EX_USAGE;
	if ((c = pat_key_load(keyf, pk, sizeof(pk)))) {
		fprintf(stderr, "smsfw-patc: %s: not a public key file (%s)\n", keyf,
			pat_strerror(c));
		return c == PAT_EIO ? EX_IO : EX_USAGE;
	}
	c = pat_ruleset_compile_bundle(argv[optind], pk, NULL, &rs, &e);
	if (c) {
		if (c == PAT_EIO)
			return report_error(c, &e);
		fprintf(stderr, "%s: REFUSED: %s\n", argv[optind], e.message);
		return (c == PAT_ESIGNATURE || c == PAT_ETRUNCATED || c == PAT_EFORMAT)
			       ? EX_BUNDLE : report_error(c, &e);
	}
	printf("%s: signature good; ", argv[optind]);
	print_summary(rs);
	pat_ruleset_free(rs);
	return EX_OK;
}

static const char *target_name(enum pat_target t)
{
	static const char *const n[] = { "text", "norm", "norm-subst", "sender",
					 "dest", "url" };
	return (unsigned)t < PAT_TARGET_COUNT ? n[t] : "?";
}

static int cmd_scan(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "sender", required_argument, NULL, 's' },
		{ "dest", required_argument, NULL, 'd' },
		{ "system-id", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct pat_msg m = { 0 };
	struct pat_ruleset *rs;
	struct pat_scratch *s;
	struct pat_result r;
	static char norm[4 * PAT_MAX_TEXT];
	int c, ex;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': dir = optarg; break;
		case 's': m.sender = optarg; m.sender_len = strlen(optarg); break;
		case 'd': m.dest = optarg; m.dest_len = strlen(optarg); break;
		case 'c': m.system_id = optarg; m.system_id_len = strlen(optarg); break;
		default: return usage(stderr), EX_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage(stderr), EX_USAGE;
	m.text = argv[optind];
	m.text_len = strlen(m.text);
	ex = compile_dir(dir ? dir : default_rules(), NULL, &rs);
	if (ex)
		return ex;
	if (pat_scratch_alloc(rs, &s)) {
		pat_ruleset_free(rs);
		return EX_OTHER;
	}
	size_t nl = pat_normalise(m.text, m.text_len, norm, sizeof(norm), 0);
	printf("normalised: %.*s\n", (int)nl, norm);
	nl = pat_normalise(m.text, m.text_len, norm, sizeof(norm), PAT_NORM_SUBST);
	printf("substituted: %.*s\n", (int)nl, norm);
	if (pat_scan_msg(rs, s, &m, &r)) {
		ex = EX_OTHER;
		goto out;
	}
	for (unsigned i = 0; i < r.n_matches; i++) {
		struct pat_rule_info ri;
		if (pat_rule_info(rs, r.matches[i], &ri))
			continue;
		char act[32];
		if (ri.action == PAT_ACTION_SCORE)
			snprintf(act, sizeof(act), "score:%g", ri.weight);
		else
			snprintf(act, sizeof(act), "%s",
				 ri.action == PAT_ACTION_BLOCK ? "block" : "monitor");
		printf("match %u %s target=%s %s %s — %s\n", ri.id,
		       pat_category_name(rs, ri.category), target_name(ri.target), act,
		       ri.pattern, ri.description);
	}
	double total = 0;
	for (unsigned cat = 0; cat < pat_ruleset_category_count(rs); cat++) {
		total += r.scores[cat];
		if (r.scores[cat] == 0)
			continue;
		printf("score %s %.2f", pat_category_name(rs, cat), r.scores[cat]);
		if (pat_category_threshold(rs, cat) > 0)
			printf(" (blocks at %.2f)", pat_category_threshold(rs, cat));
		printf("\n");
	}
	if (pat_ruleset_total_threshold(rs) > 0)
		printf("score total %.2f (blocks at %.2f)\n", total,
		       pat_ruleset_total_threshold(rs));
	printf("verdict %s", pat_verdict_name(r.verdict));
	if (r.verdict != PAT_VERDICT_PASS)
		printf(" rule %u category %s", r.rule_id,
		       pat_category_name(rs, (unsigned)r.category));
	printf("\n");
out:
	pat_scratch_free(s);
	pat_ruleset_free(rs);
	return ex;
}

/* Corpus label → the rule category it belongs to (-1: ham). */
static int label_category(const struct pat_ruleset *rs, const char *l)
{
	if (strcmp(l, "ham") == 0)
		return -1;
	if (strcmp(l, "smishing") == 0)
		return PAT_CAT_FRAUD;
	int c = pat_category_id(rs, l, strlen(l));
	return c >= 0 ? c : PAT_CAT_SPAM;
}

struct conf {
	unsigned long tp, fp, fn, tn;
};

static json_t *conf_json(const struct conf *c)
{
	double p = c->tp + c->fp ? (double)c->tp / (double)(c->tp + c->fp) : 0;
	double r = c->tp + c->fn ? (double)c->tp / (double)(c->tp + c->fn) : 0;
	return json_pack("{s:i,s:i,s:i,s:i,s:f,s:f}", "tp", (json_int_t)c->tp,
			 "fp", (json_int_t)c->fp, "fn", (json_int_t)c->fn, "tn",
			 (json_int_t)c->tn, "precision", p, "recall", r);
}

static int cmd_test(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "corpus", required_argument, NULL, 'c' },
		{ "lines", required_argument, NULL, 'l' },
		{ "matches", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *corpus = NULL;
	int json = 0, lines = 0; /* 0 all, 1 odd, 2 even */
	int per_msg = 0;
	struct pat_ruleset *rs;
	struct pat_scratch *s;
	struct conf all = { 0 }, cats[PAT_MAX_CATEGORIES];
	json_t *fps, *fns, *rules, *labels;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0, scored = 0, malformed = 0;
	int c, ex;

	memset(cats, 0, sizeof(cats));
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'm': per_msg = 1; break;
		case 'c': corpus = optarg; break;
		case 'l':
			if (strcmp(optarg, "odd") == 0) lines = 1;
			else if (strcmp(optarg, "even") == 0) lines = 2;
			else if (strcmp(optarg, "all") == 0) lines = 0;
			else return usage(stderr), EX_USAGE;
			break;
		default: return usage(stderr), EX_USAGE;
		}
	}
	if (!corpus || argc - optind > 1)
		return usage(stderr), EX_USAGE;
	ex = compile_dir(optind < argc ? argv[optind] : default_rules(), NULL, &rs);
	if (ex)
		return ex;
	f = fopen(corpus, "r");
	if (!f) {
		fprintf(stderr, "smsfw-patc: %s: %s\n", corpus, strerror(errno));
		pat_ruleset_free(rs);
		return EX_IO;
	}
	if (pat_scratch_alloc(rs, &s)) {
		fclose(f);
		pat_ruleset_free(rs);
		return EX_OTHER;
	}
	fps = json_array();
	fns = json_array();
	rules = json_object();
	labels = json_object();
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (lines && (lineno % 2) != (lines == 1 ? 1u : 0u))
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *ls = line; /* a byte-order mark is no part of the first label */
		if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			ls += 3;
			len -= 3;
		}
		if (len == 0)
			continue;
		char *tab = memchr(ls, '\t', (size_t)len);
		if (!tab) {
			malformed++;
			continue;
		}
		*tab = 0;
		/* the label keys JSON objects: it must be UTF-8 */
		json_t *lj = json_string(ls);
		if (!lj) {
			malformed++;
			continue;
		}
		json_decref(lj);
		const char *label = ls, *text = tab + 1;
		struct pat_msg m = { .text = text,
				     .text_len = (size_t)(ls + len - text) };
		struct pat_result r;
		if (pat_scan_msg(rs, s, &m, &r)) {
			ex = EX_OTHER;
			break;
		}
		scored++;
		if (per_msg && !json) {
			printf("M\t%lu\t%s\t%s\t", lineno, label, pat_verdict_name(r.verdict));
			for (unsigned i = 0; i < r.n_matches; i++)
				printf("%s%u", i ? "," : "", r.matches[i]);
			printf("\n");
		}
		int actual = label_category(rs, label);
		int pos = actual >= 0, pred = r.verdict == PAT_VERDICT_BLOCK;
		if (pos && pred) all.tp++;
		else if (!pos && pred) all.fp++;
		else if (pos) all.fn++;
		else all.tn++;
		for (unsigned k = 0; k < pat_ruleset_category_count(rs); k++) {
			int a = actual == (int)k, p = pred && r.category == (int)k;
			if (a && p) cats[k].tp++;
			else if (p) cats[k].fp++;
			else if (a) cats[k].fn++;
			else cats[k].tn++;
		}
		json_t *lb = json_object_get(labels, label);
		if (!lb) {
			lb = json_pack("{s:i,s:i}", "n", 0, "blocked", 0);
			json_object_set_new(labels, label, lb);
		}
		json_object_set_new(lb, "n", json_integer(json_integer_value(json_object_get(lb, "n")) + 1));
		if (pred)
			json_object_set_new(lb, "blocked", json_integer(json_integer_value(json_object_get(lb, "blocked")) + 1));
		for (unsigned i = 0; i < r.n_matches; i++) {
			char id[16];
			snprintf(id, sizeof(id), "%u", r.matches[i]);
			json_t *o = json_object_get(rules, id);
			if (!o) {
				struct pat_rule_info ri;
				pat_rule_info(rs, r.matches[i], &ri);
				o = json_pack("{s:s,s:i,s:i}", "category",
					      pat_category_name(rs, ri.category),
					      "hits", 0, "ham_hits", 0);
				json_object_set_new(rules, id, o);
			}
			json_object_set_new(o, "hits", json_integer(json_integer_value(json_object_get(o, "hits")) + 1));
			if (!pos)
				json_object_set_new(o, "ham_hits", json_integer(json_integer_value(json_object_get(o, "ham_hits")) + 1));
		}
		if (pos != pred) {
			json_t *e = json_pack("{s:i,s:s,s:s?}", "line", (json_int_t)lineno,
					      "label", label, "text", text);
			if (!e)
				e = json_pack("{s:i,s:s}", "line", (json_int_t)lineno, "label", label);
			if (pred)
				json_object_set_new(e, "rule", json_integer(r.rule_id));
			json_array_append_new(pred ? fps : fns, e);
		}
	}
	free(line);
	fclose(f);
	pat_scratch_free(s);
	if (ex == EX_OK) {
		json_t *catj = json_object();
		for (unsigned k = 0; k < pat_ruleset_category_count(rs); k++)
			json_object_set_new(catj, pat_category_name(rs, k), conf_json(&cats[k]));
		if (json) {
			json_t *o = json_pack("{s:s,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o}",
					      "corpus", corpus, "scored", (json_int_t)scored,
					      "malformed", (json_int_t)malformed,
					      "overall", conf_json(&all), "categories", catj,
					      "labels", labels, "rules", rules,
					      "false_positives", fps, "false_negatives", fns);
			json_dumpf(o, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
			printf("\n");
			json_decref(o);
		} else {
			size_t i;
			json_t *v;
			const char *k;
			double p = all.tp + all.fp ? (double)all.tp / (double)(all.tp + all.fp) : 0;
			double rc = all.tp + all.fn ? (double)all.tp / (double)(all.tp + all.fn) : 0;
			printf("corpus %s: %lu messages scored, %lu malformed lines\n",
			       corpus, scored, malformed);
			printf("overall  tp %lu fp %lu fn %lu tn %lu  precision %.4f recall %.4f\n",
			       all.tp, all.fp, all.fn, all.tn, p, rc);
			json_object_foreach(catj, k, v)
				if (json_integer_value(json_object_get(v, "tp")) +
				    json_integer_value(json_object_get(v, "fp")) +
				    json_integer_value(json_object_get(v, "fn")))
					printf("category %-10s tp %lld fp %lld fn %lld tn %lld\n", k,
					       json_integer_value(json_object_get(v, "tp")),
					       json_integer_value(json_object_get(v, "fp")),
					       json_integer_value(json_object_get(v, "fn")),
					       json_integer_value(json_object_get(v, "tn")));
			json_object_foreach(labels, k, v)
				printf("label %-10s n %lld blocked %lld\n", k,
				       json_integer_value(json_object_get(v, "n")),
				       json_integer_value(json_object_get(v, "blocked")));
			json_object_foreach(rules, k, v)
				printf("rule %s %s hits %lld ham_hits %lld\n", k,
				       json_string_value(json_object_get(v, "category")),
				       json_integer_value(json_object_get(v, "hits")),
				       json_integer_value(json_object_get(v, "ham_hits")));
			json_array_foreach(fps, i, v)
				printf("FP line %lld rule %lld: %s\n",
				       json_integer_value(json_object_get(v, "line")),
				       json_integer_value(json_object_get(v, "rule")),
				       json_string_value(json_object_get(v, "text")));
			json_array_foreach(fns, i, v)
				printf("FN line %lld %s: %s\n",
				       json_integer_value(json_object_get(v, "line")),
				       json_string_value(json_object_get(v, "label")),
				       json_string_value(json_object_get(v, "text")));
			json_decref(catj);
			json_decref(labels);
			json_decref(rules);
			json_decref(fps);
			json_decref(fns);
		}
	} else {
		json_decref(labels);
		json_decref(rules);
		json_decref(fps);
		json_decref(fns);
	}
	pat_ruleset_free(rs);
	return ex;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "validate", cmd_validate }, { "compile", cmd_compile },
		{ "keygen", cmd_keygen },     { "bundle", cmd_bundle },
		{ "verify", cmd_verify },     { "scan", cmd_scan },
		{ "test", cmd_test },
	};

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "smsfw-patc: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
