/*
 * pat_compile.c — rule sources → struct pat_ruleset.
 *
 * Parsing is line by line (one directive per line, see README.md): every
 * error names file:line:column. Compilation groups rules by target, by kind
 * (regex or literal list) and by mode (block, and streaming for the text
 * targets) and hands each group to Hyperscan; a Hyperscan error is mapped
 * back to the rule (or list line) it came from.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "pat_priv.h"

static const char *const builtin_cats[PAT_CAT_BUILTIN_COUNT] = {
	"spam", "fraud", "harassment", "spoofing", "malware",
};

static const char *const target_names[PAT_TARGET_COUNT] = {
	"text", "norm", "norm-subst", "sender", "dest", "url",
};

const char *pat_strerror(int status)
{
	switch (status) {
	case PAT_OK: return "success";
	case PAT_ENOMEM: return "out of memory";
	case PAT_EINVAL: return "invalid argument";
	case PAT_EIO: return "input/output error";
	case PAT_ESYNTAX: return "rule syntax error";
	case PAT_EDUPID: return "duplicate rule id";
	case PAT_ECOMPILE: return "pattern does not compile";
	case PAT_EFORMAT: return "bad format (magic, version or layout)";
	case PAT_ECHECKSUM: return "checksum mismatch";
	case PAT_EPLATFORM: return "compiled for another platform or Hyperscan version";
	case PAT_ESIGNATURE: return "signature does not verify";
	case PAT_ETRUNCATED: return "truncated";
	case PAT_EHYPERSCAN: return "Hyperscan runtime error";
	case PAT_ESCRATCH: return "scratch or stream state does not fit this ruleset";
	case PAT_ENOSPACE: return "buffer too small";
	case PAT_ELIMIT: return "limit exceeded";
	default: return "unknown status";
	}
}

const char *pat_verdict_name(enum pat_verdict v)
{
	switch (v) {
	case PAT_VERDICT_PASS: return "pass";
	case PAT_VERDICT_MONITOR: return "monitor";
	case PAT_VERDICT_BLOCK: return "block";
	}
	return "?";
}

void pat_error_set(struct pat_error *err, const char *file, unsigned line,
		   unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

int pat_file_read(const char *path, void **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return PAT_EIO;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return PAT_ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return PAT_EIO;
	}
	fclose(f);
	buf[n] = 0;
	*data = buf;
	*len = n;
	return PAT_OK;
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */
/* ------------------------------------------------------------------ */

/* Source position of a parsed token. */
struct loc {
	const char *file;
	unsigned line, col;
};

/* A rule as parsed, before categories are resolved. */
struct prule {
	struct pat_rule r;
	char cat[PAT_CATEGORY_NAME_MAX + 1];
	struct loc at, cat_at, pat_at;
	char *re;          /* regex body (NUL-terminated) */
	unsigned hs_flags;
	char **scope;      /* names */
	unsigned n_scope;
	const struct pat_source *list; /* for list rules */
};

struct pthreshold {
	char cat[PAT_CATEGORY_NAME_MAX + 1];
	float block, monitor;
	struct loc at;
};

struct parser {
	const struct pat_source *srcs;
	size_t n_srcs;
	struct prule *rules;
	size_t n_rules, cap_rules;
	char cats[PAT_MAX_CATEGORIES][PAT_CATEGORY_NAME_MAX + 1];
	unsigned n_cats;
	struct pthreshold *thr;
	size_t n_thr, cap_thr;
	struct pat_error *err;
};

/* One key=value field of a line. */
struct field {
	const char *key, *val;
	size_t key_len, val_len;
	unsigned key_col, val_col;
	int quoted;
	char *unq; /* unescaped quoted value / regex body, malloc'd */
	const char *flags; /* for /re/flags */
	size_t flags_len;
	unsigned flags_col;
};

#define MAX_FIELDS 16

static int perr(struct parser *p, const struct loc *at, unsigned col, int rc,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int perr(struct parser *p, const struct loc *at, unsigned col, int rc,
		const char *fmt, ...)
{
	char msg[PAT_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pat_error_set(p->err, at->file, at->line, col, "%s", msg);
	return rc;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split one line (without '\n') into directive + fields. */
static int split_fields(struct parser *p, const struct loc *at, const char *s,
			size_t n, size_t *pos, struct field *f, unsigned *nf)
{
	size_t i = *pos;
	unsigned k = 0;

	*nf = 0;
	for (;;) {
		while (i < n && is_space(s[i]))
			i++;
		if (i >= n || s[i] == '#')
			break;
		if (k == MAX_FIELDS)
			return perr(p, at, (unsigned)i + 1, PAT_ESYNTAX,
				    "too many fields (at most %d)", MAX_FIELDS);
		struct field *fl = &f[k];
		memset(fl, 0, sizeof(*fl));
		*nf = k + 1; /* the caller frees what this field allocates */
		fl->key = s + i;
		fl->key_col = (unsigned)i + 1;
		while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			i++;
		fl->key_len = (size_t)(s + i - fl->key);
		if (fl->key_len == 0 || i >= n || s[i] != '=')
			return perr(p, at, fl->key_col, PAT_ESYNTAX,
				    "expected key=value");
		i++;
		fl->val_col = (unsigned)i + 1;
		if (i < n && s[i] == '"') {
			size_t j = i + 1, o = 0;
			fl->unq = malloc(n - i + 1);
			if (!fl->unq)
				return PAT_ENOMEM;
			while (j < n && s[j] != '"') {
				if (s[j] == '\\' && j + 1 < n)
					j++;
				fl->unq[o++] = s[j++];
			}
			if (j >= n)
				return perr(p, at, fl->val_col, PAT_ESYNTAX,
					    "unterminated string");
			fl->unq[o] = 0;
			fl->quoted = 1;
			fl->val = fl->unq;
			fl->val_len = o;
			i = j + 1;
		} else if (i < n && s[i] == '/') {
			size_t j = i + 1, o = 0;
			fl->unq = malloc(n - i + 1);
			if (!fl->unq)
				return PAT_ENOMEM;
			while (j < n && s[j] != '/') {
				if (s[j] == '\\' && j + 1 < n) {
					if (s[j + 1] != '/')
						fl->unq[o++] = '\\';
					j++;
				}
				fl->unq[o++] = s[j++];
			}
			if (j >= n)
				return perr(p, at, fl->val_col, PAT_ESYNTAX,
					    "unterminated /pattern/");
			fl->unq[o] = 0;
			fl->quoted = 2;
			fl->val = fl->unq;
			fl->val_len = o;
			j++;
			fl->flags = s + j;
			fl->flags_col = (unsigned)j + 1;
			/* '#' after the flags starts a comment, as after a
			 * quoted value */
			while (j < n && !is_space(s[j]) && s[j] != '#')
				j++;
			fl->flags_len = (size_t)(s + j - fl->flags);
			i = j;
		} else {
			fl->val = s + i;
			while (i < n && !is_space(s[i]))
				i++;
			fl->val_len = (size_t)(s + i - fl->val);
		}
		if (i < n && !is_space(s[i]) && s[i] != '#')
			return perr(p, at, (unsigned)i + 1, PAT_ESYNTAX,
				    "expected space after value");
		k++;
	}
	*pos = i;
	*nf = k;
	return PAT_OK;
}

static int keyis(const struct field *f, const char *k)
{
	return f->key_len == strlen(k) && memcmp(f->key, k, f->key_len) == 0;
}

static int valis(const struct field *f, const char *v)
{
	return f->val_len == strlen(v) && memcmp(f->val, v, f->val_len) == 0;
}

/* Decimal number with optional fraction of at most six digits (scores are
 * summed in millionths), > 0, <= 1e6. */
static int parse_weight(const char *s, size_t n, float *out)
{
	double v = 0, scale = 0;
	int digits = 0, decimals = 0;

	if (n == 0 || s[0] == '-')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			digits++;
			if (scale > 0) {
				if (++decimals > 6)
					return -1;
				v += (s[i] - '0') * scale;
				scale /= 10;
			} else {
				v = v * 10 + (s[i] - '0');
			}
			if (v > 1e6)
				return -1;
		} else if (s[i] == '.' && scale == 0) {
			scale = 0.1;
		} else {
			return -1;
		}
	}
	if (!digits || v <= 0)
		return -1;
	*out = (float)v;
	return 0;
}

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int valid_name(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' ||
		      s[i] == '.'))
			return 0;
	return 1;
}

static int parse_scope(struct parser *p, const struct loc *at,
		       const struct field *f, struct prule *r)
{
	const char *v = f->val, *end = f->val + f->val_len;
	const char *list;

	if (valis(f, "all")) {
		r->r.scope_mode = PAT_SCOPE_ALL;
		return PAT_OK;
	}
	if (f->val_len > 5 && memcmp(v, "only:", 5) == 0) {
		r->r.scope_mode = PAT_SCOPE_ONLY;
		list = v + 5;
	} else if (f->val_len > 7 && memcmp(v, "except:", 7) == 0) {
		r->r.scope_mode = PAT_SCOPE_EXCEPT;
		list = v + 7;
	} else {
		return perr(p, at, f->val_col, PAT_ESYNTAX,
			    "scope must be all, only:ID,... or except:ID,...");
	}
	while (list <= end) {
		const char *c = memchr(list, ',', (size_t)(end - list));
		size_t n = c ? (size_t)(c - list) : (size_t)(end - list);
		char **ns;

		if (!valid_name(list, n, PAT_SCOPE_NAME_MAX))
			return perr(p, at, f->val_col + (unsigned)(list - v),
				    PAT_ESYNTAX,
				    "bad system_id in scope (1-%d of A-Z a-z 0-9 _ - .)",
				    PAT_SCOPE_NAME_MAX);
		ns = realloc(r->scope, (r->n_scope + 1) * sizeof(*ns));
		if (!ns)
			return PAT_ENOMEM;
		r->scope = ns;
		r->scope[r->n_scope] = strndup(list, n);
		if (!r->scope[r->n_scope])
			return PAT_ENOMEM;
		r->n_scope++;
		if (!c)
			break;
		list = c + 1;
	}
	return PAT_OK;
}

static const struct pat_source *find_source(struct parser *p, const char *name,
					    size_t n)
{
	for (size_t i = 0; i < p->n_srcs; i++)
		if (strlen(p->srcs[i].name) == n &&
		    memcmp(p->srcs[i].name, name, n) == 0)
			return &p->srcs[i];
	return NULL;
}

static void prule_free(struct prule *r)
{
	free(r->r.pattern);
	free(r->r.desc);
	free(r->r.ref);
	free(r->re);
	for (unsigned i = 0; i < r->n_scope; i++)
		free(r->scope[i]);
	free(r->scope);
}

/* Where a source's text starts: after a UTF-8 byte-order mark, which some
 * editors write and which is no part of the first line. */
static const char *src_text(const struct pat_source *src)
{
	const char *s = src->data;

	if (src->len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		return s + 3;
	return s;
}

/* Non-empty, non-comment lines of a literal list. */
static size_t list_count(const struct pat_source *src)
{
	const char *s = src_text(src), *end = (const char *)src->data + src->len;
	size_t n = 0;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		while (s < e && (is_space(*s)))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		if (e > s && *s != '#')
			n++;
		s = nl ? nl + 1 : end;
	}
	return n;
}

static int parse_rule(struct parser *p, const struct loc *at,
		      struct field *f, unsigned nf)
{
	struct prule r;
	int seen[MAX_FIELDS] = { 0 };
	const struct field *fid = NULL, *fcat = NULL, *ftarget = NULL,
			   *faction = NULL, *fpat = NULL, *flist = NULL,
			   *fdesc = NULL, *fmatch = NULL;
	int rc = PAT_OK;

	memset(&r, 0, sizeof(r));
	r.at = *at;
	for (unsigned i = 0; i < nf; i++) {
		static const char *const keys[] = { "id", "cat", "target", "action",
			"pat", "list", "scope", "desc", "ref", "match" };
		unsigned k;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (keyis(&f[i], keys[k]))
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			rc = perr(p, at, f[i].key_col, PAT_ESYNTAX,
				  "unknown key '%.*s'", (int)f[i].key_len, f[i].key);
			goto fail;
		}
		if (seen[k]) {
			rc = perr(p, at, f[i].key_col, PAT_ESYNTAX,
				  "duplicate key '%s'", keys[k]);
			goto fail;
		}
		seen[k] = 1;
		if (f[i].quoted == 2 && k != 4) {
			rc = perr(p, at, f[i].val_col, PAT_ESYNTAX,
				  "only pat= takes a /pattern/");
			goto fail;
		}
		switch (k) {
		case 0: fid = &f[i]; break;
		case 1: fcat = &f[i]; break;
		case 2: ftarget = &f[i]; break;
		case 3: faction = &f[i]; break;
		case 4: fpat = &f[i]; break;
		case 5: flist = &f[i]; break;
		case 6:
			rc = parse_scope(p, at, &f[i], &r);
			if (rc)
				goto fail;
			break;
		case 7: fdesc = &f[i]; break;
		case 8:
			r.r.ref = strndup(f[i].val, f[i].val_len);
			if (!r.r.ref) {
				rc = PAT_ENOMEM;
				goto fail;
			}
			break;
		case 9: fmatch = &f[i]; break;
		}
	}
	{
		static const char *const req[] = { "id", "cat", "target", "action", "desc" };
		const struct field *have[] = { fid, fcat, ftarget, faction, fdesc };
		for (unsigned i = 0; i < 5; i++)
			if (!have[i]) {
				rc = perr(p, at, 1, PAT_ESYNTAX,
					  "rule lacks required key '%s'", req[i]);
				goto fail;
			}
	}
	if (!fpat == !flist) {
		rc = perr(p, at, 1, PAT_ESYNTAX,
			  "rule needs exactly one of pat=/.../ and list=FILE");
		goto fail;
	}
	if (parse_u32(fid->val, fid->val_len, &r.r.id)) {
		rc = perr(p, at, fid->val_col, PAT_ESYNTAX,
			  "id must be a decimal number 1..4294967295");
		goto fail;
	}
	if (!valid_name(fcat->val, fcat->val_len, PAT_CATEGORY_NAME_MAX)) {
		rc = perr(p, at, fcat->val_col, PAT_ESYNTAX, "bad category name");
		goto fail;
	}
	memcpy(r.cat, fcat->val, fcat->val_len);
	r.cat[fcat->val_len] = 0;
	r.cat_at = *at;
	r.cat_at.col = fcat->val_col;
	{
		unsigned t;
		for (t = 0; t < PAT_TARGET_COUNT; t++)
			if (valis(ftarget, target_names[t]))
				break;
		if (t == PAT_TARGET_COUNT) {
			rc = perr(p, at, ftarget->val_col, PAT_ESYNTAX,
				  "target must be text, norm, norm-subst, sender, dest or url");
			goto fail;
		}
		r.r.target = (uint8_t)t;
	}
	if (valis(faction, "block")) {
		r.r.action = PAT_ACTION_BLOCK;
	} else if (valis(faction, "monitor")) {
		r.r.action = PAT_ACTION_MONITOR;
	} else if (faction->val_len > 6 && memcmp(faction->val, "score:", 6) == 0) {
		const char *wv = faction->val + 6;
		size_t wl = faction->val_len - 6;
		int neg = wl > 1 && wv[0] == '-';

		r.r.action = PAT_ACTION_SCORE;
		if (parse_weight(wv + neg, wl - (size_t)neg, &r.r.weight)) {
			rc = perr(p, at, faction->val_col + 6, PAT_ESYNTAX,
				  "score weight must be a non-zero decimal number with at most six decimals (e.g. 1.5 or -0.5)");
			goto fail;
		}
		if (neg)
			r.r.weight = -r.r.weight;
	} else {
		rc = perr(p, at, faction->val_col, PAT_ESYNTAX,
			  "action must be block, monitor or score:WEIGHT");
		goto fail;
	}
	if (fdesc->val_len == 0) {
		rc = perr(p, at, fdesc->val_col, PAT_ESYNTAX, "empty description");
		goto fail;
	}
	r.r.desc = strndup(fdesc->val, fdesc->val_len);
	if (!r.r.desc) {
		rc = PAT_ENOMEM;
		goto fail;
	}
	if (fpat) {
		r.pat_at = *at;
		r.pat_at.col = fpat->val_col;
		if (fpat->quoted != 2) {
			rc = perr(p, at, fpat->val_col, PAT_ESYNTAX,
				  "pat must be written /pattern/flags");
			goto fail;
		}
		if (fpat->val_len == 0) {
			rc = perr(p, at, fpat->val_col, PAT_ESYNTAX, "empty pattern");
			goto fail;
		}
		if (fmatch) {
			rc = perr(p, at, fmatch->key_col, PAT_ESYNTAX,
				  "match= applies to list rules only");
			goto fail;
		}
		r.hs_flags = HS_FLAG_SINGLEMATCH;
		for (size_t i = 0; i < fpat->flags_len; i++) {
			switch (fpat->flags[i]) {
			case 'i': r.hs_flags |= HS_FLAG_CASELESS; break;
			case 's': r.hs_flags |= HS_FLAG_DOTALL; break;
			case 'm': r.hs_flags |= HS_FLAG_MULTILINE; break;
			case 'u': r.hs_flags |= HS_FLAG_UTF8 | HS_FLAG_UCP; break;
			default:
				/* not a letter: most likely the pattern went on
				 * after a '/' that ended it early */
				rc = perr(p, at, fpat->flags_col + (unsigned)i,
					  PAT_ESYNTAX,
					  "unknown pattern flag '%c' (i, s, m, u)%s",
					  fpat->flags[i],
					  isalpha((unsigned char)fpat->flags[i]) ? ""
					  : "; write a '/' inside the pattern as \\/");
				goto fail;
			}
		}
		if (r.r.target == PAT_TARGET_URL)
			r.hs_flags |= HS_FLAG_MULTILINE;
		r.re = strndup(fpat->val, fpat->val_len);
		/* Source form kept for pat_rule_info and smsfw-patc scan. */
		size_t sl = fpat->val_len + fpat->flags_len + 3;
		r.r.pattern = malloc(sl);
		if (!r.re || !r.r.pattern) {
			rc = PAT_ENOMEM;
			goto fail;
		}
		snprintf(r.r.pattern, sl, "/%s/%.*s", r.re, (int)fpat->flags_len,
			 fpat->flags);
	} else {
		r.r.is_list = 1;
		r.pat_at = *at;
		r.pat_at.col = flist->val_col;
		r.list = find_source(p, flist->val, flist->val_len);
		if (!r.list) {
			rc = perr(p, at, flist->val_col, PAT_ESYNTAX,
				  "list '%.*s' not found beside the rules",
				  (int)flist->val_len, flist->val);
			goto fail;
		}
		if (list_count(r.list) == 0) {
			rc = perr(p, at, flist->val_col, PAT_ESYNTAX,
				  "list '%s' is empty", r.list->name);
			goto fail;
		}
		r.r.list_match = r.r.target == PAT_TARGET_URL ? PAT_LIST_DOMAIN
							      : PAT_LIST_CONTAINS;
		if (fmatch) {
			if (valis(fmatch, "exact") &&
			    (r.r.target == PAT_TARGET_SENDER ||
			     r.r.target == PAT_TARGET_DEST)) {
				r.r.list_match = PAT_LIST_EXACT;
			} else if (!valis(fmatch, "contains") ||
				   r.r.target == PAT_TARGET_URL) {
				rc = perr(p, at, fmatch->val_col, PAT_ESYNTAX,
					  "match must be contains or (sender/dest) exact");
				goto fail;
			}
		}
		r.r.pattern = strdup(r.list->name);
		if (!r.r.pattern) {
			rc = PAT_ENOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].r.id == r.r.id) {
			const struct loc *o = &p->rules[i].at;
			rc = perr(p, at, fid->val_col, PAT_EDUPID,
				  "duplicate rule id %u (first at %s:%u)", r.r.id,
				  o->file, o->line);
			goto fail;
		}
	if (p->n_rules == p->cap_rules) {
		size_t nc = p->cap_rules ? p->cap_rules * 2 : 64;
		struct prule *nr = realloc(p->rules, nc * sizeof(*nr));
		if (!nr) {
			rc = PAT_ENOMEM;
			goto fail;
		}
		p->rules = nr;
		p->cap_rules = nc;
	}
	p->rules[p->n_rules++] = r;
	return PAT_OK;
fail:
	prule_free(&r);
	return rc;
}

static int cat_lookup(const struct parser *p, const char *name)
{
	for (unsigned i = 0; i < p->n_cats; i++)
		if (strcmp(p->cats[i], name) == 0)
			return (int)i;
	return -1;
}

static int parse_category(struct parser *p, const struct loc *at,
			  struct field *f, unsigned nf)
{
	if (nf != 1 || !keyis(&f[0], "name"))
		return perr(p, at, nf ? f[0].key_col : 1, PAT_ESYNTAX,
			    "category takes exactly name=NAME");
	if (!valid_name(f[0].val, f[0].val_len, PAT_CATEGORY_NAME_MAX))
		return perr(p, at, f[0].val_col, PAT_ESYNTAX, "bad category name");
	char name[PAT_CATEGORY_NAME_MAX + 1];
	memcpy(name, f[0].val, f[0].val_len);
	name[f[0].val_len] = 0;
	if (cat_lookup(p, name) >= 0)
		return perr(p, at, f[0].val_col, PAT_ESYNTAX,
			    "category '%s' already defined", name);
	if (p->n_cats == PAT_MAX_CATEGORIES)
		return perr(p, at, f[0].val_col, PAT_ELIMIT,
			    "too many categories (at most %d)", PAT_MAX_CATEGORIES);
	memcpy(p->cats[p->n_cats++], name, sizeof(name));
	return PAT_OK;
}

static int parse_threshold(struct parser *p, const struct loc *at,
			   struct field *f, unsigned nf)
{
	struct pthreshold t;

	memset(&t, 0, sizeof(t));
	t.at = *at;
	for (unsigned i = 0; i < nf; i++) {
		if (keyis(&f[i], "cat") && !t.cat[0]) {
			if (f[i].val_len == 1 && f[i].val[0] == '*') {
				t.cat[0] = '*';
				t.at.col = f[i].val_col;
				continue;
			}
			if (!valid_name(f[i].val, f[i].val_len, PAT_CATEGORY_NAME_MAX))
				return perr(p, at, f[i].val_col, PAT_ESYNTAX,
					    "bad category name");
			memcpy(t.cat, f[i].val, f[i].val_len);
			t.cat[f[i].val_len] = 0;
			t.at.col = f[i].val_col;
		} else if (keyis(&f[i], "block") && t.block == 0) {
			if (parse_weight(f[i].val, f[i].val_len, &t.block))
				return perr(p, at, f[i].val_col, PAT_ESYNTAX,
					    "threshold must be a positive decimal number with at most six decimals");
		} else if (keyis(&f[i], "monitor") && t.monitor == 0) {
			if (parse_weight(f[i].val, f[i].val_len, &t.monitor))
				return perr(p, at, f[i].val_col, PAT_ESYNTAX,
					    "threshold must be a positive decimal number with at most six decimals");
		} else {
			return perr(p, at, f[i].key_col, PAT_ESYNTAX,
				    "unknown or repeated key '%.*s' (cat, block, monitor)",
				    (int)f[i].key_len, f[i].key);
		}
	}
	if (!t.cat[0] || (t.block == 0 && t.monitor == 0))
		return perr(p, at, 1, PAT_ESYNTAX,
			    "threshold needs cat= and block= and/or monitor=");
	if (p->n_thr == p->cap_thr) {
		size_t nc = p->cap_thr ? p->cap_thr * 2 : 8;
		struct pthreshold *n = realloc(p->thr, nc * sizeof(*n));
		if (!n)
			return PAT_ENOMEM;
		p->thr = n;
		p->cap_thr = nc;
	}
	p->thr[p->n_thr++] = t;
	return PAT_OK;
}

static int parse_source(struct parser *p, const struct pat_source *src)
{
	const char *s = src_text(src), *end = (const char *)src->data + src->len;
	struct loc at = { src->name, 0, 0 };

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		struct field f[MAX_FIELDS];
		unsigned nf = 0;
		size_t pos = 0, d;
		int rc;

		at.line++;
		at.col = 1;
		if (memchr(s, 0, n)) {
			return perr(p, &at, (unsigned)((const char *)memchr(s, 0, n) - s) + 1,
				    PAT_ESYNTAX, "NUL byte in rule file");
		}
		while (pos < n && is_space(s[pos]))
			pos++;
		if (pos == n || s[pos] == '#') {
			s = nl ? nl + 1 : end;
			continue;
		}
		d = pos;
		while (pos < n && !is_space(s[pos]))
			pos++;
		const char *dir = s + d;
		size_t dlen = pos - d;
		rc = split_fields(p, &at, s, n, &pos, f, &nf);
		if (rc == PAT_OK) {
			if (dlen == 4 && memcmp(dir, "rule", 4) == 0)
				rc = parse_rule(p, &at, f, nf);
			else if (dlen == 8 && memcmp(dir, "category", 8) == 0)
				rc = parse_category(p, &at, f, nf);
			else if (dlen == 9 && memcmp(dir, "threshold", 9) == 0)
				rc = parse_threshold(p, &at, f, nf);
			else
				rc = perr(p, &at, (unsigned)d + 1, PAT_ESYNTAX,
					  "unknown directive '%.*s' (rule, category, threshold)",
					  (int)(dlen > 40 ? 40 : dlen), dir);
		}
		for (unsigned i = 0; i < nf; i++)
			free(f[i].unq);
		if (rc)
			return rc;
		s = nl ? nl + 1 : end;
	}
	return PAT_OK;
}

/* ------------------------------------------------------------------ */
/* Compiler                                                            */
/* ------------------------------------------------------------------ */

struct exprset {
	char **expr;
	unsigned *flags, *ids;
	size_t *lens;
	struct loc *at; /* for error messages */
	size_t n, cap;
};

static int exprset_add(struct exprset *e, char *x, size_t len, unsigned flags,
		       unsigned id, const struct loc *at)
{
	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 64;
		char **ne = realloc(e->expr, nc * sizeof(*ne));
		if (ne)
			e->expr = ne;
		unsigned *nf = realloc(e->flags, nc * sizeof(*nf));
		if (nf)
			e->flags = nf;
		unsigned *ni = realloc(e->ids, nc * sizeof(*ni));
		if (ni)
			e->ids = ni;
		size_t *nl = realloc(e->lens, nc * sizeof(*nl));
		if (nl)
			e->lens = nl;
		struct loc *na = realloc(e->at, nc * sizeof(*na));
		if (na)
			e->at = na;
		if (!ne || !nf || !ni || !nl || !na)
			return PAT_ENOMEM;
		e->cap = nc;
	}
	e->expr[e->n] = x;
	e->lens[e->n] = len;
	e->flags[e->n] = flags;
	e->ids[e->n] = id;
	e->at[e->n] = *at;
	e->n++;
	return PAT_OK;
}

static void exprset_free(struct exprset *e, int owns)
{
	if (owns)
		for (size_t i = 0; i < e->n; i++)
			free(e->expr[i]);
	free(e->expr);
	free(e->flags);
	free(e->ids);
	free(e->lens);
	free(e->at);
	memset(e, 0, sizeof(*e));
}

/* Literal → rule map being built. */
struct litmap {
	uint32_t *rule;
	uint32_t n, cap;
	uint32_t base; /* first literal id: the rule count */
};

/* Add the literals of list rule r (index ri) to e, shaped for its match
 * mode; each literal gets its own id, mapped back to ri through lm. */
static int add_list(struct exprset *e, const struct prule *r, unsigned ri,
		    struct litmap *lm)
{
	const char *s = src_text(r->list), *end = (const char *)r->list->data + r->list->len;
	struct loc at = { r->list->name, 0, 1 };

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *b = s, *x = nl ? nl : end;
		at.line++;
		while (b < x && is_space(*b))
			b++;
		while (x > b && is_space(x[-1]))
			x--;
		if (x > b && *b != '#') {
			size_t n = (size_t)(x - b), o = 0;
			/* normalisation may lengthen a literal (ligatures) */
			char *lit = malloc(4 * n + 16);
			if (!lit)
				return PAT_ENOMEM;
			if (r->r.target == PAT_TARGET_NORM ||
			    r->r.target == PAT_TARGET_NORM_SUBST) {
				/* the literal meets normalised text: normalise
				 * it the same way (accents, spaces, look-alikes,
				 * and for norm-subst the digit/symbol swaps) */
				o = pat_normalise(b, n, lit, 4 * n + 15, 0);
				if (r->r.target == PAT_TARGET_NORM_SUBST)
					pat_normalise_subst(lit, o);
				if (o == 0) { /* nothing left: would match anywhere */
					free(lit);
					s = nl ? nl + 1 : end;
					continue;
				}
			} else if (r->r.list_match == PAT_LIST_DOMAIN) {
				/* "\n" + reversed domain + ".", as pat_url_hosts()
				 * writes hosts for lists */
				while (n > 0 && b[n - 1] == '.')
					n--;
				while (n > 0 && b[0] == '.') {
					b++;
					n--;
				}
				if (n == 0) { /* only dots: would match every host */
					free(lit);
					s = nl ? nl + 1 : end;
					continue;
				}
				lit[o++] = '\n';
				for (size_t i = 0; i < n; i++)
					lit[o++] = (char)tolower((unsigned char)b[n - 1 - i]);
				lit[o++] = '.';
			} else {
				if (r->r.list_match == PAT_LIST_EXACT)
					lit[o++] = '\n';
				memcpy(lit + o, b, n);
				o += n;
				if (r->r.list_match == PAT_LIST_EXACT)
					lit[o++] = '\n';
			}
			lit[o] = 0;
			at.col = (unsigned)(b - s) + 1;
			if (lm->n == lm->cap) {
				uint32_t nc = lm->cap ? lm->cap * 2 : 1024;
				uint32_t *nr = realloc(lm->rule, nc * sizeof(*nr));
				if (!nr) {
					free(lit);
					return PAT_ENOMEM;
				}
				lm->rule = nr;
				lm->cap = nc;
			}
			if ((uint64_t)lm->base + lm->n >= UINT32_MAX) {
				free(lit);
				return PAT_ELIMIT;
			}
			if (exprset_add(e, lit, o, HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH,
					lm->base + lm->n, &at)) {
				free(lit);
				return PAT_ENOMEM;
			}
			lm->rule[lm->n++] = ri;
		}
		s = nl ? nl + 1 : end;
	}
	return PAT_OK;
}

static int compile_set(struct exprset *e, int lit, unsigned mode,
		       hs_database_t **db, struct pat_error *err)
{
	hs_compile_error_t *ce = NULL;
	hs_error_t he;

	*db = NULL;
	if (e->n == 0)
		return PAT_OK;
	if (e->n > UINT32_MAX)
		return PAT_ELIMIT;
	if (lit)
		he = hs_compile_lit_multi((const char *const *)e->expr, e->flags,
					  e->ids, e->lens, (unsigned)e->n, mode,
					  NULL, db, &ce);
	else
		he = hs_compile_multi((const char *const *)e->expr, e->flags,
				      e->ids, (unsigned)e->n, mode, NULL, db, &ce);
	if (he != HS_SUCCESS) {
		if (ce && ce->expression >= 0 && (size_t)ce->expression < e->n) {
			const struct loc *at = &e->at[ce->expression];
			pat_error_set(err, at->file, at->line, at->col,
				      "Hyperscan: %s", ce->message);
		} else {
			pat_error_set(err, "", 0, 0, "Hyperscan: %s",
				      ce ? ce->message : "compile failed");
		}
		hs_free_compile_error(ce);
		return he == HS_NOMEM ? PAT_ENOMEM : PAT_ECOMPILE;
	}
	return PAT_OK;
}

/* One database to build: the compile jobs are independent, so they run on
 * up to one thread per online CPU (Hyperscan's compiler is thread-safe). */
struct compile_job {
	struct exprset *e;
	int lit;
	unsigned mode;
	hs_database_t **db;
	struct pat_error err;
	int rc;
};

struct compile_pool {
	struct compile_job *jobs;
	unsigned n;
	unsigned next; /* atomic */
};

static void *compile_worker(void *arg)
{
	struct compile_pool *p = arg;

	for (;;) {
		unsigned j = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (j >= p->n)
			return NULL;
		struct compile_job *cj = &p->jobs[j];
		cj->rc = compile_set(cj->e, cj->lit, cj->mode, cj->db, &cj->err);
	}
}

static int compile_all(struct pat_ruleset *rs,
		       struct exprset es[PAT_TARGET_COUNT][PAT_KIND_COUNT],
		       struct exprset es_blk[PAT_TARGET_COUNT],
		       int streaming, struct pat_error *err)
{
	struct compile_job jobs[PAT_TARGET_COUNT * PAT_KIND_COUNT * PAT_MODE_COUNT];
	struct compile_pool pool = { jobs, 0, 0 };
	pthread_t th[8];
	unsigned nth = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(jobs, 0, sizeof(jobs));
	for (unsigned t = 0; t < PAT_TARGET_COUNT; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			for (unsigned m = 0; m < PAT_MODE_COUNT; m++) {
				/* block-mode regexes leave out the whole-word
				 * rules (pat_words.c); streams keep them all */
				struct exprset *e = m == PAT_MODE_BLOCK && k == PAT_KIND_RE
					? &es_blk[t] : &es[t][k];
				if (e->n == 0)
					continue;
				if (m == PAT_MODE_STREAM && (t >= PAT_STREAM_TARGETS || !streaming))
					continue;
				struct compile_job *j = &jobs[pool.n++];
				j->e = e;
				j->lit = k == PAT_KIND_LIT;
				j->mode = m == PAT_MODE_STREAM ? HS_MODE_STREAM : HS_MODE_BLOCK;
				j->db = &rs->db[t][k][m];
			}
	/* biggest sets first, so the long compiles start at once */
	for (unsigned a = 1; a < pool.n; a++)
		for (unsigned b = a; b > 0 && jobs[b].e->n > jobs[b - 1].e->n; b--) {
			struct compile_job tmp = jobs[b];
			jobs[b] = jobs[b - 1];
			jobs[b - 1] = tmp;
		}
	if (ncpu < 1)
		ncpu = 1;
	while (nth < (unsigned)ncpu && nth < pool.n && nth < 8) {
		if (pthread_create(&th[nth], NULL, compile_worker, &pool) != 0)
			break;
		nth++;
	}
	if (nth == 0)
		compile_worker(&pool);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* report the first failure in job order (deterministic), whatever
	 * thread hit it */
	for (unsigned j = 0; j < pool.n; j++)
		if (jobs[j].rc) {
			if (err)
				*err = jobs[j].err;
			return jobs[j].rc;
		}
	return PAT_OK;
}

void pat_ruleset_free_parts(struct pat_ruleset *rs)
{
	for (unsigned t = 0; t < PAT_TARGET_COUNT; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++)
			for (unsigned m = 0; m < PAT_MODE_COUNT; m++)
				hs_free_database(rs->db[t][k][m]);
	if (rs->rules)
		for (uint32_t i = 0; i < rs->n_rules; i++) {
			free(rs->rules[i].pattern);
			free(rs->rules[i].desc);
			free(rs->rules[i].ref);
		}
	free(rs->rules);
	free(rs->scope_names);
	free(rs->by_id);
	free(rs->lit_rule);
	pat_words_free(rs);
}

void pat_ruleset_free(struct pat_ruleset *rs)
{
	if (!rs)
		return;
	pat_ruleset_free_parts(rs);
	free(rs);
}

static int cmp_src(const void *a, const void *b)
{
	const struct pat_source *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && memcmp(s + a - b, suf, b) == 0;
}

static int cmp_by_id(const void *a, const void *b, void *ctx)
{
	const struct pat_ruleset *rs = ctx;
	uint32_t x = rs->rules[*(const uint32_t *)a].id;
	uint32_t y = rs->rules[*(const uint32_t *)b].id;
	return x < y ? -1 : x > y;
}

int pat_ruleset_finish(struct pat_ruleset *rs)
{
	rs->by_id = malloc((rs->n_rules ? rs->n_rules : 1) * sizeof(uint32_t));
	if (!rs->by_id)
		return PAT_ENOMEM;
	for (uint32_t i = 0; i < rs->n_rules; i++)
		rs->by_id[i] = i;
	qsort_r(rs->by_id, rs->n_rules, sizeof(uint32_t), cmp_by_id, rs);
	rs->stream_bytes = 0;
	for (unsigned t = 0; t < PAT_STREAM_TARGETS; t++)
		for (unsigned k = 0; k < PAT_KIND_COUNT; k++) {
			size_t sz = 0;
			if (rs->db[t][k][PAT_MODE_STREAM] &&
			    hs_stream_size(rs->db[t][k][PAT_MODE_STREAM], &sz) == HS_SUCCESS)
				rs->stream_bytes += sz;
		}
	return pat_words_build(rs);
}

int pat_rule_index(const struct pat_ruleset *rs, uint32_t rule_id)
{
	uint32_t lo = 0, hi = rs->n_rules;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t v = rs->rules[rs->by_id[mid]].id;
		if (v == rule_id)
			return (int)rs->by_id[mid];
		if (v < rule_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void source_hash(const struct pat_source *const *sorted, size_t n,
			uint8_t out[32])
{
	crypto_hash_sha256_state h;

	crypto_hash_sha256_init(&h);
	for (size_t i = 0; i < n; i++) {
		uint8_t len[12];
		uint32_t nl = (uint32_t)strlen(sorted[i]->name);
		uint64_t dl = sorted[i]->len;
		memcpy(len, &nl, 4);
		memcpy(len + 4, &dl, 8);
		crypto_hash_sha256_update(&h, len, sizeof(len));
		crypto_hash_sha256_update(&h, (const uint8_t *)sorted[i]->name, nl);
		crypto_hash_sha256_update(&h, sorted[i]->data, sorted[i]->len);
	}
	crypto_hash_sha256_final(&h, out);
}

int pat_ruleset_compile_sources(const struct pat_source *srcs, size_t n,
				const struct pat_compile_opts *opts,
				struct pat_ruleset **out, struct pat_error *err)
{
	struct parser p;
	const struct pat_source **sorted = NULL;
	struct pat_ruleset *rs = NULL;
	struct exprset es[PAT_TARGET_COUNT][PAT_KIND_COUNT];
	struct exprset es_blk[PAT_TARGET_COUNT];
	struct litmap lm = { 0 };
	struct pat_compile_opts defopts = { 0 };
	int rc = PAT_OK;

	if (!out || (!srcs && n))
		return PAT_EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defopts;
	if (err)
		memset(err, 0, sizeof(*err));
	if (sodium_init() < 0)
		return PAT_ENOMEM;
	memset(&p, 0, sizeof(p));
	memset(es, 0, sizeof(es));
	memset(es_blk, 0, sizeof(es_blk));
	p.srcs = srcs;
	p.n_srcs = n;
	p.err = err;
	for (unsigned i = 0; i < PAT_CAT_BUILTIN_COUNT; i++)
		snprintf(p.cats[i], sizeof(p.cats[i]), "%s", builtin_cats[i]);
	p.n_cats = PAT_CAT_BUILTIN_COUNT;

	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return PAT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!srcs[i].name || (!srcs[i].data && srcs[i].len)) {
			free(sorted);
			return PAT_EINVAL;
		}
		sorted[i] = &srcs[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_src);
	for (size_t i = 0; i + 1 < n; i++)
		if (strcmp(sorted[i]->name, sorted[i + 1]->name) == 0) {
			pat_error_set(err, sorted[i]->name, 0, 0,
				      "two sources named '%s'", sorted[i]->name);
			rc = PAT_EINVAL;
			goto fail;
		}
	for (size_t i = 0; i < n; i++) {
		if (!ends_with(sorted[i]->name, ".rules"))
			continue;
		rc = parse_source(&p, sorted[i]);
		if (rc)
			goto fail;
	}

	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		rc = PAT_ENOMEM;
		goto fail;
	}
	rs->version = opts->version;
	source_hash(sorted, n, rs->source_hash);
	rs->n_cats = p.n_cats;
	memcpy(rs->cat_names, p.cats, sizeof(p.cats));
	for (size_t i = 0; i < p.n_thr; i++) {
		if (strcmp(p.thr[i].cat, "*") == 0) {
			if (rs->total_block != 0 || rs->total_monitor != 0) {
				pat_error_set(err, p.thr[i].at.file, p.thr[i].at.line,
					      p.thr[i].at.col, "second threshold for cat=*");
				rc = PAT_ESYNTAX;
				goto fail;
			}
			rs->total_block = p.thr[i].block;
			rs->total_monitor = p.thr[i].monitor;
			continue;
		}
		int c = cat_lookup(&p, p.thr[i].cat);
		if (c < 0) {
			pat_error_set(err, p.thr[i].at.file, p.thr[i].at.line,
				      p.thr[i].at.col, "unknown category '%s'",
				      p.thr[i].cat);
			rc = PAT_ESYNTAX;
			goto fail;
		}
		if (rs->cat_block[c] != 0 || rs->cat_monitor[c] != 0) {
			pat_error_set(err, p.thr[i].at.file, p.thr[i].at.line,
				      p.thr[i].at.col,
				      "second threshold for category '%s'", p.thr[i].cat);
			rc = PAT_ESYNTAX;
			goto fail;
		}
		rs->cat_block[c] = p.thr[i].block;
		rs->cat_monitor[c] = p.thr[i].monitor;
	}
	rs->rules = calloc(p.n_rules ? p.n_rules : 1, sizeof(*rs->rules));
	if (!rs->rules) {
		rc = PAT_ENOMEM;
		goto fail;
	}
	size_t n_scope = 0;
	for (size_t i = 0; i < p.n_rules; i++)
		n_scope += p.rules[i].n_scope;
	lm.base = (uint32_t)p.n_rules;
	rs->scope_names = calloc(n_scope ? n_scope : 1, sizeof(*rs->scope_names));
	if (!rs->scope_names) {
		rc = PAT_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < p.n_rules; i++) {
		struct prule *r = &p.rules[i];
		int c = cat_lookup(&p, r->cat);
		if (c < 0) {
			pat_error_set(err, r->cat_at.file, r->cat_at.line,
				      r->cat_at.col,
				      "unknown category '%s' (declare it with: category name=%s)",
				      r->cat, r->cat);
			rc = PAT_ESYNTAX;
			goto fail;
		}
		r->r.category = (uint8_t)c;
		r->r.scope_off = rs->n_scope_names;
		r->r.scope_n = (uint16_t)r->n_scope;
		for (unsigned k = 0; k < r->n_scope; k++)
			snprintf(rs->scope_names[rs->n_scope_names++],
				 PAT_SCOPE_NAME_MAX + 1, "%s", r->scope[k]);
		if (r->r.is_list)
			rc = add_list(&es[r->r.target][PAT_KIND_LIT], r, (unsigned)i, &lm);
		else {
			rc = exprset_add(&es[r->r.target][PAT_KIND_RE], r->re, 0,
					 r->hs_flags, (unsigned)i, &r->pat_at);
			if (!rc && !pat_words_rule(&r->r))
				rc = exprset_add(&es_blk[r->r.target], r->re, 0,
						 r->hs_flags, (unsigned)i, &r->pat_at);
		}
		if (rc)
			goto fail;
		rs->rules[i] = r->r;
		/* ownership of the strings moves to the ruleset */
		r->r.pattern = r->r.desc = r->r.ref = NULL;
		rs->n_rules = (uint32_t)i + 1;
	}
	rs->lit_rule = lm.rule;
	rs->n_lits = lm.n;
	lm.rule = NULL;
	rc = compile_all(rs, es, es_blk, !opts->no_streaming, err);
	if (rc)
		goto fail;
	rc = pat_ruleset_finish(rs);
	if (rc)
		goto fail;
	*out = rs;
	rs = NULL;
fail:
	for (unsigned t = 0; t < PAT_TARGET_COUNT; t++) {
		exprset_free(&es[t][PAT_KIND_RE], 0); /* regex bodies belong to prules */
		exprset_free(&es_blk[t], 0);
		exprset_free(&es[t][PAT_KIND_LIT], 1);
	}
	for (size_t i = 0; i < p.n_rules; i++)
		prule_free(&p.rules[i]);
	free(p.rules);
	free(p.thr);
	free(lm.rule);
	free(sorted);
	pat_ruleset_free(rs);
	return rc;
}

static int load_paths(const char *const *paths, size_t n,
		      const struct pat_compile_opts *opts,
		      struct pat_ruleset **out, struct pat_error *err)
{
	struct pat_source *srcs = calloc(n ? n : 1, sizeof(*srcs));
	int rc = PAT_OK;
	size_t i;

	if (!srcs)
		return PAT_ENOMEM;
	for (i = 0; i < n; i++) {
		void *d;
		size_t len;
		const char *base = strrchr(paths[i], '/');
		rc = pat_file_read(paths[i], &d, &len);
		if (rc) {
			pat_error_set(err, paths[i], 0, 0, "cannot read: %s",
				      rc == PAT_EIO ? strerror(errno) : pat_strerror(rc));
			goto out;
		}
		srcs[i].name = base ? base + 1 : paths[i];
		srcs[i].data = d;
		srcs[i].len = len;
	}
	rc = pat_ruleset_compile_sources(srcs, n, opts, out, err);
out:
	for (size_t k = 0; k < i; k++)
		free((void *)srcs[k].data);
	free(srcs);
	return rc;
}

int pat_ruleset_compile_files(const char *const *paths, size_t n,
			      const struct pat_compile_opts *opts,
			      struct pat_ruleset **out, struct pat_error *err)
{
	if (!paths || !out)
		return PAT_EINVAL;
	return load_paths(paths, n, opts, out, err);
}

int pat_ruleset_compile_dir(const char *rules_dir,
			    const struct pat_compile_opts *opts,
			    struct pat_ruleset **out, struct pat_error *err)
{
	DIR *d;
	struct dirent *de;
	char **paths = NULL;
	size_t n = 0, cap = 0;
	int rc = PAT_OK;

	if (!rules_dir || !out)
		return PAT_EINVAL;
	d = opendir(rules_dir);
	if (!d) {
		pat_error_set(err, rules_dir, 0, 0, "cannot open directory: %s",
			      strerror(errno));
		return PAT_EIO;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *path;
		size_t pl;

		if (de->d_name[0] == '.')
			continue;
		pl = strlen(rules_dir) + strlen(de->d_name) + 2;
		path = malloc(pl);
		if (!path) {
			rc = PAT_ENOMEM;
			break;
		}
		snprintf(path, pl, "%s/%s", rules_dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **np = realloc(paths, nc * sizeof(*np));
			if (!np) {
				free(path);
				rc = PAT_ENOMEM;
				break;
			}
			paths = np;
			cap = nc;
		}
		paths[n++] = path;
	}
	closedir(d);
	if (rc == PAT_OK)
		rc = load_paths((const char *const *)paths, n, opts, out, err);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
