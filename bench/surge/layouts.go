package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/machine"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/rewrite"
)

// process is one Sidekiq process of a layout: its service, the arguments
// after `sidekiq` exactly as the compose file gives them, and DB_POOL.
type process struct {
	Service string   `json:"service"`
	Args    []string `json:"args"`
	Pool    int      `json:"db_pool"`
}

// layout is a compose file's Sidekiq processes and Postgres flags.
type layout struct {
	Name    string
	Role    string   // stock, hand, auto, permuted, per-queue, weighted
	Droplet string   // the machine it was planned for; "" for stock and hand
	SameAs  []string // the strategies whose file was this one
	// Fits are the droplets whose budget holds the layout: its own
	// droplet for a plan; for stock and the hand recipe, those where
	// compose-scale's plan of the file keeps as many Sidekiq processes
	// (on s-2vcpu-4gb it merges the hand recipe's six into three: their
	// memory does not fit beside Postgres's half). A layout is compared
	// with a droplet's plans only where it fits.
	Fits      []string
	Processes []process
	DBArgs    []string // after "postgres"
}

// stockConfig is what stock `bundle exec sidekiq` runs: Mastodon's
// config/sidekiq.yml (v4.3: concurrency 5, these weights), spelt as flags.
var stockConfig = []string{"-c", "5", "-q", "default,8", "-q", "push,6", "-q", "ingress,4", "-q", "mailers,2", "-q", "pull", "-q", "scheduler"}

// layouts are the files compared: upstream's stock file; the seeds' hand
// recipe; compose-scale's plan for each strategy on each droplet. A
// strategy whose file is the same as one already listed (auto is always
// one of the others) is run once, its name in SameAs; a strategy the
// machine cannot hold is in skipped, with the planner's reason.
func layouts(root string, droplets []string) (ls []layout, skipped []string, err error) {
	stockPath := filepath.Join(root, "fixtures", "stock-v4.3.input.yml")
	stock, err := os.ReadFile(stockPath)
	if err != nil {
		return nil, nil, err
	}
	handPath := filepath.Join(root, "bench", "surge", "hand-recipe.yml")
	hand, err := os.ReadFile(handPath)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range []struct {
		name, role, path string
		text             []byte
	}{{"stock", "stock", stockPath, stock}, {"hand recipe", "hand", handPath, hand}} {
		l, err := layoutOf(f.name, f.path, f.text)
		if err != nil {
			return nil, nil, err
		}
		l.Role = f.role
		if l.Fits, err = fitsOn(l, f.path, f.text, droplets); err != nil {
			return nil, nil, err
		}
		ls = append(ls, l)
	}
	var variants []layout
	for _, d := range droplets {
		cpus, mem, err := machine.ParseDroplet(d)
		if err != nil {
			return nil, nil, err
		}
		for _, st := range []planner.Strategy{planner.Auto, planner.Permuted, planner.PerQueue, planner.Weighted} {
			res, err := rewrite.Rewrite(stockPath, stock, planner.Input{Machine: planner.Machine{MemoryBytes: mem, CPUs: cpus}, Strategy: st, PgBouncer: planner.ToggleOff, CacheRedis: planner.ToggleOff})
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("compose-scale %s for %s: %v", st, d, err))
				continue
			}
			name := fmt.Sprintf("%s, %s", st, d)
			if st == planner.Auto {
				name = fmt.Sprintf("auto (%s), %s", res.Plan.Strategy, d)
			}
			l, err := layoutOf(name, stockPath, res.Output)
			if err != nil {
				return nil, nil, err
			}
			l.Role, l.Droplet, l.Fits = string(st), d, []string{d}
			if i := sameLayout(ls, l); i >= 0 {
				ls[i].SameAs = append(ls[i].SameAs, string(st))
				continue
			}
			ls = append(ls, l)
		}
		// One worker a core, as the planner had it until the second
		// worker a core was measured: the before of that change, and the
		// base of the before of default leading every worker.
		res, err := rewrite.Rewrite(stockPath, stock, planner.Input{Machine: planner.Machine{MemoryBytes: mem, CPUs: cpus}, WorkersPerCore: 1, PgBouncer: planner.ToggleOff, CacheRedis: planner.ToggleOff})
		if err != nil {
			return nil, nil, err
		}
		l, err := layoutOf(fmt.Sprintf("auto, one worker a core, %s", d), stockPath, res.Output)
		if err != nil {
			return nil, nil, err
		}
		l.Role, l.Droplet, l.Fits = "one-a-core", d, []string{d}
		if res.Plan.Strategy == planner.Permuted && len(l.Processes) >= 4 {
			variants = append(variants, defaultAlone(l))
		}
		if i := sameLayout(ls, l); i >= 0 {
			ls[i].SameAs = append(ls[i].SameAs, l.Role)
			continue
		}
		variants = append(variants, l)
	}
	return append(ls, variants...), skipped, nil
}

// fitsOn is the droplets where compose-scale's plan of a file keeps at
// least the file's Sidekiq processes: where the budget (memory, CPUs,
// connections) holds what the file runs. The planner decides it; the
// bench only counts.
func fitsOn(l layout, path string, text []byte, droplets []string) ([]string, error) {
	var fits []string
	for _, d := range droplets {
		cpus, mem, err := machine.ParseDroplet(d)
		if err != nil {
			return nil, err
		}
		res, err := rewrite.Rewrite(path, text, planner.Input{Machine: planner.Machine{MemoryBytes: mem, CPUs: cpus}, PgBouncer: planner.ToggleOff, CacheRedis: planner.ToggleOff})
		if err != nil {
			return nil, fmt.Errorf("%s: planning it for %s: %v", path, d, err)
		}
		planned, err := layoutOf(l.Name, path, res.Output)
		if err != nil {
			return nil, err
		}
		if len(planned.Processes) >= len(l.Processes) {
			fits = append(fits, d)
		}
	}
	return fits, nil
}

// sameLayout is the index of a layout of ls planned for the same machine
// that runs the same processes with the same Postgres flags, or -1.
func sameLayout(ls []layout, l layout) int {
	for i, o := range ls {
		if o.Droplet == l.Droplet && reflect.DeepEqual(o.Processes, l.Processes) && reflect.DeepEqual(o.DBArgs, l.DBArgs) {
			return i
		}
	}
	return -1
}

// layoutOf reads a compose file's sidekiq services and db command.
func layoutOf(name, path string, text []byte) (layout, error) {
	l := layout{Name: name}
	doc, err := compose.Parse(path, text)
	if err != nil {
		return l, err
	}
	services, err := doc.Services()
	if err != nil {
		return l, err
	}
	for _, s := range services {
		if planner.IsSidekiq(s.Command) {
			args := s.Command
			for len(args) > 0 && args[0] != "sidekiq" {
				args = args[1:] // bundle exec
			}
			args = args[1:]
			c, err := planner.ParseSidekiqCommand(s.Command)
			if err != nil {
				return l, err
			}
			if len(c.Queues) == 0 {
				args = append(stockConfig, args...)
				c.Concurrency = 5
			}
			conc := c.Concurrency
			if conc == 0 {
				conc = 5
			}
			pool, err := strconv.Atoi(s.Env["DB_POOL"])
			if err != nil {
				pool = conc // from Mastodon 4.3 the pool defaults to the concurrency
			}
			l.Processes = append(l.Processes, process{Service: s.Name, Args: args, Pool: pool})
		}
		if planner.RoleOf(planner.Service{Name: s.Name, Image: s.Image, Command: s.Command}) == planner.RoleDB && len(s.Command) > 1 {
			l.DBArgs = s.Command[1:]
		}
	}
	return l, nil
}

// defaultAlone is the before of issue 20's planner change, as
// compose-scale planned it until then: a worker on default alone, which
// was not counted against the one-worker-a-core cap, beside auto's
// workers led by ingress and pull in turn with default second. Its
// threads and pool are the first worker's; the Postgres flags are the new
// plan's (25 connections fewer in max_connections: the bench runs no web
// or streaming, so its connections stay far below either).
func defaultAlone(l layout) layout {
	v := layout{Name: "auto before issue 20 (default alone), " + l.Droplet, Role: "before", Droplet: l.Droplet, Fits: l.Fits, DBArgs: l.DBArgs}
	orders := [][]string{{"ingress", "default", "push", "pull"}, {"pull", "default", "push", "ingress"}, {"push", "default", "ingress", "pull"}}
	i := 0
	for _, p := range l.Processes {
		c, err := planner.ParseSidekiqCommand(append([]string{"sidekiq"}, p.Args...))
		if err != nil || len(c.Queues) < 2 || !listens(c.Queues, "default") {
			v.Processes = append(v.Processes, p)
			continue
		}
		conc := strconv.Itoa(c.Concurrency)
		if i == 0 {
			v.Processes = append(v.Processes, process{Service: "sidekiq-default", Args: []string{"-c", conc, "-q", "default"}, Pool: p.Pool})
		}
		args := []string{"-c", conc}
		for _, q := range orders[i%len(orders)] {
			args = append(args, "-q", q)
		}
		i++
		v.Processes = append(v.Processes, process{Service: "sidekiq-" + strings.Join(orders[(i-1)%len(orders)], "-"), Args: args, Pool: p.Pool})
	}
	return v
}

func listens(qs []planner.Queue, name string) bool {
	for _, q := range qs {
		if q.Name == name {
			return true
		}
	}
	return false
}
