package observe

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Everything observe prints comes from servers an attacker may have
// written to: a queue is named by whoever enqueues, a hostname by the
// process that beats. A name holding ESC [2J or an OSC 8 hyperlink would
// rewrite the admin's terminal, so strings are cleaned where they are
// read, before anything keeps them.

// escapes are the terminal sequences whole (CSI, OSC, and two-byte ESC
// sequences), so that what is left reads as the text around them rather
// than as their parameters.
var escapes = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]`)

// Printable is s without terminal control sequences, control characters
// (C0, DEL, C1) and bidirectional overrides, and with invalid UTF-8
// replaced: safe to print on a terminal and in Markdown tables.
func Printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = escapes.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
}

func printableAll(list []string) []string {
	for i, s := range list {
		list[i] = Printable(s)
	}
	return list
}

// count reads a counter that can only be 0 or more (threads, busy
// threads, kB of RSS, jobs). A negative number, one past int64, or a
// value that is not a number is unusable: the reading is marked so
// (unusable), never folded into averages as a zero. An absent field is 0.
func count(field, raw string, unusable *[]string) int64 {
	if raw == "" {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || n < 0 {
		*unusable = append(*unusable, fmt.Sprintf("%s is %q, not a count", field, Printable(clip(raw))))
		return 0
	}
	return n
}

// clip keeps a bad value short in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
