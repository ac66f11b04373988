package compose

import (
	"strings"

	"go.yaml.in/yaml/v4"
)

// keptMarker starts the comment SetEnvKeeping leaves on an entry it
// changed: what follows it, to the end of the line, is the entry's text
// before the change, so that RemoveEnv can put it back byte for byte.
const keptMarker = "# compose-scale replaced: "

// SetEnvKeeping is SetEnv for an entry the admin may have written: when
// the service's own environment already has KEY, its text (value and any
// comment after it) is kept in a comment at the end of the line, and
// RemoveEnv restores it. An entry that already carries such a comment
// keeps the first one: it says what the admin wrote, not what an earlier
// run did.
func (d *Document) SetEnvKeeping(service, key, value string) error {
	n, isList, err := d.envEntry(service, key)
	if err != nil || n == nil {
		return d.SetEnv(service, key, value)
	}
	if isList && n.Value == key+"="+value || !isList && n.Value == value {
		return nil // it says so already: nothing of the admin's to keep
	}
	s, lineEnd, ok := d.entrySpan(n)
	if !ok || strings.Contains(string(d.src[s:lineEnd]), keptMarker) {
		return d.SetEnv(service, key, value)
	}
	text := renderScalar(value, n.Style, "")
	if isList {
		text = renderScalar(key+"="+value, n.Style, "!!str")
	}
	return d.replace(s, lineEnd, text+" "+keptMarker+string(d.src[s:lineEnd]))
}

// restoreKept puts back the text SetEnvKeeping kept for KEY, when the
// entry still holds value (what compose-scale wrote); ok is false when
// the entry carries no kept text.
func (d *Document) restoreKept(service, key, value string) (ok bool, err error) {
	n, isList, err := d.envEntry(service, key)
	if err != nil || n == nil {
		return false, err
	}
	if isList && n.Value != key+"="+value || !isList && n.Value != value {
		return false, nil
	}
	s, lineEnd, spanned := d.entrySpan(n)
	if !spanned {
		return false, nil
	}
	line := string(d.src[s:lineEnd])
	i := strings.Index(line, keptMarker)
	if i < 0 {
		return false, nil
	}
	return true, d.replace(s, lineEnd, line[i+len(keptMarker):])
}

// envEntry finds the scalar that holds KEY in a service's own block
// environment: the value of a mapping entry, or the KEY=VALUE item of a
// list. nil when there is none.
func (d *Document) envEntry(service, key string) (n *yaml.Node, isList bool, err error) {
	_, sv, err := d.service(service)
	if err != nil {
		return nil, false, err
	}
	_, ev := mapGet(sv, "environment")
	if ev == nil || ev.Style&yaml.FlowStyle != 0 {
		return nil, false, nil
	}
	switch ev.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(ev.Content); i += 2 {
			if ev.Content[i].Value == key && ev.Content[i+1].Kind == yaml.ScalarNode {
				return ev.Content[i+1], false, nil
			}
		}
	case yaml.SequenceNode:
		for _, item := range ev.Content {
			if k, _, _ := strings.Cut(item.Value, "="); k == key && item.Kind == yaml.ScalarNode {
				return item, true, nil
			}
		}
	}
	return nil, false, nil
}

// entrySpan is a one-line scalar's start and the end of its line (the
// scalar and any comment after it).
func (d *Document) entrySpan(n *yaml.Node) (start, lineEnd int, ok bool) {
	if n.Tag == "!!null" {
		return 0, 0, false
	}
	start, _, ok = d.scalarSpan(n, false)
	if !ok {
		return 0, 0, false
	}
	lineEnd = d.lineStart(n.Line + 1)
	if lineEnd > start && d.src[lineEnd-1] == '\n' {
		lineEnd--
	}
	return start, lineEnd, true
}

// SetKeyKeeping is SetKey for a scalar key the admin may have written
// (shm_size): its text before the change is kept in a comment at the end
// of the line, for RestoreKey. A missing key is added as SetKey adds it.
func (d *Document) SetKeyKeeping(service, key, value string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	_, v := mapGet(sv, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return d.SetKey(service, key, value)
	}
	s, lineEnd, ok := d.entrySpan(v)
	if !ok || strings.Contains(string(d.src[s:lineEnd]), keptMarker) {
		return d.SetKey(service, key, value)
	}
	if v.Value == value {
		return nil
	}
	return d.replace(s, lineEnd, renderScalar(value, v.Style, "")+" "+keptMarker+string(d.src[s:lineEnd]))
}

// RestoreKey puts back the text SetKeyKeeping kept for a scalar key; it
// does nothing to a key that carries none.
func (d *Document) RestoreKey(service, key string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	_, v := mapGet(sv, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return nil
	}
	s, lineEnd, ok := d.entrySpan(v)
	if !ok {
		return nil
	}
	line := string(d.src[s:lineEnd])
	i := strings.Index(line, keptMarker)
	if i < 0 {
		return nil
	}
	return d.replace(s, lineEnd, line[i+len(keptMarker):])
}

// keptValue is the value a scalar had before SetKeyKeeping changed it,
// read from its comment; ok is false when it carries none.
func keptValue(n *yaml.Node) (string, bool) {
	c, ok := strings.CutPrefix(n.LineComment, keptMarker)
	if !ok || n.Kind != yaml.ScalarNode {
		return "", false
	}
	var v string
	if err := yaml.Unmarshal([]byte("v: "+c), &struct{ V *string }{&v}); err != nil {
		return "", false
	}
	return v, true
}
