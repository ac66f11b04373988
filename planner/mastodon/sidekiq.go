package mastodon

// The Sidekiq each Mastodon release runs (its Gemfile.lock), and the
// behaviours that follow from it (Sidekiq's lib/sidekiq/cli.rb at 6.0 and
// 6.1 for the order of repeated -q, at 6.5 and 7.0 for a queue given
// twice).

// SidekiqMajor is the Sidekiq major version Mastodon v runs: 5 up to
// 3.1.2, 6 up to 4.3, 7 in 4.4, 8 from 4.5. An unknown version reports 0.
func SidekiqMajor(v Version) int {
	switch {
	case v.Unknown:
		return 0
	case !v.AtLeastPatch(3, 1, 3):
		return 5
	case !v.AtLeast(4, 4):
		return 6
	case !v.AtLeast(4, 5):
		return 7
	}
	return 8
}

// StrictOrder reports whether repeated -q flags are a strict priority
// order: from Sidekiq 6.1 (Mastodon 3.1.5). Before it, Sidekiq shuffles
// the queues it was given, so an "ordering" is only a set. An unknown
// version might be either.
func StrictOrder(v Version) bool { return v.AtLeastPatch(3, 1, 5) }

// AcceptsDuplicateQueues reports whether Sidekiq starts with a queue
// listed twice in one process: 7 and later do, 6 and earlier stop at boot
// ("cannot be defined twice"). An unknown version might be 6.
func AcceptsDuplicateQueues(v Version) bool { return SidekiqMajor(v) >= 7 }

// PoolsPerProcess is how many database pools one Rails process opens to
// the primary: two in Mastodon 4.2.0 only (fixed in 4.2.1), so every Rails
// pool costs twice its size in connections there. An unknown version is
// planned for that worst case.
func PoolsPerProcess(v Version) int {
	if v.Unknown && !v.AtLeastPatch(4, 2, 1) || v.Major == 4 && v.Minor == 2 && v.Patch == 0 && !v.NewestPatch && !v.Unknown {
		return 2
	}
	return 1
}
