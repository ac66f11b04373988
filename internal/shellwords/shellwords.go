// Package shellwords splits and joins command lines the way docker compose
// does for a string `command:` (github.com/mattn/go-shellwords, no variable
// or backtick expansion), so a command this tool writes reads back as the
// same argv.
package shellwords

import (
	"fmt"
	"strings"

	shellwords "github.com/mattn/go-shellwords"
)

// Split splits s into words as compose does.
func Split(s string) ([]string, error) {
	p := shellwords.NewParser()
	words, err := p.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("cannot split %q into words: unbalanced quotes", s)
	}
	if p.Position >= 0 {
		// compose would silently drop everything from the operator on.
		return nil, fmt.Errorf("%q has a shell operator (; & | < >) outside quotes, which compose does not run through a shell: wrap it in sh -c '...'", s)
	}
	return words, nil
}

// Join quotes words only where a word needs it, with single quotes.
func Join(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = Quote(w)
	}
	return strings.Join(out, " ")
}

// Quote returns w as one shell word.
func Quote(w string) string {
	if w == "" {
		return "''"
	}
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=+@%${}", r)) {
			return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return w
}
