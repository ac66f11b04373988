package pgtest

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/internal/fixturetest/rewritten"

	"github.com/compose-scale/compose-scale/planner"
)

// cluster gives the test a fresh initdb'd cluster, or skips (fails under
// COMPOSE_SCALE_REQUIRE_POSTGRES=1) when there is no Postgres.
func cluster(t *testing.T) (*Cluster, int) {
	t.Helper()
	bin, major, err := Binaries()
	if err != nil {
		if os.Getenv("COMPOSE_SCALE_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%v (COMPOSE_SCALE_REQUIRE_POSTGRES is set)", err)
		}
		t.Skipf("%v: skipping the real-Postgres tests", err)
	}
	c, err := NewCluster(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Logf = t.Logf
	t.Logf("Postgres %d from %s", major, bin)
	return c, major
}

// dbArgs rewrites the stock v4.x fixture for a machine and returns the db
// service's command after "postgres", with the image's major version forced
// to major so the tool targets the server at hand.
func dbArgs(t *testing.T, m planner.Machine, major int) []string {
	t.Helper()
	s, ok := rewritten.Services(t, "stock-v4.3.input.yml", planner.Input{Machine: m}, withPostgres(major))["db"]
	if !ok {
		t.Fatal("no db service in the rewrite")
	}
	if len(s.Command) == 0 || s.Command[0] != "postgres" {
		t.Fatalf("db command %q does not start with postgres", s.Command)
	}
	return s.Command[1:]
}

// withPostgres makes the stock file's Postgres image the given major.
func withPostgres(major int) func(string) string {
	return func(src string) string {
		return strings.Replace(src, "image: postgres:14-alpine", "image: postgres:"+strconv.Itoa(major)+"-alpine", 1)
	}
}

// Every db command of the grid starts a real server with exactly its
// settings.
func TestGeneratedCommandsStartPostgres(t *testing.T) {
	c, major := cluster(t)
	for _, m := range []planner.Machine{
		{MemoryBytes: 1 * planner.GiB, CPUs: 1},
		{MemoryBytes: 2 * planner.GiB, CPUs: 2},
		{MemoryBytes: 8 * planner.GiB, CPUs: 4},
		{MemoryBytes: 32 * planner.GiB, CPUs: 8},
		{MemoryBytes: 64 * planner.GiB, CPUs: 16},
	} {
		if testing.Short() && m.CPUs != 1 && m.CPUs != 16 {
			continue // go test -short: the smallest and the largest; CI starts all five
		}
		name := planner.FormatBytes(m.MemoryBytes) + "/" + strconv.Itoa(m.CPUs) + "cpu"
		t.Run(strings.ReplaceAll(name, " ", ""), func(t *testing.T) {
			args := dbArgs(t, m, major)
			settings, err := Settings(args)
			if err != nil {
				t.Fatal(err)
			}
			if len(settings) < 15 {
				t.Fatalf("only %d settings in %q", len(settings), args)
			}
			problems := Verify(c, args)
			for _, p := range problems {
				t.Error(p)
			}
			if len(problems) == 0 {
				t.Logf("%d settings hold as written: %s", len(settings), strings.Join(args, " "))
			}
		})
	}
}

// The version table in the planner agrees with the server: every setting
// the tool can write for a newer Postgres either exists here or is marked
// as newer than this server.
func TestSettingSinceMatchesServer(t *testing.T) {
	c, major := cluster(t)
	s, err := c.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	var names []string
	for n := range planner.SettingSince {
		names = append(names, n)
	}
	sort.Strings(names)
	_, unknown, err := s.Show(names)
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	for _, n := range unknown {
		missing[n] = true
		t.Logf("Postgres %d does not know %s (the tool writes it from Postgres %d)", major, n, planner.SettingSince[n])
	}
	for _, n := range names {
		since := planner.SettingSince[n]
		switch {
		case missing[n] && since <= major:
			t.Errorf("%s: the table says Postgres %d has it, but this Postgres %d does not: the tool would write a flag that stops the server", n, since, major)
		case !missing[n] && since > major:
			t.Errorf("%s: the table says it arrives in Postgres %d, but this Postgres %d already has it", n, since, major)
		}
	}
}

// A test of the test: broken flags make Verify fail.
func TestVerifyCatchesBrokenFlags(t *testing.T) {
	c, _ := cluster(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bare number below the minimum", []string{"-c", "shared_buffers=2"}, "postgres exited"},
		{"unknown setting", []string{"-c", "no_such_setting=1"}, "postgres exited"},
		{"bare number read in another unit", []string{"-c", "work_mem=6393"}, `written "6393", the server holds "6393kB"`},
		{"value the server rounds", []string{"-c", "wal_buffers=1612kB"}, "wal_buffers: written"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := Verify(c, tc.args)
			if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Errorf("Verify(%q) = %q, want a problem containing %q", tc.args, problems, tc.want)
			}
		})
	}
}

func TestHalveSharedBuffers(t *testing.T) {
	args := []string{"-c", "shared_buffers=8GB", "-c", "work_mem=4MB"}
	settings, _ := Settings(args)
	got, gs, ok := halveSharedBuffers(args, settings)
	if !ok || strings.Join(got, " ") != "-c shared_buffers=4096MB -c work_mem=4MB" || value(gs, "shared_buffers") != "4096MB" {
		t.Errorf("got %q %v", got, gs)
	}
	if _, _, ok := halveSharedBuffers([]string{"-c", "shared_buffers=128MB"}, []Setting{{"shared_buffers", "128MB"}}); ok {
		t.Error("lowered below 128MB")
	}
}
