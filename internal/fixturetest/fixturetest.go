// Package fixturetest reads the repository's fixtures and the services of
// a compose text, for tests of every package: the set-up they all need,
// written once.
package fixturetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-scale/compose-scale/compose"
)

// Dir is the repository's fixtures folder, found from the test's working
// directory (its package folder) by looking upwards for go.mod.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "fixtures")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Read is fixtures/name and its path.
func Read(t testing.TB, name string) (path string, text []byte) {
	t.Helper()
	path = filepath.Join(Dir(t), name)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, text
}

// Services are a compose text's services as compose reads them, in file
// order; a text that does not parse fails the test.
func Services(t testing.TB, text []byte) []compose.Service {
	t.Helper()
	doc, err := compose.Parse("out.yml", text)
	if err != nil {
		t.Fatal(err)
	}
	list, err := doc.Services()
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// ByName are the services by name.
func ByName(t testing.TB, text []byte) map[string]compose.Service {
	t.Helper()
	out := map[string]compose.Service{}
	for _, s := range Services(t, text) {
		out[s.Name] = s
	}
	return out
}
