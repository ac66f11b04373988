package observe

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Service is a sidekiq service of the compose file, to tell which service
// a process belongs to: by its hostname (container_name, hostname, or the
// service name), else by its queues.
type Service struct {
	Name    string
	Aliases []string       // hostname, container_name
	Queues  []string       // as its command lists them, in its -q order
	Weights map[string]int // the -q weights, when it has any
}

// Observation is what a sample of readings showed.
type Observation struct {
	Samples       int                `json:"samples"`
	Seconds       float64            `json:"seconds"`
	Sidekiq       *Sidekiq           `json:"sidekiq,omitempty"`  // the last reading
	Postgres      *Postgres          `json:"postgres,omitempty"` // the last reading
	RedisError    string             `json:"redis_error,omitempty"`
	PostgresError string             `json:"postgres_error,omitempty"`
	QueueGrowth   map[string]int     `json:"queue_growth,omitempty"`   // last size minus first
	BusyAverage   map[string]float64 `json:"busy_average,omitempty"`   // by process identity
	ServiceOf     map[string]string  `json:"service_of,omitempty"`     // process identity -> service
	SidekiqRSSKB  []int64            `json:"sidekiq_rss_kb,omitempty"` // every process in every sample
	// Memory is every container's memory at every reading, by service
	// (docker compose stats); MemoryError says why it could not be read.
	Memory          map[string][]int64 `json:"memory_bytes,omitempty"`
	MemoryError     string             `json:"memory_error,omitempty"`
	PlannedSettings map[string]string  `json:"planned_settings,omitempty"`
	Findings        []string           `json:"findings"`
}

// Read reads Redis and Postgres samples times, interval apart; progress
// is called after each reading (nil for none). Either side may fail: the
// observation says which could not be read and why.
func Read(src Source, samples int, interval time.Duration, settings []string, progress func(done, of int)) Observation {
	samples = max(samples, 1)
	o := Observation{Samples: samples, QueueGrowth: map[string]int{}, BusyAverage: map[string]float64{}, ServiceOf: map[string]string{}, Memory: map[string][]int64{}}
	var first *Sidekiq
	busySum := map[string]int{}
	busyN := map[string]int{}
	start := time.Now()
	for i := 0; i < samples; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		if src.CanReadRedis() && o.RedisError == "" {
			sk, err := src.ReadSidekiq()
			if err != nil {
				o.RedisError = err.Error()
			} else {
				if first == nil {
					f := sk
					first = &f
				}
				o.Sidekiq = &sk
				for _, p := range sk.Processes {
					busySum[p.Identity] += p.Busy
					busyN[p.Identity]++
					o.SidekiqRSSKB = append(o.SidekiqRSSKB, p.RSSKB)
				}
			}
		}
		if src.CanReadPostgres() && o.PostgresError == "" {
			pg, err := src.ReadPostgres(settings)
			if err != nil {
				o.PostgresError = err.Error()
			} else {
				o.Postgres = &pg
			}
		}
		if src.CanReadMemory() && o.MemoryError == "" {
			mem, err := src.ReadMemory()
			if err != nil {
				o.MemoryError = err.Error()
			}
			for _, c := range mem {
				o.Memory[c.Service] = append(o.Memory[c.Service], c.Bytes)
			}
		}
		if progress != nil {
			progress(i+1, samples)
		}
	}
	o.Seconds = time.Since(start).Seconds()
	if !src.CanReadRedis() {
		o.RedisError = "the compose file has no Redis service that Sidekiq uses, and no --redis was given"
	}
	if !src.CanReadPostgres() {
		o.PostgresError = "the compose file has no Postgres service, and no --database was given"
	}
	for id, n := range busyN {
		o.BusyAverage[id] = float64(busySum[id]) / float64(n)
	}
	if o.Sidekiq != nil && first != nil {
		before := map[string]int{}
		for _, q := range first.Queues {
			before[q.Name] = q.Size
		}
		for _, q := range o.Sidekiq.Queues {
			o.QueueGrowth[q.Name] = q.Size - before[q.Name]
		}
	}
	return o
}

// Nothing reports an observation that read neither side.
func (o Observation) Nothing() bool { return o.Sidekiq == nil && o.Postgres == nil }

// Attribute maps each process to the compose service it runs in: by its
// hostname where that is the service's (hostname:, container_name:, a
// host network), else by what it listens on. In docker a process's
// hostname is its container's ID, and the permuted workers all listen on
// the same set of queues, so the set alone names them all after the
// first; Sidekiq keeps -q's order in its heartbeat, so the ordered list
// tells them apart, then the weights, and only then the set.
func (o *Observation) Attribute(services []Service) {
	if o.Sidekiq == nil {
		return
	}
	matchers := []func(p Process, s Service) bool{
		func(p Process, s Service) bool { return p.Hostname == s.Name || contains(s.Aliases, p.Hostname) },
		func(p Process, s Service) bool {
			return sameList(p.Queues, s.Queues) && sameWeights(p.Weights, s.Weights)
		},
		func(p Process, s Service) bool { return sameList(p.Queues, s.Queues) },
		func(p Process, s Service) bool { return sameSet(p.Queues, s.Queues) },
	}
	for _, p := range o.Sidekiq.Processes {
	match:
		for _, m := range matchers {
			for _, s := range services {
				if m(p, s) {
					o.ServiceOf[p.Identity] = s.Name
					break match
				}
			}
		}
	}
}

func sameList(a, b []string) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameWeights compares the weights a heartbeat gives (Sidekiq 7 and 8;
// 6 gives none) with the command's; a heartbeat without them matches any.
func sameWeights(got, want map[string]int) bool {
	if len(got) == 0 {
		return true
	}
	if len(got) != len(want) {
		return false
	}
	for q, n := range got {
		if want[q] != n {
			return false
		}
	}
	return true
}

// Findings says in words what an admin acts on. plannedRSS is the memory
// the plan assumes for a Sidekiq process.
func (o *Observation) Judge(plannedRSS int64) []string {
	var f []string
	if sk := o.Sidekiq; sk != nil {
		for _, q := range sk.Queues {
			var listeners []Process
			for _, p := range sk.Processes {
				if contains(p.Queues, q.Name) {
					listeners = append(listeners, p)
				}
			}
			switch {
			case len(listeners) == 0 && q.Size > 0:
				f = append(f, fmt.Sprintf("%s: %s jobs, oldest %s: no process listens on it, they never run", q.Name, thousands(q.Size), ago(q.LatencySeconds)))
			case q.Size > 0 && q.LatencySeconds >= 60:
				busy, conc := 0.0, 0
				for _, p := range listeners {
					busy += o.BusyAverage[p.Identity]
					conc += p.Concurrency
				}
				growth := ""
				if g := o.QueueGrowth[q.Name]; g > 0 && o.Samples > 1 {
					growth = fmt.Sprintf(", growing by %s over the sample", thousands(g))
				}
				f = append(f, fmt.Sprintf("%s: %s jobs, oldest %s%s: its listeners are busy %s/%d", q.Name, thousands(q.Size), ago(q.LatencySeconds), growth, trimFloat(busy), conc))
			}
		}
		if o.Samples > 1 {
			for _, p := range sk.Processes {
				if o.BusyAverage[p.Identity] == 0 {
					f = append(f, fmt.Sprintf("%s idle for the whole sample", o.name(p)))
				}
			}
		}
		if len(o.SidekiqRSSKB) > 0 && plannedRSS > 0 {
			var sum int64
			for _, kb := range o.SidekiqRSSKB {
				sum += kb
			}
			avg := sum / int64(len(o.SidekiqRSSKB)) * 1024
			if avg > plannedRSS*11/10 || avg < plannedRSS*7/10 {
				f = append(f, fmt.Sprintf("sidekiq processes use %d MB on average, the plan assumes %d MB", avg>>20, plannedRSS>>20))
			}
		}
		if sk.Expired > 0 {
			f = append(f, fmt.Sprintf("%s in Sidekiq's process set without a heartbeat (they died without cleaning up): not counted; Sidekiq drops them at its next cleanup", plural(sk.Expired, "process")))
		}
		if len(sk.Unusable) > 0 {
			f = append(f, fmt.Sprintf("unusable figures in Redis, not planned from: %s", strings.Join(sk.Unusable, "; ")))
		}
		if sk.Dead > 0 {
			f = append(f, fmt.Sprintf("%s in the dead set: they ran out of retries", plural(sk.Dead, "job")))
		}
	}
	if pg := o.Postgres; pg != nil && pg.MaxConnections > 0 {
		pct := pg.Clients * 100 / pg.MaxConnections
		if pct >= 80 {
			f = append(f, fmt.Sprintf("connections at %d%% of max_connections (%d of %d)", pct, pg.Clients, pg.MaxConnections))
		}
		if n := pg.ByState["idle in transaction"]; n > 0 {
			f = append(f, fmt.Sprintf("%d connections idle in transaction: each holds locks and a connection until it ends", n))
		}
		var names []string
		for name := range o.PlannedSettings {
			names = append(names, name)
		}
		sort.Strings(names) // the same findings in the same order on every run
		for _, name := range names {
			want := o.PlannedSettings[name]
			if got, ok := pg.Settings[name]; ok && got != want {
				f = append(f, fmt.Sprintf("Postgres runs %s=%s, the plan has %s: restart it with the planned command (docker compose up -d)", name, got, want))
			}
		}
	}
	o.Findings = f
	return f
}

func (o *Observation) name(p Process) string {
	if s := o.ServiceOf[p.Identity]; s != "" {
		return s
	}
	return p.Identity
}

// Backlog is the size of each queue that is backed up at the last
// reading: its oldest job has waited a minute or more.
func (o Observation) Backlog() map[string]int {
	out := map[string]int{}
	if o.Sidekiq != nil {
		for _, q := range o.Sidekiq.Queues {
			if q.Size > 0 && q.LatencySeconds >= 60 {
				out[q.Name] = q.Size
			}
		}
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !contains(a, x) {
			return false
		}
	}
	return true
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ago(sec float64) string {
	switch {
	case sec >= 3600:
		return fmt.Sprintf("%d h", int(sec/3600))
	case sec >= 60:
		return fmt.Sprintf("%d min", int(sec/60))
	}
	return fmt.Sprintf("%d s", int(sec))
}

func trimFloat(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprint(int(f))
	}
	return fmt.Sprintf("%.1f", f)
}
