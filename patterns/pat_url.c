/*
 * pat_url.c — find URL hosts in message text, for url-target rules.
 *
 * A token (text between spaces and brackets/quotes; its first
 * PAT_URL_TOKEN_MAX bytes) holds a URL from its start or from any byte
 * after one that cannot be in a host (not an '@'), when from there it starts
 * with a scheme (http://, https://), with "www.", when its host part is
 * followed by a path ("host.tld/..."), or when the host ends in a top-level
 * domain common in SMS links. The host is what follows the last '@' of the
 * authority (user information), up to a port, path, query or fragment; an
 * '@' with neither scheme nor path makes an e-mail address, no URL. The host
 * must be LDH labels ('_' allowed inside) with a dot and an alphabetic last
 * label of two or more letters. Hosts are written lower-case.
 */
#include <stdint.h>
#include <string.h>

#include "pat_priv.h"

static const char *const common_tlds[] = {
	"com", "net", "org", "info", "biz", "io", "ly", "co", "uk", "me", "gl",
	"cc", "xyz", "top", "ru", "cn", "tk", "ml", "ga", "cf", "gq", "us",
	"in", "de", "fr", "link", "click", "site", "online", "shop", "app",
	"ws", "to", "su", "pw", "live", "club", "vip", "win", "icu", "buzz",
};

int pat_url_sep(unsigned char c)
{
	return c <= ' ' || c == '<' || c == '>' || c == '"' || c == '\'' ||
	       c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
	       c == '}' || c == ',' || c == ';' || c == '|';
}

static unsigned char lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int ci_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (lc((unsigned char)s[i]) != (unsigned char)pre[i])
			return 0;
	return 1;
}

/* Letters, digits, '-', and '_' (not a host name character, but Android
 * links hosts with it inside a label and browsers resolve them; the
 * top-level label stays letters only). */
static int ldh(unsigned char c)
{
	c = lc(c);
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* A byte of a host name as links are found: letters, digits, '-', '_', '.' */
static int host_char(char c)
{
	return ldh((unsigned char)c) || c == '.';
}

static int slash(char c)
{
	return c == '/' || c == '\\';
}

/* Validate host h[0..n); returns 1 when it is a host name, *tld_known set
 * when its last label is a common SMS-link TLD. */
static int host_ok(const char *h, size_t n, int *tld_known)
{
	size_t label = 0, last = 0, dots = 0;
	int alpha_last = 1;

	*tld_known = 0;
	if (n < 4 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			dots++;
			label = 0;
			last = i + 1;
			alpha_last = 1;
			continue;
		}
		if (!ldh(c))
			return 0;
		if (!(lc(c) >= 'a' && lc(c) <= 'z'))
			alpha_last = 0;
		label++;
	}
	if (!dots || label < 2 || !alpha_last)
		return 0;
	for (size_t t = 0; t < sizeof(common_tlds) / sizeof(common_tlds[0]); t++)
		if (strlen(common_tlds[t]) == n - last &&
		    ci_prefix(h + last, n - last, common_tlds[t]))
			*tld_known = 1;
	return 1;
}

unsigned pat_url_hosts(const char *text, size_t len, char *re_out,
		       size_t re_cap, size_t *re_len, char *lit_out,
		       size_t lit_cap, size_t *lit_len)
{
	size_t pos = 0, ro = 0, lo = 0;
	unsigned count = 0;

	/* Only tokens holding a dot can hold a host: jump from dot to dot
	 * (memchr) instead of examining every token. */
	while (pos < len) {
		const char *dot = memchr(text + pos, '.', len - pos);
		if (!dot)
			break;
		size_t b = (size_t)(dot - text), i = b;
		while (b > pos && !pat_url_sep((unsigned char)text[b - 1]))
			b--;
		while (i < len && !pat_url_sep((unsigned char)text[i]))
			i++;
		pos = i + 1;
		const char *t = text + b;
		size_t n = i - b > PAT_URL_TOKEN_MAX ? PAT_URL_TOKEN_MAX : i - b;
		size_t hb = 0, he = 0, ae = 0, at = SIZE_MAX, tail = 0;
		int found = 0, have_ae = 0;

		/* A link may start anywhere in the token after a byte that
		 * cannot be in a host ("Pay:evil.example/x"), but not right
		 * after an '@'. The first candidate that makes a URL is the
		 * token's host; what follows it is its path. Each byte is
		 * looked at a bounded number of times: the authority end, its
		 * last '@' and where its closing punctuation starts are kept
		 * across candidates. */
		for (size_t p = 0; p < n && !found; p++) {
			int scheme = 0, path = 0, known;

			if (p > 0 && (host_char(t[p - 1]) || t[p - 1] == '@' ||
				      !host_char(t[p])))
				continue;
			hb = p;
			/* browsers read '\\' as '/' in http(s) URLs */
			if (ci_prefix(t + p, n - p, "http:") && n - p >= 7 &&
			    slash(t[p + 5]) && slash(t[p + 6])) {
				hb = p + 7;
				scheme = 1;
			} else if (ci_prefix(t + p, n - p, "https:") && n - p >= 8 &&
				   slash(t[p + 6]) && slash(t[p + 7])) {
				hb = p + 8;
				scheme = 1;
			}
			/* the authority ends at the path, query or fragment;
			 * an '@' after it is no part of the host */
			if (!have_ae || hb > ae) {
				have_ae = 1;
				ae = hb;
				at = SIZE_MAX;
				tail = hb;
				while (ae < n && !slash(t[ae]) && t[ae] != '?' && t[ae] != '#') {
					if (t[ae] == '@')
						at = ae;
					if (t[ae] != '!' && t[ae] != '.')
						tail = ae + 1;
					ae++;
				}
			}
			if (ae < n && (slash(t[ae]) || t[ae] == '?'))
				path = 1;
			if (at != SIZE_MAX && at >= hb) {
				/* user information: the host follows the last
				 * '@' (what a browser opens); without a scheme
				 * or a path it is an e-mail address */
				if (!scheme && !path) {
					p = at; /* the next candidates see it too */
					continue;
				}
				hb = at + 1;
				p = at; /* if this host fails, so would theirs */
			}
			he = hb;
			while (he < ae && host_char(t[he]))
				he++;
			/* a port, or sentence punctuation after a bare host */
			if (he < ae && t[he] != ':' && he < tail)
				continue;
			while (he > hb && t[he - 1] == '.')
				he--;
			if (!host_ok(t + hb, he - hb, &known))
				continue;
			if (!(scheme || path || known || ci_prefix(t + hb, he - hb, "www.")))
				continue;
			found = 1;
		}
		if (!found)
			continue;
		size_t hl = he - hb;
		if (ro + hl + 1 > re_cap || lo + hl + 2 > lit_cap)
			break;
		/* Lists see each host reversed between '\n' and '.': a domain
		 * entry "\nelpmaxe.live." then matches the host and every
		 * sub-domain of it at a label boundary, and 100k entries with
		 * one common TLD share a prefix, which Hyperscan's literal
		 * compiler handles far better than a common suffix. */
		lit_out[lo++] = '\n';
		for (size_t k = 0; k < hl; k++) {
			unsigned char c = lc((unsigned char)t[hb + k]);
			re_out[ro++] = (char)c;
			lit_out[lo + hl - 1 - k] = (char)c;
		}
		lo += hl;
		lit_out[lo++] = '.';
		re_out[ro++] = '\n';
		count++;
	}
	*re_len = ro;
	*lit_len = lo;
	return count;
}
