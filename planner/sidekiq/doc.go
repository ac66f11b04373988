// Package sidekiq reads and writes Sidekiq's command line: which argv runs
// Sidekiq (bundle exec sidekiq, a path, a sh -c script), its -c and -q
// flags in every form Sidekiq's option parser takes (sidekiq/cli.rb,
// parse_options), and the argv again with only those flags changed, so
// an admin's other flags survive a rewrite.
//
// It knows Sidekiq alone: nothing of which queues Mastodon has or which
// Sidekiq a release runs (package mastodon), of plans, or of compose files
// and YAML.
package sidekiq
