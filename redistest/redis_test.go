package redistest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-scale/compose-scale/internal/fixturetest/rewritten"

	"github.com/compose-scale/compose-scale/planner"
)

func redisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("COMPOSE_SCALE_REQUIRE_REDIS") != "" {
			t.Fatal("no redis-server (COMPOSE_SCALE_REQUIRE_REDIS is set): install Debian's redis-server")
		}
		t.Skip("no redis-server: install Debian's redis-server to run this test")
	}
	return bin
}

// cacheCommand rewrites the stock file with the cache Redis on for m and
// returns the redis-cache service's command.
func cacheCommand(t *testing.T, m planner.Machine) []string {
	t.Helper()
	s, ok := rewritten.Services(t, "stock-v4.3.input.yml", planner.Input{Machine: m, CacheRedis: planner.ToggleOn}, nil)["redis-cache"]
	if !ok {
		t.Fatal("the rewrite has no redis-cache service")
	}
	return s.Command
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func cli(t *testing.T, port int, args ...string) string {
	t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port), "--no-raw"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// The generated cache Redis, started with exactly its command's flags
// (the test adds only a loopback port and a working directory): CONFIG
// GET returns them; writing well past maxmemory evicts keys and never
// answers OOM; nothing is persisted.
func TestGeneratedCacheRedis(t *testing.T) {
	bin := redisServer(t)
	cmd := cacheCommand(t, planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4})
	if len(cmd) < 2 || cmd[0] != "redis-server" {
		t.Fatalf("command %q", cmd)
	}
	dir := t.TempDir()
	port := freePort(t)
	args := append(append([]string(nil), cmd[1:]...), "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no")
	srv := exec.Command(bin, args...)
	var log bytes.Buffer
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer func() {
		srv.Process.Kill()
		<-done
	}()
	for i := 0; ; i++ {
		if out, err := exec.Command("redis-cli", "-p", strconv.Itoa(port), "ping").Output(); err == nil && strings.TrimSpace(string(out)) == "PONG" {
			break
		}
		if i > 100 {
			t.Fatalf("redis-server did not answer:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	want := map[string]string{}
	for i := 1; i+1 < len(cmd); i += 2 {
		want[strings.TrimPrefix(cmd[i], "--")] = cmd[i+1]
	}
	maxmemory := planner.Machine{MemoryBytes: 8 * planner.GiB}.MemoryBytes / 32
	for name, v := range want {
		got := cli(t, port, "--raw", "CONFIG", "GET", name)
		lines := strings.Split(got, "\n")
		value := ""
		if len(lines) >= 2 {
			value = lines[1]
		}
		if name == "maxmemory" {
			v = strconv.FormatInt(maxmemory, 10) // Redis reports bytes
		}
		if value != v {
			t.Errorf("CONFIG GET %s = %q, the command says %q", name, value, v)
		}
	}

	// Write a quarter more than maxmemory, through the protocol.
	var proto bytes.Buffer
	value := strings.Repeat("x", 64<<10)
	keys := int(maxmemory*5/4) / len(value)
	proto.Grow(keys * (len(value) + 64))
	valueHeader := "$" + strconv.Itoa(len(value)) + "\r\n"
	for i := 0; i < keys; i++ {
		k := "cache:" + strconv.Itoa(i)
		proto.WriteString("*3\r\n$3\r\nSET\r\n$" + strconv.Itoa(len(k)) + "\r\n" + k + "\r\n" + valueHeader)
		proto.WriteString(value)
		proto.WriteString("\r\n")
	}
	pipe := exec.Command("redis-cli", "-p", strconv.Itoa(port), "--pipe")
	pipe.Stdin = &proto
	out, err := pipe.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "errors: 0") {
		t.Fatalf("writing past maxmemory: %v: %s", err, out)
	}
	info := cli(t, port, "--raw", "INFO", "stats") + cli(t, port, "--raw", "INFO", "memory")
	evicted := field(info, "evicted_keys")
	used, _ := strconv.ParseInt(field(info, "used_memory"), 10, 64)
	if n, _ := strconv.Atoi(evicted); n == 0 {
		t.Errorf("wrote %d MB into a %d MB cache and nothing was evicted", keys*len(value)>>20, maxmemory>>20)
	}
	if used > maxmemory+maxmemory/10 {
		t.Errorf("used_memory %d MB, above maxmemory %d MB", used>>20, maxmemory>>20)
	}
	t.Logf("%d keys of 64 kB into maxmemory %d MB: %s evicted, no error, used_memory %d MB", keys, maxmemory>>20, evicted, used>>20)

	// Nothing persisted, even at shutdown.
	exec.Command("redis-cli", "-p", strconv.Itoa(port), "SHUTDOWN").Run()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("redis-server did not shut down")
	}
	done <- nil // for the deferred wait
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("the cache persisted %s", e.Name())
	}
}

func field(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return ""
}
