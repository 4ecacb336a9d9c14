/* dp_eal.c — leaving the EAL without leaving anything behind. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dp.h"

int dp_eal_cleanup(void)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	int rc = rte_eal_cleanup();

	/* EAL leaves its runtime directory behind, and its telemetry socket
	 * is unlinked only by an atexit handler, after this runs; with a file
	 * prefix per run (tests, --no-shconf) such directories pile up. Our
	 * own telemetry sockets go now; a directory that still holds anything
	 * else (shared config of another process of the same prefix) stays. */
	if (n > 0 && (size_t)n < sizeof(dir)) {
		DIR *d = opendir(dir);
		struct dirent *e;

		while (d && (e = readdir(d)) != NULL) {
			char path[PATH_MAX];

			if (strncmp(e->d_name, "dpdk_telemetry", 14) != 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
				(void)unlink(path);
		}
		if (d)
			closedir(d);
		(void)rmdir(dir);
	}
	return rc;
}
