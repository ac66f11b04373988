// Command surge measures what a sidekiq layout buys in a federation surge,
// on real servers: Debian's redis-server and postgresql (started with the
// layout's db flags), and one Debian sidekiq (6.4) process per sidekiq
// service of the layout's compose file, started with exactly that
// service's arguments and DB_POOL, running a synthetic, Mastodon-like job
// mix (jobs.rb, load.rb). It compares upstream's stock file, the seeds'
// hand recipe and compose-scale's plans, all for one machine size, and
// writes results.json, results.md and one default-latency-SHAPE.png per
// shape.
//
//	go run ./bench/surge --quick          # about 3 minutes on 2 cores
//	go run ./bench/surge                  # the full run (README)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type options struct {
	Droplets []string `json:"droplets"` // the machines the layouts are planned for
	Shapes   string   `json:"-"`
	Size     size     `json:"size"`
	Steady   float64  `json:"steady_seconds"`  // the steady stream's length
	Timeout  float64  `json:"timeout_seconds"` // a layout's run at most
	Repeat   int      `json:"repeat"`
	Seed     int64    `json:"seed"` // the load's: the same jobs for every layout
	Quick    bool     `json:"quick"`
	Out      string   `json:"-"`
	Root     string   `json:"-"`
	Only     string   `json:"-"`
	Roles    []string `json:"roles,omitempty"` // only these layouts (quick)
	StartedT string   `json:"started"`
}

// defaultDroplets are the machines the bench plans for: the 2 CPUs it
// runs on, with the memory of the two 2-CPU sizes, so a plan runs on the
// cores it was made for (s-2vcpu-4gb affords fewer processes than
// g-2vcpu-8gb, and the planner picks a different strategy for each).
const defaultDroplets = "s-2vcpu-4gb,g-2vcpu-8gb"

func main() {
	var o options
	var droplets string
	flag.StringVar(&droplets, "droplets", defaultDroplets, "the machine sizes the layouts are planned for, comma-separated; a plan for more CPUs than this machine has is labelled oversubscribed")
	flag.StringVar(&o.Shapes, "shapes", "", "the shapes to run, comma-separated: flood, popular, backlog (default all)")
	flag.BoolVar(&o.Quick, "quick", false, "a short run (about 3 minutes on 2 cores) for CI")
	flag.IntVar(&o.Repeat, "repeat", 0, "runs per layout and shape (default 5, 1 with --quick): the spread is reported")
	flag.StringVar(&o.Only, "only", "", "run only the layouts whose name contains this, or of this role (stock, hand, auto, before, permuted, per-queue, weighted); several separated by \";\"; the checks are then not applied")
	flag.Int64Var(&o.Seed, "seed", 1, "the load's seed")
	flag.StringVar(&o.Out, "out", "", "where to write results.json, results.md and default-latency.png (default bench/surge/out)")
	redraw := flag.String("redraw", "", "run nothing: read this results.json and write its results.md and charts again beside it (after a change to the report)")
	flag.Parse()
	if *redraw != "" {
		if err := redrawFrom(*redraw); err != nil {
			fail(err)
		}
		return
	}
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	o.Root = root
	if o.Out == "" {
		o.Out = filepath.Join(root, "bench", "surge", "out")
	}
	full := options{Droplets: strings.Split(droplets, ","), Size: fullSize, Steady: 12, Timeout: 30, Repeat: 5, Seed: o.Seed, Shapes: o.Shapes, Only: o.Only, Root: root, Out: o.Out}
	c := fullClaims
	if o.Quick {
		full, c = quickOptions(root, o.Out), quickClaims
		full.Seed, full.Shapes, full.Only = o.Seed, o.Shapes, o.Only
	}
	if o.Repeat > 0 {
		full.Repeat = o.Repeat
	}
	o = full
	o.StartedT = time.Now().UTC().Format(time.RFC3339)
	res, err := run(o, os.Stderr)
	if err != nil {
		fail(err)
	}
	if err := write(o.Out, res); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", filepath.Join(o.Out, "results.json"))
	// The run checks its own claims: a broken claim, CPU accounting that
	// is off, a starved queue or too many connections fails it.
	b, err := os.ReadFile(filepath.Join(o.Out, "results.json"))
	if err != nil {
		fail(err)
	}
	if p := checkResults(b, c); len(p) > 0 && o.Only == "" && o.Shapes == "" {
		fail(fmt.Errorf("the results fail their checks:\n%s", describe(p)))
	}
}

// quickOptions are CI's run: smaller shapes, one run each, and only the
// layouts its claims are about (stock, the hand recipe, auto).
func quickOptions(root, out string) options {
	return options{Droplets: strings.Split(defaultDroplets, ","), Size: quickSize, Steady: 8, Timeout: 20, Repeat: 1, Seed: 1, Quick: true, Roles: []string{"stock", "hand", "auto"}, Root: root, Out: out}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "surge:", err)
	os.Exit(1)
}

// repoRoot is the module's root: where go.mod is, from here up.
func repoRoot() (string, error) {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run from the repository", dir)
		}
	}
}

// results is results.json.
type results struct {
	Machine    machineInfo        `json:"machine"`
	Options    options            `json:"options"`
	Kinds      map[string]kind    `json:"kinds"`
	Steady     map[string]float64 `json:"steady_per_second"`
	Shapes     []shapeResult      `json:"shapes"`
	NotPlanned []string           `json:"not_planned,omitempty"` // strategies a droplet cannot hold
	Cores      map[string]cores   `json:"cores"`                 // by droplet
	Finished   string             `json:"finished"`
}

type machineInfo struct {
	CPUs   int    `json:"cpus"`
	GOOS   string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
}

// redrawFrom writes results.md and the charts again from a results.json,
// which it leaves as it is.
func redrawFrom(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(markdown(&r)), 0o644); err != nil {
		return err
	}
	for _, sh := range r.Shapes {
		if err := chart(&r, sh, filepath.Join(dir, "default-latency-"+sh.Name+".png")); err != nil {
			return err
		}
	}
	return nil
}

func write(dir string, r *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(markdown(r)), 0o644); err != nil {
		return err
	}
	for _, sh := range r.Shapes {
		if err := chart(r, sh, filepath.Join(dir, "default-latency-"+sh.Name+".png")); err != nil {
			return err
		}
	}
	return nil
}

func hostMachine() machineInfo {
	m := machineInfo{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = string(b[:len(b)-1])
	}
	return m
}
