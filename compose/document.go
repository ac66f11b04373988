// Package compose reads docker compose files and edits them in place.
//
// It knows YAML and the compose format, nothing about Mastodon. Edits are
// made on the original text, line by line, at the positions the YAML parser
// reports, so every byte an edit does not touch stays as it was: comments,
// blank lines, key order, quoting, flow lists, escapes. After each edit the
// text is parsed again, so the next edit works from true positions.
package compose

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// Document is a compose file being edited.
type Document struct {
	Path     string // for error messages
	src      []byte // with "\n" line breaks; see crlf
	crlf     bool   // the file uses "\r\n": restored by Bytes
	lineOff  []int  // byte offset of the start of each line (0-based index)
	ascii    []bool // whether each line is ASCII: columns are then bytes
	root     *yaml.Node
	services *yaml.Node // the services mapping
	// style, for a document holding one service of another, is that other
	// document: it answers how the file writes environment and indents.
	style *Document
}

// Error is a problem at a place in a file.
type Error struct {
	Path string
	Line int // 0 when the problem has no one line
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// Parse reads a compose file's text. It checks the YAML and that there is a
// services mapping; compose semantics are checked by Validate.
func Parse(path string, src []byte) (*Document, error) {
	d := &Document{Path: path}
	if cr := bytes.Count(src, []byte("\r")); cr > 0 {
		crlf := bytes.Count(src, []byte("\r\n"))
		lf := bytes.Count(src, []byte("\n"))
		switch {
		case crlf < cr:
			line := 1
			for j := 0; j < len(src); j++ {
				if src[j] == '\r' && (j+1 == len(src) || src[j+1] != '\n') {
					line = bytes.Count(src[:j], []byte("\n")) + 1
					break
				}
			}
			return nil, &Error{Path: path, Line: line, Msg: "a carriage return (\\r) without a line feed: save the file with Unix (LF) or Windows (CRLF) line endings"}
		case crlf < lf:
			return nil, &Error{Path: path, Msg: "mixed line endings (some CRLF, some LF): save the file with one kind so the rewrite can keep them"}
		}
		d.crlf = true
		src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	}
	if err := d.load(src); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Document) load(src []byte) error {
	if !utf8.Valid(src) {
		return &Error{Path: d.Path, Msg: "not UTF-8 text: a compose file must be UTF-8"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.TrimSpace(yamlLine.ReplaceAllString(msg, ""))
			msg = strings.TrimPrefix(msg, ": ")
		}
		return &Error{Path: d.Path, Line: line, Msg: "invalid YAML: " + msg}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return &Error{Path: d.Path, Msg: "not a compose file: the top level must be a mapping with a services key"}
	}
	_, services := mapGet(root.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return &Error{Path: d.Path, Msg: "not a compose file: no services mapping"}
	}
	d.src, d.root, d.services = src, &root, services
	d.lineOff = append(d.lineOff[:0], 0)
	d.ascii = d.ascii[:0]
	ascii := true
	for i, b := range src {
		if b >= 0x80 {
			ascii = false
		}
		if b == '\n' {
			d.lineOff = append(d.lineOff, i+1)
			d.ascii = append(d.ascii, ascii)
			ascii = true
		}
	}
	d.ascii = append(d.ascii, ascii)
	return nil
}

// Bytes returns the document's text with its original line endings.
func (d *Document) Bytes() []byte {
	if d.crlf {
		return bytes.ReplaceAll(d.src, []byte("\n"), []byte("\r\n"))
	}
	return append([]byte(nil), d.src...)
}

// replace swaps src[start:end] for text and parses the result.
func (d *Document) replace(start, end int, text string) error {
	var b bytes.Buffer
	b.Grow(len(d.src) + len(text))
	b.Write(d.src[:start])
	b.WriteString(text)
	b.Write(d.src[end:])
	if err := d.load(b.Bytes()); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Msg = "internal error: an edit produced " + e.Msg + " (please report this with the file)"
		}
		return err
	}
	return nil
}

// numLines is the number of lines; a final line without "\n" counts.
func (d *Document) numLines() int {
	n := len(d.lineOff)
	if d.lineOff[n-1] == len(d.src) {
		return n - 1
	}
	return n
}

// line returns line n (1-based) without its "\n".
func (d *Document) line(n int) string {
	start := d.lineOff[n-1]
	end := len(d.src)
	if n < len(d.lineOff) {
		end = d.lineOff[n] - 1
	}
	return string(d.src[start:end])
}

// lineStart is the offset of line n; one past the last line is len(src).
func (d *Document) lineStart(n int) int {
	if n-1 >= len(d.lineOff) {
		return len(d.src)
	}
	return d.lineOff[n-1]
}

// offset converts a parser position (1-based line, 1-based column counted
// in characters) to a byte offset.
func (d *Document) offset(line, col int) int {
	off := d.lineOff[line-1]
	if d.ascii[line-1] {
		return min(off+col-1, len(d.src))
	}
	for c := 1; c < col && off < len(d.src); c++ {
		_, size := utf8.DecodeRune(d.src[off:])
		off += size
	}
	return off
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func isComment(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "#") }

// entryEnd returns the last line of the mapping entry k: v: the lines up
// to the next line indented at or left of the key, less trailing blank
// lines and trailing comments that sit at or left of the key (those
// introduce what follows). It never ends before the last line the value's
// own nodes reach: a lenient parser accepts a flow list or a quoted string
// continued on a line less indented than the key.
func (d *Document) entryEnd(k, v *yaml.Node) int {
	keyIndent := k.Column - 1
	from := k.Line
	if v != nil {
		from = max(from, d.lastLine(v))
	}
	n := d.numLines()
	end := n
	for l := from + 1; l <= n; l++ {
		s := d.line(l)
		if isBlank(s) || isComment(s) {
			continue
		}
		if indentOf(s) <= keyIndent {
			end = l - 1
			break
		}
	}
	for end > from {
		s := d.line(end)
		if isBlank(s) || (isComment(s) && indentOf(s) <= keyIndent) {
			end--
			continue
		}
		break
	}
	return end
}

// lastLine is the last line any node under n starts on, or a quoted scalar
// or flow collection ends on.
func (d *Document) lastLine(n *yaml.Node) int {
	switch {
	case (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && n.Style&yaml.FlowStyle != 0:
		// Everything inside ends by the closing bracket: one scan.
		return max(n.Line, d.flowEnd(n))
	case n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		return max(n.Line, d.quotedEnd(n))
	}
	last := n.Line
	for _, c := range n.Content {
		last = max(last, d.lastLine(c))
	}
	return last
}

// quotedEnd is the line a quoted scalar's closing quote is on.
func (d *Document) quotedEnd(n *yaml.Node) int {
	start := d.offset(n.Line, n.Column)
	for start < len(d.src) && (d.src[start] == '&' || d.src[start] == '!') {
		for start < len(d.src) && d.src[start] != ' ' && d.src[start] != '\n' {
			start++
		}
		for start < len(d.src) && d.src[start] == ' ' {
			start++
		}
	}
	if start >= len(d.src) {
		return n.Line
	}
	q := d.src[start]
	line := n.Line
	for i := start + 1; i < len(d.src); i++ {
		switch c := d.src[i]; {
		case c == '\n':
			line++
		case q == '"' && c == '\\':
			if i+1 < len(d.src) && d.src[i+1] == '\n' {
				line++
			}
			i++
		case c == q && q == '\'' && i+1 < len(d.src) && d.src[i+1] == '\'':
			i++
		case c == q:
			return line
		}
	}
	return line
}

// flowEnd is the line a flow collection's closing bracket is on: the first
// ] or } after its last child that balances its opening one.
func (d *Document) flowEnd(n *yaml.Node) int {
	start := d.offset(n.Line, n.Column)
	line, depth := n.Line, 0
	inQuote := byte(0)
	for i := start; i < len(d.src); i++ {
		c := d.src[i]
		switch {
		case c == '\n':
			line++
		case inQuote != 0:
			if c == '\\' && inQuote == '"' {
				i++
			} else if c == inQuote {
				inQuote = 0
			}
		case (c == '"' || c == '\'') && i > 0 && strings.IndexByte("[{, \t\n:", d.src[i-1]) >= 0:
			// A quote opens a scalar only where a scalar starts; inside
			// a plain scalar (a"b) it is just a character.
			inQuote = c
		case c == '#' && i > 0 && (d.src[i-1] == ' ' || d.src[i-1] == '\t'):
			for i < len(d.src) && d.src[i] != '\n' {
				i++
			}
			i--
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return line
			}
		}
	}
	return line
}

// mapGet finds key in a mapping node (its own keys, not merged ones).
func mapGet(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Tag != "!!merge" {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// service returns a service's key and value nodes.
func (d *Document) service(name string) (k, v *yaml.Node, err error) {
	k, v = mapGet(d.services, name)
	if k == nil {
		return nil, nil, &Error{Path: d.Path, Msg: fmt.Sprintf("no service %q", name)}
	}
	if v.Kind == yaml.AliasNode {
		return nil, nil, &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q is a YAML alias (*%s): write it out as its own mapping so it can be edited", name, v.Value)}
	}
	if v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0 {
		return nil, nil, &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q is not a block mapping: write it with one key per line so it can be edited", name)}
	}
	return k, v, nil
}

// ServiceLine returns the line a service is defined on, 0 if it is not.
func (d *Document) ServiceLine(name string) int {
	if k, _ := mapGet(d.services, name); k != nil {
		return k.Line
	}
	return 0
}

// KeyLine returns the line of a service's key (command, environment, ...),
// or the service's own line when the key is absent.
func (d *Document) KeyLine(service, key string) int {
	k, v := mapGet(d.services, service)
	if k == nil {
		return 0
	}
	if kk, _ := mapGet(v, key); kk != nil {
		return kk.Line
	}
	return k.Line
}
