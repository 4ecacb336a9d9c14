/*
 * smsfw-bench NAME [ARGS...]
 *
 * Dispatches to the benchmark program smsfw-bench-NAME installed beside this
 * one, so each component ships its benchmark as its own small program and a
 * component that is not built simply has no benchmark listed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: smsfw-bench NAME [ARGS...]\n"
		     "benchmarks built here: %s\n",
		SMSFW_BENCH_NAMES[0] ? SMSFW_BENCH_NAMES : "(none)");
}

/* True when NAME is one of the space-separated words of SMSFW_BENCH_NAMES. */
static int bench_known(const char *name)
{
	const char *p = SMSFW_BENCH_NAMES;
	size_t n = strlen(name);

	while (*p) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], prog[PATH_MAX];
	ssize_t len;
	char *slash;
	int n;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!bench_known(argv[1])) {
		fprintf(stderr, "smsfw-bench: no benchmark named '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0) {
		fprintf(stderr, "smsfw-bench: cannot find myself: %s\n", strerror(errno));
		return 1;
	}
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	n = snprintf(prog, sizeof(prog), "%s/smsfw-bench-%s", self, argv[1]);
	if (n < 0 || (size_t)n >= sizeof(prog)) {
		fprintf(stderr, "smsfw-bench: path too long\n");
		return 1;
	}
	argv[1] = prog;
	execv(prog, argv + 1);
	fprintf(stderr, "smsfw-bench: cannot run %s: %s\n", prog, strerror(errno));
	return 1;
}
