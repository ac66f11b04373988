package rewrite

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

var benchMachine = planner.Input{Machine: planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}}

func stockFixture(b *testing.B) []byte {
	b.Helper()
	src, err := os.ReadFile(filepath.Join("..", "fixtures", "stock-v4.3.input.yml"))
	if err != nil {
		b.Fatal(err)
	}
	return src
}

// generated is the stock file with n more services, each publishing a port
// and using list environment: the shape that exercises every pass (ports,
// clash check, environment style) over the whole file.
func generated(b *testing.B, n int) []byte {
	src := string(stockFixture(b))
	var extra strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&extra, "  app-%d:\n    image: nginx:1.27\n    restart: always\n    networks:\n      - external_network\n    ports:\n      - '127.0.0.1:%d:80'\n    environment:\n      - APP_ID=%d\n\n", i, 10000+i, i)
	}
	return []byte(strings.Replace(src, "\nnetworks:\n", "\n"+extra.String()+"networks:\n", 1))
}

// BenchmarkRewriteStock is the whole pipeline on Mastodon's own file: two
// compose-go loads (before and after), the plan and the edits.
func BenchmarkRewriteStock(b *testing.B) {
	src := stockFixture(b)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Rewrite("bench.yml", src, benchMachine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComposeGoLoad is compose-go's own validation of the stock file,
// the floor the rewrite is measured against (it runs twice per rewrite).
func BenchmarkComposeGoLoad(b *testing.B) {
	src := stockFixture(b)
	for b.Loop() {
		if err := compose.Validate("bench.yml", src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteServices grows the file: the cost per service must stay
// flat (no pass quadratic in services or lines).
func BenchmarkRewriteServices(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		src := generated(b, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Rewrite("bench.yml", src, benchMachine); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOwnWorkStock is the stock rewrite without compose-go's two
// loads: what compose-scale itself adds (parse, plan, edits).
func BenchmarkOwnWorkStock(b *testing.B) {
	files := []compose.File{{Path: "bench.yml", Text: stockFixture(b)}}
	for b.Loop() {
		if _, _, err := rewriteFiles(files, nil, nil, benchMachine); err != nil {
			b.Fatal(err)
		}
	}
}
