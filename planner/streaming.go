package planner

import (
	"fmt"
	"regexp"
	"strconv"
)

var streamingCopy = regexp.MustCompile(`^(.+)-(\d+)$`)

// scaleStreaming makes the streaming services from Mastodon 4.2 on: the
// original plus copies named <name>-2, <name>-3 ..., each publishing the
// original's port plus one on loopback (4001, 4002 ...). Copies beyond the
// plan are removed. It returns the changes and the copies' ports, for the
// clash check.
func (p *Plan) scaleStreaming(changes []Change, primary Service, all []Service, specs []portSpec) ([]Change, []portSpec) {
	st := p.Streaming
	want := st.Processes
	names := []string{primary.Name}
	for i := 2; i <= want; i++ {
		names = append(names, fmt.Sprintf("%s-%d", primary.Name, i))
	}
	st.Services = names
	exists := map[string]bool{}
	for _, s := range all {
		exists[s.Name] = true
		if m := streamingCopy.FindStringSubmatch(s.Name); m != nil && m[1] == primary.Name {
			if n, _ := strconv.Atoi(m[2]); n > want {
				changes = append(changes, Change{Kind: Remove, Service: s.Name})
				p.Notes = append(p.Notes, fmt.Sprintf("%s: removed, this machine plans %d streaming processes (remove its server line from nginx's upstream streaming)", s.Name, want))
			}
		}
	}
	// The primary's published port, as the policy leaves it.
	var base *Port
	for _, sp := range specs {
		if sp.service == primary.Name && sp.port.Published != "" {
			port := sp.port
			base = &port
			break
		}
	}
	var extra []portSpec
	for i, name := range names[1:] {
		if !exists[name] {
			after := names[i]
			changes = append(changes, Change{Kind: Clone, Service: primary.Name, To: name, After: after})
		}
		if base == nil {
			continue
		}
		lo, _, ok := portRange(base.Published)
		if !ok {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s publishes %s: give each streaming service its own port by hand", primary.Name, base.Published))
			continue
		}
		port := *base
		port.Published = strconv.Itoa(lo + i + 1)
		changes = append(changes, Change{Kind: SetPort, Service: name, Port: port})
		extra = append(extra, portSpec{service: name, replicas: 1, port: port})
	}
	return changes, extra
}

// streamingUpstream is nginx's upstream block for the streaming services,
// from their ports after clashes were resolved.
func (p *Plan) streamingUpstream(specs []portSpec, clash []Change) string {
	st := p.Streaming
	if st == nil || len(st.Services) < 2 {
		return ""
	}
	final := map[string]Port{}
	for _, sp := range specs {
		if _, seen := final[sp.service]; !seen && sp.port.Published != "" {
			final[sp.service] = sp.port
		}
	}
	for _, c := range clash {
		if f, ok := final[c.Service]; ok && f.Index == c.Port.Index {
			final[c.Service] = c.Port
		}
	}
	var addrs []string
	for _, name := range st.Services {
		if port, ok := final[name]; ok {
			addrs = append(addrs, hostAddr(port))
		}
	}
	return NginxUpstream("streaming", addrs)
}

func hostAddr(p Port) string {
	ip := p.HostIP
	if isWildcard(ip) {
		ip = loopback
	}
	return ip + ":" + p.Published
}

// webUpstream is nginx's upstream block for web replicas on a port range.
func webUpstream(service string, specs []portSpec, clash []Change) string {
	for _, sp := range specs {
		if sp.service != service || sp.port.Published == "" {
			continue
		}
		port := sp.port
		for _, c := range clash {
			if c.Service == service && c.Port.Index == port.Index {
				port = c.Port
			}
		}
		lo, hi, ok := portRange(port.Published)
		if !ok {
			return ""
		}
		var addrs []string
		for n := lo; n <= hi; n++ {
			one := port
			one.Published = strconv.Itoa(n)
			addrs = append(addrs, hostAddr(one))
		}
		return NginxUpstream("backend", addrs)
	}
	return ""
}
