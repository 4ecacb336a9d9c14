/* dp_status.c — status strings. */
#include "dp.h"

const char *dp_strerror(int status)
{
	switch (status) {
	case DP_OK: return "success";
	case DP_AGAIN: return "need more bytes";
	case DP_EINVAL: return "invalid argument or malformed input";
	case DP_ENOMEM: return "bounded pool or table exhausted";
	case DP_EFULL: return "table full";
	case DP_ENOENT: return "not found";
	case DP_EIO: return "file or socket error";
	case DP_ECONFIG: return "invalid configuration";
	default: return "unknown dataplane status";
	}
}
