package rewrite

import (
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/internal/unidiff"
	"github.com/compose-scale/compose-scale/planner"
)

// A 2017 fork's file, with a queue of its own: the rewrite keeps it
// listened on, once, at every size, and a re-run changes nothing.
func TestForkFileRewritesStably(t *testing.T) {
	src := []byte(`version: '3'
services:
  db:
    image: postgres:9.6-alpine
  redis:
    image: redis:4.0-alpine
  web:
    image: tootsuite/mastodon:v3.4.6
    command: bundle exec rails s -p 3000 -b '0.0.0.0'
    ports:
      - "127.0.0.1:3000:3000"
  sidekiq:
    image: tootsuite/mastodon:v3.4.6
    command: bundle exec sidekiq -q default -q mailers -q pull -q push -q scheduler -q remove
`)
	for _, m := range []planner.Machine{{MemoryBytes: 4 * planner.GiB, CPUs: 2}, {MemoryBytes: 16 * planner.GiB, CPUs: 8}} {
		in := planner.Input{Machine: m}
		once := rewriteWith(t, src, in)
		if n := strings.Count(string(once), "-q remove"); n != 1 {
			t.Errorf("%v: %d commands listen on remove, want 1", m, n)
		}
		if again := rewriteWith(t, once, in); string(again) != string(once) {
			t.Errorf("%v: a re-run changes the file:\n%s", m, unidiff.Unified("once", "again", string(once), string(again)))
		}
	}
}

// Services the admin already has under the names compose-scale adds: the
// rewrite never fails on them.
func TestNamesTheAdminHas(t *testing.T) {
	src := ownDBHost(t)
	extra := `
  redis-cache:
    image: redis:7-alpine
    command: redis-server --maxmemory 300mb
    networks:
      - internal_network

  sidekiq-default-push-ingress-pull:
    image: strech/sidekiq-prometheus-exporter:0.2.0
    networks:
      - internal_network

  migrate:
    image: ghcr.io/mastodon/mastodon:v4.3.0
    command: bundle exec rails db:migrate
    profiles: [tools]
`
	src = []byte(strings.Replace(string(src), "\nnetworks:", extra+"\nnetworks:", 1))
	for _, tg := range []planner.Toggle{planner.ToggleAuto, planner.ToggleOn} {
		out := rewriteWith(t, src, planner.Input{Machine: planner.Machine{MemoryBytes: 32 * planner.GiB, CPUs: 8}, PgBouncer: tg, CacheRedis: tg})
		if !strings.Contains(string(out), "sidekiq-default-push-ingress-pull-2:") || !strings.Contains(string(out), "compose-scale-migrate:") {
			t.Errorf("%s: the planned services did not take free names", tg)
		}
		if strings.Count(string(out), "\n  redis-cache:") != 1 {
			t.Errorf("%s: redis-cache twice", tg)
		}
	}
	withBouncer := []byte(strings.Replace(string(src), "\nnetworks:", "\n  pgbouncer:\n    image: bitnami/pgbouncer:1.23.1\n\nnetworks:", 1))
	out := rewriteWith(t, withBouncer, planner.Input{Machine: planner.Machine{MemoryBytes: 32 * planner.GiB, CPUs: 8}, PgBouncer: planner.ToggleOn})
	if strings.Count(string(out), "\n  pgbouncer:") != 1 {
		t.Error("a second pgbouncer beside the admin's")
	}
}

// An environment mapping that is an anchor other services use (web's
// &env, *env in streaming and sidekiq): web's own pool settings must not
// reach them through the anchor. web's mapping goes under a merge key,
// anchor and all, with web's keys beside it.
func TestAnchoredEnvironmentOwner(t *testing.T) {
	path, src := fixture(t, "anchorowner-v4.3")
	res, err := Rewrite(path, src, input(t, "s-4vcpu-8gb", ""))
	if err != nil {
		t.Fatal(err)
	}
	out := services(t, res.Output)
	if out["web"].Env["WEB_CONCURRENCY"] == "" || out["web"].Env["LOCAL_DOMAIN"] != "example.com" {
		t.Errorf("web: %v", out["web"].Env)
	}
	for name, s := range out {
		if name == "web" || s.Env["LOCAL_DOMAIN"] == "" {
			continue
		}
		if _, ok := s.Env["WEB_CONCURRENCY"]; ok {
			t.Errorf("%s got web's WEB_CONCURRENCY through the anchor: %v", name, s.Env)
		}
		if _, ok := s.Env["MAX_THREADS"]; ok {
			t.Errorf("%s got web's MAX_THREADS through the anchor: %v", name, s.Env)
		}
	}
	if !strings.Contains(string(res.Output), "    environment:\n      <<: &env\n        LOCAL_DOMAIN: example.com\n") {
		t.Errorf("web's environment:\n%s", res.Output)
	}
	again, err := Rewrite(path, res.Output, input(t, "s-4vcpu-8gb", ""))
	if err != nil || again.Changed() {
		t.Errorf("the second rewrite is not a no-op (%v)", err)
	}
}
