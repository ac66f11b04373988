package compose

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// SetEnv sets KEY=VALUE in a service's own environment, in the style the
// service (or else the file) uses: `- KEY=VALUE` or `KEY: VALUE`, quoted like
// its neighbours. A service without an environment gets one, after its
// command. An entry that already has the value is left alone.
func (d *Document) SetEnv(service, key, value string) error {
	sk, sv, err := d.service(service)
	if err != nil {
		return err
	}
	ek, ev := mapGet(sv, "environment")
	if ek == nil {
		return d.addEnvironment(service, sk, sv, key, value)
	}
	switch {
	case ev.Kind == yaml.MappingNode && ev.Style&yaml.FlowStyle == 0 && ev.Anchor != "" && d.aliased(ev):
		return d.envUnderMerge(ek, ev, key, value)
	case ev.Kind == yaml.MappingNode && ev.Style&yaml.FlowStyle == 0:
		return d.setEnvMap(service, ek, ev, key, value)
	case ev.Kind == yaml.SequenceNode && ev.Style&yaml.FlowStyle == 0:
		return d.setEnvList(service, ek, ev, key, value)
	case ev.Kind == yaml.ScalarNode && ev.Tag == "!!null":
		return d.replaceEntryValue(ek, d.newEnvBlock(ek, key, value))
	case ev.Kind == yaml.AliasNode || ev.Style&yaml.FlowStyle != 0:
		return d.envAsOwnBlock(service, ek, ev, key, value)
	}
	return &Error{Path: d.Path, Line: ek.Line, Msg: fmt.Sprintf("service %q: environment is written in a form compose-scale cannot edit; write it as a block list or mapping so %s can be set", service, key)}
}

// envUnderMerge sets KEY=VALUE on a service whose environment mapping is
// an anchor other services use (environment: &env ... then *env or
// <<: *env elsewhere): a key added inside the anchor would reach them
// all. The mapping becomes the value of a merge key, anchor and all, and
// the service's own key goes beside it:
//
//	environment:
//	  <<: &env
//	    LOCAL_DOMAIN: example.com
//	  KEY: VALUE
//
// The anchor means what it meant; only this service gets KEY.
func (d *Document) envUnderMerge(ek, ev *yaml.Node, key, value string) error {
	indent := strings.Repeat(" ", ek.Column-1) + d.indentUnit()
	body := d.unindented(ev.Content[0].Line, d.entryEnd(ek, ev), ev.Content[0].Column-1)
	var b strings.Builder
	b.WriteString("\n" + indent + "<<: &" + ev.Anchor)
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("\n" + indent + d.indentUnit() + l)
	}
	b.WriteString("\n" + indent + key + ": " + renderScalar(value, 0, ""))
	return d.replaceEntryValue(ek, b.String())
}

// aliased reports whether an alias anywhere in the file refers to n.
func (d *Document) aliased(n *yaml.Node) bool {
	var walk func(*yaml.Node) bool
	walk = func(x *yaml.Node) bool {
		if x.Kind == yaml.AliasNode && x.Alias == n {
			return true
		}
		for _, c := range x.Content {
			if walk(c) {
				return true
			}
		}
		return false
	}
	return walk(d.root)
}

// envAsOwnBlock gives a service whose environment is an alias (*common) or
// a flow collection ({ A: 1 }, [A=1]) an environment of its own in block
// form, with KEY=VALUE set: an aliased mapping is merged (<<: *common, so
// later edits to the anchor still reach it), anything else is written
// entry by entry as the file has it. The anchor, and every other service
// that uses it, is left alone.
func (d *Document) envAsOwnBlock(service string, ek, ev *yaml.Node, key, value string) error {
	indent := strings.Repeat(" ", ek.Column-1) + d.indentUnit()
	target := ev
	if ev.Kind == yaml.AliasNode {
		target = ev.Alias
	}
	var lines []string
	switch {
	case ev.Kind == yaml.AliasNode && target.Kind == yaml.MappingNode:
		lines = append(lines, "<<: *"+target.Anchor, key+": "+renderScalar(value, 0, ""))
	case target.Kind == yaml.MappingNode:
		inFlow := target.Style&yaml.FlowStyle != 0
		for i := 0; i+1 < len(target.Content); i += 2 {
			k, v := target.Content[i], target.Content[i+1]
			if k.Value == key {
				continue
			}
			if k.Tag == "!!merge" {
				text, err := d.flowText(v)
				if err != nil {
					return &Error{Path: d.Path, Line: ek.Line, Msg: fmt.Sprintf("service %q: environment merges %s in a form compose-scale cannot copy: write it as a block mapping so %s can be set", service, k.Value, key)}
				}
				lines = append(lines, "<<: "+text)
				continue
			}
			text, err := d.sourceText(v, inFlow)
			if err != nil {
				return &Error{Path: d.Path, Line: ek.Line, Msg: fmt.Sprintf("service %q: environment entry %s is written over several lines: write it on one line, or as a block mapping, so %s can be set", service, k.Value, key)}
			}
			lines = append(lines, k.Value+": "+text)
		}
		lines = append(lines, key+": "+renderScalar(value, 0, ""))
	case target.Kind == yaml.SequenceNode:
		inFlow := target.Style&yaml.FlowStyle != 0
		for _, it := range target.Content {
			if k, _, _ := strings.Cut(it.Value, "="); k == key {
				continue
			}
			text, err := d.sourceText(it, inFlow)
			if err != nil {
				return &Error{Path: d.Path, Line: ek.Line, Msg: fmt.Sprintf("service %q: an environment entry is written over several lines: write it on one line so %s can be set", service, key)}
			}
			lines = append(lines, "- "+text)
		}
		lines = append(lines, "- "+renderScalar(key+"="+value, 0, "!!str"))
	default:
		return &Error{Path: d.Path, Line: ek.Line, Msg: fmt.Sprintf("service %q: environment is neither a mapping nor a list", service)}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\n" + indent + l)
	}
	return d.replaceEntryValue(ek, b.String())
}

// flowText is the text of a merge key's value: *a or [*a, *b].
func (d *Document) flowText(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.AliasNode:
		return "*" + v.Value, nil
	case yaml.SequenceNode:
		var parts []string
		for _, a := range v.Content {
			if a.Kind != yaml.AliasNode {
				return "", fmt.Errorf("not an alias")
			}
			parts = append(parts, "*"+a.Value)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("not an alias")
}

func (d *Document) addEnvironment(service string, sk, sv *yaml.Node, key, value string) error {
	if mk := mergeKey(sv); mk != nil {
		if inherited := mergedValue(sv, "environment"); inherited != nil {
			return d.addOverInherited(service, sk, sv, mk, inherited, key, value)
		}
	}
	unit := d.indentUnit()
	var lines []string
	if d.envStyle() == "list" {
		lines = []string{"environment:", unit + "- " + renderScalar(key+"="+value, 0, "!!str")}
	} else {
		lines = []string{"environment:", unit + key + ": " + renderScalar(value, 0, "")}
	}
	return d.insertEntry(sv, sk, []string{"command", "image", "build"}, lines)
}

// mergedValue finds what a mapping inherits for key through its merge
// keys (<<: *a or <<: [*a, *b], the first source that has it winning, as
// in YAML), following merges in the sources too.
func mergedValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Tag != "!!merge" {
			continue
		}
		v := m.Content[i+1]
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			for src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if _, val := mapGet(src, key); val != nil {
				for val.Kind == yaml.AliasNode && val.Alias != nil {
					if val.Alias.Anchor != "" && val.Alias.Kind == yaml.MappingNode {
						break // keep the alias: its anchor can be merged
					}
					val = val.Alias
				}
				return val
			}
			if val := mergedValue(src, key); val != nil {
				return val
			}
		}
	}
	return nil
}

// addOverInherited gives a service that inherits its environment through a
// merge key an environment of its own that keeps every inherited entry: a
// new environment key replaces the merged one whole (merges are shallow).
// An anchored mapping is merged in (<<: *env), so later edits to the
// anchor still reach the service; anything else is copied as written.
func (d *Document) addOverInherited(service string, sk, sv, mk, inherited *yaml.Node, key, value string) error {
	unit := d.indentUnit()
	lines := []string{"environment:"}
	target := inherited
	if target.Kind == yaml.AliasNode {
		target = target.Alias
	}
	switch {
	case target.Kind == yaml.MappingNode && target.Anchor != "":
		lines = append(lines, unit+"<<: *"+target.Anchor, unit+key+": "+renderScalar(value, 0, ""))
	case target.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(target.Content); i += 2 {
			k, v := target.Content[i], target.Content[i+1]
			if k.Value == key {
				continue
			}
			text, err := d.sourceText(v, target.Style&yaml.FlowStyle != 0)
			if err != nil {
				return &Error{Path: d.Path, Line: mk.Line, Msg: fmt.Sprintf("service %q inherits environment entry %s written over several lines: write it on one line, or set %s=%s in the anchor", service, k.Value, key, value)}
			}
			lines = append(lines, unit+k.Value+": "+text)
		}
		lines = append(lines, unit+key+": "+renderScalar(value, 0, ""))
	case target.Kind == yaml.SequenceNode:
		style := yaml.Style(0)
		for _, it := range target.Content {
			if k, _, _ := strings.Cut(it.Value, "="); k == key {
				continue
			}
			text, err := d.sourceText(it, target.Style&yaml.FlowStyle != 0)
			if err != nil {
				return &Error{Path: d.Path, Line: mk.Line, Msg: fmt.Sprintf("service %q inherits an environment entry written over several lines: write it on one line, or set %s=%s in the anchor", service, key, value)}
			}
			lines = append(lines, unit+"- "+text)
			style = it.Style
		}
		lines = append(lines, unit+"- "+renderScalar(key+"="+value, style&^(yaml.LiteralStyle|yaml.FoldedStyle), "!!str"))
	default:
		return &Error{Path: d.Path, Line: mk.Line, Msg: fmt.Sprintf("service %q inherits an environment compose-scale cannot extend: set %s=%s in the anchor", service, key, value)}
	}
	return d.insertEntry(sv, sk, []string{"command", "image", "build"}, lines)
}

// sourceText is a scalar exactly as the file writes it (quotes, ${VAR}).
func (d *Document) sourceText(n *yaml.Node, inFlow bool) (string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return "", nil
	}
	s, e, ok := d.scalarSpan(n, inFlow)
	if !ok {
		return "", fmt.Errorf("not a one-line scalar")
	}
	return string(d.src[s:e]), nil
}

// mergeKey returns a mapping's `<<` key, if it has one.
func mergeKey(m *yaml.Node) *yaml.Node {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Tag == "!!merge" {
			return m.Content[i]
		}
	}
	return nil
}

// newEnvBlock renders a fresh block under an `environment:` key with no value.
func (d *Document) newEnvBlock(ek *yaml.Node, key, value string) string {
	indent := strings.Repeat(" ", ek.Column-1) + d.indentUnit()
	if d.envStyle() == "list" {
		return "\n" + indent + "- " + renderScalar(key+"="+value, 0, "!!str")
	}
	return "\n" + indent + key + ": " + renderScalar(value, 0, "")
}

func (d *Document) setEnvMap(service string, ek, ev *yaml.Node, key, value string) error {
	if len(ev.Content) == 0 {
		return d.replaceEntryValue(ek, d.newEnvBlock(ek, key, value))
	}
	return d.setMapEntry(ev, key, value)
}

// setMapEntry sets key in a block mapping: an existing scalar keeps its
// quoting; a new entry goes after the last one, styled like it.
func (d *Document) setMapEntry(m *yaml.Node, key, value string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value != key {
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Value == value && v.Tag != "!!null" {
			return nil
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			return d.replaceEntryValue(k, " "+renderScalar(value, 0, ""))
		}
		if s, e, ok := d.scalarSpan(v, false); ok {
			return d.replace(s, e, renderScalar(value, v.Style, ""))
		}
		return d.replaceEntryValue(k, " "+renderScalar(value, v.Style, ""))
	}
	lastK, lastV := m.Content[len(m.Content)-2], m.Content[len(m.Content)-1]
	style := yaml.Style(0)
	if lastV.Kind == yaml.ScalarNode {
		style = lastV.Style &^ (yaml.LiteralStyle | yaml.FoldedStyle)
	}
	line := strings.Repeat(" ", lastK.Column-1) + renderScalar(key, lastK.Style, "!!str") + ": " + renderScalar(value, style, "")
	at := d.lineStart(d.entryEnd(lastK, lastV) + 1)
	return d.insertLine(at, line)
}

func (d *Document) setEnvList(service string, ek, ev *yaml.Node, key, value string) error {
	for _, item := range ev.Content {
		if item.Kind != yaml.ScalarNode {
			continue
		}
		k, v, hasValue := strings.Cut(item.Value, "=")
		if k != key {
			continue
		}
		if hasValue && v == value {
			return nil
		}
		s, e, ok := d.scalarSpan(item, false)
		if !ok {
			return &Error{Path: d.Path, Line: item.Line, Msg: fmt.Sprintf("service %q: cannot edit the environment entry for %s: write it on one line", service, key)}
		}
		return d.replace(s, e, renderScalar(key+"="+value, item.Style, "!!str"))
	}
	if len(ev.Content) == 0 {
		return d.replaceEntryValue(ek, d.newEnvBlock(ek, key, value))
	}
	last := ev.Content[len(ev.Content)-1]
	// The dash sits before the item; its column is the item's minus "- ".
	dashLine := d.line(last.Line)
	dashIndent := strings.Index(dashLine, "-")
	if dashIndent < 0 {
		dashIndent = last.Column - 3
	}
	line := strings.Repeat(" ", dashIndent) + "- " + renderScalar(key+"="+value, last.Style&^(yaml.LiteralStyle|yaml.FoldedStyle), "!!str")
	endLine := last.Line
	for endLine < d.numLines() && !isBlank(d.line(endLine+1)) && !isComment(d.line(endLine+1)) && indentOf(d.line(endLine+1)) > dashIndent {
		endLine++ // a multi-line item
	}
	return d.insertLine(d.lineStart(endLine+1), line)
}

// insertLine puts one line at a line start.
func (d *Document) insertLine(at int, line string) error {
	text := line + "\n"
	if at == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		text = "\n" + line
	}
	return d.replace(at, at, text)
}
