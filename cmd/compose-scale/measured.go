package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/observe"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/report"
)

// headroom is what a measured figure is planned with above its 90th
// percentile: a fifth, for the growth between a reading taken days after
// a restart and the next surge. The same rule for every process: Ruby's
// heap fragments under Puma as it does under Sidekiq, and a p90 over a
// sample already leaves out the one reading taken mid-GC.
func headroom(p90 int64) int64 { return p90 + p90/5 }

// perProcess is each container reading of a service divided by the
// processes one container runs (the plan's estimates are per process).
func perProcess(o observe.Observation, s planner.Service, p *planner.Plan) []int64 {
	n := int64(planner.ProcessesPerContainer(p.Version, s, p.Machine))
	var out []int64
	for _, b := range o.Memory[s.Name] {
		out = append(out, b/n)
	}
	return out
}

// memoryRows set every measured service's memory against the estimate
// the plan uses for its processes, for the observe report.
func memoryRows(o observe.Observation, services []planner.Service, p *planner.Plan) []report.MemoryRow {
	var rows []report.MemoryRow
	for _, s := range services {
		readings := o.Memory[s.Name]
		if len(readings) == 0 {
			continue
		}
		row := report.MemoryRow{Service: s.Name, Containers: max(len(readings)/max(o.Samples, 1), 1), Measured: observe.Percentile(readings, 90)}
		switch planner.RoleOf(s) {
		case planner.RoleWeb:
			row.Estimate = p.Estimates.PumaProcess
		case planner.RoleStreaming:
			row.Estimate = p.Estimates.StreamingProcess
		case planner.RoleSidekiq:
			row.Estimate = p.Estimates.SidekiqProcess
		}
		if row.Estimate > 0 {
			row.Processes = planner.ProcessesPerContainer(p.Version, s, p.Machine)
			row.PerProcess = observe.Percentile(perProcess(o, s, p), 90)
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Estimate > 0 && rows[j].Estimate == 0 })
	return rows
}

// measuredFrom turns an observation into the planner's facts: the 90th
// percentile plus a fifth of the Sidekiq processes' RSS (their
// heartbeats), of the Puma workers' and of the streaming processes'
// memory (their containers', per process), and the backlog. A reading
// with unusable figures gives nothing, and why.
func measuredFrom(o observe.Observation, services []planner.Service, p *planner.Plan) (*planner.Measured, string) {
	if o.Sidekiq != nil && len(o.Sidekiq.Unusable) > 0 {
		return nil, "the reading has unusable figures (" + strings.Join(o.Sidekiq.Unusable, "; ") + ")"
	}
	m := &planner.Measured{}
	any := false
	if o.Sidekiq != nil && len(o.Sidekiq.Processes) > 0 {
		any = true
		m.Backlog = o.Backlog()
		if p90 := o.RSSPercentile(90); p90 > 0 {
			m.SidekiqProcess = headroom(p90)
			m.Source = fmt.Sprintf("the 90th percentile of %s of %d processes, %s, plus 20%% headroom", plural(o.Samples, "reading"), len(o.Sidekiq.Processes), planner.FormatBytes(p90))
		}
	}
	for _, role := range []planner.Role{planner.RoleWeb, planner.RoleStreaming} {
		var readings []int64
		var names []string
		for _, s := range services {
			if planner.RoleOf(s) == role && len(o.Memory[s.Name]) > 0 {
				readings = append(readings, perProcess(o, s, p)...)
				names = append(names, s.Name)
			}
		}
		p90 := observe.Percentile(readings, 90)
		if p90 == 0 {
			continue
		}
		any = true
		source := fmt.Sprintf("the 90th percentile of %s of %s, per process, %s, plus 20%% headroom", plural(len(readings), "container reading"), strings.Join(names, ", "), planner.FormatBytes(p90))
		if role == planner.RoleWeb {
			m.PumaProcess, m.PumaSource = headroom(p90), source
		} else {
			m.StreamingProcess, m.StreamingSource = headroom(p90), source
		}
	}
	if !any {
		return nil, "no running instance could be read (" + strings.TrimSpace(o.RedisError+" "+o.MemoryError) + ")"
	}
	return m, ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
