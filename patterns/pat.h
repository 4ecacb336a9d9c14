/*
 * pat.h — smsfw rules: compile rule sources to Hyperscan, serialise and load
 * compiled rulesets, normalise text, scan messages (block and streaming), and
 * sign/verify rule bundles.
 *
 * No DPDK and no SMPP dependency: the caller hands in UTF-8 text as
 * (pointer, length) views. The language itself is documented in
 * patterns/README.md.
 *
 * Threading: a compiled or loaded `struct pat_ruleset` is immutable and may be
 * shared by any number of threads. Each scanning thread owns one
 * `struct pat_scratch` (allocated off the fast path, per ruleset). Scan
 * functions never allocate from the heap.
 */
#ifndef PAT_H
#define PAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Library status codes: 0 is success, errors are negative. */
enum pat_status {
	PAT_OK = 0,
	PAT_ENOMEM = -1,      /**< allocation failed (never on the scan path) */
	PAT_EINVAL = -2,      /**< bad argument (NULL, size too small, ...) */
	PAT_EIO = -3,         /**< a file could not be read or written */
	PAT_ESYNTAX = -4,     /**< rule source syntax error (see pat_error) */
	PAT_EDUPID = -5,      /**< two rules share one id */
	PAT_ECOMPILE = -6,    /**< Hyperscan refused a pattern (its message in pat_error) */
	PAT_EFORMAT = -7,     /**< blob/bundle magic, version or layout wrong */
	PAT_ECHECKSUM = -8,   /**< blob checksum mismatch */
	PAT_EPLATFORM = -9,   /**< blob compiled for another CPU/Hyperscan */
	PAT_ESIGNATURE = -10, /**< bundle signature does not verify */
	PAT_ETRUNCATED = -11, /**< blob or bundle shorter than its header says */
	PAT_EHYPERSCAN = -12, /**< Hyperscan runtime error */
	PAT_ESCRATCH = -13,   /**< scratch/stream state does not fit this ruleset */
	PAT_ENOSPACE = -14,   /**< caller buffer too small */
	PAT_ELIMIT = -15,     /**< a compile-time limit was exceeded (categories, ...) */
};

/** @return a static English description of @p status (never NULL). */
const char *pat_strerror(int status);

/** Size of the message buffer in struct pat_error. */
#define PAT_ERROR_MSG_MAX 256

/**
 * Where and why a parse/compile/load failed. Filled by functions that take
 * one; file is the source name ("" when not applicable), line and column are
 * 1-based (0 when not applicable).
 */
struct pat_error {
	char file[128];
	unsigned line;
	unsigned column;
	char message[PAT_ERROR_MSG_MAX];
};

/* ------------------------------------------------------------------ */
/* Categories, verdicts, targets                                       */
/* ------------------------------------------------------------------ */

/** Built-in category ids; operator-defined categories follow. */
enum pat_category {
	PAT_CAT_SPAM = 0,
	PAT_CAT_FRAUD = 1,
	PAT_CAT_HARASSMENT = 2,
	PAT_CAT_SPOOFING = 3,
	PAT_CAT_MALWARE = 4,
	PAT_CAT_BUILTIN_COUNT = 5,
};

/** Maximum number of categories (built-in plus operator-defined). */
#define PAT_MAX_CATEGORIES 16
/** Maximum length of a category name (without NUL). */
#define PAT_CATEGORY_NAME_MAX 31

/** What a message earns. Ordered: a larger value wins. */
enum pat_verdict {
	PAT_VERDICT_PASS = 0,
	PAT_VERDICT_MONITOR = 1,
	PAT_VERDICT_BLOCK = 2,
};

/** @return "pass", "monitor" or "block" ("?" for anything else). */
const char *pat_verdict_name(enum pat_verdict v);

/** What a rule's pattern is matched against. */
enum pat_target {
	PAT_TARGET_TEXT = 0,      /**< raw message text (UTF-8) */
	PAT_TARGET_NORM = 1,      /**< normalised text (pat_normalise, no substitution) */
	PAT_TARGET_NORM_SUBST = 2,/**< normalised text with digit/symbol substitution */
	PAT_TARGET_SENDER = 3,    /**< sender ID (source address) */
	PAT_TARGET_DEST = 4,      /**< destination address */
	PAT_TARGET_URL = 5,       /**< each URL host found in the text, lower case */
	PAT_TARGET_COUNT = 6,
};

/** What a rule does when it matches. */
enum pat_action {
	PAT_ACTION_BLOCK = 0,
	PAT_ACTION_MONITOR = 1,
	PAT_ACTION_SCORE = 2, /**< add weight to the category score */
};

/* ------------------------------------------------------------------ */
/* Sources and compilation                                             */
/* ------------------------------------------------------------------ */

/** One named source file held in memory (a rule file or a literal list). */
struct pat_source {
	const char *name; /**< base name, e.g. "fraud.rules", "domains.txt" */
	const void *data;
	size_t len;
};

/** Compile options; zero-initialise for defaults. */
struct pat_compile_opts {
	uint64_t version; /**< ruleset version recorded in the blob (0 = none) */
	/** Compile only the block-mode text databases (no streaming). */
	unsigned no_streaming : 1;
};

struct pat_ruleset;

/**
 * Compile a set of in-memory sources. Files whose name ends in ".rules" are
 * rule files, compiled in name order; any other source is a literal list
 * available to `list=NAME` references. The source hash is SHA-256 over the
 * sources sorted by name, so the same sources give the same hash.
 *
 * @return PAT_OK and *out set; PAT_ESYNTAX, PAT_EDUPID, PAT_ECOMPILE,
 *         PAT_ELIMIT with @p err filled (file:line:column and message);
 *         PAT_ENOMEM; PAT_EINVAL for NULL arguments.
 */
int pat_ruleset_compile_sources(const struct pat_source *srcs, size_t n,
				const struct pat_compile_opts *opts,
				struct pat_ruleset **out, struct pat_error *err);

/**
 * Compile every "*.rules" file in @p rules_dir, with every other regular file
 * of the directory (literal lists) available to `list=` references.
 * @return as pat_ruleset_compile_sources(), plus PAT_EIO if the directory or
 *         a file cannot be read.
 */
int pat_ruleset_compile_dir(const char *rules_dir,
			    const struct pat_compile_opts *opts,
			    struct pat_ruleset **out, struct pat_error *err);

/**
 * Compile the listed files (rule files and literal lists; a list is named by
 * its base name).
 * @return as pat_ruleset_compile_dir().
 */
int pat_ruleset_compile_files(const char *const *paths, size_t n,
			      const struct pat_compile_opts *opts,
			      struct pat_ruleset **out, struct pat_error *err);

/** Free a ruleset (NULL is fine). No scratch for it may still be in use. */
void pat_ruleset_free(struct pat_ruleset *rs);

/** Current compiled-blob format version (2: block-mode text databases
 *  leave out whole-word rules, which the loader rebuilds from the rules). */
#define PAT_BLOB_FORMAT 2
/** Blob magic (first 8 bytes). */
#define PAT_BLOB_MAGIC "SMSFWRS\0"

/**
 * Serialise a ruleset into a freshly malloc'd blob: magic, format version,
 * Hyperscan version and platform, payload checksum, source hash, ruleset
 * version, then metadata and databases. The caller frees *blob with free().
 * @return PAT_OK, PAT_ENOMEM, PAT_EHYPERSCAN, PAT_EINVAL.
 */
int pat_ruleset_serialize(const struct pat_ruleset *rs, void **blob,
			  size_t *len);

/**
 * Load a blob made by pat_ruleset_serialize(). The header (magic, format,
 * length, checksum, platform) is checked before anything else is read.
 * @return PAT_OK; PAT_EFORMAT, PAT_ETRUNCATED, PAT_ECHECKSUM, PAT_EPLATFORM,
 *         PAT_EHYPERSCAN, PAT_ENOMEM, PAT_EINVAL, with @p err (may be NULL).
 */
int pat_ruleset_load(const void *blob, size_t len, struct pat_ruleset **out,
		     struct pat_error *err);

/** Read @p path and pat_ruleset_load() it. @return as load, plus PAT_EIO. */
int pat_ruleset_load_file(const char *path, struct pat_ruleset **out,
			  struct pat_error *err);

/** Write a serialised blob to @p path (atomically: temp file + rename).
 * @return PAT_OK, PAT_EIO, PAT_ENOMEM. */
int pat_ruleset_save_file(const struct pat_ruleset *rs, const char *path);

/** @return the version given at compile time. */
uint64_t pat_ruleset_version(const struct pat_ruleset *rs);
/** @return pointer to the 32-byte SHA-256 source hash. */
const uint8_t *pat_ruleset_source_hash(const struct pat_ruleset *rs);
/** Write the source hash as 64 lower-case hex digits + NUL into @p out (65 bytes). */
void pat_ruleset_source_hash_hex(const struct pat_ruleset *rs, char out[65]);
/** @return number of rules. */
size_t pat_ruleset_rule_count(const struct pat_ruleset *rs);
/** @return number of categories (built-in plus operator-defined). */
unsigned pat_ruleset_category_count(const struct pat_ruleset *rs);
/** @return the name of category @p id, or NULL if out of range. */
const char *pat_category_name(const struct pat_ruleset *rs, unsigned id);
/** @return the id of category @p name (length @p len), or -1. */
int pat_category_id(const struct pat_ruleset *rs, const char *name, size_t len);
/** @return the block score threshold of category @p id (0 if none / out of range). */
double pat_category_threshold(const struct pat_ruleset *rs, unsigned id);
/** @return the block threshold on the total score over all categories
 *  (`threshold cat=*`; 0 if none). */
double pat_ruleset_total_threshold(const struct pat_ruleset *rs);

/** Read-only description of one rule. */
struct pat_rule_info {
	uint32_t id;
	unsigned category;
	enum pat_target target;
	enum pat_action action;
	double weight;
	const char *pattern;     /**< source pattern, or list name for list rules */
	unsigned is_list : 1;
	const char *description;
	const char *reference;
};

/**
 * Describe the rule with id @p rule_id.
 * @return PAT_OK, or PAT_EINVAL if there is no such rule.
 */
int pat_rule_info(const struct pat_ruleset *rs, uint32_t rule_id,
		  struct pat_rule_info *info);

/* ------------------------------------------------------------------ */
/* Scanning                                                            */
/* ------------------------------------------------------------------ */

struct pat_scratch;

/**
 * Allocate the per-thread scan scratch for @p rs (Hyperscan scratch, live
 * streams, normalisation buffers). Not for the fast path.
 * @return PAT_OK, PAT_ENOMEM, PAT_EHYPERSCAN, PAT_EINVAL.
 */
int pat_scratch_alloc(const struct pat_ruleset *rs, struct pat_scratch **out);
/** Free scratch (NULL is fine). */
void pat_scratch_free(struct pat_scratch *s);

/** Longest text one scan accepts; longer text is scanned up to this length. */
#define PAT_MAX_TEXT 8192
/** Matched rule ids kept per result. */
#define PAT_MAX_MATCHES 32

/**
 * One message (or one part of a concatenated message): views into the
 * caller's memory, none need be NUL-terminated; a NULL pointer with length 0
 * means "absent".
 */
struct pat_msg {
	const char *text;      /**< decoded UTF-8 text */
	size_t text_len;
	const char *sender;    /**< source address / sender ID */
	size_t sender_len;
	const char *dest;      /**< destination address */
	size_t dest_len;
	const char *system_id; /**< customer (bind system_id), for rule scopes */
	size_t system_id_len;
};

/**
 * Outcome of a scan. BLOCK: an in-scope block rule matched, or a category's
 * score reached its block threshold, or the total score reached the
 * `cat=*` threshold; MONITOR likewise with monitor rules/thresholds.
 */
struct pat_result {
	enum pat_verdict verdict;
	uint32_t rule_id;          /**< deciding rule (0 on PASS) */
	int category;              /**< its category (-1 on PASS) */
	float scores[PAT_MAX_CATEGORIES]; /**< score per category (weights may be negative) */
	uint32_t matches[PAT_MAX_MATCHES]; /**< matched rule ids, in-scope only */
	unsigned n_matches;
	unsigned matches_dropped;  /**< in-scope matches not kept (list full) */
};

/**
 * Scan one single-part message with the block-mode databases: raw text,
 * normalised text, sender, destination and URL hosts. Rules out of scope for
 * msg->system_id are ignored. No heap allocation.
 * @return PAT_OK (res filled), PAT_EINVAL, PAT_ESCRATCH (scratch made for
 *         another ruleset), PAT_EHYPERSCAN.
 */
int pat_scan_msg(const struct pat_ruleset *rs, struct pat_scratch *s,
		 const struct pat_msg *msg, struct pat_result *res);

/**
 * Streaming for concatenated messages. The caller owns one state buffer per
 * message in flight, of pat_stream_size() bytes (8-byte aligned); between
 * parts the Hyperscan streams live compressed in it, so many messages fit in
 * bounded memory. The scratch's live streams are used only during a call.
 */
struct pat_stream;

/** @return bytes needed for one message's stream state with @p rs. */
size_t pat_stream_size(const struct pat_ruleset *rs);

/**
 * Start a message in caller memory @p mem of @p cap bytes.
 * @return PAT_OK and *out (pointing into mem), PAT_ENOSPACE if cap is too
 *         small, PAT_EINVAL, PAT_EHYPERSCAN.
 */
int pat_stream_open(const struct pat_ruleset *rs, struct pat_scratch *s,
		    void *mem, size_t cap, struct pat_stream **out);

/**
 * Scan the next part. Text is scanned as a continuation of earlier parts (a
 * pattern or URL split across parts is found); sender, destination and the
 * customer (system_id, for scopes of later matches too) are taken from the
 * first part. @p res holds the verdict so far for the whole message (it only
 * grows). No heap allocation.
 * @return PAT_OK, PAT_EINVAL, PAT_ESCRATCH, PAT_EHYPERSCAN.
 */
int pat_stream_scan(const struct pat_ruleset *rs, struct pat_scratch *s,
		    struct pat_stream *st, const struct pat_msg *part,
		    struct pat_result *res);

/**
 * End the message: end-of-data matches (e.g. `$` anchors) are reported and
 * the final verdict written to @p res. The state memory may be reused after.
 * @return as pat_stream_scan().
 */
int pat_stream_close(const struct pat_ruleset *rs, struct pat_scratch *s,
		     struct pat_stream *st, struct pat_result *res);

/* ------------------------------------------------------------------ */
/* Normalisation                                                       */
/* ------------------------------------------------------------------ */

/** Also fold digits and symbols to letters (0→o 1→i 3→e 4→a 5→s 7→t @→a $→s),
 * inside words that contain a letter. */
#define PAT_NORM_SUBST 0x1u
/** Keep separators between single letters ("f r e e" stays). */
#define PAT_NORM_NO_COLLAPSE 0x2u

/**
 * Normalise UTF-8 text to the skeleton rules match: look-alikes (Cyrillic,
 * Greek, full-width, mathematical, enclosed) folded to ASCII, ASCII lower
 * case, zero-width/format characters removed, whitespace runs collapsed to
 * one space, separators between single letters removed, and with
 * PAT_NORM_SUBST digit/symbol substitution. Invalid UTF-8 bytes become
 * U+FFFD. Output is not NUL-terminated.
 *
 * @return bytes written to @p out (at most @p cap; output is cut, on a
 *         character boundary, when it does not fit).
 */
size_t pat_normalise(const char *utf8, size_t len, char *out, size_t cap,
		     unsigned flags);

/* ------------------------------------------------------------------ */
/* Signed bundles                                                      */
/* ------------------------------------------------------------------ */

#define PAT_BUNDLE_PUBLICKEY_BYTES 32
#define PAT_BUNDLE_SECRETKEY_BYTES 64
#define PAT_BUNDLE_MAGIC "SMSFWBD1"

/**
 * Make an Ed25519 key pair.
 * @return PAT_OK, PAT_ENOMEM (libsodium could not initialise).
 */
int pat_bundle_keygen(uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES],
		      uint8_t sk[PAT_BUNDLE_SECRETKEY_BYTES]);

/**
 * Pack sources into a malloc'd bundle signed with @p sk (the signature covers
 * every byte before it). Free *out with free().
 * @return PAT_OK, PAT_ENOMEM, PAT_EINVAL (also for a source name that is
 *         empty, longer than 255 bytes, starts with '.', or holds '/', '\'
 *         or a control character).
 */
int pat_bundle_create(const struct pat_source *srcs, size_t n,
		      const uint8_t sk[PAT_BUNDLE_SECRETKEY_BYTES],
		      void **out, size_t *out_len);

/** Sources of a verified bundle; views into the bundle memory. */
struct pat_bundle_contents {
	struct pat_source *srcs; /**< malloc'd array; free with pat_bundle_contents_free */
	size_t n;
};

/**
 * Verify @p bundle against trusted public key @p pk and, only if the
 * signature holds, list its sources (views into @p bundle).
 * @return PAT_OK; PAT_ETRUNCATED, PAT_EFORMAT, PAT_ESIGNATURE, PAT_ENOMEM,
 *         with a one-line reason in @p err (may be NULL).
 */
int pat_bundle_open(const void *bundle, size_t len,
		    const uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES],
		    struct pat_bundle_contents *out, struct pat_error *err);

/** Free the array made by pat_bundle_open() (not the bundle). */
void pat_bundle_contents_free(struct pat_bundle_contents *c);

/**
 * Read a key file written by smsfw-patc keygen (hex text, one line).
 * @p nbytes is PAT_BUNDLE_PUBLICKEY_BYTES or PAT_BUNDLE_SECRETKEY_BYTES.
 * @return PAT_OK, PAT_EIO, PAT_EFORMAT.
 */
int pat_key_load(const char *path, uint8_t *key, size_t nbytes);

/**
 * Verify a bundle file and compile its sources.
 * @return as pat_bundle_open() and pat_ruleset_compile_sources(), plus PAT_EIO.
 */
int pat_ruleset_compile_bundle(const char *bundle_path,
			       const uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES],
			       const struct pat_compile_opts *opts,
			       struct pat_ruleset **out, struct pat_error *err);

#ifdef __cplusplus
}
#endif

#endif /* PAT_H */
