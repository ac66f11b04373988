package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binaries finds the newest Postgres server install: /usr/lib/postgresql/NN/bin
// (Debian), else initdb on PATH.
func Binaries() (dir string, major int, err error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, majorOf(d), nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		out, err := exec.Command(filepath.Join(d, "postgres"), "--version").Output()
		if err == nil {
			f := strings.Fields(string(out))
			if len(f) > 0 {
				m, _ := strconv.Atoi(strings.SplitN(f[len(f)-1], ".", 2)[0])
				return d, m, nil
			}
		}
	}
	return "", 0, errors.New("no Postgres server binaries: install Debian's postgresql package")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Cluster is a throwaway data directory, owned by the user the server runs
// as (postgres when the tests run as root, which initdb refuses).
type Cluster struct {
	bin  string
	Dir  string
	cred *syscall.Credential
	// Logf, when set, receives what the cluster had to adapt to this
	// machine (a lowered shared_buffers).
	Logf func(format string, args ...any)
}

// NewCluster runs initdb in a new temp directory.
func NewCluster(bin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "compose-scale-pg-*")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, Dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	out, err := c.run(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	if err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return c, nil
}

// Close removes the cluster's directory.
func (c *Cluster) Close() { os.RemoveAll(c.Dir) }

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	return c.command(name, args...).CombinedOutput()
}

// Server is a running postgres.
type Server struct {
	cluster *Cluster
	cmd     *exec.Cmd
	port    int
	socket  string
	log     *bytes.Buffer
	done    chan error
}

// Start runs postgres with args (everything after "postgres" in a db
// command) plus a private port and socket directory on loopback, and waits
// until it takes connections. A server that exits instead is an error with
// its log.
func (c *Cluster) Start(args []string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	socket := filepath.Join(c.Dir, "socket")
	if err := os.MkdirAll(socket, 0o755); err != nil {
		return nil, err
	}
	if c.cred != nil {
		os.Chown(socket, int(c.cred.Uid), int(c.cred.Gid))
	}
	full := append([]string{"-D", filepath.Join(c.Dir, "data")}, args...)
	// Last on the command line, so they win over anything in args.
	full = append(full, "-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port), "-c", "unix_socket_directories="+socket)
	s := &Server{cluster: c, port: port, socket: socket, log: &bytes.Buffer{}, done: make(chan error, 1)}
	s.cmd = c.command(filepath.Join(c.bin, "postgres"), full...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("postgres exited (%v):\n%s", err, s.log.String())
		case <-time.After(200 * time.Millisecond):
		}
		if exec.Command(filepath.Join(c.bin, "pg_isready"), "-h", socket, "-p", strconv.Itoa(port), "-U", "postgres").Run() == nil {
			return s, nil
		}
	}
	s.Stop()
	return nil, fmt.Errorf("postgres did not accept connections within a minute:\n%s", s.log.String())
}

// Port is the loopback port the server listens on.
func (s *Server) Port() int { return s.port }

// Pid is the postmaster's process ID: its backends are its children.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop shuts the server down (fast shutdown) and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Show returns current_setting(name) for each name, as SHOW prints it, and
// the names the server does not know.
func (s *Server) Show(names []string) (values map[string]string, unknown []string, err error) {
	var quoted []string
	for _, n := range names {
		quoted = append(quoted, "'"+strings.ReplaceAll(n, "'", "''")+"'")
	}
	q := "SELECT name, current_setting(name) FROM pg_settings WHERE name IN (" + strings.Join(quoted, ",") + ")"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	psql := filepath.Join(s.cluster.bin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	out, err := exec.CommandContext(ctx, psql, "-X", "-A", "-t", "-F", "\t", "-h", s.socket, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", "postgres", "-c", q).CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("psql: %v: %s", err, out)
	}
	values = map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name, v, ok := strings.Cut(l, "\t"); ok {
			values[name] = v
		}
	}
	for _, n := range names {
		if _, ok := values[n]; !ok {
			unknown = append(unknown, n)
		}
	}
	return values, unknown, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartT is a cluster and a running server for a test, both gone at its
// end: args go to postgres as in Start. A machine without Debian's
// postgresql skips the test, or fails it when
// COMPOSE_SCALE_REQUIRE_POSTGRES is set (CI). It returns the binaries'
// directory, the cluster and the server.
func StartT(t testing.TB, args []string) (bin string, c *Cluster, s *Server) {
	t.Helper()
	bin, _, err := Binaries()
	if err != nil {
		if os.Getenv("COMPOSE_SCALE_REQUIRE_POSTGRES") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if c, err = NewCluster(bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if s, err = c.Start(args); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return bin, c, s
}
