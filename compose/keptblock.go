package compose

import (
	"strings"
)

// A kept block holds services in comments at the end of services:, for
// an edit to bring back later: a header line, then each line of the
// services' text behind KeptPrefix, at the services' indentation.
//
//	# compose-scale kept ... (the header the caller writes)
//	#~ sidekiq-mailers:
//	#~   image: ghcr.io/mastodon/mastodon:v4.3.0
//
// YAML and docker compose see comments; the text comes back byte for
// byte.
const (
	keptHeaderMark = "# compose-scale kept:"
	KeptPrefix     = "#~ "
)

// KeptServices takes the kept block out of src: the services' text (as
// ServiceText gives blocks, one after another) and src without the block.
// ok is false when src has none.
func KeptServices(src []byte) (kept string, rest []byte, ok bool) {
	lines := strings.SplitAfter(string(src), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), keptHeaderMark) {
			start = i
			break
		}
	}
	if start < 0 {
		return "", src, false
	}
	end := start + 1
	var b strings.Builder
	for ; end < len(lines); end++ {
		t := strings.TrimLeft(lines[end], " ")
		if !strings.HasPrefix(t, strings.TrimSpace(KeptPrefix)) {
			break
		}
		body := strings.TrimPrefix(strings.TrimPrefix(t, strings.TrimSpace(KeptPrefix)), " ")
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		b.WriteString(body)
	}
	if start > 0 && isBlank(lines[start-1]) {
		start-- // the blank line AppendKept put before it
	}
	return b.String(), []byte(strings.Join(lines[:start], "") + strings.Join(lines[end:], "")), true
}

// AppendKept writes a kept block of text (service blocks at column 0)
// after the last service, under header (one line, said to the admin).
func (d *Document) AppendKept(header, text string) error {
	if len(d.services.Content) < 2 {
		return &Error{Path: d.Path, Msg: "no service to keep others after"}
	}
	k, v := d.services.Content[len(d.services.Content)-2], d.services.Content[len(d.services.Content)-1]
	indent := strings.Repeat(" ", k.Column-1)
	var b strings.Builder
	b.WriteString("\n" + indent + keptHeaderMark + " " + header + "\n")
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		b.WriteString(strings.TrimRight(indent+KeptPrefix+l, " ") + "\n")
	}
	at := d.lineStart(d.entryEnd(k, v) + 1)
	body := b.String()
	if at == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		body = "\n" + body
	}
	return d.replace(at, at, body)
}

// InsertServiceTextBefore puts service blocks (as ServiceText returns
// them) before the service name, with the comment lines above it, a blank
// line after them.
func (d *Document) InsertServiceTextBefore(name, text string) error {
	k, _, err := d.service(name)
	if err != nil {
		return err
	}
	first := k.Line
	for first > 1 && isComment(d.line(first-1)) && indentOf(d.line(first-1)) == k.Column-1 {
		first--
	}
	body := indented(text, strings.Repeat(" ", k.Column-1))
	if !strings.HasSuffix(body, "\n\n") {
		body += "\n"
	}
	return d.insertText(d.lineStart(first), body)
}

// ServiceBlock is a service's text with the comment lines directly above
// it (what RemoveService takes with it), as ServiceText gives it.
func (d *Document) ServiceBlock(name string) (string, bool) {
	k, v, err := d.service(name)
	if err != nil {
		return "", false
	}
	first := k.Line
	for first > 1 && isComment(d.line(first-1)) && indentOf(d.line(first-1)) == k.Column-1 {
		first--
	}
	return d.unindented(first, d.entryEnd(k, v), k.Column-1), true
}

// InsertServiceTextAfter puts service blocks (as ServiceText returns
// them) after the service name, a blank line before them.
func (d *Document) InsertServiceTextAfter(name, text string) error {
	k, v, err := d.service(name)
	if err != nil {
		return err
	}
	return d.insertText(d.lineStart(d.entryEnd(k, v)+1), "\n"+indented(text, strings.Repeat(" ", k.Column-1)))
}

// CommentService puts a comment line above a service (after the comment
// lines already there).
func (d *Document) CommentService(name, comment string) error {
	k, _, err := d.service(name)
	if err != nil {
		return err
	}
	return d.insertText(d.lineStart(k.Line), strings.Repeat(" ", k.Column-1)+"# "+comment+"\n")
}

// ServiceComments are the comment lines directly above a service, their
// text after "# ".
func (d *Document) ServiceComments(name string) []string {
	k, _, err := d.service(name)
	if err != nil {
		return nil
	}
	var out []string
	for l := k.Line - 1; l >= 1 && isComment(d.line(l)) && indentOf(d.line(l)) == k.Column-1; l-- {
		out = append([]string{strings.TrimPrefix(strings.TrimSpace(d.line(l)), "# ")}, out...)
	}
	return out
}
