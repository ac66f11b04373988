package compose

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Port is one entry of a service's ports, short syntax
// ([HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]) or long (target, published,
// host_ip, protocol). Published may be a range (8000-8001) or hold ${VAR};
// "" means the container port is not bound to a fixed host port.
type Port struct {
	Index     int
	Long      bool
	HostIP    string
	Published string
	Target    string
	Protocol  string // "" is tcp
}

// String writes the port in short syntax.
func (p Port) String() string {
	var b strings.Builder
	if p.HostIP != "" {
		if strings.Contains(p.HostIP, ":") && !strings.HasPrefix(p.HostIP, "[") && !strings.Contains(p.HostIP, "${") {
			b.WriteString("[" + p.HostIP + "]:")
		} else {
			b.WriteString(p.HostIP + ":")
		}
	}
	if p.Published != "" {
		b.WriteString(p.Published + ":")
	}
	b.WriteString(p.Target)
	if p.Protocol != "" && p.Protocol != "tcp" {
		b.WriteString("/" + p.Protocol)
	}
	return b.String()
}

// ParsePort reads a short-syntax port.
func ParsePort(s string) (Port, error) {
	var p Port
	rest := s
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		p.Protocol, rest = rest[i+1:], rest[:i]
	}
	if strings.HasPrefix(rest, "[") { // [::1]:3000:3000
		end := strings.Index(rest, "]")
		if end < 0 {
			return p, fmt.Errorf("port %q: unclosed [ in the host address", s)
		}
		p.HostIP, rest = rest[1:end], strings.TrimPrefix(rest[end+1:], ":")
	}
	parts := splitOutsideBraces(rest)
	switch {
	case len(parts) == 1:
		p.Target = parts[0]
	case len(parts) == 2:
		p.Published, p.Target = parts[0], parts[1]
	case len(parts) == 3 && p.HostIP == "":
		p.HostIP, p.Published, p.Target = parts[0], parts[1], parts[2]
	case len(parts) > 3 && p.HostIP == "": // an IPv6 address without brackets
		p.HostIP = strings.Join(parts[:len(parts)-2], ":")
		p.Published, p.Target = parts[len(parts)-2], parts[len(parts)-1]
	default:
		return p, fmt.Errorf("port %q is not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]", s)
	}
	if p.Target == "" {
		return p, fmt.Errorf("port %q has no container port", s)
	}
	return p, nil
}

// splitOutsideBraces splits on ":" except inside ${...}, where ":-" sets a
// default.
func splitOutsideBraces(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func portsOf(v any) ([]Port, error) {
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("ports is not a list")
	}
	var out []Port
	for i, it := range items {
		var p Port
		switch x := it.(type) {
		case string:
			var err error
			if p, err = ParsePort(x); err != nil {
				return nil, err
			}
		case int:
			p.Target = strconv.Itoa(x)
		case map[string]any:
			p.Long = true
			p.Target = scalarString(x["target"])
			p.Published = scalarString(x["published"])
			p.HostIP = scalarString(x["host_ip"])
			p.Protocol = scalarString(x["protocol"])
		default:
			return nil, fmt.Errorf("ports entry %d is not a port", i+1)
		}
		p.Index = i
		out = append(out, p)
	}
	return out, nil
}

// replicasOf reads how many containers a service runs: scale, or
// deploy.replicas.
func replicasOf(raw map[string]any) int {
	if n, ok := raw["scale"].(int); ok {
		return n
	}
	if d, ok := raw["deploy"].(map[string]any); ok {
		if n, ok := d["replicas"].(int); ok {
			return n
		}
	}
	return 1
}

// portItem returns the node of ports entry i of a service.
func (d *Document) portItem(service string, i int) (pk, seq, item *yaml.Node, err error) {
	_, sv, err := d.service(service)
	if err != nil {
		return nil, nil, nil, err
	}
	pk, seq = mapGet(sv, "ports")
	if pk == nil || seq.Kind != yaml.SequenceNode || i >= len(seq.Content) {
		return nil, nil, nil, &Error{Path: d.Path, Line: d.ServiceLine(service), Msg: fmt.Sprintf("service %q has no ports entry %d", service, i+1)}
	}
	return pk, seq, seq.Content[i], nil
}

// SetPort rewrites ports entry p.Index of a service, in the form it has:
// a short-syntax string keeps its quoting, a long-syntax mapping gets its
// host_ip and published set (keys added where missing).
func (d *Document) SetPort(service string, p Port) error {
	_, seq, item, err := d.portItem(service, p.Index)
	if err != nil {
		return err
	}
	if item.Kind == yaml.MappingNode {
		if item.Style&yaml.FlowStyle != 0 {
			return &Error{Path: d.Path, Line: item.Line, Msg: fmt.Sprintf("service %q: write the port as a block mapping so it can be edited", service)}
		}
		if err := d.setMapEntry(item, "published", p.Published); err != nil {
			return err
		}
		_, _, item, err = d.portItem(service, p.Index)
		if err != nil {
			return err
		}
		if p.HostIP == "" {
			return nil
		}
		return d.setMapEntry(item, "host_ip", p.HostIP)
	}
	text := p.String()
	if item.Value == text {
		return nil
	}
	s, e, ok := d.scalarSpan(item, seq.Style&yaml.FlowStyle != 0)
	if !ok {
		return &Error{Path: d.Path, Line: item.Line, Msg: fmt.Sprintf("service %q: cannot edit the port %q in place", service, item.Value)}
	}
	style := item.Style
	if style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
		// "3000:3000" plain would read as a base-60 number in YAML 1.1;
		// quote like the file's other ports, or double.
		style = yaml.DoubleQuotedStyle
	}
	return d.replace(s, e, renderScalar(text, style, "!!str"))
}

// RemovePort deletes ports entry i of a service, and the ports key when it
// was the only one.
func (d *Document) RemovePort(service string, i int) error {
	pk, seq, item, err := d.portItem(service, i)
	if err != nil {
		return err
	}
	if len(seq.Content) == 1 {
		return d.removeEntry(pk)
	}
	if seq.Style&yaml.FlowStyle != 0 {
		var items []string
		for j, it := range seq.Content {
			if j == i {
				continue
			}
			s, e, ok := d.scalarSpan(it, true)
			if !ok {
				return &Error{Path: d.Path, Line: it.Line, Msg: fmt.Sprintf("service %q: write ports as a block list so it can be edited", service)}
			}
			items = append(items, string(d.src[s:e]))
		}
		return d.replaceEntryValue(pk, " ["+strings.Join(items, ", ")+"]")
	}
	first := item.Line
	last := first
	if item.Kind == yaml.MappingNode {
		last = d.entryEnd(item, item)
		for _, c := range item.Content {
			last = max(last, c.Line)
		}
	}
	return d.replace(d.lineStart(first), d.lineStart(last+1), "")
}

// removeEntry deletes a mapping entry (its key line through its value).
func (d *Document) removeEntry(k *yaml.Node) error {
	return d.replace(d.lineStart(k.Line), d.lineStart(d.entryEnd(k, d.valueOf(k))+1), "")
}
