package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/compose-scale/compose-scale/planner"
)

// Text is the report for a terminal: aligned columns.
func Text(w io.Writer, p *planner.Plan, ctx Context) error {
	fmt.Fprintf(w, "compose-scale plan for %s\n", ctx.File)
	fmt.Fprintf(w, "machine:   %s\n", machineLine(p, ctx))
	for _, n := range ctx.MachineNotes {
		fmt.Fprintf(w, "           %s\n", n)
	}
	fmt.Fprintf(w, "mastodon:  %s (%s)\n", p.Version, p.VersionSource)
	fmt.Fprintf(w, "strategy:  %s", p.Strategy)
	if p.Why != "" {
		fmt.Fprintf(w, ": %s", p.Why)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)

	width := len("SERVICE")
	for _, r := range p.Budget.Rows {
		width = max(width, len(r.Service))
	}
	row := func(a, b, c, d, e string) {
		fmt.Fprintf(w, "%-*s  %9s  %7s  %11s  %13s\n", width, a, b, c, d, e)
	}
	row("SERVICE", "PROCESSES", "THREADS", "CONNECTIONS", "MEMORY (est.)")
	for _, r := range p.Budget.Rows {
		row(r.Service, fmt.Sprint(r.Processes), fmt.Sprint(r.Threads), fmt.Sprint(r.Connections), mb(r.MemoryBytes))
	}
	row("total", "", "", fmt.Sprint(p.Budget.Connections.Total), mb(p.Budget.Memory.AppBytes))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "queues (sidekiq -q, first drained first; numbers are weights):")
	for _, s := range p.Sidekiq {
		fmt.Fprintf(w, "  %-36s %s\n", s.Name, queueList(s.Queues))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "postgres:  %s\n", postgresLine(p))
	if pg := p.Postgres; len(pg.Settings) > 0 {
		fmt.Fprintf(w, "           %s\n", tuningLine(p))
		width := 0
		for _, s := range pg.Settings {
			width = max(width, len(s.Name)+1+len(s.Value))
		}
		for _, s := range pg.Settings {
			fmt.Fprintf(w, "  %-*s  %s\n", width, s.Name+"="+s.Value, s.Why)
		}
	}
	if l := pgbouncerLine(p); l != "" {
		fmt.Fprintf(w, "\npgbouncer: %s\n", l)
		for _, l := range bouncerLines(p) {
			fmt.Fprintf(w, "           %s\n", l)
		}
	}
	if l := cacheLine(p); l != "" {
		fmt.Fprintf(w, "\ncache:     %s\n", l)
	}
	fmt.Fprintln(w)
	e := p.Estimates
	fmt.Fprintf(w, "memory (estimates: Puma %s, Sidekiq %s, streaming %s a process, set with --estimate-*; a Sidekiq process can grow towards 1 GB under glibc malloc, which jemalloc or MALLOC_ARENA_MAX=2 curb):\n", mb(e.PumaProcess), mb(e.SidekiqProcess), mb(e.StreamingProcess))
	for _, g := range memoryGroups(p) {
		fmt.Fprintf(w, "  %-10s %-14s %9s\n", g.name, g.each, mb(g.bytes))
	}
	m := p.Budget.Memory
	fmt.Fprintf(w, "  %-10s %-14s %9s of %s, %s headroom\n", "total", "", mb(m.TotalBytes), mb(m.MachineBytes), mb(m.HeadroomBytes))
	if st := p.Streaming; st != nil && st.Upstream != "" {
		fmt.Fprintf(w, "\nnginx: balance the %d streaming services: replace the upstream streaming block in your site config (/etc/nginx/sites-available/mastodon) with\n\n", len(st.Services))
		indented(w, st.Upstream)
	}
	if wp := p.Web; wp != nil && wp.Upstream != "" {
		fmt.Fprintf(w, "\nnginx: balance the %d web replicas: replace the upstream backend block with\n\n", wp.Replicas)
		indented(w, wp.Upstream)
	}
	list(w, "measured (compose-scale observe)", p.MeasuredFigures)
	list(w, "notes", notes(p, ctx))
	list(w, "warnings", warnings(p, ctx))
	return nil
}

// indented prints a block of lines (an nginx snippet) indented to paste.
func indented(w io.Writer, block string) {
	for _, l := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", l)
	}
}

func list(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, it := range items {
		fmt.Fprintf(w, "  - %s\n", it)
	}
}
