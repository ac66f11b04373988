package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/internal/fixturetest"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/internal/unidiff"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/google/go-cmp/cmp"
)

const overridePath = "docker-compose.override.yml"

func rewriteOverride(t *testing.T, path string, base, over []byte, in planner.Input) *Result {
	t.Helper()
	f := Files{Base: compose.File{Path: path, Text: base}}
	if over != nil {
		f.Override = &compose.File{Path: overridePath, Text: over}
	}
	res, err := RewriteOverride(f, overridePath, in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// merged is what docker compose runs from a base file and an override:
// compose-go's own merge, merge tags included.
func merged(t *testing.T, path string, base, over []byte) []compose.Service {
	t.Helper()
	ss, err := compose.LoadMerged(nil, compose.File{Path: path, Text: base}, compose.File{Path: overridePath, Text: over})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// checkMergedIsThePlan loads base + override as docker compose does and
// checks that what runs is the plan: every sidekiq process with its
// queues and threads and DB_POOL, nothing else listening, the services the
// plan dropped switched off; every invariant under the plan's version's
// rules; and what compose-go does not check (names, host ports).
func checkMergedIsThePlan(t *testing.T, name, path string, base []byte, res *Result, m planner.Machine) {
	t.Helper()
	ms := merged(t, path, base, res.Output)
	var running []planner.Service
	byName := map[string]compose.Service{}
	for _, s := range ms {
		byName[s.Name] = s
		if s.Disabled {
			continue
		}
		ps := PlannerServices([]compose.Service{s}, nil, nil)[0]
		ps.Replicas = s.Replicas
		running = append(running, ps)
	}
	planned := map[string]bool{}
	for _, p := range res.Plan.Sidekiq {
		planned[p.Name] = true
		s, ok := byName[p.Name]
		if !ok || s.Disabled {
			t.Errorf("%s: planned %s does not run", name, p.Name)
			continue
		}
		c, err := planner.ParseSidekiqCommand(s.Command)
		if err != nil {
			t.Errorf("%s: %s: %v", name, p.Name, err)
			continue
		}
		if c.Concurrency != p.Concurrency || s.Env["DB_POOL"] != c.ConcurrencyString() || !cmp.Equal(c.Queues, p.Queues) {
			t.Errorf("%s: %s runs -c %d DB_POOL %q queues %v, planned -c %d %v", name, p.Name, c.Concurrency, s.Env["DB_POOL"], c.Queues, p.Concurrency, p.Queues)
		}
	}
	for _, s := range ms {
		if !s.Disabled && planner.IsSidekiq(s.Command) && !planned[s.Name] {
			t.Errorf("%s: %s runs sidekiq, but the plan has no such process", name, s.Name)
		}
	}
	if pg := res.Plan.Postgres; pg != nil && pg.Service != "" {
		// The database the plan sized (a file may run other Postgres
		// images: a maintenance container, a second database).
		var db []planner.Service
		for _, s := range running {
			if s.Name == pg.Service {
				db = append(db, s)
			}
		}
		maxConns := maxConnections(t, db)
		holdsUnder(func(f string, a ...any) { t.Errorf(name+": "+f, a...) }, res.Plan.Version, running, m, maxConns)
	}
	for _, p := range startProblemsOf(ms) {
		t.Errorf("%s: %s", name, p)
	}
}

// With --override at every size and strategy, on stock files of three
// releases, a :latest file and the seeds' hand split: the base file is
// never the one written, base + override is the plan, a re-run changes
// nothing, and a resize of the override equals writing it for the new
// size directly.
func TestOverrideAtEverySize(t *testing.T) {
	all := fixtureNames(t)
	strategies := []planner.Strategy{planner.Auto, planner.PerQueue}
	if testing.Short() {
		// go test -short: the stock files and the anchored one, auto
		// only; CI runs the whole grid.
		all, strategies = []string{"stock-v4.3", "anchors-v4.4", "seeds4-v4.3"}, strategies[:1]
	}
	for _, fx := range all {
		for _, st := range strategies {
			t.Run(fx+"/"+string(st), func(t *testing.T) {
				t.Parallel()
				path, src := fixture(t, fx)
				outputs := map[string][]byte{}
				for _, droplet := range sizes {
					in := input(t, droplet, st)
					f := Files{Base: compose.File{Path: path, Text: src}}
					res, err := RewriteOverride(f, overridePath, in)
					if err != nil {
						if _, perr := Rewrite(path, src, in); perr != nil {
							continue // no plan at this size, override or not (too small, a flag it needs)
						}
						if st == planner.Auto {
							t.Errorf("%s: %v", droplet, err)
						}
						continue
					}
					if res.Path != overridePath {
						t.Fatalf("wrote %s", res.Path)
					}
					outputs[droplet] = res.Output
					checkMergedIsThePlan(t, droplet, path, src, res, in.Machine)
					again := rewriteOverride(t, path, src, res.Output, in)
					if again.Changed() {
						t.Errorf("%s: the second run is not a no-op:\n%s", droplet, unidiff.Unified("first", "second", string(res.Output), string(again.Output)))
					}
				}
				// Each size to the next and back (every pair of sizes
				// costs too much test time for what it adds).
				for i, a := range sizes {
					for _, b := range sizes[i+1 : min(i+2, len(sizes))] {
						pairs := [][2]string{{a, b}, {b, a}}
						for _, pair := range pairs {
							from, to := outputs[pair[0]], outputs[pair[1]]
							if from == nil || to == nil {
								continue
							}
							resized := rewriteOverride(t, path, src, from, input(t, pair[1], st))
							if diff := cmp.Diff(mergedMeaning(t, path, src, to), mergedMeaning(t, path, src, resized.Output)); diff != "" {
								t.Errorf("%s then %s differs from %s directly (-direct +resized):\n%s", pair[0], pair[1], pair[1], diff)
							}
						}
					}
				}
			})
		}
	}
}

// mergedMeaning is the running services of base + override by name: their
// commands, environment, ports and replicas (shm_size is never lowered).
// It merges with compose's rules as compose.Merge has them: compose-go's
// own merge (checkMergedIsThePlan) is proof enough once per size, and too
// slow for every pair of sizes.
func mergedMeaning(t *testing.T, path string, base, over []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range compose.Merge(fixturetest.Services(t, base), fixturetest.Services(t, over)) {
		if s.Disabled {
			continue
		}
		var env []string
		for k, v := range s.Env {
			env = append(env, k+"="+v)
		}
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, p.String())
		}
		out[s.Name] = strings.Join(s.Command, " ") + " | " + strings.Join(sorted(env), " ") + " | " + strings.Join(ports, " ")
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Goldens: the override created beside a stock file, and an admin's own
// override edited in place (its comment, its service and its other keys
// kept; its DB_POOL and its port brought into the plan).
func TestOverrideGolden(t *testing.T) {
	for _, tc := range []struct{ fixture, existing, golden string }{
		{"stock-v4.3", "", "stock-v4.3.override-s-4vcpu-8gb.golden.yml"},
		{"stock-v4.3", "override-v4.3.override.yml", "override-v4.3.kept-s-4vcpu-8gb.golden.yml"},
	} {
		path, src := fixture(t, tc.fixture)
		var existing []byte
		if tc.existing != "" {
			existing = readFixtureT(t, tc.existing)
		}
		in := input(t, "s-4vcpu-8gb", "")
		res := rewriteOverride(t, path, src, existing, in)
		checkGolden(t, tc.golden, res.Output)
		checkMergedIsThePlan(t, tc.golden, path, src, res, in.Machine)
		if again := rewriteOverride(t, path, src, res.Output, in); again.Changed() {
			t.Errorf("%s: a re-run is not a no-op", tc.golden)
		}
		if tc.existing != "" {
			for _, keep := range []string{"# Local additions, kept out of the main file.", "127.0.0.1:3001:3001"} {
				if !strings.Contains(string(res.Output), keep) {
					t.Errorf("the admin's override lost %q:\n%s", keep, res.Output)
				}
			}
		}
	}
}

// An upstream upgrade (git pull: the base file's tags go from v4.3.0 to
// v4.5.0, its healthcheck to Sidekiq 7/8): re-planned, the override
// follows with a small diff: the copies' image tags and healthcheck, fasp
// on the mailers process, and nothing else.
func TestOverrideFollowsAnUpgrade(t *testing.T) {
	path, v43 := fixture(t, "stock-v4.3")
	_, v45 := fixture(t, "stock-v4.5")
	in := input(t, "s-4vcpu-8gb", "")
	before := rewriteOverride(t, path, v43, nil, in)
	after := rewriteOverride(t, path, v45, before.Output, in)
	checkMergedIsThePlan(t, "upgraded", path, v45, after, in.Machine)
	changed := 0
	for _, e := range unidiff.Edits(string(before.Output), string(after.Output)) {
		for _, l := range strings.Split(strings.TrimSuffix(string(before.Output[e.Start:e.End])+e.New, "\n"), "\n") {
			if l == "" {
				continue
			}
			changed++
			if !strings.Contains(l, "v4.5.0") && !strings.Contains(l, "v4.3.0") && !strings.Contains(l, "idekiq") && !strings.Contains(l, "fasp") {
				t.Errorf("the upgrade changed a line it had no reason to: %q", l)
			}
		}
	}
	if strings.Contains(string(after.Output), "v4.3.0") {
		t.Errorf("after the upgrade the override still runs v4.3.0:\n%s", after.Output)
	}
	if changed == 0 || changed > 40 {
		t.Errorf("the upgrade changed %d lines of the override:\n%s", changed, unidiff.Unified("v4.3", "v4.5", string(before.Output), string(after.Output)))
	}
	if again := rewriteOverride(t, path, v45, after.Output, in); again.Changed() {
		t.Error("a re-run after the upgrade is not a no-op")
	}
}

func readFixtureT(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The held-out shapes: a base file with anchors (the copies written into
// the override must not refer to them: anchors do not cross files), at
// every size, and the second run a no-op.
func TestOverrideOfAnchoredBase(t *testing.T) {
	path, src := fixture(t, "anchors-v4.4")
	for _, droplet := range sizes {
		in := input(t, droplet, planner.Auto)
		res, err := RewriteOverride(Files{Base: compose.File{Path: path, Text: src}}, overridePath, in)
		if err != nil {
			t.Errorf("%s: %v", droplet, err)
			continue
		}
		if strings.Contains(string(res.Output), "*mastodon") || strings.Contains(string(res.Output), "*depends") {
			t.Errorf("%s: the override refers to the base file's anchors", droplet)
		}
		checkMergedIsThePlan(t, droplet, path, src, res, in.Machine)
		if again := rewriteOverride(t, path, src, res.Output, in); again.Changed() {
			t.Errorf("%s: the second run is not a no-op:\n%s", droplet, unidiff.Unified("first", "second", string(res.Output), string(again.Output)))
		}
	}
}

// fixtureNames are every fixture's name (fixtures/NAME.input.yml).
func fixtureNames(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "fixtures", "*.input.yml"))
	if err != nil || len(paths) < 20 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	var out []string
	for _, p := range paths {
		out = append(out, strings.TrimSuffix(filepath.Base(p), ".input.yml"))
	}
	return out
}

// A copy written into the override extends the base service instead of
// repeating it: a literal value in the base sidekiq's environment (a
// secret) is not written a second time, and base + override still give
// the copies that value.
func TestOverrideCopiesExtend(t *testing.T) {
	_, src := fixture(t, "stock-v4.3")
	src = []byte(strings.Replace(string(src), "    command: bundle exec sidekiq\n", "    command: bundle exec sidekiq\n    environment:\n      - OTP_SECRET=MARKER-otp\n", 1))
	if !strings.Contains(string(src), "MARKER-otp") {
		t.Fatal("the fixture's sidekiq command is not where the test expects it")
	}
	// extends reads the base file from disk, as docker compose does.
	dir := t.TempDir()
	path, over := filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, "docker-compose.override.yml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := RewriteOverride(Files{Base: compose.File{Path: path, Text: src}}, over, input(t, "s-4vcpu-8gb", ""))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.Output), "MARKER-otp") || !strings.Contains(string(res.Output), "    extends:\n      file: docker-compose.yml\n      service: sidekiq\n") {
		t.Errorf("the override repeats the base service instead of extending it:\n%s", res.Output)
	}
	ss, err := compose.LoadMerged(nil, compose.File{Path: path, Text: src}, compose.File{Path: over, Text: res.Output})
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for _, s := range ss {
		if planner.IsSidekiq(s.Command) {
			copies++
			if s.Env["OTP_SECRET"] != "MARKER-otp" || s.Env["DB_POOL"] == "" || s.Image == "" {
				t.Errorf("%s is not the base service with its own pool: image %q, %v", s.Name, s.Image, s.Env)
			}
		}
	}
	if copies < 5 {
		t.Errorf("%d sidekiq services in base + override", copies)
	}
}
