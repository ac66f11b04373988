package planner

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/planner/sidekiq"
)

// stock is Mastodon's own compose file for version v, as the planner sees it.
func stock(v string) []Service {
	img := "ghcr.io/mastodon/mastodon:" + v
	streamImg := img
	if ver, _ := ParseVersion(v); ver.AtLeast(4, 3) {
		streamImg = "ghcr.io/mastodon/mastodon-streaming:" + v
	}
	return []Service{
		{Name: "db", Image: "postgres:14-alpine"},
		{Name: "redis", Image: "redis:7-alpine"},
		{Name: "web", Image: img, Command: strings.Fields("bundle exec puma -C config/puma.rb")},
		{Name: "streaming", Image: streamImg, Command: strings.Fields("node ./streaming/index.js")},
		{Name: "sidekiq", Image: img, Command: strings.Fields("bundle exec sidekiq")},
	}
}

var grid = []Machine{
	{1 * GiB, 1}, {2 * GiB, 1}, {2 * GiB, 2}, {4 * GiB, 2}, {8 * GiB, 2}, {8 * GiB, 4},
	{16 * GiB, 4}, {16 * GiB, 8}, {32 * GiB, 8}, {64 * GiB, 16},
}

var versions = []string{"v3.2.2", "v3.4.6", "v4.0.2", "v4.2.0", "v4.2.10", "v4.3.0", "v4.4.2", "latest"}

// checkInvariants asserts every rule of DOMAIN.md a plan must keep.
func checkInvariants(t *testing.T, p *Plan, planned bool) {
	t.Helper()
	listeners := map[string]int{}
	names := map[string]bool{}
	for _, s := range p.Sidekiq {
		if names[s.Name] {
			t.Errorf("service %s planned twice", s.Name)
		}
		names[s.Name] = true
		if !strings.HasPrefix(s.Name, "sidekiq") {
			t.Errorf("service %s: sidekiq services are named sidekiq-...", s.Name)
		}
		if s.Concurrency < 1 || s.Concurrency > 25 {
			t.Errorf("%s: -c %d outside 1..25", s.Name, s.Concurrency)
		}
		seen := map[string]bool{}
		for _, q := range s.Queues {
			if seen[q.Name] {
				t.Errorf("%s listens on %s twice", s.Name, q.Name)
			}
			seen[q.Name] = true
			listeners[q.Name] += s.processes() // a replica is a listener
		}
	}
	known := map[string]bool{}
	for _, q := range QueuesFor(p.Version) {
		known[q.Name] = true
		if listeners[q.Name] == 0 {
			t.Errorf("queue %s: no process listens on it", q.Name)
		}
	}
	for _, q := range p.ForkQueues {
		known[q.Name] = true // the fork's own, kept (TestForkQueues)
		if listeners[q.Name] != 1 {
			t.Errorf("the fork's queue %s has %d listeners, want 1", q.Name, listeners[q.Name])
		}
	}
	for q := range listeners {
		if !known[q] {
			t.Errorf("queue %s does not exist in %v", q, p.Version)
		}
	}
	if HasScheduler(p.Version) && listeners["scheduler"] != 1 {
		t.Errorf("scheduler has %d listeners, want exactly 1", listeners["scheduler"])
	}
	// Every sidekiq command carries -c N and its service DB_POOL=N.
	cmdC, pool := map[string]int{}, map[string]string{}
	for _, c := range p.Changes {
		switch {
		case c.Kind == SetCommand && names[c.Service]:
			sc, err := ParseSidekiqCommand(c.Command)
			if err != nil {
				t.Errorf("%s: planned command does not parse: %v", c.Service, err)
			}
			cmdC[c.Service] = sc.Concurrency
		case c.Kind == SetEnv && c.Key == "DB_POOL" && names[c.Service]:
			pool[c.Service] = c.Value
		}
	}
	for _, s := range p.Sidekiq {
		if cmdC[s.Name] != s.Concurrency || pool[s.Name] != strconv.Itoa(s.Concurrency) {
			t.Errorf("%s: command -c %d, DB_POOL %q, planned %d", s.Name, cmdC[s.Name], pool[s.Name], s.Concurrency)
		}
	}
	// The connection budget.
	c := p.Budget.Connections
	sum := 0
	for _, r := range p.Budget.Rows {
		sum += r.Connections
		f := 1
		if r.Role != RoleStreaming {
			f = p.RailsPools // 4.2.0: two pools per Rails process
		}
		if r.Connections != r.Processes*r.Threads*f {
			t.Errorf("row %s: %d connections != %d x %d x %d pools", r.Service, r.Connections, r.Processes, r.Threads, f)
		}
	}
	if sum != c.Total {
		t.Errorf("connection total %d is not the sum of the rows %d", c.Total, sum)
	}
	// Behind PgBouncer two layers: the pools within its client limit,
	// and what Postgres sees (its server pool and the direct pools) within
	// max_connections; else the pools themselves within max_connections.
	servers := c.Total
	if b := p.PgBouncer; b != nil {
		if c.Total != b.Clients+b.Direct || b.Clients > b.ClientLimit || b.ClientLimit > b.MaxClientConn*9/10 {
			t.Errorf("pgbouncer clients %d (+%d direct) of limit %d (max_client_conn %d), total %d", b.Clients, b.Direct, b.ClientLimit, b.MaxClientConn, c.Total)
		}
		servers = b.Servers
	}
	if servers*10 > c.MaxConnections*9 {
		t.Errorf("Postgres connections %d above 90%% of max_connections %d", servers, c.MaxConnections)
	}
	if c.MaxConnections-servers < 15 {
		t.Errorf("only %d connections free of %d", c.MaxConnections-servers, c.MaxConnections)
	}
	if planned && c.MaxConnections > 250 {
		t.Errorf("planned max_connections %d above 250", c.MaxConnections)
	}
	if p.Postgres.Command != nil {
		pc, err := ParsePostgresCommand(p.Postgres.Command)
		if v, _ := pc.Get("max_connections"); err != nil || v != strconv.Itoa(c.MaxConnections) {
			t.Errorf("db command %q does not set max_connections=%d", p.Postgres.Command, c.MaxConnections)
		}
	}
	// The memory budget.
	m := p.Budget.Memory
	var app int64
	for _, r := range p.Budget.Rows {
		app += r.MemoryBytes
	}
	if app != m.AppBytes || m.TotalBytes != app+m.PostgresBytes+m.RedisBytes+m.SearchBytes+m.CacheBytes {
		t.Errorf("memory rows do not add up: %+v (rows %d)", m, app)
	}
	if m.TotalBytes > p.Machine.MemoryBytes {
		t.Errorf("estimated memory %s exceeds the machine's %s", FormatBytes(m.TotalBytes), FormatBytes(p.Machine.MemoryBytes))
	}
}

func TestPlanInvariantsGrid(t *testing.T) {
	for _, v := range versions {
		for _, m := range grid {
			for _, st := range Strategies {
				t.Run(fmt.Sprintf("%s/%s-%dcpu/%s", v, FormatBytes(m.MemoryBytes), m.CPUs, st), func(t *testing.T) {
					p, err := Make(Input{Services: stock(v), Machine: m, Strategy: st})
					if err != nil {
						// Only a strategy that needs more processes than
						// fit may refuse, and it must say so.
						if st == Auto || !strings.Contains(err.Error(), "fits") {
							t.Fatalf("unexpected error: %v", err)
						}
						return
					}
					if st != Auto && p.Strategy != st {
						t.Errorf("asked for %s, planned %s", st, p.Strategy)
					}
					checkInvariants(t, p, true)
				})
			}
		}
	}
}

// Bigger machines never get fewer sidekiq processes or threads.
func TestPlanGrowsWithTheMachine(t *testing.T) {
	for _, v := range versions {
		prevProcs, prevThreads := 0, 0
		for _, m := range []Machine{{1 * GiB, 1}, {2 * GiB, 2}, {4 * GiB, 2}, {8 * GiB, 4}, {16 * GiB, 8}} {
			p, err := Make(Input{Services: stock(v), Machine: m})
			if err != nil {
				t.Fatalf("%s %v: %v", v, m, err)
			}
			threads := 0
			for _, s := range p.Sidekiq {
				threads += s.Concurrency
			}
			// Where every Rails pool counts twice (4.2.0, or a version
			// nobody states), the 250 ceiling binds from 8 GB: Puma's
			// growth then comes out of sidekiq's threads, not processes.
			fewerThreads := threads < prevThreads && p.RailsPools == 1
			if len(p.Sidekiq) < prevProcs || fewerThreads {
				t.Errorf("%s %v: %d processes / %d threads, fewer than the smaller machine's %d / %d", v, m, len(p.Sidekiq), threads, prevProcs, prevThreads)
			}
			prevProcs, prevThreads = len(p.Sidekiq), threads
		}
	}
	small, _ := Make(Input{Services: stock("v4.3.0"), Machine: Machine{1 * GiB, 1}})
	big, _ := Make(Input{Services: stock("v4.3.0"), Machine: Machine{16 * GiB, 8}})
	if len(small.Sidekiq) != 1 || len(big.Sidekiq) < 6 {
		t.Errorf("1 GB gets %d sidekiq processes, 16 GB %d: want 1 and at least 6", len(small.Sidekiq), len(big.Sidekiq))
	}
}

// A given max_connections is respected, and a too-low one is refused with
// the number that would work.
func TestPlanWithinMaxConnections(t *testing.T) {
	for _, mc := range []int{40, 60, 100, 200, 250} {
		p, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{16 * GiB, 8}, MaxConnections: mc})
		if err != nil {
			t.Fatalf("max %d: %v", mc, err)
		}
		if p.Budget.Connections.MaxConnections != mc {
			t.Errorf("max %d: planned %d", mc, p.Budget.Connections.MaxConnections)
		}
		checkInvariants(t, p, true)
	}
	_, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{16 * GiB, 8}, MaxConnections: 20, PgBouncer: ToggleOff})
	if err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("max_connections 20: want a refusal naming the minimum, got %v", err)
	}
	p, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{64 * GiB, 16}, MaxConnections: 400, PgBouncer: ToggleOff})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "PgBouncer") {
		t.Errorf("max_connections 400: want a PgBouncer warning, got %q", p.Warnings)
	}
}

func TestPlanErrors(t *testing.T) {
	noSidekiq := stock("v4.3.0")[:4]
	if _, err := Make(Input{Services: noSidekiq, Machine: Machine{8 * GiB, 4}}); err == nil || !strings.Contains(err.Error(), "db, redis, web, streaming") {
		t.Errorf("no sidekiq: want an error listing the services found, got %v", err)
	}
	typo := stock("v4.3.0")
	typo[4].Command = strings.Fields("bundle exec sidekiq -q default -q mailer")
	var se *ServiceError
	if _, err := Make(Input{Services: typo, Machine: Machine{8 * GiB, 4}}); !errors.As(err, &se) || se.Service != "sidekiq" || !strings.Contains(err.Error(), `"mailer"`) {
		t.Errorf("queue typo: want a ServiceError naming mailer, got %v", err)
	}
	untagged := stock("v4.3.0")
	for i := range untagged {
		if strings.Contains(untagged[i].Image, "mastodon") {
			untagged[i].Image = "tootsuite/mastodon"
		}
	}
	// An untagged image is planned for every version, and says how to
	// narrow it.
	if p, err := Make(Input{Services: untagged, Machine: Machine{8 * GiB, 4}}); err != nil || !p.Version.Unknown || !strings.Contains(strings.Join(p.Warnings, "\n"), "--mastodon-version") {
		t.Errorf("untagged image: want an unknown-version plan with a warning naming --mastodon-version, got %v", err)
	}
	v := Version{Major: 3, Minor: 4, Patch: 0}
	if p, err := Make(Input{Services: untagged, Machine: Machine{8 * GiB, 4}, Version: &v}); err != nil || p.Version != v {
		t.Errorf("untagged image with --mastodon-version: %v", err)
	}
	var small *TooSmallError
	if _, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{512 * MiB, 1}}); !errors.As(err, &small) || small.Need <= 512*MiB {
		t.Errorf("512 MB: want TooSmallError with the minimum, got %v", err)
	}
	if _, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{2 * GiB, 2}, Strategy: PerQueue}); err == nil || !strings.Contains(err.Error(), "per-queue needs 6") {
		t.Errorf("per-queue on 2 GB: want a refusal, got %v", err)
	}
}

// A file split by hand keeps its services and gets its bugs fixed.
func TestPlanCorrectsHandSplit(t *testing.T) {
	svc := stock("v3.4.6")[:4]
	add := func(name, cmd string) {
		svc = append(svc, Service{Name: name, Image: "tootsuite/mastodon:v3.4.6", Command: strings.Fields("bundle exec sidekiq " + cmd)})
	}
	add("sidekiq-mailers", "-q mailers -q scheduler -c 5") // seed 001's second scheduler
	add("sidekiq-scheduler", "-q scheduler -c 5")
	add("sidekiq-default-push-pull", "-q default -q push -q pull -c 25")
	add("sidekiq-default-pull-push", "-q default -q pull -q push -c 25")
	// One CPU: two workers is what fits (the second at the full thread
	// cap), so the split is kept as it is.
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Strategy != HandSplit {
		t.Errorf("strategy %s, want %s", p.Strategy, HandSplit)
	}
	checkInvariants(t, p, true)
	var got []string
	for _, s := range p.Sidekiq {
		got = append(got, s.Name+"="+sidekiq.Spec(s.Queues))
	}
	want := "sidekiq-mailers=mailers sidekiq-scheduler=scheduler sidekiq-default-push-pull=default push pull sidekiq-default-pull-push=default pull push"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "sidekiq-mailers: removed queue scheduler") {
		t.Errorf("the fix is not reported: %q", p.Notes)
	}
	for _, c := range p.Changes {
		if c.Kind == Rename || c.Kind == Clone || c.Kind == Remove {
			t.Errorf("a hand split must not be re-split: %+v", c)
		}
	}

	// Four CPUs hold four workers: the split grows, in the admin's
	// naming style, by the orderings that lead with pull and push, which
	// no worker led.
	p, err = Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, p, true)
	got = nil
	for _, s := range p.Sidekiq {
		got = append(got, s.Name+"="+sidekiq.Spec(s.Queues))
	}
	want = "sidekiq-mailers=mailers sidekiq-scheduler=scheduler sidekiq-default-push-pull=default push pull sidekiq-default-pull-push=default pull push sidekiq-pull-default-push=pull default push sidekiq-push-default-pull=push default pull"
	if strings.Join(got, " ") != want {
		t.Errorf("grown:\ngot  %s\nwant %s", strings.Join(got, " "), want)
	}

	// After an upgrade to 4.0 the same split misses ingress: it gets a
	// service of its own rather than stalling.
	for i := range svc {
		svc[i].Image = strings.Replace(svc[i].Image, "tootsuite/mastodon:v3.4.6", "ghcr.io/mastodon/mastodon:v4.0.2", 1)
	}
	p, err = Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, p, true)
	found := false
	for _, s := range p.Sidekiq {
		found = found || s.Name == "sidekiq-ingress" && sidekiq.Spec(s.Queues) == "ingress"
	}
	if !found {
		t.Errorf("want a sidekiq-ingress service added: %v", p.Sidekiq)
	}
}

// Re-planning a plan's own output changes nothing; resizing replans.
func TestReplanIsStable(t *testing.T) {
	for _, v := range versions {
		for _, m := range grid {
			p, err := Make(Input{Services: stock(v), Machine: m})
			if err != nil {
				t.Fatal(err)
			}
			again, err := Make(Input{Services: applyToServices(stock(v), p), Machine: m})
			if err != nil {
				t.Fatalf("%s %v replan: %v", v, m, err)
			}
			for _, c := range again.Changes {
				if c.Kind == Rename || c.Kind == Clone || c.Kind == Remove {
					t.Errorf("%s %v: replanning its own output changes services: %+v", v, m, c)
				}
			}
			if a, b := layoutKeyOf(p.Sidekiq), layoutKeyOf(again.Sidekiq); a != b {
				t.Errorf("%s %v: replan differs:\n%s\n%s", v, m, a, b)
			}
		}
	}
}

// applyToServices is a minimal compose stand-in: it applies a plan's
// changes to the planner's view of the services.
func applyToServices(svcs []Service, p *Plan) []Service {
	byName := map[string]int{}
	out := append([]Service(nil), svcs...)
	reindex := func() {
		byName = map[string]int{}
		for i, s := range out {
			byName[s.Name] = i
		}
	}
	reindex()
	for _, c := range p.Changes {
		switch c.Kind {
		case Rename:
			out[byName[c.Service]].Name = c.To
		case Clone:
			s := out[byName[c.Service]]
			s.Name = c.To
			out = append(out, s)
		case Remove:
			i := byName[c.Service]
			out = append(out[:i], out[i+1:]...)
		case SetCommand:
			out[byName[c.Service]].Command = c.Command
		}
		reindex()
	}
	return out
}

func TestPostgresShareShrinksTheAppSide(t *testing.T) {
	half, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	big, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}, DBMemoryShare: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, big, true)
	if len(big.Sidekiq) >= len(half.Sidekiq) || big.Postgres.MemoryBytes != 6*GiB {
		t.Errorf("a 75%% Postgres share: %d sidekiq processes (half: %d), Postgres %s", len(big.Sidekiq), len(half.Sidekiq), FormatBytes(big.Postgres.MemoryBytes))
	}
	if !strings.Contains(strings.Join(big.Notes, "\n"), "that leaves room for") {
		t.Errorf("what the share cost is not said: %q", big.Notes)
	}
	if _, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{2 * GiB, 2}, DBMemory: 1900 * MiB}); err == nil || !strings.Contains(err.Error(), "--db-memory") {
		t.Errorf("a Postgres share that leaves no room for the app: want an error naming --db-memory, got %v", err)
	}
}

// The db command: tuned, the admin's own flags kept, shm_size raised only
// when parallel queries need it and never lowered.
func TestPostgresCommandInPlan(t *testing.T) {
	svc := stock("v4.3.0")
	svc[0].Command = []string{"postgres", "-c", "log_min_duration_statement=1000", "-c", "max_connections = 300"}
	svc[0].ShmSizeBytes = 256 * MiB
	p, err := Make(Input{Services: svc, Machine: Machine{64 * GiB, 16}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join(p.Postgres.Command, " ")
	if !strings.Contains(cmd, "-c log_min_duration_statement=1000") || strings.Contains(cmd, "max_connections = 300") ||
		!strings.Contains(cmd, fmt.Sprintf("-c max_connections=%d", p.Postgres.MaxConnections)) || !strings.Contains(cmd, "-c shared_buffers=8GB") {
		t.Errorf("db command %q", cmd)
	}
	// 16 parallel workers with work_mem in the tens of MB need more than 256mb.
	if !p.Postgres.SetsShmSize || p.Postgres.ShmSizeBytes <= 256*MiB {
		t.Errorf("shm_size not raised for 16 parallel workers: %d", p.Postgres.ShmSizeBytes)
	}
	svc[0].ShmSizeBytes = 8 * GiB
	p, _ = Make(Input{Services: svc, Machine: Machine{64 * GiB, 16}})
	if p.Postgres.SetsShmSize || p.Postgres.ShmSizeBytes != 8*GiB {
		t.Errorf("shm_size 8gb was lowered to %d", p.Postgres.ShmSizeBytes)
	}
	svc[0].ShmSizeBytes, svc[0].Image = 0, "postgres:latest"
	p, _ = Make(Input{Services: svc, Machine: Machine{2 * GiB, 2}})
	if !p.Postgres.SetsShmSize || p.Postgres.ShmSizeBytes != 256*MiB || !p.Postgres.MajorAssumed || p.Postgres.Major != NewestPostgres {
		t.Errorf("no shm_size on an untagged image: %+v", p.Postgres)
	}
}

// The stock sidekiq scaled by replicas: the plan's services replace the
// replicas, which go before any copy is made (a copy would inherit them).
func TestStockSidekiqReplicasReplaced(t *testing.T) {
	svc := stock("v4.3.0")
	svc[4].Replicas = 4
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, p, true)
	first := -1
	for i, c := range p.Changes {
		if c.Kind == SetReplicas && c.Service == "sidekiq" && c.Value == "1" && first < 0 {
			first = i
		}
		if c.Kind == Clone && (first < 0 || i < first) {
			t.Fatalf("a copy was made before the replicas went: %+v", c)
		}
	}
	if first < 0 || !strings.Contains(strings.Join(p.Notes, "\n"), "sidekiq: 4 replicas become 1") {
		t.Errorf("replicas not replaced: %q", p.Notes)
	}
}

// Seed 001's situation: max_connections 200, Puma at 150 threads and
// sidekiq at 150 threads: the file as it stands cannot hold its pools.
func TestCurrentPoolsOverMaxConnections(t *testing.T) {
	svc := stock("v3.4.6")
	svc[0].Command = []string{"postgres", "-c", "max_connections = 200"}
	svc[2].Env = map[string]string{"MAX_THREADS": "150"}
	svc[4].Command = strings.Fields("bundle exec sidekiq -c 150")
	svc[4].Env = map[string]string{"DB_POOL": "150"}
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings, "\n")
	// web 2 x 150 + streaming 3 x 10 + sidekiq 150 = 480.
	if !strings.Contains(w, "as the file stands, its pools can open at least 480 connections (web 300, streaming 30, sidekiq 150") || !strings.Contains(w, "max_connections is 200 (the db command)") {
		t.Errorf("warnings: %s", w)
	}
	// A stock file: 2x5 + 10 + 5 = 25 against the default 100: no line.
	p, _ = Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}})
	if strings.Contains(strings.Join(p.Warnings, "\n"), "as the file stands") {
		t.Errorf("a stock file warned: %q", p.Warnings)
	}
}

// Elasticsearch takes its heap and as much again off-heap: the app side
// shrinks to make room, and the budget shows it.
func TestSearchMemoryInTheBudget(t *testing.T) {
	without, err := Make(Input{Services: stock("v4.3.0"), Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	svc := append(stock("v4.3.0"), Service{Name: "es", Image: "docker.elastic.co/elasticsearch/elasticsearch:7.17.4",
		Env: map[string]string{"ES_JAVA_OPTS": "-Xms1g -Xmx1g -Des.enforce.bootstrap.checks=true"}})
	with, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 4}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, with, true)
	if with.Budget.Memory.SearchBytes != 2*GiB {
		t.Errorf("search memory %s, want twice the 1g heap", FormatBytes(with.Budget.Memory.SearchBytes))
	}
	if len(with.Sidekiq) >= len(without.Sidekiq) && with.Web.Processes >= without.Web.Processes {
		t.Errorf("2 GB for search cost the app nothing: %d/%d sidekiq, %d/%d puma", len(with.Sidekiq), len(without.Sidekiq), with.Web.Processes, without.Web.Processes)
	}
	if x := (Estimates{}).searchFor(Service{Name: "es"}); x != 1*GiB {
		t.Errorf("no -Xmx: %s", FormatBytes(x))
	}
}

// Two sidekiq services without -q both run every queue (config/sidekiq.yml):
// kept, with the scheduler on one of them only.
func TestTwoUnsplitSidekiqServices(t *testing.T) {
	svc := append(stock("v4.3.0"), Service{Name: "sidekiq-2", Image: "ghcr.io/mastodon/mastodon:v4.3.0", Command: strings.Fields("bundle exec sidekiq")})
	p, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 1}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, p, true)
	if len(p.Sidekiq) != 2 || p.Strategy != HandSplit {
		t.Fatalf("got %d services, strategy %s", len(p.Sidekiq), p.Strategy)
	}
	// Two CPUs: grown by the admin's numbering, scheduler still once.
	grown, err := Make(Input{Services: svc, Machine: Machine{8 * GiB, 2}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, grown, true)
	if names := layoutKey(existingOf(grown.Sidekiq)); !strings.Contains(names, "sidekiq-3=") || !strings.Contains(names, "sidekiq-4=") {
		t.Errorf("grown: %s", names)
	}
	if hasQueue(p.Sidekiq[0].Queues, "scheduler") == hasQueue(p.Sidekiq[1].Queues, "scheduler") {
		t.Errorf("scheduler on both or neither: %v / %v", sidekiq.Spec(p.Sidekiq[0].Queues), sidekiq.Spec(p.Sidekiq[1].Queues))
	}
	if strings.Contains(strings.Join(p.Notes, "\n"), "listened on no queue") {
		t.Errorf("notes: %q", p.Notes)
	}
}
