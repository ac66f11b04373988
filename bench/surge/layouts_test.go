package main

import (
	"slices"
	"strings"
	"testing"
)

// The layouts a full run compares: stock and the hand recipe once, each
// droplet's plans, a strategy whose file is auto's run once (its name in
// SameAs), the planner's before for a droplet where auto is permuted, and
// per-queue named as not planned where the memory cannot hold it.
func TestLayouts(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ls, skipped, err := layouts(root, []string{"s-2vcpu-4gb", "g-2vcpu-8gb"})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]layout{}
	for _, l := range ls {
		key := l.Role + " " + l.Droplet
		if _, dup := by[key]; dup {
			t.Errorf("two layouts %q", key)
		}
		by[key] = l
	}
	for _, want := range []string{"stock ", "hand ", "auto s-2vcpu-4gb", "weighted s-2vcpu-4gb", "auto g-2vcpu-8gb", "per-queue g-2vcpu-8gb", "one-a-core g-2vcpu-8gb", "before g-2vcpu-8gb"} {
		if _, ok := by[want]; !ok {
			t.Errorf("no layout %q", want)
		}
	}
	if a := by["auto g-2vcpu-8gb"]; !slices.Contains(a.SameAs, "permuted") {
		t.Errorf("auto on g-2vcpu-8gb is not permuted's file: %+v", a.SameAs)
	}
	// s-2vcpu-4gb's memory holds two workers either way: one file.
	if a := by["auto s-2vcpu-4gb"]; !slices.Contains(a.SameAs, "one-a-core") {
		t.Errorf("auto on s-2vcpu-4gb is not one-a-core's file: %+v", a.SameAs)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "per-queue for s-2vcpu-4gb") {
		t.Errorf("not planned: %q", skipped)
	}
	// Auto's workers lead with default, two a core on 8 GB; one a core
	// has half of them; the before has one worker more than that, on
	// default alone, and the others led by a surge queue.
	auto, one, before := by["auto g-2vcpu-8gb"], by["one-a-core g-2vcpu-8gb"], by["before g-2vcpu-8gb"]
	workers := func(l layout) (n int) {
		for _, p := range l.Processes {
			if concurrency(p.Args) == 25 {
				n++
				if l.Role != "before" && p.Args[3] != "default" {
					t.Errorf("%s's worker %s: %q", l.Role, p.Service, p.Args)
				}
			}
		}
		return n
	}
	if a, o := workers(auto), workers(one); a != 4 || o != 2 {
		t.Errorf("workers: auto %d, one a core %d; want 4 and 2", a, o)
	}
	if len(before.Processes) != len(one.Processes)+1 || strings.Join(before.Processes[0].Args, " ") != "-c 25 -q default" || before.Processes[1].Args[3] != "ingress" {
		t.Errorf("the before layout: %+v", before.Processes)
	}
	if !slices.Equal(before.DBArgs, one.DBArgs) {
		t.Error("the before layout runs other Postgres flags than the plan it is built from")
	}
	// The hand recipe's six processes do not fit 4 GB beside Postgres's
	// half (the planner merges them into three there); stock fits both;
	// a plan fits its own droplet.
	for key, want := range map[string][]string{"hand ": {"g-2vcpu-8gb"}, "stock ": {"s-2vcpu-4gb", "g-2vcpu-8gb"}, "weighted s-2vcpu-4gb": {"s-2vcpu-4gb"}, "before g-2vcpu-8gb": {"g-2vcpu-8gb"}} {
		if got := by[key].Fits; !slices.Equal(got, want) {
			t.Errorf("%s fits %q, want %q", key, got, want)
		}
	}
}

// Every shape enqueues known kinds; every kind runs on a measured queue
// and fans out to known kinds; the popular post's fan-out is its size's.
func TestShapes(t *testing.T) {
	for _, sh := range shapes(fullSize) {
		ks := sh.kindsFor()
		for _, b := range sh.Bursts {
			if _, ok := ks[b.Kind]; !ok || b.Count <= 0 {
				t.Errorf("%s: burst %+v", sh.Name, b)
			}
		}
		for name, k := range ks {
			if !slices.Contains(queues, k.Queue) {
				t.Errorf("%s: kind %s on queue %q", sh.Name, name, k.Queue)
			}
			for _, c := range k.Fanout {
				if _, ok := ks[c.Kind]; !ok || c.P == 0 && c.Count.Median == 0 {
					t.Errorf("%s: %s fans out to %+v", sh.Name, name, c)
				}
			}
		}
		if sh.Name == "popular" && ks["ap_distribution"].Fanout[0].Count.Median != float64(fullSize.Inboxes) {
			t.Errorf("popular: %+v", ks["ap_distribution"])
		}
	}
	for kind := range steady {
		if _, ok := kinds[kind]; !ok {
			t.Errorf("steady stream of unknown kind %s", kind)
		}
	}
	if got, err := pickShapes(shapes(quickSize), "backlog,flood"); err != nil || len(got) != 2 || got[0].Name != "backlog" {
		t.Errorf("pickShapes: %v %v", got, err)
	}
	if _, err := pickShapes(shapes(quickSize), "surge"); err == nil {
		t.Error("an unknown shape was accepted")
	}
}

func TestSelects(t *testing.T) {
	l := layout{Name: "weighted, s-2vcpu-4gb", Role: "weighted", Droplet: "s-2vcpu-4gb"}
	for only, want := range map[string]bool{"": true, "weighted": true, "stock;weighted, s-2vcpu-4gb": true, "weighted, g-2vcpu-8gb": false, "auto": false} {
		if got := (options{Only: only}).selects(l); got != want {
			t.Errorf("--only %q: %v", only, got)
		}
	}
	if (options{Roles: []string{"auto"}}).selects(l) {
		t.Error("the quick run's roles let weighted in")
	}
}
