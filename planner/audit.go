package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

// Running is a deployment as an engine runs it (a Helm release's values, a
// Swarm stack): what check audits without planning anything.
type Running struct {
	Version Version
	// Workers are the sidekiq Deployments or services: each replica is a
	// process with Concurrency threads listening on Queues in order.
	Workers []Process
	// Web: Pods replicas of Processes Puma workers with Threads threads;
	// Streaming: Pods replicas of one process with a pool of Pool.
	WebPods, WebProcesses, WebThreads int
	StreamingPods, StreamingPool      int
	// WebSurge and StreamingSurge are the pods a rolling update adds.
	WebSurge, StreamingSurge int
	MaxConnections           int
}

// Audit is what check says of a running deployment: the connections its
// pods open against max_connections, how many processes listen on
// scheduler, and the queues nothing listens on (or that no release has).
type Audit struct {
	Connections, Limit int
	Schedulers         int
	Problems, Notes    []string
}

// AuditRunning holds a running deployment to the rules a plan keeps.
func AuditRunning(r Running) Audit {
	var a Audit
	f := mastodon.PoolsPerProcess(r.Version)
	listeners := map[string]int{}
	known := map[string]bool{}
	for _, q := range mastodon.QueuesFor(r.Version) {
		known[q.Name] = true
	}
	for _, w := range r.Workers {
		n := w.processes()
		a.Connections += n * w.Concurrency * f
		for _, q := range w.Queues {
			listeners[q.Name] += n
			if !known[q.Name] && !everyReleaseQueue[q.Name] {
				msg := fmt.Sprintf("%s listens on %q, which no Mastodon release has", w.Name, q.Name)
				if near := nearMiss(q.Name); near != "" {
					msg += fmt.Sprintf(" (%s?)", near)
				}
				a.Problems = append(a.Problems, msg)
			}
		}
	}
	web := (r.WebPods + r.WebSurge) * r.WebProcesses * r.WebThreads * f
	streaming := (r.StreamingPods + r.StreamingSurge) * r.StreamingPool
	a.Connections += web + streaming + migrationPool*f
	a.Schedulers = listeners["scheduler"]
	if mastodon.HasScheduler(r.Version) && a.Schedulers != 1 {
		a.Problems = append(a.Problems, fmt.Sprintf("%d processes listen on scheduler: exactly one must (with two, sidekiq-scheduler's every: jobs run twice; with none, no scheduled job runs)", a.Schedulers))
	}
	var missing []string
	for q := range known {
		if listeners[q] == 0 && (q != "scheduler" || mastodon.HasScheduler(r.Version)) {
			missing = append(missing, q)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		a.Problems = append(a.Problems, fmt.Sprintf("nothing listens on %s: their jobs stall forever", strings.Join(missing, ", ")))
	}
	if r.MaxConnections > 0 {
		a.Limit = SafeLimit(r.MaxConnections)
		if a.Connections > a.Limit {
			a.Problems = append(a.Problems, fmt.Sprintf("the pods open %d connections (a rolling update's surge and a migration job included), above the safe limit %d of max_connections %d", a.Connections, a.Limit, r.MaxConnections))
		}
	}
	a.Notes = append(a.Notes, fmt.Sprintf("connections: sidekiq %d, web %d, streaming %d, a migration job %d", a.Connections-web-streaming-migrationPool*f, web, streaming, migrationPool*f))
	return a
}
