package compose

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"
)

// SelfContainedServiceText is ServiceText with every alias to an anchor
// defined outside the service (<<: *mastodon, environment: *common)
// replaced by what the anchor holds, written in flow style: the text
// means the same in another file, where YAML anchors do not reach (an
// override file).
func (d *Document) SelfContainedServiceText(name string) (string, bool) {
	k, v, err := d.service(name)
	if err != nil {
		return "", false
	}
	return d.selfContained(k, v), true
}

// SelfContainedEntryText is EntryText with aliases resolved the same way.
func (d *Document) SelfContainedEntryText(service, key string) (string, bool) {
	_, sv, err := d.service(service)
	if err != nil {
		return "", false
	}
	k, v := mapGet(sv, key)
	if k == nil {
		return "", false
	}
	return d.selfContained(k, v), true
}

func (d *Document) selfContained(k, v *yaml.Node) string {
	first, last := k.Line, d.entryEnd(k, v)
	start, end := d.lineStart(first), d.lineStart(last+1)
	type cut struct {
		at, n int
		text  string
	}
	var cuts []cut
	inside := func(n *yaml.Node) bool { return n.Line >= first && n.Line <= last }
	walk(v, func(n *yaml.Node) {
		if n.Kind != yaml.AliasNode || n.Alias == nil || inside(n.Alias) {
			return
		}
		at := d.offset(n.Line, n.Column)
		if at < start || at >= end || !strings.HasPrefix(string(d.src[at:]), "*"+n.Value) {
			return
		}
		cuts = append(cuts, cut{at - start, 1 + len(n.Value), flowOf(n.Alias)})
	})
	block := string(d.src[start:end])
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].at > cuts[j].at })
	for _, c := range cuts {
		block = block[:c.at] + c.text + block[c.at+c.n:]
	}
	return d.unindentedText(block, k.Column-1)
}

// flowOf writes a node in flow style on one line, aliases inside it
// resolved and anchors dropped.
func flowOf(n *yaml.Node) string {
	c := resolvedCopy(n, 0)
	b, err := yaml.Marshal(c)
	if err != nil {
		return "*" + n.Anchor
	}
	return strings.TrimSpace(string(b))
}

func resolvedCopy(n *yaml.Node, depth int) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil && depth < 50 {
		n, depth = n.Alias, depth+1
	}
	c := *n
	c.Anchor, c.HeadComment, c.LineComment, c.FootComment = "", "", "", ""
	if c.Kind == yaml.MappingNode || c.Kind == yaml.SequenceNode {
		c.Style = yaml.FlowStyle
	}
	c.Content = nil
	for _, x := range n.Content {
		c.Content = append(c.Content, resolvedCopy(x, depth+1))
	}
	return &c
}

// unindentedText removes indent columns from each line of text.
func (d *Document) unindentedText(text string, indent int) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if len(line) >= indent && strings.TrimSpace(line[:indent]) == "" {
			line = line[indent:]
		} else {
			line = strings.TrimLeft(line, " ")
		}
		b.WriteString(line)
	}
	return b.String()
}

// PointExtendsAt makes a service's extends of a service of its own file
// (extends: base, or {service: base}) name file: what it means once the
// service is written into another file (an override), where the service
// it extends is not. An extends that names a file already is left alone.
func (d *Document) PointExtendsAt(service, file string) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	k, v := mapGet(sv, "extends")
	if k == nil {
		return nil
	}
	var target string
	switch v.Kind {
	case yaml.ScalarNode:
		target = v.Value
	case yaml.MappingNode:
		if fk, _ := mapGet(v, "file"); fk != nil {
			return nil
		}
		if _, sn := mapGet(v, "service"); sn != nil {
			target = sn.Value
		}
	}
	if target == "" {
		return nil
	}
	return d.SetEntryText(service, "extends", "extends:\n"+d.indentUnit()+"file: "+renderScalar(file, 0, "!!str")+"\n"+d.indentUnit()+"service: "+renderScalar(target, 0, "!!str")+"\n")
}
