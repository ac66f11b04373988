//go:build unix

package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/rewrite"
)

// -o and --report write through what they name: a FIFO stays a FIFO (its
// reader gets the text), /dev/null stays the device, a symlink stays a
// link with its target written.
func TestOutputPathsWriteThrough(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb", "-o", "out.fifo", "--report", "/dev/null"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	select {
	case out := <-got:
		if !strings.Contains(out, "sidekiq-default-push-ingress-pull:") {
			t.Errorf("the FIFO's reader got %q", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came through the FIFO")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("out.fifo is no longer a FIFO: %v %v", st.Mode(), err)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v", st.Mode())
	}

	// A link, to a file that exists and to one that does not yet.
	for _, pre := range []bool{true, false} {
		real := filepath.Join(dir, "elsewhere", "report.txt")
		os.MkdirAll(filepath.Dir(real), 0o755)
		os.Remove(real)
		if pre {
			os.WriteFile(real, []byte("old"), 0o600)
		}
		link := filepath.Join(dir, "report-link")
		os.Remove(link)
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		if r := runCLI(t, dir, nil, "plan", "--droplet", "s-4vcpu-8gb", "--report", "report-link"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was replaced (existing target %v)", pre)
		}
		if !strings.Contains(readFile(t, real), "compose-scale plan for") {
			t.Errorf("the link's target does not hold the report (existing target %v)", pre)
		}
		if st, _ := os.Stat(real); pre && st.Mode().Perm() != 0o600 {
			t.Errorf("the target's mode became %v", st.Mode().Perm())
		}
	}
}

// A compose file that is a link to a checkout kept elsewhere is written at
// its target; the link stays, and the original is kept beside the name the
// admin uses.
func TestComposeFileLinkIsWrittenAtItsTarget(t *testing.T) {
	dir := workdir(t, map[string]string{"checkout.yml": "stock-v4.3.input.yml"})
	if err := os.Symlink("checkout.yml", filepath.Join(dir, "docker-compose.yml")); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if st, err := os.Lstat(filepath.Join(dir, "docker-compose.yml")); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "checkout.yml")), "sidekiq-default-push-ingress-pull:") {
		t.Error("the target was not rewritten")
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "docker-compose.yml.orig")), "\n  sidekiq:\n") {
		t.Error("no .orig with the original")
	}
}

// A new override is as private as the compose file, and so is .orig.
func TestNewFilesTakeTheComposeFilesMode(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	os.Chmod(filepath.Join(dir, "docker-compose.yml"), 0o600)
	if r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb", "--override"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if st, err := os.Stat(filepath.Join(dir, "docker-compose.override.yml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the override's mode: %v %v", st.Mode().Perm(), err)
	}
	dir = workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	os.Chmod(filepath.Join(dir, "docker-compose.yml"), 0o600)
	if r := runCLI(t, dir, nil, "rewrite", "--droplet", "s-4vcpu-8gb"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if st, err := os.Stat(filepath.Join(dir, "docker-compose.yml.orig")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf(".orig's mode: %v %v", st.Mode().Perm(), err)
	}
}

// A file that changed since it was read is not replaced: of two rewrites
// at once the second refuses, so no plan is lost while both say "wrote".
func TestAFileChangedUnderTheRewriteIsNotReplaced(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	path := filepath.Join(dir, "docker-compose.yml")
	read := readFile(t, path)
	res := &rewrite.Result{Input: []byte(read), Output: []byte(read + "# planned\n")}
	// Meanwhile another compose-scale (or an editor) wrote it.
	os.WriteFile(path, []byte(read+"# theirs\n"), 0o640)
	_, err := commit(composeFile{display: "docker-compose.yml", path: path, mode: 0o640}, res)
	if err == nil || !strings.Contains(err.Error(), "changed while compose-scale was planning") {
		t.Fatalf("got %v", err)
	}
	if got := readFile(t, path); !strings.HasSuffix(got, "# theirs\n") {
		t.Error("the other writer's file was replaced")
	}
	// Unchanged, it is written.
	os.WriteFile(path, []byte(read), 0o640)
	if _, err := commit(composeFile{display: "docker-compose.yml", path: path, mode: 0o640}, res); err != nil || !strings.HasSuffix(readFile(t, path), "# planned\n") {
		t.Errorf("an unchanged file was not written: %v", err)
	}
}

// Inputs that never end are refused at the size limit, not read until
// memory runs out.
func TestEndlessInputs(t *testing.T) {
	dir := workdir(t, map[string]string{"docker-compose.yml": "stock-v4.3.input.yml"})
	for _, args := range [][]string{
		{"plan", "--droplet", "s-4vcpu-8gb", "/dev/zero"},
		{"plan", "--droplet", "s-4vcpu-8gb", "--env-file", "/dev/zero"},
	} {
		r := runCLI(t, dir, nil, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "/dev/zero") || !strings.Contains(r.stderr, "too big") {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
		}
	}
}
