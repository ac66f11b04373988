// Package unidiff renders unified diffs with github.com/aymanbagabas/go-udiff,
// correcting its hunk headers.
//
// go-udiff (a port of golang.org/x/tools/internal/diff) does not advance the
// new-file line counter over the context lines that join two edits into one
// hunk, so every later hunk's "+start" is short by that many lines (Go issue
// 81453, open upstream). A hunk's new start is its old start plus the net
// lines the hunks before it added; this package recomputes it that way.
package unidiff

import (
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/aymanbagabas/go-udiff/myers"
)

// Unified returns the unified diff from a (named from) to b (named to), with
// three lines of context; "" when they are equal.
func Unified(from, to, a, b string) string {
	d, err := udiff.ToUnifiedDiff(from, to, a, Edits(a, b), udiff.DefaultContextLines)
	if err != nil {
		// Lines' edits always fit a; fall back to the library's own output.
		return udiff.Unified(from, to, a, b)
	}
	if len(d.Hunks) == 0 {
		return ""
	}
	delta := 0
	for _, h := range d.Hunks {
		h.ToLine = h.FromLine + delta
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Insert:
				delta++
			case udiff.Delete:
				delta--
			}
		}
	}
	return d.String()
}

// maxMyersLines bounds the changed lines for which Edits runs Myers's
// algorithm: its memory grows with their square.
const maxMyersLines = 1500

// Edits is the line diff of a to b. go-udiff's default (an LCS heuristic
// in linear space) is not minimal: a service inserted next to one that
// shares lines such as "restart: always" comes out as half the neighbour
// deleted and added again. Myers's algorithm gives the shortest diff, the
// one a reviewer expects (what diff -u prints); it is used whenever the
// change is small enough, which a compose rewrite always is.
func Edits(a, b string) []udiff.Edit {
	edits := udiff.Lines(a, b)
	changed := 0
	for _, e := range edits {
		changed += strings.Count(a[e.Start:e.End], "\n") + strings.Count(e.New, "\n")
	}
	if changed > maxMyersLines {
		return edits
	}
	//lint:ignore SA1019 deprecated for x/tools' marker tests, not for its minimal diffs, which are what is wanted here
	return myers.ComputeEdits(a, b)
}

// ANSI colours for a diff on a terminal, as git colours them.
const (
	bold  = "\x1b[1m"
	red   = "\x1b[31m"
	green = "\x1b[32m"
	cyan  = "\x1b[36m"
	reset = "\x1b[0m"
)

// Colorize colours a unified diff line by line: file headers bold, hunk
// headers cyan, removed lines red, added lines green.
func Colorize(diff string) string {
	if diff == "" {
		return ""
	}
	var b strings.Builder
	lines := strings.SplitAfter(diff, "\n")
	for i, l := range lines {
		if l == "" {
			continue
		}
		body := strings.TrimSuffix(l, "\n")
		nl := l[len(body):]
		color := ""
		switch {
		case i < 2 && (strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ")):
			color = bold
		case strings.HasPrefix(l, "@@"):
			color = cyan
		case strings.HasPrefix(l, "-"):
			color = red
		case strings.HasPrefix(l, "+"):
			color = green
		}
		if color == "" {
			b.WriteString(l)
			continue
		}
		b.WriteString(color + body + reset + nl)
	}
	return b.String()
}
