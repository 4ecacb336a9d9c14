/*
 * smsfw-gen — SMPP load and scenario generator (ESME and SMSC roles).
 *
 *   smsfw-gen esme [OPTIONS] HOST:PORT
 *   smsfw-gen smsc [OPTIONS] [HOST:]PORT
 *
 * Exit status: 0 the run went as asked (every submit answered, whatever its
 * status; every receipt asked for received); 1 a run-time failure (connect,
 * bind refused, connection lost, answers missing); 2 a usage error.
 * The manual is docs/man/smsfw-gen.1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#ifndef GEN_VERSION
#define GEN_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: smsfw-gen esme [OPTIONS] HOST:PORT\n"
	    "       smsfw-gen smsc [OPTIONS] [HOST:]PORT\n"
	    "\n"
	    "SMPP 3.4 load and scenario generator: an ESME that binds and submits a\n"
	    "message mix, or an SMSC that answers, sends receipts and MO messages.\n"
	    "\n"
	    "Both roles:\n"
	    "  -n, --messages N        stop after N messages (ESME: sent; SMSC: received)\n"
	    "  -t, --duration SECS     stop after SECS seconds\n"
	    "  -w, --window N          outstanding requests per connection (default 64)\n"
	    "  -u, --system-id ID      ESME: bind as ID (default smsfwgen);\n"
	    "                          SMSC: system_id in bind_resp (default SMSFWGEN)\n"
	    "  -P, --password PW       ESME: bind password; SMSC: refuse other passwords\n"
	    "      --system-type TYPE  ESME: system_type of the bind\n"
	    "  -e, --enquire-link SECS send enquire_link every SECS seconds (ESME)\n"
	    "      --record FILE       write every message received to FILE (TSV)\n"
	    "  -j, --json              print the report as one JSON object\n"
	    "  -q, --quiet             no text report\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           print the version\n"
	    "\n"
	    "ESME:\n"
	    "  -b, --bind MODE         transmitter or transceiver (default transceiver)\n"
	    "  -c, --connections N     sessions to open (default 1)\n"
	    "  -r, --rate R            submit_sm per second, all sessions (default: no limit)\n"
	    "  -m, --mix FILE          messages to send, in turn (see MIX FILES in the manual)\n"
	    "      --from ADDR         sender without --mix (default smsfwgen)\n"
	    "      --to ADDR           destination without --mix (default 447700900000)\n"
	    "      --text TEXT         text without --mix\n"
	    "      --coding CODING     gsm, ia5, latin1 or ucs2 without --mix (default gsm)\n"
	    "      --concat KIND       udh8, udh16, sar or payload without --mix (default udh8)\n"
	    "  -d, --dlr               ask for delivery receipts and wait for them\n"
	    "      --drain SECS        wait this long for answers after sending (default 5)\n"
	    "      --connect-wait SECS retry connecting this long (default 0)\n"
	    "\n"
	    "SMSC:\n"
	    "      --mo FILE           MO messages (mix file) sent to each receiving session\n"
	    "      --mo-count N        MO messages per session, cycling the file (default: each "
	    "once)\n"
	    "      --no-receipts       never send delivery receipts\n"
	    "      --reject N:STATUS   answer every Nth submit with STATUS (name or number)\n"
	    "      --bind-status STATUS  answer every bind with STATUS\n"
	    "      --once              exit when the first bound session ends\n"
	    "      --port-file FILE    write the listening port to FILE (for PORT 0)\n");
}

enum {
	OPT_SYSTEM_TYPE = 256,
	OPT_RECORD,
	OPT_FROM,
	OPT_TO,
	OPT_TEXT,
	OPT_CODING,
	OPT_CONCAT,
	OPT_DRAIN,
	OPT_CONNECT_WAIT,
	OPT_MO,
	OPT_MO_COUNT,
	OPT_NO_RECEIPTS,
	OPT_REJECT,
	OPT_BIND_STATUS,
	OPT_ONCE,
	OPT_PORT_FILE,
};

static const struct option long_opts[] = {
    {"messages", required_argument, NULL, 'n'},
    {"duration", required_argument, NULL, 't'},
    {"window", required_argument, NULL, 'w'},
    {"system-id", required_argument, NULL, 'u'},
    {"password", required_argument, NULL, 'P'},
    {"system-type", required_argument, NULL, OPT_SYSTEM_TYPE},
    {"enquire-link", required_argument, NULL, 'e'},
    {"record", required_argument, NULL, OPT_RECORD},
    {"json", no_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"bind", required_argument, NULL, 'b'},
    {"connections", required_argument, NULL, 'c'},
    {"rate", required_argument, NULL, 'r'},
    {"mix", required_argument, NULL, 'm'},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"text", required_argument, NULL, OPT_TEXT},
    {"coding", required_argument, NULL, OPT_CODING},
    {"concat", required_argument, NULL, OPT_CONCAT},
    {"dlr", no_argument, NULL, 'd'},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"connect-wait", required_argument, NULL, OPT_CONNECT_WAIT},
    {"mo", required_argument, NULL, OPT_MO},
    {"mo-count", required_argument, NULL, OPT_MO_COUNT},
    {"no-receipts", no_argument, NULL, OPT_NO_RECEIPTS},
    {"reject", required_argument, NULL, OPT_REJECT},
    {"bind-status", required_argument, NULL, OPT_BIND_STATUS},
    {"once", no_argument, NULL, OPT_ONCE},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {NULL, 0, NULL, 0},
};

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e7)
		return -1;
	*out = v;
	return 0;
}

/* A command_status by number (88, 0x58) or name (ESME_RTHROTTLED, RTHROTTLED). */
static int parse_status(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, UINT32_MAX, &v) == 0) {
		*out = (uint32_t)v;
		return 0;
	}
	for (uint32_t i = 0; i < 0x600; i++) {
		const char *n = smpp_esme_name(i);

		if (n &&
		    (!strcasecmp(n, s) || (!strncmp(n, "ESME_", 5) && !strcasecmp(n + 5, s)))) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

static void on_signal(int sig)
{
	(void)sig;
	gen_stop++; /* a second signal skips the drain */
}

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "smsfw-gen: invalid %s '%s'\n", opt, arg);
	return 2;
}

int main(int argc, char **argv)
{
	struct gen_opts o = {
	    .window = 64,
	    .drain = 5,
	    .connections = 1,
	    .bind_cmd = SMPP_CMD_BIND_TRANSCEIVER,
	    .password = NULL,
	    .system_type = "",
	    .line = {"smsfwgen", "447700900000", "smsfw-gen test message", "gsm", "udh8"},
	    .reject_status = SMPP_ESME_RTHROTTLED,
	};
	const char *role;
	bool esme;
	struct sigaction sa;
	uint64_t v;
	int c;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("smsfw-gen %s\n", GEN_VERSION);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "esme") && strcmp(argv[1], "smsc"))) {
		usage(stderr);
		return 2;
	}
	role = argv[1];
	esme = !strcmp(role, "esme");
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "n:t:w:u:P:e:jqhVb:c:r:m:d", long_opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, UINT64_MAX, &o.limit) < 0)
				return bad("--messages", optarg);
			break;
		case 't':
			if (parse_secs(optarg, &o.duration) < 0)
				return bad("--duration", optarg);
			break;
		case 'w':
			if (parse_u64(optarg, 1u << 20, &v) < 0 || v == 0)
				return bad("--window", optarg);
			o.window = (unsigned)v;
			break;
		case 'u':
			if (strlen(optarg) > 15)
				return bad("--system-id (at most 15 characters)", optarg);
			o.system_id = optarg;
			break;
		case 'P':
			if (strlen(optarg) > 8)
				return bad("--password (at most 8 characters)", optarg);
			o.password = optarg;
			break;
		case OPT_SYSTEM_TYPE:
			if (strlen(optarg) > 12)
				return bad("--system-type (at most 12 characters)", optarg);
			o.system_type = optarg;
			break;
		case 'e':
			if (parse_secs(optarg, &o.enquire) < 0)
				return bad("--enquire-link", optarg);
			break;
		case OPT_RECORD:
			o.record = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("smsfw-gen %s\n", GEN_VERSION);
			return 0;
		case 'b':
			if (!strcmp(optarg, "transceiver") || !strcmp(optarg, "trx"))
				o.bind_cmd = SMPP_CMD_BIND_TRANSCEIVER;
			else if (!strcmp(optarg, "transmitter") || !strcmp(optarg, "tx"))
				o.bind_cmd = SMPP_CMD_BIND_TRANSMITTER;
			else
				return bad("--bind (transmitter or transceiver)", optarg);
			break;
		case 'c':
			if (parse_u64(optarg, 1024, &v) < 0 || v == 0)
				return bad("--connections", optarg);
			o.connections = (unsigned)v;
			break;
		case 'r':
			if (parse_secs(optarg, &o.rate) < 0)
				return bad("--rate", optarg);
			break;
		case 'm':
			o.mix_file = optarg;
			break;
		case OPT_FROM:
			o.line.sender = optarg;
			break;
		case OPT_TO:
			o.line.dest = optarg;
			break;
		case OPT_TEXT:
			o.line.text = optarg;
			break;
		case OPT_CODING:
			o.line.coding = optarg;
			break;
		case OPT_CONCAT:
			o.line.concat = optarg;
			break;
		case 'd':
			o.dlr = true;
			break;
		case OPT_DRAIN:
			if (parse_secs(optarg, &o.drain) < 0)
				return bad("--drain", optarg);
			break;
		case OPT_CONNECT_WAIT:
			if (parse_secs(optarg, &o.connect_wait) < 0)
				return bad("--connect-wait", optarg);
			break;
		case OPT_MO:
			o.mo_file = optarg;
			break;
		case OPT_MO_COUNT:
			if (parse_u64(optarg, UINT64_MAX, &o.mo_count) < 0)
				return bad("--mo-count", optarg);
			break;
		case OPT_NO_RECEIPTS:
			o.no_receipts = true;
			break;
		case OPT_REJECT: {
			char *colon = strchr(optarg, ':');

			if (colon)
				*colon = '\0';
			if (parse_u64(optarg, UINT32_MAX, &v) < 0 || v == 0 ||
			    (colon && parse_status(colon + 1, &o.reject_status) < 0))
				return bad("--reject (N[:STATUS])", optarg);
			o.reject_every = (uint32_t)v;
			break;
		}
		case OPT_BIND_STATUS:
			if (parse_status(optarg, &o.bind_status) < 0)
				return bad("--bind-status", optarg);
			break;
		case OPT_ONCE:
			o.once = true;
			break;
		case OPT_PORT_FILE:
			o.port_file = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "smsfw-gen %s: one address expected\n", role);
		usage(stderr);
		return 2;
	}
	o.addr = argv[optind];
	if (!o.system_id)
		o.system_id = esme ? "smsfwgen" : "SMSFWGEN";
	if (esme && !o.password)
		o.password = "";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return esme ? gen_esme_run(&o) : gen_smsc_run(&o);
}
