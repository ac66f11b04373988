package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQuickSurge runs the quick benchmark (about 3 minutes on 2 cores:
// every shape, the stock file, the hand recipe and auto for each droplet)
// and holds it to quickClaims. It runs when COMPOSE_SCALE_BENCH is set
// (.ci/run sets it), as it is too slow for every `go test ./...`; in CI a
// missing server fails it.
func TestQuickSurge(t *testing.T) {
	if os.Getenv("COMPOSE_SCALE_BENCH") == "" {
		t.Skip("set COMPOSE_SCALE_BENCH=1 to run the quick surge benchmark (about 3 minutes)")
	}
	for _, cmd := range []string{"redis-server", "redis-cli", "sidekiq", "ruby"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Fatalf("%s is missing: bench/surge/run installs it from Debian's packages", cmd)
		}
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := quickOptions(root, out)
	o.StartedT = "2026-12-01T00:00:00Z"
	res, err := run(o, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(out, res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.md", "default-latency-flood.png", "default-latency-popular.png", "default-latency-backlog.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s was not written: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkResults(b, quickClaims) {
		t.Error(p)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// The checks on the full run the README shows, and on that run altered
// the ways a worse plan or a broken bench would alter it: each must be
// caught. Runs with every `go test`, without servers.
func TestCheckResults(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(root, "docs", "surge", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p := checkResults(full, fullClaims); len(p) > 0 {
		t.Errorf("the README's full run fails the checks:\n%s", describe(p))
	}
	// layoutAt is a shape's layout of a role (and droplet, when given),
	// in a fresh copy.
	layoutAt := func(r map[string]any, shape, role, droplet string) map[string]any {
		for _, sh := range r["shapes"].([]any) {
			if sh.(map[string]any)["name"] != shape {
				continue
			}
			for _, l := range sh.(map[string]any)["layouts"].([]any) {
				if m := l.(map[string]any); m["role"] == role && (droplet == "" || m["droplet"] == droplet) {
					return m
				}
			}
		}
		t.Fatalf("no %s layout %s in %s", role, droplet, shape)
		return nil
	}
	queue := func(a map[string]any, q string) map[string]any {
		return a["queues"].(map[string]any)[q].(map[string]any)
	}
	for _, c := range []struct {
		name, shape, droplet, want string
		alter                      func(auto map[string]any)
	}{
		{"cpu on the wall clock", "flood", "", "the CPU accounting is off", func(a map[string]any) {
			a["cpu"] = map[string]any{"nominal_s": 42.0, "spent_s": 14.0, "process_s": 20.0, "valid": false}
		}},
		{"default slow", "popular", "", "default p99", func(a map[string]any) {
			queue(a, "default")["p99_ms"] = 15000.0
			queue(a, "default")["max_ms"] = 16000.0
		}},
		{"drains slower", "backlog", "", "not within", func(a map[string]any) { a["drain_s"] = 200.0 }},
		// Slower to drain by a third and default a third slower: within
		// both bounds, but the hand recipe is then better on both.
		{"dominated", "backlog", "g-2vcpu-8gb", "is better on both counts than", func(a map[string]any) {
			a["drain_s"] = a["drain_s"].(float64) * 1.3
			queue(a, "default")["p99_ms"] = 1500.0
			queue(a, "default")["max_ms"] = 16000.0
		}},
		{"postgres not accounted", "popular", "", "not accounted for", func(a map[string]any) { a["cpu"].(map[string]any)["postgres_s"] = 0.0 }},
		{"busier than the cores", "backlog", "", "the CPU readings disagree", func(a map[string]any) {
			a["cpu"].(map[string]any)["machine_busy_s"] = a["cpu"].(map[string]any)["machine_s"].(float64) * 1.2
		}},
		{"does not drain", "flood", "", "did not drain", func(a map[string]any) { a["drained"] = false }},
		{"a queue starves", "flood", "", "queue mailers ran 3 of", func(a map[string]any) { queue(a, "mailers")["jobs"] = 3.0 }},
		{"too many connections", "backlog", "", "above max_connections", func(a map[string]any) { a["peak_db_connections"] = 1000.0 }},
		{"a field renamed", "popular", "", `has no "drain_s"`, func(a map[string]any) { a["drain"] = a["drain_s"]; delete(a, "drain_s") }},
	} {
		var r map[string]any
		if err := json.Unmarshal(full, &r); err != nil {
			t.Fatal(err)
		}
		c.alter(layoutAt(r, c.shape, "auto", c.droplet))
		b, _ := json.Marshal(r)
		if p := describe(checkResults(b, fullClaims)); !strings.Contains(p, c.want) || !strings.Contains(p, c.shape+", ") {
			t.Errorf("%s: the checks did not say %q of %s; they said %q", c.name, c.want, c.shape, p)
		}
	}
	// Only the layouts a droplet holds are compared with its plan: the
	// hand recipe, which does not fit s-2vcpu-4gb, may drain there as
	// fast as it likes; where it is said to fit, it breaks the ceiling.
	for _, fits := range [][]any{{"g-2vcpu-8gb"}, {"g-2vcpu-8gb", "s-2vcpu-4gb"}} {
		var r map[string]any
		json.Unmarshal(full, &r)
		hand := layoutAt(r, "popular", "hand", "")
		hand["drain_s"], hand["fits"] = 1.0, fits
		b, _ := json.Marshal(r)
		p := describe(checkResults(b, fullClaims))
		broke := strings.Contains(p, "s-2vcpu-4gb drained in") && strings.Contains(p, "hand recipe's 1.0 s")
		if broke != (len(fits) == 2) {
			t.Errorf("the hand recipe fitting %q, draining in 1 s: the checks said %q", fits, p)
		}
	}
	// A shape missing is a problem too.
	var r map[string]any
	json.Unmarshal(full, &r)
	r["shapes"] = r["shapes"].([]any)[:2]
	b, _ := json.Marshal(r)
	if p := describe(checkResults(b, fullClaims)); !strings.Contains(p, `no shape "backlog"`) {
		t.Errorf("a missing shape: %q", p)
	}
}

func TestAccount(t *testing.T) {
	if a := account(42e6, 14e6, 20); a.Valid {
		t.Errorf("a third of the nominal CPU passed: %+v", a)
	}
	if a := account(42e6, 42.5e6, 50); !a.Valid || a.SpentS != 42.5 || a.ProcessS != 50 {
		t.Errorf("within 5%%: %+v", a)
	}
	if a := account(0, 0, 0); a.Valid {
		t.Error("no CPU at all passed")
	}
}

// Where the processes run, as the results say it.
func TestCoresFor(t *testing.T) {
	c := coresFor(2, 8, true)
	if !c.Pinned || c.Sidekiq != "0-1" || !strings.Contains(c.Note, "other 6") {
		t.Errorf("8 cores for a plan of 2: %+v", c)
	}
	if cmd := c.sidekiqCommand([]string{"-r", "jobs.rb"}); !strings.HasSuffix(cmd.Path, "taskset") || strings.Join(cmd.Args[1:], " ") != "-c 0-1 sidekiq -r jobs.rb" {
		t.Errorf("pinned command %q %q", cmd.Path, cmd.Args)
	}
	if c := coresFor(4, 2, true); c.Pinned || !strings.Contains(c.Note, "oversubscribed") {
		t.Errorf("2 cores for a plan of 4: %+v", c)
	}
	if c := coresFor(2, 2, true); c.Pinned || !strings.Contains(c.Note, "share the plan's 2 cores") {
		t.Errorf("2 for 2: %+v", c)
	}
	if c := coresFor(2, 8, false); c.Pinned {
		t.Errorf("pinned without taskset: %+v", c)
	}
	if cmd := coresFor(4, 2, true).sidekiqCommand([]string{"-q", "default"}); strings.Join(cmd.Args, " ") != "sidekiq -q default" {
		t.Errorf("unpinned command %q", cmd.Args)
	}
}

func TestSpread(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want string
	}{
		{[]float64{180, 95, 120}, "120 (95 to 180)"},
		{[]float64{10, 20, 30, 40}, "25 (10 to 40)"},
		{nil, "-"},
	} {
		if got := spread(c.v, "%.0f"); got != c.want {
			t.Errorf("spread(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	r := &results{Options: options{Repeat: 5, StartedT: "2026-12-02T00:00:00Z", Droplets: []string{"s-2vcpu-4gb"}}, Shapes: []shapeResult{{
		Name: "flood", Layouts: []layoutResult{{Name: "stock", Queues: map[string]queueResult{}}},
		Spread: map[string][]float64{"stock": {1, 2, 3, 4, 5}}, Drains: map[string][]float64{"stock": {10, 11, 12, 13, 14}}}}}
	if md := markdown(r); !strings.Contains(md, "| stock | 5 | 3 (1 to 5) | 12.0 (10.0 to 14.0) |") {
		t.Errorf("the spread table:\n%s", md)
	}
}

// treeCPU counts what a process's descendants spend, live or exited, as
// Postgres's backends are its postmaster's children; processCPU counts
// only the process itself; the machine is at least as busy as both.
func TestTreeCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// A shell whose child burns a core for 1.5 s and exits (reaped), and
	// whose other child keeps burning until the shell is killed.
	cmd := exec.Command("sh", "-c", `timeout 1.5 sh -c 'while :; do :; done'; (while :; do :; done) & sleep 30`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	busy0 := machineBusy()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	time.Sleep(2500 * time.Millisecond)
	self, tree, busy := processCPU([]int{cmd.Process.Pid}), treeCPU(cmd.Process.Pid), machineBusy()-busy0
	// About 1.5 s reaped and 1 s live; a loaded machine gives less.
	if self > 0.2 || tree < 1.2 || tree > 2.7 || busy < tree*0.95 {
		t.Errorf("the shell itself %.2f s, its tree %.2f s, the machine %.2f s; want about 0, 2.5 and at least the tree", self, tree, busy)
	}
}
