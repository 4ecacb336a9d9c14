/*
 * cp_rules.h — rule publishing: verify a signed bundle (or take an unsigned
 * rule directory when no trusted key is configured), refuse downgrades,
 * compile on this machine with the patterns library, store the compiled
 * ruleset in LMDB and make it current (generation bump). Private to
 * controlplane/.
 *
 * The signed version of a bundle is the decimal number in its "VERSION"
 * file: the signature covers every file of the bundle, so the version cannot
 * be changed without the key. A rule directory may carry a VERSION file too;
 * without one it gets the next version after the newest stored.
 */
#ifndef SMSFW_CP_RULES_H
#define SMSFW_CP_RULES_H

#include "cp_engine.h"

/** Name of the file inside a bundle or rule directory holding its version. */
#define CP_RULES_VERSION_FILE "VERSION"

/** A trusted signing key. */
struct cp_trusted_key {
	char name[CP_SIGNER_MAX]; /**< file base name without .pub */
	uint8_t pk[32];
};

/** Publish outcome. */
struct cp_publish_result {
	uint64_t version;
	uint64_t previous; /**< version current before (0 = none) */
	size_t n_rules;
	char signer[CP_SIGNER_MAX];
	char sha256[65];
};

/**
 * Load the keys named by [controld] trusted_keys.
 * @return number loaded (>= 0), or CP_ERR_IO with the file named in @p err.
 */
int cp_rules_load_keys(const struct smsfw_conf *c, struct cp_trusted_key *keys, size_t cap,
		       char *err, size_t errlen);

/**
 * Publish @p path (a bundle file, or a rule directory). With keys, the
 * bundle must verify against one of them; directories are then refused.
 * @return CP_OK; CP_ERR_REFUSED (signature, unsigned, downgrade, no
 *         VERSION) with the reason in @p err; CP_ERR_FORMAT (syntax or
 *         compile error, "file:line: message" in @p err); CP_ERR_IO;
 *         CP_ERR_STORE. On any error the running ruleset stays.
 */
int cp_rules_publish(struct cp_engine *e, const char *path, const struct cp_trusted_key *keys,
		     size_t n_keys, bool allow_downgrade, const char *actor,
		     struct cp_publish_result *res, char *err, size_t errlen);

/**
 * Make stored version @p version current again (recorded with @p reason).
 * @return CP_OK; CP_ERR_NOTFOUND; CP_ERR_INVAL (no reason); CP_ERR_STORE.
 */
int cp_rules_rollback(struct cp_engine *e, uint64_t version, const char *actor, const char *reason);

#endif
