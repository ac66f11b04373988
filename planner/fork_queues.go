package planner

import (
	"fmt"
	"sort"
)

// everyReleaseQueue is every queue any release from Oldest to Newest has.
var everyReleaseQueue = func() map[string]bool {
	m := map[string]bool{}
	for _, q := range QueuesFor(UnknownVersion) {
		m[q.Name] = true
	}
	return m
}()

// nearMiss is the release queue a name is likely a misspelling of (edit
// distance 2 or less, or one a prefix of the other: mailer for mailers),
// "" when it is none's.
func nearMiss(name string) string {
	var names []string
	for q := range everyReleaseQueue {
		names = append(names, q)
	}
	sort.Strings(names)
	for _, q := range names {
		short, long := name, q
		if len(short) > len(long) {
			short, long = long, short
		}
		if editDistance(name, q) <= 2 || len(short) >= 3 && long[:len(short)] == short {
			return q
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// placeForkQueues keeps each of the fork's own queues listened on by
// exactly one process: where the file had it (the first such process),
// else beside mailers, whose process carries a trickle of jobs, as a
// fork's extra queue usually does.
func (p *planning) placeForkQueues(ps []Process) []Process {
	for _, q := range p.ForkQueues {
		at := -1
		for i := range ps {
			if !hasQueue(ps[i].Queues, q.Name) {
				continue
			}
			if at < 0 {
				at = i
				continue
			}
			ps[i].Queues = dropQueue(ps[i].Queues, q.Name)
		}
		if at < 0 {
			at = len(ps) - 1
			for i := range ps {
				if hasQueue(ps[i].Queues, "mailers") {
					at = i
					break
				}
			}
			ps[at].Queues = append(ps[at].Queues, queueLike(ps[at].Queues, Queue{Name: q.Name, Weight: q.Weight}))
		}
		p.Notes = append(p.Notes, fmt.Sprintf("queue %s is in no Mastodon release and is no likely misspelling of one: taken for the fork's own queue, listened on by %s alone", q.Name, ps[at].Name))
	}
	return ps
}

// withoutForkQueues is the file's processes as a layout of compose-scale's
// would have them: without the fork's queues, which a re-run places again.
func withoutForkQueues(existing []existingProcess, fork []Queue) []existingProcess {
	if len(fork) == 0 {
		return existing
	}
	out := make([]existingProcess, len(existing))
	for i, e := range existing {
		out[i] = e
		out[i].Queues = nil
		for _, q := range e.Queues {
			if !hasQueue(fork, q.Name) {
				out[i].Queues = append(out[i].Queues, q)
			}
		}
	}
	return out
}
