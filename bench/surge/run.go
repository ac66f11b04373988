package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-scale/compose-scale/machine"
	"github.com/compose-scale/compose-scale/pgtest"
	"github.com/compose-scale/compose-scale/redistest"
)

// queueResult is one queue's latency from enqueue to start.
type queueResult struct {
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	Jobs  int     `json:"jobs"`
	// Enqueued is how many the load put on the queue; a queue whose jobs
	// did not all run by the end is starved.
	Enqueued int `json:"enqueued"`
}

// layoutResult is one layout's run (the median run when repeated).
type layoutResult struct {
	Name           string                 `json:"name"`
	Processes      int                    `json:"processes"`
	Threads        int                    `json:"threads"`
	Queues         map[string]queueResult `json:"queues"`
	DrainS         float64                `json:"drain_s"` // surge enqueued to its last job done; the timeout when it did not drain
	Drained        bool                   `json:"drained"`
	PeakDBConns    int                    `json:"peak_db_connections"`
	MaxConnections int                    `json:"max_connections"`
	PeakRSSMB      int                    `json:"peak_rss_mb"` // the largest Sidekiq process
	Runs           int                    `json:"runs"`
	CPU            cpuAccount             `json:"cpu"`
}

// cpuAccount is a run's CPU: what the jobs were to spend (the mix's
// cpu_ms, summed), what their threads did spend in the loop (the thread's
// CPU clock), and what the Sidekiq processes spent in all (utime + stime,
// /proc/PID/stat: the jobs' loops plus Sidekiq's own work). A run whose
// jobs spent more than 5% off what they claim measured something else.
type cpuAccount struct {
	NominalS float64 `json:"nominal_s"`
	SpentS   float64 `json:"spent_s"`
	ProcessS float64 `json:"process_s"`
	Valid    bool    `json:"valid"`
}

// cpuTolerance is how far the jobs' spent CPU may be from the nominal.
const cpuTolerance = 0.05

func account(nominalUS, spentUS int64, processS float64) cpuAccount {
	a := cpuAccount{NominalS: float64(nominalUS) / 1e6, SpentS: float64(spentUS) / 1e6, ProcessS: processS}
	a.Valid = a.NominalS > 0 && math.Abs(a.SpentS-a.NominalS) <= cpuTolerance*a.NominalS
	return a
}

// processCPU is the CPU seconds the processes have spent (utime + stime,
// fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s: the
// kernel's USER_HZ on Linux).
func processCPU(procs []*exec.Cmd) float64 {
	var ticks int64
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces.
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + st
		}
	}
	return float64(ticks) / 100
}

// point is default's p99 latency among the jobs that started in one
// second of the run.
type point struct {
	T     float64 `json:"t_s"`
	P99ms float64 `json:"p99_ms"`
}

func run(o options, log io.Writer) (*results, error) {
	ls, err := layouts(o.Root, o.Droplet)
	if err != nil {
		return nil, err
	}
	bin, _, err := pgtest.Binaries()
	if err != nil {
		return nil, err
	}
	r := &results{Machine: hostMachine(), Options: o, Mix: mix, Series: map[string][]point{}, Spread: map[string][]float64{}, Drains: map[string][]float64{}}
	planCPUs, _, err := machine.ParseDroplet(o.Droplet)
	if err != nil {
		return nil, err
	}
	_, tasksetErr := exec.LookPath("taskset")
	r.Cores = coresFor(planCPUs, r.Machine.CPUs, tasksetErr == nil)
	fmt.Fprintf(log, "cores: %s\n", r.Cores.Note)
	for _, l := range ls {
		if o.Only != "" && !strings.Contains(l.Name, o.Only) {
			continue
		}
		var runs []layoutResult
		for i := 0; i < o.Repeat; i++ {
			fmt.Fprintf(log, "%s: run %d of %d (%d processes)\n", l.Name, i+1, o.Repeat, len(l.Processes))
			res, series, err := runLayout(o, bin, l, r.Cores)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", l.Name, err)
			}
			fmt.Fprintf(log, "  default p99 %.0f ms, drain %.1f s (drained %v), peak db connections %d of %d; CPU: jobs %.1f s of a nominal %.1f s (valid %v), Sidekiq %.1f s\n", res.Queues["default"].P99ms, res.DrainS, res.Drained, res.PeakDBConns, res.MaxConnections, res.CPU.SpentS, res.CPU.NominalS, res.CPU.Valid, res.CPU.ProcessS)
			runs = append(runs, res)
			r.Spread[l.Name] = append(r.Spread[l.Name], res.Queues["default"].P99ms)
			r.Drains[l.Name] = append(r.Drains[l.Name], res.DrainS)
			if i == 0 {
				r.Series[l.Name] = series
			}
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].Queues["default"].P99ms < runs[j].Queues["default"].P99ms })
		med := runs[len(runs)/2]
		med.Runs = len(runs)
		r.Layouts = append(r.Layouts, med)
	}
	r.Finished = time.Now().UTC().Format(time.RFC3339)
	return r, nil
}

// runLayout starts fresh servers, the layout's Sidekiq processes, the
// load, and measures until the surge drains or the timeout.
func runLayout(o options, bin string, l layout, c cores) (layoutResult, []point, error) {
	b := &benchRun{o: o, bin: bin, l: l, cores: c, res: layoutResult{Name: l.Name, Processes: len(l.Processes), Queues: map[string]queueResult{}}}
	for _, p := range l.Processes {
		b.res.Threads += concurrency(p.Args)
	}
	defer b.stop()
	for _, step := range []func() error{b.startServers, b.startSidekiq} {
		if err := step(); err != nil {
			return b.res, nil, err
		}
	}
	cpu0 := processCPU(b.procs)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.samplePeaks(ctx)
	}()
	enqueued, err := b.surge(ctx, cancel)
	wg.Wait()
	if err != nil {
		return b.res, nil, err
	}
	nominal, _ := strconv.ParseInt(b.redisCLI("GET", "bench:cpu:nominal_us"), 10, 64)
	spent, _ := strconv.ParseInt(b.redisCLI("GET", "bench:cpu:spent_us"), 10, 64)
	b.res.CPU = account(nominal, spent, processCPU(b.procs)-cpu0)
	series := b.latencies(enqueued)
	return b.res, series, nil
}

// benchRun is one runLayout: the servers and processes it started (each
// stopped at the end), and what it measured.
type benchRun struct {
	o        options
	bin      string
	l        layout
	cores    cores
	res      layoutResult
	pgURL    string
	redisURL string
	redisCLI func(args ...string) string
	procs    []*exec.Cmd
	surgeAt  time.Time
	stops    []func()
}

func (b *benchRun) stop() {
	for _, p := range b.procs {
		p.Process.Kill()
		p.Wait()
	}
	for i := len(b.stops) - 1; i >= 0; i-- {
		b.stops[i]()
	}
}

// startServers starts a Postgres with the layout's settings and a Redis,
// each fresh.
func (b *benchRun) startServers() error {
	c, err := pgtest.NewCluster(b.bin)
	if err != nil {
		return err
	}
	b.stops = append(b.stops, func() { c.Close() })
	pg, err := c.Start(b.l.DBArgs)
	if err != nil {
		return err
	}
	b.stops = append(b.stops, func() { pg.Stop() })
	vals, _, err := pg.Show([]string{"max_connections"})
	if err != nil {
		return err
	}
	b.res.MaxConnections, _ = strconv.Atoi(vals["max_connections"])
	b.pgURL = "postgresql://postgres@127.0.0.1:" + strconv.Itoa(pg.Port()) + "/postgres"

	redisPort, stopRedis, err := startRedis()
	if err != nil {
		return err
	}
	b.stops = append(b.stops, stopRedis)
	b.redisURL = "redis://127.0.0.1:" + strconv.Itoa(redisPort) + "/0"
	b.redisCLI = func(args ...string) string {
		out, _ := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(redisPort), "--raw"}, args...)...).Output()
		return strings.TrimSpace(string(out))
	}
	return nil
}

// startSidekiq starts the layout's processes and waits for every one's
// heartbeat.
func (b *benchRun) startSidekiq() error {
	jobs := filepath.Join(b.o.Root, "bench", "surge", "jobs.rb")
	for _, p := range b.l.Processes {
		cmd := b.cores.sidekiqCommand(append([]string{"-r", jobs}, p.Args...))
		cmd.Env = append(os.Environ(), "REDIS_URL="+b.redisURL, "DB_POOL="+strconv.Itoa(p.Pool), "BENCH_PG="+b.pgURL)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		b.procs = append(b.procs, cmd)
	}
	for i := 0; ; i++ {
		if n, _ := strconv.Atoi(b.redisCLI("SCARD", "processes")); n == len(b.l.Processes) {
			return nil
		}
		if i > 300 {
			return fmt.Errorf("the Sidekiq processes did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// samplePeaks records the peak Postgres client connections and Sidekiq
// RSS until ctx ends.
func (b *benchRun) samplePeaks(ctx context.Context) {
	psql := filepath.Join(filepath.Dir(b.bin+"/"), "psql")
	for ctx.Err() == nil {
		out, err := exec.Command(psql, b.pgURL, "-X", "-A", "-t", "-c", "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").Output()
		if n, err2 := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && err2 == nil && n > b.res.PeakDBConns {
			b.res.PeakDBConns = n
		}
		for _, p := range b.procs {
			if kb := rssKB(p.Process.Pid); int(kb>>10) > b.res.PeakRSSMB {
				b.res.PeakRSSMB = int(kb >> 10)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// surge runs the load (the surge, then the steady stream) and waits until
// the surge drained and every queue is empty, or the timeout; then it
// ends the sampling (cancel). It returns what the load put on each queue.
func (b *benchRun) surge(ctx context.Context, cancel func()) (map[string]int, error) {
	o := b.o
	mixJSON, _ := json.Marshal(mix)
	load := exec.Command("ruby", filepath.Join(o.Root, "bench", "surge", "load.rb"), strconv.Itoa(o.Surge), strconv.FormatFloat(o.Steady, 'f', -1, 64))
	load.Env = append(os.Environ(), "REDIS_URL="+b.redisURL, "MIX="+string(mixJSON))
	out, _ := load.StdoutPipe()
	var loadErr strings.Builder // redis-rb's deprecation chatter; shown when the load fails
	load.Stderr = &loadErr
	if err := load.Start(); err != nil {
		cancel()
		return nil, err
	}
	lines := bufio.NewScanner(out)
	lines.Scan() // "surge enqueued"
	b.surgeAt = time.Now()
	loadDone := make(chan struct{})
	enqueued := map[string]int{}
	go func() {
		for lines.Scan() {
			// The load's last line: what it put on each queue.
			if j, ok := strings.CutPrefix(lines.Text(), "enqueued "); ok {
				json.Unmarshal([]byte(j), &enqueued)
			}
		}
		if err := load.Wait(); err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "load.rb: %v\n%s", err, lastLines(loadErr.String(), 10))
		}
		close(loadDone)
	}()
	finished := b.waitDrain(loadDone)
	time.Sleep(500 * time.Millisecond) // jobs fetched in the last poll record their start
	cancel()
	if !finished {
		load.Process.Kill()
		<-loadDone
	}
	for _, q := range []string{"pull", "ingress"} {
		if enqueued[q] == 0 { // the load was stopped before it said
			enqueued[q] = o.Surge
		}
	}
	return enqueued, nil
}

// waitDrain polls until the surge's jobs are done, the load has finished
// and the queues are empty, or the timeout. It reports whether the load
// finished.
func (b *benchRun) waitDrain(loadDone <-chan struct{}) bool {
	deadline := b.surgeAt.Add(time.Duration(b.o.Timeout * float64(time.Second)))
	b.res.DrainS = b.o.Timeout
	finished := false
	for time.Now().Before(deadline) {
		done := 0
		for _, q := range []string{"pull", "ingress"} {
			n, _ := strconv.Atoi(b.redisCLI("GET", "bench:done:"+q))
			done += n
		}
		if done >= 2*b.o.Surge && !b.res.Drained {
			b.res.Drained, b.res.DrainS = true, time.Since(b.surgeAt).Seconds()
		}
		select {
		case <-loadDone:
			finished = true
		default:
		}
		if b.res.Drained && finished && queuesEmpty(b.redisCLI) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return finished
}

// latencies reads every job's latency: per queue into the result, and
// default's p99 over time as the series.
func (b *benchRun) latencies(enqueued map[string]int) []point {
	lat := map[string][]float64{}
	byTime := map[int][]float64{}
	for _, line := range strings.Split(b.redisCLI("LRANGE", "bench:lat", "0", "-1"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		ms, _ := strconv.ParseFloat(f[1], 64)
		started, _ := strconv.ParseFloat(f[2], 64)
		lat[f[0]] = append(lat[f[0]], ms)
		if f[0] == "default" {
			sec := int(started - float64(b.surgeAt.UnixNano())/1e9)
			byTime[sec] = append(byTime[sec], ms)
		}
	}
	for q := range mix {
		v := lat[q]
		sort.Float64s(v)
		b.res.Queues[q] = queueResult{P50ms: pct(v, 50), P99ms: pct(v, 99), MaxMs: pct(v, 100), Jobs: len(v), Enqueued: enqueued[q]}
	}
	var series []point
	var secs []int
	for s := range byTime {
		secs = append(secs, s)
	}
	sort.Ints(secs)
	for _, s := range secs {
		v := byTime[s]
		sort.Float64s(v)
		series = append(series, point{T: float64(s), P99ms: pct(v, 99)})
	}
	return series
}

func queuesEmpty(redis func(...string) string) bool {
	for q := range mix {
		if n, _ := strconv.Atoi(redis("LLEN", "queue:"+q)); n > 0 {
			return false
		}
	}
	return true
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func concurrency(args []string) int {
	for i, a := range args {
		switch {
		case (a == "-c" || a == "--concurrency") && i+1 < len(args):
			n, _ := strconv.Atoi(args[i+1])
			return n
		case strings.HasPrefix(a, "-c") && len(a) > 2:
			n, _ := strconv.Atoi(a[2:])
			return n
		}
	}
	return 5
}

func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func startRedis() (int, func(), error) {
	dir, err := os.MkdirTemp("", "surge-redis-*")
	if err != nil {
		return 0, nil, err
	}
	srv, err := redistest.Start(dir)
	if err != nil {
		os.RemoveAll(dir)
		return 0, nil, err
	}
	return srv.Port, func() { srv.Stop(); os.RemoveAll(dir) }, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n") + "\n"
}
