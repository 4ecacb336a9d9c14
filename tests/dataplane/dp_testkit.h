/* Scaffolding shared by the in-process dataplane tests and the pipeline
 * bench: big-endian field writers and the EAL start-up (no hugepages, no
 * PCI, one lcore, a per-program --file-prefix so parallel runs never share
 * runtime files). Header only, so tests/bench can include it as it is. */
#ifndef SMSFW_DP_TESTKIT_H
#define SMSFW_DP_TESTKIT_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

static inline void dp_tk_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dp_tk_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t dp_tk_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Start the EAL for program `prog` with `mem_mb` MB of memory and the file
 * prefix `<tag><pid>`. Returns 0, or -1 (message on stderr) on failure. */
static inline int dp_tk_eal_init(const char *prog, const char *tag, const char *mem_mb)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s%d", tag, (int)getpid());
	char *eal[] = { (char *)prog, "--no-huge", "--no-shconf", "--no-pci", "-m", (char *)mem_mb,
			"-l", "0", "--no-telemetry", "--log-level=*:error", prefix, NULL };
	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return -1;
	}
	return 0;
}

#endif
