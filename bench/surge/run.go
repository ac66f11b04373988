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
	"slices"
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
	Name string `json:"name"`
	// Role is what the layout is: stock, hand (the seeds' recipe), a
	// strategy compose-scale planned (auto, permuted, per-queue,
	// weighted) or the planner's before; Droplet the machine it was planned for
	// ("" for the files that do not depend on it).
	Role           string                 `json:"role"`
	Droplet        string                 `json:"droplet,omitempty"`
	SameAs         []string               `json:"same_as,omitempty"` // other layouts whose file was the same
	Fits           []string               `json:"fits"`              // the droplets whose budget holds it (layout.Fits)
	Cores          string                 `json:"cores"`
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
//
// The rest says where the machine's cores went from the surge to the
// drain, since Postgres, Redis and the load generator share them with
// Sidekiq: Postgres's postmaster and every backend, redis-server, load.rb,
// and what the whole machine was busy (/proc/stat), whose remainder is the
// bench's own polling and the kernel's.
type cpuAccount struct {
	NominalS float64 `json:"nominal_s"`
	SpentS   float64 `json:"spent_s"`
	ProcessS float64 `json:"process_s"`
	Valid    bool    `json:"valid"`

	PostgresS float64 `json:"postgres_s"`
	RedisS    float64 `json:"redis_s"`
	LoadS     float64 `json:"load_s"`
	BusyS     float64 `json:"machine_busy_s"` // every core, every process
	CoresS    float64 `json:"machine_s"`      // the window's wall time x the machine's cores
}

// cpuTolerance is how far the jobs' spent CPU may be from the nominal.
const cpuTolerance = 0.05

func account(nominalUS, spentUS int64, processS float64) cpuAccount {
	a := cpuAccount{NominalS: float64(nominalUS) / 1e6, SpentS: float64(spentUS) / 1e6, ProcessS: processS}
	a.Valid = a.NominalS > 0 && math.Abs(a.SpentS-a.NominalS) <= cpuTolerance*a.NominalS
	return a
}

// cpuReading is one moment's CPU: the Sidekiq processes', Postgres's
// tree's, Redis's, the machine's busy seconds and the wall clock.
type cpuReading struct {
	sidekiq, postgres, redis, busy float64
	at                             time.Time
}

func (b *benchRun) readCPU() cpuReading {
	return cpuReading{sidekiq: processCPU(b.sidekiqPids()), postgres: treeCPU(b.pgPid), redis: treeCPU(b.redisPid), busy: machineBusy(), at: time.Now()}
}

func (b *benchRun) sidekiqPids() []int {
	var pids []int
	for _, p := range b.procs {
		pids = append(pids, p.Process.Pid)
	}
	return pids
}

// accountBetween is the run's account from two readings.
func (b *benchRun) accountBetween(r0, r1 cpuReading) cpuAccount {
	a := account(b.counter("bench:cpu:nominal_us"), b.counter("bench:cpu:spent_us"), r1.sidekiq-r0.sidekiq)
	a.PostgresS, a.RedisS, a.LoadS = r1.postgres-r0.postgres, r1.redis-r0.redis, b.loadCPU
	a.BusyS = r1.busy - r0.busy
	a.CoresS = r1.at.Sub(r0.at).Seconds() * float64(b.cores.MachineCPUs)
	return a
}

// machineBusy is the seconds every core of the machine has been busy
// (/proc/stat's cpu line: user, nice, system, irq, softirq and steal, in
// USER_HZ ticks of 1/100 s).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return float64(ticks) / 100
}

// point is default's p99 latency among the jobs that started in one
// second of the run.
type point struct {
	T     float64 `json:"t_s"`
	P99ms float64 `json:"p99_ms"`
}

// shapeResult is one shape's runs: every layout's median run, and every
// run's default p99 and drain time for the spread.
type shapeResult struct {
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Bursts      []burst              `json:"bursts"`
	Layouts     []layoutResult       `json:"layouts"`
	Series      map[string][]point   `json:"default_latency_series"` // the first run of each layout
	Spread      map[string][]float64 `json:"default_p99_ms_runs"`    // every run's default p99
	Drains      map[string][]float64 `json:"drain_s_runs"`           // every run's drain time
}

func run(o options, log io.Writer) (*results, error) {
	ls, skipped, err := layouts(o.Root, o.Droplets)
	if err != nil {
		return nil, err
	}
	all, err := pickShapes(shapes(o.Size), o.Shapes)
	if err != nil {
		return nil, err
	}
	bin, _, err := pgtest.Binaries()
	if err != nil {
		return nil, err
	}
	r := &results{Machine: hostMachine(), Options: o, Kinds: kinds, Steady: steady, NotPlanned: skipped, Cores: map[string]cores{}}
	_, tasksetErr := exec.LookPath("taskset")
	for _, d := range o.Droplets {
		planCPUs, _, err := machine.ParseDroplet(d)
		if err != nil {
			return nil, err
		}
		r.Cores[d] = coresFor(planCPUs, r.Machine.CPUs, tasksetErr == nil)
		fmt.Fprintf(log, "cores for %s: %s\n", d, r.Cores[d].Note)
	}
	for _, sh := range all {
		sr := shapeResult{Name: sh.Name, Description: sh.Description, Bursts: sh.Bursts, Series: map[string][]point{}, Spread: map[string][]float64{}, Drains: map[string][]float64{}}
		for _, l := range ls {
			if !o.selects(l) {
				continue
			}
			c := r.Cores[l.Droplet]
			if l.Droplet == "" {
				c = r.Cores[o.Droplets[0]]
			}
			med, err := repeatLayout(o, bin, sh, l, c, &sr, log)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %v", sh.Name, l.Name, err)
			}
			sr.Layouts = append(sr.Layouts, med)
		}
		r.Shapes = append(r.Shapes, sr)
	}
	r.Finished = time.Now().UTC().Format(time.RFC3339)
	return r, nil
}

// selects reports whether the run includes l: --only (names or roles,
// separated by ";", as names hold commas) and the quick run's roles.
func (o options) selects(l layout) bool {
	if len(o.Roles) > 0 && !slices.Contains(o.Roles, l.Role) {
		return false
	}
	if o.Only == "" {
		return true
	}
	for _, w := range strings.Split(o.Only, ";") {
		if w == l.Role || strings.Contains(l.Name, w) {
			return true
		}
	}
	return false
}

// repeatLayout runs one layout o.Repeat times on a shape and returns its
// median run by default's p99; every run's figures go to sr.
func repeatLayout(o options, bin string, sh shape, l layout, c cores, sr *shapeResult, log io.Writer) (layoutResult, error) {
	var runs []layoutResult
	for i := 0; i < o.Repeat; i++ {
		fmt.Fprintf(log, "%s, %s: run %d of %d (%d processes)\n", sh.Name, l.Name, i+1, o.Repeat, len(l.Processes))
		res, series, err := runLayout(o, bin, sh, l, c)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(log, "  default p99 %.0f ms, drain %.1f s (drained %v), peak db connections %d of %d; CPU: jobs %.1f s of a nominal %.1f s (valid %v), Sidekiq %.1f s\n", res.Queues["default"].P99ms, res.DrainS, res.Drained, res.PeakDBConns, res.MaxConnections, res.CPU.SpentS, res.CPU.NominalS, res.CPU.Valid, res.CPU.ProcessS)
		runs = append(runs, res)
		sr.Spread[l.Name] = append(sr.Spread[l.Name], res.Queues["default"].P99ms)
		sr.Drains[l.Name] = append(sr.Drains[l.Name], res.DrainS)
		if i == 0 {
			sr.Series[l.Name] = series
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Queues["default"].P99ms < runs[j].Queues["default"].P99ms })
	med := runs[len(runs)/2]
	med.Runs = len(runs)
	// An invalid run anywhere makes the layout's figures suspect.
	for _, x := range runs {
		if !x.CPU.Valid {
			med.CPU.Valid = false
		}
	}
	return med, nil
}

// runLayout starts fresh servers, the layout's Sidekiq processes, the
// shape's load, and measures until the surge drains and every queue has
// run what it was given, or the timeout.
func runLayout(o options, bin string, sh shape, l layout, c cores) (layoutResult, []point, error) {
	kj, err := json.Marshal(sh.kindsFor())
	if err != nil {
		return layoutResult{}, nil, err
	}
	b := &benchRun{o: o, bin: bin, l: l, sh: sh, kinds: string(kj), cores: c, res: layoutResult{Name: l.Name, Role: l.Role, Droplet: l.Droplet, SameAs: l.SameAs, Fits: l.Fits, Cores: c.Note, Processes: len(l.Processes), Queues: map[string]queueResult{}}}
	for _, p := range l.Processes {
		b.res.Threads += concurrency(p.Args)
	}
	defer b.stop()
	for _, step := range []func() error{b.startServers, b.createTable, b.startSidekiq} {
		if err := step(); err != nil {
			return b.res, nil, err
		}
	}
	cpu0 := b.readCPU()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.samplePeaks(ctx)
	}()
	err = b.surge(ctx, cancel)
	wg.Wait()
	if err != nil {
		return b.res, nil, err
	}
	b.res.CPU = b.accountBetween(cpu0, b.drained)
	series := b.latencies()
	return b.res, series, nil
}

// benchRun is one runLayout: the servers and processes it started (each
// stopped at the end), and what it measured.
type benchRun struct {
	o        options
	bin      string
	l        layout
	sh       shape
	kinds    string // BENCH_KINDS
	cores    cores
	res      layoutResult
	pgURL    string
	redisURL string
	redisCLI func(args ...string) string
	procs    []*exec.Cmd
	pgPid    int
	redisPid int
	surgeAt  time.Time
	drained  cpuReading // the CPU when the run ended
	loadCPU  float64    // load.rb's user + system seconds
	stops    []func()
}

func (b *benchRun) counter(key string) int64 { return b.counters(key)[key] }

// counters reads keys in one MGET: the drain poll reads sixteen counters
// five times a second, and a redis-cli process for each took a third of
// a core from the layout it measured.
func (b *benchRun) counters(keys ...string) map[string]int64 {
	vals := strings.Split(b.redisCLI(append([]string{"MGET"}, keys...)...), "\n")
	m := map[string]int64{}
	for i, k := range keys {
		if i < len(vals) {
			m[k], _ = strconv.ParseInt(strings.TrimSpace(vals[i]), 10, 64)
		}
	}
	return m
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
	b.pgPid = pg.Pid()
	vals, _, err := pg.Show([]string{"max_connections"})
	if err != nil {
		return err
	}
	b.res.MaxConnections, _ = strconv.Atoi(vals["max_connections"])
	b.pgURL = "postgresql://postgres@127.0.0.1:" + strconv.Itoa(pg.Port()) + "/postgres"

	redisPort, redisPid, stopRedis, err := startRedis()
	if err != nil {
		return err
	}
	b.stops = append(b.stops, stopRedis)
	b.redisPid = redisPid
	b.redisURL = "redis://127.0.0.1:" + strconv.Itoa(redisPort) + "/0"
	b.redisCLI = func(args ...string) string {
		out, _ := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(redisPort), "--raw"}, args...)...).Output()
		return strings.TrimSpace(string(out))
	}
	return nil
}

// benchTable is the jobs' real database work (jobs.rb's queries): a
// statuses table as Mastodon's is read, by account and newest first, with
// 200,000 rows over 50,000 accounts so the index is used and the inserts
// maintain it.
const benchTable = `CREATE TABLE bench_statuses (id bigserial PRIMARY KEY, account_id bigint NOT NULL, uri text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO bench_statuses (account_id, uri, body) SELECT i % 50000, 'https://example.org/' || i, repeat('x', 400) FROM generate_series(1, 200000) i;
CREATE UNIQUE INDEX ON bench_statuses (uri);
CREATE INDEX ON bench_statuses (account_id, id DESC);
VACUUM ANALYZE bench_statuses;`

func (b *benchRun) createTable() error {
	psql := filepath.Join(b.bin, "psql")
	cmd := exec.Command(psql, b.pgURL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-")
	cmd.Stdin = strings.NewReader(benchTable) // a script: VACUUM may not run in -c's one transaction
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("creating the bench's table: %v: %s", err, out)
	}
	return nil
}

// startSidekiq starts the layout's processes and waits for every one's
// heartbeat.
func (b *benchRun) startSidekiq() error {
	jobs := filepath.Join(b.o.Root, "bench", "surge", "jobs.rb")
	for _, p := range b.l.Processes {
		cmd := b.cores.sidekiqCommand(append([]string{"-r", jobs}, p.Args...))
		cmd.Env = append(os.Environ(), "REDIS_URL="+b.redisURL, "DB_POOL="+strconv.Itoa(p.Pool), "BENCH_PG="+b.pgURL, "BENCH_KINDS="+b.kinds)
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
// RSS until ctx ends, once a second: the pools keep their connections
// once opened, and each psql costs a backend's fork, which the Postgres
// figure would count.
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
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// surge runs the shape's load (its bursts, then the steady stream) and
// waits until the surge drained and every queue ran what it was given, or
// the timeout; then it ends the sampling (cancel).
func (b *benchRun) surge(ctx context.Context, cancel func()) error {
	o := b.o
	shapeJSON, _ := json.Marshal(b.sh)
	steadyJSON, _ := json.Marshal(steady)
	load := exec.Command("ruby", filepath.Join(o.Root, "bench", "surge", "load.rb"), strconv.FormatInt(o.Seed, 10), strconv.FormatFloat(o.Steady, 'f', -1, 64))
	load.Env = append(os.Environ(), "REDIS_URL="+b.redisURL, "SHAPE="+string(shapeJSON), "STEADY="+string(steadyJSON), "BENCH_KINDS="+b.kinds, "BENCH_PG="+b.pgURL)
	out, _ := load.StdoutPipe()
	var loadErr strings.Builder // redis-rb's deprecation chatter; shown when the load fails
	load.Stderr = &loadErr
	if err := load.Start(); err != nil {
		cancel()
		return err
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "surge enqueued" {
		cancel()
		load.Wait()
		return fmt.Errorf("load.rb did not enqueue the surge:\n%s", lastLines(loadErr.String(), 10))
	}
	b.surgeAt = time.Now()
	loadDone := make(chan struct{})
	go func() {
		for lines.Scan() {
		}
		if err := load.Wait(); err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "load.rb: %v\n%s", err, lastLines(loadErr.String(), 10))
		}
		if st := load.ProcessState; st != nil {
			b.loadCPU = (st.UserTime() + st.SystemTime()).Seconds()
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
	b.drained = b.readCPU()
	return nil
}

// waitDrain polls until the surge's jobs, and every job they enqueued,
// are done, the load has finished and every queue ran what it was given,
// or the timeout. It reports whether the load finished.
func (b *benchRun) waitDrain(loadDone <-chan struct{}) bool {
	deadline := b.surgeAt.Add(time.Duration(b.o.Timeout * float64(time.Second)))
	b.res.DrainS = b.o.Timeout
	finished := false
	keys := []string{"bench:surge:enq", "bench:surge:done"}
	for _, q := range queues {
		keys = append(keys, "bench:enq:"+q, "bench:done:"+q)
	}
	for time.Now().Before(deadline) {
		c := b.counters(keys...)
		if enq := c["bench:surge:enq"]; enq > 0 && c["bench:surge:done"] >= enq && !b.res.Drained {
			b.res.Drained, b.res.DrainS = true, time.Since(b.surgeAt).Seconds()
		}
		select {
		case <-loadDone:
			finished = true
		default:
		}
		if b.res.Drained && finished && allRan(c) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return finished
}

// allRan reports whether every queue ran every job put on it, by the
// drain poll's counters.
func allRan(c map[string]int64) bool {
	for _, q := range queues {
		if c["bench:done:"+q] < c["bench:enq:"+q] {
			return false
		}
	}
	return true
}

// latencies reads every job's latency: per queue into the result, and
// default's p99 over time as the series.
func (b *benchRun) latencies() []point {
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
	for _, q := range queues {
		v := lat[q]
		sort.Float64s(v)
		b.res.Queues[q] = queueResult{P50ms: pct(v, 50), P99ms: pct(v, 99), MaxMs: pct(v, 100), Jobs: len(v), Enqueued: int(b.counter("bench:enq:" + q))}
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

func startRedis() (port, pid int, stop func(), err error) {
	dir, err := os.MkdirTemp("", "surge-redis-*")
	if err != nil {
		return 0, 0, nil, err
	}
	srv, err := redistest.Start(dir)
	if err != nil {
		os.RemoveAll(dir)
		return 0, 0, nil, err
	}
	return srv.Port, srv.Pid(), func() { srv.Stop(); os.RemoveAll(dir) }, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n") + "\n"
}
