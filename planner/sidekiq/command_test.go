package sidekiq

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd    string
		c      int
		queues string
		other  []string
	}{
		{"bundle exec sidekiq", 0, "", nil},
		{"bundle exec sidekiq -c 25 -q default -q push", 25, "default push", nil},
		{"bundle exec sidekiq -q default,8 -q push,6 -q pull", 0, "default,8 push,6 pull", nil},
		{"bundle exec sidekiq --concurrency=10 --queue=mailers -e production", 10, "mailers", []string{"-e", "production"}},
		{"bundle exec sidekiq -c15 -q scheduler", 15, "scheduler", nil},
		{"/usr/local/bin/sidekiq -q pull", 0, "pull", nil},
		// Every form Sidekiq's option parser takes (issue 10).
		{"bundle exec sidekiq -qpull -qdefault,8", 0, "pull default,8", nil},
		{"bundle exec sidekiq --queue pull --concurrency 25", 25, "pull", nil},
		{"bundle exec sidekiq -q default -q push -c25", 25, "default push", nil},
		{"/with-expanded-env.sh bundle exec sidekiq -c 10 -q default", 10, "default", nil},
		{"bundle exec sidekiq -c ${SIDEKIQ_THREADS:-10} -q pull", 0, "pull", nil},
		{"bundle exec sidekiq -c${THREADS} -q pull -q pull", 0, "pull pull", nil},
	} {
		c, err := ParseCommand(strings.Fields(tc.cmd))
		if err != nil {
			t.Errorf("%q: %v", tc.cmd, err)
			continue
		}
		if c.Concurrency != tc.c || Spec(c.Queues) != tc.queues || !cmp.Equal(c.Other, tc.other) {
			t.Errorf("%q: got -c %d, queues %q, other %q", tc.cmd, c.Concurrency, Spec(c.Queues), c.Other)
		}
		// Rendering an unchanged command gives back the same argv.
		if got := strings.Join(c.Tokens(), " "); got != tc.cmd {
			t.Errorf("%q renders back as %q", tc.cmd, got)
		}
	}
	for _, bad := range []string{"bundle exec puma", "bundle exec sidekiq -c", "bundle exec sidekiq -c many", "bundle exec sidekiq -q", "bundle exec sidekiq -C config/sidekiq.yml", "bundle exec sidekiq -q ,3"} {
		if _, err := ParseCommand(strings.Fields(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// A changed command changes only its -c and -q flags, where they were.
func TestSidekiqCommandKeepsFlagOrder(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bundle exec sidekiq", "bundle exec sidekiq -c 7 -q a -q b"},
		{"bundle exec sidekiq -q x -c 5", "bundle exec sidekiq -q a -q b -c 7"},
		{"bundle exec sidekiq -q x -e production", "bundle exec sidekiq -c 7 -q a -q b -e production"},
		{"bundle exec sidekiq -e production -c 5", "bundle exec sidekiq -e production -c 7 -q a -q b"},
		{"bundle exec sidekiq -q x -t 20 -q y", "bundle exec sidekiq -c 7 -q a -q b -t 20"},
	} {
		c, err := ParseCommand(strings.Fields(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		c.Concurrency, c.Queues = 7, []Queue{{Name: "a"}, {Name: "b"}}
		if got := strings.Join(c.Tokens(), " "); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSidekiqCommandInShell(t *testing.T) {
	c, err := ParseCommand([]string{"sh", "-c", "bundle exec sidekiq -q 'default'"})
	if err != nil {
		t.Fatal(err)
	}
	c.Concurrency = 25
	want := []string{"sh", "-c", "bundle exec sidekiq -c 25 -q default"}
	if diff := cmp.Diff(want, c.Tokens()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseCommand([]string{"sh", "-c", "rm -f x; bundle exec sidekiq"}); err == nil {
		t.Error("a script with ; was accepted: the rewrite would drop half of it")
	}
}

func TestSidekiqCommandKeepsUnchangedFlags(t *testing.T) {
	for _, tc := range []struct {
		in     string
		c      int
		queues []Queue
		want   string
	}{
		// -c unchanged, queues new: queues follow the -c as written.
		{"bundle exec sidekiq --concurrency=10", 10, []Queue{{Name: "a"}}, "bundle exec sidekiq --concurrency=10 -q a"},
		// queues unchanged, -c new: the admin's --queue spelling stays,
		// and the new -c is written as the old one was (attached).
		{"bundle exec sidekiq --queue=a -c5", 9, []Queue{{Name: "a"}}, "bundle exec sidekiq --queue=a -c9"},
		// Changed queues take the spelling of the first queue flag.
		{"bundle exec sidekiq --queue=a --concurrency 5", 9, []Queue{{Name: "b"}, {Name: "c", Weight: 2}}, "bundle exec sidekiq --queue=b --queue=c,2 --concurrency 9"},
		{"bundle exec sidekiq -qa -qb -c25", 10, []Queue{{Name: "b"}, {Name: "a"}}, "bundle exec sidekiq -qb -qa -c10"},
		{"bundle exec sidekiq --queue a", 7, []Queue{{Name: "x"}}, "bundle exec sidekiq -c 7 --queue x"},
		// A variable -c is kept while the plan leaves it, replaced when not.
		{"bundle exec sidekiq -c ${SIDEKIQ_THREADS} -q a", 0, []Queue{{Name: "a"}}, "bundle exec sidekiq -c ${SIDEKIQ_THREADS} -q a"},
		{"bundle exec sidekiq -c ${SIDEKIQ_THREADS} -q a", 12, []Queue{{Name: "a"}}, "bundle exec sidekiq -c 12 -q a"},
	} {
		c, err := ParseCommand(strings.Fields(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		c.Concurrency, c.Queues = tc.c, tc.queues
		if got := strings.Join(c.Tokens(), " "); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A queue listed twice in one process: kept once, the first listing.
func TestDedupeQueues(t *testing.T) {
	c, err := ParseCommand(strings.Fields("bundle exec sidekiq -c 5 -q pull -q default -q pull,2"))
	if err != nil {
		t.Fatal(err)
	}
	if dropped := c.DedupeQueues(); !cmp.Equal(dropped, []string{"pull"}) {
		t.Errorf("dropped %q", dropped)
	}
	if got := strings.Join(c.Tokens(), " "); got != "bundle exec sidekiq -c 5 -q pull -q default" {
		t.Errorf("renders %q", got)
	}
	if c.DedupeQueues() != nil {
		t.Error("a second dedupe dropped more")
	}
}
