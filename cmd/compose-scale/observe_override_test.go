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

	"github.com/compose-scale/compose-scale/dockertest"
	"github.com/compose-scale/compose-scale/redistest"
)

// heartbeat writes a Sidekiq 6 process's heartbeat as launcher.rb 6.4.1
// writes it, into database db.
func heartbeat(t *testing.T, port, db int, host string, pid int, queues []string, rss string) {
	t.Helper()
	id := fmt.Sprintf("%s:%d:n%d", host, pid, pid)
	q := `"` + strings.Join(queues, `","`) + `"`
	info := fmt.Sprintf(`{"hostname":%q,"started_at":%d,"pid":%d,"tag":"","concurrency":25,"queues":[%s],"labels":[],"identity":%q}`, host, time.Now().Unix(), pid, q, id)
	for _, args := range [][]string{{"SADD", "processes", id}, {"HSET", id, "info", info, "busy", "3", "beat", strconv.FormatInt(time.Now().Unix(), 10), "quiet", "false", "rss", rss}} {
		if out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port), "-n", strconv.Itoa(db)}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
}

// The stock file rewritten with --override, its Sidekiq data in Redis
// database 3 as .env.production's REDIS_URL says, the permuted workers
// running in containers whose IDs are their hostnames: observe reads
// both files (as docker compose does, without being told), finds the
// data, and names each worker after its own service.
func TestObserveOverrideAndDatabase(t *testing.T) {
	port := redistest.StartT(t)
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	if err := os.WriteFile(filepath.Join(dir, ".env.production"), []byte("LOCAL_DOMAIN=example.com\nREDIS_URL=redis://redis:6379/3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, dir, nil, "rewrite", "--override", "--droplet", "s-4vcpu-8gb"); r.code != 0 {
		t.Fatalf("rewrite --override: %d %s", r.code, r.stderr)
	}
	workers := map[string][]string{
		"sidekiq-default-push-ingress-pull": {"default", "push", "ingress", "pull"},
		"sidekiq-default-ingress-pull-push": {"default", "ingress", "pull", "push"},
		"sidekiq-default-pull-push-ingress": {"default", "pull", "push", "ingress"},
	}
	pid := 10
	hostOf := map[string]string{}
	for name, qs := range workers {
		pid++
		hostOf[name] = fmt.Sprintf("%012x", 0xc0ffee000000+pid)
		heartbeat(t, port, 3, hostOf[name], pid, qs, "600000")
	}
	log := dockertest.StandIn(t, dockertest.Config{RedisPort: port})
	r := runCLI(t, dir, nil, "observe", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 {
		t.Fatalf("observe: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "observe docker-compose.yml + docker-compose.override.yml: 1 reading, through docker compose exec (Redis: redis, database 3 from REDIS_URL in .env.production, Postgres: db)") {
		t.Errorf("the header does not say both files and the database:\n%s", r.stdout)
	}
	for name, qs := range workers {
		row := fmt.Sprintf("%s  %s", name, strings.Join(qs, ","))
		if !strings.Contains(r.stdout, row) {
			t.Errorf("no row %q: each permuted worker under its own service:\n%s", row, r.stdout)
		}
	}
	found := false
	for _, l := range dockertest.Invocations(t, log) {
		found = found || strings.HasPrefix(l, "compose -f docker-compose.yml -f docker-compose.override.yml exec -T redis redis-cli -n 3 --raw ")
	}
	if !found {
		t.Errorf("no redis-cli -n 3 through both files: %q", dockertest.Invocations(t, log))
	}

	// A heartbeat whose rss cannot be true: observe names it, and
	// --observed plans with the estimates and says why.
	heartbeat(t, port, 3, "badbadbadbad", 99, []string{"default"}, "-4096")
	r = runCLI(t, dir, nil, "observe", "--droplet", "s-4vcpu-8gb")
	if !strings.Contains(r.stdout, `unusable figures in Redis, not planned from: badbadbadbad:99:n99: rss is "-4096", not a count`) {
		t.Errorf("observe does not name the unusable figure:\n%s", r.stdout)
	}
	r = runCLI(t, dir, nil, "plan", "--override", "--observed", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "--observed: the reading has unusable figures") || strings.Contains(r.stdout, "(measured:") {
		t.Errorf("plan --observed on an unusable reading: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
