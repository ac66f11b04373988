package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/planner"
)

// FuzzRewrite: any input either rewrites to a file compose-go loads, or is
// refused with an error; never a panic, never an edit that breaks the file
// (Rewrite reports those as internal errors).
func FuzzRewrite(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "fixtures", "*.input.yml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(3))
	}
	f.Fuzz(func(t *testing.T, src []byte, size uint8) {
		if len(src) > 64<<10 {
			return
		}
		sizes := []planner.Machine{{MemoryBytes: 1 * planner.GiB, CPUs: 1}, {MemoryBytes: 2 * planner.GiB, CPUs: 2}, {MemoryBytes: 4 * planner.GiB, CPUs: 2}, {MemoryBytes: 8 * planner.GiB, CPUs: 4}, {MemoryBytes: 16 * planner.GiB, CPUs: 8}, {MemoryBytes: 64 * planner.GiB, CPUs: 16}}
		m := sizes[int(size)%len(sizes)]
		res, err := Rewrite("fuzz.yml", src, planner.Input{Machine: m})
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%v\ninput:\n%s", err, src)
			}
			return
		}
		// The output is a file this tool can read and plan again.
		if _, err := Rewrite("fuzz.yml", res.Output, planner.Input{Machine: m}); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("rewriting the output: %v", err)
		}
	})
}
