package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// exportCases are the goldens of export helm: the stock file of a release
// and a hand-split file, at 1, 3 and 5 nodes, for each chart.
// A case with a pooler (big nodes: more than 250 connections wanted) also
// writes the pgbouncer chart's values, from the release's values.
var exportCases = []struct {
	fixture string
	nodes   int
	chart   string
	pooler  bool
}{
	{"stock-v4.5", 1, "mastodon", false}, {"stock-v4.5", 3, "mastodon", false}, {"stock-v4.5", 5, "mastodon", false},
	{"handsplit-v3.4", 1, "mastodon", false}, {"handsplit-v3.4", 3, "mastodon", false}, {"handsplit-v3.4", 5, "mastodon", false},
	{"stock-v4.5", 1, "legacy", false}, {"stock-v4.5", 3, "legacy", false}, {"stock-v4.5", 5, "legacy", false},
	{"handsplit-v3.4", 1, "legacy", false}, {"handsplit-v3.4", 3, "legacy", false}, {"handsplit-v3.4", 5, "legacy", false},
	{"stock-v4.5", 5, "mastodon", true}, {"stock-v4.5", 5, "legacy", true},
}

func TestExportHelmGoldens(t *testing.T) {
	for _, tc := range exportCases {
		name := fmt.Sprintf("export-helm-%s-%s-%d", tc.chart, tc.fixture, tc.nodes)
		if tc.pooler {
			name += "-pooler"
		}
		t.Run(name, func(t *testing.T) {
			dir := workdir(t, map[string]string{"docker-compose.yml": tc.fixture + ".input.yml", "current.yaml": "release-values.yaml"})
			args := []string{"export", "helm", "--chart", tc.chart, "--nodes", fmt.Sprint(tc.nodes), "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb", "-o", "values.yaml", "docker-compose.yml"}
			if tc.pooler {
				args = append(args[:len(args)-1], "--node", "s-8vcpu-16gb", "--db-node", "s-8vcpu-32gb", "--values", "current.yaml", "--pgbouncer-values", "pgbouncer.yaml", "--postgres-values", "postgres.yaml", "docker-compose.yml")
			} else {
				args = append(args[:len(args)-1], "--pgbouncer", "off", "docker-compose.yml")
			}
			r := runCLI(t, dir, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			values := readFile(t, filepath.Join(dir, "values.yaml"))
			golden(t, name+".values.yaml", values)
			golden(t, name+".text", r.stdout)
			checkValues(t, values)
			if tc.pooler {
				golden(t, name+".pgbouncer.yaml", readFile(t, filepath.Join(dir, "pgbouncer.yaml")))
				golden(t, name+".postgres.yaml", readFile(t, filepath.Join(dir, "postgres.yaml")))
				checkPostgresPatch(t, readFile(t, filepath.Join(dir, "postgres.yaml")), r.stdout)
				if !strings.Contains(values, "preparedStatements: false") || !strings.Contains(values, "hostname: postgres-rw") {
					t.Errorf("through the pooler: no preparedStatements false or no direct host:\n%s", values)
				}
			}

			// Idempotent: the same inputs give the same bytes.
			again := runCLI(t, dir, nil, args...)
			if again.code != 0 || readFile(t, filepath.Join(dir, "values.yaml")) != values || again.stdout != r.stdout {
				t.Errorf("a second export differs (exit %d)", again.code)
			}
		})
	}
}

// checkValues holds a values file to the rules whatever the chart accepts:
// exactly one worker listens on scheduler, with one replica; no DB_POOL
// for sidekiq; worker names fit the chart's label; every worker complete.
func checkValues(t *testing.T, text string) {
	t.Helper()
	var v struct {
		Mastodon struct {
			Sidekiq struct {
				UpdateStrategy struct{ Type string } `yaml:"updateStrategy"`
				ExtraEnvVars   map[string]string     `yaml:"extraEnvVars"`
				Workers        []struct {
					Name        string
					Replicas    int
					Concurrency int
					Queues      []string
					Resources   map[string]map[string]string
				}
			}
		}
	}
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatal(err)
	}
	sk := v.Mastodon.Sidekiq
	if sk.UpdateStrategy.Type != "Recreate" {
		t.Errorf("sidekiq updateStrategy %q, want Recreate", sk.UpdateStrategy.Type)
	}
	if _, ok := sk.ExtraEnvVars["DB_POOL"]; ok {
		t.Error("DB_POOL in sidekiq.extraEnvVars reaches every worker")
	}
	schedulers := 0
	for _, w := range sk.Workers {
		if len(w.Name) > 55 || w.Name == "" || strings.ToLower(w.Name) != w.Name {
			t.Errorf("worker name %q", w.Name)
		}
		if w.Concurrency < 1 || w.Replicas < 1 || len(w.Queues) == 0 || w.Resources["requests"]["memory"] == "" || w.Resources["limits"]["memory"] == "" {
			t.Errorf("worker %s is incomplete: %+v", w.Name, w)
		}
		for _, q := range w.Queues {
			if strings.SplitN(q, ",", 2)[0] == "scheduler" {
				schedulers++
				if w.Replicas != 1 {
					t.Errorf("the scheduler's worker %s has %d replicas", w.Name, w.Replicas)
				}
			}
		}
	}
	if schedulers != 1 {
		t.Errorf("%d workers listen on scheduler", schedulers)
	}
}

// checkPostgresPatch: every setting the report gives the database node is
// in the CloudNativePG patch as a string, and none is one the operator
// keeps for itself; the pod is Guaranteed (requests equal to limits).
func checkPostgresPatch(t *testing.T, patch, report string) {
	t.Helper()
	var p struct {
		Spec struct {
			Postgresql struct {
				Parameters map[string]any
			}
			Resources struct {
				Requests, Limits map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatal(err)
	}
	params := p.Spec.Postgresql.Parameters
	for _, fixed := range []string{"port", "listen_addresses", "wal_level", "archive_mode", "hot_standby", "shared_preload_libraries", "unix_socket_directories", "ssl"} {
		if _, ok := params[fixed]; ok {
			t.Errorf("CloudNativePG refuses the fixed parameter %s", fixed)
		}
	}
	for k, v := range params {
		s, ok := v.(string)
		if !ok {
			t.Errorf("%s is %T; CloudNativePG takes strings", k, v)
		}
		if !strings.Contains(report, "  "+k+" = "+s+"\n") {
			t.Errorf("%s = %v is not the report's", k, v)
		}
	}
	if len(params) < 10 || p.Spec.Resources.Requests["memory"] != p.Spec.Resources.Limits["memory"] || p.Spec.Resources.Requests["cpu"] != p.Spec.Resources.Limits["cpu"] {
		t.Errorf("patch: %+v", p.Spec)
	}
}

// --values: a release's worker settings that Helm's list replacement
// would drop are written again, and a DB_POOL for every worker is flagged.
func TestExportHelmKeepsReleaseValues(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.5.input.yml"})
	current := `image:
  tag: v4.5.3
mastodon:
  sidekiq:
    extraEnvVars:
      DB_POOL: "25"
    workers:
      - name: all-queues
        concurrency: 25
        nodeSelector:
          pool: workers
        queues: [default]
`
	if err := os.WriteFile(filepath.Join(dir, "current.yaml"), []byte(current), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, nil, "export", "helm", "--values", "current.yaml", "--pgbouncer", "off", "--nodes", "2", "--node", "s-8vcpu-16gb", "--db-node", "s-4vcpu-16gb", "docker-compose.yml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stdout, "pool: workers"); n < 2 {
		t.Errorf("the release's nodeSelector reached %d workers:\n%s", n, r.stdout)
	}
	for _, want := range []string{"Mastodon v4.5.3 (the release's image.tag v4.5.3)", "sets DB_POOL in mastodon.sidekiq.extraEnvVars", "runs Mastodon v4.5.0 and the pods will run v4.5.3"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the report lacks %q:\n%s", want, r.stderr)
		}
	}
}

// check --helm-values audits a release: what the export wrote keeps the
// rules and opens what the export's report counted; a release with a
// typo'd queue, three schedulers and pools past max_connections exits 1
// and names each.
func TestCheckHelmValues(t *testing.T) {
	for _, tc := range exportCases {
		if tc.pooler || tc.chart != "mastodon" {
			continue // through a pooler the pods' pools are its clients
		}
		name := fmt.Sprintf("export-helm-%s-%s-%d", tc.chart, tc.fixture, tc.nodes)
		report := readFile(t, filepath.Join("testdata", name+".text"))
		var pods, surge, migrations, total, limit, max int
		i := strings.Index(report, "  pods ")
		if _, err := fmt.Sscanf(report[i:], "  pods %d + a rolling update's surge pods %d + a migration job %d = %d, the safe limit is %d", &pods, &surge, &migrations, &total, &limit); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		j := strings.Index(report[i:], "of max_connections ")
		fmt.Sscanf(report[i+j:], "of max_connections %d", &max)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "v.yaml"), []byte(readFile(t, filepath.Join("testdata", name+".values.yaml"))), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, dir, nil, "check", "--helm-values", "v.yaml", "--max-connections", fmt.Sprint(max))
		if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("keeps the rules: %d connections", total)) {
			t.Errorf("%s: exit %d, want 0 and the export's %d connections:\n%s%s", name, r.code, total, r.stdout, r.stderr)
		}
	}
	dir := t.TempDir()
	bad := `mastodon:
  sidekiq:
    workers:
      - name: a
        replicas: 2
        concurrency: 25
        queues: ["default,8", "scheduler,1", "pul"]
      - name: b
        concurrency: 25
        queues: [push, mailers, scheduler]
`
	if err := os.WriteFile(filepath.Join(dir, "v.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, nil, "check", "--helm-values", "v.yaml", "--max-connections", "100")
	if r.code != 1 {
		t.Errorf("exit %d, want 1:\n%s", r.code, r.stdout)
	}
	for _, want := range []string{`"pul", which no Mastodon release has (pull?)`, "3 processes listen on scheduler", "nothing listens on fasp, ingress, pull", "above the safe limit 85 of max_connections 100"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the audit lacks %q:\n%s", want, r.stdout)
		}
	}
}

// export swarm: the stock file and a hand split at 1, 3 and 5 nodes;
// each exported twice for idempotence, and loaded with compose-go here
// (docker/cli's stack loader loads them in internal/stackload).
func TestExportSwarmGoldens(t *testing.T) {
	for _, fx := range []string{"stock-v4.5", "handsplit-v3.4", "swarmshapes-v4.5"} {
		for _, nodes := range []int{1, 3, 5} {
			if fx == "swarmshapes-v4.5" && nodes != 3 {
				continue // the shapes stack deploy refuses, once
			}
			name := fmt.Sprintf("export-swarm-%s-%d", fx, nodes)
			t.Run(name, func(t *testing.T) {
				dir := workdir(t, map[string]string{"docker-compose.yml": fx + ".input.yml"})
				args := []string{"export", "swarm", "--nodes", fmt.Sprint(nodes), "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb", "-o", "stack.yml", "docker-compose.yml"}
				r := runCLI(t, dir, nil, args...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				stack := readFile(t, filepath.Join(dir, "stack.yml"))
				golden(t, name+".stack.yml", stack)
				golden(t, name+".text", r.stdout)
				if m := regexp.MustCompile(`(?m)^(\s+(container_name|restart|shm_size|build|scale)|\s+condition: service_\w+|name):`).FindString(stack); m != "" {
					t.Errorf("%q survives in the stack", m)
				}
				if again := runCLI(t, dir, nil, args...); again.code != 0 || readFile(t, filepath.Join(dir, "stack.yml")) != stack {
					t.Error("a second export differs")
				}
				// check --swarm gives the plan's budget.
				var pods, surge, migrations, total int
				i := strings.Index(r.stdout, "  pods ")
				fmt.Sscanf(r.stdout[i:], "  pods %d + a rolling update's surge pods %d + a migration job %d = %d", &pods, &surge, &migrations, &total)
				a := runCLI(t, dir, nil, "check", "--swarm", "stack.yml")
				if a.code != 0 || !strings.Contains(a.stdout, fmt.Sprintf("keeps the rules: %d connections", total)) {
					t.Errorf("check --swarm: exit %d, want 0 and the export's %d connections:\n%s%s", a.code, total, a.stdout, a.stderr)
				}
			})
		}
	}
}

// The cluster report in markdown and JSON says what the text says.
func TestExportReportFormats(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.5.input.yml"})
	base := []string{"export", "helm", "--pgbouncer", "off", "--nodes", "3", "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb", "-o", "values.yaml"}
	r := runCLI(t, dir, nil, append(base, "--format", "json", "docker-compose.yml")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var j struct {
		Nodes       int `json:"nodes"`
		Connections struct {
			Pods, Surge, Migrations, Total, Limit int
		} `json:"connections"`
		Workers []struct {
			Name     string
			Replicas int
		} `json:"sidekiq_workers"`
		Packing []struct{ Pods []string } `json:"packing"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	c := j.Connections
	if j.Nodes != 3 || len(j.Packing) != 3 || len(j.Workers) == 0 || c.Total != c.Pods+c.Surge+c.Migrations || c.Total > c.Limit {
		t.Errorf("json report: %+v", j)
	}
	md := runCLI(t, dir, nil, append(base, "--format", "markdown", "docker-compose.yml")...)
	for _, want := range []string{"### compose-scale export", "| DEPLOYMENT |", "**per-node packing**", fmt.Sprintf("= %d, the safe limit is %d", c.Total, c.Limit)} {
		if !strings.Contains(md.stdout, want) {
			t.Errorf("markdown report lacks %q:\n%s", want, md.stdout)
		}
	}
}

// Before 4.3 a Sidekiq process's pool is not its concurrency, and the
// chart has no per-worker DB_POOL: the export refuses, and says why.
func TestExportHelmRefusesPoolsItCannotSet(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.5.input.yml"})
	r := runCLI(t, dir, nil, "export", "helm", "--chart", "legacy", "--mastodon-version", "v4.2.10", "--pgbouncer", "off", "--nodes", "2", "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb", "docker-compose.yml")
	if r.code != 1 || !strings.Contains(r.stderr, "sets no DB_POOL per worker") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

// The override docker compose reads beside the file is read too: what it
// changes is what the export plans from; a stack is one file, so export
// swarm asks for the two merged.
func TestExportReadsTheOverride(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.5.input.yml"})
	over := "services:\n  sidekiq:\n    image: ghcr.io/mastodon/mastodon:v4.5.2\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.override.yml"), []byte(over), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, nil, "export", "helm", "--pgbouncer", "off", "--mastodon-version", "v4.5.2", "--nodes", "2", "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb")
	if r.code != 0 || strings.Contains(r.stderr, "also an upgrade") {
		t.Errorf("the override's v4.5.2 was not read (exit %d):\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "export", "swarm", "--nodes", "2", "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb")
	if r.code != 1 || !strings.Contains(r.stderr, "merge them first") {
		t.Errorf("export swarm with an override: exit %d %s", r.code, r.stderr)
	}
}

// Bad input to an export: one line that says where, exit 1.
func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "broken.yml"), []byte("services:\n  web: [\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "nosidekiq.yml"), []byte("services:\n  web:\n    image: ghcr.io/mastodon/mastodon:v4.3.0\n    command: bundle exec puma\n"), 0o644)
	for _, tc := range []struct{ target, file, want string }{
		{"helm", "broken.yml", "broken.yml:3: invalid YAML"},
		{"swarm", "nosidekiq.yml", "nosidekiq.yml: no sidekiq service found"},
		{"helm", "missing.yml", "missing.yml: no such file"},
	} {
		r := runCLI(t, dir, nil, "export", tc.target, "--nodes", "2", "--node", "s-4vcpu-8gb", "--db-node", "s-4vcpu-16gb", tc.file)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("export %s %s: exit %d %q, want 1 and %q", tc.target, tc.file, r.code, r.stderr, tc.want)
		}
	}
}
