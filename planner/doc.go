// Package planner makes every decision compose-scale takes: from facts
// (the services a compose file or a chart describes, the Mastodon version,
// the machine, measured figures, the user's options) to one Plan and its
// budget. A writer renders the Plan; it decides nothing, and nothing
// changes the Plan after Make returns it.
//
// What it knows: how Mastodon's processes share a machine (sizing.go,
// estimates.go), the sidekiq layouts and their fitting (layout.go,
// assign.go, fit.go), the connection and memory budget (budget.go), where
// the app connects (topology.go, dbaddress.go), Postgres's settings
// (postgres.go, with package pgtune), PgBouncer and the cache Redis
// (pgbouncer*.go, cache_redis.go), streaming and ports (streaming.go,
// ports.go), what measured figures change (measured.go), and the changes
// that turn a file into the plan (changes.go, copies.go). Mastodon's
// releases and Sidekiq's command line are packages of their own
// (mastodon, sidekiq; names.go keeps their names here).
//
// What it must not know: files, YAML, compose-go, processes or the
// network. It is pure: the same Input gives the same Plan, which is what
// lets its tests (and the writers' goldens) pin every decision.
package planner
