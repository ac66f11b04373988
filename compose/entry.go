package compose

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// An Entry is one key of a service with its value, ready to be written
// into a service: the unit an override file is made of. Callers build
// entries with the constructors below (or read one from a Document) and
// never write YAML themselves; what YAML needs (quoting, merge tags,
// indentation) is decided here.
type Entry struct {
	Key  string
	text string // "key: value\n", at column 0
	// Tagged: the entry uses compose's merge tags (!reset, !override),
	// which docker compose reads from 2.24.4 on.
	Tagged bool
}

// Text is the entry as written at column 0.
func (e Entry) Text() string { return e.text }

// Value is a scalar entry, quoted when YAML would misread it.
func Value(key, value string) Entry {
	return Entry{Key: key, text: key + ": " + quoteIfNeeded(value) + "\n"}
}

// Quoted is a scalar entry written as a string whatever it looks like
// (cpus: "0.5", which a schema wants as a string).
func Quoted(key, value string) Entry {
	return Entry{Key: key, text: key + ": '" + strings.ReplaceAll(value, "'", "''") + "'\n"}
}

// IntValue is an integer entry (scale: 0).
func IntValue(key string, n int) Entry {
	return Entry{Key: key, text: fmt.Sprintf("%s: %d\n", key, n)}
}

// Reset is key: !reset null, which drops a key the file below sets.
func Reset(key string) Entry {
	return Entry{Key: key, text: key + ": !reset null\n", Tagged: true}
}

// ResetList is key: !reset [], which empties a list the file below sets
// (an empty !override list is refused: "must be a array").
func ResetList(key string) Entry {
	return Entry{Key: key, text: key + ": !reset []\n", Tagged: true}
}

// Override tags a list or mapping entry !override, so that it replaces
// what the file below has for the key instead of adding to it.
func Override(e Entry) Entry {
	rest, ok := strings.CutPrefix(e.text, e.Key+":")
	if !ok {
		return e
	}
	return Entry{Key: e.Key, text: e.Key + ": !override" + rest, Tagged: true}
}

// PortsEntry is a ports list in short syntax, each port quoted (a port
// like 22:22 reads as a base-60 number in YAML 1.1).
func PortsEntry(ports []Port) Entry {
	var b strings.Builder
	b.WriteString("ports:\n")
	for _, p := range ports {
		b.WriteString("  - '" + p.String() + "'\n")
	}
	return Entry{Key: "ports", text: b.String()}
}

// List is key: with a block list of scalars, quoted where YAML would
// misread them.
func List(key string, items []string) Entry {
	var b strings.Builder
	b.WriteString(key + ":\n")
	for _, it := range items {
		b.WriteString("  - " + quoteIfNeeded(it) + "\n")
	}
	return Entry{Key: key, text: b.String()}
}

// Mapping is key: with entries under it.
func Mapping(key string, entries ...Entry) Entry {
	e := Entry{Key: key, text: key + ":\n"}
	for _, sub := range entries {
		e.text += indented(sub.text, "  ")
		e.Tagged = e.Tagged || sub.Tagged
	}
	return e
}

// Extends is extends: of service in file.
func Extends(file, service string) Entry {
	return Mapping("extends", Value("file", file), Value("service", service))
}

// EnvList is an environment entry in list form (KEY=value), in the
// order given.
func EnvList(env [][2]string) Entry {
	var b strings.Builder
	b.WriteString("environment:\n")
	for _, kv := range env {
		b.WriteString("  - " + quoteIfNeeded(kv[0]+"="+kv[1]) + "\n")
	}
	return Entry{Key: "environment", text: b.String()}
}

// Entry reads a service's key as an Entry that stands on its own
// (aliases and merge keys resolved): for writing it into another file.
func (d *Document) Entry(service, key string) (Entry, bool) {
	text, ok := d.SelfContainedEntryText(service, key)
	if !ok {
		return Entry{}, false
	}
	return Entry{Key: key, text: text}, true
}

// SetEntry replaces a service's entry for e.Key with e, or adds it.
func (d *Document) SetEntry(service string, e Entry) error {
	return d.SetEntryText(service, e.Key, e.text)
}

// ServiceBlock is the text of a service written whole: its name, a
// comment line when comment is not empty, and its entries.
func ServiceBlock(name, comment string, entries ...Entry) string {
	var b strings.Builder
	b.WriteString(name + ":\n")
	if comment != "" {
		b.WriteString("  # " + comment + "\n")
	}
	for _, e := range entries {
		b.WriteString(indented(e.text, "  "))
	}
	return b.String()
}

// WithComment puts a comment line first inside a service block.
func WithComment(block, comment string) string {
	key, rest, _ := strings.Cut(block, "\n")
	return key + "\n  # " + comment + "\n" + rest
}

// AppendServices adds service blocks (as ServiceBlock writes them) at the
// end of text, a file whose services: mapping is last and at column 0;
// afterOthers separates the first block from the services already there.
func AppendServices(text string, blocks []string, afterOthers bool) string {
	if len(blocks) > 0 && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	for i, block := range blocks {
		if i > 0 || afterOthers {
			text += "\n"
		}
		text += indented(block, "  ")
	}
	return text
}

// NewFile is the text of a compose file with no service yet: comment
// lines, then services:, for AppendServices to fill.
func NewFile(comments ...string) string {
	var b strings.Builder
	for _, c := range comments {
		b.WriteString("# " + c + "\n")
	}
	b.WriteString("services:\n")
	return b.String()
}

// quoteIfNeeded single-quotes s when a plain scalar would not read back
// as s (a colon, a comment mark, a flow or tag indicator).
func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`") {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}

// ParseService reads service blocks (as ServiceText returns them, one or
// several) as a file of their own, to read or edit them apart.
func ParseService(path, block string) (*Document, error) {
	return Parse(path, []byte(AppendServices(NewFile(), []string{block}, false)))
}

// AppendListItem adds a mapping (its entries) as the last item of a
// service's list entry key, in the list's own indentation; a service
// without the key gets a list of that one item.
func (d *Document) AppendListItem(service, key string, item ...Entry) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	var body strings.Builder
	for i, e := range item {
		prefix := "  "
		if i == 0 {
			prefix = "- "
		}
		lines := strings.Split(strings.TrimSuffix(e.text, "\n"), "\n")
		for j, l := range lines {
			if j > 0 || i > 0 {
				prefix = "  "
			}
			body.WriteString(prefix + l + "\n")
		}
	}
	k, v := mapGet(sv, key)
	if k == nil {
		return d.SetEntryText(service, key, key+":\n"+indented(body.String(), "  "))
	}
	if v.Kind != yaml.SequenceNode || v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 {
		return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q: %s is not a block list: write it as one (- item per line)", service, key)}
	}
	dash := strings.Repeat(" ", v.Content[0].Column-3)
	at := d.lineStart(d.entryEnd(k, v) + 1)
	return d.insertText(at, indented(body.String(), dash))
}

// RemoveTopKey deletes a top-level key of the file (name:, version:)
// with its value; a file without it is left alone.
func (d *Document) RemoveTopKey(key string) error {
	top := d.root
	if top != nil && top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top == nil || top.Kind != yaml.MappingNode {
		return nil
	}
	k, _ := mapGet(top, key)
	if k == nil {
		return nil
	}
	return d.removeEntry(k)
}
