package compose

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// The entry-level reads and edits an override file is written with: an
// entry is one key of a service with its value, as text.

// EntryText returns a service key's entry as written, from the key's line
// through its value's last line, unindented by the key's column. ok is
// false when the service has no such key.
func (d *Document) EntryText(service, key string) (text string, ok bool) {
	_, sv, err := d.service(service)
	if err != nil {
		return "", false
	}
	k, v := mapGet(sv, key)
	if k == nil {
		return "", false
	}
	return d.unindented(k.Line, d.entryEnd(k, v), k.Column-1), true
}

// ServiceText returns a service's whole block (its key line through its
// last line), unindented by the services' column.
func (d *Document) ServiceText(name string) (string, bool) {
	k, v, err := d.service(name)
	if err != nil {
		return "", false
	}
	return d.unindented(k.Line, d.entryEnd(k, v), k.Column-1), true
}

func (d *Document) unindented(first, last, indent int) string {
	var b strings.Builder
	for l := first; l <= last; l++ {
		line := d.line(l)
		if len(line) >= indent && strings.TrimSpace(line[:indent]) == "" {
			line = line[indent:]
		} else {
			line = strings.TrimLeft(line, " ")
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// indented puts text (lines at column 0) at indent.
func indented(text, indent string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(indent + l + "\n")
	}
	return b.String()
}

// SetEntryText replaces a service key's entry with text (an entry as
// EntryText returns it, for the same key), or adds it at the end of the
// service. An entry already equal to text is left alone.
func (d *Document) SetEntryText(service, key, text string) error {
	sk, sv, err := d.service(service)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	indent := d.childIndent(sv)
	if sv.Kind != yaml.MappingNode || len(sv.Content) == 0 {
		indent = strings.Repeat(" ", sk.Column-1) + d.indentUnit()
	}
	if k, v := mapGet(sv, key); k != nil {
		if cur, _ := d.EntryText(service, key); cur == text {
			return nil
		}
		return d.replace(d.lineStart(k.Line), d.lineStart(d.entryEnd(k, v)+1), indented(text, indent))
	}
	at := d.lineStart(d.entryEnd(sk, sv) + 1)
	body := indented(text, indent)
	if at == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		body = "\n" + body
	}
	return d.replace(at, at, body)
}

// RemoveKey deletes a service key's entry; a missing key is no error.
func (d *Document) RemoveKey(service, key string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	k, _ := mapGet(sv, key)
	if k == nil {
		return nil
	}
	if len(sv.Content) == 2 {
		return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q: cannot remove its only key %s", service, key)}
	}
	return d.removeEntry(k)
}

// OnlyKey reports whether key is all a service has.
func (d *Document) OnlyKey(service, key string) bool {
	_, sv, err := d.service(service)
	if err != nil || len(sv.Content) != 2 {
		return false
	}
	return sv.Content[0].Value == key
}

// RemoveKeyIf deletes a service's scalar key when it holds value (what
// an earlier edit wrote): one the admin changed since stays.
func (d *Document) RemoveKeyIf(service, key, value string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	if _, v := mapGet(sv, key); v == nil || v.Kind != yaml.ScalarNode || v.Value != value {
		return nil
	}
	return d.RemoveKey(service, key)
}

// RemoveEnvKey deletes KEY from a service's own environment, whatever its
// value; the environment goes when it is left empty.
func (d *Document) RemoveEnvKey(service, key string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	_, ev := mapGet(sv, "environment")
	if ev == nil {
		return nil
	}
	switch ev.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(ev.Content); i += 2 {
			if ev.Content[i].Value == key {
				return d.RemoveEnv(service, key, ev.Content[i+1].Value)
			}
		}
	case yaml.SequenceNode:
		for _, item := range ev.Content {
			if k, v, _ := strings.Cut(item.Value, "="); k == key {
				return d.RemoveEnv(service, key, v)
			}
		}
	}
	return nil
}

// ReplaceServiceText replaces a service's block with text (a block as
// ServiceText returns it); equal text is left alone.
func (d *Document) ReplaceServiceText(name, text string) error {
	k, v, err := d.service(name)
	if err != nil {
		return err
	}
	if cur, _ := d.ServiceText(name); cur == text {
		return nil
	}
	return d.replace(d.lineStart(k.Line), d.lineStart(d.entryEnd(k, v)+1), indented(text, strings.Repeat(" ", k.Column-1)))
}

// AppendServiceText adds a service block (as ServiceText returns it) after
// the last service, a blank line before it.
func (d *Document) AppendServiceText(text string) error {
	if len(d.services.Content) < 2 {
		return &Error{Path: d.Path, Msg: "no service to add after"}
	}
	k, v := d.services.Content[len(d.services.Content)-2], d.services.Content[len(d.services.Content)-1]
	at := d.lineStart(d.entryEnd(k, v) + 1)
	body := "\n" + indented(text, strings.Repeat(" ", k.Column-1))
	if at == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		body = "\n" + body
	}
	return d.replace(at, at, body)
}
