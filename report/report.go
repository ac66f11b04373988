// Package report renders a plan for people (text, markdown) and for
// scripts (json). Every total it prints is the sum of the rows above it.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/compose-scale/compose-scale/planner"
)

// Context is what the report says beyond the plan itself.
type Context struct {
	File          string
	MachineSource string // "measured", "from --droplet s-4vcpu-8gb", "from --memory/--cpus"
	MachineNotes  []string
	// What the writer said of the files (rewrite.Result): compose's
	// warnings on reading them come before the plan's warnings; the notes
	// and warnings on what was written come after the plan's.
	ReadWarnings            []string
	FileNotes, FileWarnings []string
}

// notes are the plan's notes, then the writer's.
func notes(p *planner.Plan, ctx Context) []string {
	return append(append([]string{}, p.Notes...), ctx.FileNotes...)
}

// warnings are compose's on reading, the plan's, then the writer's.
func warnings(p *planner.Plan, ctx Context) []string {
	return append(append(append([]string{}, ctx.ReadWarnings...), p.Warnings...), ctx.FileWarnings...)
}

// Formats lists what --format accepts.
var Formats = []string{"text", "markdown", "json"}

// Write renders the plan in format.
func Write(w io.Writer, format string, p *planner.Plan, ctx Context) error {
	switch format {
	case "text", "":
		return Text(w, p, ctx)
	case "markdown":
		return Markdown(w, p, ctx)
	case "json":
		return JSON(w, p, ctx)
	}
	return fmt.Errorf("unknown report format %q: use one of %s", format, strings.Join(Formats, ", "))
}

func mb(b int64) string { return fmt.Sprintf("%d MB", b/planner.MiB) }

func queueList(qs []planner.Queue) string {
	parts := make([]string, len(qs))
	weighted := false
	for _, q := range qs {
		weighted = weighted || q.Weight > 0
	}
	for i, q := range qs {
		parts[i] = q.Name
		if q.Weight > 0 {
			parts[i] += fmt.Sprintf(" (%d)", q.Weight)
		}
	}
	if weighted {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts, " > ")
}

func machineLine(p *planner.Plan, ctx Context) string {
	cpus := fmt.Sprintf("%d CPUs", p.Machine.CPUs)
	if p.Machine.CPUs == 1 {
		cpus = "1 CPU"
	}
	return fmt.Sprintf("%s, %s (%s)", cpus, planner.FormatBytes(p.Machine.MemoryBytes), ctx.MachineSource)
}

func postgresLine(p *planner.Plan) string {
	c := p.Budget.Connections
	name := p.Postgres.Service
	switch {
	case name == "":
		name = "the database outside this file"
	case p.DBWhy != "":
		name += " (" + p.DBWhy + ")"
	}
	if b := p.PgBouncer; b != nil {
		return fmt.Sprintf("max_connections %d on %s: %s's server pool %d and %d direct use %d, the safe limit is %d (%s)",
			c.MaxConnections, name, b.Service, b.ServerPool, b.Direct, b.Servers, planner.SafeLimit(c.MaxConnections), planner.LimitRule)
	}
	return fmt.Sprintf("max_connections %d on %s: the pools use %d, the safe limit is %d (%s), %d free",
		c.MaxConnections, name, c.Total, c.Limit, planner.LimitRule, c.Free)
}

// pgbouncerLine is the client layer of a deployment behind PgBouncer.
func pgbouncerLine(p *planner.Plan) string {
	b := p.PgBouncer
	if b == nil {
		return ""
	}
	conf := "PgBouncer's defaults"
	if len(b.Configured) > 0 {
		conf = "its environment sets " + strings.Join(b.Configured, ", ") + "; the rest are PgBouncer's defaults"
	}
	if g := p.GenBouncer; g != nil {
		conf = fmt.Sprintf("written by compose-scale, pool %d + reserve %d", b.ServerPool-reserveOf(p), reserveOf(p))
	}
	return fmt.Sprintf("%s (pool_mode %s) takes the pools of %s as clients: %d of the %d planned within (90%% of max_client_conn %d; %s)",
		b.Service, b.PoolMode, servicesSummary(p, b.Via), b.Clients, b.ClientLimit, b.MaxClientConn, conf)
}

func reserveOf(p *planner.Plan) int {
	if p.PgBouncer == nil {
		return 0
	}
	return p.PgBouncer.Reserve
}

// bouncerLines say why compose-scale wrote (or did not write) its
// PgBouncer and how migrations run past it.
func bouncerLines(p *planner.Plan) []string {
	g := p.GenBouncer
	if g == nil {
		return nil
	}
	return []string{
		g.Why,
		"run migrations on the direct port (they take session locks that transaction pooling drops): " + g.MigrateCommand,
		g.AfterPooled,
	}
}

// cacheLine says what holds Rails's cache.
func cacheLine(p *planner.Plan) string {
	c := p.CacheRedis
	if c == nil {
		return ""
	}
	if !c.Generated {
		return fmt.Sprintf("%s (%s)", c.Service, c.Why)
	}
	return fmt.Sprintf("%s, maxmemory %s, allkeys-lru, no persistence (%s)", c.Service, mb(c.MaxMemory), c.Why)
}

// servicesSummary names a few services, and counts the sidekiq and
// streaming ones: "web, streaming (4 services) and sidekiq (18 services)".
func servicesSummary(p *planner.Plan, names []string) string {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	count := map[planner.Role]int{}
	var order []planner.Role
	for _, r := range p.Budget.Rows {
		if in[r.Service] {
			if count[r.Role] == 0 {
				order = append(order, r.Role)
			}
			count[r.Role]++
		}
	}
	var parts []string
	for _, role := range order {
		if count[role] == 1 {
			parts = append(parts, string(role))
		} else {
			parts = append(parts, fmt.Sprintf("%s (%d services)", role, count[role]))
		}
	}
	if len(parts) > 1 {
		return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	return strings.Join(parts, "")
}

func tuningLine(p *planner.Plan) string {
	pg := p.Postgres
	version := fmt.Sprintf("Postgres %d", pg.Major)
	if pg.MajorAssumed {
		version += " (assumed: the image tag does not say)"
	}
	return fmt.Sprintf("PGTune (%s) for %s, %d CPUs, %s of memory", pg.Type, version, pg.CPUs, planner.FormatBytes(pg.MemoryBytes))
}

type memoryGroup struct {
	name, each string
	bytes      int64
}

// memoryGroups sums the budget's rows by role, then Redis and Postgres.
func memoryGroups(p *planner.Plan) []memoryGroup {
	var groups []memoryGroup
	for _, role := range []planner.Role{planner.RoleWeb, planner.RoleStreaming, planner.RoleSidekiq} {
		procs, bytes, each := 0, int64(0), int64(0)
		for _, r := range p.Budget.Rows {
			if r.Role == role {
				procs += r.Processes
				bytes += r.MemoryBytes
				each = r.MemoryBytes / int64(max(r.Processes, 1))
			}
		}
		if procs > 0 {
			groups = append(groups, memoryGroup{string(role), fmt.Sprintf("%d x %s", procs, mb(each)), bytes})
		}
	}
	m := p.Budget.Memory
	if m.RedisBytes > 0 {
		groups = append(groups, memoryGroup{"redis", "", m.RedisBytes})
	}
	if m.SearchBytes > 0 {
		groups = append(groups, memoryGroup{"search", "heap x 2", m.SearchBytes})
	}
	if m.CacheBytes > 0 {
		groups = append(groups, memoryGroup{"cache", "redis-cache", m.CacheBytes})
	}
	if m.PostgresBytes > 0 {
		share := fmt.Sprintf("%d%% share", m.PostgresBytes*100/m.MachineBytes)
		groups = append(groups, memoryGroup{"postgres", share, m.PostgresBytes})
	}
	return groups
}

func memoryLine(p *planner.Plan) string {
	m := p.Budget.Memory
	search := ""
	if m.SearchBytes > 0 {
		search = " + search " + mb(m.SearchBytes)
	}
	if m.CacheBytes > 0 {
		search += " + cache redis " + mb(m.CacheBytes)
	}
	return fmt.Sprintf("processes %s + redis %s%s + postgres %s = %s of %s, %s headroom",
		mb(m.AppBytes), mb(m.RedisBytes), search, mb(m.PostgresBytes), mb(m.TotalBytes), mb(m.MachineBytes), mb(m.HeadroomBytes))
}
