package main

import (
	"fmt"
	"image/color"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// markdown is results.md: the machine and method, then per shape one row
// per layout and the spread over the runs.
func markdown(r *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Surge benchmark, %s: layouts planned for %s, run on %d CPUs (%s, %s); %d run(s) per layout and shape (the median by default's p99); steady stream for %.0f s; load seed %d.\n\n",
		r.Options.StartedT[:10], strings.Join(r.Options.Droplets, " and "), r.Machine.CPUs, r.Machine.GOOS, r.Machine.Kernel, r.Options.Repeat, r.Options.Steady, r.Options.Seed)
	for _, d := range r.Options.Droplets {
		if c, ok := r.Cores[d]; ok {
			fmt.Fprintf(&b, "Cores, %s: %s.\n\n", d, c.Note)
		}
	}
	for _, n := range r.NotPlanned {
		fmt.Fprintf(&b, "Not planned: %s.\n\n", n)
	}
	for _, sh := range r.Shapes {
		shapeMarkdown(&b, r, sh)
	}
	return b.String()
}

func shapeMarkdown(b *strings.Builder, r *results, sh shapeResult) {
	fmt.Fprintf(b, "## %s\n\n%s.\n\n", sh.Name, upperFirst(sh.Description))
	b.WriteString("| layout | processes | threads | default p50 / p99 / max (ms) | push p99 | ingress p99 | pull p99 | mailers p99 | drain (s) | peak db conns / max | peak RSS (MB) | CPU spent / nominal (s) |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---|\n")
	for _, l := range sh.Layouts {
		d := l.Queues["default"]
		drain := fmt.Sprintf("%.1f", l.DrainS)
		if !l.Drained {
			drain = fmt.Sprintf("> %.0f", l.DrainS)
		}
		name := l.Name
		if len(l.SameAs) > 0 {
			name += " (= " + strings.Join(l.SameAs, ", ") + ")"
		}
		cpu := fmt.Sprintf("%.1f / %.1f", l.CPU.SpentS, l.CPU.NominalS)
		if !l.CPU.Valid {
			cpu += " **invalid**"
		}
		fmt.Fprintf(b, "| %s | %d | %d | %.0f / %.0f / %.0f | %.0f | %.0f | %.0f | %.0f | %s | %d / %d | %d | %s |\n",
			name, l.Processes, l.Threads, d.P50ms, d.P99ms, d.MaxMs, l.Queues["push"].P99ms, l.Queues["ingress"].P99ms, l.Queues["pull"].P99ms, l.Queues["mailers"].P99ms, drain, l.PeakDBConns, l.MaxConnections, l.PeakRSSMB, cpu)
	}
	coresMarkdown(b, sh)
	if r.Options.Repeat > 1 {
		b.WriteString("\nRun-to-run spread, median (min to max) over the runs:\n\n")
		b.WriteString("| layout | runs | default p99 (ms) | drain (s) |\n|---|---:|---|---|\n")
		for _, l := range sh.Layouts {
			fmt.Fprintf(b, "| %s | %d | %s | %s |\n", l.Name, len(sh.Spread[l.Name]), spread(sh.Spread[l.Name], "%.0f"), spread(sh.Drains[l.Name], "%.1f"))
		}
	}
	fmt.Fprintf(b, "\n![default's p99 during the %s, one line per layout](default-latency-%s.png)\n\n", sh.Name, sh.Name)
}

// coresMarkdown says where the machine's cores went in each layout's
// median run, from the surge to the drain: Sidekiq shares them with
// Postgres, Redis and the load generator, and this is how much each took.
func coresMarkdown(b *strings.Builder, sh shapeResult) {
	if len(sh.Layouts) == 0 || sh.Layouts[0].CPU.CoresS == 0 {
		return // a results.json from before the bench read them
	}
	b.WriteString("\nWhere the cores went from the surge to the drain, in CPU seconds (the median run):\n\n")
	b.WriteString("| layout | cores x wall | Sidekiq | Postgres | Redis | load generator | the rest (the bench's polling, the kernel) | idle |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range sh.Layouts {
		a := l.CPU
		rest := a.BusyS - a.ProcessS - a.PostgresS - a.RedisS - a.LoadS
		fmt.Fprintf(b, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", l.Name, a.CoresS, a.ProcessS, a.PostgresS, a.RedisS, a.LoadS, max(rest, 0), max(a.CoresS-a.BusyS, 0))
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// spread is a sample's median and range: "120 (95 to 180)".
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "-"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf(format+" ("+format+" to "+format+")", med, s[0], s[len(s)-1])
}

// chart draws default's p99 latency over one shape's surge, one line a
// layout.
func chart(r *results, sh shapeResult, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("default queue during the %s (layouts for %s, %d CPUs)", sh.Name, strings.Join(r.Options.Droplets, ", "), r.Machine.CPUs)
	p.X.Label.Text = "seconds since the surge was enqueued"
	p.Y.Label.Text = "p99 wait, enqueue to start (ms, log scale)"
	p.Legend.Top = true
	// Log scale: the layouts differ by a factor of 50 at the surge's peak.
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	// Room above the slowest layout (stock, tens of seconds) for the
	// legend, one line a layout, so it covers no line.
	p.Y.Max = 1e7
	i := 0
	for _, l := range sh.Layouts {
		s := sh.Series[l.Name]
		if len(s) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(s))
		for j, pt := range s {
			pts[j].X, pts[j].Y = pt.T, max(pt.P99ms, 1) // a log scale has no 0
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i)
		line.Width = vg.Points(1.5)
		if l.Role == "auto" {
			line.Width = vg.Points(3)
		}
		if l.Role == "stock" {
			line.Color = color.RGBA{R: 200, A: 255}
		}
		p.Add(line)
		p.Legend.Add(l.Name, line)
		i++
	}
	return p.Save(9*vg.Inch, 6*vg.Inch, path)
}
