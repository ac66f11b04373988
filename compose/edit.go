package compose

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/internal/shellwords"
	"go.yaml.in/yaml/v4"
)

// RenameService changes a service's key, nothing else.
func (d *Document) RenameService(from, to string) error {
	k, _, err := d.service(from)
	if err != nil {
		return err
	}
	if kk, _ := mapGet(d.services, to); kk != nil {
		return &Error{Path: d.Path, Line: kk.Line, Msg: fmt.Sprintf("cannot rename %q to %q: that service exists", from, to)}
	}
	start, end, ok := d.scalarSpan(k, false)
	if !ok {
		return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("cannot edit the key of service %q", from)}
	}
	if err := d.replace(start, end, renderScalar(to, k.Style, "!!str")); err != nil {
		return err
	}
	return d.renameReferences(from, to)
}

// CloneService copies service src, comments inside it included, as a new
// service dst placed after service after. Anchors defined inside src are not
// copied (aliases elsewhere must keep pointing at the original).
func (d *Document) CloneService(src, dst, after string) error {
	text, at, err := d.cloneText(src, dst, after)
	if err != nil {
		return err
	}
	return d.insertText(at, text)
}

// cloneText is the text of src's block renamed dst (with a blank line
// before it when services are separated by blank lines), and the offset
// it goes at: after service after.
func (d *Document) cloneText(src, dst, after string) (string, int, error) {
	k, v, err := d.service(src)
	if err != nil {
		return "", 0, err
	}
	if kk, _ := mapGet(d.services, dst); kk != nil {
		return "", 0, &Error{Path: d.Path, Line: kk.Line, Msg: fmt.Sprintf("cannot add service %q: it exists", dst)}
	}
	ak, av, err := d.service(after)
	if err != nil {
		return "", 0, err
	}
	first, last := k.Line, d.entryEnd(k, v)
	blockStart, blockEnd := d.lineStart(first), d.lineStart(last+1)

	// Cut anchors and rename the key, back to front so offsets hold.
	type cut struct {
		start, end int
		text       string
	}
	var cuts []cut
	walk(v, func(n *yaml.Node) {
		if n.Anchor != "" && n.Kind != yaml.AliasNode {
			o := d.offset(n.Line, n.Column)
			if o < blockEnd && strings.HasPrefix(string(d.src[o:]), "&"+n.Anchor) {
				e := o + 1 + len(n.Anchor)
				for e < blockEnd && d.src[e] == ' ' {
					e++
				}
				if e < blockEnd && d.src[e] == '\n' { // "key: &a" at a line's end: drop the space before it too
					for o > blockStart && d.src[o-1] == ' ' {
						o--
					}
				}
				cuts = append(cuts, cut{o, e, ""})
			}
		}
	})
	ks, ke, ok := d.scalarSpan(k, false)
	if !ok {
		return "", 0, &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("cannot edit the key of service %q", src)}
	}
	cuts = append(cuts, cut{ks, ke, renderScalar(dst, k.Style, "!!str")})
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].start < cuts[j].start })
	block := string(d.src[blockStart:blockEnd])
	for i := len(cuts) - 1; i >= 0; i-- {
		c := cuts[i]
		block = block[:c.start-blockStart] + c.text + block[c.end-blockStart:]
	}
	if !strings.HasSuffix(block, "\n") {
		block += "\n"
	}
	// Services separated by blank lines get one before the clone too.
	afterEnd := d.entryEnd(ak, av)
	above := first - 1
	for above > 0 && isComment(d.line(above)) {
		above--
	}
	if above > 0 && isBlank(d.line(above)) || afterEnd < d.numLines() && isBlank(d.line(afterEnd+1)) {
		block = "\n" + block
	}
	return block, d.lineStart(afterEnd + 1), nil
}

// insertText puts whole lines of text at a line start.
func (d *Document) insertText(at int, text string) error {
	if at == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		text = "\n" + strings.TrimSuffix(text, "\n")
	}
	return d.replace(at, at, text)
}

// SetKey sets a scalar key of a service (shm_size: 256mb), keeping the
// value's quoting; a missing key is added after the image.
func (d *Document) SetKey(service, key, value string) error {
	sk, sv, err := d.service(service)
	if err != nil {
		return err
	}
	k, v := mapGet(sv, key)
	if k == nil {
		return d.insertEntry(sv, sk, []string{"image", "build"}, []string{key + ": " + renderScalar(value, 0, "")})
	}
	if v.Kind != yaml.ScalarNode {
		return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q: %s is not a single value", service, key)}
	}
	if v.Value == value {
		return nil
	}
	if s, e, ok := d.scalarSpan(v, false); ok {
		return d.replace(s, e, renderScalar(value, v.Style, ""))
	}
	return d.replaceEntryValue(k, " "+renderScalar(value, v.Style, ""))
}

// ReplaceInEntry replaces old with new inside one key's entry of a
// service, byte-minimal: old and new are as the value reads, and where the
// source writes a space as "\ " (an escape in a double-quoted string) the
// replacement keeps the escape. It does nothing when new is already
// there and old is not; it refuses when old is there more than once.
func (d *Document) ReplaceInEntry(service, key, old, new string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	k, v := mapGet(sv, key)
	if k == nil {
		return nil
	}
	start, end := d.lineStart(k.Line), d.lineStart(d.entryEnd(k, v)+1)
	span := string(d.src[start:end])
	for _, form := range [][2]string{{old, new}, {strings.ReplaceAll(old, " ", "\\ "), strings.ReplaceAll(new, " ", "\\ ")}} {
		switch strings.Count(span, form[0]) {
		case 0:
			continue
		case 1:
			i := strings.Index(span, form[0])
			return d.replace(start+i, start+i+len(form[0]), form[1])
		default:
			return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q: %s holds %q more than once: change it by hand", service, key, old)}
		}
	}
	return nil
}

// RemoveService deletes a service, the comment lines directly above it, and
// one blank line that separated it.
func (d *Document) RemoveService(name string) error {
	k, v, err := d.serviceOrEmpty(name)
	if err != nil {
		return err
	}
	if renamable, fixed := d.references(name); len(renamable)+len(fixed) > 0 {
		ref := append(renamable, fixed...)[0]
		return &Error{Path: d.Path, Line: ref.Line, Msg: fmt.Sprintf("refers to service %s, which the rewrite removes: drop the reference (or point it at a service that stays), then run compose-scale again", name)}
	}
	return d.removeServiceText(k, v)
}

// RemoveServiceEntry deletes a service's entry from an override file,
// where the service itself lives on in the base file: what refers to it
// still finds it.
func (d *Document) RemoveServiceEntry(name string) error {
	k, v, err := d.serviceOrEmpty(name)
	if err != nil {
		return err
	}
	return d.removeServiceText(k, v)
}

// serviceOrEmpty finds a service's key and value, an emptied entry
// (name: with nothing under it) included.
func (d *Document) serviceOrEmpty(name string) (k, v *yaml.Node, err error) {
	k, v, err = d.service(name)
	if err != nil && d.EmptyService(name) {
		k, v = mapGet(d.services, name)
		err = nil
	}
	return k, v, err
}

// removeServiceText deletes a service's lines, the comment lines directly
// above it, and one blank line that separated it.
func (d *Document) removeServiceText(k, v *yaml.Node) error {
	first, last := k.Line, d.entryEnd(k, v)
	for first > 1 && isComment(d.line(first-1)) && indentOf(d.line(first-1)) == k.Column-1 {
		first--
	}
	switch {
	case first > 1 && isBlank(d.line(first-1)):
		first--
	case last < d.numLines() && isBlank(d.line(last+1)):
		last++
	}
	return d.replace(d.lineStart(first), d.lineStart(last+1), "")
}

// SetCommand sets a service's command to argv, in the form the file already
// uses for it (a string, a flow list or a block list; a string when the
// service has none). An unchanged argv leaves the bytes alone.
func (d *Document) SetCommand(service string, argv []string) error {
	sk, sv, err := d.service(service)
	if err != nil {
		return err
	}
	ck, cv := mapGet(sv, "command")
	if ck == nil {
		if options(argv) > foldOver {
			lines := []string{"command: >-"}
			for _, l := range foldedLines(argv) {
				lines = append(lines, d.indentUnit()+l)
			}
			return d.insertEntry(sv, sk, []string{"image", "build"}, lines)
		}
		line := shellwords.Join(argv)
		return d.insertEntry(sv, sk, []string{"image", "build"}, []string{"command: " + renderScalar(line, 0, "!!str")})
	}
	current, err := d.commandArgv(cv)
	if err == nil && reflect.DeepEqual(current, argv) {
		return nil
	}
	switch cv.Kind {
	case yaml.ScalarNode:
		if cv.Style&yaml.FoldedStyle != 0 {
			indent := strings.Repeat(" ", ck.Column-1) + d.indentUnit()
			var b strings.Builder
			b.WriteString(" >-")
			for _, l := range foldedLines(argv) {
				b.WriteString("\n" + indent + l)
			}
			return d.replaceEntryValue(ck, b.String())
		}
		text := renderScalar(shellwords.Join(argv), cv.Style, "!!str")
		if s, e, ok := d.scalarSpan(cv, false); ok {
			return d.replace(s, e, text)
		}
		return d.replaceEntryValue(ck, " "+text)
	case yaml.SequenceNode:
		style := yaml.Style(0)
		if len(cv.Content) > 0 {
			style = cv.Content[0].Style
		}
		items := make([]string, len(argv))
		for i, a := range argv {
			items[i] = renderScalar(a, style&^yaml.FlowStyle, "!!str")
			if cv.Style&yaml.FlowStyle != 0 && !flowSafe(items[i]) {
				items[i] = doubleQuote(a)
			}
		}
		indent := strings.Repeat(" ", cv.Column-1)
		if cv.Style&yaml.FlowStyle != 0 && !hasNewline(argv) {
			return d.replaceEntryValue(ck, " ["+strings.Join(items, ", ")+"]")
		}
		if cv.Style&yaml.FlowStyle != 0 {
			indent = strings.Repeat(" ", ck.Column-1) + d.indentUnit()
		}
		var b strings.Builder
		for i, it := range items {
			if strings.Contains(argv[i], "\n") {
				// A script: a literal block, as AddService writes it.
				b.WriteString("\n" + indent + "- |")
				for _, l := range strings.Split(strings.TrimSuffix(argv[i], "\n"), "\n") {
					if l == "" {
						b.WriteString("\n")
						continue
					}
					b.WriteString("\n" + indent + d.indentUnit() + l)
				}
				continue
			}
			b.WriteString("\n" + indent + "- " + it)
		}
		return d.replaceEntryValue(ck, b.String())
	}
	return &Error{Path: d.Path, Line: ck.Line, Msg: fmt.Sprintf("service %q: command is neither a string nor a list", service)}
}

// flowSafe reports whether a rendered scalar can stand in a flow list as
// it is: quoted, or plain without flow indicators.
func flowSafe(text string) bool {
	if strings.HasPrefix(text, "\"") || strings.HasPrefix(text, "'") {
		return true
	}
	return !strings.ContainsAny(text, ",[]{}#") && !strings.Contains(text, ": ") && !strings.HasSuffix(text, ":")
}

// foldOver is how many options make a new command long enough to write as
// a folded block, one option per line: a db command with twenty -c flags
// reads, and diffs, better that way.
const foldOver = 6

func options(argv []string) int {
	n := 0
	for _, a := range argv {
		if strings.HasPrefix(a, "-") {
			n++
		}
	}
	return n
}

// foldedLines puts each option with its value on a line of its own, for a
// `>-` folded scalar (which joins the lines back with single spaces).
func foldedLines(argv []string) []string {
	var lines []string
	for i, a := range argv {
		w := shellwords.Quote(a)
		if i == 0 || strings.HasPrefix(a, "-") {
			lines = append(lines, w)
		} else {
			lines[len(lines)-1] += " " + w
		}
	}
	return lines
}

func (d *Document) commandArgv(cv *yaml.Node) ([]string, error) {
	var raw any
	if err := cv.Decode(&raw); err != nil {
		return nil, err
	}
	switch c := raw.(type) {
	case string:
		return shellwords.Split(c)
	case []any:
		out := make([]string, len(c))
		for i, w := range c {
			out[i] = scalarString(w)
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a command")
}

// replaceEntryValue replaces everything after "key:" up to the end of the
// entry (keeping a comment at the end of the key's line when the value is
// on following lines).
func (d *Document) replaceEntryValue(k *yaml.Node, text string) error {
	_, ke, ok := d.scalarSpan(k, false)
	if !ok {
		return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("cannot edit key %q", k.Value)}
	}
	colon := ke
	for colon < len(d.src) && d.src[colon] != ':' {
		colon++
	}
	end := d.lineStart(d.entryEnd(k, d.valueOf(k)) + 1)
	if end > 0 && d.src[end-1] == '\n' {
		end--
	}
	return d.replace(colon+1, end, text)
}

// insertEntry adds lines (written at the service's key indentation, nested
// lines indented further by the caller) after the first of the keys in
// `after` the service has, or at the end of the service.
func (d *Document) insertEntry(sv, sk *yaml.Node, after []string, lines []string) error {
	indent := d.childIndent(sv)
	var anchor *yaml.Node
	for _, key := range after {
		if k, _ := mapGet(sv, key); k != nil {
			anchor = k
			break
		}
	}
	var endLine int
	if anchor != nil {
		endLine = d.entryEnd(anchor, d.valueOf(anchor))
	} else {
		endLine = d.entryEnd(sk, sv)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(indent + l + "\n")
	}
	at := d.lineStart(endLine + 1)
	text := b.String()
	if at == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		text = "\n" + strings.TrimSuffix(text, "\n")
	}
	return d.replace(at, at, text)
}

// childIndent is the indentation of a block mapping's keys.
func (d *Document) childIndent(m *yaml.Node) string {
	if len(m.Content) > 0 {
		return strings.Repeat(" ", m.Content[0].Column-1)
	}
	return strings.Repeat(" ", m.Column-1)
}

// indentUnit is how far the file indents a nested block (2 in Mastodon's
// files): a service's keys relative to the service name.
func (d *Document) indentUnit() string {
	if d.style != nil {
		return d.style.indentUnit()
	}
	for i := 0; i+1 < len(d.services.Content); i += 2 {
		k, v := d.services.Content[i], d.services.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Column > k.Column {
			return strings.Repeat(" ", v.Content[0].Column-k.Column)
		}
	}
	return "  "
}

// valueOf finds the value paired with key node k.
func (d *Document) valueOf(k *yaml.Node) *yaml.Node {
	var v *yaml.Node
	walk(d.root, func(m *yaml.Node) {
		if v != nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i] == k {
				v = m.Content[i+1]
			}
		}
	})
	return v
}

func walk(n *yaml.Node, f func(*yaml.Node)) {
	f(n)
	for _, c := range n.Content {
		walk(c, f)
	}
}

func hasNewline(argv []string) bool {
	for _, a := range argv {
		if strings.Contains(a, "\n") {
			return true
		}
	}
	return false
}

// CopyEntry makes service's key entry the one service from has, as
// written (env_file with its required: flags and variables); it does
// nothing when from has no such entry of its own.
func (d *Document) CopyEntry(service, from, key string) error {
	text, ok := d.EntryText(from, key)
	if !ok {
		return nil
	}
	return d.SetEntryText(service, key, text)
}

// EmptyService reports a service that has no key left (`name:` alone).
func (d *Document) EmptyService(name string) bool {
	k, v := mapGet(d.services, name)
	return k != nil && (v.Kind == yaml.ScalarNode && v.Tag == "!!null" || v.Kind == yaml.MappingNode && len(v.Content) == 0)
}
