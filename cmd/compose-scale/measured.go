package main

import (
	"strings"

	"github.com/compose-scale/compose-scale/observe"
	"github.com/compose-scale/compose-scale/planner"
)

// measuredFrom hands what observe read to the planner as facts: the
// Sidekiq heartbeats' RSS, every container's memory, the backlog, and the
// figures it could not use. Whether they can be planned from is the
// planner's to say.
func measuredFrom(o observe.Observation) *planner.Measured {
	m := &planner.Measured{Readings: o.Samples, ContainerMemory: o.Memory}
	if o.Sidekiq != nil {
		m.Unusable = o.Sidekiq.Unusable
	}
	if o.Sidekiq != nil && len(o.Sidekiq.Processes) > 0 {
		m.Backlog = o.Backlog()
		m.SidekiqProcesses = len(o.Sidekiq.Processes)
		for _, kb := range o.SidekiqRSSKB {
			m.SidekiqRSS = append(m.SidekiqRSS, kb*1024)
		}
	}
	if why := strings.TrimSpace(o.RedisError + " " + o.MemoryError); why != "" {
		m.ReadError = "no running instance could be read (" + why + ")"
	}
	return m
}
