package planner

import (
	"fmt"
	"sort"
)

// Measured is what reading the running instance found (package observe),
// for the plan to use instead of the constants.
type Measured struct {
	// SidekiqProcess is the memory to plan a Sidekiq process with: a high
	// percentile of the processes' RSS over the sample, with headroom.
	SidekiqProcess int64
	// Backlog is each queue's size: the backed-up busy queues lead the
	// orderings.
	Backlog map[string]int
	// Source says what was read, for the report ("90th percentile of 12
	// readings of 6 processes, plus 20%").
	Source string
	// PumaProcess and StreamingProcess are the same for a Puma worker
	// and a streaming process, from their containers' memory divided by
	// the processes each runs; their sources say so.
	PumaProcess, StreamingProcess int64
	PumaSource, StreamingSource   string
}

// applyMeasured puts measured figures into the estimates (an estimate the
// user set with a flag wins) and says so.
func (p *Plan) applyMeasured(in Input, est *Estimates) {
	m := in.Measured
	if m == nil {
		return
	}
	if m.SidekiqProcess > 0 && in.Estimates.SidekiqProcess == 0 {
		est.SidekiqProcess = m.SidekiqProcess
		p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("Sidekiq process memory %s (measured: %s)", FormatBytes(m.SidekiqProcess), m.Source))
	}
	if m.PumaProcess > 0 && in.Estimates.PumaProcess == 0 {
		est.PumaProcess = m.PumaProcess
		p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("Puma process memory %s (measured: %s)", FormatBytes(m.PumaProcess), m.PumaSource))
	}
	if m.StreamingProcess > 0 && in.Estimates.StreamingProcess == 0 {
		est.StreamingProcess = m.StreamingProcess
		p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("streaming process memory %s (measured: %s)", FormatBytes(m.StreamingProcess), m.StreamingSource))
	}
	if len(m.Backlog) > 0 {
		var backed []string
		for _, q := range hotQueues(p.Version) {
			if m.Backlog[q] > 0 {
				backed = append(backed, fmt.Sprintf("%s %d", q, m.Backlog[q]))
			}
		}
		if len(backed) > 0 {
			p.MeasuredFigures = append(p.MeasuredFigures, fmt.Sprintf("queue backlog (measured): %v: the most backed-up queues lead the orderings", backed))
		}
	}
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

func (p *Plan) backlog() map[string]int {
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
