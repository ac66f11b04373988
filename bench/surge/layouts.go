package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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
	Name      string    `json:"name"`
	Processes []process `json:"-"`
	DBArgs    []string  `json:"-"` // after "postgres"
}

// stockConfig is what stock `bundle exec sidekiq` runs: Mastodon's
// config/sidekiq.yml (v4.3: concurrency 5, these weights), spelt as flags.
var stockConfig = []string{"-c", "5", "-q", "default,8", "-q", "push,6", "-q", "ingress,4", "-q", "mailers,2", "-q", "pull", "-q", "scheduler"}

// layouts are the files compared, all for the same machine (droplet):
// upstream's stock file; the seeds' hand recipe; compose-scale's plan for
// each strategy and auto.
func layouts(root, droplet string) ([]layout, error) {
	cpus, mem, err := machine.ParseDroplet(droplet)
	if err != nil {
		return nil, err
	}
	stockPath := filepath.Join(root, "fixtures", "stock-v4.3.input.yml")
	stock, err := os.ReadFile(stockPath)
	if err != nil {
		return nil, err
	}
	var out []layout
	l, err := layoutOf("stock", stockPath, stock)
	if err != nil {
		return nil, err
	}
	out = append(out, l)
	handPath := filepath.Join(root, "bench", "surge", "hand-recipe.yml")
	hand, err := os.ReadFile(handPath)
	if err != nil {
		return nil, err
	}
	if l, err = layoutOf("hand recipe", handPath, hand); err != nil {
		return nil, err
	}
	out = append(out, l)
	for _, st := range []planner.Strategy{planner.Auto, planner.Permuted, planner.PerQueue, planner.Weighted} {
		res, err := rewrite.Rewrite(stockPath, stock, planner.Input{Machine: planner.Machine{MemoryBytes: mem, CPUs: cpus}, Strategy: st, PgBouncer: planner.ToggleOff, CacheRedis: planner.ToggleOff})
		if err != nil {
			return nil, fmt.Errorf("compose-scale %s: %v", st, err)
		}
		name := "compose-scale " + string(st)
		if st == planner.Auto {
			name = "compose-scale auto (" + string(res.Plan.Strategy) + ")"
		}
		if l, err = layoutOf(name, stockPath, res.Output); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
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
