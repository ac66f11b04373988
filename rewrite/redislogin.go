package rewrite

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
)

// RedisLogin is where a Sidekiq service's Redis data lives beyond the
// host: the database number, and the ACL user and password. Only
// observe uses it, to read that data with redis-cli; the password is
// never written or printed.
type RedisLogin struct {
	DB             int
	User, Password string
	// From says where the database number came from ("REDIS_URL in
	// .env.production"), for the report; "" for the default 0.
	From string
}

// sidekiqRedisKeys are the only keys SidekiqRedisLogin reads.
var sidekiqRedisKeys = []string{
	"SIDEKIQ_REDIS_URL", "SIDEKIQ_REDIS_HOST", "SIDEKIQ_REDIS_DB", "SIDEKIQ_REDIS_USER", "SIDEKIQ_REDIS_PASSWORD",
	"REDIS_URL", "REDIS_HOST", "REDIS_DB", "REDIS_USER", "REDIS_PASSWORD",
}

// SidekiqRedisLogin reads it the way Mastodon's RedisConfiguration#sidekiq
// does (lib/mastodon/redis_configuration.rb, 4.3): SIDEKIQ_REDIS_URL;
// else, when SIDEKIQ_REDIS_HOST is set, the SIDEKIQ_REDIS_* parts; else
// REDIS_URL; else REDIS_DB, REDIS_USER and REDIS_PASSWORD (database 0 by
// default). Before 4.3 (lib/mastodon/redis_config.rb) the same files work
// the same way. Values come from the service's env_files under its own
// environment, interpolated, as docker compose gives them.
func SidekiqRedisLogin(s compose.Service, vars *compose.Vars, readEnvFile func(string) ([]byte, error)) (RedisLogin, error) {
	env, from := serviceValues(s, vars, readEnvFile, sidekiqRedisKeys)
	fromURL := func(key string) (RedisLogin, error) {
		u, err := url.Parse(compose.WithoutLogin(env[key]))
		if err != nil {
			return RedisLogin{}, fmt.Errorf("%s in %s is not a URL", key, from[key])
		}
		l := RedisLogin{}
		l.User, l.Password = compose.URLLogin(env[key], true) // as redis-rb decodes it
		db := u.Query().Get("db")
		if p := strings.Trim(u.Path, "/"); p != "" && u.Scheme != "unix" {
			db = p
		}
		return l, l.setDB(db, key+" in "+from[key])
	}
	if env["SIDEKIQ_REDIS_URL"] != "" {
		return fromURL("SIDEKIQ_REDIS_URL")
	}
	prefix := ""
	if env["SIDEKIQ_REDIS_HOST"] != "" {
		prefix = "SIDEKIQ_"
	} else if env["REDIS_URL"] != "" {
		return fromURL("REDIS_URL")
	}
	l := RedisLogin{User: env[prefix+"REDIS_USER"], Password: env[prefix+"REDIS_PASSWORD"]}
	return l, l.setDB(env[prefix+"REDIS_DB"], prefix+"REDIS_DB in "+from[prefix+"REDIS_DB"])
}

func (l *RedisLogin) setDB(db, where string) error {
	if db == "" {
		return nil
	}
	n, err := strconv.Atoi(db)
	if err != nil || n < 0 {
		return fmt.Errorf("%s names Redis database %q, not a number: Sidekiq cannot be using it", where, db)
	}
	l.DB, l.From = n, where
	return nil
}

// serviceValues are keys' values as the service's container gets them:
// its env_files in order (later wins), then its environment, with
// ${VAR} interpolated; from says where each was set. A value that cannot
// be interpolated here is left out.
func serviceValues(s compose.Service, vars *compose.Vars, readEnvFile func(string) ([]byte, error), keys []string) (env, from map[string]string) {
	env, from = map[string]string{}, map[string]string{}
	eachSetting(s, vars, readEnvFile, keys, func(k, where, _, value string, ok bool) {
		if where == "" {
			where = s.Name + "'s environment"
		}
		if ok {
			env[k], from[k] = value, where
		} else {
			delete(env, k)
		}
	})
	return env, from
}
