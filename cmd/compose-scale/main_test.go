package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/internal/goldentest"

	"github.com/compose-scale/compose-scale/machine"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// run is one in-process CLI run in dir.
type run struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, dir string, getenv map[string]string, args ...string) run {
	t.Helper()
	return runCLITerminal(t, dir, getenv, false, args...)
}

func runCLITerminal(t *testing.T, dir string, getenv map[string]string, terminal bool, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return getenv[k] },
		LookupEnv: func(k string) (string, bool) {
			v, ok := getenv[k]
			return v, ok
		},
		Dir: dir,
		Detect: func() (machine.Measured, error) {
			return machine.Measured{MemoryBytes: 8 << 30, CPUs: 4, Notes: []string{"MemTotal 7957 MB, read as the machine's advertised 8192 MB (the kernel keeps a little for itself)"}}, nil
		},
		IsTerminal: func() bool { return terminal },
	}
	code := Run(append([]string{"compose-scale"}, args...), env)
	return run{code, out.String(), errb.String()}
}

// workdir copies fixtures into a temp dir: name -> fixture file.
func workdir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, fx := range files {
		b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", fx))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, filepath.Join("testdata", name), []byte(got), *update, "go test ./cmd/compose-scale -update")
}

func TestRewriteInPlace(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml", ".env.production": ".env.production"})
	original := readFile(t, filepath.Join(dir, "docker-compose.yml"))

	r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb", "docker-compose.yml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "rewrite-stock-v4.3.stdout", r.stdout)
	golden(t, "rewrite-stock-v4.3.stderr", r.stderr)
	want := readFile(t, filepath.Join("..", "..", "fixtures", "stock-v4.3.s-4vcpu-8gb.golden.yml"))
	if got := readFile(t, filepath.Join(dir, "docker-compose.yml")); got != want {
		t.Error("the written file is not the golden rewrite")
	}
	if got := readFile(t, filepath.Join(dir, "docker-compose.yml.orig")); got != original {
		t.Error("docker-compose.yml.orig is not the original")
	}
	for _, name := range []string{"docker-compose.yml", "docker-compose.yml.orig"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640 kept", name, st.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the directory holds %d files, want 3 (no temp files left): %v", len(entries), entries)
	}

	// The second run changes nothing, prints no diff, keeps .orig.
	r = runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb", "docker-compose.yml")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "already matches") {
		t.Errorf("second run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A resize rewrites again, and .orig still holds the first original.
	r = runCLI(t, dir, nil, "rewrite", "--droplet", "s-8vcpu-16gb", "docker-compose.yml")
	if r.code != 0 || !strings.Contains(r.stdout, "+  sidekiq-default-push-ingress-pull-2:") {
		t.Errorf("resize: exit %d, stdout %q", r.code, r.stdout)
	}
	if got := readFile(t, filepath.Join(dir, "docker-compose.yml.orig")); got != original {
		t.Error("a later rewrite overwrote docker-compose.yml.orig")
	}
}

func TestRewriteDryRunAndOutput(t *testing.T) {
	dir := workdir(t, map[string]string{"compose.yaml": "stock-v3.4.input.yml"})
	original := readFile(t, filepath.Join(dir, "compose.yaml"))
	r := runCLI(t, dir, nil, "rewrite", "--dry-run", "--droplet", "s-4vcpu-8gb") // found as compose.yaml
	if r.code != 0 || !strings.HasPrefix(r.stdout, "--- compose.yaml\n+++ compose.yaml\n") {
		t.Fatalf("dry run: exit %d, stdout %.80q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "compose.yaml")) != original {
		t.Error("--dry-run wrote the file")
	}
	if _, err := os.Stat(filepath.Join(dir, "compose.yaml.orig")); err == nil {
		t.Error("--dry-run kept a .orig")
	}
	r = runCLI(t, dir, nil, "rewrite", "-o", "scaled.yml", "--droplet", "s-4vcpu-8gb", "compose.yaml")
	if r.code != 0 {
		t.Fatalf("-o: exit %d: %s", r.code, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "compose.yaml")) != original {
		t.Error("-o changed the input file")
	}
	want := readFile(t, filepath.Join("..", "..", "fixtures", "stock-v3.4.s-4vcpu-8gb.golden.yml"))
	if readFile(t, filepath.Join(dir, "scaled.yml")) != want {
		t.Error("-o did not write the golden rewrite")
	}
}

func TestPlanReports(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	for _, format := range []string{"text", "markdown", "json"} {
		r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb", "--format", format)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", format, r.code, r.stderr)
		}
		golden(t, "plan-stock-v4.3."+format, r.stdout)
	}
	// Measured machine: the report says so.
	r := runCLI(t, dir, nil, "plan")
	if !strings.Contains(r.stdout, "machine:   4 CPUs, 8 GB (measured)") {
		t.Errorf("measured machine not reported: %s", r.stdout)
	}

	r = runCLI(t, dir, nil, "plan", "--memory", "16GB", "--cpus", "8", "--format", "json", "--report", "plan.json")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("json to --report: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Machine struct {
			MemoryBytes int64 `json:"memory_bytes"`
			CPUs        int   `json:"cpus"`
		} `json:"machine"`
		Postgres struct {
			MaxConnections int `json:"max_connections"`
		} `json:"postgres"`
		Connections struct {
			Total, Limit int
			PgBouncer    *struct {
				Generated      bool
				Clients        int
				Servers        int
				MigrateCommand string `json:"migrate_command"`
			} `json:"pgbouncer"`
		} `json:"connections"`
		Services []struct {
			Service                         string
			Processes, Threads, Connections int
			Queues                          []string
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "plan.json"))), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Machine.MemoryBytes != 16<<30 || rep.Machine.CPUs != 8 {
		t.Errorf("machine %+v", rep.Machine)
	}
	sum, queues := 0, 0
	for _, s := range rep.Services {
		sum += s.Connections
		if s.Connections != s.Processes*s.Threads {
			t.Errorf("%s: %d != %d x %d", s.Service, s.Connections, s.Processes, s.Threads)
		}
		if strings.HasPrefix(s.Service, "sidekiq") {
			queues += len(s.Queues)
			if len(s.Queues) == 0 {
				t.Errorf("%s has no queues in the report", s.Service)
			}
		}
	}
	if sum != rep.Connections.Total || rep.Connections.Total > rep.Connections.Limit {
		t.Errorf("connections do not add up: rows %d, %+v, max %d", sum, rep.Connections, rep.Postgres.MaxConnections)
	}
	// 16 GB / 8 CPUs: the pools this machine can run need PgBouncer, and
	// the report holds both layers.
	b := rep.Connections.PgBouncer
	if b == nil || !b.Generated || b.Clients != sum || b.Servers > rep.Postgres.MaxConnections*9/10 || b.MigrateCommand != "docker compose run --rm migrate" {
		t.Errorf("pgbouncer layer: %+v", b)
	}
}

// Every failure: one line naming the file (and line), the right exit code,
// and the compose file byte for byte as it was.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // name -> content ("@fixture" copies a fixture)
		args  []string
		code  int
		want  string
	}{
		{"missing file", nil, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "nope.yml"}, 1, "compose-scale: nope.yml: no such file"},
		{"no file to find", nil, []string{"plan", "--droplet", "s-4vcpu-8gb"}, 1, "no compose file here"},
		{"directory", map[string]string{"d/x": "x"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "d"}, 1, "d: is a directory"},
		{"broken yaml", map[string]string{"dc.yml": "services:\n  sidekiq:\n    command: [bundle\n  web: x\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "dc.yml:"},
		{"no sidekiq", map[string]string{"dc.yml": "services:\n  db:\n    image: postgres:14\n  web:\n    image: nginx\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "no sidekiq service found (services: db, web)"},
		{"queue typo", map[string]string{"dc.yml": "services:\n  sidekiq:\n    image: ghcr.io/mastodon/mastodon:v4.3.0\n    command: bundle exec sidekiq -q default -q mailer\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, `dc.yml:4: service "sidekiq": sidekiq queue "mailer" does not exist`},
		{"unknown strategy", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"rewrite", "--strategy", "fast", "dc.yml"}, 2, `unknown strategy "fast"`},
		{"bad memory", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"rewrite", "--memory", "8", "dc.yml"}, 2, "--memory"},
		{"unknown droplet", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"plan", "--droplet", "t2.micro", "dc.yml"}, 2, "s-4vcpu-8gb"},
		{"unknown flag", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"rewrite", "--colour", "dc.yml"}, 2, "flag provided but not defined"},
		{"two files", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"rewrite", "dc.yml", "other.yml"}, 2, "takes one compose file"},
		{"too small", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"rewrite", "--droplet", "s-1vcpu-512mb-10gb", "dc.yml"}, 1, "needs at least"},
		{"per-queue does not fit", map[string]string{"dc.yml": "@stock-v4.3.input.yml"}, []string{"rewrite", "--strategy", "per-queue", "--droplet", "s-1vcpu-2gb", "dc.yml"}, 1, "per-queue needs"},
		{"sidekiq command with a config file", map[string]string{"dc.yml": "services:\n  sidekiq:\n    image: ghcr.io/mastodon/mastodon:v4.3.0\n    command: bundle exec sidekiq -C config/sidekiq.yml\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "dc.yml:4: service \"sidekiq\": sidekiq reads its queues from a config file"},
		{"billion laughs", map[string]string{"dc.yml": billionLaughs()}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "dc.yml"},
		{"deep nesting", map[string]string{"dc.yml": "services:\n  a:\n    x: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "dc.yml"},
		{"over 10 MB", map[string]string{"dc.yml": "services: {}\n#" + strings.Repeat("x", 11<<20) + "\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "too big for a compose file"},
		{"not UTF-8", map[string]string{"dc.yml": "services:\n  a:\n    image: \xff\xfe\n"}, []string{"rewrite", "--droplet", "s-4vcpu-8gb", "dc.yml"}, 1, "dc.yml"},
		{"--pgbouncer on with a DATABASE_URL", map[string]string{"docker-compose.yml": "@stock-v4.3.input.yml", ".env.production": "DATABASE_URL=postgresql://mastodon:MARKER-pw@db:5432/mastodon_production\n"},
			[]string{"rewrite", "--droplet", "s-8vcpu-32gb", "--pgbouncer", "on"}, 1, "--pgbouncer on: web reads DATABASE_URL in .env.production"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			before := map[string]string{}
			for name, content := range tc.files {
				if strings.HasPrefix(content, "@") {
					content = readFile(t, filepath.Join("..", "..", "fixtures", content[1:]))
				}
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				before[name] = content
			}
			r := runCLI(t, dir, nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tc.want)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) > 2 || !strings.HasPrefix(lines[0], "compose-scale: ") {
				t.Errorf("want one error line (and at most one hint), got:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "MARKER") {
				t.Errorf("a secret is in the message: %s", r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine") || r.stdout != "" {
				t.Errorf("stdout %q / stderr %q", r.stdout, r.stderr)
			}
			for name, content := range before {
				if got := readFile(t, filepath.Join(dir, name)); got != content {
					t.Errorf("%s changed after a failed run", name)
				}
				if _, err := os.Stat(filepath.Join(dir, name+".orig")); err == nil {
					t.Errorf("%s.orig written by a failed run", name)
				}
			}
		})
	}
}

func TestReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; a read-only bind mount is what stops it,
		// and that needs privileges a test should not take. The write
		// path is the same: CreateTemp fails before anything is touched.
		t.Skip("running as root: directory permissions do not apply")
	}
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	original := readFile(t, filepath.Join(dir, "docker-compose.yml"))
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb", "docker-compose.yml")
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "docker-compose.yml")) != original {
		t.Error("the file changed")
	}
}

// A target that cannot be written fails cleanly, root or not: nothing is
// written, the input is untouched.
func TestUnwritableTarget(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	original := readFile(t, filepath.Join(dir, "docker-compose.yml"))
	for _, target := range []string{"/proc/compose-scale-test.yml", filepath.Join(dir, "no-such-dir", "out.yml")} {
		r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb", "-o", target, "docker-compose.yml")
		if r.code != 1 || !strings.Contains(r.stderr, "nothing was written") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || r.stdout != "" {
			t.Errorf("-o %s: exit %d, stderr %q", target, r.code, r.stderr)
		}
		if readFile(t, filepath.Join(dir, "docker-compose.yml")) != original {
			t.Error("the input changed")
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left behind: %v", entries)
	}
}

func TestComposeFileVariable(t *testing.T) {
	dir := workdir(t, map[string]string{"prod.yml": "stock-v4.3.input.yml", "docker-compose.yml": "stock-v3.4.input.yml"})
	os.WriteFile(filepath.Join(dir, "override.yml"), []byte("services:\n  web:\n    environment:\n      - RAILS_LOG_LEVEL=warn\n"), 0o644)
	r := runCLI(t, dir, map[string]string{"COMPOSE_FILE": "prod.yml:override.yml"}, "plan", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "plan for prod.yml") || !strings.Contains(r.stdout, "v4.3.0") {
		t.Errorf("COMPOSE_FILE not used: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
}

// Secrets from .env.production and from the environment never reach
// stdout, stderr, the written file or a report.
func TestNoSecretsAnywhere(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml", "vars.yml": "vars-v4.3.input.yml", ".env.production": ".env.production"})
	shell := map[string]string{"DB_PASS": "MARKER-SHELL-DB-PASS-4242", "SECRET_KEY_BASE": "MARKER-SHELL-SKB-4343", "MASTODON_VERSION": "MARKER-SHELL-VERSION"}
	// In the real process environment too. The vars fixture's
	// ${MASTODON_VERSION:-...} and ${WEB_BIND:-...} are interpolated with
	// them for reading (as docker compose would: WEB_BIND must be an
	// address it accepts), never for writing.
	for k, v := range shell {
		t.Setenv(k, v)
	}
	t.Setenv("WEB_BIND", "127.0.0.42")
	shell["WEB_BIND"] = "127.0.0.42"
	var outputs []string
	for _, file := range []string{"docker-compose.yml", "vars.yml"} {
		for _, format := range []string{"text", "markdown", "json"} {
			r := runCLI(t, dir, shell, "rewrite", "--droplet", "s-4vcpu-8gb", "--format", format, file)
			if r.code != 0 {
				t.Fatal(r.stderr)
			}
			outputs = append(outputs, r.stdout, r.stderr)
		}
		outputs = append(outputs, readFile(t, filepath.Join(dir, file)))
	}
	markers := []string{"MARKER-SECRET-KEY-BASE-7f3a9c", "MARKER-OTP-SECRET-51d2e8", "MARKER-DB-PASS-0b6e44", "MARKER-DB-POOL-99", "MARKER-VAPID-c0ffee"}
	for _, v := range shell {
		markers = append(markers, v)
	}
	for _, out := range outputs {
		for _, m := range markers {
			if strings.Contains(out, m) {
				t.Errorf("an output holds %s", m)
			}
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	if r := runCLI(t, t.TempDir(), nil, "scale"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "scale": use rewrite, plan, check or observe`) {
		t.Errorf("unknown command: exit %d, %q", r.code, r.stderr)
	}
	r := runCLI(t, t.TempDir(), nil, "rewrite", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "compose-scale rewrite --droplet s-4vcpu-8gb --dry-run") {
		t.Errorf("rewrite --help: exit %d, %s", r.code, r.stdout)
	}
	r = runCLI(t, t.TempDir(), nil, "--version")
	if r.code != 0 || !strings.Contains(r.stdout, "compose-scale version") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}

func TestCheck(t *testing.T) {
	dir := workdir(t, map[string]string{"stock.yml": "stock-v4.3.input.yml", "done.yml": "stock-v4.3.s-4vcpu-8gb.golden.yml"})
	stock, done := readFile(t, filepath.Join(dir, "stock.yml")), readFile(t, filepath.Join(dir, "done.yml"))

	r := runCLI(t, dir, nil, "check", "--droplet", "s-4vcpu-8gb", "done.yml")
	if r.code != 0 || !strings.Contains(r.stdout, "done.yml matches the plan for 4 CPUs, 8 GB") {
		t.Errorf("freshly rewritten: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "check", "--droplet", "s-4vcpu-8gb", "stock.yml")
	if r.code != 1 || !strings.Contains(r.stdout, "service sidekiq-scheduler: missing") || r.stderr != "" {
		t.Errorf("stock: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "check", "--droplet", "s-8vcpu-16gb", "--diff", "done.yml")
	if r.code != 1 || !strings.Contains(r.stdout, "WEB_CONCURRENCY=4, planned 7") || !strings.Contains(r.stdout, "+      -c shared_buffers=2GB") || !strings.Contains(r.stdout, "service pgbouncer: missing (command: umask 077 ...)") {
		t.Errorf("bigger droplet: exit %d, %q", r.code, r.stdout)
	}
	if readFile(t, filepath.Join(dir, "stock.yml")) != stock || readFile(t, filepath.Join(dir, "done.yml")) != done {
		t.Error("check wrote a file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("check left files behind: %v", entries)
	}
	golden(t, "check-stock-v4.3.stdout", runCLI(t, dir, nil, "check", "--droplet", "s-4vcpu-8gb", "stock.yml").stdout)
}

func TestDiffColor(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	for _, tc := range []struct {
		name     string
		terminal bool
		env      map[string]string
		args     []string
		color    bool
	}{
		{"auto on a terminal", true, nil, nil, true},
		{"auto piped", false, nil, nil, false},
		{"auto with NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, nil, false},
		{"always piped", false, nil, []string{"--color", "always"}, true},
		{"never on a terminal", true, nil, []string{"--color", "never"}, false},
	} {
		args := append([]string{"rewrite", "--dry-run", "--droplet", "s-4vcpu-8gb"}, tc.args...)
		r := runCLITerminal(t, dir, tc.env, tc.terminal, args...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d %s", tc.name, r.code, r.stderr)
		}
		// Only the diff is coloured: "+" lines green, "-" lines red.
		if got := strings.Contains(r.stdout, "\x1b[32m+    command: >-"); got != tc.color {
			t.Errorf("%s: coloured %v, want %v", tc.name, got, tc.color)
		}
		if strings.Contains(r.stderr, "\x1b[") {
			t.Errorf("%s: the report is coloured", tc.name)
		}
	}
	if r := runCLI(t, dir, nil, "rewrite", "--dry-run", "--droplet", "s-4vcpu-8gb", "--color", "rainbow"); r.code != 2 {
		t.Errorf("--color rainbow: exit %d", r.code)
	}
}

// Ports made safe and clash-free; the report carries the nginx blocks.
func TestPortsAndNginx(t *testing.T) {
	dir := workdir(t, map[string]string{"clash.yml": "clash-v4.3.input.yml", "ports.yml": "ports-v4.3.input.yml"})
	r := runCLI(t, dir, nil, "plan", "--droplet", "s-8vcpu-16gb", "clash.yml")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	golden(t, "plan-clash-v4.3.text", r.stdout)
	r = runCLI(t, dir, nil, "rewrite", "--dry-run", "--keep-db-port", "--droplet", "s-4vcpu-8gb", "ports.yml")
	if r.code != 0 || !strings.Contains(r.stdout, `+      - "127.0.0.1:5432:5432"   # for pgAdmin on my laptop`) || strings.Contains(r.stdout, "-        published: 6379") {
		t.Errorf("--keep-db-port: exit %d\n%s", r.code, r.stdout)
	}
}

// billionLaughs is a YAML alias bomb: nine levels of ten aliases each.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "x-%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	b.WriteString("services:\n  sidekiq:\n    image: ghcr.io/mastodon/mastodon:v4.3.0\n    command: bundle exec sidekiq\n    labels: *i\n")
	return b.String()
}

// A build-only file (Hometown) takes its version from the source beside it.
func TestVersionFromSource(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "hometown-v4.2.input.yml"})
	// No tag, no source: planned for every version, and says how to narrow it.
	r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "mastodon:  unknown") || !strings.Contains(r.stdout, "--mastodon-version") {
		t.Errorf("no tag, no source: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	os.MkdirAll(filepath.Join(dir, "lib", "mastodon"), 0o755)
	os.WriteFile(filepath.Join(dir, "lib", "mastodon", "version.rb"), []byte("module Mastodon\n  module Version\n    def major\n      4\n    end\n    def minor\n      2\n    end\n    def patch\n      10\n    end\n  end\nend\n"), 0o644)
	r = runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "mastodon:  v4.2.10 (from lib/mastodon/version.rb in the build context)") {
		t.Errorf("with version.rb: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// A compose file and the override docker compose reads beside it: planned
// together, only the file defining sidekiq written, masking edits warned.
func TestOverrideFile(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml", "docker-compose.override.yml": "override-v4.3.override.yml"})
	override := readFile(t, filepath.Join(dir, "docker-compose.override.yml"))
	r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "--- docker-compose.yml\n") || readFile(t, filepath.Join(dir, "docker-compose.override.yml")) != override {
		t.Errorf("wrote the wrong file: %.80q", r.stdout)
	}
	for _, want := range []string{
		"wrote only docker-compose.yml, where the sidekiq service is defined",
		"docker-compose.override.yml:3: docker-compose.override.yml sets DB_POOL for web, which overrides what compose-scale wrote in docker-compose.yml: remove it there",
		"of web is published in docker-compose.override.yml: make this change there by hand",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the report does not say %q:\n%s", want, r.stderr)
		}
	}

	if strings.Contains(r.stderr, "sets ports for web") {
		t.Error("a port in the override was taken to mask the base's (compose adds them up)")
	}

	// An override entry for the sidekiq service the split renames: refused.
	dir = workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	os.WriteFile(filepath.Join(dir, "docker-compose.override.yml"), []byte("services:\n  sidekiq:\n    environment:\n      MALLOC_ARENA_MAX: 2\n"), 0o644)
	before := readFile(t, filepath.Join(dir, "docker-compose.yml"))
	r = runCLI(t, dir, nil, "rewrite", "--droplet", "s-8vcpu-16gb")
	if r.code != 1 || !strings.Contains(r.stderr, "compose-scale: docker-compose.override.yml:2: also defines sidekiq") || readFile(t, filepath.Join(dir, "docker-compose.yml")) != before {
		t.Errorf("override of a renamed service: exit %d, %q", r.code, r.stderr)
	}

	// The override refers to the sidekiq service the split renames.
	dir = workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	os.WriteFile(filepath.Join(dir, "docker-compose.override.yml"), []byte("services:\n  exporter:\n    image: e\n    depends_on: [sidekiq]\n"), 0o644)
	before = readFile(t, filepath.Join(dir, "docker-compose.yml"))
	r = runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb")
	if r.code != 1 || !strings.Contains(r.stderr, "compose-scale: docker-compose.override.yml: it refers to a service the rewrite of docker-compose.yml renames") || strings.Contains(r.stderr, "internal error") || readFile(t, filepath.Join(dir, "docker-compose.yml")) != before {
		t.Errorf("override referring to a renamed service: exit %d, %q", r.code, r.stderr)
	}

	// Sidekiq defined only in the override: that file is written.
	dir = workdir(t, map[string]string{})
	base := readFile(t, filepath.Join("..", "..", "fixtures", "stock-v4.3.input.yml"))
	cut := strings.Index(base, "  sidekiq:")
	end := strings.Index(base, "  ## Uncomment")
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(base[:cut]+base[end:]), 0o644)
	os.WriteFile(filepath.Join(dir, "compose.override.yaml"), []byte("services:\n"+base[cut:end]), 0o644)
	r = runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "--- compose.override.yaml\n") || !strings.Contains(r.stderr, "make this change there by hand") {
		t.Errorf("sidekiq in the override: exit %d\n%.200s\n%s", r.code, r.stdout, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "compose.yaml")) != base[:cut]+base[end:] {
		t.Error("the base file was written")
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "compose.override.yaml")), "sidekiq-scheduler:") {
		t.Error("the override was not rewritten")
	}
}

// Memory estimates are the user's to set, and the plan follows them.
func TestEstimateFlags(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb", "--estimate-sidekiq", "1GB", "--format", "json")
	var rep struct {
		Strategy string
		Memory   struct {
			Sidekiq int64 `json:"sidekiq_process_bytes"`
		}
		Services []struct{ Service string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s %s", err, r.stdout, r.stderr)
	}
	if rep.Memory.Sidekiq != 1<<30 || len(rep.Services) > 2+3 {
		t.Errorf("1 GB sidekiq processes on 8 GB: %d bytes each, %d services (%s)", rep.Memory.Sidekiq, len(rep.Services), rep.Strategy)
	}
	if r := runCLI(t, dir, nil, "plan", "--estimate-puma", "lots"); r.code != 2 {
		t.Errorf("--estimate-puma lots: exit %d", r.code)
	}
}

// The version comes from the sidekiq service's build context when that is
// elsewhere (build: context: ../mastodon).
func TestVersionFromBuildContext(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "deploy")
	os.MkdirAll(filepath.Join(root, "hometown", "lib", "mastodon"), 0o755)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(root, "hometown", "lib", "mastodon", "version.rb"), []byte("def major\n  4\nend\ndef minor\n  3\nend\ndef patch\n  7\nend\n"), 0o644)
	src := strings.ReplaceAll(readFile(t, filepath.Join("..", "..", "fixtures", "hometown-v4.2.input.yml")), "build: .", "build:\n      context: ../hometown")
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(src), 0o644)
	r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "mastodon:  v4.3.7 (from lib/mastodon/version.rb in the build context)") {
		t.Errorf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

// .env beside the compose file is read as docker compose reads it: the
// version behind ${REPO}:${TAG}; --env-file names another; the process
// environment wins over both. Nothing of it is written or printed.
func TestDotEnv(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "envtag-v4.3.input.yml", ".env": "envtag-v4.3.env", "other.env": "envtag-v4.3.env", ".env.production": ".env.production"})
	r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "mastodon:  v4.3.2 (from sidekiq's image ${REPO}:${TAG}, interpolated with .env and the environment)") {
		t.Errorf("with .env: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "not set") {
		t.Errorf("with .env, a variable was reported unset:\n%s", r.stdout)
	}
	// The environment wins over .env.
	r = runCLI(t, dir, map[string]string{"TAG": "v4.4.1"}, "plan", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "mastodon:  v4.4.1") {
		t.Errorf("TAG in the environment: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Without .env: planned for every version, the unset variables named.
	os.Rename(filepath.Join(dir, ".env"), filepath.Join(dir, "moved.env"))
	r = runCLI(t, dir, nil, "rewrite", "--dry-run", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stderr, "mastodon:  unknown") || !strings.Contains(r.stderr, "variables BASE, DB_PASS, HTTP_IP") || !strings.Contains(r.stderr, "variable COMPOSE_PROJECT_NAME is not set") {
		t.Errorf("without .env: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "plan", "--env-file", "other.env", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "mastodon:  v4.3.2") || !strings.Contains(r.stdout, "interpolated with other.env and the environment") {
		t.Errorf("--env-file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "plan", "--env-file", "missing.env", "--droplet", "s-4vcpu-8gb")
	if r.code != 1 || !strings.Contains(r.stderr, "missing.env: cannot read it") {
		t.Errorf("--env-file missing: exit %d, %q", r.code, r.stderr)
	}
	// What docker compose would reject with these values is refused.
	os.WriteFile(filepath.Join(dir, "bad.env"), []byte("COMPOSE_PROJECT_NAME=social\nHTTP_IP=MARKER-BAD-ADDRESS\n"), 0o600)
	r = runCLI(t, dir, nil, "plan", "--env-file", "bad.env", "--droplet", "s-4vcpu-8gb")
	if r.code != 1 || !strings.Contains(r.stderr, "docker compose would reject this file") || strings.Contains(r.stderr, "MARKER") {
		t.Errorf("an address docker compose rejects: exit %d, %q", r.code, r.stderr)
	}
	// --db-service names the database; a name that is no service is refused.
	os.Rename(filepath.Join(dir, "moved.env"), filepath.Join(dir, ".env"))
	r = runCLI(t, dir, nil, "plan", "--db-service", "pg", "--droplet", "s-4vcpu-8gb")
	if r.code != 1 || !strings.Contains(r.stderr, "--db-service pg: no such service") {
		t.Errorf("--db-service pg: exit %d, %q", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "plan", "--db-service", "postgresql", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.Contains(r.stdout, "on postgresql (named with --db-service)") {
		t.Errorf("--db-service postgresql: exit %d, %q", r.code, r.stdout)
	}
}

// --override: the compose file is read, never written; the plan goes into
// the override docker compose reads beside it, created when missing and
// edited in place when present; a re-run writes nothing; check agrees.
func TestOverrideFlag(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	base := readFile(t, filepath.Join(dir, "docker-compose.yml"))
	r := runCLI(t, dir, nil, "rewrite", "--override", "--droplet", "s-4vcpu-8gb")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "--- docker-compose.override.yml\n") || !strings.Contains(r.stderr, "wrote docker-compose.override.yml (new; the compose file itself is not touched)") {
		t.Fatalf("exit %d\n%.300s\n%s", r.code, r.stdout, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "docker-compose.yml")) != base {
		t.Error("the compose file was written")
	}
	if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml.orig")); err == nil {
		t.Error("a .orig was written for an untouched file")
	}
	over := readFile(t, filepath.Join(dir, "docker-compose.override.yml"))
	for _, want := range []string{"  sidekiq:\n    command: bundle exec sidekiq -c 5 -q scheduler", "  sidekiq-default-push-ingress-pull:\n    # written by compose-scale"} {
		if !strings.Contains(over, want) {
			t.Errorf("the override lacks %q", want)
		}
	}
	if r := runCLI(t, dir, nil, "rewrite", "--override", "--droplet", "s-4vcpu-8gb"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "already matches the plan") {
		t.Errorf("re-run: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, dir, nil, "check", "--override", "--droplet", "s-4vcpu-8gb"); r.code != 0 {
		t.Errorf("check: exit %d %q", r.code, r.stdout)
	}
	if r := runCLI(t, dir, nil, "check", "--override", "--droplet", "s-8vcpu-16gb"); r.code != 1 {
		t.Errorf("check on a bigger droplet: exit %d %q", r.code, r.stdout)
	}
}
