/* dp_sessions.c — the session file (written by the main lcore, loaded at
 * start), its read-only table, and the reset of mid-stream sessions of
 * unknown identity (unknown_session = reset). See dp_sessions.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_log.h>

#include "dp_priv.h"
#include "dp_sessions.h"

struct dp_sess_table {
	uint32_t n;
	uint8_t *taken;            /* per record: given to a flow (workers write) */
	struct dp_sess_rec *rec;   /* sorted by key */
};

static uint64_t file_sum(const struct dp_sessfile_hdr *h, const struct dp_sess_rec *r, uint32_t n)
{
	struct dp_sessfile_hdr z = *h;
	z.sum = 0;
	uint64_t s = dp_hash64(&z, sizeof(z), 0x5e55f11e);
	if (n > 0)
		s = dp_hash64(r, (size_t)n * sizeof(*r), s);
	return s;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int dp_sessfile_write(const char *path, const struct dp_sess_rec *r, uint32_t n, uint64_t now_ms)
{
	if (path == NULL || path[0] == '\0' || n > DP_SESSFILE_MAX || (n > 0 && r == NULL))
		return DP_EINVAL;
	char tmp[4096];
	int len = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (len < 0 || (size_t)len >= sizeof(tmp))
		return DP_EINVAL;
	struct dp_sessfile_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, DP_SESSFILE_MAGIC, sizeof(h.magic));
	h.version = DP_SESSFILE_VERSION;
	h.rec_size = sizeof(struct dp_sess_rec);
	h.count = n;
	h.written_ms = now_ms;
	h.sum = file_sum(&h, r, n);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return DP_EIO;
	int rc = write_all(fd, &h, sizeof(h));
	if (rc == 0 && n > 0)
		rc = write_all(fd, r, (size_t)n * sizeof(*r));
	if (rc == 0)
		rc = fsync(fd);
	int saved = errno;
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0) {
		unlink(tmp);
		errno = saved;
		return DP_EIO;
	}
	return DP_OK;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct dp_sess_rec *)a)->key, &((const struct dp_sess_rec *)b)->key,
		      sizeof(struct dp_flow_key));
}

static bool rec_valid(const struct dp_sess_rec *r)
{
	const char *s = r->system_id;
	size_t n = strnlen(s, DP_SYSTEM_ID_MAX);
	if (n == 0 || n == DP_SYSTEM_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	if (r->key.family != 4 && r->key.family != 6)
		return false;
	if (r->key.proto != 6 || r->esme_dir > 1)
		return false;
	return r->bind_cmd == 0x1 || r->bind_cmd == 0x2 || r->bind_cmd == 0x9;
}

#define REFUSE(...)                                                                    \
	do {                                                                           \
		snprintf(info->why, sizeof(info->why), __VA_ARGS__);                   \
		rc = DP_EINVAL;                                                        \
		goto out;                                                              \
	} while (0)

int dp_sessfile_load(const char *path, uint64_t now_ms, uint64_t max_age_ms,
		     struct dp_sess_table **out, struct dp_sessfile_info *info)
{
	struct dp_sessfile_info dummy;
	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return DP_ENOENT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return DP_ENOENT;
		snprintf(info->why, sizeof(info->why), "open: %s", strerror(errno));
		return DP_EIO;
	}
	int rc = DP_OK;
	struct dp_sess_rec *recs = NULL;
	struct dp_sess_table *t = NULL;
	struct stat st;
	struct dp_sessfile_hdr h;
	if (fstat(fd, &st) != 0) {
		snprintf(info->why, sizeof(info->why), "stat: %s", strerror(errno));
		rc = DP_EIO;
		goto out;
	}
	/* Bounded before anything is read or allocated. */
	uint64_t max_size = sizeof(h) + (uint64_t)DP_SESSFILE_MAX * sizeof(struct dp_sess_rec);
	if ((uint64_t)st.st_size > max_size)
		REFUSE("%" PRIu64 " bytes: larger than %" PRIu64 " (%u sessions)",
		       (uint64_t)st.st_size, max_size, DP_SESSFILE_MAX);
	if ((uint64_t)st.st_size < sizeof(h))
		REFUSE("truncated header (%" PRIu64 " bytes)", (uint64_t)st.st_size);
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		REFUSE("header unreadable");
	if (memcmp(h.magic, DP_SESSFILE_MAGIC, sizeof(h.magic)) != 0)
		REFUSE("not a session file (bad magic)");
	if (h.version != DP_SESSFILE_VERSION || h.rec_size != sizeof(struct dp_sess_rec))
		REFUSE("version %u record size %u (this build reads version %u size %zu)", h.version,
		       h.rec_size, DP_SESSFILE_VERSION, sizeof(struct dp_sess_rec));
	if (h.count > DP_SESSFILE_MAX)
		REFUSE("%u sessions: over the bound of %u", h.count, DP_SESSFILE_MAX);
	uint64_t want = sizeof(h) + (uint64_t)h.count * sizeof(struct dp_sess_rec);
	if ((uint64_t)st.st_size < want)
		REFUSE("truncated: %" PRIu64 " bytes, the header announces %" PRIu64,
		       (uint64_t)st.st_size, want);
	if ((uint64_t)st.st_size > want)
		REFUSE("%" PRIu64 " bytes, the header announces %" PRIu64, (uint64_t)st.st_size, want);
	info->records = h.count;
	info->written_ms = h.written_ms;
	recs = calloc(h.count ? h.count : 1, sizeof(*recs));
	if (recs == NULL) {
		rc = DP_ENOMEM;
		goto out;
	}
	size_t rbytes = (size_t)h.count * sizeof(*recs);
	if (rbytes > 0 && pread(fd, recs, rbytes, sizeof(h)) != (ssize_t)rbytes)
		REFUSE("records unreadable");
	if (file_sum(&h, recs, h.count) != h.sum)
		REFUSE("checksum mismatch");
	/* Accepted: keep the fresh, valid records. */
	bool old_file = h.written_ms + max_age_ms < now_ms;
	uint32_t k = 0;
	for (uint32_t i = 0; i < h.count; i++) {
		if (!rec_valid(&recs[i])) {
			info->invalid++;
			continue;
		}
		if (old_file || recs[i].last_ms + max_age_ms < now_ms) {
			info->stale++;
			continue;
		}
		recs[k++] = recs[i];
	}
	qsort(recs, k, sizeof(*recs), key_cmp);
	/* A key twice (not written by us): keep the first, ignore the others. */
	uint32_t u = 0;
	for (uint32_t i = 0; i < k; i++) {
		if (u > 0 && key_cmp(&recs[u - 1], &recs[i]) == 0) {
			info->invalid++;
			continue;
		}
		recs[u++] = recs[i];
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->taken = calloc(u ? u : 1, 1)) == NULL) {
		free(t);
		t = NULL;
		rc = DP_ENOMEM;
		goto out;
	}
	t->n = u;
	t->rec = recs;
	recs = NULL;
	info->loaded = u;
	*out = t;
out:
	free(recs);
	close(fd);
	return rc;
}

void dp_sess_table_free(struct dp_sess_table *t)
{
	if (t == NULL)
		return;
	free(t->rec);
	free(t->taken);
	free(t);
}

uint32_t dp_sess_table_count(const struct dp_sess_table *t)
{
	return t ? t->n : 0;
}

int32_t dp_sess_table_find(const struct dp_sess_table *t, const struct dp_flow_key *k)
{
	if (t == NULL || t->n == 0)
		return -1;
	uint32_t lo = 0, hi = t->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(&t->rec[mid].key, k, sizeof(*k));
		if (c == 0)
			return (int32_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const struct dp_sess_rec *dp_sess_table_rec(const struct dp_sess_table *t, uint32_t i)
{
	return &t->rec[i];
}

void dp_sess_table_take(struct dp_sess_table *t, uint32_t i)
{
	__atomic_store_n(&t->taken[i], 1, __ATOMIC_RELAXED);
}

bool dp_sess_table_taken(const struct dp_sess_table *t, uint32_t i)
{
	return __atomic_load_n(&t->taken[i], __ATOMIC_RELAXED) != 0;
}

/* ----------------------------------------------------------- collect */

struct collect {
	struct dp_sess_rec *out;
	uint32_t cap, n;
	uint64_t more;
};

/* The fields of a flow a record needs, read once. */
static void read_once(const struct dp_flow *f, struct dp_sess_rec *r, uint8_t *state,
		      uint8_t *in_use)
{
	const volatile struct dp_flow *v = f;
	*in_use = v->in_use;
	*state = v->sess.state;
	memcpy(&r->key, (const void *)&f->key, sizeof(r->key));
	memcpy(r->system_id, (const void *)f->sess.system_id, sizeof(r->system_id));
	r->bind_cmd = v->sess.bind_cmd;
	r->version = v->sess.version;
	r->esme_dir = v->esme_dir;
	r->bind_ms = v->sess.bind_ms;
	r->last_ms = v->last_ms;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

static void collect_one(void *arg, const struct dp_flow *f)
{
	struct collect *c = arg;
	if (!f->smpp || f->sess.state != DP_SESS_BOUND)
		return;
	struct dp_sess_rec a, b;
	uint8_t sa, sb, ua, ub;
	bool same = false;
	for (int tries = 0; tries < 4 && !same; tries++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		read_once(f, &a, &sa, &ua);
		read_once(f, &b, &sb, &ub);
		/* last_ms may move between the copies: compare without it. */
		a.last_ms = b.last_ms;
		same = memcmp(&a, &b, sizeof(a)) == 0 && sa == sb && ua == ub;
	}
	if (!same || sa != DP_SESS_BOUND || !ua)
		return;
	a.system_id[DP_SYSTEM_ID_MAX - 1] = '\0';
	if (!rec_valid(&a))
		return;
	if (c->n >= c->cap) {
		c->more++;
		return;
	}
	c->out[c->n++] = a;
}

uint32_t dp_sess_collect(struct dp_flow_table *ft, struct dp_sess_rec *out, uint32_t cap,
			 uint64_t *more)
{
	struct collect c = { out, cap, 0, 0 };
	dp_flow_foreach(ft, collect_one, &c);
	if (more != NULL)
		*more += c.more;
	return c.n;
}

/* ------------------------------------------------------------ engine */

void dp_engine_set_restored(struct dp_engine *e, struct dp_sess_table *t)
{
	e->restored = t;
}

void dp_sess_reset_unknown(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
			   const struct dp_frame *fr, const uint8_t *p, uint32_t len)
{
	/* The segment carrying the submit is dropped: the SMSC's rcv_nxt is
	 * its first byte (in-order delivery); the ESME's is this segment's
	 * ACK field. Templates from this frame, as the restart probe does. */
	enum dp_edit_dir ed = dir == f->esme_dir ? DP_EDIT_E2S : DP_EDIT_S2E;
	dp_inline_reset_both(e, ed, fr, p, len, fr->seq, fr->ack, fr->ack,
			     fr->seq + fr->payload_len);
	e->c.sess_unknown_resets++;
	RTE_LOG(NOTICE, USER1,
		"smsfw: worker %u: submit on an SMPP session with no known bind (picked up "
		"mid-stream): reset toward both ends so the ESME rebinds (unknown_session=reset)\n",
		e->id);
	f->edit_state = DP_EDIT_FS_RESET;
}
