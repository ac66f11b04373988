package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
	"github.com/compose-scale/compose-scale/planner/sidekiq"
)

// Strategy names how sidekiq is split into processes.
type Strategy string

const (
	Auto      Strategy = "auto"
	PerQueue  Strategy = "per-queue"
	Permuted  Strategy = "permuted"
	Weighted  Strategy = "weighted"
	HandSplit Strategy = "as-found" // an admin's own split, kept and corrected
)

// Strategies lists what --strategy accepts.
var Strategies = []Strategy{Auto, PerQueue, Permuted, Weighted}

// ParseStrategy validates a --strategy value.
func ParseStrategy(s string) (Strategy, error) {
	for _, st := range Strategies {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, len(Strategies))
	for i, st := range Strategies {
		names[i] = string(st)
	}
	return "", fmt.Errorf("unknown strategy %q: use one of %s", s, strings.Join(names, ", "))
}

// Process is one planned sidekiq service: a single Sidekiq process.
type Process struct {
	Name        string
	Queues      []Queue // priority order; a weight > 0 is written as -q name,W
	Concurrency int
	// Small marks a process that only serves low-volume queues (mailers,
	// scheduler, fasp): it keeps a fixed small thread count.
	Small bool
	// Replicas of an admin's service (scale, deploy.replicas): each is a
	// process with Concurrency threads. 0 means one.
	Replicas int
}

// processes is how many Sidekiq processes p runs.
func (p Process) processes() int { return max(p.Replicas, 1) }

// smallConcurrency is the thread count of the mailers/scheduler processes:
// enough for bursts of mail, and no more connections than they use.
const smallConcurrency = 5

// maxConcurrency is the most threads one Sidekiq process gets: past 25 the
// GVL makes threads cheaper than processes only on paper: Sidekiq's own
// load benchmark stops at 25, for IO-bound jobs (its README). Where a
// surge wants more threads, the planner adds processes (a second worker a
// core, see afford), which bench/surge measured; a process with more than
// 25 threads it did not.
const maxConcurrency = 25

func processName(queues []string) string { return "sidekiq-" + strings.Join(queues, "-") }

// perQueueLayout is one process per queue, in config/sidekiq.yml order,
// except fasp: its jobs exist only behind an experimental feature flag, so
// it shares the mailers process rather than holding a process of its own.
func perQueueLayout(v Version) []Process {
	var ps []Process
	for _, q := range QueuesFor(v) {
		switch q.Name {
		case "fasp":
			continue
		case "mailers":
			if hasQueue(QueuesFor(v), "fasp") {
				ps = append(ps, Process{Name: processName([]string{"mailers", "fasp"}), Queues: []Queue{{Name: "mailers"}, {Name: "fasp"}}, Small: true})
				continue
			}
		}
		ps = append(ps, Process{Name: processName([]string{q.Name}), Queues: []Queue{{Name: q.Name}}, Small: mastodon.LowVolume[q.Name]})
	}
	return ps
}

// perQueueLayoutWithFasp is the per-queue layout as compose-scale wrote it
// before fasp shared the mailers process: still recognised as per-queue.
func perQueueLayoutWithFasp(v Version) []Process {
	var ps []Process
	for _, q := range QueuesFor(v) {
		ps = append(ps, Process{Name: processName([]string{q.Name}), Queues: []Queue{{Name: q.Name}}, Small: mastodon.LowVolume[q.Name]})
	}
	return ps
}

// smallProcesses are the permuted strategy's low-volume services: mailers
// (with fasp, which carries as little) and the single scheduler listener.
func smallProcesses(v Version) []Process {
	var names []string
	for _, q := range QueuesFor(v) {
		if mastodon.LowVolume[q.Name] && q.Name != "scheduler" {
			names = append(names, q.Name)
		}
	}
	qs := make([]Queue, len(names))
	for i, n := range names {
		qs[i] = Queue{Name: n}
	}
	ps := []Process{{Name: processName(names), Queues: qs, Small: true}}
	if HasScheduler(v) {
		ps = append(ps, Process{Name: "sidekiq-scheduler", Queues: []Queue{{Name: "scheduler"}}, Small: true})
	}
	return ps
}

// Orderings returns the priority orderings of the hot queues that the
// permuted strategy uses, best first: every one led by default, strictly,
// with the other hot queues behind it in turn (each leads the tail once
// before any ordering repeats a tail's leader). bench/surge measured why
// (docs/performance.md): a status that arrives on ingress or pull is
// distributed on default, one FeedInsertWorker per local follower, so a
// federation surge is a default surge too, and default needs the threads
// of every worker, not of one. A worker on default alone (as compose-scale
// planned until then) is one process, one core's worth of Ruby: default's
// p99 was 2 to 3.5 s there in a flood, and 250 to 400 ms led by default in
// every worker. The orderings with default first drain the surge queues
// when default is empty, which it is between a surge's waves.
func Orderings(v Version) [][]string { return orderingsBy(v, nil) }

// orderingsBy is Orderings with the tails in backlog order (the most
// backed-up queue right after default first) when a backlog was measured.
func orderingsBy(v Version, backlog map[string]int) [][]string {
	return orderingsOf(v, backlog, defaultLed)
}

// orderStyle is how compose-scale has ordered the permuted workers: the
// current style, and the two it planned before, still recognised in files
// written then and re-planned.
type orderStyle int

const (
	// defaultLed: default first in every worker (issue 20's benchmark).
	defaultLed orderStyle = iota
	// defaultAlone: one worker on default alone, default second in the
	// others (the first surge benchmark's plan).
	defaultAlone
	// interleaved: every hot queue leads full orderings in turn, as the
	// seeds' hand recipe does (before the surge benchmark).
	interleaved
)

// legacyOrderings are the orderings compose-scale planned before the
// surge benchmark: default led full orderings like the other queues.
// Files written then are still recognised, and kept as the admin's.
func legacyOrderings(v Version) [][]string { return orderingsOf(v, nil, interleaved) }

func orderingsOf(v Version, backlog map[string]int, style orderStyle) [][]string {
	hot := leadersBy(mastodon.HotQueues(v), backlog)
	if style == defaultLed {
		// Behind default: config/sidekiq.yml's weight order, the most
		// backed-up first when a backlog was measured.
		var rest []string
		for _, q := range QueuesFor(v) {
			if q.Name != "default" && contains(hot, q.Name) {
				rest = append(rest, q.Name)
			}
		}
		rest = leadersBy(rest, backlog)
		var out [][]string
		for _, tail := range rotationsFirst(rest) {
			out = append(out, append([]string{"default"}, tail...))
		}
		return out
	}
	byLeader := make([][][]string, len(hot))
	for li, leader := range hot {
		if leader == "default" && style == defaultAlone {
			byLeader[li] = [][]string{{"default"}}
			continue
		}
		// Within a leader, the rest follow config/sidekiq.yml weight order.
		var rest []string
		for _, q := range QueuesFor(v) {
			if q.Name != leader && contains(hot, q.Name) {
				rest = append(rest, q.Name)
			}
		}
		for _, p := range permutations(rest) {
			o := append([]string{leader}, p...)
			if o[len(o)-1] == "default" {
				continue
			}
			byLeader[li] = append(byLeader[li], o)
		}
	}
	var out [][]string
	for i := 0; ; i++ {
		added := false
		for _, group := range byLeader {
			if i < len(group) {
				out = append(out, group[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// rotationsFirst is every permutation of s, its rotations first (s, then
// each next queue leading, the order kept behind it), then the others in
// lexicographic order: the first len(s) workers give each queue the lead
// behind default once.
func rotationsFirst(s []string) [][]string {
	out := make([][]string, 0, len(s))
	seen := map[string]bool{}
	for i := range s {
		r := append(append([]string(nil), s[i:]...), s[:i]...)
		seen[strings.Join(r, ",")] = true
		out = append(out, r)
	}
	for _, p := range permutations(s) {
		if !seen[strings.Join(p, ",")] {
			out = append(out, p)
		}
	}
	return out
}

// permutations of s in lexicographic order of positions.
func permutations(s []string) [][]string {
	if len(s) <= 1 {
		return [][]string{append([]string(nil), s...)}
	}
	var out [][]string
	for i := range s {
		rest := make([]string, 0, len(s)-1)
		rest = append(rest, s[:i]...)
		rest = append(rest, s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{s[i]}, p...))
		}
	}
	return out
}

// permutedLayout is `workers` worker processes over the first orderings plus
// the small processes.
func permutedLayout(v Version, workers int) []Process {
	return permutedLayoutBy(v, workers, nil)
}

// permutedLayoutBy is permutedLayout on orderingsBy.
// Past the last ordering, the orderings are used again, in turn, by
// workers named with -2, -3: a big machine's cores are not left idle
// because three or four hot queues have few orderings.
func permutedLayoutBy(v Version, workers int, backlog map[string]int) []Process {
	return permutedLayoutStyle(v, workers, backlog, defaultLed)
}

// permutedSmallLayout is permuted's workers with one small process for
// scheduler and mailers (weighted's), for a machine where two small
// processes would leave room for one worker only.
func permutedSmallLayout(v Version, workers int, backlog map[string]int) []Process {
	ps := permutedLayoutBy(v, workers, backlog)
	ps = ps[:len(ps)-len(smallProcesses(v))]
	w := weightedLayout(v, 1)
	return append(ps, w[len(w)-1])
}

// aloneLayout is the permuted layout compose-scale planned from the first
// surge benchmark until issue 20's: one worker on default alone.
func aloneLayout(v Version, workers int) []Process {
	return permutedLayoutStyle(v, workers, nil, defaultAlone)
}

func permutedLayoutStyle(v Version, workers int, backlog map[string]int, style orderStyle) []Process {
	os := orderingsOf(v, backlog, style)
	if workers <= len(os) {
		return permutedOn(v, os[:workers])
	}
	ps := permutedOn(v, os)
	ps = ps[:len(os)] // the small processes are appended again below
	surge := os
	if style == defaultAlone {
		surge = os[1:] // all but default alone
	}
	for i := 0; len(ps) < workers; i++ {
		o := surge[i%len(surge)]
		qs := make([]Queue, len(o))
		for j, n := range o {
			qs[j] = Queue{Name: n}
		}
		ps = append(ps, Process{Name: processName(o) + "-" + strconv.Itoa(2+i/len(surge)), Queues: qs})
	}
	return append(ps, smallProcesses(v)...)
}

// legacyPermutedLayout is permutedLayout as compose-scale planned it
// before default got a worker of its own (legacyOrderings).
func legacyPermutedLayout(v Version, workers int) []Process {
	return permutedOn(v, legacyOrderings(v)[:workers])
}

func permutedOn(v Version, orderings [][]string) []Process {
	var ps []Process
	for _, o := range orderings {
		qs := make([]Queue, len(o))
		for i, n := range o {
			qs[i] = Queue{Name: n}
		}
		ps = append(ps, Process{Name: processName(o), Queues: qs})
	}
	return append(ps, smallProcesses(v)...)
}

// weightedLayout is the small-server split: `workers` identical processes on
// the busy queues with config/sidekiq.yml's weights, plus one small process
// for scheduler and mailers. With workers == 0 it is a single process on every
// queue, named plain `sidekiq`: the stock layout with its pool sized.
func weightedLayout(v Version, workers int) []Process {
	all := QueuesFor(v)
	if workers == 0 {
		qs := make([]Queue, len(all))
		copy(qs, all)
		return []Process{{Name: "sidekiq", Queues: qs}}
	}
	var busy, small []Queue
	for _, q := range all {
		if mastodon.LowVolume[q.Name] {
			small = append(small, Queue{Name: q.Name})
		} else {
			busy = append(busy, q)
		}
	}
	// Scheduler first: its cron enqueues must never wait behind a mail burst.
	for i, q := range small {
		if q.Name == "scheduler" {
			small = append([]Queue{q}, append(small[:i:i], small[i+1:]...)...)
			break
		}
	}
	var ps []Process
	for i := 1; i <= workers; i++ {
		name := "sidekiq-weighted"
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		ps = append(ps, Process{Name: name, Queues: append([]Queue(nil), busy...)})
	}
	return append(ps, Process{Name: processName(sidekiq.QueueNames(small)), Queues: small, Small: true})
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
