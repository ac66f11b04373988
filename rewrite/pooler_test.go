package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/internal/unidiff"
	"github.com/compose-scale/compose-scale/planner"
)

// ownDBHost is the stock v4.3 file with the admin's own DB_HOST and
// DB_PORT in every Mastodon service's environment (one in each form a
// file writes them), and the env_file holding the rest.
func ownDBHost(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "stock-v4.3.input.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range [][2]string{
		{"    command: bundle exec puma -C config/puma.rb\n", "    command: bundle exec puma -C config/puma.rb\n    environment:\n      DB_HOST: db   # our database\n      DB_PORT: '5432'\n      CACHE_REDIS_HOST: \"redis\"\n"},
		{"    command: node ./streaming/index.js\n", "    command: node ./streaming/index.js\n    environment:\n      - DB_HOST=db\n      - 'DB_PORT=5432'\n"},
		{"    command: bundle exec sidekiq\n", "    command: bundle exec sidekiq\n    environment:\n      - \"DB_HOST=db\"\n      - DB_PORT=5432\n      - CACHE_REDIS_HOST=redis\n"},
	} {
		if !strings.Contains(s, e[0]) {
			t.Fatalf("no %q", e[0])
		}
		s = strings.Replace(s, e[0], e[1], 1)
	}
	return []byte(s)
}

func rewriteWith(t *testing.T, src []byte, in planner.Input) []byte {
	t.Helper()
	res, err := RewriteFiles(Files{
		Base: compose.File{Path: "docker-compose.yml", Text: src},
		ReadEnvFile: func(string) ([]byte, error) {
			return []byte("DB_USER=mastodon\nDB_PASS=secret\nREDIS_HOST=redis\n"), nil
		},
	}, in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Output
}

// --pgbouncer on, then off: the admin's file back byte for byte, their
// own DB_HOST and DB_PORT in environment: included. The same for the
// cache Redis, and for a machine that shrinks below both.
func TestPoolerAndCacheOffGiveTheFileBack(t *testing.T) {
	orig := ownDBHost(t)
	m := planner.Machine{MemoryBytes: 32 * planner.GiB, CPUs: 8}
	direct := rewriteWith(t, orig, planner.Input{Machine: m, PgBouncer: planner.ToggleOff, CacheRedis: planner.ToggleOff})
	on := rewriteWith(t, orig, planner.Input{Machine: m, PgBouncer: planner.ToggleOn, CacheRedis: planner.ToggleOn})
	for _, want := range []string{"DB_HOST: pgbouncer # compose-scale replaced: db   # our database", "- DB_HOST=pgbouncer # compose-scale replaced: DB_HOST=db", "\"DB_HOST=pgbouncer\" # compose-scale replaced: \"DB_HOST=db\"", "CACHE_REDIS_HOST: \"redis-cache\" # compose-scale replaced: \"redis\""} {
		if !strings.Contains(string(on), want) {
			t.Errorf("the pooled file does not keep the admin's entry as %q", want)
		}
	}
	off := rewriteWith(t, on, planner.Input{Machine: m, PgBouncer: planner.ToggleOff, CacheRedis: planner.ToggleOff})
	if string(off) != string(direct) {
		t.Errorf("on then off differs from off alone:\n%s", unidiff.Unified("direct", "on-then-off", string(direct), string(off)))
	}
	// Nothing of the pooler is left, and the admin's entries are theirs
	// again, byte for byte: the rewrite's own edits aside, the file is
	// the original.
	for _, gone := range []string{"pgbouncer", "migrate", "redis-cache", "replaced: db", "replaced: DB_", "replaced: \"DB_", "replaced: 'DB_", "replaced: \"redis\""} {
		if strings.Contains(string(off), gone) {
			t.Errorf("%q is left after off", gone)
		}
	}
	for _, line := range []string{"      DB_HOST: db   # our database\n      DB_PORT: '5432'\n      CACHE_REDIS_HOST: \"redis\"\n", "      - DB_HOST=db\n      - 'DB_PORT=5432'\n", "      - \"DB_HOST=db\"\n      - DB_PORT=5432\n      - CACHE_REDIS_HOST=redis\n"} {
		if !strings.Contains(string(off), line) {
			t.Errorf("the admin's entries are not back as written:\n%s", line)
		}
	}
	// Shrinking to a machine below both (auto) is the same as planning
	// for it from the start.
	small := planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}
	auto := rewriteWith(t, on, planner.Input{Machine: small})
	fresh := rewriteWith(t, orig, planner.Input{Machine: small})
	if string(auto) != string(fresh) {
		t.Errorf("shrunk from the pooled file differs from planned fresh:\n%s", unidiff.Unified("fresh", "shrunk", string(fresh), string(auto)))
	}
	// And on again gives the same pooled file: a re-run is stable.
	again := rewriteWith(t, on, planner.Input{Machine: m, PgBouncer: planner.ToggleOn, CacheRedis: planner.ToggleOn})
	if string(again) != string(on) {
		t.Errorf("a re-run of the pooled file changes it:\n%s", unidiff.Unified("on", "again", string(on), string(again)))
	}
}

// A file pooled by an earlier compose-scale (its script logged in as
// postgres from the first env_file only, with PgBouncer 1.25.1) gets
// today's pooler on a re-run: the same service a fresh rewrite writes,
// and the migrate service.
func TestOldPoolerIsBroughtUpToDate(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("..", "fixtures", "pooled-old-v4.3.input.yml"))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join("..", "fixtures", "stock-v4.3.input.yml"))
	if err != nil {
		t.Fatal(err)
	}
	in := planner.Input{Machine: planner.Machine{MemoryBytes: 16 * planner.GiB, CPUs: 8}}
	again, fresh := rewriteWith(t, old, in), rewriteWith(t, orig, in)
	for _, name := range []string{"pgbouncer", "migrate"} {
		a, b := serviceText(t, again, name), serviceText(t, fresh, name)
		if a == "" || a != b {
			t.Errorf("%s after a re-run differs from a fresh rewrite's:\n%s", name, unidiff.Unified("fresh", "re-run", b, a))
		}
	}
}

func serviceText(t *testing.T, src []byte, name string) string {
	t.Helper()
	doc, err := compose.Parse("x.yml", src)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := doc.ServiceText(name)
	var kept []string // the comment line above its keys is the first run's
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
