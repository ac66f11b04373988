package planner

import (
	"github.com/compose-scale/compose-scale/planner/mastodon"
	"github.com/compose-scale/compose-scale/planner/pgtune"
	"github.com/compose-scale/compose-scale/planner/sidekiq"
)

// PGTune's arithmetic, Mastodon's releases and Sidekiq's command line are
// packages of their own (pgtune, mastodon, sidekiq); these names keep the
// planner's API (Plan.Version, Process.Queues, Plan.Postgres.Settings,
// Input.DBType, planner.ParseVersion for cmd) as it was.
type (
	Version        = mastodon.Version
	Queue          = sidekiq.Queue
	SidekiqCommand = sidekiq.Command
	DBType         = pgtune.DBType
	Setting        = pgtune.Setting
)

const (
	OLTP           = pgtune.OLTP
	Web            = pgtune.Web
	NewestPostgres = pgtune.NewestPostgres
)

var (
	Oldest         = mastodon.Oldest
	Newest         = mastodon.Newest
	UnknownVersion = mastodon.UnknownVersion
	// TunedSettings and SettingSince are pgtune's tables.
	TunedSettings = pgtune.TunedSettings
	SettingSince  = pgtune.SettingSince
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
