package report

import (
	"fmt"
	"io"

	"github.com/compose-scale/compose-scale/planner"
)

// Markdown is the report to paste into a pull request or an issue.
func Markdown(w io.Writer, p *planner.Plan, ctx Context) error {
	fmt.Fprintf(w, "### compose-scale plan for `%s`\n\n", ctx.File)
	fmt.Fprintf(w, "- **Machine:** %s\n", machineLine(p, ctx))
	fmt.Fprintf(w, "- **Mastodon:** %s (%s)\n", p.Version, p.VersionSource)
	fmt.Fprintf(w, "- **Strategy:** %s", p.Strategy)
	if p.Why != "" {
		fmt.Fprintf(w, ": %s", p.Why)
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintln(w, "| Service | Processes | Threads | Connections | Memory (est.) | Queues |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, r := range p.Budget.Rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s |\n", r.Service, r.Processes, r.Threads, r.Connections, mb(r.MemoryBytes), queueList(r.Queues))
	}
	fmt.Fprintf(w, "| **total** | | | **%d** | **%s** | |\n\n", p.Budget.Connections.Total, mb(p.Budget.Memory.AppBytes))
	fmt.Fprintf(w, "- **Postgres:** %s\n", postgresLine(p))
	if l := pgbouncerLine(p); l != "" {
		fmt.Fprintf(w, "- **PgBouncer:** %s\n", l)
	}
	for _, l := range bouncerLines(p) {
		fmt.Fprintf(w, "  - %s\n", l)
	}
	if l := cacheLine(p); l != "" {
		fmt.Fprintf(w, "- **Cache:** %s\n", l)
	}
	fmt.Fprintf(w, "- **Memory (estimates: Puma %s, Sidekiq %s, streaming %s a process):** %s\n", mb(p.Estimates.PumaProcess), mb(p.Estimates.SidekiqProcess), mb(p.Estimates.StreamingProcess), memoryLine(p))
	if pg := p.Postgres; len(pg.Settings) > 0 {
		fmt.Fprintf(w, "\n**Postgres settings** (%s)\n\n", tuningLine(p))
		fmt.Fprintln(w, "| Setting | Value | Why |")
		fmt.Fprintln(w, "|---|---|---|")
		for _, s := range pg.Settings {
			fmt.Fprintf(w, "| `%s` | `%s` | %s |\n", s.Name, s.Value, s.Why)
		}
	}
	if st := p.Streaming; st != nil && st.Upstream != "" {
		fmt.Fprintf(w, "\n**nginx**: balance the %d streaming services (`upstream streaming` in the site config):\n\n```nginx\n%s```\n", len(st.Services), st.Upstream)
	}
	if wp := p.Web; wp != nil && wp.Upstream != "" {
		fmt.Fprintf(w, "\n**nginx**: balance the %d web replicas (`upstream backend`):\n\n```nginx\n%s```\n", wp.Replicas, wp.Upstream)
	}
	mdList(w, "Measured (compose-scale observe)", p.MeasuredFigures)
	mdList(w, "Notes", notes(p, ctx))
	mdList(w, "Warnings", warnings(p, ctx))
	return nil
}

func mdList(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n**%s**\n\n", title)
	for _, it := range items {
		fmt.Fprintf(w, "- %s\n", it)
	}
}
