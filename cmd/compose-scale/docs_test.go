package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fencedAfter is the first fenced block after the line marker in a
// Markdown file.
func fencedAfter(t *testing.T, file, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", file))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("%s has no %q", file, marker)
	}
	_, rest, ok = strings.Cut(rest, "```")
	if ok {
		_, rest, ok = strings.Cut(rest, "\n") // the fence's info string
	}
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatalf("%s: no fenced block after %q", file, marker)
	}
	return block
}

// The examples the README and docs show are the outputs the goldens hold:
// when the output changes, so must they.
func TestDocsShowTheGoldens(t *testing.T) {
	for _, c := range []struct{ file, marker, golden string }{
		{"README.md", "The report (stderr):", "rewrite-stock-v4.3.stderr"},
		{"docs/observe.md", "An example, on an instance whose pull queue backs up", "observe-stock-v4.3.text"},
	} {
		want, err := os.ReadFile(filepath.Join("testdata", c.golden))
		if err != nil {
			t.Fatal(err)
		}
		if got := fencedAfter(t, c.file, c.marker); got != string(want) {
			t.Errorf("%s's example after %q is not testdata/%s: copy the golden into it", c.file, c.marker, c.golden)
		}
	}
	// The measured figures docs/observe.md shows are the plan's.
	plan, err := os.ReadFile(filepath.Join("testdata", "plan-observed-stock-v4.3.text"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fencedAfter(t, "docs/observe.md", "On\nthe instance above, for 16 GB:"); !strings.Contains(string(plan), got) {
		t.Errorf("docs/observe.md's measured figures are not in plan-observed-stock-v4.3.text:\n%s", got)
	}
}
