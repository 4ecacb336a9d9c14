/**
 * @file smsfw_conf.h
 * @brief The smsfw configuration file (/etc/smsfw/smsfw.conf), shared by
 *        smsfw-controld and smsfw-dataplane.
 *
 * INI format (parsed by inih). Every key is described once in
 * conf_keys.def; unknown sections or keys, values of the wrong type, values
 * out of range and repeated keys are errors naming the file and line.
 * No DPDK and no LMDB here.
 *
 * @code
 *   struct smsfw_conf *c;
 *   char err[256];
 *   if (smsfw_conf_load("/etc/smsfw/smsfw.conf", &c, err, sizeof err))
 *       errx(2, "%s", err);
 *   int64_t flows = smsfw_conf_int(c, SMSFW_CONF_dataplane_flows_max);
 *   smsfw_conf_free(c);
 * @endcode
 */
#ifndef SMSFW_CONF_H
#define SMSFW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default location of the configuration file. */
#define SMSFW_CONF_PATH "/etc/smsfw/smsfw.conf"

/** Key identifiers: SMSFW_CONF_<section>_<key>, in table order. */
enum smsfw_conf_id {
#define SMSFW_CONF_KEY(sec, key, type, def, min, max, choices, doc) SMSFW_CONF_##sec##_##key,
#include "conf_keys.def"
#undef SMSFW_CONF_KEY
	SMSFW_CONF_COUNT
};

/** Value types of the table. */
enum smsfw_conf_type {
	SMSFW_CONF_T_STR,
	SMSFW_CONF_T_INT,
	SMSFW_CONF_T_BOOL,
	SMSFW_CONF_T_ENUM,
	SMSFW_CONF_T_LIST,
	SMSFW_CONF_T_INTLIST,
};

/** Status codes (0 OK, negative errors). */
enum smsfw_conf_status {
	SMSFW_CONF_OK = 0,
	SMSFW_CONF_ERR_NOENT = -1,   /**< the file does not exist */
	SMSFW_CONF_ERR_IO = -2,	     /**< the file cannot be read */
	SMSFW_CONF_ERR_SYNTAX = -3,  /**< not INI (line named in the message) */
	SMSFW_CONF_ERR_UNKNOWN = -4, /**< unknown section or key */
	SMSFW_CONF_ERR_TYPE = -5,    /**< value of the wrong type / not a choice */
	SMSFW_CONF_ERR_RANGE = -6,   /**< integer outside min..max */
	SMSFW_CONF_ERR_DUP = -7,     /**< key given twice */
	SMSFW_CONF_ERR_NOMEM = -8,
	SMSFW_CONF_ERR_INVAL = -9, /**< bad argument */
};

/** Static text for a status. */
const char *smsfw_conf_strerror(int status);

/** Description of one key (from conf_keys.def). */
struct smsfw_conf_key {
	const char *section;
	const char *key;
	enum smsfw_conf_type type;
	const char *def;
	int64_t min, max;
	const char *choices;
	const char *doc;
};

/** The table, SMSFW_CONF_COUNT entries, indexed by enum smsfw_conf_id. */
extern const struct smsfw_conf_key smsfw_conf_keys[SMSFW_CONF_COUNT];

struct smsfw_conf;

/**
 * Load the configuration. @p path NULL gives the built-in defaults only.
 * On error, @p err (may be NULL) gets "FILE:LINE: message" and *out is NULL.
 * All errors of the file are reported, one per line in @p err, the first
 * one deciding the status.
 * @return SMSFW_CONF_OK; SMSFW_CONF_ERR_NOENT when @p path does not exist
 *         (callers that may run on defaults then load NULL); _IO; _SYNTAX;
 *         _UNKNOWN; _TYPE; _RANGE; _DUP; _NOMEM.
 */
int smsfw_conf_load(const char *path, struct smsfw_conf **out, char *err, size_t errlen);

/** Free a configuration (NULL is fine). */
void smsfw_conf_free(struct smsfw_conf *c);

/**
 * Set one key from text, as if it were written in the file (command-line
 * overrides such as --state-dir).
 * @return SMSFW_CONF_OK; _UNKNOWN; _TYPE; _RANGE; _NOMEM.
 */
int smsfw_conf_set(struct smsfw_conf *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen);

/** Find a key by section and name. @return the id or -1. */
int smsfw_conf_find(const char *section, const char *key);

/** STR value (never NULL; "" when empty). */
const char *smsfw_conf_str(const struct smsfw_conf *c, enum smsfw_conf_id id);
/** INT value. */
int64_t smsfw_conf_int(const struct smsfw_conf *c, enum smsfw_conf_id id);
/** BOOL value. */
bool smsfw_conf_bool(const struct smsfw_conf *c, enum smsfw_conf_id id);
/** ENUM value: index of the choice in the key's "a|b|c" list. */
int smsfw_conf_enum(const struct smsfw_conf *c, enum smsfw_conf_id id);
/** Number of items of a LIST or INTLIST value. */
size_t smsfw_conf_list_len(const struct smsfw_conf *c, enum smsfw_conf_id id);
/** Item @p i of a LIST value (NULL past the end). */
const char *smsfw_conf_list_item(const struct smsfw_conf *c, enum smsfw_conf_id id, size_t i);
/** Item @p i of an INTLIST value (0 past the end). */
int64_t smsfw_conf_intlist_item(const struct smsfw_conf *c, enum smsfw_conf_id id, size_t i);
/** The value as text, as it would be written in the file. */
const char *smsfw_conf_text(const struct smsfw_conf *c, enum smsfw_conf_id id);
/** Line the value came from (0 = built-in default or smsfw_conf_set). */
int smsfw_conf_line(const struct smsfw_conf *c, enum smsfw_conf_id id);

/** Effective paths after deriving the empty defaults from state_dir/run_dir. */
struct smsfw_conf_paths {
	char lmdb[256];		/**< store directory */
	char socket[256];	/**< smsfwctl socket */
	char event_socket[256]; /**< dataplane event socket */
	char sessions[256];	/**< dataplane session file; empty when `off` */
};

/**
 * Compute the effective paths.
 * @return SMSFW_CONF_OK or SMSFW_CONF_ERR_RANGE when a path is too long.
 */
int smsfw_conf_paths(const struct smsfw_conf *c, struct smsfw_conf_paths *p);

/**
 * Write a documented configuration file: every section and key with its doc
 * line, type, range and value (the defaults when @p c is NULL). This is how
 * controlplane/smsfw.conf.example is produced.
 * @return 0 or -1 on a write error.
 */
int smsfw_conf_write(FILE *f, const struct smsfw_conf *c);

#ifdef __cplusplus
}
#endif
#endif
