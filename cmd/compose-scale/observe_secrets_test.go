package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/dockertest"
	"github.com/compose-scale/compose-scale/pgtest"
	"github.com/compose-scale/compose-scale/redistest"
)

// secret is the password of both test servers: characters a URL escapes
// (and + , which redis-rb reads as a space and libpq as a plus), and a
// marker no command line may show.
const secret = "MARKER-s3cret/ x:@"

// passwordPostgres is a real Postgres whose postgres role logs in over
// TCP with secret alone (scram-sha-256).
func passwordPostgres(t *testing.T) (bin string, port int) {
	t.Helper()
	bin, c, s := pgtest.StartT(t, nil)
	psql := func(env []string, sql string) ([]byte, error) {
		cmd := exec.Command(filepath.Join(bin, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port()), "-U", "postgres", "-X", "-A", "-t", "-w", "-c", sql)
		cmd.Env = append(os.Environ(), env...)
		return cmd.CombinedOutput()
	}
	lit := "'" + strings.ReplaceAll(secret, "'", "''") + "'"
	if out, err := psql(nil, "ALTER ROLE postgres PASSWORD "+lit); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// The file keeps its owner (the server's user) when rewritten.
	hba := filepath.Join(c.Dir, "data", "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := psql(nil, "SELECT pg_reload_conf()"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := psql(nil, "SELECT 1"); err == nil {
		t.Fatalf("Postgres lets a login without the password in: %s", out)
	}
	return bin, s.Port()
}

// argvRecorders put redis-cli and psql wrappers first on PATH: each
// appends its argv to a log, then runs the real program. Every child
// observe starts goes through them.
func argvRecorders(t *testing.T, psqlBin string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "argv")
	for name, real := range map[string]string{"redis-cli": "", "psql": filepath.Join(psqlBin, "psql")} {
		if real == "" {
			p, err := exec.LookPath(name)
			if err != nil {
				t.Fatal(err)
			}
			real = p
		}
		script := "#!/bin/sh\nprintf '%s\\n' \"$0 $*\" >> '" + log + "'\nexec '" + real + "' \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// A password given with --redis and --database reaches redis-cli and
// psql (the servers require it, and the read succeeds) and appears in
// no child process's argv, where every local user would read it in ps.
func TestObservePasswordsStayOffArgv(t *testing.T) {
	redisPort := redistest.StartT(t, "--requirepass", secret)
	bin, pgPort := passwordPostgres(t)
	// Sidekiq's data, in database 2.
	seed := exec.Command("redis-cli", "-p", strconv.Itoa(redisPort), "-n", "2", "HSET", "h:1:x", "info", `{"hostname":"h","pid":1,"concurrency":5,"queues":["default","push","ingress","pull"]}`, "busy", "1", "rss", "300000")
	seed.Env = append(os.Environ(), "REDISCLI_AUTH="+secret)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	seed = exec.Command("redis-cli", "-p", strconv.Itoa(redisPort), "-n", "2", "SADD", "processes", "h:1:x")
	seed.Env = append(os.Environ(), "REDISCLI_AUTH="+secret)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	docker := dockertest.StandIn(t, dockertest.Config{})
	argv := argvRecorders(t, bin)
	redisURL := fmt.Sprintf("redis://:%s@127.0.0.1:%d/2", url.QueryEscape(secret), redisPort)
	pgURL := (&url.URL{Scheme: "postgresql", User: url.UserPassword("postgres", secret), Host: "127.0.0.1:" + strconv.Itoa(pgPort), Path: "/postgres"}).String()
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.s-4vcpu-8gb.golden.yml"})
	r := runCLI(t, dir, nil, "observe", "--redis", redisURL, "--database", pgURL, "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "client connections of max_connections") || !strings.Contains(r.stdout, "sidekiq-default-push-ingress-pull  default,push,ingress,pull  5        1     292 MB") {
		t.Fatalf("observe with passwords: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := append(dockertest.Invocations(t, argv), dockertest.Invocations(t, docker)...)
	if len(lines) < 3 {
		t.Fatalf("recorded %d command lines, want redis-cli, psql and docker's: %q", len(lines), lines)
	}
	for _, l := range lines {
		for _, form := range []string{"MARKER", url.QueryEscape(secret), url.PathEscape(secret)} {
			if strings.Contains(l, form) {
				t.Errorf("the password is on a command line: %s", l)
			}
		}
	}
	if strings.Contains(r.stdout+r.stderr, "MARKER") {
		t.Errorf("the password is in the output")
	}
}
