// Package rewritten rewrites a fixture for a test that needs what
// compose-scale writes (a db command, a PgBouncer, a cache Redis) to run
// against a real server.
package rewritten

import (
	"testing"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/internal/fixturetest"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/rewrite"
)

// Services rewrites fixtures/name for in, after edit (nil for none) has
// changed its text, and returns the output's services by name.
func Services(t testing.TB, name string, in planner.Input, edit func(string) string) map[string]compose.Service {
	t.Helper()
	path, src := fixturetest.Read(t, name)
	if edit != nil {
		src = []byte(edit(string(src)))
	}
	res, err := rewrite.Rewrite(path, src, in)
	if err != nil {
		t.Fatal(err)
	}
	return fixturetest.ByName(t, res.Output)
}
