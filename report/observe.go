package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/observe"
	"github.com/compose-scale/compose-scale/planner"
)

// ObserveContext is what an observe report says beside the observation.
type ObserveContext struct {
	File   string
	Via    string // "docker compose exec (redis, db)", "--redis and --database"
	Memory []planner.MemoryRow
}

// WriteObservation renders an observation in format.
func WriteObservation(w io.Writer, format string, o observe.Observation, ctx ObserveContext) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			File string `json:"file"`
			Via  string `json:"via"`
			observe.Observation
			MemoryAgainstEstimates []planner.MemoryRow `json:"memory_against_estimates,omitempty"`
		}{ctx.File, ctx.Via, o, ctx.Memory})
	case "markdown":
		return observeText(w, o, ctx, true)
	case "text", "":
		return observeText(w, o, ctx, false)
	}
	return fmt.Errorf("unknown report format %q: use one of %s", format, strings.Join(Formats, ", "))
}

func observeText(w io.Writer, o observe.Observation, ctx ObserveContext, md bool) error {
	out := observeWriter{w: w, md: md}
	readings := "1 reading"
	if o.Samples > 1 {
		readings = fmt.Sprintf("%d readings over %.0f s", o.Samples, o.Seconds)
	}
	if md {
		fmt.Fprintf(w, "### compose-scale observe `%s`\n\n%s, through %s\n", ctx.File, readings, ctx.Via)
	} else {
		fmt.Fprintf(w, "compose-scale observe %s: %s, through %s\n", ctx.File, readings, ctx.Via)
	}
	if o.Sidekiq != nil {
		out.sidekiq(o)
	}
	if o.Postgres != nil {
		out.postgres(o)
	}
	if len(ctx.Memory) > 0 {
		out.memory(ctx.Memory)
	}
	list(w, "findings", o.Findings)
	var unread []string
	if o.RedisError != "" {
		unread = append(unread, "Redis: "+o.RedisError)
	}
	if o.PostgresError != "" {
		unread = append(unread, "Postgres: "+o.PostgresError)
	}
	if o.MemoryError != "" {
		unread = append(unread, "memory: "+o.MemoryError+" (Puma's and streaming's memory stay estimates)")
	}
	list(w, "could not read", unread)
	return nil
}

// observeWriter writes the observation's sections as text or markdown.
type observeWriter struct {
	w  io.Writer
	md bool
}

// heading is a section's name, bold in markdown.
func (ow observeWriter) heading(s string) string {
	if ow.md {
		return "**" + s + "**"
	}
	return s
}

// table writes rows (the first is the header) as a markdown table or as
// aligned columns.
func (ow observeWriter) table(rows [][]string) {
	w := ow.w
	if ow.md {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| "+strings.Join(rows[0], " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(rows[0])))
		for _, r := range rows[1:] {
			fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		}
		return
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// sidekiq writes the queues with who listens on them, the processes, and
// the sets and counters.
func (ow observeWriter) sidekiq(o observe.Observation) {
	sk := o.Sidekiq
	fmt.Fprintf(ow.w, "\n%s (Sidekiq %d):\n", ow.heading("queues"), sk.Major)
	rows := [][]string{{"QUEUE", "JOBS", "OLDEST", "LISTENED ON BY"}}
	for _, q := range sk.Queues {
		var by []string
		for _, p := range sk.Processes {
			for _, name := range p.Queues {
				if name == q.Name {
					by = append(by, fmt.Sprintf("%s (busy %s/%d)", serviceName(o, p), trim(o.BusyAverage[p.Identity]), p.Concurrency))
				}
			}
		}
		listeners := strings.Join(by, ", ")
		if listeners == "" {
			listeners = "nothing"
		}
		rows = append(rows, []string{q.Name, fmt.Sprint(q.Size), age(q.LatencySeconds), listeners})
	}
	ow.table(rows)
	fmt.Fprintf(ow.w, "\n%s:\n", ow.heading("sidekiq processes"))
	rows = [][]string{{"SERVICE", "QUEUES", "THREADS", "BUSY", "RSS"}}
	for _, p := range sk.Processes {
		rows = append(rows, []string{serviceName(o, p), strings.Join(p.Queues, ","), fmt.Sprint(p.Concurrency), trim(o.BusyAverage[p.Identity]), fmt.Sprintf("%d MB", p.RSSKB>>10)})
	}
	ow.table(rows)
	fmt.Fprintf(ow.w, "\nretry %d, scheduled %d, dead %d; processed %d, failed %d\n", sk.Retry, sk.Scheduled, sk.Dead, sk.Processed, sk.Failed)
}

// postgres writes the connections by state and application, what active
// ones wait on, and the settings against the plan's.
func (ow observeWriter) postgres(o observe.Observation) {
	w, pg := ow.w, o.Postgres
	fmt.Fprintf(w, "\n%s: %d client connections of max_connections %d\n", ow.heading("postgres"), pg.Clients, pg.MaxConnections)
	fmt.Fprintf(w, "  by state:       %s\n", counts(pg.ByState))
	fmt.Fprintf(w, "  by application: %s\n", counts(pg.ByApplication))
	if len(pg.Waits) > 0 {
		var ws []string
		for _, wt := range pg.Waits {
			ws = append(ws, fmt.Sprintf("%s/%s %d", wt.Type, wt.Event, wt.Count))
		}
		fmt.Fprintf(w, "  active, waiting on: %s\n", strings.Join(ws, ", "))
	}
	var diff []string
	var names []string
	for n := range o.PlannedSettings {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if got, ok := pg.Settings[n]; ok {
			mark := "="
			if got != o.PlannedSettings[n] {
				mark = "!="
			}
			diff = append(diff, fmt.Sprintf("%s %s %s planned %s", n, got, mark, o.PlannedSettings[n]))
		}
	}
	if len(diff) > 0 {
		fmt.Fprintf(w, "  settings against the plan:\n")
		for _, d := range diff {
			fmt.Fprintf(w, "    %s\n", d)
		}
	}
}

// memory writes each service's measured memory against the plan's
// per-process estimate.
func (ow observeWriter) memory(memory []planner.MemoryRow) {
	fmt.Fprintf(ow.w, "\n%s (docker compose stats, 90th percentile; per process against the plan's estimate):\n", ow.heading("memory"))
	rows := [][]string{{"SERVICE", "CONTAINERS", "MEMORY", "PROCESSES", "PER PROCESS", "ESTIMATE"}}
	for _, m := range memory {
		procs, per, est := "", "", ""
		if m.Estimate > 0 {
			procs, per, est = fmt.Sprint(m.Processes), mb(m.PerProcess), mb(m.Estimate)
		}
		rows = append(rows, []string{m.Service, fmt.Sprint(m.Containers), mb(m.Measured), procs, per, est})
	}
	ow.table(rows)
}

func serviceName(o observe.Observation, p observe.Process) string {
	if s := o.ServiceOf[p.Identity]; s != "" {
		return s
	}
	return p.Hostname
}

func counts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func trim(f float64) string {
	if f == float64(int(f)) {
		return fmt.Sprint(int(f))
	}
	return fmt.Sprintf("%.1f", f)
}

func age(sec float64) string {
	switch {
	case sec >= 3600:
		return fmt.Sprintf("%.1f h", sec/3600)
	case sec >= 60:
		return fmt.Sprintf("%d min", int(sec/60))
	}
	return "< 1 min"
}
