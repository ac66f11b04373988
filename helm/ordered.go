package helm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// orderedMap is a YAML mapping whose keys are written in the order they
// were set, so a values file reads in the chart's own order and two runs
// with the same plan give the same bytes.
type orderedMap struct {
	keys []string
	vals map[string]any
}

func newMap() *orderedMap { return &orderedMap{vals: map[string]any{}} }

func (m *orderedMap) set(k string, v any) *orderedMap {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
	return m
}

func (m *orderedMap) node() *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range m.keys {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, toNode(m.vals[k]))
	}
	return n
}

// toNode converts a value; plain maps (carried over from the admin's
// values) are written with their keys sorted.
func toNode(v any) *yaml.Node {
	switch x := v.(type) {
	case *orderedMap:
		return x.node()
	case map[string]any:
		m := newMap()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.set(k, x[k])
		}
		return m.node()
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			n.Content = append(n.Content, toNode(e))
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
		if yaml11NonString(x) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(x)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(x)}
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
	}
	return &n
}

// yaml11NonString reports a string that a YAML 1.1 reader would take for
// something else when written plain: Kubernetes and Helm read YAML 1.1
// (sigs.k8s.io/yaml), where on, off, yes and no are booleans, so
// jit: off would reach CloudNativePG as false.
func yaml11NonString(s string) bool {
	switch strings.ToLower(s) {
	case "", "~", "null", "y", "yes", "n", "no", "true", "false", "on", "off":
		return true
	}
	if _, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		return true
	}
	return false
}
