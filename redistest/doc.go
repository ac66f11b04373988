// Package redistest proves the cache Redis compose-scale writes on a real
// redis-server (Debian's redis-server package): its flags are what the
// server runs with, it evicts rather than refuses writes, and it persists
// nothing. Its tests skip where redis-server is missing, and fail instead
// under COMPOSE_SCALE_REQUIRE_REDIS=1 (CI).
package redistest
