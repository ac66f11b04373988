package mastodon

import (
	"testing"

	"github.com/compose-scale/compose-scale/planner/sidekiq"

	"github.com/google/go-cmp/cmp"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{
		"v4.3": {Major: 4, Minor: 3, Patch: 0}, "4.3.0": {Major: 4, Minor: 3, Patch: 0}, "v3.4.6": {Major: 3, Minor: 4, Patch: 6}, "v4.4.0-rc.1": {Major: 4, Minor: 4, Patch: 0}, " v2.9.3 ": {Major: 2, Minor: 9, Patch: 3},
	} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "4", "latest", "v4.x", "4.3.0.1", "v-1.2"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted it", bad)
		}
	}
}

func TestVersionFromImage(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  Version
		ok    bool
	}{
		{"ghcr.io/mastodon/mastodon:v4.3.0", Version{Major: 4, Minor: 3, Patch: 0}, true},
		{"ghcr.io/mastodon/mastodon-streaming:v4.3.2", Version{Major: 4, Minor: 3, Patch: 2}, true},
		{"tootsuite/mastodon:v3.4.6", Version{Major: 3, Minor: 4, Patch: 6}, true},
		{"ghcr.io/glitch-soc/mastodon:v4.2.1", Version{Major: 4, Minor: 2, Patch: 1}, true},
		{"localhost:5000/mastodon:v4.1.0", Version{Major: 4, Minor: 1, Patch: 0}, true},
		{"tootsuite/mastodon", Version{}, false},      // untagged
		{"localhost:5000/mastodon", Version{}, false}, // the port is no tag
		{"ghcr.io/mastodon/mastodon:latest", Version{}, false},
		{"ghcr.io/mastodon/mastodon:edge", Version{}, false},
		{"ghcr.io/mastodon/mastodon@sha256:abcd", Version{}, false},
	} {
		got, ok := VersionFromImage(tc.image)
		if ok != tc.ok || got != tc.want {
			t.Errorf("VersionFromImage(%q) = %v, %v; want %v, %v", tc.image, got, ok, tc.want, tc.ok)
		}
	}
}

// The queue table of DOMAIN.md, at every version boundary.
func TestQueuesFor(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		want []string
	}{
		{Version{Major: 2, Minor: 9, Patch: 0}, []string{"default", "push", "mailers", "pull"}},
		{Version{Major: 3, Minor: 2, Patch: 2}, []string{"default", "push", "mailers", "pull"}},
		{Version{Major: 3, Minor: 3, Patch: 0}, []string{"default", "push", "mailers", "pull", "scheduler"}},
		{Version{Major: 3, Minor: 5, Patch: 9}, []string{"default", "push", "mailers", "pull", "scheduler"}},
		{Version{Major: 4, Minor: 0, Patch: 0}, []string{"default", "push", "ingress", "mailers", "pull", "scheduler"}},
		{Version{Major: 4, Minor: 3, Patch: 9}, []string{"default", "push", "ingress", "mailers", "pull", "scheduler"}},
		{Version{Major: 4, Minor: 4, Patch: 0}, []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}},
		{Version{Major: 5, Minor: 0, Patch: 0}, []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}},
	} {
		if diff := cmp.Diff(tc.want, sidekiq.QueueNames(QueuesFor(tc.v))); diff != "" {
			t.Errorf("QueuesFor(%v) (-want +got):\n%s", tc.v, diff)
		}
	}
	w := map[string]int{}
	for _, q := range QueuesFor(Version{Major: 4, Minor: 0, Patch: 0}) {
		w[q.Name] = q.Weight
	}
	if diff := cmp.Diff(map[string]int{"default": 8, "push": 6, "ingress": 4, "mailers": 2, "pull": 1, "scheduler": 1}, w); diff != "" {
		t.Errorf("4.0 weights (-want +got):\n%s", diff)
	}
}

func TestVersionFromVariables(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  Version
		ok    bool
	}{
		{"ghcr.io/mastodon/mastodon:${MASTODON_VERSION:-v4.3.1}", Version{Major: 4, Minor: 3, Patch: 1}, true},
		{"${REGISTRY-ghcr.io}/mastodon/mastodon:${TAG-v4.2.0}", Version{Major: 4, Minor: 2, Patch: 0}, true},
		{"ghcr.io/mastodon/mastodon:${MASTODON_VERSION}", Version{}, false},
	} {
		got, ok := VersionFromImage(tc.image)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %v %v", tc.image, got, ok)
		}
	}
	if s, ok := ExpandDefaults("postgres:${PG_MAJOR:-16}-alpine"); !ok || s != "postgres:16-alpine" {
		t.Errorf("postgres default tag: %q %v", s, ok)
	}
}

func TestVersionFromRuby(t *testing.T) {
	src := "module Mastodon\n  module Version\n    module_function\n\n    def major\n      4\n    end\n\n    def minor\n      2\n    end\n\n    def patch\n      10\n    end\n\n    def suffix\n      '+hometown-1.1.1'\n    end\n"
	if v, ok := VersionFromRuby(src); !ok || v != (Version{Major: 4, Minor: 2, Patch: 10}) {
		t.Errorf("got %v %v", v, ok)
	}
	if v, ok := VersionFromRuby("def major; 3; end\ndef minor; 5; end\n"); !ok || v != (Version{Major: 3, Minor: 5, Patch: 0}) {
		t.Errorf("one-line defs: %v %v", v, ok)
	}
	if _, ok := VersionFromRuby("puts 'hello'"); ok {
		t.Error("not a version file, read as one")
	}
}
