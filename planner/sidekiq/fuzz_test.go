package sidekiq

import (
	"strings"
	"testing"
)

// FuzzParseCommand: parsing never panics, and a parsed command
// renders to one that parses to the same -c and queues.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"bundle exec sidekiq",
		"bundle exec sidekiq -c 25 -q default -q push -q pull",
		"bundle exec sidekiq -q default,8 -q push,6 -q ingress,4 -q pull,1",
		"bundle exec sidekiq --concurrency=10 --queue=mailers -e production",
		"sh -c bundle\texec\tsidekiq\t-q\tdefault",
		"/usr/local/bin/sidekiq -c5 -q scheduler",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tokens := strings.Split(s, " ")
		if strings.Contains(s, "\t") { // tabs mark one shell-script token
			parts := strings.SplitN(s, " ", 3)
			if len(parts) == 3 {
				tokens = []string{parts[0], parts[1], strings.ReplaceAll(parts[2], "\t", " ")}
			}
		}
		c, err := ParseCommand(tokens)
		if err != nil {
			return
		}
		again, err := ParseCommand(c.Tokens())
		if err != nil {
			t.Fatalf("%q renders as %q, which does not parse: %v", tokens, c.Tokens(), err)
		}
		if again.Concurrency != c.Concurrency || Spec(again.Queues) != Spec(c.Queues) {
			t.Fatalf("%q: -c %d %q, rendered and parsed again -c %d %q", tokens, c.Concurrency, Spec(c.Queues), again.Concurrency, Spec(again.Queues))
		}
	})
}
