package mastodon

import "github.com/compose-scale/compose-scale/planner/sidekiq"

// Queue is a Sidekiq queue; QueuesFor gives each of Mastodon's the weight
// config/sidekiq.yml gives it (1 where the file gives none: Sidekiq's own
// default for an unweighted queue).
type Queue = sidekiq.Queue

// QueuesFor returns Mastodon's queues for version v in config/sidekiq.yml
// order (heaviest weight first). Listening on every one of these is required:
// a queue nobody listens on stalls forever.
//
// An unknown version gets every queue any version has: a process listening
// on a queue its version never fills costs nothing, a queue nobody listens
// on stalls.
func QueuesFor(v Version) []Queue {
	switch {
	case v.Unknown:
		return []Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2}, {Name: "pull", Weight: 1}, {Name: "scheduler", Weight: 1}, {Name: "fasp", Weight: 1}}
	case !v.AtLeast(3, 3):
		// Before 3.3 there is no scheduler queue: every process runs the
		// cron jobs itself.
		return []Queue{{Name: "default", Weight: 6}, {Name: "push", Weight: 4}, {Name: "mailers", Weight: 2}, {Name: "pull", Weight: 1}}
	case !v.AtLeast(4, 0):
		return []Queue{{Name: "default", Weight: 6}, {Name: "push", Weight: 4}, {Name: "mailers", Weight: 2}, {Name: "pull", Weight: 1}, {Name: "scheduler", Weight: 1}}
	case !v.AtLeast(4, 4):
		return []Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2}, {Name: "pull", Weight: 1}, {Name: "scheduler", Weight: 1}}
	default:
		return []Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2}, {Name: "pull", Weight: 1}, {Name: "scheduler", Weight: 1}, {Name: "fasp", Weight: 1}}
	}
}

// HasScheduler reports whether version v has the scheduler queue, which
// exactly one process must listen on.
// An unknown version may have it, so it is planned with one listener.
func HasScheduler(v Version) bool { return v.Unknown || v.AtLeast(3, 3) }

// LowVolume queues carry a trickle of jobs: they get one small process (or
// share one) rather than a full 25-thread worker.
var LowVolume = map[string]bool{"mailers": true, "scheduler": true, "fasp": true}

// HotQueues returns the high-volume queues of v, most important first: the
// orderings the permuted strategy builds its workers from.
func HotQueues(v Version) []string {
	if v.Unknown || v.AtLeast(4, 0) {
		return []string{"default", "ingress", "pull", "push"}
	}
	return []string{"default", "pull", "push"}
}
