package planner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPostgresCommand(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, []string{"postgres", "-c", "max_connections=190"}},
		{[]string{"postgres", "-c", "max_connections = 200", "-c", "shared_buffers=2GB"}, []string{"postgres", "-c", "max_connections=190", "-c", "shared_buffers=2GB"}},
		{[]string{"postgres", "-c", "log_min_duration_statement=1000"}, []string{"postgres", "-c", "log_min_duration_statement=1000", "-c", "max_connections=190"}},
		{[]string{"postgres", "-N", "50", "-c", "max_connections=60"}, []string{"postgres", "-c", "max_connections=190"}},
		{[]string{"postgres", "--max-connections=190"}, []string{"postgres", "--max-connections=190"}}, // already right: untouched
		{[]string{"-c", "jit=off"}, []string{"-c", "jit=off", "-c", "max_connections=190"}},
	} {
		c, err := ParsePostgresCommand(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		c.Set("max_connections", "190")
		if diff := cmp.Diff(tc.want, c.Tokens()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
	if _, err := ParsePostgresCommand([]string{"/start.sh"}); err == nil {
		t.Error("a non-postgres command was accepted")
	}
}

func TestPostgresManage(t *testing.T) {
	managed := map[string]bool{"a": true, "b": true, "c": true, "d": true}
	for _, tc := range []struct {
		in   string
		want []Setting
		out  string
	}{
		{"postgres", []Setting{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}, "postgres -c a=1 -c b=2"},
		// New settings go in order after the one before them; the admin's
		// flag stays where it was.
		{"postgres -c a=1 -c mine=x -c c=3", []Setting{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}, {Name: "c", Value: "3"}, {Name: "d", Value: "4"}},
			"postgres -c a=1 -c b=2 -c mine=x -c c=3 -c d=4"},
		// A managed setting no longer wanted goes; the admin's stays.
		{"postgres -c a=1 -c b=2 -c mine=x -c d=4", []Setting{{Name: "a", Value: "9"}}, "postgres -c a=9 -c mine=x"},
		// The first managed setting goes before the other managed ones.
		{"postgres -c mine=x -c b=2", []Setting{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}, "postgres -c mine=x -c a=1 -c b=2"},
	} {
		c, err := ParsePostgresCommand(strings.Fields(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		c.Manage(managed, tc.want)
		if got := strings.Join(c.Tokens(), " "); got != tc.out {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.out)
		}
	}
}
