package rewrite

import (
	"strconv"
	"testing"

	"github.com/aymanbagabas/go-udiff"
	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Admins' own splits, and files with replicas, at every size and strategy:
// the output loads, would start, holds every invariant; its rewrite is
// byte-identical; and resizing a rewritten file, either way, gives what
// rewriting the original at the new size gives.
var handSplits = []string{"handsplit-v3.4", "seeds4-v4.3", "forms-v4.3", "replicas-v4.3", "scale-v4.3"}

var sizes = []string{"s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb", "s-8vcpu-16gb", "g-16vcpu-64gb"}

func TestHandSplitsAtEverySize(t *testing.T) {
	strategies := []planner.Strategy{planner.Auto, planner.PerQueue, planner.Permuted, planner.Weighted}
	if testing.Short() {
		strategies = strategies[:1] // go test -short: auto only; CI runs them all
	}
	fixtures := handSplits
	if testing.Short() {
		fixtures = []string{"handsplit-v3.4", "replicas-v4.3"} // CI runs every hand split
	}
	for _, fx := range fixtures {
		for _, st := range strategies {
			t.Run(fx+"/"+string(st), func(t *testing.T) {
				t.Parallel() // each case is independent: two cores halve the wall time
				handSplitCase(t, fx, st)
			})
		}
	}
}

func handSplitCase(t *testing.T, fx string, st planner.Strategy) {
	outputs := map[string][]byte{}
	for _, droplet := range sizes {
		name := fx + "/" + string(st) + "/" + droplet
		path, src := fixture(t, fx)
		in := input(t, droplet, st)
		res, err := Rewrite(path, src, in)
		if err != nil {
			if st == planner.Auto {
				t.Errorf("%s: auto refused: %v", name, err)
			}
			continue // a forced strategy may not fit, and says so
		}
		outputs[droplet] = res.Output
		for _, p := range startProblems(res.Output) {
			t.Errorf("%s: %s", name, p)
		}
		holdsUnder(func(f string, a ...any) { t.Errorf(name+": "+f, a...) }, res.Plan.Version, parsed(t, res.Output), in.Machine, maxConnections(t, parsed(t, res.Output)))
		again, err := Rewrite(path, res.Output, in)
		if err != nil {
			t.Errorf("%s: rewriting the output: %v", name, err)
			continue
		}
		if again.Changed() {
			t.Errorf("%s: the second rewrite is not a no-op:\n%s", name, udiff.Unified("first", "second", string(res.Output), string(again.Output)))
		}
	}
	// Resizing, both ways: every size's output rewritten for each size
	// up to two steps away equals the original rewritten for it. A split
	// merged on a small machine comes back on a bigger one (comeback.go).
	for i := range sizes {
		for j := max(i-2, 0); j < min(i+3, len(sizes)); j++ {
			from, to := sizes[i], sizes[j]
			if i == j || outputs[from] == nil || outputs[to] == nil {
				continue
			}
			path, _ := fixture(t, fx)
			resized, err := Rewrite(path, outputs[from], input(t, to, st))
			if err != nil {
				t.Errorf("%s/%s: %s then %s: %v", fx, st, from, to, err)
				continue
			}
			// shm_size is raised, never lowered (README): a shrink
			// keeps what a bigger machine set.
			// A forced strategy makes the admin's services its own:
			// which of them a planned one was renamed from (and so
			// how its command is spelt) may differ; its queues and
			// threads may not.
			if diff := cmp.Diff(meaning(t, outputs[to]), meaning(t, resized.Output), cmpopts.IgnoreFields(compose.Service{}, "ShmSize", "Has")); diff != "" {
				t.Errorf("%s/%s: %s then %s differs from %s directly (-direct +resized):\n%s", fx, st, from, to, to, diff)
			}
		}
	}
}

// meaning is services with each sidekiq command reduced to its -c and
// queues: what it runs, not how it is spelt.
func meaning(t *testing.T, src []byte) map[string]compose.Service {
	t.Helper()
	out := services(t, src)
	for name, s := range out {
		if !planner.IsSidekiq(s.Command) {
			continue
		}
		c, err := planner.ParseSidekiqCommand(s.Command)
		if err != nil {
			t.Fatal(err)
		}
		s.Command = []string{"sidekiq", "-c", strconv.Itoa(c.Concurrency)}
		for _, q := range c.Queues {
			s.Command = append(s.Command, "-q", q.Name+","+strconv.Itoa(q.Weight))
		}
		s.CommandIsList = false
		out[name] = s
	}
	return out
}
