package architecture

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/compose-scale/compose-scale/"

// rules are docs/architecture.md's: for each package, the imports it must
// not have (a prefix matches a path and everything under it).
var rules = map[string][]string{
	// The decisions: facts in, a plan out. No files, no YAML, no
	// processes, no writers.
	"planner": {"os", "os/exec", "io/fs", "net", "go.yaml.in/yaml", "gopkg.in/yaml", "github.com/compose-spec", module + "compose", module + "rewrite", module + "report", module + "observe", module + "machine", module + "cmd"},
	// YAML and the compose format, nothing of Mastodon.
	"compose": {module + "planner", module + "rewrite", module + "report", module + "observe", module + "cmd"},
	// Reads a live instance and hands facts on; it never plans.
	"observe": {module + "planner", module + "rewrite", module + "report", module + "cmd"},
	// Renderers: each renders the plan, none uses another.
	"rewrite": {module + "report", module + "helm", module + "observe", module + "cmd", "os", "os/exec"},
	"report":  {module + "rewrite", module + "helm", module + "compose", module + "cmd", "os", "os/exec"},
	// The Helm values renderer: the cluster plan in, a values file out;
	// nothing of compose files.
	"helm": {module + "rewrite", module + "report", module + "compose", module + "observe", module + "cmd", "os", "os/exec"},
	// The machine's size: no plan.
	"machine": {module + "planner", module + "compose", module + "rewrite", module + "report", module + "observe"},
}

// within are planner's independent parts: the only packages of this
// module each may import (planner's own rules hold for them too).
var within = map[string][]string{
	// PGTune's arithmetic: nothing of this module, Mastodon's rules
	// included.
	"planner/pgtune": {},
	// Sidekiq's command line: nothing of Mastodon.
	"planner/sidekiq": {module + "internal/shellwords"},
	// Mastodon's releases and queues: Sidekiq's queue type, nothing of
	// plans.
	"planner/mastodon": {module + "planner/sidekiq"},
}

// imports are the packages the non-test Go files in dir import.
func imports(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{} // import path -> file
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[p] = filepath.Base(f)
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	root := filepath.Join("..", "..")
	for pkg, banned := range rules {
		dirs := []string{filepath.Join(root, pkg)}
		// Sub-packages follow their parent's rules (planner/pgtune too).
		filepath.WalkDir(filepath.Join(root, pkg), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != dirs[0] && d.Name() != "testdata" {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, dir := range dirs {
			for imp, file := range imports(t, dir) {
				for _, b := range banned {
					if imp == b || strings.HasPrefix(imp, b+"/") || strings.HasPrefix(b, module) && strings.HasPrefix(imp, b) {
						t.Errorf("%s/%s imports %s, which docs/architecture.md says %s must not", dir, file, imp, pkg)
					}
				}
			}
		}
	}
}

func TestIndependentParts(t *testing.T) {
	root := filepath.Join("..", "..")
	for pkg, allowed := range within {
		for imp, file := range imports(t, filepath.Join(root, pkg)) {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || imp == a
			}
			if !ok {
				t.Errorf("%s/%s imports %s: docs/architecture.md lets it import only %v of this module", pkg, file, imp, allowed)
			}
		}
	}
}

// The rule is not vacuous: a file that breaks it is caught.
func TestImportRulesCatch(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.go"), []byte("package planner\n\nimport (\n\t\"os\"\n\t\""+module+"compose\"\n)\n\nvar _ = os.Args\n"), 0o644)
	got := imports(t, dir)
	if got["os"] == "" || got[module+"compose"] == "" {
		t.Fatalf("imports read %v", got)
	}
}
