// Package mastodon knows Mastodon's releases: how a version is read
// (an image tag, a moving minor tag, lib/mastodon/version.rb), the queues
// each release enqueues on and their weights (config/sidekiq.yml at that
// release), which Sidekiq a release runs (its Gemfile.lock) and what
// follows from it, and how many database pools a Rails process opens.
//
// It knows nothing of machines, plans, compose files or YAML. Each rule
// names the file of Mastodon's repository it was read from, at the release
// where it changes.
package mastodon
