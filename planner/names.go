package planner

import (
	"github.com/compose-scale/compose-scale/planner/mastodon"
	"github.com/compose-scale/compose-scale/planner/sidekiq"
)

// Mastodon's releases and Sidekiq's command line are packages of their
// own (mastodon, sidekiq); these names keep the planner's API (Plan.Version,
// Process.Queues, planner.ParseVersion for cmd) as it was.
type (
	Version        = mastodon.Version
	Queue          = sidekiq.Queue
	SidekiqCommand = sidekiq.Command
)

var (
	Oldest         = mastodon.Oldest
	Newest         = mastodon.Newest
	UnknownVersion = mastodon.UnknownVersion
)

// The functions cmd, rewrite and observe call through the planner.
var (
	ParseVersion        = mastodon.ParseVersion
	VersionFromImage    = mastodon.VersionFromImage
	VersionFromRuby     = mastodon.VersionFromRuby
	QueuesFor           = mastodon.QueuesFor
	HasScheduler        = mastodon.HasScheduler
	SidekiqMajor        = mastodon.SidekiqMajor
	StrictOrder         = mastodon.StrictOrder
	IsSidekiq           = sidekiq.IsSidekiq
	ParseSidekiqCommand = sidekiq.ParseCommand
)
