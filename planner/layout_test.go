package planner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Mastodon 3.x's orderings: default first in each, push and pull behind
// it in both orders (config/sidekiq.yml's weight order first). The
// legacy ones are seed 001's: every permutation but those with default
// last; the default-alone ones the first surge benchmark's.
func TestOrderingsV3(t *testing.T) {
	v := Version{Major: 3, Minor: 4, Patch: 0}
	for _, c := range []struct {
		style orderStyle
		want  []string
	}{
		{defaultLed, []string{"default-push-pull", "default-pull-push"}},
		{defaultAlone, []string{"default", "pull-default-push", "push-default-pull"}},
		{interleaved, []string{"default-push-pull", "pull-default-push", "push-default-pull", "default-pull-push"}},
	} {
		var got []string
		for _, o := range orderingsOf(v, nil, c.style) {
			got = append(got, strings.Join(o, "-"))
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("style %d (-want +got):\n%s", c.style, diff)
		}
	}
	if diff := cmp.Diff(orderingsOf(v, nil, interleaved), legacyOrderings(v)); diff != "" {
		t.Errorf("legacyOrderings: %s", diff)
	}
}

// From Mastodon 4.0: default first in all 3! = 6 orderings of
// push/ingress/pull, the first three the rotations, so three workers give
// each of them the place behind default once; a measured backlog puts the
// most backed-up queue right behind default first.
func TestOrderingsV4(t *testing.T) {
	v := Version{Major: 4, Minor: 3, Patch: 0}
	os := Orderings(v)
	if len(os) != 6 {
		t.Fatalf("got %d orderings, want 6", len(os))
	}
	var got []string
	for _, o := range os {
		got = append(got, strings.Join(o, "-"))
	}
	want := []string{"default-push-ingress-pull", "default-ingress-pull-push", "default-pull-push-ingress", "default-push-pull-ingress", "default-ingress-push-pull", "default-pull-ingress-push"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if o := orderingsBy(v, map[string]int{"pull": 40000, "ingress": 10}); strings.Join(o[0], "-") != "default-pull-ingress-push" {
		t.Errorf("with pull backed up, the first ordering is %v", o[0])
	}
	// Files written with default alone are still permuted, and re-planned.
	alone := aloneLayout(v, 3)
	if alone[0].Name != "sidekiq-default" || len(alone[0].Queues) != 1 {
		t.Errorf("the default-alone layout starts with %+v", alone[0])
	}
}

func TestRecogniseOwnLayouts(t *testing.T) {
	for _, v := range []Version{{Major: 3, Minor: 2, Patch: 0}, {Major: 3, Minor: 4, Patch: 6}, {Major: 4, Minor: 3, Patch: 0}, {Major: 4, Minor: 4, Patch: 1}} {
		for name, ps := range map[string][]Process{
			"per-queue":                              perQueueLayout(v),
			"permuted":                               permutedLayout(v, 3),
			"permuted as planned with default alone": aloneLayout(v, 3),
			"weighted":                               weightedLayout(v, 2),
		} {
			var existing []existingProcess
			for _, p := range ps {
				existing = append(existing, existingProcess{Service: p.Name, Queues: p.Queues})
			}
			got, ok := recognise(existing, v)
			if !ok || string(got) != strings.Fields(name)[0] {
				t.Errorf("%v %s: recognised as %q, %v", v, name, got, ok)
			}
		}
	}
	// Seed 001's hand split (mailers also on scheduler) is not ours.
	hand := []existingProcess{
		{Service: "sidekiq-mailers", Queues: []Queue{{Name: "mailers"}, {Name: "scheduler"}}},
		{Service: "sidekiq-scheduler", Queues: []Queue{{Name: "scheduler"}}},
		{Service: "sidekiq-default-push-pull", Queues: []Queue{{Name: "default"}, {Name: "push"}, {Name: "pull"}}},
	}
	if s, ok := recognise(hand, Version{Major: 3, Minor: 4, Patch: 6}); ok {
		t.Errorf("a hand split was recognised as %s", s)
	}
	// Nor is the permuted layout before default had a worker of its own:
	// it is also the hand recipe corrected, kept as the admin's.
	for _, v := range []Version{{Major: 3, Minor: 4, Patch: 6}, {Major: 4, Minor: 3, Patch: 0}} {
		var legacy []existingProcess
		for _, p := range legacyPermutedLayout(v, 4) {
			legacy = append(legacy, existingProcess{Service: p.Name, Queues: p.Queues})
		}
		if s, ok := recognise(legacy, v); ok {
			t.Errorf("%v: the legacy permuted layout was recognised as %s", v, s)
		}
		if !legacyPermuted(legacy, v) {
			t.Errorf("%v: the legacy permuted layout was not told apart", v)
		}
	}
}

// fasp's jobs exist only behind an experimental flag: no strategy spends a
// process on it; it shares the mailers process.
func TestFaspNeverHasAProcess(t *testing.T) {
	for _, st := range Strategies {
		for _, v := range []string{"v4.4.0", "v4.7.0", "latest"} {
			p, err := Make(Input{Services: stock(v), Machine: Machine{16 * GiB, 8}, Strategy: st})
			if err != nil {
				t.Fatalf("%s %s: %v", v, st, err)
			}
			found := false
			for _, pr := range p.Sidekiq {
				if hasQueue(pr.Queues, "fasp") {
					found = true
					if !hasQueue(pr.Queues, "mailers") && !hasQueue(pr.Queues, "default") {
						t.Errorf("%s %s: %s holds fasp without mailers: %v", v, st, pr.Name, pr.Queues)
					}
				}
			}
			if !found {
				t.Errorf("%s %s: nothing listens on fasp", v, st)
			}
		}
	}
	// A per-queue file written before, with its own sidekiq-fasp, is
	// still recognised as per-queue and re-planned without it.
	old := perQueueLayoutWithFasp(Version{Major: 4, Minor: 4})
	if s, ok := recognise(existingOf(old), Version{Major: 4, Minor: 4}); !ok || s != PerQueue {
		t.Errorf("the older per-queue layout: %v %v", s, ok)
	}
}

func existingOf(ps []Process) []existingProcess {
	var out []existingProcess
	for _, p := range ps {
		out = append(out, existingProcess{Service: p.Name, Queues: p.Queues})
	}
	return out
}

func TestDerivedName(t *testing.T) {
	for _, tc := range []struct{ name, src, copy, want string }{
		{"mastodon-sidekiq", "sidekiq", "sidekiq-mailers", "mastodon-sidekiq-mailers"},
		// The template renamed on an earlier run: the same name again.
		{"mastodon-sidekiq", "sidekiq-default-push-pull", "sidekiq-mailers", "mastodon-sidekiq-mailers"},
		{"${COMPOSE_PROJECT_NAME}-streaming", "streaming", "streaming-2", "${COMPOSE_PROJECT_NAME}-streaming-2"},
		{"social-worker-default", "worker-default", "worker-pull", "social-worker-pull"},
		{"sidekiq", "sidekiq", "sidekiq-scheduler", "sidekiq-scheduler"},
		{"jobs", "sidekiq", "sidekiq-mailers", "jobs-sidekiq-mailers"},
		{"mastodonsidekiq", "worker", "sidekiq-pull", "mastodonsidekiq-sidekiq-pull"}, // no boundary: appended
	} {
		if got := derivedName(tc.name, tc.src, tc.copy); got != tc.want {
			t.Errorf("derivedName(%q, %q, %q) = %q, want %q", tc.name, tc.src, tc.copy, got, tc.want)
		}
	}
	taken := map[string]bool{"container_name=mastodon-sidekiq-mailers": true}
	cs := copyIdentity(identity{ContainerName: "mastodon-sidekiq"}, "sidekiq", "sidekiq-mailers", taken)
	if len(cs) != 1 || cs[0].Value != "mastodon-sidekiq-mailers-2" {
		t.Errorf("a taken name: %+v", cs)
	}
}

// With a measured backlog, the backed-up queue leads: the first ordering
// of permuted, the top weight and first place of weighted; measured
// memory replaces the estimate (and a flag's estimate wins over it).
func TestMeasuredFactsShapeThePlan(t *testing.T) {
	// Readings whose 90th percentile is 700 MB less a sixth: planned at
	// 700 MB with the fifth of headroom.
	p90 := int64(700*MiB) * 5 / 6
	m := &Measured{SidekiqRSS: []int64{200 * MiB, p90, p90}, Readings: 1, SidekiqProcesses: 3, Backlog: map[string]int{"pull": 40000}}
	p, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{16 * GiB, 8}, Measured: m, PgBouncer: ToggleOff})
	if err != nil {
		t.Fatal(err)
	}
	if p.Sidekiq[0].Queues[1].Name != "pull" || p.Estimates.SidekiqProcess != WithHeadroom(p90) || len(p.MeasuredFigures) != 2 {
		t.Errorf("permuted: first %v, estimate %d, figures %q", p.Sidekiq[0].Queues, p.Estimates.SidekiqProcess, p.MeasuredFigures)
	}
	p, err = Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}, Measured: m, Strategy: Weighted})
	if err != nil {
		t.Fatal(err)
	}
	if q := p.Sidekiq[0].Queues; q[0].Name != "pull" || q[0].Weight != 8 {
		t.Errorf("weighted: %v", q)
	}
	p, _ = Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}, Measured: m, Estimates: Estimates{SidekiqProcess: 400 * MiB}})
	if p.Estimates.SidekiqProcess != 400*MiB {
		t.Errorf("--estimate-sidekiq lost to the measurement: %d", p.Estimates.SidekiqProcess)
	}
	checkInvariants(t, p, true)
}

// A numbered name continues its numbering.
func TestUniqueNameContinuesNumbering(t *testing.T) {
	taken := []Process{{Name: "sidekiq-default"}, {Name: "sidekiq-default-2"}}
	for name, want := range map[string]string{"sidekiq-default-2": "sidekiq-default-3", "sidekiq-default": "sidekiq-default-3", "sidekiq-pull": "sidekiq-pull"} {
		if got := uniqueName(name, taken); got != want {
			t.Errorf("uniqueName(%s) = %s, want %s", name, got, want)
		}
	}
}

// A queue no release has and no release's queue is likely misspelt as is
// the fork's own: kept, one listener, said so; a near miss stays an error.
func TestForkQueues(t *testing.T) {
	img := "tootsuite/mastodon:v3.4.6"
	fork := func(cmd string) []Service {
		return []Service{
			{Name: "db", Image: "postgres:9.6-alpine"}, {Name: "redis", Image: "redis:6-alpine"},
			{Name: "web", Image: img, Command: strings.Fields("bundle exec rails s -p 3000")},
			{Name: "sidekiq", Image: img, Command: strings.Fields(cmd)},
			{Name: "sidekiq-2", Image: img, Command: strings.Fields("bundle exec sidekiq -q push -q remove")},
		}
	}
	for _, m := range []Machine{{4 * GiB, 2}, {16 * GiB, 8}} {
		p, err := Make(Input{Services: fork("bundle exec sidekiq -q default -q mailers -q pull -q scheduler -q remove"), Machine: m})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range p.Sidekiq {
			if hasQueue(s.Queues, "remove") {
				n += s.processes()
			}
		}
		if n != 1 {
			t.Errorf("%v: %d processes listen on the fork's queue remove, want 1: %v", m, n, p.Sidekiq)
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "queue remove is in no Mastodon release") {
			t.Errorf("%v: no note says remove is the fork's own", m)
		}
		checkInvariants(t, p, true)
	}
	for _, typo := range []string{"mailer", "defualt", "pusher", "schedule"} {
		_, err := Make(Input{Services: fork("bundle exec sidekiq -q default -q mailers -q pull -q scheduler -q " + typo), Machine: Machine{4 * GiB, 2}})
		if err == nil || !strings.Contains(err.Error(), "did you mean") {
			t.Errorf("-q %s: %v, want a near miss refused", typo, err)
		}
	}
}

// A second worker a core where memory holds it and every worker keeps the
// full thread cap; one a core, sharing the threads, where connections
// bind; and WorkersPerCore 1 is the old rule.
func TestSecondWorkerACore(t *testing.T) {
	workers := func(p *Plan) (n, threads int) {
		for _, s := range p.Sidekiq {
			if !s.Small {
				n += s.processes()
				threads += s.Concurrency * s.processes()
			}
		}
		return n, threads
	}
	for _, c := range []struct {
		name    string
		in      Input
		n, conc int // workers and each one's -c
	}{
		// g-2vcpu-8gb: memory holds six processes: four workers at 25.
		{"8 GB, 2 CPUs", Input{Machine: Machine{8 * GiB, 2}}, 4, maxConcurrency},
		{"8 GB, 2 CPUs, one a core", Input{Machine: Machine{8 * GiB, 2}, WorkersPerCore: 1}, 2, maxConcurrency},
		// s-2vcpu-4gb: memory holds three processes: two workers.
		{"4 GB, 2 CPUs", Input{Machine: Machine{4 * GiB, 2}}, 2, maxConcurrency},
		// max_connections 100 leaves 55 threads beside web, streaming and
		// the small processes: two workers at the cap, not four.
		{"8 GB, 2 CPUs, max_connections 100", Input{Machine: Machine{8 * GiB, 2}, MaxConnections: 100, PgBouncer: ToggleOff}, 2, maxConcurrency},
		// max_connections 60 leaves 20: one worker a core shares them.
		{"8 GB, 2 CPUs, max_connections 60", Input{Machine: Machine{8 * GiB, 2}, MaxConnections: 60, PgBouncer: ToggleOff}, 2, minWorkerThreads},
		// 16 GB, 4 CPUs: memory holds seven workers, connections 250
		// hold them at 25 each.
		{"16 GB, 4 CPUs", Input{Machine: Machine{16 * GiB, 4}}, 7, maxConcurrency},
	} {
		c.in.Services = stock("v4.3.0")
		p, err := Make(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkInvariants(t, p, true)
		n, threads := workers(p)
		if n != c.n || threads != c.n*c.conc {
			t.Errorf("%s: %d workers with %d threads, want %d at %d", c.name, n, threads, c.n, c.conc)
		}
		for _, s := range p.Sidekiq {
			if !s.Small && s.Queues[0].Name != "default" {
				t.Errorf("%s: %s does not lead with default", c.name, s.Name)
			}
		}
	}
}
