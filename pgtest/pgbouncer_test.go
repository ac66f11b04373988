package pgtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/internal/fixturetest/rewritten"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// generated rewrites the stock v4.3 file with --pgbouncer on for m and
// returns the services of the output.
func generated(t *testing.T, m planner.Machine, major int) map[string]compose.Service {
	t.Helper()
	return rewritten.Services(t, "stock-v4.3.input.yml", planner.Input{Machine: m, PgBouncer: planner.ToggleOn, CacheRedis: planner.ToggleOn}, withPostgres(major))
}

// bouncer runs the generated PgBouncer service's own script, as its
// container would (compose's $$ unescaped), with Debian's pgbouncer, in
// front of server: the service's environment as written, except the
// addresses (loopback ports instead of the db service and 6432).
type bouncer struct {
	port int
	cmd  *exec.Cmd
	log  *strings.Builder
	done chan error
}

// bouncerBin is Debian's pgbouncer; its absence skips the test (fails it
// under COMPOSE_SCALE_REQUIRE_PGBOUNCER).
func bouncerBin(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("pgbouncer"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer"
	}
	if os.Getenv("COMPOSE_SCALE_REQUIRE_PGBOUNCER") != "" {
		t.Fatalf("no pgbouncer (COMPOSE_SCALE_REQUIRE_PGBOUNCER is set): install Debian's pgbouncer")
	}
	t.Skip("no pgbouncer: install Debian's pgbouncer to run this test")
	return ""
}

// bouncerEnv is the container's environment (env: as docker compose
// gives it) with the addresses moved to loopback: upstream the Postgres
// port instead of db:5432, and a listening port of its own.
func bouncerEnv(env map[string]string, c *Cluster, dir string, upstream, listen int) []string {
	bin := "/usr/sbin/pgbouncer"
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		bin = p
	}
	out := []string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + dir}
	for k, v := range env {
		switch k {
		case "PATH", "HOME", "PGBOUNCER_UPSTREAM_HOST", "PGBOUNCER_UPSTREAM_PORT":
			continue
		}
		out = append(out, k+"="+v)
	}
	return append(out,
		"PGBOUNCER_UPSTREAM_HOST=127.0.0.1", "PGBOUNCER_UPSTREAM_PORT="+strconv.Itoa(upstream),
		"PGBOUNCER_LISTEN_ADDR=127.0.0.1", "PGBOUNCER_LISTEN_PORT="+strconv.Itoa(listen),
		"PGBOUNCER_CONF_DIR="+dir)
}

func startBouncer(t *testing.T, c *Cluster, s *Server, svc compose.Service, dbPass string) *bouncer {
	t.Helper()
	env := map[string]string{}
	for k, v := range svc.Env {
		env[k] = v
	}
	env["DB_USER"], env["DB_PASS"] = "postgres", dbPass
	return startBouncerEnv(t, c, s, svc, env)
}

// startBouncerEnv runs the service's script with env, its container's
// environment.
func startBouncerEnv(t *testing.T, c *Cluster, s *Server, svc compose.Service, env map[string]string) *bouncer {
	t.Helper()
	bouncerBin(t)
	if len(svc.Command) != 1 {
		t.Fatalf("the pgbouncer service's command is %d items, want its one script", len(svc.Command))
	}
	script, ok := (*compose.Vars)(nil).Interpolate(svc.Command[0]) // $$ -> $, as compose does
	if !ok || strings.TrimSpace(script) == "" {
		t.Fatalf("the script does not interpolate: %q", svc.Command[0])
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(c.Dir, "pgbouncer-"+strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if c.cred != nil {
		os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid))
	}
	cmd := exec.Command("/bin/sh", "-ec", script)
	cmd.Env = bouncerEnv(env, c, dir, s.port, port)
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	b := &bouncer{port: port, cmd: cmd, log: &strings.Builder{}, done: make(chan error, 1)}
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return b.log.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-b.done:
			t.Fatalf("pgbouncer exited (%v):\n%s", err, b.log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if exec.Command(filepath.Join(c.bin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(port)).Run() == nil {
			return b
		}
	}
	t.Fatalf("pgbouncer did not take connections:\n%s", b.log.String())
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// psqlAt runs one psql command against host:port as postgres.
func psqlAt(c *Cluster, host string, port int, password, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bin, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", strconv.Itoa(port), "-U", "postgres", "-d", "postgres", "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// session is a psql kept open, fed one statement at a time.
type session struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func openSession(t *testing.T, c *Cluster, host string, port int) *session {
	t.Helper()
	return openSessionAt(t, c, host, port, "postgres", "")
}

// openSessionAt is a psql kept open on host:port as user, with password.
func openSessionAt(t *testing.T, c *Cluster, host string, port int, user, pass string) *session {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, "psql"), "-X", "-A", "-t", "-q", "-h", host, "-p", strconv.Itoa(port), "-U", user, "-d", "postgres")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pass, "PGSSLMODE=disable")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return &session{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

// query sends one statement and reads its one-line answer.
func (s *session) query(t *testing.T, sql string) string {
	t.Helper()
	fmt.Fprintln(s.in, sql)
	line, err := s.out.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(line)
}

// The generated PgBouncer, started with exactly its service's settings in
// front of a Postgres started with the generated db flags, serves more
// concurrent clients than max_connections, each running short
// transactions, while Postgres never sees more client backends than the
// server pool; and an advisory lock held across transactions shows why
// migrations must use the direct port.
func TestGeneratedPgBouncer(t *testing.T) {
	c, major := cluster(t)
	m := planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}
	services := generated(t, m, major)
	db, pgb := services["db"], services["pgbouncer"]
	if len(db.Command) == 0 || pgb.Name == "" {
		t.Fatalf("the rewrite has no db command or no pgbouncer: %v", services)
	}
	s, err := c.Start(db.Command[1:])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	values, _, err := s.Show([]string{"max_connections"})
	if err != nil {
		t.Fatal(err)
	}
	maxConns, _ := strconv.Atoi(values["max_connections"])
	pool, _ := strconv.Atoi(pgb.Env["PGBOUNCER_DEFAULT_POOL_SIZE"])
	reserve, _ := strconv.Atoi(pgb.Env["PGBOUNCER_RESERVE_POOL_SIZE"])
	maxClients, _ := strconv.Atoi(pgb.Env["PGBOUNCER_MAX_CLIENT_CONN"])
	clients := maxConns + 10 // more concurrent sessions than Postgres allows
	if clients > maxClients {
		t.Fatalf("max_client_conn %d cannot hold %d clients", maxClients, clients)
	}
	t.Logf("Postgres max_connections %d; PgBouncer pool %d + %d, max_client_conn %d; %d clients", maxConns, pool, reserve, maxClients, clients)
	b := startBouncer(t, c, s, pgb, "")

	// Postgres's count of client backends, sampled while the clients run.
	stop := make(chan struct{})
	peak := make(chan int, 1)
	go func() {
		most := 0
		for {
			select {
			case <-stop:
				peak <- most
				return
			case <-time.After(20 * time.Millisecond):
			}
			out, err := psqlAt(c, s.socket, s.port, "", "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
			if n, err2 := strconv.Atoi(out); err == nil && err2 == nil && n > most {
				most = n
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One session, three short transactions, held open together
			// with every other client's.
			sql := strings.Repeat("BEGIN; SELECT count(*) FROM pg_class; SELECT pg_sleep(0.05); COMMIT; ", 3)
			if out, err := psqlAt(c, "127.0.0.1", b.port, "", sql); err != nil {
				errs <- fmt.Errorf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	failed := 0
	for err := range errs {
		if failed < 3 {
			t.Error(err)
		}
		failed++
	}
	most := <-peak
	if failed > 0 {
		t.Errorf("%d of %d clients failed", failed, clients)
	}
	if most > pool+reserve {
		t.Errorf("Postgres saw %d client backends, above PgBouncer's server pool %d + %d", most, pool, reserve)
	}
	if most == 0 {
		t.Error("the sampler saw no client backend: the test measured nothing")
	}
	t.Logf("%d clients through PgBouncer, all succeeded; Postgres's client backends peaked at %d (pool %d + %d)", clients, most, pool, reserve)

	// An advisory lock is a session's. Through transaction pooling the
	// session is gone after each transaction: another client lands on the
	// backend that holds it and "acquires" a lock a different client holds.
	// On the direct port, it cannot. Migrations take such locks.
	t.Run("advisory lock", func(t *testing.T) {
		fresh := startBouncer(t, c, s, pgb, "") // one server connection so far
		a := openSession(t, c, "127.0.0.1", fresh.port)
		if got := a.query(t, "SELECT 1 FROM (SELECT pg_advisory_lock(4242)) AS l;"); got != "1" {
			t.Fatalf("lock: %q", got)
		}
		other, err := psqlAt(c, "127.0.0.1", fresh.port, "", "SELECT pg_try_advisory_lock(4242)")
		if err != nil || other != "t" {
			t.Errorf("through PgBouncer another client got %q (%v): want t, the lock is not the session's any more", other, err)
		}
		direct := openSession(t, c, s.socket, s.port)
		if got := direct.query(t, "SELECT 1 FROM (SELECT pg_advisory_lock(4343)) AS l;"); got != "1" {
			t.Fatalf("direct lock: %q", got)
		}
		other, err = psqlAt(c, s.socket, s.port, "", "SELECT pg_try_advisory_lock(4343)")
		if err != nil || other != "f" {
			t.Errorf("on the direct port another client got %q (%v): want f", other, err)
		}
	})

	// With DB_PASS in the env_file, clients must give it (md5); it is
	// read at container start, never written in the compose file.
	t.Run("DB_PASS", func(t *testing.T) {
		withPass := startBouncer(t, c, s, pgb, "MARKER-s3cret")
		if out, err := psqlAt(c, "127.0.0.1", withPass.port, "MARKER-s3cret", "SELECT 1"); err != nil || out != "1" {
			t.Errorf("the right password: %q %v", out, err)
		}
		if out, err := psqlAt(c, "127.0.0.1", withPass.port, "wrong", "SELECT 1"); err == nil {
			t.Errorf("a wrong password was let in: %q", out)
		}
	})
}
