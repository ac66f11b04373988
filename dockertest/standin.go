// Package dockertest is the one stand-in the tests use: there is no
// docker engine here, so a "docker" script on PATH takes the docker
// compose commands compose-scale runs against a live instance and
// answers them from the real servers the test started (redis-server,
// Postgres) or from the outputs the test gives (ps, stats, images). It
// records every invocation, so that a test checks what an admin would
// have typed.
package dockertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Config is what the stand-in answers with.
type Config struct {
	RedisPort int    // exec SERVICE redis-cli ...: the real redis-cli on this port
	PsqlBin   string // exec SERVICE psql ...: this psql on PGPort over TCP
	PGPort    int
	PS        string // compose ps --format json; "" fails as an engine that is down would
	Stats     string // compose stats --no-stream --format json; likewise
	// Exec answers exec SERVICE CMD... for other commands: "CMD" or
	// "SERVICE CMD" to its output.
	Exec map[string]string
	// Labels answers docker inspect --format '{{json .Config.Labels}}'
	// ID: a container ID (as ps gives it) to its labels as JSON.
	Labels map[string]string
}

// StandIn writes the script into a temp dir put first on PATH, and
// returns the file it records invocations in (one line each).
func StandIn(t *testing.T, c Config) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "invocations")
	answer := func(name, out string) string {
		if out == "" {
			return ""
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ps, stats := answer("ps.out", c.PS), answer("stats.out", c.Stats)
	var inspectCases strings.Builder
	for id, labels := range c.Labels {
		fmt.Fprintf(&inspectCases, "    %s) exec cat %s ;;\n", quote(id), quote(answer("labels-"+id, labels)))
	}
	var execCases strings.Builder
	i := 0
	for k, out := range c.Exec {
		pattern := "*:" + quote(k)
		if svc, cmd, ok := strings.Cut(k, " "); ok {
			pattern = quote(svc) + ":" + quote(cmd)
		}
		fmt.Fprintf(&execCases, "  %s) exec cat %s ;;\n", pattern, quote(answer(fmt.Sprintf("exec%d.out", i), out)))
		i++
	}
	script := `#!/bin/sh
# A stand-in for the docker CLI (there is no docker engine here), written
# by package dockertest: it takes the docker compose commands observe
# runs, records each, and answers from the test's servers and outputs.
printf '%s' "$*" | tr '\n' ' ' >> ` + quote(log) + `; echo >> ` + quote(log) + `
if [ "$1" = inspect ]; then
  [ "$2" = --format ] && [ "$3" = '{{json .Config.Labels}}' ] || { echo "docker stand-in: unexpected: $*" >&2; exit 2; }
  case "$4" in
` + inspectCases.String() + `  esac
  echo "Error: No such object: $4" >&2; exit 1
fi
[ "$1" = compose ] || { echo "docker stand-in: only docker compose and inspect: $*" >&2; exit 2; }
shift
while [ "$1" = -f ]; do shift 2; done
case "$1" in
  ps) [ -n ` + quote(ps) + ` ] && exec cat ` + quote(ps) + `
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;
  stats) [ -n ` + quote(stats) + ` ] && exec cat ` + quote(stats) + `
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;
  exec) shift ;;
  *) echo "docker stand-in: unexpected: $*" >&2; exit 2 ;;
esac
[ "$1" = -T ] || { echo "docker stand-in: exec without -T" >&2; exit 2; }
shift
# docker compose exec -e NAME passes NAME from this environment into the
# container; nothing else of it gets there.
pass_auth= ; pass_pg=
while [ "$1" = -e ]; do
  case "$2" in REDISCLI_AUTH) pass_auth=1 ;; PGPASSWORD) pass_pg=1 ;; esac
  shift 2
done
[ -n "$pass_auth" ] || unset REDISCLI_AUTH
[ -n "$pass_pg" ] || unset PGPASSWORD
service=$1; shift
case "$service:$1" in
` + execCases.String() + `esac
case "$1" in
  redis-cli) [ ` + strconv.Itoa(c.RedisPort) + ` != 0 ] && { shift; exec redis-cli -p ` + strconv.Itoa(c.RedisPort) + ` "$@"; } ;;
  psql) [ -n ` + quote(c.PsqlBin) + ` ] && { shift; exec ` + quote(c.PsqlBin) + ` -h 127.0.0.1 -p ` + strconv.Itoa(c.PGPort) + ` "$@"; } ;;
esac
echo "OCI runtime exec failed: exec: \"$1\": executable file not found in \$PATH: unknown" >&2; exit 126
`
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// Invocations are the recorded command lines, "docker" left off.
func Invocations(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
