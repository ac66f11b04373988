package shellwords

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Join then Split gives back the words: what the tool writes, compose reads
// as the same argv.
func TestJoinSplitRoundTrip(t *testing.T) {
	for _, words := range [][]string{
		{"bundle", "exec", "sidekiq", "-c", "25", "-q", "default"},
		{"postgres", "-c", "max_connections = 200", "-c", "log_line_prefix=%m [%p] "},
		{"sh", "-c", "bundle exec sidekiq -q 'a b'"},
		{"echo", "it's", "", "#not-a-comment", "a;b", "${RAILS_ENV:-production}"},
	} {
		got, err := Split(Join(words))
		if err != nil {
			t.Fatalf("%q: %v", Join(words), err)
		}
		if diff := cmp.Diff(words, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", Join(words), diff)
		}
	}
	if Join([]string{"-e", "${RAILS_ENV:-production}"}) != "-e ${RAILS_ENV:-production}" {
		t.Error("a variable reference was quoted")
	}
	if _, err := Split("bundle exec sidekiq; rm -rf /"); err == nil {
		t.Error("a shell operator outside quotes was accepted")
	}
}
