package observe

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/internal/fixturetest/rewritten"

	"github.com/compose-scale/compose-scale/dockertest"
	"github.com/compose-scale/compose-scale/pgtest"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/redistest"
)

func need(t *testing.T, env, what string, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv(env) != "" {
				t.Fatalf("no %s (%s is set): install Debian's %s", b, env, what)
			}
			t.Skipf("no %s: install Debian's %s to run this test", b, what)
		}
	}
}

// startRedis runs redis-server on a loopback port in a temp dir.
func startRedis(t *testing.T) int { return redistest.StartT(t) }

// plannedCommands rewrites the stock v4.3 file for 8 GB / 4 CPUs and
// returns each sidekiq service's command.
func plannedCommands(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, s := range rewritten.Services(t, "stock-v4.3.input.yml", planner.Input{Machine: planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}}, nil) {
		if planner.IsSidekiq(s.Command) {
			out[name] = s.Command
		}
	}
	return out
}

// startSidekiq runs Debian's sidekiq (6.4) with a planned service's
// command, the bundle exec prefix dropped, loading the test's jobs.
func startSidekiq(t *testing.T, port int, command []string) {
	t.Helper()
	startSidekiqAt(t, "redis://127.0.0.1:"+strconv.Itoa(port)+"/0", command)
}

// startSidekiqAt is startSidekiq on any Redis URL, with variables added
// to its environment (DYNO=... names its hostname, as a container's ID
// names it in docker).
func startSidekiqAt(t *testing.T, redisURL string, command []string, env ...string) {
	t.Helper()
	need(t, "COMPOSE_SCALE_REQUIRE_SIDEKIQ", "ruby-sidekiq", "sidekiq", "ruby")
	args := command
	for len(args) > 0 && args[0] != "sidekiq" {
		args = args[1:] // bundle exec
	}
	jobs, _ := filepath.Abs(filepath.Join("testdata", "jobs.rb"))
	cmd := exec.Command("sidekiq", append([]string{"-r", jobs}, args[1:]...)...)
	cmd.Env = append(append(os.Environ(), "REDIS_URL="+redisURL), env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // its jobs sleep; a graceful stop would wait for them
		cmd.Wait()
		if t.Failed() {
			t.Logf("sidekiq %v:\n%s", args, log.String())
		}
	})
}

// ruby runs a Ruby snippet with Sidekiq's client against the test Redis.
func ruby(t *testing.T, port int, code string) {
	t.Helper()
	jobs, _ := filepath.Abs(filepath.Join("testdata", "jobs.rb"))
	cmd := exec.Command("ruby", "-r", jobs, "-e", code)
	cmd.Env = append(os.Environ(), "REDIS_URL=redis://127.0.0.1:"+strconv.Itoa(port)+"/0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ruby: %v\n%s", err, out)
	}
}

func direct(port int) Source {
	return Source{Run: Exec, RedisURL: "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"}
}

// Real Sidekiq 6.4 processes, started with the commands compose-scale
// wrote (sidekiq-mailers and sidekiq-scheduler of the 8 GB plan), with
// jobs enqueued so that queues have known sizes and ages and threads are
// busy: observe reports them.
func TestObserveRealSidekiq(t *testing.T) {
	port := startRedis(t)
	cmds := plannedCommands(t)
	for _, name := range []string{"sidekiq-mailers", "sidekiq-scheduler"} {
		if cmds[name] == nil {
			t.Fatalf("the plan has no %s: %v", name, cmds)
		}
		startSidekiq(t, port, cmds[name])
	}
	src := direct(port)
	// Five slow jobs fill sidekiq-mailers's five threads...
	ruby(t, port, `5.times { Sidekiq::Client.push("queue" => "mailers", "class" => "SlowJob", "args" => [60]) }`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		sk, err := src.ReadSidekiq()
		if err != nil {
			t.Fatal(err)
		}
		busy := 0
		for _, p := range sk.Processes {
			busy += p.Busy
		}
		if len(sk.Processes) == 2 && busy == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the processes did not take the jobs: %+v", sk)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// ...so 50 more wait; and 300 pull jobs an hour old wait for a
	// listener nobody started.
	ruby(t, port, `50.times { Sidekiq::Client.push("queue" => "mailers", "class" => "SlowJob", "args" => [60]) }
Sidekiq.redis do |c|
  c.sadd("queues", "pull")
  300.times { |i| c.lpush("queue:pull", Sidekiq.dump_json("class" => "SlowJob", "args" => [1], "queue" => "pull", "jid" => "j#{i}", "enqueued_at" => Time.now.to_f - 3600, "created_at" => Time.now.to_f - 3600)) }
end`)
	o := Read(src, 3, 300*time.Millisecond, nil, nil)
	if o.RedisError != "" || o.Sidekiq == nil {
		t.Fatalf("read nothing: %s", o.RedisError)
	}
	o.Attribute([]Service{{Name: "sidekiq-mailers", Queues: []string{"mailers"}}, {Name: "sidekiq-scheduler", Queues: []string{"scheduler"}}})
	sk := o.Sidekiq
	sizes := map[string]Queue{}
	for _, q := range sk.Queues {
		sizes[q.Name] = q
	}
	if sizes["mailers"].Size != 50 || sizes["pull"].Size != 300 {
		t.Errorf("queue sizes: %+v", sk.Queues)
	}
	if l := sizes["pull"].LatencySeconds; l < 3600 || l > 3600+60 {
		t.Errorf("pull latency %.1f s, want about an hour", l)
	}
	if l := sizes["mailers"].LatencySeconds; l > 30 {
		t.Errorf("mailers latency %.1f s, want seconds", l)
	}
	if sk.Major != 6 || len(sk.Processes) != 2 {
		t.Fatalf("Sidekiq %d, %d processes", sk.Major, len(sk.Processes))
	}
	for _, p := range sk.Processes {
		svc := o.ServiceOf[p.Identity]
		switch {
		case svc == "sidekiq-mailers" && (p.Concurrency != 5 || p.Busy != 5 || o.BusyAverage[p.Identity] != 5):
			t.Errorf("sidekiq-mailers: %+v, average busy %v", p, o.BusyAverage[p.Identity])
		case svc == "sidekiq-scheduler" && (p.Concurrency != 5 || p.Busy != 0 || strings.Join(p.Queues, ",") != "scheduler"):
			t.Errorf("sidekiq-scheduler: %+v", p)
		case svc == "":
			t.Errorf("process %s belongs to no service", p.Identity)
		}
		if p.RSSKB < 10<<10 {
			t.Errorf("%s: rss %d kB", p.Identity, p.RSSKB)
		}
	}
	findings := strings.Join(o.Judge(350*planner.MiB), "\n")
	for _, want := range []string{
		"pull: 300 jobs, oldest 1 h: no process listens on it, they never run",
		"sidekiq-scheduler idle for the whole sample",
	} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack %q:\n%s", want, findings)
		}
	}
	t.Logf("findings:\n%s", findings)
}

// Sidekiq 7 and 8 keep their heartbeats in other shapes: written here as
// their launcher.rb writes them (v7.3.9:171 and :247; v8.0.9 hset with
// "concurrency" as its own field and "capsules" in info), and the jobs'
// enqueued_at as 7 (float seconds) and 8 (integer milliseconds, client.rb
// v8.0.9:286) write it.
func TestObserveSidekiq7And8Shapes(t *testing.T) {
	port := startRedis(t)
	now := float64(time.Now().UnixNano()) / 1e9
	cli := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port)}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	info7 := fmt.Sprintf(`{"hostname":"sidekiq-push","started_at":%f,"pid":7,"tag":"","concurrency":20,"queues":["push","default"],"weights":[{"push":0,"default":0}],"labels":[],"identity":"sidekiq-push:7:abc","version":"7.3.9","embedded":false}`, now)
	cli("SADD", "processes", "sidekiq-push:7:abc")
	cli("HSET", "sidekiq-push:7:abc", "info", info7, "busy", "12", "beat", fmt.Sprint(now), "rtt_us", "300", "quiet", "false", "rss", "512000")
	info8 := fmt.Sprintf(`{"hostname":"sidekiq-pull","started_at":%f,"pid":8,"tag":"","capsules":{"default":{"concurrency":25,"mode":"strict","weights":{"pull":0,"ingress":0}}},"queues":["pull","ingress"],"weights":[{"pull":0,"ingress":0}],"labels":[],"identity":"sidekiq-pull:8:def","version":"8.0.9","embedded":false}`, now)
	cli("SADD", "processes", "sidekiq-pull:8:def")
	cli("HSET", "sidekiq-pull:8:def", "info", info8, "concurrency", "25", "busy", "25", "beat", fmt.Sprint(now), "rtt_us", "200", "quiet", "false", "rss", "700000")
	cli("SADD", "queues", "push", "pull")
	cli("LPUSH", "queue:push", fmt.Sprintf(`{"class":"X","queue":"push","enqueued_at":%f}`, now-120))
	cli("LPUSH", "queue:pull", fmt.Sprintf(`{"class":"X","queue":"pull","enqueued_at":%d}`, int64((now-7200)*1000)))
	cli("ZADD", "dead", "1", "a", "2", "b")
	cli("SET", "stat:processed", "12345")
	sk, err := direct(port).ReadSidekiq()
	if err != nil {
		t.Fatal(err)
	}
	if sk.Major != 8 || sk.Dead != 2 || sk.Processed != 12345 {
		t.Errorf("major %d dead %d processed %d", sk.Major, sk.Dead, sk.Processed)
	}
	for _, p := range sk.Processes {
		switch p.Hostname {
		case "sidekiq-push":
			if p.Concurrency != 20 || p.Busy != 12 || p.RSSKB != 512000 || p.Version != "7.3.9" {
				t.Errorf("Sidekiq 7 process: %+v", p)
			}
		case "sidekiq-pull":
			if p.Concurrency != 25 || p.Busy != 25 || strings.Join(p.Queues, ",") != "pull,ingress" {
				t.Errorf("Sidekiq 8 process: %+v", p)
			}
		}
	}
	for _, q := range sk.Queues {
		want := map[string]float64{"push": 120, "pull": 7200}[q.Name]
		if q.LatencySeconds < want-5 || q.LatencySeconds > want+5 {
			t.Errorf("%s latency %.1f, want %.0f", q.Name, q.LatencySeconds, want)
		}
	}
	// And it never writes: the data is as it was.
	before, _ := exec.Command("redis-cli", "-p", strconv.Itoa(port), "DBSIZE").Output()
	direct(port).ReadSidekiq()
	after, _ := exec.Command("redis-cli", "-p", strconv.Itoa(port), "DBSIZE").Output()
	if string(before) != string(after) {
		t.Errorf("reading changed the key count: %s -> %s", before, after)
	}
}

// A real Postgres with sessions in known states: observe counts them.
func TestObservePostgres(t *testing.T) {
	bin, _, s := pgtest.StartT(t, []string{"-c", "max_connections=20"})
	url := "postgresql://postgres@127.0.0.1:" + strconv.Itoa(s.Port()) + "/postgres"
	psql := filepath.Join(bin, "psql")
	hold := func(sql, app string) {
		cmd := exec.Command(psql, url, "-X", "-q")
		cmd.Env = append(os.Environ(), "PGAPPNAME="+app)
		in, _ := cmd.StdinPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(in, sql)
		t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	}
	for i := 0; i < 3; i++ {
		hold("SELECT 1;", "sidekiq")
	}
	for i := 0; i < 2; i++ {
		hold("BEGIN; SELECT 1;", "puma")
	}
	hold("SELECT pg_sleep(60);", "")
	src := Source{Run: Exec, DatabaseURL: url}
	var pg Postgres
	var err error
	for i := 0; ; i++ {
		pg, err = src.ReadPostgres([]string{"max_connections", "shared_buffers"})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Clients == 6 || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pg.MaxConnections != 20 || pg.ByState["idle"] != 3 || pg.ByState["idle in transaction"] != 2 || pg.ByState["active"] != 1 {
		t.Errorf("states: %+v", pg)
	}
	if pg.ByApplication["sidekiq"] != 3 || pg.ByApplication["puma"] != 2 || pg.ByApplication["(none)"] != 1 {
		t.Errorf("applications: %+v", pg.ByApplication)
	}
	if len(pg.Waits) == 0 || pg.Waits[0].Event != "PgSleep" {
		t.Errorf("waits: %+v", pg.Waits)
	}
	if pg.Settings["max_connections"] != "20" {
		t.Errorf("settings: %+v", pg.Settings)
	}
	o := Observation{Postgres: &pg, PlannedSettings: map[string]string{"max_connections": "160"}}
	findings := strings.Join(o.Judge(0), "\n")
	for _, want := range []string{"2 connections idle in transaction", "Postgres runs max_connections=20, the plan has 160"} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack %q:\n%s", want, findings)
		}
	}
	// A wrong password in the URL never reaches a message.
	bad := Source{Run: Exec, DatabaseURL: "postgresql://postgres:MARKER-pw@127.0.0.1:1/postgres"}
	if _, err := bad.ReadPostgres(nil); err == nil || strings.Contains(err.Error(), "MARKER-pw") {
		t.Errorf("an unreachable database: %v", err)
	}
}

// Through docker compose (the default): a docker stand-in on PATH, the
// only fake, runs the real redis-cli and psql against the test servers
// and records each invocation, which must be exactly what an admin would
// type: docker compose -f FILE exec -T SERVICE redis-cli|psql ...
func TestObserveThroughDockerCompose(t *testing.T) {
	port := startRedis(t)
	bin, _, s := pgtest.StartT(t, nil) // a skip without Postgres only outside CI
	log := dockertest.StandIn(t, dockertest.Config{
		RedisPort: port, PsqlBin: filepath.Join(bin, "psql"), PGPort: s.Port(),
		PS:    `{"ID":"3f2a9c1b7d4e5f60","Name":"mastodon-web-1","Service":"web","State":"running"}` + "\n" + `{"ID":"0a1b2c3d4e5f6071","Name":"mastodon-streaming-1","Service":"streaming","State":"running"}`,
		Stats: `{"ID":"3f2a9c1b7d4e","Name":"mastodon-web-1","MemUsage":"612.5MiB / 7.761GiB"}` + "\n" + `{"ID":"0a1b2c3d4e5f","Name":"mastodon-streaming-1","MemUsage":"98MiB / 7.761GiB"}` + "\n" + `{"ID":"ffffffffffff","Name":"other-project-1","MemUsage":"1GiB / 7.761GiB"}`,
	})
	src := Source{Run: Exec, ComposeFiles: []string{"/srv/mastodon/docker-compose.yml"}, RedisService: "redis", DBService: "db"}
	o := Read(src, 1, 0, []string{"max_connections"}, nil)
	if o.RedisError != "" || o.PostgresError != "" || o.Sidekiq == nil || o.Postgres == nil {
		t.Fatalf("read through the stand-in: %+v", o)
	}
	lines := dockertest.Invocations(t, log)
	want := []string{
		"compose -f /srv/mastodon/docker-compose.yml exec -T redis redis-cli --raw EVAL_RO ",
		"compose -f /srv/mastodon/docker-compose.yml exec -T db psql -U postgres -X -A -t -F \t -v ON_ERROR_STOP=1 -f -",
		"compose -f /srv/mastodon/docker-compose.yml ps --format json",
		"compose -f /srv/mastodon/docker-compose.yml stats --no-stream --format json",
	}
	if len(lines) != len(want) {
		t.Fatalf("invocations:\n%s", strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || (i > 0 && lines[i] != w) {
			t.Errorf("invocation %d: %q, want %q", i, lines[i], w)
		}
	}
	// Each container's memory under its service; another project's
	// container is not ours.
	if o.MemoryError != "" || len(o.Memory) != 2 || o.Memory["web"][0] != 6125*(1<<20)/10 || o.Memory["streaming"][0] != 98<<20 {
		t.Errorf("memory: %v %q", o.Memory, o.MemoryError)
	}
}
