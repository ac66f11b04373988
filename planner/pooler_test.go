package planner

import (
	"strconv"
	"strings"
	"testing"
)

// withConn gives the stock v4.3 services where they connect and where
// each key is set: env maps a key to its value, from to its place.
func withConn(services []Service, name string, env map[string]string, from string, password bool) []Service {
	out := append([]Service(nil), services...)
	for i := range out {
		if out[i].Name != name && name != "*" {
			continue
		}
		s := &out[i]
		if RoleOf(*s) != RoleWeb && RoleOf(*s) != RoleSidekiq && RoleOf(*s) != RoleStreaming {
			continue
		}
		s.ConnEnv, s.ConnFrom, s.URLPassword = map[string]string{}, map[string]string{}, map[string]bool{}
		s.EnvFiles = []string{".env.production"}
		for k, v := range env {
			s.ConnEnv[k] = v
			s.ConnFrom[k] = from
			if strings.HasSuffix(k, "_URL") {
				s.URLPassword[k] = password
			}
		}
		s.CredGroup = 1
	}
	return out
}

func hasChange(p *Plan, kind ChangeKind, service, key, value string) bool {
	for _, c := range p.Changes {
		if c.Kind == kind && c.Service == service && c.Key == key && (value == "" || c.Value == value) {
			return true
		}
	}
	return false
}

// A DATABASE_URL to the database in the env_file: the URL wins over
// DB_HOST, so pointing DB_HOST at a pooler would do nothing. auto plans
// without one within 250, on refuses naming the variable, file and
// service.
func TestDatabaseURLKeepsThePoolerOut(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	services := withConn(stock("v4.3.0"), "*", map[string]string{"DATABASE_URL": "postgresql://db:5432"}, ".env.production", true)
	m := Machine{32 * GiB, 8}
	p, err := Make(Input{Services: services, Machine: m, Version: &v})
	if err != nil {
		t.Fatal(err)
	}
	if p.GenBouncer != nil || p.PgBouncer != nil {
		t.Fatalf("a PgBouncer was planned in front of a DATABASE_URL the app reads first")
	}
	c := p.Budget.Connections
	if c.MaxConnections > maxPlannedConnections || c.Total > c.Limit || c.Limit > usable(c.MaxConnections) {
		t.Errorf("without the pooler the pools must fit a safe max_connections: %+v", c)
	}
	if hasChange(p, SetEnvKeeping, "web", "DB_HOST", "") || hasChange(p, SetEnv, "web", "DB_HOST", "") {
		t.Error("DB_HOST was written beside a DATABASE_URL")
	}
	note := strings.Join(p.Notes, "\n")
	for _, want := range []string{"DATABASE_URL in .env.production", "pgbouncer:6432", "PREPARED_STATEMENTS=false", "DB_HOST, DB_PORT, DB_USER and DB_PASS"} {
		if !strings.Contains(note, want) {
			t.Errorf("the notes do not say %q:\n%s", want, note)
		}
	}
	_, err = Make(Input{Services: services, Machine: m, Version: &v, PgBouncer: ToggleOn})
	if err == nil || !strings.Contains(err.Error(), "web reads DATABASE_URL in .env.production") {
		t.Errorf("--pgbouncer on: %v, want a refusal naming web, DATABASE_URL and .env.production", err)
	}

	// The same URL in the service's own environment, and a replica URL.
	own := withConn(stock("v4.3.0"), "*", map[string]string{"DB_HOST": "db", "REPLICA_DATABASE_URL": "postgres://db:5432"}, "environment", false)
	if _, err := Make(Input{Services: own, Machine: m, Version: &v, PgBouncer: ToggleOn}); err == nil || !strings.Contains(err.Error(), "REPLICA_DATABASE_URL in its environment:") {
		t.Errorf("a replica URL on the database: %v", err)
	}
}

// A URL that already names compose-scale's pooler needs it: auto writes
// it, off refuses; DB_HOST is not written where the URL decides.
func TestDatabaseURLThroughThePooler(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	services := withConn(stock("v4.3.0"), "*", map[string]string{"DATABASE_URL": "postgresql://pgbouncer:6432"}, ".env.production", true)
	p, err := Make(Input{Services: services, Machine: Machine{8 * GiB, 4}, Version: &v})
	if err != nil {
		t.Fatal(err)
	}
	if p.GenBouncer == nil || p.GenBouncer.Upstream != "db" {
		t.Fatalf("the app names pgbouncer: the pooler must be written in front of db, got %+v", p.GenBouncer)
	}
	if hasChange(p, SetEnvKeeping, "web", "DB_HOST", "") || !hasChange(p, SetEnvKeeping, "web", "PREPARED_STATEMENTS", "false") {
		t.Errorf("a URL service gets PREPARED_STATEMENTS=false and no DB_HOST: %v", p.Changes)
	}
	if !strings.Contains(p.GenBouncer.MigrateCommand, "-e DATABASE_URL") {
		t.Errorf("migrations with a URL: %q", p.GenBouncer.MigrateCommand)
	}
	if _, err := Make(Input{Services: services, Machine: Machine{8 * GiB, 4}, Version: &v, PgBouncer: ToggleOff}); err == nil {
		t.Error("--pgbouncer off with the app's URL on pgbouncer was accepted")
	}
}

// Services that log in differently cannot share one pooler.
func TestDifferentLoginsKeepThePoolerOut(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	services := withConn(stock("v4.3.0"), "*", map[string]string{"DB_HOST": "db"}, ".env.production", false)
	for i := range services {
		if services[i].Name == "streaming" {
			services[i].CredGroup = 2
		}
	}
	_, err := Make(Input{Services: services, Machine: Machine{32 * GiB, 8}, Version: &v, PgBouncer: ToggleOn})
	if err == nil || !strings.Contains(err.Error(), "web and streaming log in to Postgres differently") {
		t.Errorf("got %v", err)
	}
	p, err := Make(Input{Services: services, Machine: Machine{32 * GiB, 8}, Version: &v})
	if err != nil || p.GenBouncer != nil {
		t.Errorf("auto with two logins: %v, pooler %+v", err, p.GenBouncer)
	}
}

// The pooler takes its login where the app's comes from, and the
// entries it overwrites are kept for the way back.
func TestPoolerCopiesTheLoginAndKeepsWhatItReplaces(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	services := withConn(stock("v4.3.0"), "*", map[string]string{"DB_HOST": "db"}, "environment", false)
	for i := range services {
		if r := RoleOf(services[i]); r == RoleWeb || r == RoleSidekiq || r == RoleStreaming {
			services[i].Env = map[string]string{"DB_HOST": "db", "DB_USER": "mastodon", "DB_PASS": "${DB_PASS}"}
			services[i].ConnFrom["DB_PASS"], services[i].ConnFrom["DB_USER"] = "environment", "environment"
		}
	}
	p, err := Make(Input{Services: services, Machine: Machine{8 * GiB, 4}, Version: &v, PgBouncer: ToggleOn})
	if err != nil {
		t.Fatal(err)
	}
	var ns *NewService
	for _, c := range p.Changes {
		if c.Kind == AddService && c.Service == bouncerService {
			ns = c.New
		}
	}
	if ns == nil {
		t.Fatal("no pgbouncer added")
	}
	env := map[string]string{}
	for _, kv := range ns.Env {
		env[kv[0]] = kv[1]
	}
	if env["DB_PASS"] != "${DB_PASS}" || env["DB_USER"] != "mastodon" || ns.EnvFileOf != "web" {
		t.Errorf("the pooler's login: env %v, env_file of %q", env, ns.EnvFileOf)
	}
	for _, name := range []string{"web", "streaming", p.Sidekiq[0].Name} {
		if !hasChange(p, SetEnvKeeping, name, "DB_HOST", bouncerService) {
			t.Errorf("%s: DB_HOST is not set keeping the admin's entry", name)
		}
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "DB_PASS in the compose file") {
			t.Errorf("a reference is no password in the file: %s", w)
		}
	}
}

// A cache variable naming the Redis the app already uses is no cache
// Redis: the split is made, in the form the app reads.
func TestCacheVariableOnTheMainRedis(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	for _, tc := range []struct {
		name string
		env  map[string]string
		key  string
	}{
		{"CACHE_REDIS_URL", map[string]string{"REDIS_HOST": "redis", "CACHE_REDIS_URL": "redis://redis:6379"}, "CACHE_REDIS_URL"},
		{"CACHE_REDIS_HOST", map[string]string{"REDIS_HOST": "redis", "CACHE_REDIS_HOST": "redis"}, "CACHE_REDIS_HOST"},
		{"SIDEKIQ_REDIS_HOST", map[string]string{"SIDEKIQ_REDIS_HOST": "redis", "CACHE_REDIS_HOST": "redis"}, "CACHE_REDIS_HOST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			services := withConn(stock("v4.3.0"), "*", tc.env, ".env.production", false)
			p, err := Make(Input{Services: services, Machine: Machine{16 * GiB, 4}, Version: &v})
			if err != nil {
				t.Fatal(err)
			}
			if p.CacheRedis == nil || !p.CacheRedis.Generated || p.CacheRedis.Service != cacheService {
				t.Fatalf("the main Redis was taken for a cache Redis: %+v", p.CacheRedis)
			}
			if p.Budget.Memory.CacheBytes != p.CacheRedis.MemoryBytes {
				t.Errorf("cache counted %d, planned %d", p.Budget.Memory.CacheBytes, p.CacheRedis.MemoryBytes)
			}
			if !hasChange(p, SetEnvKeeping, "web", tc.key, "") {
				t.Errorf("web is not pointed at the cache by %s: %v", tc.key, p.Changes)
			}
			if tc.key == "CACHE_REDIS_URL" && (hasChange(p, SetEnvKeeping, "web", "CACHE_REDIS_HOST", "") || !hasChange(p, SetEnvKeeping, "web", "CACHE_REDIS_URL", cacheURL)) {
				t.Errorf("with a URL set, the URL is what the app reads: %v", p.Changes)
			}
		})
	}
}

// Absurd machines are clamped to what Postgres and the machine accept.
func TestPostgresBounds(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	for _, m := range []Machine{{8 * GiB, 1025}, {8 * GiB, 100000}} {
		p, err := Make(Input{Services: stock("v4.3.0"), Machine: m, Version: &v})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Postgres.Settings {
			switch s.Name {
			case "max_parallel_workers", "max_parallel_workers_per_gather", "max_parallel_maintenance_workers", "max_worker_processes":
				if n := atoi(t, s.Value); n > maxPostgresWorkers {
					t.Errorf("%d CPUs: %s=%d, above Postgres's %d", m.CPUs, s.Name, n, maxPostgresWorkers)
				}
			}
		}
		if p.Postgres.ShmSizeBytes > m.MemoryBytes || p.Postgres.ShmSizeBytes > p.Postgres.MemoryBytes {
			t.Errorf("%d CPUs: shm_size %s on %s", m.CPUs, FormatBytes(p.Postgres.ShmSizeBytes), FormatBytes(m.MemoryBytes))
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "Postgres accepts at most 1024") {
			t.Errorf("%d CPUs: no note says the CPUs were clamped", m.CPUs)
		}
	}
}

// A read replica on the same database doubles the Rails pools there.
func TestReplicaOnTheDatabaseIsCounted(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	m := Machine{8 * GiB, 4}
	plain, err := Make(Input{Services: stock("v4.3.0"), Machine: m, Version: &v, PgBouncer: ToggleOff})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Make(Input{Services: withConn(stock("v4.3.0"), "*", map[string]string{"REPLICA_DB_HOST": "db"}, ".env.production", false), Machine: m, Version: &v, PgBouncer: ToggleOff})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RailsPools != plain.RailsPools+1 {
		t.Fatalf("pools per Rails process: %d with the replica on db, %d without", rep.RailsPools, plain.RailsPools)
	}
	for _, r := range rep.Budget.Rows {
		if r.Role == RoleWeb && r.Connections != r.Processes*r.Threads*2 {
			t.Errorf("web's row counts %d connections for %d x %d threads and two pools", r.Connections, r.Processes, r.Threads)
		}
	}
	if c := rep.Budget.Connections; c.Total > c.Limit {
		t.Errorf("with the replica pools the budget overflows: %+v", c)
	}
	elsewhere, err := Make(Input{Services: withConn(stock("v4.3.0"), "*", map[string]string{"REPLICA_DB_HOST": "10.0.0.9"}, ".env.production", false), Machine: m, Version: &v, PgBouncer: ToggleOff})
	if err != nil {
		t.Fatal(err)
	}
	if elsewhere.RailsPools != plain.RailsPools {
		t.Error("a replica on another host was counted against this database")
	}
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// A service the admin already has under a name compose-scale would add is
// recognised for what it is, never a failure: their cache Redis is kept
// and budgeted, their PgBouncer is not doubled, a migrate of theirs keeps
// its name.
func TestServicesUnderNamesCompseScaleUses(t *testing.T) {
	v := mustVersion(t, "v4.3.0")
	services := append(stock("v4.3.0"),
		Service{Name: "redis-cache", Image: "redis:7-alpine", Command: strings.Fields("redis-server --maxmemory 300mb")},
		Service{Name: "migrate", Image: "ghcr.io/mastodon/mastodon:v4.3.0", Command: strings.Fields("bundle exec rails db:migrate")})
	p, err := Make(Input{Services: services, Machine: Machine{32 * GiB, 8}, Version: &v, PgBouncer: ToggleOn, CacheRedis: ToggleOn})
	if err != nil {
		t.Fatal(err)
	}
	if p.CacheRedis == nil || p.CacheRedis.Service != "redis-cache" || p.CacheRedis.Generated || p.CacheRedis.MaxMemory != 300*MiB {
		t.Errorf("the admin's redis-cache: %+v", p.CacheRedis)
	}
	for _, c := range p.Changes {
		if c.Kind == AddService && (c.Service == "redis-cache" || c.Service == "migrate") {
			t.Errorf("adds %s, which exists", c.Service)
		}
	}
	if p.GenBouncer == nil || p.GenBouncer.MigrateCommand != "docker compose run --rm compose-scale-migrate" {
		t.Errorf("the migrate service beside the admin's: %+v", p.GenBouncer)
	}
	bouncer := append(stock("v4.3.0"), Service{Name: "pgbouncer", Image: "bitnami/pgbouncer:1.23.1"})
	p, err = Make(Input{Services: bouncer, Machine: Machine{32 * GiB, 8}, Version: &v, PgBouncer: ToggleOn})
	if err != nil {
		t.Fatal(err)
	}
	if p.GenBouncer != nil || !strings.Contains(strings.Join(p.Notes, "\n"), "its own PgBouncer, pgbouncer") {
		t.Errorf("a second pooler beside the admin's: %+v", p.GenBouncer)
	}
}
