package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

// Measured is what reading the running instance found (package observe),
// as raw readings: the rule that turns them into estimates is here.
type Measured struct {
	// SidekiqRSS is every Sidekiq process's RSS at every reading, from
	// their heartbeats, in bytes; Readings and SidekiqProcesses say how
	// many readings of how many processes.
	SidekiqRSS                 []int64
	Readings, SidekiqProcesses int
	// ContainerMemory is every container's memory at every reading, by
	// service (docker compose stats), in bytes.
	ContainerMemory map[string][]int64
	// Backlog is each queue's size: the backed-up busy queues lead the
	// orderings.
	Backlog map[string]int
	// Unusable names figures the reading had that cannot be right
	// (negative or overflowing counters); ReadError says why nothing
	// could be read. Either way the plan is made from the estimates.
	Unusable  []string
	ReadError string
}

// usable says whether the readings can be planned from, and if not why.
func (m *Measured) usable() (bool, string) {
	switch {
	case len(m.Unusable) > 0:
		return false, "the reading has unusable figures (" + strings.Join(m.Unusable, "; ") + ")"
	case m.ReadError != "" && len(m.SidekiqRSS) == 0 && len(m.Backlog) == 0 && len(m.ContainerMemory) == 0:
		return false, m.ReadError
	case len(m.SidekiqRSS) == 0 && len(m.Backlog) == 0 && len(m.ContainerMemory) == 0:
		return false, "no running instance could be read"
	}
	return true, ""
}

// MeasuredPercentile is the reading a process is planned from: the 90th
// of the sample (nearest rank), which leaves out the reading taken
// mid-GC or mid-job and keeps the peaks an instance reaches every day.
const MeasuredPercentile = 90

// WithHeadroom is what a measured figure is planned with: a fifth above
// its percentile, for the growth between a reading taken days after a
// restart and the next surge. The same rule for every process: Ruby's
// heap fragments under Puma as under Sidekiq, and node's grows with its
// connections.
func WithHeadroom(p90 int64) int64 { return p90 + p90/5 }

// Percentile is the p-th percentile of v (nearest rank), 0 for none.
func Percentile(v []int64, p float64) int64 {
	if len(v) == 0 {
		return 0
	}
	v = append([]int64(nil), v...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	i := int(math.Ceil(p/100*float64(len(v)))) - 1
	return v[min(max(i, 0), len(v)-1)]
}

// MemoryRow is one measured service against the estimate its processes
// are planned with: the percentile of its containers' readings, and of
// those divided by the processes one container runs.
type MemoryRow struct {
	Service    string `json:"service"`
	Containers int    `json:"containers"`
	Measured   int64  `json:"measured_bytes"`
	Processes  int    `json:"processes,omitempty"`
	PerProcess int64  `json:"per_process_bytes,omitempty"`
	Estimate   int64  `json:"estimate_bytes,omitempty"`
}

// MeasuredMemory sets every measured service of the file against the
// plan's estimate for its processes (Puma, streaming, Sidekiq; none for
// the others), those with one first.
func MeasuredMemory(m *Measured, services []Service, p *Plan) []MemoryRow {
	if m == nil {
		return nil
	}
	var rows []MemoryRow
	for _, s := range services {
		readings := m.ContainerMemory[s.Name]
		if len(readings) == 0 {
			continue
		}
		row := MemoryRow{Service: s.Name, Containers: max(len(readings)/max(m.Readings, 1), 1), Measured: Percentile(readings, MeasuredPercentile)}
		switch RoleOf(s) {
		case RoleWeb:
			row.Estimate = p.Estimates.PumaProcess
		case RoleStreaming:
			row.Estimate = p.Estimates.StreamingProcess
		case RoleSidekiq:
			row.Estimate = p.Estimates.SidekiqProcess
		}
		if row.Estimate > 0 {
			row.Processes = ProcessesPerContainer(p.Version, s, p.Machine)
			row.PerProcess = Percentile(perProcess(readings, row.Processes), MeasuredPercentile)
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Estimate > 0 && rows[j].Estimate == 0 })
	return rows
}

func perProcess(readings []int64, n int) []int64 {
	out := make([]int64, len(readings))
	for i, b := range readings {
		out[i] = b / int64(max(n, 1))
	}
	return out
}

// applyMeasured puts measured figures into the estimates (an estimate the
// user set with a flag wins) and says so.
func (p *planning) applyMeasured(in Input, est *Estimates) {
	m := in.Measured
	if m == nil {
		return
	}
	if ok, why := m.usable(); !ok {
		p.Warnings = append(p.Warnings, "--observed: "+why+": planned with the estimates")
		p.measured = nil
		return
	}
	if p90 := Percentile(m.SidekiqRSS, MeasuredPercentile); p90 > 0 && in.Estimates.SidekiqProcess == 0 {
		est.SidekiqProcess = WithHeadroom(p90)
		p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("Sidekiq process memory %s (measured: the 90th percentile of %s of %d processes, %s, plus 20%% headroom)", FormatBytes(est.SidekiqProcess), plural(m.Readings, "reading"), m.SidekiqProcesses, FormatBytes(p90)))
	}
	for _, r := range []struct {
		role  Role
		what  string
		given int64
		set   *int64
	}{{RoleWeb, "Puma", in.Estimates.PumaProcess, &est.PumaProcess}, {RoleStreaming, "streaming", in.Estimates.StreamingProcess, &est.StreamingProcess}} {
		var readings []int64
		var names []string
		for _, s := range in.Services {
			if RoleOf(s) == r.role && len(m.ContainerMemory[s.Name]) > 0 {
				readings = append(readings, perProcess(m.ContainerMemory[s.Name], ProcessesPerContainer(p.Version, s, in.Machine))...)
				names = append(names, s.Name)
			}
		}
		p90 := Percentile(readings, MeasuredPercentile)
		if p90 == 0 || r.given != 0 {
			continue
		}
		*r.set = WithHeadroom(p90)
		p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("%s process memory %s (measured: the 90th percentile of %s of %s, per process, %s, plus 20%% headroom)", r.what, FormatBytes(*r.set), plural(len(readings), "container reading"), strings.Join(names, ", "), FormatBytes(p90)))
	}
	if len(m.Backlog) > 0 {
		var backed []string
		for _, q := range mastodon.HotQueues(p.Version) {
			if m.Backlog[q] > 0 {
				backed = append(backed, fmt.Sprintf("%s %d", q, m.Backlog[q]))
			}
		}
		if len(backed) > 0 {
			p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("queue backlog (measured): %v: the most backed-up queues come first behind default", backed))
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// leadersBy orders the hot queues for the orderings: the most backed-up
// first when a backlog was measured, else Mastodon's weight order.
func leadersBy(hot []string, backlog map[string]int) []string {
	out := append([]string(nil), hot...)
	if len(backlog) == 0 {
		return out
	}
	sort.SliceStable(out, func(i, j int) bool { return backlog[out[i]] > backlog[out[j]] })
	return out
}

func (p *planning) backlog() map[string]int {
	if p.measured == nil {
		return nil
	}
	return p.measured.Backlog
}

// weightedUp gives the backed-up queues of weighted processes the top
// weight and the first place, so they are drained as often as default.
func weightedUp(ps []Process, backlog map[string]int) []Process {
	if len(backlog) == 0 {
		return ps
	}
	for i := range ps {
		qs := ps[i].Queues
		if len(qs) == 0 || qs[0].Weight == 0 {
			continue // strict order: not a weighted worker
		}
		top := 0
		for _, q := range qs {
			top = max(top, q.Weight)
		}
		up := append([]Queue(nil), qs...)
		for j := range up {
			if backlog[up[j].Name] > 0 {
				up[j].Weight = top
			}
		}
		sort.SliceStable(up, func(a, b int) bool { return backlog[up[a].Name] > backlog[up[b].Name] })
		ps[i].Queues = up
	}
	return ps
}
