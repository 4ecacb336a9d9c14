/* Helpers shared by the control-plane unit tests: a store in a fresh
 * temporary directory (on /dev/shm when present, so fsync is cheap) and a
 * fake clock. */
#ifndef CP_TEST_UTIL_H
#define CP_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_engine.h"

struct fake_clock {
	uint64_t now;
};

static inline uint64_t fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->now;
}

static inline void test_tmpdir(char *out, size_t cap)
{
	struct stat st;
	const char *base = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
	snprintf(out, cap, "%s/smsfw-cptest-XXXXXX", base);
	if (!mkdtemp(out))
		abort();
}

static inline void test_rmdir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* Policy config with the built-in defaults. */
static inline void test_policy_defaults(struct cp_policy_cfg *p)
{
	struct smsfw_conf *c;
	char err[256];
	if (smsfw_conf_load(NULL, &c, err, sizeof(err)))
		abort();
	cp_policy_cfg_from_conf(p, c);
	smsfw_conf_free(c);
}

#endif
