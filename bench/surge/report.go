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

// markdown is results.md: one row per layout.
func markdown(r *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Surge benchmark, %s: layouts planned for %s, run on %d CPUs (%s); surge %d pull + %d ingress jobs at once, steady stream for %.0f s; %d run(s) per layout (the median by default's p99).\n\n",
		r.Options.StartedT[:10], r.Options.Droplet, r.Machine.CPUs, r.Machine.GOOS, r.Options.Surge, r.Options.Surge, r.Options.Steady, r.Options.Repeat)
	if r.Cores.Note != "" {
		fmt.Fprintf(&b, "Cores: %s.\n\n", r.Cores.Note)
	}
	b.WriteString("| layout | processes | threads | default p50 / p99 / max (ms) | push p99 | pull p99 | ingress p99 | mailers p99 | drain (s) | peak db conns / max | peak RSS (MB) |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|\n")
	for _, l := range r.Layouts {
		d := l.Queues["default"]
		drain := fmt.Sprintf("%.1f", l.DrainS)
		if !l.Drained {
			drain = fmt.Sprintf("> %.0f", l.DrainS)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f / %.0f / %.0f | %.0f | %.0f | %.0f | %.0f | %s | %d / %d | %d |\n",
			l.Name, l.Processes, l.Threads, d.P50ms, d.P99ms, d.MaxMs, l.Queues["push"].P99ms, l.Queues["pull"].P99ms, l.Queues["ingress"].P99ms, l.Queues["mailers"].P99ms, drain, l.PeakDBConns, l.MaxConnections, l.PeakRSSMB)
	}
	if r.Options.Repeat > 1 {
		b.WriteString("\nRun-to-run spread, median (min to max) over the runs:\n\n")
		b.WriteString("| layout | runs | default p99 (ms) | drain (s) |\n|---|---:|---|---|\n")
		var names []string
		for n := range r.Spread {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", n, len(r.Spread[n]), spread(r.Spread[n], "%.0f"), spread(r.Drains[n], "%.1f"))
		}
	}
	return b.String()
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

// chart draws default's p99 latency over the surge, one line a layout.
func chart(r *results, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("default queue during the surge (%s layouts)", r.Options.Droplet)
	p.X.Label.Text = "seconds since the surge was enqueued"
	p.Y.Label.Text = "p99 wait, enqueue to start (ms, log scale)"
	p.Legend.Top = true
	// Log scale: the layouts differ by a factor of 50 at the surge's peak.
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	i := 0
	for _, l := range r.Layouts {
		s := r.Series[l.Name]
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
		if strings.HasPrefix(l.Name, "compose-scale auto") {
			line.Width = vg.Points(3)
		}
		if l.Name == "stock" {
			line.Color = color.RGBA{R: 200, A: 255}
		}
		p.Add(line)
		p.Legend.Add(l.Name, line)
		i++
	}
	return p.Save(9*vg.Inch, 5*vg.Inch, path)
}
