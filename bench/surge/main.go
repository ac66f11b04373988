// Command surge measures what a sidekiq layout buys in a federation surge,
// on real servers: Debian's redis-server and postgresql (started with the
// layout's db flags), and one Debian sidekiq (6.4) process per sidekiq
// service of the layout's compose file, started with exactly that
// service's arguments and DB_POOL, running a synthetic, Mastodon-like job
// mix (jobs.rb, load.rb). It compares upstream's stock file, the seeds'
// hand recipe and compose-scale's plans, all for one machine size, and
// writes results.json, results.md and default-latency.png.
//
//	go run ./bench/surge --quick          # about 2.5 minutes on 2 cores
//	go run ./bench/surge                  # the full run: about 17 minutes (README)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// job is one queue's share of the mix: what a job of that queue costs,
// and how many a second arrive in the steady stream (the surge queues get
// theirs all at once).
type job struct {
	DBms      int     `json:"db_ms"`
	IOms      int     `json:"io_ms"`
	CPUms     int     `json:"cpu_ms"`
	PerSecond float64 `json:"per_second"`
}

// mix: Mastodon-like, by what each queue's workers mostly do.
//   - default: notifications, timelines: short queries and a little CPU.
//   - push: HTTP deliveries to other servers: mostly waiting.
//   - mailers: an SMTP round trip.
//   - scheduler: the cron jobs: longer queries.
//   - ingress: processing incoming activities: queries and parsing.
//   - pull: fetching remote statuses and accounts: waiting and parsing.
var mix = map[string]job{
	"default":   {DBms: 5, IOms: 10, CPUms: 5, PerSecond: 20},
	"push":      {DBms: 2, IOms: 40, CPUms: 2, PerSecond: 20},
	"mailers":   {DBms: 2, IOms: 100, CPUms: 1, PerSecond: 1},
	"scheduler": {DBms: 20, CPUms: 5, PerSecond: 0.2},
	"ingress":   {DBms: 10, IOms: 5, CPUms: 10},
	"pull":      {DBms: 10, IOms: 60, CPUms: 10},
}

type options struct {
	Droplet  string  `json:"droplet"`
	Surge    int     `json:"surge_per_queue"` // pull and ingress jobs each, at once
	Steady   float64 `json:"steady_seconds"`  // the steady stream's length
	Timeout  float64 `json:"timeout_seconds"` // a layout's run at most
	Repeat   int     `json:"repeat"`
	Quick    bool    `json:"quick"`
	Out      string  `json:"-"`
	Root     string  `json:"-"`
	Only     string  `json:"-"`
	StartedT string  `json:"started"`
}

func main() {
	var o options
	flag.StringVar(&o.Droplet, "droplet", "s-4vcpu-8gb", "the machine size the layouts are planned for")
	flag.BoolVar(&o.Quick, "quick", false, "a short run (about 2.5 minutes on 2 cores) for CI")
	flag.IntVar(&o.Repeat, "repeat", 0, "runs per layout (default 3, 1 with --quick): the spread is reported")
	flag.StringVar(&o.Out, "out", "", "where to write results.json, results.md and default-latency.png (default bench/surge/out)")
	flag.StringVar(&o.Only, "only", "", "run only the layouts whose name contains this")
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	o.Root = root
	o.Surge, o.Steady, o.Timeout = 4000, 30, 90
	if o.Quick {
		o.Surge, o.Steady, o.Timeout = 1500, 12, 25
	}
	if o.Repeat == 0 {
		o.Repeat = 3
		if o.Quick {
			o.Repeat = 1
		}
	}
	if o.Out == "" {
		o.Out = filepath.Join(root, "bench", "surge", "out")
	}
	o.StartedT = time.Now().UTC().Format(time.RFC3339)
	res, err := run(o, os.Stderr)
	if err != nil {
		fail(err)
	}
	if err := write(o.Out, res); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", filepath.Join(o.Out, "results.json"))
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
	Machine  machineInfo          `json:"machine"`
	Options  options              `json:"options"`
	Mix      map[string]job       `json:"mix"`
	Layouts  []layoutResult       `json:"layouts"`
	Series   map[string][]point   `json:"default_latency_series"` // the first run of each layout
	Spread   map[string][]float64 `json:"default_p99_ms_runs"`    // every run's default p99
	Drains   map[string][]float64 `json:"drain_s_runs"`           // every run's drain time
	Cores    cores                `json:"cores"`
	Finished string               `json:"finished"`
}

type machineInfo struct {
	CPUs   int    `json:"cpus"`
	GOOS   string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
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
	return chart(r, filepath.Join(dir, "default-latency.png"))
}

func hostMachine() machineInfo {
	m := machineInfo{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = string(b[:len(b)-1])
	}
	return m
}
