/*
 * conf_expect — load a configuration file with the smsfw config library
 * (the same smsfw_conf_load the daemons use) and check what it means.
 *
 *   conf_expect FILE [SECTION.KEY=VALUE]...
 *
 * Each SECTION.KEY must be set in FILE itself (not a built-in default) and
 * its value, as the library writes it back, must be VALUE. Exit 0 when the
 * file loads and every expectation holds, 1 otherwise (each failure named),
 * 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "smsfw_conf.h"

int main(int argc, char **argv)
{
	struct smsfw_conf *c = NULL;
	char err[512];
	int rc, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: conf_expect FILE [SECTION.KEY=VALUE]...\n");
		return 2;
	}
	rc = smsfw_conf_load(argv[1], &c, err, sizeof(err));
	if (rc != SMSFW_CONF_OK) {
		fprintf(stderr, "%s: %s (%s)\n", argv[1], err, smsfw_conf_strerror(rc));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char sec[64], key[64];
		const char *dot = strchr(argv[i], '.'), *eq = strchr(argv[i], '=');
		int id;

		if (!dot || !eq || dot > eq || (size_t)(dot - argv[i]) >= sizeof(sec) ||
		    (size_t)(eq - dot - 1) >= sizeof(key)) {
			fprintf(stderr, "bad expectation '%s'\n", argv[i]);
			smsfw_conf_free(c);
			return 2;
		}
		memcpy(sec, argv[i], (size_t)(dot - argv[i]));
		sec[dot - argv[i]] = '\0';
		memcpy(key, dot + 1, (size_t)(eq - dot - 1));
		key[eq - dot - 1] = '\0';
		id = smsfw_conf_find(sec, key);
		if (id < 0) {
			fprintf(stderr, "%s: no key [%s] %s in conf_keys.def\n", argv[1], sec, key);
			bad++;
			continue;
		}
		if (smsfw_conf_line(c, id) == 0) {
			fprintf(stderr, "%s: [%s] %s is not set in the file\n", argv[1], sec, key);
			bad++;
		}
		if (strcmp(smsfw_conf_text(c, id), eq + 1) != 0) {
			fprintf(stderr, "%s: [%s] %s is '%s', expected '%s'\n", argv[1], sec, key,
				smsfw_conf_text(c, id), eq + 1);
			bad++;
		}
	}
	smsfw_conf_free(c);
	return bad ? 1 : 0;
}
