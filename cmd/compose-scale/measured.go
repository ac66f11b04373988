package main

import (
	"strings"

	"github.com/compose-scale/compose-scale/observe"
	"github.com/compose-scale/compose-scale/planner"
)

// measuredFrom hands what observe read to the planner as facts: the
// Sidekiq heartbeats' RSS, every container's memory, the backlog. The
// rule that makes estimates of them is the planner's. A reading with
// unusable figures gives nothing, and why.
func measuredFrom(o observe.Observation) (*planner.Measured, string) {
	if o.Sidekiq != nil && len(o.Sidekiq.Unusable) > 0 {
		return nil, "the reading has unusable figures (" + strings.Join(o.Sidekiq.Unusable, "; ") + ")"
	}
	m := &planner.Measured{Readings: o.Samples, ContainerMemory: o.Memory}
	if o.Sidekiq != nil && len(o.Sidekiq.Processes) > 0 {
		m.Backlog = o.Backlog()
		m.SidekiqProcesses = len(o.Sidekiq.Processes)
		for _, kb := range o.SidekiqRSSKB {
			m.SidekiqRSS = append(m.SidekiqRSS, kb*1024)
		}
	}
	if len(m.SidekiqRSS) == 0 && len(m.Backlog) == 0 && len(m.ContainerMemory) == 0 {
		return nil, "no running instance could be read (" + strings.TrimSpace(o.RedisError+" "+o.MemoryError) + ")"
	}
	return m, ""
}
