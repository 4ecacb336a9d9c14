/*
 * smsfwctl — the operator's command line for smsfw-controld.
 *
 *   smsfwctl [--socket PATH] [--config FILE] [--json] COMMAND [ARGS]
 *
 * Talks newline-delimited JSON over controld's Unix socket (cp_ctl.h).
 * Exit codes (stable, for scripts):
 *   0 ok, 1 other failure, 2 usage error, 3 not found, 4 refused,
 *   5 daemon unreachable.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cp.h"
#include "smsfw_conf.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 3,
	EXIT_REFUSED = 4,
	EXIT_UNREACHABLE = 5,
};

static struct {
	char socket[256];
	const char *config;
	bool json;
	int fd;
} G = {.fd = -1};

static const char *const exit_doc =
    "Exit codes: 0 ok, 1 other failure, 2 usage error, 3 not found,\n"
    "            4 refused (policy, signature, downgrade, exists), 5 daemon unreachable.\n";

static void usage_main(FILE *f)
{
	fprintf(f,
		"usage: smsfwctl [--socket PATH] [--config FILE] [--json] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status                          dataplane, ruleset, customers, counters\n"
		"  top [--interval S] [--iterations N]   live view ('q' quits)\n"
		"  customers list [--standing S]\n"
		"  customers show ID\n"
		"  customers add ID [FIELDS]       defaults for every field not given\n"
		"  customers set ID FIELDS\n"
		"  customers warn|suspend|resume|terminate ID --reason TEXT [--force]\n"
		"  complaints add --customer ID --msisdn N [--text T] [--source S]\n"
		"  complaints list [--customer ID] [--limit N] [--unmask]\n"
		"  evidence show|export (--complaint ID | --customer ID --msisdn N)\n"
		"                  [--around UNIXTIME] [--hours H] [--unmask] [--output FILE]\n"
		"  optouts list [--customer ID] [--unmask]\n"
		"  optouts add|remove --customer ID --msisdn N [--sender S]\n"
		"  rules publish BUNDLE|RULEDIR [--allow-downgrade]\n"
		"  rules list | rules show [VERSION] | rules rollback VERSION --reason TEXT\n"
		"  events tail [--count N] [--customer ID] [--unmask]\n"
		"  events export [--since T] [--until T] [--customer ID] [--output FILE]\n"
		"  config check FILE | config keys | config example   (no daemon needed)\n"
		"\n"
		"Global options:\n"
		"  -s, --socket PATH   controld socket (also $SMSFW_SOCKET; default from the\n"
		"                      config file, /run/smsfw/controld.sock)\n"
		"  -c, --config FILE   configuration file to take the socket path from\n"
		"  -j, --json          machine-readable output on every read command\n"
		"  -h, --help          this text; COMMAND --help for a command's options\n"
		"\n%s",
		exit_doc);
}

__attribute__((format(printf, 1, 2))) static int usage_err(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "smsfwctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(smsfwctl --help for usage)\n");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------------- */
/* Talking to controld                                                       */
/* ------------------------------------------------------------------------- */

static int connect_daemon(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (G.fd >= 0)
		return 0;
	if (strlen(G.socket) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, G.socket, strlen(G.socket) + 1);
	G.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (G.fd < 0)
		return -1;
	if (connect(G.fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(G.fd);
		G.fd = -1;
		return -1;
	}
	return 0;
}

/* Send one request; return the answer or NULL (daemon unreachable). */
static json_t *request(const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:s, s:o}", "cmd", cmd, "args", args ? args : json_object());
	char *out = json_dumps(req, JSON_COMPACT);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *resp = NULL;

	json_decref(req);
	if (!out)
		return NULL;
	if (connect_daemon()) {
		free(out);
		return NULL;
	}
	size_t ol = strlen(out);
	out[ol] = '\n';
	const char *p = out;
	size_t left = ol + 1;
	while (left) {
		ssize_t n = send(G.fd, p, left, MSG_NOSIGNAL);
		if (n <= 0)
			goto fail;
		p += n;
		left -= (size_t)n;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		ssize_t n = recv(G.fd, buf + len, cap - len, 0);
		if (n <= 0)
			goto fail;
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			resp = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			break;
		}
	}
fail:
	free(out);
	free(buf);
	if (!resp) {
		close(G.fd);
		G.fd = -1;
	}
	return resp;
}

static int error_exit(json_t *resp)
{
	const char *code = json_string_value(json_object_get(resp, "error"));
	const char *msg = json_string_value(json_object_get(resp, "message"));

	if (G.json) {
		json_dumpf(resp, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	fprintf(stderr, "smsfwctl: %s\n", msg ? msg : "error");
	if (!code)
		return EXIT_FAIL;
	if (!strcmp(code, "usage"))
		return EXIT_USAGE;
	if (!strcmp(code, "not_found"))
		return EXIT_NOTFOUND;
	if (!strcmp(code, "refused") || !strcmp(code, "exists"))
		return EXIT_REFUSED;
	return EXIT_FAIL;
}

/* ------------------------------------------------------------------------- */
/* Output                                                                    */
/* ------------------------------------------------------------------------- */

static void print_scalar(FILE *f, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		fputs(json_string_value(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	case JSON_NULL:
		fputs("-", f);
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		if (json_array_size(v) == 0)
			fputs("-", f);
		json_array_foreach(v, i, x)
		{
			if (i)
				fputs(",", f);
			if (json_is_object(x) || json_is_array(x)) {
				char *s = json_dumps(x, JSON_COMPACT);
				fputs(s ? s : "?", f);
				free(s);
			} else {
				print_scalar(f, x);
			}
		}
		break;
	}
	case JSON_OBJECT: {
		char *s = json_dumps(v, JSON_COMPACT);
		fputs(s ? s : "?", f);
		free(s);
		break;
	}
	}
}

static void print_object(FILE *f, json_t *o, int indent)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		if (json_is_object(v)) {
			fprintf(f, "%*s%s:\n", indent, "", k);
			print_object(f, v, indent + 2);
		} else if (json_is_array(v) && json_array_size(v) &&
			   json_is_object(json_array_get(v, 0))) {
			size_t i;
			json_t *x;
			fprintf(f, "%*s%s:\n", indent, "", k);
			json_array_foreach(v, i, x)
			{
				const char *kk;
				json_t *vv;
				fprintf(f, "%*s-", indent + 2, "");
				json_object_foreach(x, kk, vv)
				{
					fprintf(f, " %s=", kk);
					print_scalar(f, vv);
				}
				fputc('\n', f);
			}
		} else {
			fprintf(f, "%*s%s: ", indent, "", k);
			print_scalar(f, v);
			fputc('\n', f);
		}
	}
}

/* Field @p col of row @p x as print_scalar writes it (malloc'd, length in
 * *len; NULL and 0 when out of memory). */
static char *cell_text(json_t *x, const char *col, size_t *len)
{
	json_t *v = json_object_get(x, col);
	char *s = NULL;
	FILE *m = open_memstream(&s, len);

	*len = 0;
	if (!m)
		return NULL;
	print_scalar(m, v ? v : json_null());
	if (fclose(m)) {
		free(s);
		*len = 0;
		return NULL;
	}
	return s;
}

/* A table of @p cols from an array of objects. */
static void print_table(FILE *f, json_t *a, const char *const *cols)
{
	size_t i, nc = 0;
	json_t *x;
	int w[16] = {0};

	while (cols[nc] && nc < 16)
		nc++;
	for (size_t c = 0; c < nc; c++)
		w[c] = (int)strlen(cols[c]);
	json_array_foreach(a, i, x)
	{
		for (size_t c = 0; c < nc; c++) {
			size_t sl;
			char *s = cell_text(x, cols[c], &sl);
			if ((int)sl > w[c])
				w[c] = (int)sl > 60 ? 60 : (int)sl;
			free(s);
		}
	}
	for (size_t c = 0; c < nc; c++)
		fprintf(f, "%-*s%s", w[c], cols[c], c + 1 < nc ? "  " : "\n");
	json_array_foreach(a, i, x)
	{
		for (size_t c = 0; c < nc; c++) {
			size_t sl;
			char *s = cell_text(x, cols[c], &sl);
			fprintf(f, "%-*.*s%s", w[c], 60, s ? s : "", c + 1 < nc ? "  " : "\n");
			free(s);
		}
	}
	if (json_array_size(a) == 0)
		fprintf(f, "(none)\n");
}

/* Send, then print the result as JSON, a table or key: value lines. */
static int run(const char *cmd, json_t *args, const char *const *cols, FILE *out)
{
	json_t *resp = request(cmd, args);
	int rc;

	if (!resp) {
		fprintf(stderr, "smsfwctl: cannot reach smsfw-controld at %s: %s\n", G.socket,
			strerror(errno ? errno : ECONNREFUSED));
		return EXIT_UNREACHABLE;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		rc = error_exit(resp);
		json_decref(resp);
		return rc;
	}
	json_t *r = json_object_get(resp, "result");
	if (G.json) {
		json_dumpf(r, out, JSON_INDENT(2));
		fputc('\n', out);
	} else if (json_is_array(r) && cols) {
		print_table(out, r, cols);
	} else if (json_is_object(r)) {
		print_object(out, r, 0);
	} else {
		print_scalar(out, r);
		fputc('\n', out);
	}
	json_decref(resp);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------- */
/* Argument parsing helpers                                                  */
/* ------------------------------------------------------------------------- */

static bool parse_ll(const char *s, long long *v)
{
	char *end;
	errno = 0;
	*v = strtoll(s, &end, 0);
	return *s && !*end && errno == 0;
}

/* Split "a,b,c" into a JSON array (integers when @p ints). */
static json_t *split_list(const char *s, bool ints)
{
	json_t *a = json_array();
	const char *p = s;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char item[128];
		if (n >= sizeof(item) || n == 0) {
			json_decref(a);
			return NULL;
		}
		memcpy(item, p, n);
		item[n] = 0;
		if (ints) {
			long long v;
			if (!parse_ll(item, &v)) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, json_integer(v));
		} else {
			json_array_append_new(a, json_string(item));
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return a;
}

static int need_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

/* One option of a command that becomes a field of the request's args. */
enum field_kind {
	F_STR,	   /* string as given */
	F_TRUE,	   /* no argument: true */
	F_UINT,	   /* integer >= 0 */
	F_POS,	   /* integer > 0 */
	F_LIST,	   /* "a,b" -> ["a","b"]; "" -> [] */
	F_INTLIST, /* "1,2" -> [1,2]; "" -> [] */
	F_YESNO,   /* yes|no -> boolean */
	F_LOCAL,   /* not sent: the argument is stored in *local */
};

struct field {
	const char *opt; /* --opt */
	const char *key; /* args key */
	enum field_kind kind;
};

#define FIELDS_MAX 16
enum { PF_DONE = -1, PF_HELP = -2 };

/* getopt_long over @p f (plus --help), each option stored into @p args.
 * Returns PF_DONE (optind at the first positional argument), PF_HELP, or
 * EXIT_USAGE after printing why; "bad option for @p what" names the command. */
static int parse_fields(int argc, char **argv, const struct field *f, json_t *args,
			const char **local, const char *what)
{
	struct option o[FIELDS_MAX + 2];
	size_t n = 0;
	int c;
	long long v;

	for (; f[n].opt && n < FIELDS_MAX; n++)
		o[n] = (struct option){
		    f[n].opt, f[n].kind == F_TRUE ? no_argument : required_argument, NULL, (int)n};
	o[n] = (struct option){"help", no_argument, NULL, 'h'};
	o[n + 1] = (struct option){NULL, 0, NULL, 0};
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
		if (c == 'h')
			return PF_HELP;
		if (c < 0 || (size_t)c >= n)
			return usage_err("bad option for %s", what);
		const struct field *e = &f[c];
		json_t *val;
		switch (e->kind) {
		case F_STR:
			val = json_string(optarg);
			break;
		case F_TRUE:
			val = json_true();
			break;
		case F_UINT:
		case F_POS:
			if (!parse_ll(optarg, &v) || v < (e->kind == F_POS))
				return usage_err("--%s needs a %s integer", e->opt,
						 e->kind == F_POS ? "positive" : "non-negative");
			val = json_integer(v);
			break;
		case F_LIST:
		case F_INTLIST:
			val = *optarg ? split_list(optarg, e->kind == F_INTLIST) : json_array();
			if (!val)
				return usage_err("bad list '%s'", optarg);
			break;
		case F_YESNO:
			if (strcmp(optarg, "yes") && strcmp(optarg, "no"))
				return usage_err("--%s takes yes or no", e->opt);
			val = json_boolean(!strcmp(optarg, "yes"));
			break;
		default: /* F_LOCAL */
			*local = optarg;
			continue;
		}
		json_object_set_new(args, e->key, val);
	}
	return PF_DONE;
}

/* A command with subcommands: without one, or with --help, print @p help
 * (exit 2 / 0); an unknown one is a usage error. Returns -1 to go on. */
static int check_sub(const char *cmd, const char *sub, const char *const *subs, const char *help)
{
	if (sub && strcmp(sub, "--help") && strcmp(sub, "-h")) {
		for (; *subs; subs++)
			if (!strcmp(sub, *subs))
				return -1;
		return usage_err("unknown %s command '%s'", cmd, sub);
	}
	printf("%s%s", help, exit_doc);
	return sub ? EXIT_OK : EXIT_USAGE;
}

/* ------------------------------------------------------------------------- */
/* Commands                                                                  */
/* ------------------------------------------------------------------------- */

static int cmd_status(int argc, char **argv)
{
	if (need_help(argc, argv)) {
		printf("usage: smsfwctl [--json] status\n\nDataplane connection and counters, "
		       "per-port counters (ports), ruleset version\nand age, customers by standing, "
		       "blocked messages by category, ingestion counters,\nstore size.\n%s",
		       exit_doc);
		return EXIT_OK;
	}
	if (argc > 1)
		return usage_err("status takes no arguments");
	return run("status", NULL, NULL, stdout);
}

static volatile sig_atomic_t top_stop;
static void on_sigint(int s)
{
	(void)s;
	top_stop = 1;
}

static long long jint(json_t *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *cur = o;
	for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
		cur = json_object_get(cur, tok);
	return cur && json_is_integer(cur) ? (long long)json_integer_value(cur) : 0;
}

/* Previous screen's counters of one port, for its rates in top. */
struct top_port {
	char instance[17];
	long long port, rx, tx;
};

/* One line per port of the connected dataplanes (status "ports"): packets
 * per second since the previous screen (0 on the first), rx_missed and the
 * error counters. Updates @p prev (@p n_prev entries, at most @p max). */
static void top_ports(json_t *ports, long long interval, struct top_port *prev, size_t *n_prev,
		      size_t max)
{
	struct top_port cur[16];
	size_t n_cur = 0, i;
	json_t *p;

	if (!json_array_size(ports)) {
		printf("ports      none reported\n");
		*n_prev = 0;
		return;
	}
	json_array_foreach(ports, i, p)
	{
		const char *inst = json_string_value(json_object_get(p, "instance"));
		long long port = jint(p, "port"), rx = jint(p, "rx_packets"),
			  tx = jint(p, "tx_packets");
		const struct top_port *old = NULL;

		for (size_t j = 0; j < *n_prev && !old; j++)
			if (prev[j].port == port && inst && !strcmp(prev[j].instance, inst))
				old = &prev[j];
		printf("port %-5lld  rx/s %-8lld tx/s %-8lld rx %-10lld tx %-10lld missed %lld  "
		       "rx_err %lld  tx_err %lld\n",
		       port, old && rx >= old->rx ? (rx - old->rx) / interval : 0,
		       old && tx >= old->tx ? (tx - old->tx) / interval : 0, rx, tx,
		       jint(p, "rx_missed"), jint(p, "rx_errors"), jint(p, "tx_errors"));
		if (n_cur < sizeof(cur) / sizeof(cur[0])) {
			snprintf(cur[n_cur].instance, sizeof(cur[n_cur].instance), "%s",
				 inst ? inst : "");
			cur[n_cur].port = port;
			cur[n_cur].rx = rx;
			cur[n_cur].tx = tx;
			n_cur++;
		}
	}
	*n_prev = n_cur < max ? n_cur : max;
	memcpy(prev, cur, *n_prev * sizeof(*prev));
}

static int cmd_top(int argc, char **argv)
{
	static const struct option o[] = {{"interval", required_argument, NULL, 'i'},
					  {"iterations", required_argument, NULL, 'n'},
					  {"help", no_argument, NULL, 'h'},
					  {NULL, 0, NULL, 0}};
	long long interval = 1, iterations = 0;
	int c;
	struct termios old, raw;
	bool tty = isatty(0);

	optind = 0;
	while ((c = getopt_long(argc, argv, "i:n:h", o, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!parse_ll(optarg, &interval) || interval < 1 || interval > 3600)
				return usage_err("--interval must be 1..3600 seconds");
			break;
		case 'n':
			if (!parse_ll(optarg, &iterations) || iterations < 0)
				return usage_err("--iterations must be >= 0");
			break;
		case 'h':
			printf(
			    "usage: smsfwctl top [--interval SECONDS] [--iterations N]\n\n"
			    "Live view refreshed every SECONDS (default 1): dataplane counters,\n"
			    "rates, one line per port (rx/tx packets per second, rx_missed,\n"
			    "errors), customers by standing, blocks by category. 'q' or Ctrl-C "
			    "quits;\n--iterations N stops after N screens (0 = until quit).\n%s",
			    exit_doc);
			return EXIT_OK;
		default:
			return usage_err("bad option for top");
		}
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	if (tty) {
		tcgetattr(0, &old);
		raw = old;
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		tcsetattr(0, TCSANOW, &raw);
	}
	long long prev_obs = -1, prev_rx = -1, prev_blk = -1;
	struct top_port prev_ports[16];
	size_t n_prev_ports = 0;
	int rc = EXIT_OK;
	for (long long it = 0; !top_stop && (iterations == 0 || it < iterations); it++) {
		json_t *resp = request("status", NULL);
		if (!resp) {
			fprintf(stderr, "smsfwctl: cannot reach smsfw-controld at %s\n", G.socket);
			rc = EXIT_UNREACHABLE;
			break;
		}
		json_t *s = json_object_get(resp, "result");
		long long obs = jint(s, "ingest.observations") + jint(s, "ingest.facts");
		long long rx = jint(s, "dataplane.rx_pdus"), blk = jint(s, "ingest.blocked");
		char tbuf[32];
		time_t now = time(NULL);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
		if (G.json) {
			json_dumpf(s, stdout, JSON_COMPACT);
			putchar('\n');
		} else {
			printf("\033[H\033[2J");
			printf("smsfw top — %s   generation %lld   uptime %llds   (q quits)\n\n",
			       tbuf, jint(s, "generation"), jint(s, "uptime_seconds"));
			printf("dataplane  %s  connected %lld   rx_pdus %lld  passed %lld  blocked "
			       "%lld  "
			       "throttled %lld  dropped_obs %lld  errors %lld\n",
			       json_is_true(json_object_get(json_object_get(s, "dataplane"), "up"))
				   ? "UP  "
				   : "DOWN",
			       jint(s, "dataplane.connected"), rx, jint(s, "dataplane.passed"),
			       jint(s, "dataplane.blocked"), jint(s, "dataplane.throttled"),
			       jint(s, "dataplane.observations_dropped"),
			       jint(s, "dataplane.errors"));
			printf("rates      events/s %lld   pdus/s %lld   blocked/s %lld\n",
			       prev_obs < 0 ? 0 : (obs - prev_obs) / interval,
			       prev_rx < 0 ? 0 : (rx - prev_rx) / interval,
			       prev_blk < 0 ? 0 : (blk - prev_blk) / interval);
			top_ports(json_object_get(s, "ports"), interval, prev_ports, &n_prev_ports,
				  sizeof(prev_ports) / sizeof(prev_ports[0]));
			json_t *rs = json_object_get(s, "ruleset");
			if (json_is_object(rs))
				printf(
				    "ruleset    version %lld  rules %lld  signer %s  age %llds\n",
				    jint(rs, "version"), jint(rs, "rules"),
				    json_string_value(json_object_get(rs, "signer")),
				    jint(rs, "age_seconds"));
			else
				printf("ruleset    none published\n");
			printf(
			    "customers  active %lld  warned %lld  suspended %lld  terminated %lld  "
			    "pending review %lld\n",
			    jint(s, "customers.active"), jint(s, "customers.warned"),
			    jint(s, "customers.suspended"), jint(s, "customers.terminated"),
			    jint(s, "customers.pending_review"));
			printf("ingested   messages %lld  facts %lld  duplicates %lld  bad %lld\n",
			       jint(s, "ingest.observations"), jint(s, "ingest.facts"),
			       jint(s, "ingest.duplicate_facts"), jint(s, "ingest.bad_events"));
			printf("\nblocked by category:\n");
			const char *k;
			json_t *v;
			json_object_foreach(json_object_get(s, "blocked_by_category"), k, v)
			    printf("  %-16s %lld\n", k, (long long)json_integer_value(v));
			json_t *tr = json_object_get(s, "top_rules");
			if (json_array_size(tr)) {
				size_t i;
				printf("\ntop rules:\n");
				json_array_foreach(tr, i, v)
				    printf("  rule %-10lld %-12s %-8s %lld\n", jint(v, "rule"),
					   json_string_value(json_object_get(v, "category")),
					   json_string_value(json_object_get(v, "verdict")),
					   jint(v, "messages"));
			}
			fflush(stdout);
		}
		prev_obs = obs;
		prev_rx = rx;
		prev_blk = blk;
		json_decref(resp);
		if (iterations && it + 1 >= iterations)
			break;
		struct pollfd pf = {.fd = 0, .events = POLLIN};
		if (poll(&pf, tty ? 1 : 0, (int)interval * 1000) > 0) {
			char ch;
			if (read(0, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				break;
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &old);
	return rc;
}

static const char *const customer_cols[] = {"id",	  "standing", "violations", "rate",
					    "bulk_optin", "senders",  NULL};

/* Options shared by customers add / set. Returns the args object or NULL
 * with the exit code in *rc (usage error, or EXIT_OK after --help). */
static json_t *customer_fields(int argc, char **argv, const char *what, int *rc)
{
	static const struct field f[] = {
	    {"rate", "rate", F_UINT},
	    {"burst", "burst", F_UINT},
	    {"sender-rate", "sender_rate", F_UINT},
	    {"sender-burst", "sender_burst", F_UINT},
	    {"senders", "senders", F_LIST},
	    {"ip-ranges", "ip_ranges", F_LIST},
	    {"max-binds", "max_binds", F_UINT},
	    {"binds-per-min", "binds_per_min", F_UINT},
	    {"bulk", "bulk_optin", F_YESNO},
	    {"exempt-rules", "exempt_rules", F_INTLIST},
	    {"exempt-categories", "exempt_categories", F_LIST},
	    {NULL, NULL, 0},
	};
	json_t *args = json_object();
	char ctx[64];

	snprintf(ctx, sizeof(ctx), "customers %s", what);
	*rc = parse_fields(argc, argv, f, args, NULL, ctx);
	if (*rc == PF_HELP) {
		printf("usage: smsfwctl customers %s ID [--rate N] [--burst N] [--sender-rate "
		       "N]\n"
		       "       [--sender-burst N] [--senders A,B] [--ip-ranges CIDR,..]\n"
		       "       [--max-binds N] [--binds-per-min N] [--bulk yes|no]\n"
		       "       [--exempt-rules ID,..] [--exempt-categories spam,..]\n\n"
		       "Rates are messages per second (0 = unlimited). Empty lists clear.\n%s",
		       what, exit_doc);
		*rc = EXIT_OK;
		goto fail;
	}
	if (*rc != PF_DONE)
		goto fail;
	if (optind + 1 != argc) {
		*rc = usage_err("customers %s needs exactly one ID", what);
		goto fail;
	}
	json_object_set_new(args, "id", json_string(argv[optind]));
	return args;
fail:
	json_decref(args);
	return NULL;
}

static int cmd_customers(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	static const char *const subs[] = {"list",    "show",	"add",	     "set", "warn",
					   "suspend", "resume", "terminate", NULL};
	int rc =
	    check_sub("customers", sub, subs,
		      "usage: smsfwctl customers list|show|add|set|warn|suspend|resume|terminate "
		      "...\n"
		      "  list [--standing active|warned|suspended|terminated]\n"
		      "  show ID      (--json keys: id, standing, violations, complaints_30d,\n"
		      "                complaints_90d, history, ...)\n"
		      "  add ID [FIELDS] / set ID FIELDS   (customers add --help for FIELDS)\n"
		      "  warn|suspend|resume|terminate ID --reason TEXT [--force]\n"
		      "     suspend confirms a suspension pending review; resume rejects it;\n"
		      "     leaving 'terminated' needs --force.\n");
	if (rc >= 0)
		return rc;
	argc--;
	argv++;
	if (!strcmp(sub, "list")) {
		static const struct option o[] = {{"standing", required_argument, NULL, 's'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
		json_t *args = json_object();
		int c;
		optind = 0;
		while ((c = getopt_long(argc, argv, "s:h", o, NULL)) != -1) {
			if (c == 's') {
				json_object_set_new(args, "standing", json_string(optarg));
			} else if (c == 'h') {
				printf("usage: smsfwctl customers list [--standing S]\n%s",
				       exit_doc);
				json_decref(args);
				return EXIT_OK;
			} else {
				json_decref(args);
				return usage_err("bad option for customers list");
			}
		}
		if (optind != argc) {
			json_decref(args);
			return usage_err("customers list takes no positional arguments");
		}
		return run("customers.list", args, customer_cols, stdout);
	}
	if (!strcmp(sub, "show")) {
		if (need_help(argc, argv)) {
			printf("usage: smsfwctl [--json] customers show ID\n%s", exit_doc);
			return EXIT_OK;
		}
		if (argc != 2)
			return usage_err("customers show needs exactly one ID");
		return run("customers.show", json_pack("{s:s}", "id", argv[1]), NULL, stdout);
	}
	if (!strcmp(sub, "add") || !strcmp(sub, "set")) {
		json_t *args = customer_fields(argc, argv, sub, &rc);
		if (!args)
			return rc;
		if (!strcmp(sub, "set") && json_object_size(args) == 1) {
			json_decref(args);
			return usage_err("customers set needs at least one field to change");
		}
		return run(!strcmp(sub, "add") ? "customers.add" : "customers.set", args, NULL,
			   stdout);
	}
	static const char *const verbs[][2] = {{"warn", "warned"},
					       {"suspend", "suspended"},
					       {"resume", "active"},
					       {"terminate", "terminated"}};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(sub, verbs[i][0]))
			continue;
		static const struct option o[] = {{"reason", required_argument, NULL, 'r'},
						  {"force", no_argument, NULL, 'f'},
						  {"actor", required_argument, NULL, 'a'},
						  {"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
		const char *reason = NULL, *actor = NULL;
		bool force = false;
		int c;
		optind = 0;
		while ((c = getopt_long(argc, argv, "r:fa:h", o, NULL)) != -1) {
			switch (c) {
			case 'r':
				reason = optarg;
				break;
			case 'f':
				force = true;
				break;
			case 'a':
				actor = optarg;
				break;
			case 'h':
				printf("usage: smsfwctl customers %s ID --reason TEXT [--force] "
				       "[--actor NAME]\n\nRecorded in the customer's history with "
				       "who, "
				       "when and why.\n%s",
				       verbs[i][0], exit_doc);
				return EXIT_OK;
			default:
				return usage_err("bad option for customers %s", verbs[i][0]);
			}
		}
		if (optind + 1 != argc)
			return usage_err("customers %s needs exactly one ID", verbs[i][0]);
		if (!reason || !*reason)
			return usage_err("customers %s needs --reason TEXT", verbs[i][0]);
		json_t *args = json_pack("{s:s, s:s, s:s, s:b}", "id", argv[optind], "to",
					 verbs[i][1], "reason", reason, "force", force);
		const char *sudo = getenv("SUDO_USER");
		if (actor || sudo)
			json_object_set_new(args, "actor", json_string(actor ? actor : sudo));
		return run("customers.standing", args, NULL, stdout);
	}
	return usage_err("unknown customers command '%s'", sub);
}

static int cmd_complaints(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	static const char *const subs[] = {"add", "list", NULL};
	static const struct field f[] = {{"customer", "customer", F_STR},
					 {"msisdn", "msisdn", F_STR},
					 {"text", "text", F_STR},
					 {"source", "source", F_STR},
					 {"limit", "limit", F_POS},
					 {"unmask", "unmask", F_TRUE},
					 {NULL, NULL, 0}};
	int rc = check_sub("complaints", sub, subs,
			   "usage: smsfwctl complaints add --customer ID --msisdn N [--text T] "
			   "[--source 7726|email|...]\n"
			   "       smsfwctl [--json] complaints list [--customer ID] [--limit N] "
			   "[--unmask]\n\n"
			   "A complaint links to the newest message from the customer to that\n"
			   "subscriber in the 7 days before. More than 5 complaints in 30 days or\n"
			   "more than 10 in 90 days is a violation.\n");
	if (rc >= 0)
		return rc;
	json_t *args = json_object();
	char ctx[64];
	snprintf(ctx, sizeof(ctx), "complaints %s", sub);
	rc = parse_fields(argc - 1, argv + 1, f, args, NULL, ctx);
	if (rc == PF_HELP) {
		printf("usage: smsfwctl complaints %s (see smsfwctl complaints --help)\n%s", sub,
		       exit_doc);
		rc = EXIT_OK;
	} else if (rc == PF_DONE && optind != argc - 1) {
		rc = usage_err("complaints %s takes no positional arguments", sub);
	} else if (rc == PF_DONE && !strcmp(sub, "add") &&
		   (!json_object_get(args, "customer") || !json_object_get(args, "msisdn"))) {
		rc = usage_err("complaints add needs --customer and --msisdn");
	}
	if (rc != PF_DONE) {
		json_decref(args);
		return rc;
	}
	if (!strcmp(sub, "add"))
		return run("complaints.add", args, NULL, stdout);
	static const char *const cols[] = {"id",     "time",	   "customer", "msisdn",
					   "source", "message_id", "text",     NULL};
	return run("complaints.list", args, cols, stdout);
}

/* evidence show|export and events tail|export share most options. */
static int cmd_evidence_events(int argc, char **argv, bool evidence)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	const char *cmd = evidence ? "evidence" : "events";
	static const char *const subs_e[] = {"show", "export", NULL};
	static const char *const subs_v[] = {"tail", "export", NULL};
	static const struct field f[] = {{"customer", "customer", F_STR},
					 {"msisdn", "msisdn", F_STR},
					 {"complaint", "complaint", F_UINT},
					 {"around", "around", F_UINT},
					 {"hours", "hours", F_UINT},
					 {"count", "limit", F_UINT},
					 {"since", "since", F_UINT},
					 {"until", "until", F_UINT},
					 {"output", NULL, F_LOCAL},
					 {"unmask", "unmask", F_TRUE},
					 {NULL, NULL, 0}};
	const char *help_e =
	    "usage: smsfwctl [--json] evidence show|export (--complaint ID | --customer ID "
	    "--msisdn N)\n"
	    "                [--around UNIXTIME] [--hours H] [--unmask] [--output FILE]\n\n"
	    "The customer's messages to the subscriber within H hours (default 24) of the\n"
	    "complaint (or of --around, default now), delivered ones included, with the full\n"
	    "text where it was kept. Numbers are masked unless --unmask. export writes\n"
	    "JSON (to FILE with --output) for the 24-hour answer.\n";
	const char *help_v =
	    "usage: smsfwctl [--json] events tail [--count N] [--customer ID] [--unmask]\n"
	    "       smsfwctl events export [--since UNIXTIME] [--until UNIXTIME] "
	    "[--customer ID]\n"
	    "                [--unmask] [--output FILE]\n\n"
	    "The message log: time, customer, sender, masked destination, content hash,\n"
	    "verdict, category, rule. export writes JSON lines.\n";
	int rc = check_sub(cmd, sub, evidence ? subs_e : subs_v, evidence ? help_e : help_v);
	if (rc >= 0)
		return rc;
	bool export = !strcmp(sub, "export");
	const char *output = NULL;
	json_t *args = json_object();
	char ctx[64];
	snprintf(ctx, sizeof(ctx), "%s %s", cmd, sub);
	argc--;
	argv++;
	rc = parse_fields(argc, argv, f, args, &output, ctx);
	if (rc == PF_HELP) {
		printf("%s%s", evidence ? help_e : help_v, exit_doc);
		rc = EXIT_OK;
	} else if (rc == PF_DONE && optind != argc) {
		rc = usage_err("unexpected argument '%s'", argv[optind]);
	}
	if (rc != PF_DONE) {
		json_decref(args);
		return rc;
	}
	FILE *out = stdout;
	if (output && !(out = fopen(output, "w"))) {
		json_decref(args);
		fprintf(stderr, "smsfwctl: %s: %s\n", output, strerror(errno));
		return EXIT_FAIL;
	}
	bool saved = G.json;
	if (export)
		G.json = true;
	static const char *const cols[] = {"id",	  "time",    "customer", "sender",
					   "destination", "verdict", "category", "rule_id",
					   "text",	  NULL};
	if (evidence) {
		json_t *resp = NULL;
		/* Print the message list as a table in human mode. */
		if (!G.json) {
			resp = request("evidence.show", args);
			args = NULL;
			if (!resp) {
				rc = EXIT_UNREACHABLE;
				fprintf(stderr, "smsfwctl: cannot reach smsfw-controld at %s\n",
					G.socket);
			} else if (!json_is_true(json_object_get(resp, "ok"))) {
				rc = error_exit(resp);
			} else {
				json_t *r = json_object_get(resp, "result");
				fprintf(out, "customer %s, subscriber %s, %s .. %s\n",
					json_string_value(json_object_get(r, "customer")),
					json_string_value(json_object_get(r, "msisdn")),
					json_string_value(json_object_get(r, "from")),
					json_string_value(json_object_get(r, "to")));
				print_table(out, json_object_get(r, "messages"), cols);
				rc = EXIT_OK;
			}
			json_decref(resp);
		} else {
			rc = run(export ? "evidence.export" : "evidence.show", args, cols, out);
		}
	} else {
		rc = run(export ? "events.export" : "events.tail", args, cols, out);
	}
	G.json = saved;
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "smsfwctl: %s: %s\n", output, strerror(errno));
		return EXIT_FAIL;
	}
	return rc;
}

static int cmd_optouts(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	static const char *const subs[] = {"list", "add", "remove", NULL};
	static const struct field f[] = {{"customer", "customer", F_STR},
					 {"msisdn", "msisdn", F_STR},
					 {"sender", "sender", F_STR},
					 {"unmask", "unmask", F_TRUE},
					 {NULL, NULL, 0}};
	int rc =
	    check_sub("optouts", sub, subs,
		      "usage: smsfwctl [--json] optouts list [--customer ID] [--unmask]\n"
		      "       smsfwctl optouts add|remove --customer ID --msisdn N [--sender S]\n\n"
		      "Opt-outs learned from subscribers' STOP messages and added by hand.\n"
		      "Without --sender an opt-out covers every sender of the customer.\n");
	if (rc >= 0)
		return rc;
	json_t *args = json_object();
	char ctx[64];
	snprintf(ctx, sizeof(ctx), "optouts %s", sub);
	argc--;
	argv++;
	rc = parse_fields(argc, argv, f, args, NULL, ctx);
	if (rc == PF_HELP) {
		printf("usage: see smsfwctl optouts --help\n%s", exit_doc);
		rc = EXIT_OK;
	} else if (rc == PF_DONE && optind != argc) {
		rc = usage_err("unexpected argument '%s'", argv[optind]);
	} else if (rc == PF_DONE && strcmp(sub, "list") &&
		   (!json_object_get(args, "customer") || !json_object_get(args, "msisdn"))) {
		rc = usage_err("optouts %s needs --customer and --msisdn", sub);
	}
	if (rc != PF_DONE) {
		json_decref(args);
		return rc;
	}
	if (!strcmp(sub, "list")) {
		static const char *const cols[] = {"customer", "subscriber", "sender",
						   "source",   "time",	     NULL};
		return run("optouts.list", args, cols, stdout);
	}
	return run(!strcmp(sub, "add") ? "optouts.add" : "optouts.remove", args, NULL, stdout);
}

static int cmd_rules(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	static const char *const help =
	    "usage: smsfwctl rules publish BUNDLE|RULEDIR [--allow-downgrade]\n"
	    "       smsfwctl [--json] rules list\n"
	    "       smsfwctl [--json] rules show [VERSION]\n"
	    "       smsfwctl rules rollback VERSION --reason TEXT\n\n"
	    "publish verifies the bundle's Ed25519 signature against the trusted keys\n"
	    "([controld] trusted_keys), refuses a version not newer than the running one\n"
	    "unless --allow-downgrade, compiles it on this machine, stores it and tells the\n"
	    "dataplane to swap. Any failure leaves the running ruleset in place.\n"
	    "A rule directory (unsigned) is accepted only when no trusted key is configured.\n"
	    "The version is the number in the bundle's VERSION file.\n";
	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		printf("%s%s", help, exit_doc);
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	argc--;
	argv++;
	if (need_help(argc, argv)) {
		printf("%s%s", help, exit_doc);
		return EXIT_OK;
	}
	if (!strcmp(sub, "list")) {
		static const char *const cols[] = {"version", "current", "published", "signer",
						   "rules",   "sha256",	 NULL};
		if (argc != 1)
			return usage_err("rules list takes no arguments");
		return run("rules.list", NULL, cols, stdout);
	}
	if (!strcmp(sub, "show")) {
		long long v = 0;
		if (argc > 2 || (argc == 2 && (!parse_ll(argv[1], &v) || v <= 0)))
			return usage_err("rules show [VERSION]");
		return run("rules.show", v ? json_pack("{s:I}", "version", (json_int_t)v) : NULL,
			   NULL, stdout);
	}
	if (!strcmp(sub, "publish")) {
		static const struct option o[] = {{"allow-downgrade", no_argument, NULL, 'd'},
						  {NULL, 0, NULL, 0}};
		bool down = false;
		int c;
		optind = 0;
		while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
			if (c == 'd')
				down = true;
			else
				return usage_err("bad option for rules publish");
		}
		if (optind + 1 != argc)
			return usage_err("rules publish needs exactly one BUNDLE or RULEDIR");
		char *abs = realpath(argv[optind], NULL);
		if (!abs) {
			fprintf(stderr, "smsfwctl: %s: %s\n", argv[optind], strerror(errno));
			return EXIT_NOTFOUND;
		}
		json_t *args = json_pack("{s:s, s:b}", "path", abs, "allow_downgrade", down);
		free(abs);
		return run("rules.publish", args, NULL, stdout);
	}
	if (!strcmp(sub, "rollback")) {
		static const struct option o[] = {{"reason", required_argument, NULL, 'r'},
						  {NULL, 0, NULL, 0}};
		const char *reason = NULL;
		long long v;
		int c;
		optind = 0;
		while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
			if (c == 'r')
				reason = optarg;
			else
				return usage_err("bad option for rules rollback");
		}
		if (optind + 1 != argc || !parse_ll(argv[optind], &v) || v <= 0)
			return usage_err("rules rollback needs one VERSION");
		if (!reason || !*reason)
			return usage_err("rules rollback needs --reason TEXT");
		return run("rules.rollback",
			   json_pack("{s:I, s:s}", "version", (json_int_t)v, "reason", reason),
			   NULL, stdout);
	}
	return usage_err("unknown rules command '%s'", sub);
}

/* Warnings of a valid file that depend on this machine: [dataplane] user
 * and group name accounts the dataplane looks up at start; one missing here
 * is only a warning (the file may be checked on another machine than the
 * one it is for). @return the number of warnings printed on stderr. */
static int config_warnings(const char *path, const struct smsfw_conf *c)
{
	static const struct {
		enum smsfw_conf_id id;
		const char *key; /* also what it names: a user or a group */
		bool group;
	} acc[] = {
	    {SMSFW_CONF_dataplane_user, "user", false},
	    {SMSFW_CONF_dataplane_group, "group", true},
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(acc) / sizeof(acc[0]); i++) {
		const char *v = smsfw_conf_str(c, acc[i].id);
		bool found;

		if (!v || !*v)
			continue;
		found = acc[i].group ? getgrnam(v) != NULL : getpwnam(v) != NULL;
		if (found)
			continue;
		fprintf(stderr,
			"%s:%d: warning: [dataplane] %s: no %s '%s' on this machine (the "
			"dataplane refuses to start where it does not exist)\n",
			path, smsfw_conf_line(c, acc[i].id), acc[i].key, acc[i].key, v);
		n++;
	}
	return n;
}

static int cmd_config(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	char err[8192];
	struct smsfw_conf *c;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		printf("usage: smsfwctl config check FILE    validate (errors name the line)\n"
		       "       smsfwctl [--json] config keys  every key, type, default, range\n"
		       "       smsfwctl config example        a documented file with the defaults\n"
		       "No daemon needed. check exits 0 when valid, 2 when not; a [dataplane]\n"
		       "user or group that does not exist on this machine is a warning on\n"
		       "stderr naming the line (exit 0: the file may be for another machine).\n");
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	if (!strcmp(sub, "check")) {
		if (argc != 3)
			return usage_err("config check needs exactly one FILE");
		int rc = smsfw_conf_load(argv[2], &c, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "%s\n", err);
			return rc == SMSFW_CONF_ERR_NOENT ? EXIT_NOTFOUND : EXIT_USAGE;
		}
		config_warnings(argv[2], c);
		smsfw_conf_free(c);
		printf("%s: ok\n", argv[2]);
		return EXIT_OK;
	}
	if (!strcmp(sub, "example")) {
		return smsfw_conf_write(stdout, NULL) ? EXIT_FAIL : EXIT_OK;
	}
	if (!strcmp(sub, "keys")) {
		static const char *const tn[] = {"string", "integer", "boolean",
						 "choice", "list",    "integer list"};
		json_t *a = json_array();
		for (int i = 0; i < SMSFW_CONF_COUNT; i++) {
			const struct smsfw_conf_key *k = &smsfw_conf_keys[i];
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "section", k->section,
					      "key", k->key, "type", tn[k->type], "default", k->def,
					      "doc", k->doc);
			if (k->type == SMSFW_CONF_T_INT || k->type == SMSFW_CONF_T_INTLIST) {
				json_object_set_new(o, "min", json_integer(k->min));
				json_object_set_new(o, "max", json_integer(k->max));
			}
			if (k->type == SMSFW_CONF_T_ENUM)
				json_object_set_new(o, "choices", json_string(k->choices));
			json_array_append_new(a, o);
		}
		if (G.json) {
			json_dumpf(a, stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			size_t i;
			json_t *o;
			json_array_foreach(a, i, o)
			    printf("[%s] %-24s %-12s default %-10s %s\n",
				   json_string_value(json_object_get(o, "section")),
				   json_string_value(json_object_get(o, "key")),
				   json_string_value(json_object_get(o, "type")),
				   *json_string_value(json_object_get(o, "default"))
				       ? json_string_value(json_object_get(o, "default"))
				       : "\"\"",
				   json_string_value(json_object_get(o, "doc")));
		}
		json_decref(a);
		return EXIT_OK;
	}
	return usage_err("unknown config command '%s'", sub);
}

static int cmd_evidence(int argc, char **argv)
{
	return cmd_evidence_events(argc, argv, true);
}

static int cmd_events(int argc, char **argv)
{
	return cmd_evidence_events(argc, argv, false);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage_main(stdout);
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"status", cmd_status},	  {"top", cmd_top},
    {"customers", cmd_customers}, {"complaints", cmd_complaints},
    {"evidence", cmd_evidence},	  {"events", cmd_events},
    {"optouts", cmd_optouts},	  {"rules", cmd_rules},
    {"config", cmd_config},	  {"help", cmd_help},
};

/* ------------------------------------------------------------------------- */

static void resolve_socket(const char *opt)
{
	const char *env = getenv("SMSFW_SOCKET");
	struct smsfw_conf *c;
	struct smsfw_conf_paths p;

	if (opt) {
		snprintf(G.socket, sizeof(G.socket), "%s", opt);
		return;
	}
	if (env && *env) {
		snprintf(G.socket, sizeof(G.socket), "%s", env);
		return;
	}
	if (smsfw_conf_load(G.config ? G.config : SMSFW_CONF_PATH, &c, NULL, 0) == 0 ||
	    smsfw_conf_load(NULL, &c, NULL, 0) == 0) {
		if (smsfw_conf_paths(c, &p) == 0)
			snprintf(G.socket, sizeof(G.socket), "%s", p.socket);
		smsfw_conf_free(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option o[] = {{"socket", required_argument, NULL, 's'},
					  {"config", required_argument, NULL, 'c'},
					  {"json", no_argument, NULL, 'j'},
					  {"help", no_argument, NULL, 'h'},
					  {NULL, 0, NULL, 0}};
	const char *sock = NULL;
	int c, rc;

	/* '+': stop at the command; its options belong to it. */
	while ((c = getopt_long(argc, argv, "+s:c:jh", o, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			G.config = optarg;
			break;
		case 'j':
			G.json = true;
			break;
		case 'h':
			usage_main(stdout);
			return EXIT_OK;
		default:
			usage_main(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	resolve_socket(sock);
	const char *cmd = argv[optind];
	int cargc = argc - optind;
	char **cargv = argv + optind;

	/* Requests are JSON, which carries UTF-8 only: an argument that is
	 * not (a Latin-1 terminal) would be dropped from the request without
	 * a word, leaving a complaint without its text or a filter unapplied.
	 * `config` works on local files only and sends nothing. */
	for (int i = 0; strcmp(cmd, "config") && i < cargc; i++) {
		json_t *probe = json_string(cargv[i]);
		const char *eq = strchr(cargv[i], '=');
		if (probe) {
			json_decref(probe);
			continue;
		}
		if (!strncmp(cargv[i], "--", 2) && eq)
			return usage_err("the value of %.*s is not valid UTF-8",
					 (int)(eq - cargv[i]), cargv[i]);
		if (i > 0 && cargv[i - 1][0] == '-')
			return usage_err("the value of %s is not valid UTF-8", cargv[i - 1]);
		return usage_err("argument %d of '%s' is not valid UTF-8", i, cmd);
	}

	rc = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			rc = commands[i].fn(cargc, cargv);
			break;
		}
	if (rc < 0)
		rc = usage_err("unknown command '%s'", cmd);
	if (G.fd >= 0)
		close(G.fd);
	return rc;
}
