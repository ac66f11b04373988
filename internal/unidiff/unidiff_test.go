package unidiff

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var header = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// checkHunks holds every hunk to both files: its context and deleted lines
// must stand in a at "-start", its context and inserted lines in b at
// "+start". That is what patch relies on.
func checkHunks(t *testing.T, a, b, diff string) {
	t.Helper()
	al, bl := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	var old, new []string
	var oStart, nStart int
	flush := func() {
		for i, l := range old {
			if oStart-1+i >= len(al) || al[oStart-1+i] != l {
				t.Errorf("hunk at -%d: line %d is not in the old file where the header says", oStart, i)
				return
			}
		}
		for i, l := range new {
			if nStart-1+i >= len(bl) || bl[nStart-1+i] != l {
				t.Errorf("hunk at +%d: line %d is not in the new file where the header says", nStart, i)
				return
			}
		}
	}
	lines := strings.SplitAfter(diff, "\n")
	for _, l := range lines[2:] {
		if m := header.FindStringSubmatch(l); m != nil {
			if old != nil || new != nil {
				flush()
			}
			oStart, _ = strconv.Atoi(m[1])
			nStart, _ = strconv.Atoi(m[3])
			old, new = []string{}, []string{}
			continue
		}
		if l == "" {
			continue
		}
		switch l[0] {
		case ' ':
			old, new = append(old, l[1:]), append(new, l[1:])
		case '-':
			old = append(old, l[1:])
		case '+':
			new = append(new, l[1:])
		}
	}
	flush()
}

func numbered(n int, change map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if c, ok := change[i]; ok {
			b.WriteString(c)
			continue
		}
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestHunkHeaders(t *testing.T) {
	// Edits joined into one hunk (lines 10, 14, 17), then a far one (60):
	// the case go-udiff numbers wrong.
	a := numbered(80, nil)
	b := numbered(80, map[int]string{10: "ten\n", 14: "fourteen\nand more\n", 17: "", 60: "sixty\n"})
	d := Unified("a", "b", a, b)
	if !strings.Contains(d, "@@ -57,7 +57,7 @@") {
		t.Errorf("second hunk header wrong:\n%s", d)
	}
	checkHunks(t, a, b, d)

	for seed := 0; seed < 200; seed++ {
		change := map[int]string{}
		for i := 1; i <= 60; i++ {
			switch (i*7 + seed*13) % 11 {
			case 0:
				change[i] = ""
			case 1:
				change[i] = fmt.Sprintf("new %d\nnew %d b\n", i, i)
			case 2:
				change[i] = fmt.Sprintf("changed %d\n", i)
			}
		}
		a, b := numbered(60, nil), numbered(60, change)
		checkHunks(t, a, b, Unified("a", "b", a, b))
		checkHunks(t, b, a, Unified("b", "a", b, a))
	}
	if Unified("a", "b", "same\n", "same\n") != "" {
		t.Error("equal texts give a diff")
	}
}

func TestColorize(t *testing.T) {
	d := "--- a\n+++ b\n@@ -1,2 +1,2 @@\n same\n-old\n+new\n"
	want := "\x1b[1m--- a\x1b[0m\n\x1b[1m+++ b\x1b[0m\n\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n same\n\x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m\n"
	if got := Colorize(d); got != want {
		t.Errorf("got %q", got)
	}
}
