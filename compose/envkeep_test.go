package compose

import (
	"strings"
	"testing"
)

// What SetEnvKeeping and SetKeyKeeping change, RemoveEnv and RestoreKey
// give back byte for byte, in every form an entry is written; an entry
// the admin changed since is left alone, and one compose-scale added goes.
func TestKeptEntriesComeBack(t *testing.T) {
	src := `services:
  web:
    image: x
    shm_size: "256mb"  # enough
    environment:
      DB_HOST: 'db' # ours
      DB_PORT: 5432
  streaming:
    image: x
    environment:
      - "DB_HOST=db"
      - DB_PORT=5432   # the default
`
	doc, err := Parse("c.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range []string{"web", "streaming"} {
		must(doc.SetEnvKeeping(svc, "DB_HOST", "pgbouncer"))
		must(doc.SetEnvKeeping(svc, "DB_PORT", "6432"))
		must(doc.SetEnvKeeping(svc, "PREPARED_STATEMENTS", "false"))
		// A second run keeps the first kept text, not its own.
		must(doc.SetEnvKeeping(svc, "DB_HOST", "pgbouncer"))
	}
	must(doc.SetKeyKeeping("web", "shm_size", "1gb"))
	changed := string(doc.Bytes())
	for _, want := range []string{`DB_HOST: 'pgbouncer' # compose-scale replaced: 'db' # ours`, `- "DB_HOST=pgbouncer" # compose-scale replaced: "DB_HOST=db"`, `- DB_PORT=6432 # compose-scale replaced: DB_PORT=5432   # the default`, `shm_size: "1gb" # compose-scale replaced: "256mb"  # enough`} {
		if !strings.Contains(changed, want) {
			t.Errorf("no %q in:\n%s", want, changed)
		}
	}
	services, err := doc.Services()
	if err != nil {
		t.Fatal(err)
	}
	if services[0].Kept["shm_size"] != "256mb" || services[0].ShmSize != 1<<30 {
		t.Errorf("kept shm_size %q, current %d", services[0].Kept["shm_size"], services[0].ShmSize)
	}
	for _, svc := range []string{"web", "streaming"} {
		must(doc.RemoveEnv(svc, "DB_HOST", "pgbouncer"))
		must(doc.RemoveEnv(svc, "DB_PORT", "6432"))
		must(doc.RemoveEnv(svc, "PREPARED_STATEMENTS", "false"))
	}
	must(doc.RestoreKey("web", "shm_size"))
	if got := string(doc.Bytes()); got != src {
		t.Errorf("not given back byte for byte:\n%s\nwant:\n%s", got, src)
	}

	// Changed by the admin since: theirs now, not restored.
	doc, _ = Parse("c.yml", []byte(src))
	must(doc.SetEnvKeeping("web", "DB_HOST", "pgbouncer"))
	must(doc.SetEnv("web", "DB_HOST", "elsewhere"))
	must(doc.RemoveEnv("web", "DB_HOST", "pgbouncer"))
	if !strings.Contains(string(doc.Bytes()), "DB_HOST: 'elsewhere'") {
		t.Errorf("an entry the admin changed was restored:\n%s", doc.Bytes())
	}
}

// An environment that is an alias, a flow mapping or a flow list gets an
// environment of its own with the entry set; the anchor and the services
// sharing it do not change.
func TestSetEnvOnAliasAndFlow(t *testing.T) {
	src := `x-env: &common
  REDIS_HOST: redis
  LOCAL_DOMAIN: example.org
services:
  sidekiq:
    image: x
    environment: *common
  web:
    image: x
    environment: *common
  streaming:
    image: x
    environment: { "STREAMING_API_BASE_URL": wss://s.example.org, NODE_ENV: production }
  worker:
    image: x
    environment: [ "A=1", B=2 ]
  merged:
    image: x
    environment:
      <<: *common
      C: 3
`
	doc, err := Parse("c.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"sidekiq", "streaming", "worker", "merged"} {
		if err := doc.SetEnv(s, "DB_POOL", "25"); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	services, err := doc.Services()
	if err != nil {
		t.Fatalf("%v\n%s", err, doc.Bytes())
	}
	want := map[string]map[string]string{
		"sidekiq":   {"REDIS_HOST": "redis", "LOCAL_DOMAIN": "example.org", "DB_POOL": "25"},
		"web":       {"REDIS_HOST": "redis", "LOCAL_DOMAIN": "example.org"},
		"streaming": {"STREAMING_API_BASE_URL": "wss://s.example.org", "NODE_ENV": "production", "DB_POOL": "25"},
		"worker":    {"A": "1", "B": "2", "DB_POOL": "25"},
		"merged":    {"REDIS_HOST": "redis", "LOCAL_DOMAIN": "example.org", "C": "3", "DB_POOL": "25"},
	}
	for _, s := range services {
		if got := s.Env; !equalEnv(got, want[s.Name]) {
			t.Errorf("%s: %v, want %v\n%s", s.Name, got, want[s.Name], doc.Bytes())
		}
	}
	if err := Validate("c.yml", doc.Bytes()); err != nil {
		t.Errorf("compose-go refuses it: %v\n%s", err, doc.Bytes())
	}
}

func equalEnv(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
