package compose

import (
	"strings"

	"go.yaml.in/yaml/v4"
)

// scalarSpan returns the byte range of a single-line scalar's text in the
// source, quotes included, anchor and tag excluded. ok is false for a scalar
// that spans lines or that this reader cannot delimit; callers then replace
// whole lines instead.
func (d *Document) scalarSpan(n *yaml.Node, inFlow bool) (start, end int, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return 0, 0, false
	}
	start = d.offset(n.Line, n.Column)
	lineEnd := d.lineStart(n.Line + 1)
	if lineEnd > 0 && lineEnd <= len(d.src) && lineEnd > start && d.src[lineEnd-1] == '\n' {
		lineEnd--
	}
	// Skip an anchor (&name) and a tag (!!str), each followed by spaces.
	for start < lineEnd && (d.src[start] == '&' || d.src[start] == '!') {
		for start < lineEnd && d.src[start] != ' ' {
			start++
		}
		for start < lineEnd && d.src[start] == ' ' {
			start++
		}
	}
	if start > lineEnd {
		return 0, 0, false
	}
	s := d.src[start:lineEnd]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return start, start + i + 1, true
			}
		}
		return 0, 0, false
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return start, start + i + 1, true
			}
		}
		return 0, 0, false
	}
	// Plain: up to a comment, a key indicator, or a flow indicator.
	e := len(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
			e = i
			break
		}
		if c == ':' && (i+1 == len(s) || s[i+1] == ' ' || inFlow && strings.IndexByte(",]}", s[i+1]) >= 0) {
			e = i
			break
		}
		if inFlow && strings.IndexByte(",]}", c) >= 0 {
			e = i
			break
		}
	}
	text := strings.TrimRight(string(s[:e]), " \t")
	if text != n.Value {
		return 0, 0, false // a multi-line plain scalar, or an escape we did not expect
	}
	return start, start + len(text), true
}

// renderScalar writes value as a YAML scalar in the given style, falling
// back to double quotes where the style cannot carry the value (a plain
// string that YAML would read as a number, a bool, a comment...).
func renderScalar(value string, style yaml.Style, wantTag string) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0 && !strings.ContainsAny(value, "\n"):
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle != 0:
		return doubleQuote(value)
	}
	if plainReadsAs(value, wantTag) {
		return value
	}
	return doubleQuote(value)
}

// plainReadsAs reports whether value, written plain, reads back as value
// with tag (!!str, or !!int for a number the file writes bare).
func plainReadsAs(value, tag string) bool {
	if value == "" || strings.ContainsAny(value, "\n\t") {
		return false
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("k: "+value+"\n"), &n); err != nil {
		return false
	}
	if len(n.Content) != 1 || len(n.Content[0].Content) != 2 {
		return false
	}
	v := n.Content[0].Content[1]
	return v.Kind == yaml.ScalarNode && v.Value == value && (tag == "" || v.Tag == tag) && v.LineComment == ""
}

func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
