package planner

import (
	"fmt"
	"regexp"
	"strconv"
)

var streamingCopy = regexp.MustCompile(`^(.+)-(\d+)$`)

// scaleStreaming makes the streaming services from Mastodon 4.2 on: the
// original plus copies named <name>-2, <name>-3 ..., each publishing every
// binding of the original on its port plus one (4001, 4002 ...; IPv4 and
// IPv6 alike), with a container_name and hostname of its own. Copies
// beyond the plan are removed. It returns the changes and the copies'
// ports, for the clash check.
//
// A streaming service that cannot have copies keeps one process: one in
// another container's (or the host's) network namespace, where every copy
// would listen on the same port, or one whose port is a variable or a
// range, which compose-scale cannot give each copy its own of.
func (p *planning) scaleStreaming(changes []Change, primary Service, services []Service, specs []portSpec, taken map[string]bool) ([]Change, []portSpec) {
	st := p.Streaming
	var bindings []portSpec // the primary's published ports, as the policy leaves them
	for _, sp := range specs {
		if sp.service == primary.Name && sp.port.Published != "" {
			bindings = append(bindings, sp)
		}
	}
	want := st.Processes
	if want > 1 {
		switch {
		case listensInNamespace(primary.NetworkMode):
			p.Notes = append(p.Notes, fmt.Sprintf("%s runs in network_mode %s: copies would all listen on its port in that one namespace, so it stays one streaming service (%d would serve this machine)", primary.Name, primary.NetworkMode, want))
			want = 1
		default:
			for _, b := range bindings {
				if lo, hi, ok := portRange(b.port.Published); !ok || lo != hi {
					p.Notes = append(p.Notes, fmt.Sprintf("%s publishes %s: copies cannot each get their own port from a variable or a range, so it stays one streaming service (%d would serve this machine); write the port as a number to get them", primary.Name, b.port, want))
					want = 1
					break
				}
			}
		}
		if want == 1 {
			st.Processes = 1
		}
	}
	names := []string{primary.Name}
	for i := 2; i <= want; i++ {
		names = append(names, fmt.Sprintf("%s-%d", primary.Name, i))
	}
	st.Services = names
	exists := map[string]bool{}
	for _, s := range services {
		exists[s.Name] = true
		// A copy that shares the primary's container_name or hostname
		// (made by hand, or by an older compose-scale) gets its own.
		if m := streamingCopy.FindStringSubmatch(s.Name); m != nil && m[1] == primary.Name && identityOf(s) == identityOf(primary) && identityOf(s) != (identity{}) {
			if n, _ := strconv.Atoi(m[2]); n <= want {
				changes = append(changes, copyIdentity(identityOf(primary), primary.Name, s.Name, taken)...)
			}
		}
		if m := streamingCopy.FindStringSubmatch(s.Name); m != nil && m[1] == primary.Name && RoleOf(s) == RoleStreaming {
			if n, _ := strconv.Atoi(m[2]); n > want {
				changes = append(changes, Change{Kind: Remove, Service: s.Name})
				p.Notes = append(p.Notes, fmt.Sprintf("%s: removed, this machine plans %d streaming processes (remove its server line from nginx's upstream streaming)", s.Name, want))
			}
		}
	}
	var extra []portSpec
	for i, name := range names[1:] {
		if !exists[name] {
			changes = append(changes, Change{Kind: Clone, Service: primary.Name, To: name, After: names[i]})
			changes = append(changes, copyIdentity(identityOf(primary), primary.Name, name, taken)...)
		}
		for _, b := range bindings {
			lo, _, _ := portRange(b.port.Published)
			port := b.port
			port.Published = strconv.Itoa(lo + i + 1)
			changes = append(changes, Change{Kind: SetPort, Service: name, Port: port})
			extra = append(extra, portSpec{service: name, replicas: 1, port: port})
		}
	}
	return changes, extra
}

// streamingUpstream is nginx's upstream block for the streaming services,
// from their ports after clashes were resolved.
func (p *planning) streamingUpstream(specs []portSpec, clash []Change) string {
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
