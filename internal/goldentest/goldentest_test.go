package goldentest

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	r := &recorder{TB: t}
	Check(r, path, []byte("a\n"), false, "go test -update")
	if !r.failed {
		t.Error("a missing golden passed")
	}
	r = &recorder{TB: t}
	Check(r, path, []byte("a\n"), true, "go test -update")
	if b, _ := os.ReadFile(path); r.failed || string(b) != "a\n" {
		t.Errorf("-update wrote %q (failed %v)", b, r.failed)
	}
	r = &recorder{TB: t}
	Check(r, path, []byte("b\n"), false, "go test -update")
	if !r.failed {
		t.Error("a different output passed")
	}
	r = &recorder{TB: t}
	Check(r, path, []byte("a\n"), false, "go test -update")
	if r.failed {
		t.Error("an equal output failed")
	}
}
