package main

import (
	"fmt"
	"strings"
)

// A shape is one kind of surge: the jobs put on the queues at once (each
// with everything it fans out to, counted as the surge), over the same
// steady stream.
type shape struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Bursts      []burst `json:"bursts"`
	// Kinds overrides kinds for this shape (the popular post's fan-out).
	Kinds map[string]kind `json:"-"`
}

// burst is Count jobs of Kind enqueued at the surge's start.
type burst struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// steady is the stream under every shape, per second: a small instance's
// everyday load (timelines and notifications on default, deliveries on
// push, a little mail, the cron jobs every 5 s).
var steady = map[string]float64{
	"feed_insert": 15,
	"notify":      5,
	"deliver":     20,
	"mail":        1,
	"scheduler":   0.2,
}

// size is how big the shapes are: the full run's, or quick's for CI.
type size struct {
	Statuses int // flood: status (ingress) and fetch (pull) jobs, each
	Posts    int // popular: local posts
	Inboxes  int // popular: remote inboxes per post
	Local    int // popular: local followers per post
	Backlog  int // backlog: jobs per queue
}

var (
	// 2 cores drain the full run's in about 15 s with auto's layouts, the
	// quick run's in about 10.
	fullSize  = size{Statuses: 250, Posts: 1, Inboxes: 1500, Local: 300, Backlog: 500}
	quickSize = size{Statuses: 150, Posts: 1, Inboxes: 800, Local: 200, Backlog: 300}
)

// shapes are the three surges issue 20 names.
func shapes(s size) []shape {
	popular := map[string]kind{}
	pd, ad := kinds["post_distribution"], kinds["ap_distribution"]
	pd.Fanout = []child{{Kind: "feed_insert", Count: dist{Median: float64(s.Local)}}}
	ad.Fanout = []child{{Kind: "deliver", Count: dist{Median: float64(s.Inboxes)}}}
	popular["post_distribution"], popular["ap_distribution"] = pd, ad
	return []shape{
		{Name: "flood", Description: fmt.Sprintf("a federated flood: %d statuses on ingress and %d fetched on pull, each distributed to its local followers (a heavy-tailed count) on default, with link cards on pull", s.Statuses, s.Statuses),
			Bursts: []burst{{"status", s.Statuses}, {"fetch", s.Statuses}}},
		{Name: "popular", Description: fmt.Sprintf("a popular local post, %d times: each delivered to %d remote inboxes on push (3%% time out after 5 s) and to %d local followers' feeds on default", s.Posts, s.Inboxes, s.Local),
			Bursts: []burst{{"post_distribution", s.Posts}, {"ap_distribution", s.Posts}}, Kinds: popular},
		{Name: "backlog", Description: fmt.Sprintf("a backlog after downtime: every queue full at once, %d feed inserts on default, %d deliveries on push, %d statuses on ingress and %d fetches on pull (with their fan-out), and %d mails", s.Backlog, s.Backlog, s.Backlog/2, s.Backlog/2, s.Backlog/10),
			Bursts: []burst{{"feed_insert", s.Backlog}, {"deliver", s.Backlog}, {"status", s.Backlog / 2}, {"fetch", s.Backlog / 2}, {"mail", s.Backlog / 10}}},
	}
}

// kindsFor is the kinds a shape runs: the common ones with its overrides.
func (sh shape) kindsFor() map[string]kind {
	out := make(map[string]kind, len(kinds))
	for n, k := range kinds {
		out[n] = k
	}
	for n, k := range sh.Kinds {
		out[n] = k
	}
	return out
}

// pickShapes is --shapes: a comma-separated list of names, or all.
func pickShapes(all []shape, names string) ([]shape, error) {
	if names == "" {
		return all, nil
	}
	var out []shape
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, s := range all {
			if s.Name == strings.TrimSpace(n) {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown shape %q: use flood, popular or backlog", n)
		}
	}
	return out, nil
}
