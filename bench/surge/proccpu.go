package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat is what /proc/PID/stat says of a process's CPU, in clock ticks
// of 1/100 s (the kernel's USER_HZ on Linux): its own utime + stime
// (fields 14 and 15), what its children it has waited for spent (cutime
// + cstime, 16 and 17), and its parent (4).
type procStat struct {
	self, reaped int64
	ppid         int
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	// The command name is in parentheses and may hold spaces.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest) // f[0] is field 3, the state
	if len(f) < 15 {
		return procStat{}, false
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return procStat{self: n(11) + n(12), reaped: n(13) + n(14), ppid: int(n(1))}, true
}

// processCPU is the CPU seconds the processes have spent themselves: the
// Sidekiq processes, whose threads are the jobs.
func processCPU(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		if s, ok := readStat(pid); ok {
			ticks += s.self
		}
	}
	return float64(ticks) / 100
}

// treeCPU is the CPU seconds a process and every descendant have spent:
// its own, its reaped children's, and its live descendants'. Postgres is
// a postmaster and one forked backend a connection, so the backends'
// work (the jobs' queries) is only in the tree. A delta of two readings
// is right however many children exited between them: a child's time
// moves from live to reaped, and the kernel adds it to cutime whole.
func treeCPU(root int) float64 {
	children := map[int][]int{}
	stats := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if s, ok := readStat(pid); ok {
			stats[pid] = s
			children[s.ppid] = append(children[s.ppid], pid)
		}
	}
	var ticks int64
	var walk func(pid int)
	walk = func(pid int) {
		s, ok := stats[pid]
		if !ok {
			return
		}
		ticks += s.self + s.reaped
		for _, c := range children[pid] {
			walk(c)
		}
	}
	walk(root)
	return float64(ticks) / 100
}
