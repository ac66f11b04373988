package rewrite

import (
	"strings"

	"github.com/compose-scale/compose-scale/compose"
)

// connectionKeys are the only entries of a service's env_file ever read
// for where it connects (.env.production holds SECRET_KEY_BASE,
// OTP_SECRET, DB_PASS...): they tell which service is the database, Redis
// or PgBouncer; none is ever written or printed. Mastodon's names, so
// here and not in compose.
var connectionKeys = []string{
	"DB_HOST", "DB_PORT", "DATABASE_URL",
	"REPLICA_DB_HOST", "REPLICA_DB_PORT", "REPLICA_DATABASE_URL",
	"REDIS_HOST", "REDIS_PORT", "REDIS_URL",
	"CACHE_REDIS_HOST", "CACHE_REDIS_PORT", "CACHE_REDIS_URL",
	"SIDEKIQ_REDIS_HOST", "SIDEKIQ_REDIS_PORT", "SIDEKIQ_REDIS_URL",
	"PREPARED_STATEMENTS", "REDIS_NAMESPACE",
}

// credentialKeys are the keys a Mastodon service logs in to Postgres
// with. Their values are read only to compare two services' logins, in
// memory; the planner learns where each is set, never what it is.
var credentialKeys = []string{"DATABASE_URL", "DB_USER", "DB_PASS"}

// connectionFacts is where a service connects: the connection keys of
// its env_files (later files win, as in compose) under its own
// environment's, interpolated (env); where each of those and of the
// credential keys is set (from); which URLs carry a password; and the
// service's login as a string to compare with other services' (user and
// password as Mastodon reads them, or how they are written when they
// cannot be resolved here), "" when it sets none of credentialKeys.
// Only connectionKeys and credentialKeys are ever read.
func connectionFacts(s compose.Service, vars *compose.Vars, readEnvFile func(string) ([]byte, error)) (env, from map[string]string, urlPassword map[string]bool, login string) {
	env, from, urlPassword = map[string]string{}, map[string]string{}, map[string]bool{}
	creds := map[string]string{} // resolved values of credentialKeys
	keys := append(append([]string(nil), connectionKeys...), credentialKeys[1:]...)
	eachSetting(s, vars, readEnvFile, keys, func(k, where, raw, value string, ok bool) {
		if where == "" {
			where = "environment"
		}
		from[k] = where
		if !ok {
			delete(env, k)
			creds[k] = "\x00" + raw // as written: compared by how it is set
			return
		}
		setFact(k, value, env, creds, urlPassword)
	})
	any := false
	for _, k := range credentialKeys {
		if _, ok := from[k]; ok {
			any = true
		}
	}
	if !any {
		return env, from, urlPassword, ""
	}
	var b strings.Builder
	for _, k := range credentialKeys {
		b.WriteString(k + "\x00" + creds[k] + "\x00")
	}
	return env, from, urlPassword, b.String()
}

// eachSetting calls fn for each of keys the service sets, in the order
// its container gets them (its env_files in order, later winning, then
// its environment): where it is set (an env_file's path as written, ""
// for the service's environment), the value as written, and the value
// the container gets, ok false when a ${VAR} cannot be resolved here. An
// env_file that cannot be read is passed over: docker compose will say
// so, and the plan goes on without it.
func eachSetting(s compose.Service, vars *compose.Vars, readEnvFile func(string) ([]byte, error), keys []string, fn func(key, where, raw, value string, ok bool)) {
	if readEnvFile != nil {
		for _, path := range s.EnvFiles {
			p, ok := vars.Interpolate(path)
			if !ok {
				continue
			}
			text, err := readEnvFile(p)
			if err != nil {
				continue
			}
			for k, v := range compose.ReadKeys(text, keys) {
				fn(k, path, v, v, true)
			}
		}
	}
	for _, k := range keys {
		if v, ok := s.Env[k]; ok {
			r, ok := vars.Interpolate(v)
			fn(k, "", v, r, ok)
		}
	}
}

func setFact(k, v string, env, creds map[string]string, urlPassword map[string]bool) {
	if k == "DATABASE_URL" || k == "DB_USER" || k == "DB_PASS" {
		creds[k] = v
	}
	if strings.HasSuffix(k, "_URL") {
		_, urlPassword[k] = compose.URLUserinfo(v)
		v = compose.HostOfURL(v)
	}
	if k != "DB_USER" && k != "DB_PASS" {
		env[k] = v
	}
}
