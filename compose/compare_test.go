package compose

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDifferences(t *testing.T) {
	a := []Service{
		{Name: "web", Command: []string{"puma"}, Env: map[string]string{"WEB_CONCURRENCY": "2", "X": "1"}},
		{Name: "sidekiq", Command: []string{"sidekiq"}},
		{Name: "db", Command: []string{"postgres", "-c", "a=1", "-c", "b=2"}},
	}
	b := []Service{
		{Name: "db", Command: []string{"postgres", "-c", "a=1", "-c", "b=3", "-c", "c=4"}},
		{Name: "web", Command: []string{"puma"}, Env: map[string]string{"WEB_CONCURRENCY": "4", "DB_POOL": "5"}},
		{Name: "sidekiq-a", Command: []string{"sidekiq", "-q", "a"}},
	}
	want := []string{
		"service sidekiq: would be removed",
		`service db: command has "b=2", planned "b=3 -c c=4"`,
		"service web: DB_POOL unset, planned 5",
		"service web: WEB_CONCURRENCY=2, planned 4",
		"service web: X=1, planned unset",
		"service sidekiq-a: missing (command: sidekiq -q a)",
	}
	if diff := cmp.Diff(want, Differences(a, b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if d := Differences(a, a); len(d) != 0 {
		t.Errorf("a file differs from itself: %q", d)
	}
}
