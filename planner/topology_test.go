package planner

import (
	"strings"
	"testing"
)

func rails(name, cmd string, env map[string]string, deps ...string) Service {
	return Service{Name: name, Image: "ghcr.io/mastodon/mastodon:v4.3.0", Command: strings.Fields(cmd), ConnEnv: env, DependsOn: deps}
}

func TestFindTopology(t *testing.T) {
	backup := Service{Name: "backup", Image: "eeshugerman/postgres-backup-s3:16", DependsOn: []string{"pg16"}}
	exporter := Service{Name: "exporter", Image: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"}
	maint := Service{Name: "maint", Image: "postgres:16-alpine", Command: []string{"sleep", "infinity"}}
	pg16 := Service{Name: "pg16", Image: "postgis/postgis:16-3.4"}
	named := Service{Name: "database", Image: "registry.example/our-postgres-repack:16", ContainerName: "mastodon-db"}
	bouncer := Service{Name: "pgbouncer", Image: "bitnami/pgbouncer:1.23.1", DependsOn: []string{"db"},
		Env: map[string]string{"POSTGRESQL_HOST": "db", "PGBOUNCER_POOL_MODE": "transaction", "PGBOUNCER_MAX_CLIENT_CONN": "500", "PGBOUNCER_DEFAULT_POOL_SIZE": "${POOL}"}}
	db := Service{Name: "db", Image: "postgres:14-alpine"}
	sidekiq := "bundle exec sidekiq"
	for _, tc := range []struct {
		name     string
		services []Service
		flag     string
		db       string // "" for none
		external bool
		why      string
		bouncer  string
	}{
		{"stock", []Service{db, rails("sidekiq", sidekiq, nil, "db")}, "", "db", false, "", ""},
		{"backup, exporter and maintenance are not the database",
			[]Service{maint, backup, exporter, pg16, rails("sidekiq", sidekiq, nil, "pg16")}, "", "pg16", false, "the app depends on it; maint also runs Postgres", ""},
		{"DB_HOST names the container", []Service{maint, named, rails("web", "bundle exec puma", map[string]string{"DB_HOST": "mastodon-db"}), rails("sidekiq", sidekiq, nil)},
			"", "database", false, "web's DB_HOST names it", ""},
		{"DATABASE_URL names it", []Service{maint, pg16, rails("sidekiq", sidekiq, map[string]string{"DATABASE_URL": "postgres://pg16:5432"})},
			"", "pg16", false, "sidekiq's DATABASE_URL names it", ""},
		{"a managed database", []Service{db, rails("sidekiq", sidekiq, map[string]string{"DB_HOST": "10.0.0.5"})}, "", "", true, "", ""},
		{"no database at all", []Service{rails("sidekiq", sidekiq, nil)}, "", "", false, "", ""},
		{"--db-service decides", []Service{maint, pg16, rails("sidekiq", sidekiq, nil, "pg16")}, "maint", "maint", false, "--db-service", ""},
		{"through a PgBouncer", []Service{db, bouncer, rails("sidekiq", sidekiq, map[string]string{"DB_HOST": "pgbouncer"}, "pgbouncer")}, "", "db", false, "a PgBouncer in front of it", "pgbouncer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := findTopology(tc.services, tc.flag)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if topo.db != nil {
				got = topo.db.Name
			}
			if got != tc.db || (topo.external != "") != tc.external || !strings.Contains(topo.dbWhy, tc.why) {
				t.Errorf("db %q (external %q, why %q), want %q (external %v, why %q)", got, topo.external, topo.dbWhy, tc.db, tc.external, tc.why)
			}
			b := ""
			if topo.bouncer != nil {
				b = topo.bouncer.service
			}
			if b != tc.bouncer {
				t.Errorf("bouncer %q, want %q", b, tc.bouncer)
			}
		})
	}
	if _, err := findTopology([]Service{db, rails("sidekiq", sidekiq, nil)}, "pg"); err == nil || !strings.Contains(err.Error(), "no such service (services: db, sidekiq)") {
		t.Errorf("--db-service naming nothing: %v", err)
	}
	// A PgBouncer's settings, bitnami's names; a variable is not a value.
	topo, _ := findTopology([]Service{db, bouncer, rails("sidekiq", sidekiq, map[string]string{"DB_HOST": "pgbouncer"})}, "")
	if b := topo.bouncer; b.maxClientConn != 500 || b.poolSize != 20 || b.poolMode != "transaction" || !b.viaSidekiq {
		t.Errorf("bouncer settings: %+v", *b)
	}
}

func TestRoleOfDatabaseImages(t *testing.T) {
	for image, want := range map[string]Role{
		"postgres:16-alpine":                            RoleDB,
		"postgis/postgis:16-3.4":                        RoleDB,
		"timescale/timescaledb:latest-pg16":             RoleDB,
		"ghcr.io/me/postgres-pg_repack:16":              RoleDB,
		"eeshugerman/postgres-backup-s3:16":             RoleOther,
		"prodrigestivill/postgres-backup-local:16":      RoleOther,
		"quay.io/prometheuscommunity/postgres-exporter": RoleOther,
		"edoburu/pgbouncer:v1.24.1-p1":                  RolePgBouncer,
		"bitnami/pgbouncer":                             RolePgBouncer,
	} {
		if got := RoleOf(Service{Name: "x", Image: image}); got != want {
			t.Errorf("%s: %s, want %s", image, got, want)
		}
	}
	// An admin's own image, named for what it is.
	if got := RoleOf(Service{Name: "postgresql", Image: "registry.example/pg:16"}); got != RoleDB {
		t.Errorf("a service named postgresql: %s", got)
	}
	// The image as interpolated decides over the one as written.
	if got := RoleOf(Service{Name: "x", Image: "${DB_IMAGE}", ImageResolved: "postgres:17"}); got != RoleDB {
		t.Errorf("an interpolated image: %s", got)
	}
}

// A database outside the file: planned within Postgres's default 100, or
// --max-connections; never past a limit nobody stated.
func TestNoDatabasePlansWithinAStatedLimit(t *testing.T) {
	services := stock("v4.3.0")[1:] // no db
	for _, m := range grid {
		p, err := Make(Input{Services: services, Machine: m})
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if c := p.Budget.Connections; c.MaxConnections != 100 || c.Total > usable(100) {
			t.Errorf("%v: max_connections %d, pools %d", m, c.MaxConnections, c.Total)
		}
		if !strings.Contains(strings.Join(p.Warnings, "\n"), "--max-connections") {
			t.Errorf("%v: no warning naming --max-connections: %q", m, p.Warnings)
		}
		checkInvariants(t, p, true)
	}
	p, err := Make(Input{Services: services, Machine: Machine{16 * GiB, 8}, MaxConnections: 400})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Budget.Connections; c.MaxConnections != 400 || c.Total > usable(400) || c.Total <= usable(250) {
		t.Errorf("--max-connections 400 on a managed database: max %d, pools %d", c.MaxConnections, c.Total)
	}
}

// With the app behind an admin's PgBouncer, both layers hold at every
// size: the pools within its client limit, its server pool and the direct
// pools within Postgres's max_connections; past 250 the app is bounded by
// memory and CPUs again.
func TestPgBouncerTwoLayers(t *testing.T) {
	withBouncer := func(maxClients string) []Service {
		s := stock("v4.5.0")
		via := map[string]string{"DB_HOST": "pgbouncer", "PREPARED_STATEMENTS": "false"}
		for i := range s {
			if r := RoleOf(s[i]); r == RoleWeb || r == RoleSidekiq || r == RoleStreaming {
				s[i].ConnEnv = via
			}
		}
		return append(s, Service{Name: "pgbouncer", Image: "edoburu/pgbouncer:v1.24.1-p1",
			Env: map[string]string{"DB_HOST": "db", "POOL_MODE": "transaction", "MAX_CLIENT_CONN": maxClients, "DEFAULT_POOL_SIZE": "40", "RESERVE_POOL_SIZE": "5"}})
	}
	for _, m := range grid {
		p, err := Make(Input{Services: withBouncer("2000"), Machine: m})
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		b, c := p.PgBouncer, p.Budget.Connections
		if b == nil {
			t.Fatalf("%v: no PgBouncer layer", m)
		}
		if c.Total != b.Clients+b.Direct || b.Clients > b.ClientLimit || b.ClientLimit != 1800 {
			t.Errorf("%v: clients %d (+%d direct) of %d, total %d", m, b.Clients, b.Direct, b.ClientLimit, c.Total)
		}
		if b.ServerPool != 45 || b.Servers > usable(c.MaxConnections) || c.MaxConnections > 250 {
			t.Errorf("%v: servers %d of max_connections %d", m, b.Servers, c.MaxConnections)
		}
		for _, w := range p.Warnings {
			if strings.Contains(w, "PREPARED_STATEMENTS") {
				t.Errorf("%v: warned although PREPARED_STATEMENTS=false: %s", m, w)
			}
		}
	}
	big, _ := Make(Input{Services: withBouncer("2000"), Machine: Machine{64 * GiB, 16}})
	if big.Budget.Connections.Total <= usable(250) {
		t.Errorf("64 GB behind PgBouncer: pools %d, still bounded by 250", big.Budget.Connections.Total)
	}
	// A low client limit binds, and the report says how to lift it.
	small, _ := Make(Input{Services: withBouncer("100"), Machine: Machine{64 * GiB, 16}})
	if small.Budget.Connections.Total > 90 || !strings.Contains(strings.Join(small.Notes, "\n"), "raise MAX_CLIENT_CONN") {
		t.Errorf("max_client_conn 100: pools %d, notes %q", small.Budget.Connections.Total, small.Notes)
	}
	// Session mode and missing PREPARED_STATEMENTS are warnings.
	s := withBouncer("2000")
	s[4].ConnEnv = map[string]string{"DB_HOST": "pgbouncer"}
	p, _ := Make(Input{Services: s, Machine: Machine{8 * GiB, 4}})
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "sidekiq goes through pgbouncer in transaction mode, but PREPARED_STATEMENTS is not false") {
		t.Errorf("no PREPARED_STATEMENTS warning: %q", p.Warnings)
	}
	s[len(s)-1].Env["POOL_MODE"] = "session"
	p, _ = Make(Input{Services: s, Machine: Machine{8 * GiB, 4}})
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "pools in session mode") {
		t.Errorf("no session-mode warning: %q", p.Warnings)
	}
}

// Before Mastodon 3.1.5 Sidekiq shuffles repeated -q flags: auto gives
// weights, a forced permuted layout is warned about.
func TestOrderingsNeedSidekiq61(t *testing.T) {
	for v, want := range map[string]Strategy{"v3.1.4": Weighted, "v3.1.5": Permuted, "v2.9.0": Weighted} {
		p, err := Make(Input{Services: stock(v), Machine: Machine{8 * GiB, 4}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Strategy != want {
			t.Errorf("%s: auto planned %s, want %s", v, p.Strategy, want)
		}
	}
	p, err := Make(Input{Services: stock("v3.1.4"), Machine: Machine{8 * GiB, 4}, Strategy: Permuted})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "shuffles repeated -q flags") {
		t.Errorf("forced permuted on 3.1.4: no warning in %q", p.Warnings)
	}
}

// A queue listed twice in one process: kept once up to Sidekiq 6 (Mastodon
// 4.3), left as written from Sidekiq 7, which accepts it.
func TestDuplicateQueueFixedForSidekiq6(t *testing.T) {
	for v, fixed := range map[string]bool{"v4.3.0": true, "v4.4.0": false} {
		s := stock(v)
		rest := "bundle exec sidekiq -c 5 -q mailers -q scheduler -q ingress"
		if !fixed {
			rest += " -q fasp"
		}
		s = append(s[:4], rails("sidekiq-a", "bundle exec sidekiq -c 10 -q default -q push -q pull -q default", nil), rails("sidekiq-b", rest, nil))
		s[4].Image, s[5].Image = "ghcr.io/mastodon/mastodon:"+v, "ghcr.io/mastodon/mastodon:"+v
		p, err := Make(Input{Services: s, Machine: Machine{8 * GiB, 4}})
		if err != nil {
			t.Fatal(err)
		}
		twice := false
		for _, pr := range p.Sidekiq {
			seen := map[string]bool{}
			for _, q := range pr.Queues {
				twice = twice || seen[q.Name]
				seen[q.Name] = true
			}
		}
		if twice == fixed {
			t.Errorf("%s: a queue listed twice: %v, want fixed %v", v, twice, fixed)
		}
	}
}

// --pgbouncer on at every size, version and strategy: the plan holds every
// invariant, and both layers of the budget: the pools within PgBouncer's
// client limit, its server pool within max_connections (at most 250);
// and with PgBouncer the workers are bounded by memory and CPUs, not by
// connections.
func TestPgBouncerOnInvariantsGrid(t *testing.T) {
	for _, v := range versions {
		for _, m := range grid {
			for _, st := range Strategies {
				p, err := Make(Input{Services: stock(v), Machine: m, Strategy: st, PgBouncer: ToggleOn})
				if err != nil {
					if st == Auto || !strings.Contains(err.Error(), "fits") {
						t.Errorf("%s %v %s: %v", v, m, st, err)
					}
					continue
				}
				checkInvariants(t, p, true)
				b := p.PgBouncer
				if b == nil || p.GenBouncer == nil || b.Direct != 0 || b.Clients != p.Budget.Connections.Total {
					t.Fatalf("%s %v %s: no generated PgBouncer layer: %+v", v, m, st, b)
				}
				if b.Servers > usable(p.Budget.Connections.MaxConnections) || p.Budget.Connections.MaxConnections > 250 {
					t.Errorf("%s %v %s: servers %d, max_connections %d", v, m, st, b.Servers, p.Budget.Connections.MaxConnections)
				}
				for _, s := range p.Sidekiq {
					if !s.Small && s.Concurrency < 25 && m.MemoryBytes >= 4*GiB && p.RailsPools == 1 {
						t.Errorf("%s %v %s: %s at -c %d behind PgBouncer: connections still bound it", v, m, st, s.Name, s.Concurrency)
					}
				}
			}
		}
	}
}

// Which service is Puma, and which is streaming, is what it runs: a web
// service that is nginx is no Puma, a tunnel that names the streaming
// service is no streaming server.
func TestRoleByWhatItRuns(t *testing.T) {
	img := "ghcr.io/mastodon/mastodon:v4.3.0"
	for _, tc := range []struct {
		s    Service
		want Role
	}{
		{Service{Name: "web", Image: "nginx:1.27-alpine"}, RoleOther},
		{Service{Name: "web", Image: "caddy:2"}, RoleOther},
		{Service{Name: "observer", Image: img, Command: strings.Fields("bundle exec puma -C config/puma.rb")}, RoleWeb},
		{Service{Name: "tunnel", Image: "cloudflare/cloudflared:latest", Command: strings.Fields("tunnel run mastodon-streaming")}, RoleOther},
		{Service{Name: "streaming", Image: "cloudflare/cloudflared:latest", Command: strings.Fields("tunnel run")}, RoleOther},
		{Service{Name: "stream", Image: img, Command: strings.Fields("node ./streaming/index.js")}, RoleStreaming},
		{Service{Name: "stream", Image: "ghcr.io/mastodon/mastodon-streaming:v4.3.0"}, RoleStreaming},
		{Service{Name: "web", Image: "registry.example/our-mastodon:2024"}, RoleWeb},
	} {
		if got := RoleOf(tc.s); got != tc.want {
			t.Errorf("%s (%s %v): %s, want %s", tc.s.Name, tc.s.Image, tc.s.Command, got, tc.want)
		}
	}
	// Planned: the real Puma is sized, nginx is not.
	services := []Service{
		{Name: "db", Image: "postgres:14-alpine"}, {Name: "redis", Image: "redis:7-alpine"},
		{Name: "web", Image: "nginx:1.27-alpine"},
		{Name: "observer", Image: img, Command: strings.Fields("bundle exec puma -C config/puma.rb")},
		{Name: "tunnel", Image: "cloudflare/cloudflared:latest", Command: strings.Fields("tunnel run mastodon-streaming")},
		{Name: "sidekiq", Image: img, Command: strings.Fields("bundle exec sidekiq")},
	}
	p, err := Make(Input{Services: services, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Web == nil || p.Web.Service != "observer" || p.Streaming != nil {
		t.Errorf("web %+v, streaming %+v", p.Web, p.Streaming)
	}
	for _, c := range p.Changes {
		if c.Service == "web" || c.Service == "tunnel" {
			t.Errorf("nginx or the tunnel changed: %+v", c)
		}
	}
}
