package compose

import (
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// ConnectionKeys are the only entries ever read from a service's env_file
// (.env.production holds SECRET_KEY_BASE, OTP_SECRET, DB_PASS...): where
// the app connects, never how it authenticates. They serve to tell which
// service is the database, Redis or PgBouncer; none is ever written or
// printed.
var ConnectionKeys = []string{
	"DB_HOST", "DB_PORT", "DATABASE_URL",
	"REPLICA_DB_HOST", "REPLICA_DB_PORT", "REPLICA_DATABASE_URL",
	"REDIS_HOST", "REDIS_PORT", "REDIS_URL",
	"CACHE_REDIS_HOST", "CACHE_REDIS_PORT", "CACHE_REDIS_URL",
	"SIDEKIQ_REDIS_HOST", "SIDEKIQ_REDIS_PORT", "SIDEKIQ_REDIS_URL",
	"PREPARED_STATEMENTS", "REDIS_NAMESPACE",
}

// ReadConnectionKeys parses an env_file and keeps the ConnectionKeys,
// dropping everything else before the caller sees it. A URL keeps only
// its scheme, host and port: a password in REDIS_URL goes with the rest.
// A file that does not parse gives nothing (docker compose will say why).
func ReadConnectionKeys(text []byte) map[string]string {
	out := ReadKeys(text, ConnectionKeys)
	for k, v := range out {
		if strings.HasSuffix(k, "_URL") {
			out[k] = HostOfURL(v)
		}
	}
	return out
}

// ReadKeys parses an env_file and keeps the values of keys alone, as
// written there (a URL whole). For comparing what two services get, in
// memory: a caller never writes or prints them.
func ReadKeys(text []byte, keys []string) map[string]string {
	all, err := dotenv.UnmarshalBytesWithLookup(text, func(string) (string, bool) { return "", false })
	out := map[string]string{}
	if err != nil {
		return out
	}
	for _, k := range keys {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// URLUserinfo reports whether scheme://user:pass@host carries a user and a
// password.
func URLUserinfo(u string) (user, password bool) {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return false, false
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return false, false
	}
	name, pass, hasPass := strings.Cut(rest[:at], ":")
	return name != "", hasPass && pass != ""
}

// HostOfURL reduces scheme://user:pass@host:port/db to scheme://host:port.
func HostOfURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + rest
}
