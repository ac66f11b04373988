package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a redis-server this package started on a loopback port.
type Server struct {
	Port int
	cmd  *exec.Cmd
}

// Start runs Debian's redis-server on a free loopback port with dir as its
// directory, never persisting, and returns once it answers PING.
func Start(dir string, args ...string) (*Server, error) {
	for _, b := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("no %s: install Debian's redis-server", b)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no")
	cmd.Args = append(cmd.Args, args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Port: port, cmd: cmd}
	for i := 0; i < 100; i++ {
		// A server with --requirepass answers NOAUTH: it is up.
		if out, _ := exec.Command("redis-cli", "-p", strconv.Itoa(port), "ping").Output(); strings.TrimSpace(string(out)) == "PONG" || strings.HasPrefix(string(out), "NOAUTH") {
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("redis-server on port %d did not answer PING within 5 s", port)
}

// Pid is redis-server's process ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// StartT is Start for a test: the server is stopped at its end, and a
// missing redis-server skips it, or fails it when
// COMPOSE_SCALE_REQUIRE_REDIS is set (CI). It returns the port. args
// go to redis-server (--requirepass PASSWORD).
func StartT(t testing.TB, args ...string) int {
	t.Helper()
	s, err := Start(t.TempDir(), args...)
	if err != nil {
		if strings.HasPrefix(err.Error(), "no ") && os.Getenv("COMPOSE_SCALE_REQUIRE_REDIS") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.Port
}
