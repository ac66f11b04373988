package planner

import (
	"strings"
	"testing"
)

func withPorts(svcs []Service, name string, replicas int, ports ...Port) []Service {
	for i := range svcs {
		if svcs[i].Name == name {
			for j := range ports {
				ports[j].Index = j
			}
			svcs[i].Ports, svcs[i].Replicas = ports, replicas
		}
	}
	return svcs
}

func portChanges(p *Plan) map[string][]string {
	out := map[string][]string{}
	for _, c := range p.Changes {
		switch c.Kind {
		case SetPort:
			out[c.Service] = append(out[c.Service], "set "+c.Port.String())
		case RemovePort:
			out[c.Service] = append(out[c.Service], "remove "+c.Port.String())
		}
	}
	return out
}

func TestPortPolicy(t *testing.T) {
	svc := stock("v4.3.0")
	svc = withPorts(svc, "web", 1, Port{Published: "3000", Target: "3000"})
	svc = withPorts(svc, "streaming", 1, Port{HostIP: "0.0.0.0", Published: "4000", Target: "4000", Long: true})
	svc = withPorts(svc, "db", 1, Port{Published: "5432", Target: "5432"}, Port{HostIP: "127.0.0.1", Published: "9187", Target: "9187"})
	svc = withPorts(svc, "redis", 1, Port{Published: "6379", Target: "6379"})
	svc = withPorts(svc, "sidekiq", 1, Port{Published: "9394", Target: "9394"})
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	got := portChanges(p)
	want := map[string]string{
		"web":       "set 127.0.0.1:3000:3000",
		"streaming": "set 127.0.0.1:4000:4000",
		"db":        "remove 127.0.0.1:9187:9187,remove 5432:5432", // highest index first
		"redis":     "remove 6379:6379",
		"sidekiq":   "remove 9394:9394",
	}
	for svc, w := range want {
		if g := strings.Join(got[svc], ","); g != w {
			t.Errorf("%s: %q, want %q", svc, g, w)
		}
	}
	// Removals of the sidekiq port come before the clones copy it.
	for _, c := range p.Changes {
		if c.Kind == Clone {
			t.Fatal("a clone came before the sidekiq port was removed")
		}
		if c.Kind == RemovePort && c.Service == "sidekiq" {
			break
		}
	}

	// --keep-db-port: on loopback instead.
	p, _ = Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}, KeepDBPort: true})
	if g := strings.Join(portChanges(p)["db"], ","); g != "set 127.0.0.1:5432:5432" {
		t.Errorf("--keep-db-port: db %q", g)
	}

	// A stock file: no port change at all.
	p, _ = Make(Input{Services: withPorts(stock("v4.3.0"), "web", 1, Port{HostIP: "127.0.0.1", Published: "3000", Target: "3000"}), Machine: Machine{8 * GiB, 4}})
	if len(portChanges(p)) != 0 {
		t.Errorf("loopback ports were changed: %v", portChanges(p))
	}
}

func TestPortClashes(t *testing.T) {
	svc := stock("v4.3.0")
	svc = append(svc, Service{Name: "status", Image: "louislam/uptime-kuma:1"})
	svc = withPorts(svc, "web", 2, Port{HostIP: "127.0.0.1", Published: "3000", Target: "3000"})
	svc = withPorts(svc, "streaming", 1, Port{HostIP: "127.0.0.1", Published: "4000", Target: "4000"})
	svc = withPorts(svc, "status", 1, Port{Published: "3001", Target: "3001"}, Port{HostIP: "127.0.0.1", Published: "${STATUS_PORT}", Target: "80"})
	p, err := Make(Input{Services: svc, Machine: Machine{16 * GiB, 8}})
	if err != nil {
		t.Fatal(err)
	}
	got := portChanges(p)
	if g := strings.Join(got["web"], ","); g != "set 127.0.0.1:3000-3001:3000" {
		t.Errorf("web with 2 replicas: %q", g)
	}
	// 3001 is now web's (its second replica); status moves on. A variable
	// port is left alone.
	if g := strings.Join(got["status"], ","); g != "set 3002:3001" {
		t.Errorf("status: %q", g)
	}
	if g := strings.Join(got["streaming-2"], ","); g != "set 127.0.0.1:4001:4000" {
		t.Errorf("streaming-2: %q", g)
	}
	if !strings.Contains(p.Web.Upstream, "server 127.0.0.1:3001 fail_timeout=0;") || !strings.Contains(p.Streaming.Upstream, "server 127.0.0.1:4001 fail_timeout=0;") {
		t.Errorf("upstreams:\n%s\n%s", p.Web.Upstream, p.Streaming.Upstream)
	}
	if p.Web.Processes*p.Web.Replicas != p.Budget.Rows[0].Processes {
		t.Errorf("web replicas not in the budget: %+v", p.Budget.Rows[0])
	}
	checkInvariants(t, p, true)
}

func TestStreamingScaling(t *testing.T) {
	// Before 4.2: one service, a cluster of workers.
	p, err := Make(Input{Services: stock("v4.1.0"), Machine: Machine{16 * GiB, 8}})
	if err != nil {
		t.Fatal(err)
	}
	var cluster string
	for _, c := range p.Changes {
		if c.Kind == Clone && strings.HasPrefix(c.To, "streaming") {
			t.Errorf("streaming cloned before 4.2: %+v", c)
		}
		if c.Kind == SetEnv && c.Key == "STREAMING_CLUSTER_NUM" {
			cluster = c.Value
		}
	}
	if cluster != "4" || p.Budget.Rows[1].Processes != 4 || p.Budget.Rows[1].Connections != 40 {
		t.Errorf("v4.1 on 8 CPUs: STREAMING_CLUSTER_NUM %q, row %+v", cluster, p.Budget.Rows[1])
	}
	// From 4.2: services of their own; a small machine keeps one.
	p, _ = Make(Input{Services: withPorts(stock("v4.3.0"), "streaming", 1, Port{HostIP: "127.0.0.1", Published: "4000", Target: "4000"}), Machine: Machine{32 * GiB, 16}})
	if got := strings.Join(p.Streaming.Services, ","); got != "streaming,streaming-2,streaming-3,streaming-4" {
		t.Errorf("v4.3 on 16 CPUs: %s", got)
	}
	for _, c := range p.Changes {
		if c.Key == "STREAMING_CLUSTER_NUM" {
			t.Error("STREAMING_CLUSTER_NUM set on 4.2+, where it is ignored")
		}
	}
	small, _ := Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}})
	if len(small.Streaming.Services) != 1 || small.Streaming.Upstream != "" {
		t.Errorf("v4.3 on 4 CPUs: %v %q", small.Streaming.Services, small.Streaming.Upstream)
	}
	// Shrinking removes the copies the plan no longer wants.
	svc := append(stock("v4.3.0"), Service{Name: "streaming-2", Image: "ghcr.io/mastodon/mastodon-streaming:v4.3.0", Command: []string{"node", "./streaming/index.js"}})
	p, _ = Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	removed := false
	for _, c := range p.Changes {
		removed = removed || c.Kind == Remove && c.Service == "streaming-2"
	}
	if !removed {
		t.Error("streaming-2 kept on a 4 CPU machine")
	}
}

// An absurd replica count (the fuzzer's favourite) is a warning, not an
// out-of-memory crash.
func TestHugeReplicasDoNotExhaustMemory(t *testing.T) {
	svc := withPorts(stock("v4.3.0"), "web", 2000000000, Port{HostIP: "127.0.0.1", Published: "3000", Target: "3000"})
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "web runs 2000000000 replicas: too many") {
		t.Errorf("warnings: %q", p.Warnings)
	}
}

// A wide published range: the next service's search jumps past it, and a
// range that cannot fit is a warning.
func TestWideRangeClash(t *testing.T) {
	svc := append(stock("v4.3.0"),
		Service{Name: "a", Image: "x", Ports: []Port{{Index: 0, Published: "3000-65000", Target: "80"}}},
		Service{Name: "b", Image: "x", Ports: []Port{{Index: 0, Published: "3000", Target: "80"}}},
		Service{Name: "c", Image: "x", Ports: []Port{{Index: 0, Published: "100-60000", Target: "80"}}})
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(portChanges(p)["b"], ","); g != "set 65001:80" {
		t.Errorf("b: %q", g)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "c publishes 100-60000:80: no free block") {
		t.Errorf("warnings: %q", p.Warnings)
	}
}

// Ports written with variables are compared by their values: a literal
// port after them that takes the same host port moves; two variable ones
// that resolve alike are a warning; an address variable that opens the
// port to every interface is a warning. Nothing is rewritten in them.
func TestResolvedPortsCompare(t *testing.T) {
	s := stock("v4.3.0")
	s[2].Ports = []Port{{Index: 0, HostIP: "${HTTP_IP}", Published: "${HTTP_PORT}", Target: "3000"}}
	s[2].PortsResolved = []Port{{Index: 0, HostIP: "127.0.0.1", Published: "4000", Target: "3000"}}
	s[3].Ports = []Port{{Index: 0, HostIP: "127.0.0.1", Published: "4000", Target: "4000"}}
	p, err := Make(Input{Services: s, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	moved := false
	for _, c := range p.Changes {
		if c.Kind == SetPort && c.Service == "web" {
			t.Errorf("a port written with variables was rewritten: %+v", c.Port)
		}
		if c.Kind == SetPort && c.Service == "streaming" && c.Port.Published == "4001" {
			moved = true
		}
	}
	if !moved {
		t.Errorf("streaming's 4000, taken by web's ${HTTP_PORT}=4000, did not move: %+v", p.Changes)
	}
	s[2].PortsResolved[0].HostIP = "0.0.0.0"
	p, _ = Make(Input{Services: s, Machine: Machine{8 * GiB, 4}})
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "web publishes ${HTTP_IP}:${HTTP_PORT}:3000: with the values of its variables it listens on every interface") {
		t.Errorf("no warning for a wildcard address from a variable: %q", p.Warnings)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "0.0.0.0") {
			t.Errorf("a warning prints an interpolated value: %s", w)
		}
	}
}
