package planner

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// loopback is where web and streaming publish: nginx on the host reaches
// them, the internet does not.
const loopback = "127.0.0.1"

func isLoopback(ip string) bool {
	return ip == "127.0.0.1" || ip == "::1" || ip == "[::1]" || ip == "localhost" || strings.HasPrefix(ip, "127.")
}

func isWildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" || ip == "[::]" }

// portPolicy returns the changes that make every published port safe:
// web and streaming on loopback only; db, redis, search and sidekiq publish
// nothing (db/redis on loopback with KeepDBPort). Removals come last in
// each service, highest index first, so earlier indices stay valid.
func (p *planning) portPolicy(in Input) []Change {
	var changes []Change
	for _, s := range in.Services {
		role := RoleOf(s)
		var removes []Change
		for _, port := range s.Ports {
			if port.Published == "" {
				continue
			}
			switch {
			case role == RoleWeb || role == RoleStreaming,
				(role == RoleDB || role == RoleRedis || role == RolePgBouncer) && in.KeepDBPort:
				if strings.Contains(port.HostIP, "${") {
					// The address is the variable's: compose-scale does
					// not write values, but says when it opens the port.
					if s.PortsResolved != nil && port.Index < len(s.PortsResolved) && (role == RoleWeb || role == RoleStreaming) {
						if ip := s.PortsResolved[port.Index].HostIP; isWildcard(ip) {
							p.Warnings = append(p.Warnings, fmt.Sprintf("%s publishes %s: with the values of its variables it listens on every interface, reachable from the internet past nginx; set the address variable to 127.0.0.1", s.Name, port))
						}
					}
					continue
				}
				if isLoopback(port.HostIP) {
					continue
				}
				fixed := port
				fixed.HostIP = loopback
				changes = append(changes, Change{Kind: SetPort, Service: s.Name, Port: fixed})
				why := "exposes it to the internet, past nginx"
				if role == RoleDB || role == RoleRedis || role == RolePgBouncer {
					why = "exposes it to the internet (kept on loopback: --keep-db-port)"
				}
				p.Notes = append(p.Notes, fmt.Sprintf("%s: port %s %s: bound to %s", s.Name, port, why, loopback))
			case role == RoleDB || role == RoleRedis || role == RoleSearch || role == RolePgBouncer:
				removes = append(removes, Change{Kind: RemovePort, Service: s.Name, Port: port})
				p.Notes = append(p.Notes, fmt.Sprintf("%s: port %s removed: the apps reach it on the internal network, and published it is open to the internet (--keep-db-port keeps it on loopback)", s.Name, port))
			case role == RoleSidekiq:
				removes = append(removes, Change{Kind: RemovePort, Service: s.Name, Port: port})
				p.Notes = append(p.Notes, fmt.Sprintf("%s: port %s removed: sidekiq serves nothing, and every copy of the service would bind it again", s.Name, port))
			}
		}
		for i := len(removes) - 1; i >= 0; i-- {
			changes = append(changes, removes[i])
		}
	}
	return changes
}

// maxReplicaPorts is the most replicas given a host port range each: past
// it a range would eat the port space (and the check its memory).
const maxReplicaPorts = 1000

// binding is one host address and port a container binds.
type binding struct {
	ip, proto string
	port      int
}

func (b binding) clashes(o binding) bool {
	return b.port == o.port && b.proto == o.proto && (b.ip == o.ip || isWildcard(b.ip) || isWildcard(o.ip))
}

// portRange reads "3000" or "3000-3001"; ok is false for ${VAR}.
func portRange(s string) (lo, hi int, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(b)
	}
	return lo, hi, err1 == nil && err2 == nil && lo > 0 && hi >= lo
}

// portSpec is a service's ports as they will be after the plan.
type portSpec struct {
	service  string
	replicas int
	port     Port
	resolved *Port // port after interpolation, when it uses variables that have values
}

// resolveClashes gives every binding its own host port. Services are taken
// in file order; a later one that collides moves to the next free port on
// the same address (and a range wide enough for its replicas). Variables
// (${PORT}) cannot be checked: a clash between two identical ones is a
// warning.
func (p *planning) resolveClashes(specs []portSpec) []Change {
	h := hostPorts{used: map[[2]string][]binding{}}
	var changes []Change
	texts := map[string]string{}
	for _, sp := range specs {
		if sp.port.Published == "" {
			continue
		}
		lo, hi, ok := portRange(sp.port.Published)
		if !ok && sp.resolved != nil {
			// Variables with values: compare what docker compose will
			// bind, and hold the port so that a later literal one moves.
			// It cannot be moved itself (its value lives in .env).
			r := *sp.resolved
			if rlo, rhi, rok := portRange(r.Published); rok {
				if h.hold(r.HostIP, protoOf(r.Protocol), rlo, rhi) {
					p.Warnings = append(p.Warnings, fmt.Sprintf("%s publishes %s: with the values of its variables that host address and port is already taken by a service before it; change the variable", sp.service, sp.port))
				}
				continue
			}
		}
		if !ok {
			key := sp.port.HostIP + ":" + sp.port.Published + "/" + protoOf(sp.port.Protocol)
			if other, dup := texts[key]; dup {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s and %s both publish %s: they clash unless the variables differ", other, sp.service, key))
			}
			texts[key] = sp.service
			continue
		}
		n := max(sp.replicas, 1)
		if n > maxReplicaPorts {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s runs %d replicas: too many to give each its own host port; publish a port range yourself, or none", sp.service, n))
			continue
		}
		width := max(hi-lo+1, n)
		start, found := h.freeBlock(sp.port.HostIP, protoOf(sp.port.Protocol), lo, width)
		if !found {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s publishes %s: no free block of %d host ports from %d", sp.service, sp.port, width, lo))
			continue
		}
		h.hold(sp.port.HostIP, protoOf(sp.port.Protocol), start, start+width-1)
		if start == lo && width == hi-lo+1 {
			continue
		}
		moved := sp.port
		moved.Published = strconv.Itoa(start)
		if width > 1 {
			moved.Published += "-" + strconv.Itoa(start+width-1)
		}
		changes = append(changes, Change{Kind: SetPort, Service: sp.service, Port: moved})
		why := fmt.Sprintf("host port %s is taken", sp.port.Published)
		if start == lo {
			why = fmt.Sprintf("its %d replicas cannot share one host port", n)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%s: %s: now publishes %s (point whatever connects to it there)", sp.service, why, moved))
	}
	return changes
}

func protoOf(s string) string {
	if s == "" {
		return "tcp"
	}
	return s
}

// hostPorts are the bindings taken so far, by port and protocol: a lookup
// per port, not a scan of every binding so far (files with thousands of
// services stay linear).
type hostPorts struct {
	used map[[2]string][]binding
}

func bindingKey(b binding) [2]string { return [2]string{strconv.Itoa(b.port), b.proto} }

func (h hostPorts) taken(b binding) bool {
	for _, u := range h.used[bindingKey(b)] {
		if b.clashes(u) {
			return true
		}
	}
	return false
}

// hold takes ports lo..hi on ip, and reports whether any was taken.
func (h hostPorts) hold(ip, proto string, lo, hi int) (clash bool) {
	for port := lo; port <= hi; port++ {
		b := binding{ip, proto, port}
		clash = clash || h.taken(b)
		h.used[bindingKey(b)] = append(h.used[bindingKey(b)], b)
	}
	return clash
}

// freeBlock is the first free block of width ports at or after lo: on a
// taken port the search jumps past it, so it is linear in the port space,
// whatever the width.
func (h hostPorts) freeBlock(ip, proto string, lo, width int) (int, bool) {
	start := lo
	for i := 0; i < width && start+width-1 <= 65535; {
		if h.taken(binding{ip, proto, start + i}) {
			start += i + 1
			i = 0
			continue
		}
		i++
	}
	return start, start+width-1 <= 65535
}

// plannedPorts lists every service's ports after the policy changes, in
// file order, with streaming copies after their original.
func plannedPorts(services []Service, policy []Change) []portSpec {
	set := map[string]map[int]Port{}
	removed := map[string]map[int]bool{}
	for _, c := range policy {
		switch c.Kind {
		case SetPort:
			if set[c.Service] == nil {
				set[c.Service] = map[int]Port{}
			}
			set[c.Service][c.Port.Index] = c.Port
		case RemovePort:
			if removed[c.Service] == nil {
				removed[c.Service] = map[int]bool{}
			}
			removed[c.Service][c.Port.Index] = true
		}
	}
	var specs []portSpec
	for _, s := range services {
		idx := 0
		for _, port := range s.Ports {
			if removed[s.Name][port.Index] {
				continue
			}
			var resolved *Port
			if s.PortsResolved != nil && port.Index < len(s.PortsResolved) {
				r := s.PortsResolved[port.Index]
				resolved = &r
			}
			if fixed, ok := set[s.Name][port.Index]; ok {
				port = fixed
			}
			// After removals the entry sits at a new index.
			port.Index = idx
			idx++
			specs = append(specs, portSpec{service: s.Name, replicas: s.Replicas, port: port, resolved: resolved})
		}
	}
	return specs
}

// NginxUpstream is the upstream block nginx needs for the planned
// processes of one kind, or "" when one process serves it.
func NginxUpstream(name string, addrs []string) string {
	if len(addrs) < 2 {
		return ""
	}
	sort.Strings(addrs)
	var b strings.Builder
	fmt.Fprintf(&b, "upstream %s {\n    least_conn;\n", name)
	for _, a := range addrs {
		fmt.Fprintf(&b, "    server %s fail_timeout=0;\n", a)
	}
	b.WriteString("}\n")
	return b.String()
}
