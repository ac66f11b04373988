package compose

import (
	"fmt"
	"sort"
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

// EditPorts makes a run of port edits to one service in one pass: set
// rewrites short-syntax entries in place, remove deletes entries (indices
// into the list as it is now). Entries it cannot do in one pass (long
// syntax, flow lists, removing every entry) are done one at a time, so a
// service with thousands of ports costs one re-parse, not thousands.
func (d *Document) EditPorts(service string, set []Port, remove []int) error {
	_, seq, err := d.portsOf(service)
	if err != nil {
		return err
	}
	if seq.Style&yaml.FlowStyle != 0 || len(remove) >= len(seq.Content) {
		return d.editPortsOneByOne(service, set, remove)
	}
	type splice struct {
		start, end int
		text       string
	}
	// Several edits to one entry: the last wins, as one by one.
	last := map[int]int{}
	for i, p := range set {
		last[p.Index] = i
	}
	var splices []splice
	var slow []Port
	for i, p := range set {
		if last[p.Index] != i {
			continue
		}
		if p.Index >= len(seq.Content) {
			return &Error{Path: d.Path, Line: d.ServiceLine(service), Msg: fmt.Sprintf("service %q has no ports entry %d", service, p.Index+1)}
		}
		item := seq.Content[p.Index]
		if item.Kind != yaml.ScalarNode {
			slow = append(slow, p)
			continue
		}
		text := p.String()
		if item.Value == text {
			continue
		}
		s, e, ok := d.scalarSpan(item, false)
		if !ok {
			slow = append(slow, p)
			continue
		}
		style := item.Style
		if style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
			style = yaml.DoubleQuotedStyle
		}
		splices = append(splices, splice{s, e, renderScalar(text, style, "!!str")})
	}
	for _, i := range remove {
		if i >= len(seq.Content) {
			return &Error{Path: d.Path, Line: d.ServiceLine(service), Msg: fmt.Sprintf("service %q has no ports entry %d", service, i+1)}
		}
		item := seq.Content[i]
		last := item.Line
		if item.Kind == yaml.MappingNode {
			last = max(d.entryEnd(item, item), d.lastLine(item))
		}
		splices = append(splices, splice{d.lineStart(item.Line), d.lineStart(last + 1), ""})
	}
	if len(splices) > 0 {
		sort.Slice(splices, func(i, j int) bool { return splices[i].start > splices[j].start })
		out := append([]byte(nil), d.src...)
		for i, sp := range splices {
			if i > 0 && sp.end > splices[i-1].start {
				return d.editPortsOneByOne(service, set, remove) // overlapping: be careful instead
			}
			out = append(out[:sp.start], append([]byte(sp.text), out[sp.end:]...)...)
		}
		if err := d.replace(0, len(d.src), string(out)); err != nil {
			return err
		}
	}
	for _, p := range slow {
		if err := d.SetPort(service, p); err != nil {
			return err
		}
	}
	return nil
}

func (d *Document) portsOf(service string) (pk, seq *yaml.Node, err error) {
	_, sv, err := d.service(service)
	if err != nil {
		return nil, nil, err
	}
	pk, seq = mapGet(sv, "ports")
	if pk == nil || seq.Kind != yaml.SequenceNode {
		return nil, nil, &Error{Path: d.Path, Line: d.ServiceLine(service), Msg: fmt.Sprintf("service %q has no ports list", service)}
	}
	return pk, seq, nil
}

// editPortsOneByOne is EditPorts the slow way: removals highest index
// first, so the others keep their places.
func (d *Document) editPortsOneByOne(service string, set []Port, remove []int) error {
	for _, p := range set {
		if err := d.SetPort(service, p); err != nil {
			return err
		}
	}
	sorted := append([]int(nil), remove...)
	sort.Sort(sort.Reverse(sort.IntSlice(sorted)))
	for _, i := range sorted {
		if err := d.RemovePort(service, i); err != nil {
			return err
		}
	}
	return nil
}

// SetReplicas sets how many containers a service runs: its scale, or its
// deploy.replicas, whichever it has. One drops a scale entry (one is the
// default). A service with neither and n == 1 is left alone.
func (d *Document) SetReplicas(service string, n int) error {
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	if k, v := mapGet(sv, "scale"); k != nil {
		if n == 1 {
			return d.removeEntry(k)
		}
		if v.Value == strconv.Itoa(n) {
			return nil
		}
		return d.SetKey(service, "scale", strconv.Itoa(n))
	}
	if _, dv := mapGet(sv, "deploy"); dv != nil && dv.Kind == yaml.MappingNode && dv.Style&yaml.FlowStyle == 0 {
		if k, _ := mapGet(dv, "replicas"); k != nil {
			return d.setMapEntry(dv, "replicas", strconv.Itoa(n))
		}
	}
	if n == 1 {
		return nil
	}
	return d.SetKey(service, "scale", strconv.Itoa(n))
}

// SetPortList makes a service's ports exactly list (short syntax, quoted),
// or removes the key when list is empty.
func (d *Document) SetPortList(service string, list []Port) error {
	if len(list) == 0 {
		return d.RemoveKey(service, "ports")
	}
	var b strings.Builder
	b.WriteString("ports:\n")
	for _, p := range list {
		b.WriteString(d.indentUnit() + "- '" + p.String() + "'\n")
	}
	return d.SetEntryText(service, "ports", b.String())
}
