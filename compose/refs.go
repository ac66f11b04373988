package compose

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"
)

// A service's name is also written where other services refer to it:
// depends_on (a list, or a mapping keyed by name), links (name or
// name:alias), volumes_from, network_mode: service:name. Renaming a
// service renames those; removing one that is referred to is refused.

// references finds the scalar nodes in other services that name service.
func (d *Document) references(service string) (renamable []*yaml.Node, fixed []*yaml.Node) {
	for i := 0; i+1 < len(d.services.Content); i += 2 {
		if d.services.Content[i].Value == service {
			continue
		}
		sv := d.services.Content[i+1]
		if sv.Kind != yaml.MappingNode {
			continue
		}
		if _, dep := mapGet(sv, "depends_on"); dep != nil {
			switch dep.Kind {
			case yaml.SequenceNode:
				for _, it := range dep.Content {
					if it.Kind == yaml.ScalarNode && it.Value == service {
						renamable = append(renamable, it)
					}
				}
			case yaml.MappingNode:
				for j := 0; j < len(dep.Content); j += 2 {
					if dep.Content[j].Value == service {
						renamable = append(renamable, dep.Content[j])
					}
				}
			}
		}
		if _, links := mapGet(sv, "links"); links != nil && links.Kind == yaml.SequenceNode {
			for _, it := range links.Content {
				if name, _, _ := strings.Cut(it.Value, ":"); it.Kind == yaml.ScalarNode && name == service {
					renamable = append(renamable, it)
				}
			}
		}
		if _, vf := mapGet(sv, "volumes_from"); vf != nil && vf.Kind == yaml.SequenceNode {
			for _, it := range vf.Content {
				if name, _, _ := strings.Cut(it.Value, ":"); it.Kind == yaml.ScalarNode && name == service {
					fixed = append(fixed, it)
				}
			}
		}
		if _, nm := mapGet(sv, "network_mode"); nm != nil && nm.Value == "service:"+service {
			fixed = append(fixed, nm)
		}
	}
	return renamable, fixed
}

// renameReferences rewrites the references to from so they name to.
func (d *Document) renameReferences(from, to string) error {
	renamable, fixed := d.references(from)
	if len(fixed) > 0 {
		return &Error{Path: d.Path, Line: fixed[0].Line, Msg: fmt.Sprintf("%q refers to service %s, which the rewrite renames %s: compose-scale does not rewrite volumes_from or network_mode; change it to %s, then run compose-scale again", fixed[0].Value, from, to, to)}
	}
	type cut struct {
		start, end int
		text       string
	}
	var cuts []cut
	for _, n := range renamable {
		s, e, ok := d.scalarSpan(n, d.inFlow(n))
		if !ok {
			return &Error{Path: d.Path, Line: n.Line, Msg: fmt.Sprintf("cannot rename the reference to %s here: write it on one line", from)}
		}
		value := to + strings.TrimPrefix(n.Value, from) // keeps a links alias
		cuts = append(cuts, cut{s, e, renderScalar(value, n.Style, "!!str")})
	}
	if len(cuts) == 0 {
		return nil
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].start < cuts[j].start })
	out := append([]byte(nil), d.src...)
	for i := len(cuts) - 1; i >= 0; i-- { // back to front, so offsets hold
		c := cuts[i]
		out = append(out[:c.start], append([]byte(c.text), out[c.end:]...)...)
	}
	return d.replace(0, len(d.src), string(out))
}

// inFlow reports whether n sits in a flow collection ([a, b] or {a: b}).
func (d *Document) inFlow(n *yaml.Node) bool {
	flow := false
	var visit func(parent, m *yaml.Node) bool
	visit = func(parent, m *yaml.Node) bool {
		if m == n {
			flow = parent != nil && parent.Style&yaml.FlowStyle != 0
			return true
		}
		for _, c := range m.Content {
			if visit(m, c) {
				return true
			}
		}
		return false
	}
	visit(nil, d.root)
	return flow
}
