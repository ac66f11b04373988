package main

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/dockertest"
	"github.com/compose-scale/compose-scale/redistest"
)

// fakeInstance is a real redis-server holding Sidekiq data written in
// Sidekiq 6's shapes with fixed identities, RSS and ages (so reports are
// golden), reached through a docker stand-in on PATH that runs the real
// redis-cli against it, and gives the containers' memory; the stand-in
// has no Postgres, so that side is reported unreadable, as it would be
// on a host without psql access.
func fakeInstance(t *testing.T) {
	t.Helper()
	port := redistest.StartT(t)
	cli := func(args ...string) {
		for i := 0; i < 100; i++ {
			if err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port)}, args...)...).Run(); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("redis-cli %v failed", args)
	}
	now := float64(time.Now().Unix())
	procs := []struct {
		name, queues string
		conc, busy   int
		rssMB        int
	}{
		{"sidekiq-default-push-ingress-pull", `"default","push","ingress","pull"`, 25, 2, 600},
		{"sidekiq-default-ingress-pull-push", `"default","ingress","pull","push"`, 25, 25, 640},
		{"sidekiq-default-pull-push-ingress", `"default","pull","push","ingress"`, 25, 25, 580},
		{"sidekiq-default-push-pull-ingress", `"default","push","pull","ingress"`, 25, 25, 610},
		{"sidekiq-mailers", `"mailers"`, 5, 0, 300},
		{"sidekiq-scheduler", `"scheduler"`, 5, 0, 290},
	}
	for i, p := range procs {
		id := fmt.Sprintf("%s:%d:fixed%d", p.name, 100+i, i)
		info := fmt.Sprintf(`{"hostname":%q,"started_at":%f,"pid":%d,"tag":"","concurrency":%d,"queues":[%s],"labels":[],"identity":%q}`, p.name, now, 100+i, p.conc, p.queues, id)
		cli("SADD", "processes", id)
		cli("HSET", id, "info", info, "busy", strconv.Itoa(p.busy), "beat", fmt.Sprint(now), "quiet", "false", "rss", strconv.Itoa(p.rssMB*1024))
	}
	cli("SADD", "queues", "default", "pull", "mailers")
	for i := 0; i < 40; i++ {
		cli("LPUSH", "queue:pull", fmt.Sprintf(`{"class":"ActivityPub::FetchRepliesWorker","queue":"pull","enqueued_at":%f}`, now-3*3600))
	}
	cli("LPUSH", "queue:default", fmt.Sprintf(`{"class":"PushUpdateWorker","queue":"default","enqueued_at":%f}`, now-2))
	cli("ZADD", "dead", "1", "a")
	// The containers as docker compose ps and stats show them: web runs
	// 4 Puma workers (WEB_CONCURRENCY=4 in the planned file) in 1240 MB.
	var ps, stats []string
	for i, c := range []struct{ service, mem string }{
		{"db", "900MiB"}, {"redis", "40.5MiB"}, {"web", "1.211GiB"}, {"streaming", "112MiB"}, {"sidekiq-default-push-ingress-pull", "610MiB"},
	} {
		id := fmt.Sprintf("%012x", 0xa0b0c0d0e000+i)
		ps = append(ps, fmt.Sprintf(`{"ID":"%s0000","Name":"mastodon-%s-1","Service":"%s","State":"running"}`, id, c.service, c.service))
		stats = append(stats, fmt.Sprintf(`{"ID":"%s","Name":"mastodon-%s-1","MemUsage":"%s / 7.761GiB","CPUPerc":"1.00%%"}`, id, c.service, c.mem))
	}
	dockertest.StandIn(t, dockertest.Config{RedisPort: port, PS: strings.Join(ps, "\n"), Stats: strings.Join(stats, "\n")})
}

// observe on the instance the planned file runs: what an admin acts on,
// golden; then plan --observed uses the measured RSS (600+ MB, not 350)
// and puts the backed-up queue (pull) first, and says so.
func TestObserveCLI(t *testing.T) {
	fakeInstance(t)
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.s-4vcpu-8gb.golden.yml"})
	r := runCLI(t, dir, nil, "observe", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 {
		t.Fatalf("observe: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	golden(t, "observe-stock-v4.3.text", r.stdout)
	for _, want := range []string{
		"pull: 40 jobs, oldest 3 h: its listeners are busy 77/100",
		"sidekiq processes use 503 MB on average, the plan assumes 350 MB",
		"Postgres: OCI runtime exec failed",
		"web                                1           1240 MB  4          310 MB       300 MB",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("observe does not say %q", want)
		}
	}
	r = runCLI(t, dir, nil, "plan", "--observed", "--droplet", "s-8vcpu-16gb")
	if r.code != 0 {
		t.Fatalf("plan --observed: exit %d %s", r.code, r.stderr)
	}
	golden(t, "plan-observed-stock-v4.3.text", r.stdout)
	for _, want := range []string{
		"Sidekiq process memory 768 MB (measured: the 90th percentile of 1 reading of 6 processes, 640 MB, plus 20% headroom)",
		"Puma process memory 372 MB (measured: the 90th percentile of 1 container reading of web, per process, 310 MB, plus 20% headroom)",
		"streaming process memory 134 MB (measured: the 90th percentile of 1 container reading of streaming, per process, 112 MB, plus 20% headroom)",
		"web                                        6        5           30        2232 MB",
		"queue backlog (measured): [pull 40]: the most backed-up queues come first behind default",
		"sidekiq-default-pull-push-ingress",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan --observed does not say %q:\n%s", want, r.stdout)
		}
	}
	// Unreachable: observe exits 1, --observed plans with the estimates.
	t.Setenv("PATH", "/nonexistent")
	if r := runCLI(t, dir, nil, "observe", "--droplet", "s-4vcpu-8gb"); r.code != 1 || !strings.Contains(r.stdout, "could not read") {
		t.Errorf("nothing reachable: exit %d %s", r.code, r.stdout)
	}
	if r := runCLI(t, dir, nil, "plan", "--observed", "--droplet", "s-4vcpu-8gb"); r.code != 0 || !strings.Contains(r.stdout, "--observed: no running instance could be read") || strings.Contains(r.stdout, "measured (compose-scale observe)") {
		t.Errorf("--observed, nothing reachable: exit %d %s", r.code, r.stdout)
	}
}

// export helm --observed sizes the pods from what the running compose
// instance measured: each worker requests the measured Sidekiq RSS (p90
// plus 20%: 768 MB), not the 350 MB estimate.
func TestExportObserved(t *testing.T) {
	fakeInstance(t)
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.s-4vcpu-8gb.golden.yml"})
	r := runCLI(t, dir, nil, "export", "helm", "--observed", "--pgbouncer", "off", "--nodes", "3", "--node", "s-8vcpu-16gb", "--db-node", "s-4vcpu-16gb", "docker-compose.yml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "memory: 768Mi") || strings.Contains(r.stdout, "memory: 350Mi") {
		t.Errorf("the workers do not request the measured RSS:\n%s", r.stdout)
	}
}
