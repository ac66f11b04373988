package rewrite

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/internal/fixturetest"

	"github.com/compose-scale/compose-scale/internal/goldentest"

	"github.com/aymanbagabas/go-udiff"
	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/internal/unidiff"
	"github.com/compose-scale/compose-scale/machine"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/report"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var markerRE = regexp.MustCompile(`MARKER[A-Za-z0-9.-]*`)

var shmLine = regexp.MustCompile(`shm_size: \S+`)

var update = flag.Bool("update", false, "rewrite the golden files in ../fixtures")

// goldenCase is one fixture rewritten for one machine and strategy; its
// expected output is fixtures/<fixture>.<name>.golden.yml.
type goldenCase struct {
	fixture, droplet string
	strategy         planner.Strategy
	version          string // --mastodon-version, for files whose tags do not say
	dotenv           string // the .env file beside it: fixtures/<dotenv>
}

func (c goldenCase) name() string {
	if c.strategy != "" && c.strategy != planner.Auto {
		return string(c.strategy) + "-" + c.droplet
	}
	return c.droplet
}

var goldenCases = []goldenCase{
	{"stock-v4.3", "s-1vcpu-1gb", "", "", ""},
	{"stock-v4.3", "s-2vcpu-4gb", "", "", ""},
	{"stock-v4.3", "s-4vcpu-8gb", "", "", ""},
	{"stock-v4.3", "s-8vcpu-16gb", "", "", ""},
	{"stock-v4.3", "s-8vcpu-16gb", planner.PerQueue, "", ""},
	{"stock-v4.3", "s-4vcpu-8gb", planner.Weighted, "", ""},
	{"stock-v3.4", "s-4vcpu-8gb", "", "", ""},
	{"stock-v3.4", "s-4vcpu-8gb", planner.PerQueue, "", ""},
	{"stock-v3.4", "s-8vcpu-16gb", "", "", ""},
	{"handsplit-v3.4", "s-4vcpu-8gb", "", "", ""},
	{"anchors-v4.4", "s-4vcpu-8gb", "", "", ""},
	{"mapenv-v4.2", "s-2vcpu-2gb", "", "", ""},
	{"mapenv-v4.2", "s-4vcpu-8gb", "", "", ""},
	{"ports-v4.3", "s-4vcpu-8gb", "", "", ""},
	{"clash-v4.3", "s-8vcpu-16gb", "", "", ""},
	{"hometown-v4.2", "s-4vcpu-8gb", "", "v4.2.10", ""},
	{"crlf-v4.3", "s-4vcpu-8gb", "", "", ""},
	{"vars-v4.3", "s-4vcpu-8gb", "", "", ""},
	// Issue 10: the files admins really run.
	{"latest", "s-4vcpu-8gb", "", "", ""},
	{"latest", "s-8vcpu-16gb", "", "", ""},
	{"envtag-v4.3", "s-4vcpu-8gb", "", "", "envtag-v4.3.env"},
	{"multidb", "s-4vcpu-8gb", "", "", ""},
	{"pgbouncer-v4.5", "g-16vcpu-64gb", "", "", ""},
	{"nodb-v4.4", "s-4vcpu-8gb", "", "", ""},
	{"forms-v4.3", "s-4vcpu-8gb", "", "", ""},
	// Issue 11: copies docker compose can start.
	{"bumped-v4.5", "s-4vcpu-8gb", "", "", ""},
	{"names-v4.3", "s-8vcpu-16gb", "", "", ""},
	{"sidecar-v4.3", "s-8vcpu-16gb", "", "", ""},
	{"scale-v4.3", "s-4vcpu-8gb", "", "", ""},
	{"seeds4-v4.3", "s-4vcpu-8gb", "", "", ""},
	{"extends-v4.4", "s-4vcpu-8gb", "", "", ""},
	// Issue 12: PgBouncer and a cache Redis.
	{"stock-v4.5", "g-16vcpu-64gb", "", "", ""},
	{"cacheredis-v4.4", "s-8vcpu-16gb", "", "", ""},
}

// rewrite runs the pipeline as the CLI does: with the fixture's .env (if
// any) and no process environment, reading env_files from fixtures/.
func (c goldenCase) rewrite(t *testing.T, path string, src []byte, in planner.Input) (*Result, error) {
	t.Helper()
	return RewriteFiles(Files{Base: compose.File{Path: path, Text: src}, Vars: dotenv(t, c.dotenv), ReadEnvFile: readFixture}, in)
}

// setup is the case's fixture and its input: machine, strategy, version.
func (c goldenCase) setup(t *testing.T) (path string, src []byte, in planner.Input) {
	t.Helper()
	path, src = fixture(t, c.fixture)
	in = input(t, c.droplet, c.strategy)
	if c.version != "" {
		v, err := planner.ParseVersion(c.version)
		if err != nil {
			t.Fatal(err)
		}
		in.Version = &v
	}
	return path, src, in
}

// run rewrites the case's fixture for its machine, strategy and version.
func (c goldenCase) run(t *testing.T) *Result {
	t.Helper()
	path, src, in := c.setup(t)
	res, err := c.rewrite(t, path, src, in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkGolden compares got with fixtures/name (-update writes it).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldentest.Check(t, filepath.Join("..", "fixtures", name), got, *update, "go test ./rewrite -update")
}

func dotenv(t *testing.T, name string) *compose.Vars {
	t.Helper()
	var text []byte
	if name != "" {
		var err error
		if text, err = os.ReadFile(filepath.Join("..", "fixtures", name)); err != nil {
			t.Fatal(err)
		}
	}
	vars, err := compose.NewVars(name, text, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return vars
}

func readFixture(p string) ([]byte, error) { return os.ReadFile(filepath.Join("..", "fixtures", p)) }

func input(t *testing.T, droplet string, st planner.Strategy) planner.Input {
	t.Helper()
	cpus, mem, err := machine.ParseDroplet(droplet)
	if err != nil {
		t.Fatal(err)
	}
	return planner.Input{Machine: planner.Machine{MemoryBytes: mem, CPUs: cpus}, Strategy: st}
}

func fixture(t *testing.T, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join("..", "fixtures", name+".input.yml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, src
}

// managedLine matches what a rewrite may remove or change: a service key
// (renamed or removed services), a command, and the pool variables.
var managedLine = regexp.MustCompile(`^\s*(` +
	`[A-Za-z0-9_.-]+:\s*$` + // a service key
	`|command:.*` +
	`|shm_size:.*` +
	`|image:.*` +
	`|ports:.*|-?\s*["']?[0-9.:\[\]-]+:\d+["']?\s*(#.*)?|-?\s*(target|published|host_ip|protocol):.*` +
	`|-?\s*["']?(DB_POOL|WEB_CONCURRENCY|MAX_THREADS|STREAMING_CLUSTER_NUM)\b.*` +
	`|test:.*\[s\]idekiq.*` + // the healthcheck's Sidekiq major, on an upgrade
	`|(container_name|hostname):.*` + // a copy's own names (the line diff may pair the original with a copy)
	`|(scale|replicas):.*` + // sidekiq replicas, replaced by the plan's services
	`)$`)

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.fixture+"."+gc.name(), func(t *testing.T) {
			path, src, in := gc.setup(t)
			res := gc.run(t)
			checkGolden(t, gc.fixture+"."+gc.name()+".golden.yml", res.Output)

			// Idempotence: rewriting the output changes nothing.
			again, err := gc.rewrite(t, path, res.Output, in)
			if err != nil {
				t.Fatalf("rewriting the output: %v", err)
			}
			if again.Changed() {
				t.Errorf("second rewrite is not a no-op:\n%s", udiff.Unified("first", "second", string(res.Output), string(again.Output)))
			}

			// Removed lines are only lines the plan had to change.
			edits := unidiff.Edits(string(src), string(res.Output))
			for _, e := range edits {
				removed := strings.Split(strings.TrimSuffix(string(src[e.Start:e.End]), "\n"), "\n")
				if e.Start == e.End {
					continue
				}
				for _, l := range removed {
					if !managedLine.MatchString(l) && !partOfRemovedService(res.Plan, l) {
						t.Errorf("the rewrite removed or changed a line it does not manage: %q", l)
					}
				}
			}
		})
	}
}

// partOfRemovedService allows any line when the plan removed a service
// (its whole block goes).
func partOfRemovedService(p *planner.Plan, _ string) bool {
	for _, c := range p.Changes {
		if c.Kind == planner.Remove {
			return true
		}
	}
	return false
}

// Resizing is path-independent: every fixture rewritten for one size,
// then for another, means what rewriting it for the second size directly
// means: the same services, commands, pools, names, container_names and
// hostnames. Hand splits too: a split merged on a small machine comes
// back when it grows (comeback.go).
func TestResizeEqualsDirect(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("..", "fixtures", "*.input.yml"))
	if err != nil || len(names) < 20 {
		t.Fatalf("fixtures: %v %v", names, err)
	}
	// go test -short: the fixtures whose resizes once differed, and a
	// stock file; CI runs every fixture.
	short := []string{"names-v4.3", "hometown-v4.2", "handsplit-v3.4"}
	for _, n := range names {
		fx := strings.TrimSuffix(filepath.Base(n), ".input.yml")
		if testing.Short() && !slices.Contains(short, fx) {
			continue
		}
		t.Run(fx, func(t *testing.T) {
			t.Parallel()
			path, src := fixture(t, fx)
			direct := map[string][]byte{}
			for _, d := range sizes {
				if res, err := Rewrite(path, src, input(t, d, "")); err == nil {
					direct[d] = res.Output
				}
			}
			for i, a := range sizes {
				for j, b := range sizes {
					if a == b || direct[a] == nil || direct[b] == nil || testing.Short() && (j-i > 1 || i-j > 1) {
						continue // go test -short: neighbouring sizes only
					}
					resized, err := Rewrite(path, direct[a], input(t, b, ""))
					if err != nil {
						t.Errorf("%s then %s: %v", a, b, err)
						continue
					}
					// shm_size is raised, never lowered: a smaller machine
					// keeps what a bigger one (or PgBouncer's larger
					// work_mem) set, and a raise keeps the value before it
					// (Kept) even when an earlier plan wrote that value.
					if diff := cmp.Diff(meaning(t, direct[b]), meaning(t, resized.Output), cmpopts.IgnoreFields(compose.Service{}, "ShmSize", "Has", "Kept")); diff != "" {
						t.Errorf("%s then %s differs from %s directly (-direct +resized):\n%s", a, b, b, diff)
					}
				}
			}
		})
	}
}

// services is a file's meaning as compose reads it, order aside.
func services(t *testing.T, src []byte) map[string]compose.Service {
	t.Helper()
	out := fixturetest.ByName(t, src)
	for name, s := range out {
		s.Line = 0
		out[name] = s
	}
	return out
}

// Nothing of .env.production, another env_file or .env ever reaches an
// output or a report: values are read to decide (the version behind
// ${TAG}, which host DB_HOST names), never to write or print. Every
// MARKER value in those files is a planted secret.
func TestNoSecretsInOutput(t *testing.T) {
	var markers []string
	for _, name := range []string{".env.production", ".env.managed", "envtag-v4.3.env"} {
		env, err := os.ReadFile(filepath.Join("..", "fixtures", name))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, l := range strings.Split(string(env), "\n") {
			if _, v, ok := strings.Cut(l, "="); ok && strings.Contains(v, "MARKER") {
				for _, m := range markerRE.FindAllString(v, -1) {
					markers = append(markers, m)
					found++
				}
			}
		}
		if found < 3 {
			t.Fatalf("the fixture %s has %d markers", name, found)
		}
	}
	for _, gc := range goldenCases {
		path := filepath.Join("..", "fixtures", gc.fixture+".input.yml")
		res := gc.run(t)
		var reports []string
		for _, format := range report.Formats {
			var b strings.Builder
			if err := report.Write(&b, format, res.Plan, report.Context{File: path, ReadWarnings: res.ReadWarnings, FileNotes: res.Notes, FileWarnings: res.Warnings}); err != nil {
				t.Fatal(err)
			}
			reports = append(reports, b.String())
		}
		for _, m := range markers {
			if strings.Contains(string(res.Output), m) {
				t.Errorf("%s: output holds the secret %s", gc.fixture, m)
			}
			for _, r := range reports {
				if strings.Contains(r, m) {
					t.Errorf("%s: the report holds the secret %s", gc.fixture, m)
				}
			}
			for _, c := range res.Plan.Changes {
				if strings.Contains(c.Value, m) || strings.Contains(strings.Join(c.Command, " "), m) {
					t.Errorf("%s: the plan holds the secret %s", gc.fixture, m)
				}
			}
		}
	}
}

// Resizing changes only the Postgres settings that depend on the size.
func TestResizeChangesOnlySizeDependentSettings(t *testing.T) {
	sizeIndependent := []string{"checkpoint_completion_target", "default_statistics_target", "random_page_cost",
		"effective_io_concurrency", "min_wal_size", "max_wal_size", "jit", "wal_compression"}
	path, src := fixture(t, "stock-v4.3")
	small, err := Rewrite(path, src, input(t, "s-4vcpu-8gb", ""))
	if err != nil {
		t.Fatal(err)
	}
	big, err := Rewrite(path, small.Output, input(t, "s-8vcpu-16gb", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range udiff.Lines(string(small.Output), string(big.Output)) {
		for _, l := range strings.Split(string(small.Output[e.Start:e.End]), "\n") {
			for _, name := range sizeIndependent {
				if strings.Contains(l, "-c "+name+"=") {
					t.Errorf("resizing changed %s: %q", name, l)
				}
			}
		}
	}
	before, after := settings(t, small), settings(t, big)
	changed := 0
	for name, v := range after {
		if before[name] != v {
			changed++
		}
	}
	if changed < 5 || before["shared_buffers"] != "1GB" || after["shared_buffers"] != "2GB" || after["huge_pages"] != "try" {
		t.Errorf("resizing 8 GB to 16 GB: %d settings changed; shared_buffers %s -> %s, huge_pages %s", changed, before["shared_buffers"], after["shared_buffers"], after["huge_pages"])
	}
}

func settings(t *testing.T, r *Result) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, s := range r.Plan.Postgres.Settings {
		m[s.Name] = s.Value
	}
	return m
}

// The seeds' small-server story: a hand split, rewritten at 16 GB, then
// 8 GB, then 4 GB, then 16 GB again, each step from the one before. Every
// step is golden and every step re-run is a no-op.
func TestResizeSequenceGolden(t *testing.T) {
	for _, fx := range []string{"seeds4-v4.3", "replicas-v4.3"} {
		path, src := fixture(t, fx)
		for i, droplet := range []string{"s-8vcpu-16gb", "s-4vcpu-8gb", "s-2vcpu-4gb", "s-8vcpu-16gb"} {
			in := input(t, droplet, "")
			res, err := Rewrite(path, src, in)
			if err != nil {
				t.Fatalf("%s step %d (%s): %v", fx, i+1, droplet, err)
			}
			checkGolden(t, fmt.Sprintf("%s.step%d-%s.golden.yml", fx, i+1, droplet), res.Output)
			again, err := Rewrite(path, res.Output, in)
			if err != nil || again.Changed() {
				t.Errorf("%s step %d: re-run changed the file (%v)", fx, i+1, err)
			}
			src = res.Output
		}
	}
}

// PgBouncer and the cache Redis are reversible: turning them off on a
// file that has compose-scale's gives, byte for byte, the rewrite of the
// original with them off (golden), and every step re-runs as a no-op. One
// line may differ: shm_size, which is raised and never lowered (with
// PgBouncer, max_connections is lower and work_mem larger), and is a
// ceiling, not memory in use.
func TestServicesOffRestores(t *testing.T) {
	path, src := fixture(t, "stock-v4.5")
	on := input(t, "g-16vcpu-64gb", "")
	withThem, err := Rewrite(path, src, on)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(withThem.Output), "\n  pgbouncer:\n") || !strings.Contains(string(withThem.Output), "\n  redis-cache:\n") {
		t.Fatal("auto at 64 GB / 16 CPUs wrote no PgBouncer or no cache Redis")
	}
	off := on
	off.PgBouncer, off.CacheRedis = planner.ToggleOff, planner.ToggleOff
	plain, err := Rewrite(path, src, off)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "stock-v4.5.off-g-16vcpu-64gb.golden.yml", plain.Output)
	turnedOff, err := Rewrite(path, withThem.Output, off)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shmLine.ReplaceAllString(string(plain.Output), "shm_size: N"), shmLine.ReplaceAllString(string(turnedOff.Output), "shm_size: N")); diff != "" {
		t.Errorf("turned off differs from the plain rewrite (-plain +turned off):\n%s", diff)
	}
	for _, r := range []struct {
		in  planner.Input
		src []byte
	}{{on, withThem.Output}, {off, turnedOff.Output}} {
		again, err := Rewrite(path, r.src, r.in)
		if err != nil || again.Changed() {
			t.Errorf("re-run changed the file (%v)", err)
		}
	}
}
