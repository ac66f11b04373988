package main

import (
	"fmt"
	"time"

	"github.com/compose-scale/compose-scale/planner"
	"github.com/urfave/cli/v2"
)

// askVersion asks the running instance which Mastodon it runs, for a
// file that does not say (an untagged or :latest image, a build without
// lib/mastodon/version.rb beside it): its Sidekiq's container first,
// then web's. It returns the version and where it came from, or nil and
// why the instance could not tell, in words that do not depend on which
// docker this machine has (the report is the same everywhere).
func askVersion(c *cli.Context, env Env) (*planner.Version, string) {
	inst, err := instanceSource(c, env)
	if err != nil {
		return nil, ""
	}
	var names []string
	for _, role := range []planner.Role{planner.RoleSidekiq, planner.RoleWeb} {
		for _, s := range inst.services {
			if planner.RoleOf(s) == role {
				names = append(names, s.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil, ""
	}
	src := inst.src
	src.Timeout = 10 * time.Second // a hung daemon must not hold a rewrite for long
	got, err := src.ReadVersion(names)
	if err != nil {
		return nil, "docker compose could not reach it"
	}
	if got.Label != "" {
		if v, err := planner.ParseVersion(got.Label); err == nil {
			return &v, got.From
		}
		return nil, fmt.Sprintf("%s says %q, which is not a release", got.From, got.Label)
	}
	if v, ok := planner.VersionFromRuby(got.VersionRB); ok {
		return &v, got.From
	}
	return nil, got.From + " does not read as a version"
}
