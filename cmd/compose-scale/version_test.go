package main

import (
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/dockertest"
)

// versionRB is lib/mastodon/version.rb as 4.1.3 has it (abridged).
const versionRB = `# frozen_string_literal: true

module Mastodon
  module Version
    module_function

    def major
      4
    end

    def minor
      1
    end

    def patch
      3
    end
  end
end
`

// A file on :latest does not say which Mastodon it runs: the running
// instance does, through its container's image label, else its
// lib/mastodon/version.rb; the plan follows it and says where it came
// from. When docker cannot be reached, the plan holds for every release,
// as before, and says the instance could not tell.
func TestVersionFromTheInstance(t *testing.T) {
	ps := `{"ID":"5ca1ab1e0001aaaa","Name":"mastodon-sidekiq-1","Service":"sidekiq","State":"running"}
{"ID":"5ca1ab1e0002bbbb","Name":"mastodon-web-1","Service":"web","State":"running"}`
	for _, tc := range []struct {
		name   string
		config dockertest.Config
		want   []string
		calls  []string
	}{
		{
			name:   "the image label",
			config: dockertest.Config{PS: ps, Labels: map[string]string{"5ca1ab1e0001aaaa": `{"com.docker.compose.service":"sidekiq","org.opencontainers.image.version":"v4.2.10"}`}},
			want:   []string{"mastodon:  v4.2.10 (from sidekiq's running container (label org.opencontainers.image.version), since the file does not say)"},
			calls:  []string{"compose -f docker-compose.yml ps --format json", "inspect --format {{json .Config.Labels}} 5ca1ab1e0001aaaa"},
		},
		{
			name:   "version.rb in the container",
			config: dockertest.Config{PS: ps, Labels: map[string]string{"5ca1ab1e0001aaaa": `{"com.docker.compose.service":"sidekiq"}`}, Exec: map[string]string{"sidekiq cat": versionRB}},
			want:   []string{"mastodon:  v4.1.3 (from sidekiq's running container (lib/mastodon/version.rb), since the file does not say)"},
			calls:  []string{"compose -f docker-compose.yml exec -T sidekiq cat lib/mastodon/version.rb"},
		},
		{
			name:   "docker unreachable",
			config: dockertest.Config{},
			want:   []string{"the running instance could not tell (docker compose could not reach it)", "every version from"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := dockertest.StandIn(t, tc.config)
			dir := workdir(t, map[string]string{"docker-compose.yml": "latest.input.yml"})
			r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb")
			if r.code != 0 {
				t.Fatalf("plan: %d %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("the plan does not say %q:\n%s", w, r.stdout)
				}
			}
			calls := strings.Join(dockertest.Invocations(t, log), "\n")
			for _, w := range tc.calls {
				if !strings.Contains(calls, w) {
					t.Errorf("no call %q in:\n%s", w, calls)
				}
			}
		})
	}
	// A file that says its version never asks.
	log := dockertest.StandIn(t, dockertest.Config{PS: ps})
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	if r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb"); r.code != 0 || strings.Contains(strings.Join(dockertest.Invocations(t, log), "\n"), " ps ") {
		t.Errorf("a tagged file asked docker: %q", dockertest.Invocations(t, log))
	}
}
