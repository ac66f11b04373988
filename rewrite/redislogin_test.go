package rewrite

import (
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/compose"
)

// Sidekiq's Redis database and login, read as Mastodon's
// RedisConfiguration#sidekiq reads them, from environment: and the
// env_file.
func TestSidekiqRedisLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		envFile string
		want    RedisLogin
		err     string
	}{
		{name: "nothing set: database 0", want: RedisLogin{}},
		{name: "REDIS_DB", env: map[string]string{"REDIS_HOST": "redis", "REDIS_DB": "1"}, want: RedisLogin{DB: 1, From: "REDIS_DB in sidekiq's environment"}},
		{name: "REDIS_URL's path", envFile: "REDIS_URL=redis://:p%40ss+word@redis:6379/2\n",
			want: RedisLogin{DB: 2, Password: "p@ss word", From: "REDIS_URL in .env.production"}},
		{name: "REDIS_URL wins over REDIS_DB", env: map[string]string{"REDIS_URL": "redis://redis:6379/4", "REDIS_DB": "1"}, want: RedisLogin{DB: 4, From: "REDIS_URL in sidekiq's environment"}},
		{name: "SIDEKIQ_REDIS_URL wins over REDIS_URL", env: map[string]string{"SIDEKIQ_REDIS_URL": "redis://alice:pw@redis-sidekiq:6379/5", "REDIS_URL": "redis://redis:6379/4"},
			want: RedisLogin{DB: 5, User: "alice", Password: "pw", From: "SIDEKIQ_REDIS_URL in sidekiq's environment"}},
		{name: "SIDEKIQ_REDIS_HOST takes the SIDEKIQ_ parts", env: map[string]string{"SIDEKIQ_REDIS_HOST": "r2", "SIDEKIQ_REDIS_DB": "6", "SIDEKIQ_REDIS_PASSWORD": "x", "REDIS_DB": "1", "REDIS_PASSWORD": "y"},
			want: RedisLogin{DB: 6, Password: "x", From: "SIDEKIQ_REDIS_DB in sidekiq's environment"}},
		{name: "SIDEKIQ_REDIS_DB without its host is not read", env: map[string]string{"SIDEKIQ_REDIS_DB": "6", "REDIS_DB": "1"}, want: RedisLogin{DB: 1, From: "REDIS_DB in sidekiq's environment"}},
		{name: "environment: over the env_file", env: map[string]string{"REDIS_DB": "${SIDEKIQ_DB:-7}"}, envFile: "REDIS_DB=3\n", want: RedisLogin{DB: 7, From: "REDIS_DB in sidekiq's environment"}},
		{name: "a database that is no number", env: map[string]string{"REDIS_DB": "one"}, err: `REDIS_DB in sidekiq's environment names Redis database "one", not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compose.Service{Name: "sidekiq", Env: tc.env}
			if tc.envFile != "" {
				s.EnvFiles = []string{".env.production"}
			}
			vars, err := compose.NewVars("", nil, func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			got, err := SidekiqRedisLogin(s, vars, func(string) ([]byte, error) { return []byte(tc.envFile), nil })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v (%v), want %+v", got, err, tc.want)
			}
		})
	}
}
