package planner

import (
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

func TestPostgresMajorFromImage(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  int
		ok    bool
	}{
		{"postgres:14-alpine", 14, true}, {"postgres:9.6-alpine", 9, true}, {"postgres:17", 17, true},
		{"postgres", 0, false}, {"postgres:alpine", 0, false}, {"docker.io/library/postgres:16.4-bookworm", 16, true},
		{"postgres:${PG_MAJOR:-16}-alpine", 16, true}, {"postgres:${PG_MAJOR}", 0, false},
	} {
		got, ok := PostgresMajorFromImage(tc.image)
		if ok != tc.ok || got != tc.want {
			t.Errorf("PostgresMajorFromImage(%q) = %d, %v; want %d, %v", tc.image, got, ok, tc.want, tc.ok)
		}
	}
}

// A moving minor tag is the newest patch of its minor: tootsuite/mastodon:v4.2
// is no 4.2.0 (whose two pools per process would double the budget).
func TestMovingMinorTag(t *testing.T) {
	for _, img := range []string{"tootsuite/mastodon:v4.2", "ghcr.io/mastodon/mastodon:4.2", "ghcr.io/mastodon/mastodon:v4.2-slim"} {
		v, ok := VersionFromImage(img)
		if !ok || v.Major != 4 || v.Minor != 2 || !v.NewestPatch {
			t.Errorf("%s: %+v %v", img, v, ok)
		}
		if mastodon.PoolsPerProcess(v) != 1 {
			t.Errorf("%s: planned with 4.2.0's two pools per process", img)
		}
		if !strings.Contains(v.String(), "newest patch") {
			t.Errorf("%s reads as %s", img, v)
		}
	}
	if v, _ := VersionFromImage("tootsuite/mastodon:v4.2.0"); v.NewestPatch || mastodon.PoolsPerProcess(v) != 2 {
		t.Errorf("v4.2.0 is 4.2.0: %+v", v)
	}
	// At 8 GB the moving tag gets no PgBouncer (4.2.0's doubled pools did).
	services := stock("v4.2.10")
	for i := range services {
		if services[i].Image != "postgres:14-alpine" && services[i].Image != "redis:7-alpine" {
			services[i].Image = "tootsuite/mastodon:v4.2"
		}
	}
	p, err := Make(Input{Services: services, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if p.GenBouncer != nil {
		t.Errorf("tootsuite/mastodon:v4.2 at 8 GB got a PgBouncer: %s", p.GenBouncer.Why)
	}
}
