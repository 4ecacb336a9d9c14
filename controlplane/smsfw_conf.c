/*
 * smsfw_conf.c — the configuration file parser. The INI syntax is inih's;
 * everything about keys (names, types, ranges, defaults) comes from
 * conf_keys.def. The Debian inih is built without line numbers in the
 * handler, so lines are counted by our own reader function, which also
 * refuses lines longer than inih's buffer instead of letting them be split.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "smsfw_conf.h"

#define T_STR	  SMSFW_CONF_T_STR
#define T_INT	  SMSFW_CONF_T_INT
#define T_BOOL	  SMSFW_CONF_T_BOOL
#define T_ENUM	  SMSFW_CONF_T_ENUM
#define T_LIST	  SMSFW_CONF_T_LIST
#define T_INTLIST SMSFW_CONF_T_INTLIST

const struct smsfw_conf_key smsfw_conf_keys[SMSFW_CONF_COUNT] = {
#define SMSFW_CONF_KEY(sec, k, type, def, mn, mx, choices, doc)                                    \
	[SMSFW_CONF_##sec##_##                                                                     \
	    k] = {#sec, #k, T_##type, def, (int64_t)(mn), (int64_t)(mx), choices, doc},
#include "conf_keys.def"
#undef SMSFW_CONF_KEY
};

struct conf_val {
	char *text;	/* as written (trimmed) */
	int64_t i;	/* INT, BOOL, ENUM index */
	size_t n;	/* LIST / INTLIST items */
	char **items;	/* LIST */
	int64_t *ints;	/* INTLIST */
	int line;	/* 0 = default */
	bool from_file; /* set while parsing, to find repeated keys */
};

struct smsfw_conf {
	struct conf_val v[SMSFW_CONF_COUNT];
};

/* Parsing state handed to inih. */
struct parse_ctx {
	struct smsfw_conf *c;
	FILE *f;
	const char *path;
	int line;
	int long_line; /* line number of an overlong line, 0 if none */
	int status;    /* first error */
	char *err;
	size_t errlen, errused;
};

const char *smsfw_conf_strerror(int status)
{
	switch (status) {
	case SMSFW_CONF_OK:
		return "ok";
	case SMSFW_CONF_ERR_NOENT:
		return "configuration file not found";
	case SMSFW_CONF_ERR_IO:
		return "cannot read configuration file";
	case SMSFW_CONF_ERR_SYNTAX:
		return "syntax error";
	case SMSFW_CONF_ERR_UNKNOWN:
		return "unknown section or key";
	case SMSFW_CONF_ERR_TYPE:
		return "wrong type";
	case SMSFW_CONF_ERR_RANGE:
		return "value out of range";
	case SMSFW_CONF_ERR_DUP:
		return "key given twice";
	case SMSFW_CONF_ERR_NOMEM:
		return "out of memory";
	case SMSFW_CONF_ERR_INVAL:
		return "invalid argument";
	default:
		return "unknown status";
	}
}

static void val_clear(struct conf_val *v)
{
	free(v->text);
	if (v->items)
		for (size_t i = 0; i < v->n; i++)
			free(v->items[i]);
	free(v->items);
	free(v->ints);
	memset(v, 0, sizeof(*v));
}

void smsfw_conf_free(struct smsfw_conf *c)
{
	if (!c)
		return;
	for (int i = 0; i < SMSFW_CONF_COUNT; i++)
		val_clear(&c->v[i]);
	free(c);
}

int smsfw_conf_find(const char *section, const char *key)
{
	for (int i = 0; i < SMSFW_CONF_COUNT; i++)
		if (strcmp(smsfw_conf_keys[i].section, section) == 0 &&
		    strcmp(smsfw_conf_keys[i].key, key) == 0)
			return i;
	return -1;
}

static bool section_known(const char *section)
{
	for (int i = 0; i < SMSFW_CONF_COUNT; i++)
		if (strcmp(smsfw_conf_keys[i].section, section) == 0)
			return true;
	return false;
}

/* Trimmed copy of [s, s+n). */
static char *dup_trim(const char *s, size_t n)
{
	char *r;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	r = malloc(n + 1);
	if (r) {
		memcpy(r, s, n);
		r[n] = 0;
	}
	return r;
}

/* Integer in decimal or 0x hex, whole string, within [min, max]. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *msg, size_t ml)
{
	char *end;
	long long v;

	errno = 0;
	if (*s == 0) {
		snprintf(msg, ml, "expected an integer, got an empty value");
		return SMSFW_CONF_ERR_TYPE;
	}
	v = strtoll(s, &end, 0);
	if (*end != 0 || end == s) {
		snprintf(msg, ml, "expected an integer, got '%s'", s);
		return SMSFW_CONF_ERR_TYPE;
	}
	if (errno == ERANGE || v < min || v > max) {
		snprintf(msg, ml, "%s is out of range %lld..%lld", s, (long long)min,
			 (long long)max);
		return SMSFW_CONF_ERR_RANGE;
	}
	*out = v;
	return SMSFW_CONF_OK;
}

/* Parse @p text for key @p id into a fresh value. */
static int parse_value(enum smsfw_conf_id id, const char *text, struct conf_val *out, char *msg,
		       size_t ml)
{
	const struct smsfw_conf_key *k = &smsfw_conf_keys[id];
	struct conf_val v = {0};
	int st = SMSFW_CONF_OK;

	v.text = dup_trim(text, strlen(text));
	if (!v.text)
		return SMSFW_CONF_ERR_NOMEM;
	switch (k->type) {
	case T_STR:
		break;
	case T_INT:
		st = parse_int(v.text, k->min, k->max, &v.i, msg, ml);
		break;
	case T_BOOL: {
		static const char *const yes[] = {"true", "yes", "on", "1"};
		static const char *const no[] = {"false", "no", "off", "0"};
		st = SMSFW_CONF_ERR_TYPE;
		for (int i = 0; i < 4; i++) {
			if (strcasecmp(v.text, yes[i]) == 0) {
				v.i = 1;
				st = SMSFW_CONF_OK;
			} else if (strcasecmp(v.text, no[i]) == 0) {
				v.i = 0;
				st = SMSFW_CONF_OK;
			}
		}
		if (st)
			snprintf(msg, ml, "expected true or false, got '%s'", v.text);
		break;
	}
	case T_ENUM: {
		const char *p = k->choices;
		int idx = 0;
		size_t tl = strlen(v.text);
		st = SMSFW_CONF_ERR_TYPE;
		while (*p) {
			const char *bar = strchr(p, '|');
			size_t n = bar ? (size_t)(bar - p) : strlen(p);
			if (n == tl && strncmp(p, v.text, n) == 0) {
				v.i = idx;
				st = SMSFW_CONF_OK;
				break;
			}
			idx++;
			p += n + (bar ? 1 : 0);
		}
		if (st)
			snprintf(msg, ml, "'%s' is not one of %s", v.text, k->choices);
		break;
	}
	case T_LIST:
	case T_INTLIST: {
		const char *p = v.text;
		size_t cap = 0;
		if (*p == 0)
			break;
		for (;;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			char *item = dup_trim(p, n);
			if (!item) {
				st = SMSFW_CONF_ERR_NOMEM;
				break;
			}
			if (*item == 0) {
				free(item);
				snprintf(msg, ml, "empty item in list '%s'", v.text);
				st = SMSFW_CONF_ERR_TYPE;
				break;
			}
			if (v.n == cap) {
				size_t nc = cap ? cap * 2 : 4;
				char **ni = realloc(v.items, nc * sizeof(*ni));
				int64_t *nn = ni ? realloc(v.ints, nc * sizeof(*nn)) : NULL;
				if (ni)
					v.items = ni;
				if (!ni || !nn) {
					free(item);
					st = SMSFW_CONF_ERR_NOMEM;
					break;
				}
				v.ints = nn;
				cap = nc;
			}
			v.items[v.n] = item;
			v.ints[v.n] = 0;
			v.n++;
			if (k->type == T_INTLIST) {
				st = parse_int(item, k->min, k->max, &v.ints[v.n - 1], msg, ml);
				if (st)
					break;
			}
			if (!comma)
				break;
			p = comma + 1;
		}
		break;
	}
	}
	if (st) {
		val_clear(&v);
		return st;
	}
	*out = v;
	return SMSFW_CONF_OK;
}

__attribute__((format(printf, 4, 5))) static void ctx_error(struct parse_ctx *x, int status,
							    int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->status == 0)
		x->status = status;
	if (!x->err || x->errlen == 0 || x->errused + 1 >= x->errlen)
		return;
	if (x->errused) {
		x->err[x->errused++] = '\n';
		x->err[x->errused] = 0;
	}
	n = snprintf(x->err + x->errused, x->errlen - x->errused, "%s:%d: ", x->path, line);
	if (n < 0 || (size_t)n >= x->errlen - x->errused) {
		x->errused = x->errlen - 1;
		return;
	}
	x->errused += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(x->err + x->errused, x->errlen - x->errused, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= x->errlen - x->errused)
		x->errused = x->errlen - 1;
	else
		x->errused += (size_t)n;
}

/* fgets-style reader that counts lines and refuses overlong ones. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *x = stream;
	char *r = fgets(str, num, x->f);
	size_t n;

	if (!r)
		return NULL;
	x->line++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(x->f)) {
		int ch;
		while ((ch = fgetc(x->f)) != EOF && ch != '\n')
			;
		x->long_line = x->line;
		ctx_error(x, SMSFW_CONF_ERR_SYNTAX, x->line, "line longer than %d characters",
			  num - 2);
		str[0] = '\n'; /* hand inih an empty line in its place */
		str[1] = 0;
	}
	return r;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *x = user;
	int id;
	char msg[200];
	struct conf_val v;
	int st;

	if (x->long_line == x->line)
		return 1;
	id = smsfw_conf_find(section, name);
	if (id < 0) {
		if (!section[0])
			ctx_error(x, SMSFW_CONF_ERR_UNKNOWN, x->line,
				  "key '%s' outside any [section]", name);
		else if (!section_known(section))
			ctx_error(x, SMSFW_CONF_ERR_UNKNOWN, x->line, "unknown section [%s]",
				  section);
		else
			ctx_error(x, SMSFW_CONF_ERR_UNKNOWN, x->line,
				  "unknown key '%s' in section [%s]", name, section);
		return 1; /* keep going: report every error of the file */
	}
	if (x->c->v[id].from_file) {
		ctx_error(x, SMSFW_CONF_ERR_DUP, x->line, "[%s] %s given twice (first on line %d)",
			  section, name, x->c->v[id].line);
		return 1;
	}
	st = parse_value((enum smsfw_conf_id)id, value, &v, msg, sizeof(msg));
	if (st) {
		ctx_error(x, st, x->line, "[%s] %s: %s", section, name, msg);
		return 1;
	}
	val_clear(&x->c->v[id]);
	x->c->v[id] = v;
	x->c->v[id].line = x->line;
	x->c->v[id].from_file = true;
	return 1;
}

static int load_defaults(struct smsfw_conf *c, char *err, size_t errlen)
{
	char msg[200];

	for (int i = 0; i < SMSFW_CONF_COUNT; i++) {
		int st = parse_value((enum smsfw_conf_id)i, smsfw_conf_keys[i].def, &c->v[i], msg,
				     sizeof(msg));
		if (st) {
			/* A bad default is a bug in conf_keys.def; say which. */
			if (err && errlen)
				snprintf(err, errlen, "built-in default of [%s] %s: %s",
					 smsfw_conf_keys[i].section, smsfw_conf_keys[i].key, msg);
			return st;
		}
	}
	return SMSFW_CONF_OK;
}

int smsfw_conf_load(const char *path, struct smsfw_conf **out, char *err, size_t errlen)
{
	struct smsfw_conf *c;
	struct parse_ctx x = {0};
	int st, rc;

	if (!out)
		return SMSFW_CONF_ERR_INVAL;
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SMSFW_CONF_ERR_NOMEM;
	st = load_defaults(c, err, errlen);
	if (st)
		goto fail;
	if (!path) {
		*out = c;
		return SMSFW_CONF_OK;
	}
	x.f = fopen(path, "r");
	if (!x.f) {
		st = errno == ENOENT ? SMSFW_CONF_ERR_NOENT : SMSFW_CONF_ERR_IO;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	x.c = c;
	x.path = path;
	x.err = err;
	x.errlen = errlen;
	rc = ini_parse_stream(read_line, &x, handler, &x);
	if (ferror(x.f) && !x.status)
		ctx_error(&x, SMSFW_CONF_ERR_IO, x.line, "read error");
	fclose(x.f);
	/* inih reports the first line it could not parse; our handler never
	 * fails, so a positive rc is a syntax error unless we already named
	 * an error on that line (the overlong-line case). */
	if (rc > 0 && rc != x.long_line)
		ctx_error(&x, SMSFW_CONF_ERR_SYNTAX, rc,
			  "syntax error (expected [section], key = value or a comment)");
	else if (rc < 0 && !x.status)
		ctx_error(&x, SMSFW_CONF_ERR_NOMEM, 0, "parser out of memory");
	st = x.status;
	if (st)
		goto fail;
	for (int i = 0; i < SMSFW_CONF_COUNT; i++)
		c->v[i].from_file = false;
	*out = c;
	return SMSFW_CONF_OK;
fail:
	smsfw_conf_free(c);
	return st;
}

int smsfw_conf_set(struct smsfw_conf *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen)
{
	int id = smsfw_conf_find(section, key);
	struct conf_val v;
	char msg[200];
	int st;

	if (id < 0) {
		if (err && errlen)
			snprintf(err, errlen, "unknown key [%s] %s", section, key);
		return SMSFW_CONF_ERR_UNKNOWN;
	}
	st = parse_value((enum smsfw_conf_id)id, value, &v, msg, sizeof(msg));
	if (st) {
		if (err && errlen)
			snprintf(err, errlen, "[%s] %s: %s", section, key, msg);
		return st;
	}
	val_clear(&c->v[id]);
	c->v[id] = v;
	return SMSFW_CONF_OK;
}

const char *smsfw_conf_str(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return c->v[id].text ? c->v[id].text : "";
}

int64_t smsfw_conf_int(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return c->v[id].i;
}

bool smsfw_conf_bool(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return c->v[id].i != 0;
}

int smsfw_conf_enum(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return (int)c->v[id].i;
}

size_t smsfw_conf_list_len(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return c->v[id].n;
}

const char *smsfw_conf_list_item(const struct smsfw_conf *c, enum smsfw_conf_id id, size_t i)
{
	return i < c->v[id].n ? c->v[id].items[i] : NULL;
}

int64_t smsfw_conf_intlist_item(const struct smsfw_conf *c, enum smsfw_conf_id id, size_t i)
{
	return i < c->v[id].n && c->v[id].ints ? c->v[id].ints[i] : 0;
}

const char *smsfw_conf_text(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return smsfw_conf_str(c, id);
}

int smsfw_conf_line(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return c->v[id].line;
}

static int derive(char *out, size_t cap, const char *set, const char *dir, const char *leaf)
{
	int n = set[0] ? snprintf(out, cap, "%s", set) : snprintf(out, cap, "%s/%s", dir, leaf);
	return n < 0 || (size_t)n >= cap ? SMSFW_CONF_ERR_RANGE : SMSFW_CONF_OK;
}

int smsfw_conf_paths(const struct smsfw_conf *c, struct smsfw_conf_paths *p)
{
	const char *state = smsfw_conf_str(c, SMSFW_CONF_general_state_dir);
	const char *run = smsfw_conf_str(c, SMSFW_CONF_general_run_dir);

	if (derive(p->lmdb, sizeof(p->lmdb), smsfw_conf_str(c, SMSFW_CONF_general_lmdb), state,
		   "store") ||
	    derive(p->socket, sizeof(p->socket), smsfw_conf_str(c, SMSFW_CONF_general_socket), run,
		   "controld.sock") ||
	    derive(p->event_socket, sizeof(p->event_socket),
		   smsfw_conf_str(c, SMSFW_CONF_general_event_socket), run, "events.sock") ||
	    derive(p->sessions, sizeof(p->sessions),
		   smsfw_conf_str(c, SMSFW_CONF_dataplane_sessions_file), state,
		   "dataplane.sessions"))
		return SMSFW_CONF_ERR_RANGE;
	if (strcmp(p->sessions, "off") == 0)
		p->sessions[0] = '\0';
	return SMSFW_CONF_OK;
}

static const char *type_name(enum smsfw_conf_type t)
{
	static const char *const n[] = {"string", "integer", "boolean",
					"choice", "list",    "integer list"};
	return n[t];
}

int smsfw_conf_write(FILE *f, const struct smsfw_conf *c)
{
	const char *sec = "";

	fprintf(f, "# smsfw configuration (%s)\n", SMSFW_CONF_PATH);
	fprintf(f, "# Shared by smsfw-controld and smsfw-dataplane. Every key is optional:\n"
		   "# a missing key takes the value shown. Unknown keys, wrong types and\n"
		   "# out-of-range values are errors naming the line. Integers may be 0x hex.\n");
	for (int i = 0; i < SMSFW_CONF_COUNT; i++) {
		const struct smsfw_conf_key *k = &smsfw_conf_keys[i];
		if (strcmp(sec, k->section) != 0) {
			sec = k->section;
			fprintf(f, "\n[%s]\n", sec);
		}
		fprintf(f, "\n# %s\n# %s", k->doc, type_name(k->type));
		if (k->type == T_INT || k->type == T_INTLIST)
			fprintf(f, ", %lld..%lld", (long long)k->min, (long long)k->max);
		if (k->type == T_ENUM)
			fprintf(f, ": %s", k->choices);
		fprintf(f, "\n%s = %s\n", k->key,
			c ? smsfw_conf_text(c, (enum smsfw_conf_id)i) : k->def);
	}
	return ferror(f) ? -1 : 0;
}
