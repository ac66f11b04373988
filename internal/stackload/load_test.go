// Package stackload loads the stack files compose-scale export swarm
// writes (its goldens in cmd/compose-scale/testdata) with the loader
// docker stack deploy uses, github.com/docker/cli's cli/compose/loader:
// the schema it validates, the properties it ignores or calls deprecated.
// It is a module of its own so that the CLI never links docker/cli.
package stackload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/compose/loader"
	composetypes "github.com/docker/cli/cli/compose/types"
)

// load loads a stack file as docker stack deploy -c does (its
// interpolation with env), and returns what the loader would print as
// ignored or deprecated.
func load(t *testing.T, path string, env map[string]string) (*composetypes.Config, []string, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dict, err := loader.ParseYAML(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// Deployed from the folder that holds the admin's env_files.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env.production"), []byte("LOCAL_DOMAIN=example.social\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loader.Load(composetypes.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []composetypes.ConfigFile{{Filename: path, Config: dict}},
		Environment: env,
	})
	if err != nil {
		t.Fatalf("docker stack deploy would refuse %s: %v", path, err)
	}
	var deprecated []string
	for k, v := range loader.GetDeprecatedProperties(dict) {
		deprecated = append(deprecated, k+": "+v)
	}
	return cfg, loader.GetUnsupportedProperties(dict), deprecated
}

func goldens(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "cmd", "compose-scale", "testdata", "export-swarm-*.stack.yml"))
	if len(files) == 0 {
		t.Fatal("no export swarm goldens")
	}
	return files
}

func TestStacksLoad(t *testing.T) {
	for _, g := range goldens(t) {
		t.Run(filepath.Base(g), func(t *testing.T) {
			cfg, unsupported, deprecated := load(t, g, map[string]string{})
			if len(unsupported) > 0 || len(deprecated) > 0 {
				t.Errorf("docker stack deploy would ignore %v and call deprecated %v", unsupported, deprecated)
			}
			schedulers := 0
			for _, s := range cfg.Services {
				d := s.Deploy
				if d.Replicas == nil || d.RestartPolicy == nil || len(d.Placement.Constraints) == 0 || d.UpdateConfig == nil {
					t.Errorf("%s: deploy %+v", s.Name, d)
				}
				if strings.Contains(strings.Join(s.Command, " "), "-q scheduler") {
					schedulers += int(*d.Replicas)
					if d.UpdateConfig.Order != "stop-first" {
						t.Errorf("%s: the scheduler updates %s", s.Name, d.UpdateConfig.Order)
					}
				}
				if strings.Contains(strings.Join(s.Command, " "), "sidekiq") && (d.Resources.Limits == nil || d.Resources.Limits.MemoryBytes == 0 || d.Resources.Reservations == nil) {
					t.Errorf("%s: no memory limit or reservation", s.Name)
				}
				if s.ContainerName != "" || s.Restart != "" {
					t.Errorf("%s: container_name or restart survives", s.Name)
				}
			}
			if schedulers != 1 {
				t.Errorf("%d scheduler tasks", schedulers)
			}
		})
	}
}

// The check is not vacuous: a compose file as compose-scale rewrite writes
// it (build, restart, container_name) is ignored in part by the loader.
func TestLoaderFlagsWhatSwarmIgnores(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.yml")
	os.WriteFile(p, []byte("services:\n  web:\n    image: x\n    build: .\n    restart: always\n    container_name: web\n"), 0o644)
	_, unsupported, _ := load(t, p, nil)
	if len(unsupported) < 2 {
		t.Errorf("unsupported %v", unsupported)
	}
}
