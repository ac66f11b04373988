package rewrite

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/internal/unidiff"
	"github.com/compose-scale/compose-scale/planner"
)

// startProblems lists what would stop docker compose from starting a file
// that compose-go loads: two containers with one name, two bindings of one
// host address and port (replicas of a service bind each of its ports
// once each), two listening services in one network namespace.
func startProblems(src []byte) []string {
	doc, err := compose.Parse("out.yml", src)
	if err != nil {
		return []string{err.Error()}
	}
	services, err := doc.Services()
	if err != nil {
		return []string{err.Error()}
	}
	return startProblemsOf(services)
}

// startProblemsOf checks services as compose reads them (a merged
// base + override included); switched-off services start nothing, and
// `up` does not start a service with profiles (`run` does, without its
// ports, but with its container_name: that must be free).
func startProblemsOf(all []compose.Service) []string {
	var services, profiled []compose.Service
	for _, s := range all {
		switch {
		case len(s.Profiles) > 0:
			profiled = append(profiled, s)
		case !s.Disabled:
			services = append(services, s)
		}
	}
	var problems []string
	names := map[string]string{}

	type bind struct {
		ip, proto string
		port      int
	}
	var binds []struct {
		b       bind
		service string
	}
	namespaces := map[string][]string{}
	for _, s := range services {
		if cn := s.ContainerName; cn != "" {
			if other, dup := names[cn]; dup {
				problems = append(problems, fmt.Sprintf("%s and %s are both container %s", other, s.Name, cn))
			}
			names[cn] = s.Name
		}
		for _, p := range s.Ports {
			if p.Published == "" || strings.Contains(p.Published, "$") || strings.Contains(p.HostIP, "$") {
				continue
			}
			lo, hi := p.Published, p.Published
			if a, b, ok := strings.Cut(p.Published, "-"); ok {
				lo, hi = a, b
			}
			l, _ := strconv.Atoi(lo)
			h, _ := strconv.Atoi(hi)
			n := max(s.Replicas, 1)
			if h-l+1 < n {
				problems = append(problems, fmt.Sprintf("%s runs %d replicas on %d host ports (%s)", s.Name, n, h-l+1, p))
			}
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			}
			for port := l; port <= h; port++ {
				binds = append(binds, struct {
					b       bind
					service string
				}{bind{strings.Trim(p.HostIP, "[]"), proto, port}, s.Name})
			}
		}
		if mode := s.NetworkMode; strings.HasPrefix(mode, "service:") || strings.HasPrefix(mode, "container:") {
			if role := planner.RoleOf(planner.Service{Name: s.Name, Image: s.Image, Command: s.Command}); role == planner.RoleStreaming || role == planner.RoleWeb {
				namespaces[mode] = append(namespaces[mode], s.Name)
			}
		}
	}
	wild := func(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
	for i := range binds {
		for j := i + 1; j < len(binds); j++ {
			a, b := binds[i].b, binds[j].b
			if a.port == b.port && a.proto == b.proto && (a.ip == b.ip || wild(a.ip) || wild(b.ip)) {
				problems = append(problems, fmt.Sprintf("%s and %s both bind %s:%d/%s", binds[i].service, binds[j].service, b.ip, b.port, b.proto))
			}
		}
	}
	for mode, listeners := range namespaces {
		// Web and one streaming may share a sidecar; two of one kind
		// listen on one port there.
		kinds := map[string]int{}
		for _, l := range listeners {
			kinds[strings.TrimRight(strings.TrimRight(l, "0123456789"), "-")]++
		}
		for k, n := range kinds {
			if n > 1 {
				problems = append(problems, fmt.Sprintf("%d %s services listen in %s", n, k, mode))
			}
		}
	}
	for _, s := range profiled {
		if other, dup := names[s.ContainerName]; dup && s.ContainerName != "" {
			problems = append(problems, fmt.Sprintf("docker compose run %s would name its container %s, which %s runs as", s.Name, s.ContainerName, other))
		}
	}
	return problems
}

// Every golden output would start: what compose-go (which loaded each
// one) does not check.
func TestOutputsStart(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.fixture+"."+gc.name(), func(t *testing.T) {
			res := gc.run(t)
			for _, p := range startProblems(res.Output) {
				t.Error(p)
			}
		})
	}
}

// The check finds each kind of problem it looks for.
func TestStartProblemsFinds(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"services:\n  a:\n    image: x\n    container_name: c\n  b:\n    image: x\n    container_name: c\n", "both container c"},
		{"services:\n  a:\n    image: x\n    ports: ['127.0.0.1:4000:4000']\n  b:\n    image: x\n    ports: ['4000:4000']\n", "both bind"},
		{"services:\n  a:\n    image: x\n    ports: ['[::1]:4001:4000']\n  b:\n    image: x\n    ports: ['[::1]:4001:4000']\n", "both bind ::1:4001"},
		{"services:\n  a:\n    image: x\n    scale: 2\n    ports: ['127.0.0.1:3000:3000']\n", "2 replicas on 1 host ports"},
		{"services:\n  streaming:\n    image: x\n    command: node ./streaming\n    network_mode: service:ts\n  streaming-2:\n    image: x\n    command: node ./streaming\n    network_mode: service:ts\n", "2 streaming services listen in service:ts"},
	} {
		got := strings.Join(startProblems([]byte(tc.src)), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%q: found %q, want %q", tc.src, got, tc.want)
		}
	}
}

// With an override file beside it, the file compose-scale writes re-runs
// as a no-op at every size, and new services (streaming copies, PgBouncer)
// get the port changes the plan made for them: a copy's ports are its own
// list, not the merged one of the service it was copied from.
func TestOverrideFileAtEverySize(t *testing.T) {
	path, src := fixture(t, "stock-v4.3")
	opath := filepath.Join("..", "fixtures", "override-v4.3.override.yml")
	otext, err := os.ReadFile(opath)
	if err != nil {
		t.Fatal(err)
	}
	for _, droplet := range sizes {
		in := input(t, droplet, "")
		over := &compose.File{Path: opath, Text: otext}
		res, err := RewriteWithOverride(compose.File{Path: path, Text: src}, over, in)
		if err != nil {
			t.Fatalf("%s: %v", droplet, err)
		}
		for _, p := range startProblems(res.Output) {
			t.Errorf("%s: %s", droplet, p)
		}
		again, err := RewriteWithOverride(compose.File{Path: path, Text: res.Output}, over, in)
		if err != nil {
			t.Fatalf("%s: %v", droplet, err)
		}
		if again.Changed() {
			t.Errorf("%s: the second rewrite is not a no-op:\n%s", droplet, unidiff.Unified("first", "second", string(res.Output), string(again.Output)))
		}
	}
}
