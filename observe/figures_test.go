package observe

import (
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/dockertest"
	"github.com/compose-scale/compose-scale/redistest"
)

// The password of the test Redis: characters a URL must escape, and a
// marker no command line may ever show.
const redisPassword = "MARKER-pw:/@ x"

// permutedWorkers are the plan's workers that share one queue set.
var permutedWorkers = []string{"sidekiq-default-push-ingress-pull", "sidekiq-default-ingress-pull-push", "sidekiq-default-pull-push-ingress"}

// An instance as an admin runs it: Sidekiq's data in Redis database 1 of
// a Redis that requires a password, the three permuted workers compose-
// scale planned running as real Sidekiq 6.4 processes whose hostnames are
// container IDs, a process that died (its heartbeat expired, its name
// still in the set), and jobs whose enqueued_at is whole seconds. Read
// through the docker stand-in as observe reads a compose instance, and
// with --redis: both give the true figures.
func TestObserveTrueFigures(t *testing.T) {
	port := redistest.StartT(t, "--requirepass", redisPassword)
	appURL := fmt.Sprintf("redis://:%s@127.0.0.1:%d/1", url.QueryEscape(redisPassword), port)
	cmds := plannedCommands(t)
	ids := map[string]string{}
	for i, name := range permutedWorkers {
		if cmds[name] == nil {
			t.Fatalf("the 8 GB plan has no %s: %v", name, cmds)
		}
		ids[name] = fmt.Sprintf("%012x", 0x3f2a9c1b7d40+i) // a container ID
		startSidekiqAt(t, appURL, cmds[name], "DYNO="+ids[name])
	}
	cli := func(args ...string) string {
		t.Helper()
		c := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port), "-n", "1"}, args...)...)
		c.Env = append(c.Environ(), "REDISCLI_AUTH="+redisPassword)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v %s", args, err, out)
		}
		return string(out)
	}
	// A process that died: its identity stays in the set, its heartbeat
	// hash expires.
	cli("SADD", "processes", "0badc0ffee00:77:dead")
	cli("HSET", "0badc0ffee00:77:dead", "info", `{"hostname":"0badc0ffee00","pid":77,"concurrency":25,"queues":["pull"]}`, "busy", "0", "rss", "400000")
	cli("PEXPIRE", "0badc0ffee00:77:dead", "1")
	// An hour-old job, its enqueued_at in whole seconds, in a queue
	// nothing listens on (so it stays), and a queue name that would
	// clear the admin's terminal.
	hourAgo := time.Now().Unix() - 3600
	cli("SADD", "queues", "fasp", "evil\x1b[2J\x1b]8;;http://x\x07name")
	cli("LPUSH", "queue:fasp", fmt.Sprintf(`{"class":"X","queue":"fasp","enqueued_at":%d}`, hourAgo))

	log := dockertest.StandIn(t, dockertest.Config{RedisPort: port})
	viaDocker := Source{Run: Exec, ComposeFiles: []string{"docker-compose.yml"}, RedisService: "redis", RedisDB: 1, RedisPassword: redisPassword}
	viaURL := Source{Run: Exec, RedisURL: appURL}
	services := []Service{{Name: "sidekiq-default", Queues: []string{"default"}}}
	for _, name := range permutedWorkers {
		var qs []string
		for i := 0; i+1 < len(cmds[name]); i++ {
			if cmds[name][i] == "-q" {
				qs = append(qs, strings.SplitN(cmds[name][i+1], ",", 2)[0])
			}
		}
		services = append(services, Service{Name: name, Queues: qs})
	}
	for _, tc := range []struct {
		name string
		src  Source
	}{{"docker compose exec", viaDocker}, {"--redis", viaURL}} {
		t.Run(tc.name, func(t *testing.T) {
			var sk Sidekiq
			deadline := time.Now().Add(60 * time.Second)
			for {
				var err error
				if sk, err = tc.src.ReadSidekiq(); err != nil {
					t.Fatal(err)
				}
				if len(sk.Processes) == len(permutedWorkers) || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if len(sk.Processes) != len(permutedWorkers) || sk.Expired != 1 {
				t.Fatalf("%d processes, %d expired; want %d and 1 (the data is in database 1): %+v", len(sk.Processes), sk.Expired, len(permutedWorkers), sk)
			}
			o := Observation{Sidekiq: &sk, ServiceOf: map[string]string{}}
			o.Attribute(services)
			for _, p := range sk.Processes {
				if p.Concurrency == 0 || p.RSSKB == 0 {
					t.Errorf("%s: %+v", p.Identity, p)
				}
				got := o.ServiceOf[p.Identity]
				if ids[got] != p.Hostname {
					t.Errorf("process on host %s (queues %v) attributed to %q", p.Hostname, p.Queues, got)
				}
			}
			for _, q := range sk.Queues {
				if strings.ContainsAny(q.Name, "\x1b\x07") {
					t.Errorf("a control character reached the report: %q", q.Name)
				}
				if q.Name == "fasp" && (q.LatencySeconds < 3590 || q.LatencySeconds > 3700) {
					t.Errorf("fasp's job enqueued an hour ago (whole seconds) reads %.0f s old", q.LatencySeconds)
				}
			}
			if f := strings.Join(o.Judge(0), "\n"); !strings.Contains(f, "1 process in Sidekiq's process set without a heartbeat") {
				t.Errorf("findings do not tell of the dead process:\n%s", f)
			}
		})
	}
	// Database 0 of the same Redis holds nothing: the number matters.
	db0 := viaDocker
	db0.RedisDB = 0
	if sk, err := db0.ReadSidekiq(); err != nil || len(sk.Processes) != 0 {
		t.Errorf("database 0: %v, %d processes", err, len(sk.Processes))
	}
	// What an admin would type, and no password in it.
	inv := dockertest.Invocations(t, log)
	if len(inv) == 0 || !strings.HasPrefix(inv[0], "compose -f docker-compose.yml exec -T -e REDISCLI_AUTH redis redis-cli -n 1 --raw EVAL_RO ") {
		t.Errorf("invocations: %q", inv)
	}
	for _, line := range inv {
		if strings.Contains(line, "MARKER") {
			t.Errorf("the password is on a command line: %s", line)
		}
	}
}

// Numbers Redis holds that cannot be true are unusable, not zeros: a
// reading with any says so and names them.
func TestUnusableNumbers(t *testing.T) {
	raw := `{"queues":[{"name":"pull","size":3,"oldest":"{\"enqueued_at\":\"soon\"}"}],"processes":[` +
		`{"identity":"a:1:x","fields":["info","{\"hostname\":\"a\",\"pid\":1,\"concurrency\":-5,\"queues\":[\"pull\"]}","busy","2","rss","99999999999999999999"]},` +
		`{"identity":"b:2:y","fields":["info","{\"hostname\":\"b\",\"pid\":2,\"concurrency\":25,\"queues\":[\"pull\"]}","busy","1","rss","512000"]}` +
		`],"retry":0,"schedule":0,"dead":0,"processed":"-1","failed":"0","time":["1700000000","0"]}`
	sk, err := ParseSidekiq(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sk.Unusable, "\n")
	for _, want := range []string{`a:1:x: concurrency is "-5"`, `a:1:x: rss is "99999999999999999999"`, `stat:processed is "-1"`} {
		if !strings.Contains(got, want) {
			t.Errorf("unusable lacks %q:\n%s", want, got)
		}
	}
	if len(sk.Processes) != 2 || sk.Processes[1].RSSKB != 512000 {
		t.Errorf("processes: %+v", sk.Processes)
	}
}

// Seconds and milliseconds are told apart by magnitude, whatever the
// decimal point says.
func TestLatencyUnits(t *testing.T) {
	now := 1_700_003_600.0
	for _, tc := range []struct {
		stamp string
		want  float64
	}{
		{"1700000000", 3600},       // whole seconds (any client)
		{"1700000000.25", 3599.75}, // Sidekiq up to 7
		{"1700000000000", 3600},    // Sidekiq 8: integer milliseconds
		{"1700000000000.0", 3600},  // milliseconds with a point
	} {
		got, ok := latency(`{"enqueued_at":`+tc.stamp+`}`, now)
		if !ok || got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("enqueued_at %s: %.2f s (ok %v), want %.2f", tc.stamp, got, ok, tc.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"push":                                 "push",
		"evil\x1b[2Jname":                      "evilname",
		"\x1b]8;;http://x\x07link\x1b]8;;\x07": "link",
		"a\rb\nc\x00d\x7fe\u0085f":             "abcdef",
		"abc\u202edcba":                        "abcdcba",
		"bad\xffutf8":                          "bad\uFFFDutf8",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
