package rewrite

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/compose-scale/compose-scale/internal/fixturetest"

	"github.com/compose-scale/compose-scale/planner"
)

// Every release whose rules differ from the one before: queue sets (3.3,
// 4.0, 4.4), Sidekiq majors and strict ordering (3.1.3, 3.1.5, 4.4, 4.5),
// pool defaults (4.1, 4.3), the streaming model (4.1, 4.2), 4.2.0's two
// pools per process.
var everyRelease = []string{
	"v2.9.0", "v3.0.0", "v3.1.2", "v3.1.3", "v3.1.5", "v3.2.0", "v3.3.0", "v3.4.0", "v3.5.0",
	"v4.0.0", "v4.1.0", "v4.2.0", "v4.2.1", "v4.3.0", "v4.4.0", "v4.5.0", "v4.6.0", "v4.7.0",
}

// A file whose version nothing says (image :latest) is rewritten once, and
// the result is judged under each release's own rules, as if that release
// ran it: every queue it has is listened on, the scheduler by exactly one
// process, no process lists a queue twice where Sidekiq refuses that, and
// the connections its pools can open (its defaults, its streaming model,
// its pools per process) stay within the planned max_connections.
//
// multidb runs glitch-soc's separate streaming image, published from 4.3:
// its plan is judged under the releases from 4.3 on.
func TestUnknownVersionIsRightForEveryRelease(t *testing.T) {
	for _, fx := range []string{"latest", "multidb"} {
		for _, droplet := range []string{"s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb", "s-8vcpu-16gb", "g-16vcpu-64gb"} {
			for _, st := range []planner.Strategy{planner.Auto, planner.PerQueue, planner.Weighted} {
				t.Run(fx+"/"+droplet+"/"+string(st), func(t *testing.T) {
					path, src := fixture(t, fx)
					in := input(t, droplet, st)
					res, err := Rewrite(path, src, in)
					if err != nil {
						if st != planner.Auto {
							return // a forced strategy that does not fit may refuse
						}
						t.Fatal(err)
					}
					if !res.Plan.Version.Unknown {
						t.Fatalf("planned for %s, want an unknown version", res.Plan.Version)
					}
					out := parsed(t, res.Output)
					maxConns := maxConnections(t, out)
					floor := res.Plan.Version
					if fx == "multidb" && floor.FloorMajor != 4 || fx == "latest" && floor.FloorMajor != 0 {
						t.Errorf("%s: planned for %s", fx, floor)
					}
					judged := 0
					for _, release := range everyRelease {
						v, err := planner.ParseVersion(release)
						if err != nil {
							t.Fatal(err)
						}
						if !v.AtLeast(floor.FloorMajor, floor.FloorMinor) {
							continue
						}
						judged++
						holdsUnder(t.Errorf, v, out, in.Machine, maxConns)
						poolsSetEverywhere(t.Errorf, v, out, floor.AtLeast(4, 2))
					}
					if judged < 5 {
						t.Errorf("judged under %d releases only", judged)
					}
				})
			}
		}
	}
}

// holdsUnder checks a rewritten file under the rules of release v.
func holdsUnder(errorf func(string, ...any), v planner.Version, services []planner.Service, m planner.Machine, maxConns int) {
	listeners := map[string]int{}
	for _, s := range services {
		if planner.RoleOf(s) != planner.RoleSidekiq {
			continue
		}
		c, err := planner.ParseSidekiqCommand(s.Command)
		if err != nil {
			errorf("%s: %s: %v", v, s.Name, err)
			continue
		}
		if len(c.Queues) == 0 {
			errorf("%s: %s listens on config/sidekiq.yml's queues, which differ by release", v, s.Name)
		}
		seen := map[string]bool{}
		for _, q := range c.Queues {
			if seen[q.Name] && planner.SidekiqMajor(v) <= 6 {
				errorf("%s: %s lists %s twice: Sidekiq %d refuses to start", v, s.Name, q.Name, planner.SidekiqMajor(v))
			}
			seen[q.Name] = true
			listeners[q.Name]++
		}
		if pool, ok := s.Env["DB_POOL"]; !ok || pool != strconv.Itoa(c.Concurrency) {
			errorf("%s: %s runs -c %d with DB_POOL %q: the pool must not depend on the release's default", v, s.Name, c.Concurrency, pool)
		}
	}
	for _, q := range planner.QueuesFor(v) {
		if listeners[q.Name] == 0 {
			errorf("%s: nothing listens on queue %s: its jobs stall", v, q.Name)
		}
	}
	if planner.HasScheduler(v) && listeners["scheduler"] != 1 {
		errorf("%s: %d processes listen on scheduler, want 1", v, listeners["scheduler"])
	}
	n := planner.ConnectionsUnder(v, services, m)
	for _, s := range services {
		if planner.RoleOf(s) != planner.RolePgBouncer {
			continue
		}
		// Behind compose-scale's PgBouncer the pools are its clients, and
		// Postgres holds its server pool.
		// compose-scale's variables, or edoburu's for an admin's own.
		setting := func(name string) int {
			for _, k := range []string{"PGBOUNCER_" + name, name} {
				if n, err := strconv.Atoi(s.Env[k]); err == nil {
					return n
				}
			}
			return 0
		}
		clients, pool, reserve := setting("MAX_CLIENT_CONN"), setting("DEFAULT_POOL_SIZE"), setting("RESERVE_POOL_SIZE")
		if n > clients*9/10 {
			errorf("%s: the pools can open %d connections to %s, above 90%% of its max_client_conn %d", v, n, s.Name, clients)
		}
		if pool+reserve > planner.Usable(maxConns) {
			errorf("%s: %s's server pool %d is above the safe %d for max_connections %d", v, s.Name, pool+reserve, planner.Usable(maxConns), maxConns)
		}
		return
	}
	if n > planner.Usable(maxConns) {
		errorf("%s: the pools can open %d connections, above the safe %d for max_connections %d", v, n, planner.Usable(maxConns), maxConns)
	}
}

// poolsSetEverywhere checks what a plan for an unknown version must write
// so that no pool follows a release's default: DB_POOL on web and
// streaming, and STREAMING_CLUSTER_NUM=1 unless the plan is known to run
// 4.2 or later (streamingFrom42), where streaming has no cluster.
func poolsSetEverywhere(errorf func(string, ...any), v planner.Version, services []planner.Service, streamingFrom42 bool) {
	for _, s := range services {
		switch planner.RoleOf(s) {
		case planner.RoleWeb:
			if s.Env["DB_POOL"] == "" {
				errorf("%s: web has no DB_POOL: its pool would follow the release's default", v)
			}
		case planner.RoleStreaming:
			if s.Env["DB_POOL"] == "" || s.Env["STREAMING_CLUSTER_NUM"] != "1" && !streamingFrom42 {
				errorf("%s: %s has DB_POOL %q and STREAMING_CLUSTER_NUM %q: want both, the cluster at 1", v, s.Name, s.Env["DB_POOL"], s.Env["STREAMING_CLUSTER_NUM"])
			}
		}
	}
}

// parsed reads a rewritten file's services as the planner sees them.
func parsed(t *testing.T, src []byte) []planner.Service {
	t.Helper()
	return PlannerServices(fixturetest.Services(t, src), nil, nil)
}

// maxConnections is the max_connections the db command sets.
func maxConnections(t *testing.T, services []planner.Service) int {
	t.Helper()
	for _, s := range services {
		if planner.RoleOf(s) != planner.RoleDB {
			continue
		}
		pc, err := planner.ParsePostgresCommand(s.Command)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := pc.Get("max_connections")
		if !ok {
			t.Fatal("the db command sets no max_connections")
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Fatal("no db service")
	return 0
}

// The test above must be able to fail: the same checks on a plan made for
// one release, judged under another's rules, find what is wrong.
func TestHoldsUnderCatchesAKnownVersionPlan(t *testing.T) {
	path, src := fixture(t, "stock-v4.3")
	res, err := Rewrite(path, src, input(t, "s-4vcpu-8gb", ""))
	if err != nil {
		t.Fatal(err)
	}
	out := parsed(t, res.Output)
	maxConns := maxConnections(t, out)
	for _, tc := range []struct{ release, why string }{
		{"v4.4.0", "fasp has no listener"},
		{"v4.2.0", "two pools per process"},
		{"v3.4.0", "streaming's cluster and pool"},
	} {
		v, _ := planner.ParseVersion(tc.release)
		var found []string
		report := func(f string, a ...any) { found = append(found, fmt.Sprintf(f, a...)) }
		holdsUnder(report, v, out, planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}, maxConns)
		poolsSetEverywhere(report, v, out, false)
		if len(found) == 0 {
			t.Errorf("a v4.3 plan judged under %s passed: it should fail (%s)", tc.release, tc.why)
		}
	}
}
