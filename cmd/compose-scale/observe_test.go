package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/redistest"
)

// fakeInstance is a real redis-server holding Sidekiq data written in
// Sidekiq 6's shapes with fixed identities, RSS and ages (so reports are
// golden), reached through a docker stand-in on PATH that runs the real
// redis-cli against it; the stand-in has no Postgres, so that side is
// reported unreadable, as it would be on a host without psql access.
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
		{"sidekiq-default", `"default"`, 25, 2, 600},
		{"sidekiq-ingress-default-push-pull", `"ingress","default","push","pull"`, 25, 25, 640},
		{"sidekiq-pull-default-push-ingress", `"pull","default","push","ingress"`, 25, 25, 580},
		{"sidekiq-push-default-ingress-pull", `"push","default","ingress","pull"`, 25, 25, 610},
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
	dir := t.TempDir()
	standIn := `#!/bin/sh
# docker stand-in (no engine here): compose -f FILE exec -T SERVICE CMD...
[ "$1" = compose ] && [ "$4" = exec ] && [ "$5" = -T ] || exit 2
shift 6
case "$1" in
  redis-cli) shift; exec redis-cli -p ` + strconv.Itoa(port) + ` "$@" ;;
esac
echo "service db: psql is not reachable in this test" >&2; exit 1
`
	os.WriteFile(filepath.Join(dir, "docker"), []byte(standIn), 0o755)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
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
		"pull: 40 jobs, oldest 3 h: its listeners are busy 75/75",
		"sidekiq processes use 503 MB on average, the plan assumes 350 MB",
		"Postgres: service db: psql is not reachable in this test",
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
		"Sidekiq process memory 768 MB (measured: the 90th percentile of 1 readings of 6 processes, 640 MB, plus 20% headroom)",
		"queue backlog (measured): [pull 40]: the most backed-up queues lead the orderings",
		"sidekiq-pull-default-push-ingress",
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
