package planner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner/sidekiq"
)

// fit sizes an admin's own split to the machine, keeping what the admin
// meant. afford(fixed, fixedConns) is how many worker processes fit beside
// fixed small ones (memory, CPUs, connections), as for every strategy.
//
//   - Too many workers: the lowest-priority ones are merged into the
//     others (replicas first, then a worker whose leading queue another
//     one leads too, then the last), their queues appended where they
//     are missing, so every queue stays listened on and a service that
//     leads with pull still does.
//   - Too few: workers are added in the admin's naming style, on the
//     orderings whose leading queue nobody leads yet first, up to the
//     orderings there are (as permuted); a split that scales by replicas
//     gets more replicas.
//   - Not even one worker beside the small processes: the small ones
//     share the scheduler's process; then everything is one process.
//
// fit of a split that fits is the split: re-running changes nothing.
func (p *planning) fit(ps []Process, afford func(fixed, fixedConns int) int) []Process {
	smalls := 0
	for _, pr := range ps {
		if pr.Small {
			smalls += pr.processes()
		}
	}
	target := afford(smalls, smalls*smallConcurrency)
	if target < 1 && smalls > 1 {
		ps = p.mergeSmalls(ps)
		smalls = 1
		target = afford(1, smallConcurrency)
	}
	if target < 1 {
		return p.mergeAll(ps)
	}
	workers := 0
	for _, pr := range ps {
		if !pr.Small {
			workers += pr.processes()
		}
	}
	switch {
	case workers > target:
		return p.shrink(ps, workers-target)
	case workers < target && workers > 0:
		return p.grow(ps, target-workers)
	}
	return ps
}

// shrink takes n worker processes out of ps.
func (p *planning) shrink(ps []Process, n int) []Process {
	var merged []string
	for ; n > 0; n-- {
		// Replicas go first, from the last replicated worker.
		done := false
		for i := len(ps) - 1; i >= 0 && !done; i-- {
			if !ps[i].Small && ps[i].processes() > 1 {
				ps[i].Replicas--
				p.Notes = append(p.Notes, fmt.Sprintf("%s: one replica fewer (%d): this machine holds fewer sidekiq processes", ps[i].Name, ps[i].processes()))
				done = true
			}
		}
		if done {
			continue
		}
		victim := p.lowestPriority(ps)
		if victim < 0 {
			break
		}
		gone := ps[victim]
		ps = append(ps[:victim:victim], ps[victim+1:]...)
		merged = append(merged, gone.Name)
		p.cover(ps, gone)
	}
	if len(merged) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("merged %s into the other sidekiq services: this machine holds %d sidekiq processes (about %s each, estimated); their queues stay listened on, and each remaining service keeps its leading queue", strings.Join(merged, ", "), totalProcesses(ps), FormatBytes(p.Estimates.SidekiqProcess)))
	}
	return ps
}

// lowestPriority is the worker to merge first: the last one whose leading
// queue an earlier worker leads too, else the last worker; -1 if only one
// worker is left.
func (p *planning) lowestPriority(ps []Process) int {
	var workers []int
	for i, pr := range ps {
		if !pr.Small {
			workers = append(workers, i)
		}
	}
	if len(workers) <= 1 {
		return -1
	}
	led := map[string]int{}
	for _, i := range workers {
		if len(ps[i].Queues) > 0 {
			led[ps[i].Queues[0].Name]++
		}
	}
	for j := len(workers) - 1; j >= 0; j-- {
		if qs := ps[workers[j]].Queues; len(qs) > 0 && led[qs[0].Name] > 1 {
			return workers[j]
		}
	}
	return workers[len(workers)-1]
}

// cover appends the queues of a merged process that nothing else listens
// on to every worker left (or, with none, the first process): at the end,
// so each keeps its own priorities first.
func (p *planning) cover(ps []Process, gone Process) {
	for _, q := range gone.Queues {
		listened := false
		for _, pr := range ps {
			listened = listened || hasQueue(pr.Queues, q.Name)
		}
		if listened {
			continue
		}
		added := false
		for i := range ps {
			if ps[i].Small {
				continue
			}
			ps[i].Queues = append(ps[i].Queues, queueLike(ps[i].Queues, q))
			added = true
		}
		if !added && len(ps) > 0 {
			ps[0].Queues = append(ps[0].Queues, queueLike(ps[0].Queues, q))
		}
	}
}

// queueLike writes q in the style of qs: weighted if qs is.
func queueLike(qs []Queue, q Queue) Queue {
	weighted := len(qs) > 0 && qs[0].Weight > 0
	switch {
	case weighted && q.Weight == 0:
		q.Weight = 1
	case !weighted:
		q.Weight = 0
	}
	return q
}

// mergeSmalls puts every small process's queues into the one that listens
// on scheduler (scheduler first), so one small process is left.
func (p *planning) mergeSmalls(ps []Process) []Process {
	keep := -1
	for i, pr := range ps {
		if pr.Small && (keep < 0 || hasQueue(pr.Queues, "scheduler")) {
			keep = i
		}
	}
	var out []Process
	var merged []string
	for i, pr := range ps {
		if !pr.Small || i == keep {
			out = append(out, pr)
			continue
		}
		merged = append(merged, pr.Name)
	}
	for i := range out {
		if out[i].Name != ps[keep].Name {
			continue
		}
		for _, pr := range ps {
			if pr.Small && pr.Name != ps[keep].Name {
				for _, q := range pr.Queues {
					if !hasQueue(out[i].Queues, q.Name) {
						out[i].Queues = append(out[i].Queues, queueLike(out[i].Queues, q))
					}
				}
			}
		}
		p.Notes = append(p.Notes, fmt.Sprintf("merged %s into %s: this machine holds one small sidekiq process beside the workers", strings.Join(merged, ", "), out[i].Name))
	}
	return out
}

// mergeAll makes one process of everything: the first worker, with every
// other process's queues after its own.
func (p *planning) mergeAll(ps []Process) []Process {
	first := 0
	for i, pr := range ps {
		if !pr.Small {
			first = i
			break
		}
	}
	one := ps[first]
	one.Small, one.Replicas = false, 0
	var merged []string
	for i, pr := range ps {
		if i == first {
			continue
		}
		merged = append(merged, pr.Name)
		for _, q := range pr.Queues {
			if !hasQueue(one.Queues, q.Name) {
				one.Queues = append(one.Queues, queueLike(one.Queues, q))
			}
		}
	}
	if len(merged) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("merged %s into %s: one sidekiq process is all this machine holds", strings.Join(merged, ", "), one.Name))
	}
	return []Process{one}
}

// grow adds n workers in the admin's naming style, after the last worker.
func (p *planning) grow(ps []Process, n int) []Process {
	var workers []Process
	last := -1
	for i, pr := range ps {
		if !pr.Small {
			workers = append(workers, pr)
			last = i
		}
	}
	// An admin who scales by replicas gets more replicas (and a shrink
	// takes replicas first, so the two undo each other).
	for i := len(ps) - 1; i >= 0; i-- {
		if !ps[i].Small && ps[i].processes() > 1 {
			ps[i].Replicas += n
			p.Notes = append(p.Notes, fmt.Sprintf("%s: %d replicas: this machine holds %d sidekiq worker processes", ps[i].Name, ps[i].Replicas, len(workers)-1+ps[i].Replicas+countOtherReplicas(workers, ps[i].Name)))
			return ps
		}
	}
	weighted := len(workers[0].Queues) > 0 && workers[0].Queues[0].Weight > 0
	var candidates [][]Queue
	if weighted || !StrictOrder(p.Version) && !p.Version.Unknown {
		// Identical weighted workers: more of the first one (never
		// its scheduler: one process listens there).
		for i := 0; i < n; i++ {
			candidates = append(candidates, dropQueue(workers[0].Queues, "scheduler"))
		}
	} else {
		have := map[string]bool{}
		led := map[string]bool{}
		for _, w := range workers {
			have[sidekiq.Spec(w.Queues)] = true
			led[w.Queues[0].Name] = true
		}
		// An admin's split grows in its own shape: full orderings,
		// default leading some (not the default-alone worker auto plans).
		orderings := legacyOrderings(p.Version)
		room := max(0, len(orderings)-len(workers))
		// First one ordering for each queue nobody leads yet, then the
		// rest in order: as permuted interleaves its leaders.
		for pass := 0; pass < 2; pass++ {
			for _, o := range orderings {
				qs := make([]Queue, len(o))
				for i, name := range o {
					qs[i] = Queue{Name: name}
				}
				if have[sidekiq.Spec(qs)] || pass == 0 && led[o[0]] {
					continue
				}
				have[sidekiq.Spec(qs)], led[o[0]] = true, true
				candidates = append(candidates, qs)
			}
		}
		if len(candidates) > room {
			candidates = candidates[:room]
		}
	}
	if len(candidates) > n {
		candidates = candidates[:n]
	}
	if len(candidates) == 0 {
		return ps
	}
	namer := nameStyle(workers)
	var added []Process
	var names []string
	for _, qs := range candidates {
		name := namer(qs, append(ps, added...))
		added = append(added, Process{Name: name, Queues: qs})
		names = append(names, name)
	}
	out := append(append(append([]Process(nil), ps[:last+1]...), added...), ps[last+1:]...)
	p.Notes = append(p.Notes, fmt.Sprintf("added %s: this machine holds %d sidekiq worker processes, the file ran %d", strings.Join(names, ", "), len(workers)+len(added), len(workers)))
	return out
}

var trailingNumber = regexp.MustCompile(`^(.*?)(\d+)$`)

// nameStyle returns how the admin names workers: by their queues
// (sidekiq-default-push-pull: a prefix and the queues), by leading queue
// (sidekiq-default), by number (worker-1, worker2: the next number), or a
// plain name with -2, -3.
func nameStyle(workers []Process) func(qs []Queue, taken []Process) string {
	prefix, byQueues := "", true
	for _, w := range workers {
		tail := "-" + strings.Join(sidekiq.QueueNames(w.Queues), "-")
		if !strings.HasSuffix(w.Name, tail) {
			byQueues = false
			break
		}
		prefix = strings.TrimSuffix(w.Name, tail)
	}
	if byQueues && prefix != "" {
		return func(qs []Queue, taken []Process) string {
			return uniqueName(prefix+"-"+strings.Join(sidekiq.QueueNames(qs), "-"), taken)
		}
	}
	// By leading queue: sidekiq-default, sidekiq-pull.
	prefix, byLeader := "", true
	for _, w := range workers {
		tail := "-" + w.Queues[0].Name
		if !strings.HasSuffix(w.Name, tail) {
			byLeader = false
			break
		}
		prefix = strings.TrimSuffix(w.Name, tail)
	}
	if byLeader && prefix != "" {
		return func(qs []Queue, taken []Process) string {
			return uniqueName(prefix+"-"+qs[0].Name, taken)
		}
	}
	if m := trailingNumber.FindStringSubmatch(workers[len(workers)-1].Name); m != nil {
		return func(_ []Queue, taken []Process) string {
			n, _ := strconv.Atoi(m[2])
			for {
				n++
				if name := m[1] + strconv.Itoa(n); !nameTaken(name, taken) {
					return name
				}
			}
		}
	}
	return func(_ []Queue, taken []Process) string { return uniqueName(workers[0].Name, taken) }
}

// uniqueName is name, or name-2, name-3 ... when a process has it. A
// name that is already numbered (sidekiq-default-2) continues its own
// numbering (sidekiq-default-3), never sidekiq-default-2-2.
func uniqueName(name string, ps []Process) string {
	if !nameTaken(name, ps) {
		return name
	}
	base, n := name, 1
	if m := dashNumber.FindStringSubmatch(name); m != nil {
		base = m[1]
		n, _ = strconv.Atoi(m[2])
	}
	for n++; ; n++ {
		if c := fmt.Sprintf("%s-%d", base, n); !nameTaken(c, ps) {
			return c
		}
	}
}

var dashNumber = regexp.MustCompile(`^(.+)-(\d+)$`)

func nameTaken(name string, ps []Process) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// countOtherReplicas is the extra processes (replicas beyond one) of the
// workers other than name.
func countOtherReplicas(workers []Process, name string) int {
	n := 0
	for _, w := range workers {
		if w.Name != name {
			n += w.processes() - 1
		}
	}
	return n
}

func totalProcesses(ps []Process) int {
	n := 0
	for _, p := range ps {
		n += p.processes()
	}
	return n
}
