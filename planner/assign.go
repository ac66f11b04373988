package planner

import (
	"fmt"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

const (
	webThreads = 5 // Puma threads per process: Mastodon's default, right for Ruby's GVL
	// minWorkerThreads is the fewest threads a worker is planned with when
	// the connection budget decides how many workers there are: below this a
	// process costs more memory than its threads earn.
	minWorkerThreads = 10
	// Postgres: keep total pools at or below 90% of max_connections and
	// leave at least 15 loose (for psql, migrations, backups and
	// monitoring); never plan past 250 without
	// PgBouncer.
	maxPlannedConnections = 250
	looseConnections      = 15
	superuserReserved     = 3
	// postgresDefaultConnections is Postgres's own max_connections: the
	// limit of a database nobody told compose-scale about.
	postgresDefaultConnections = 100
	// workersPerCore is the most worker processes a CPU gets: a second
	// one only where each can have the full thread cap (see afford).
	workersPerCore = 2
)

// usable is the most connections the pools may hold under max_connections m.
func usable(m int) int { return min(m*usablePercent/100, m-looseConnections) }

// SafeLimit is the most connections the pools may hold against
// max_connections m.
func SafeLimit(m int) int { return usable(m) }

// usablePercent is the share of max_connections the pools may hold.
const usablePercent = 90

// LimitRule says how the safe connection limit is made from
// max_connections, for a report to print beside the numbers.
var LimitRule = fmt.Sprintf("at most %d%% of max_connections, at least %d left loose", usablePercent, looseConnections)

// connectionBudget is the split of usable connections before sidekiq's layout.
type connectionBudget struct {
	limit, web, streamPool, streaming int
	sidekiq                           int // threads, not connections: see poolsPerProcess
}

func (p *planning) connectionBudget(in Input, sz *sizing, hasWeb, hasStreaming bool) (connectionBudget, error) {
	var b connectionBudget
	if via := p.throughBouncer(); via {
		// The pools are PgBouncer's clients: its client limit bounds
		// them, not Postgres's (budgeted on the server side).
		b.limit = bouncerClientLimit(p.bouncer.maxClientConn)
		if p.bouncer.generated {
			// Its client limit follows the plan: memory, CPUs and the
			// thread cap bound the pools, not connections.
			b.limit = 1 << 20
		}
		// What the machine would run if the bouncer did not bound it:
		// workers by memory and CPUs at the thread cap, plus the small
		// processes, web and streaming.
		p.wantedClients = p.wantedConnections(*sz)
	} else if in.MaxConnections > 0 {
		if in.MaxConnections <= looseConnections+superuserReserved {
			return b, fmt.Errorf("--max-connections %d is too low: Postgres keeps %d for superusers and the plan leaves %d loose for migrations and psql", in.MaxConnections, superuserReserved, looseConnections)
		}
		b.limit = usable(in.MaxConnections)
		if in.MaxConnections > maxPlannedConnections {
			p.Warnings = append(p.Warnings, fmt.Sprintf("max_connections %d is above %d: each connection costs Postgres memory and contention; put PgBouncer (transaction mode) in front instead", in.MaxConnections, maxPlannedConnections))
		}
	} else if !p.hasDB {
		// Nobody said what the server allows: plan within Postgres's
		// own default, never past a limit nobody stated.
		b.limit = usable(postgresDefaultConnections)
	} else {
		b.limit = min(usable(maxPlannedConnections), sz.connsByMemory)
	}
	b.limit -= in.ReservedConnections
	// Puma takes at most a third of the connections: sidekiq is what
	// falls behind in a surge (bench/surge), not web.
	f := p.RailsPools
	if byConns := max(1, b.limit/3/webThreads/f); sz.webProcs > byConns {
		sz.webProcs = byConns
	}
	if hasWeb {
		b.web = sz.webProcs * webThreads * f
	}
	b.streamPool = 10
	if b.limit < 60 && p.Version.AtLeast(4, 1) {
		b.streamPool = 5
	}
	if hasStreaming {
		b.streaming = sz.streamProcs * b.streamPool
	}
	if in.MaxConnections == 0 && p.hasDB && !p.throughBouncer() {
		// Postgres's memory is a soft bound: below one small sidekiq
		// process it only warns (see budget).
		b.limit = max(b.limit, b.web+b.streaming+smallConcurrency*f)
	}
	// b.sidekiq counts threads: where each process opens two pools
	// (poolsPerProcess), a thread costs two connections.
	b.sidekiq = (b.limit - b.web - b.streaming) / f
	if b.sidekiq < 2 {
		need := b.web + b.streaming + 2
		return b, fmt.Errorf("max_connections %d leaves %d connections for sidekiq after web (%d) and streaming (%d): raise --max-connections to at least %d", in.MaxConnections, max(b.sidekiq, 0), b.web, b.streaming, max((need*10+8)/9, need+looseConnections))
	}
	return b, nil
}

// layout decides the sidekiq processes: which services, which queues.
func (p *planning) layout(strategy Strategy, existing []existingProcess, sz sizing, cb connectionBudget) ([]Process, error) {
	v := p.Version
	smalls := smallProcesses(v)
	// Workers the machine affords: one a core (a Ruby process uses one
	// core at most), by memory, and by connections at minWorkerThreads
	// each. Then a second a core where memory holds it and the
	// connections give every worker the full thread cap: a surge's jobs
	// mostly wait on other servers, so past the cap more threads are more
	// processes, and on 2 cores the second drains a surge 7-37% sooner
	// with default's p99 still below a second (bench/surge,
	// docs/performance.md). Where connections bind, the threads are
	// shared out among one worker a core instead: more processes would
	// only split the same threads and cost memory.
	afford := func(fixed, fixedConns int) int {
		mem, conns := sz.sidekiqProcs-fixed, cb.sidekiq-fixedConns
		perCore := p.perCore
		if perCore == 0 {
			perCore = 1
		}
		w := min(mem, p.Machine.CPUs*perCore, conns/minWorkerThreads)
		if p.perCore == 0 {
			w = max(w, min(mem, p.Machine.CPUs*workersPerCore, conns/sz.threadCap))
		}
		return max(w, 0)
	}
	// Before Sidekiq 6.1 (Mastodon 3.1.5) repeated -q is shuffled, not a
	// strict order: orderings would all be the same random mix, so auto
	// uses weights there. An unknown version keeps them, and the plan says
	// what they are on an old release.
	// The permuted workers: as many as afford() gives beside the small
	// processes, each led by default (Orderings says why).
	permutedWorkers := func() int {
		return afford(len(smalls), len(smalls)*smallConcurrency)
	}
	oldOrder := !v.Unknown && !StrictOrder(v)
	if !StrictOrder(v) && v.Unknown && (strategy == Auto || strategy == Permuted) {
		p.Notes = append(p.Notes, "the -q orderings are a strict priority order from Mastodon 3.1.5 (Sidekiq 6.1); on an older release Sidekiq shuffles them, and every queue is still listened on")
	}
	if oldOrder && strategy == Permuted {
		p.Warnings = append(p.Warnings, fmt.Sprintf("Mastodon %s runs Sidekiq %d, which shuffles repeated -q flags: the permuted orderings are not strict here; --strategy weighted gives each queue its share", v, SidekiqMajor(v)))
	}
	switch strategy {
	case Auto:
		if w := permutedWorkers(); w >= 2 && !oldOrder {
			p.Strategy = Permuted
			p.Why = fmt.Sprintf("%d sidekiq processes fit this machine: %d workers%s, each on default first, since a surge's statuses fan out to default, then %s in turn, plus %s", w+len(smalls), w, p.perCoreWhy(w, sz.threadCap), strings.Join(orderingsBy(v, p.backlog())[0][1:], "/"), smallNames(smalls))
			return permutedLayoutBy(v, w, p.backlog()), nil
		}
		if w := afford(1, smallConcurrency); w >= 2 && !oldOrder {
			// Two workers fit beside one small process, not beside two:
			// they lead with default as permuted's do, and mailers share
			// the scheduler's process (bench/surge, s-2vcpu-4gb: default's
			// p99 0.26 s in a flood against 2.7 s with weights, which
			// share a worker's threads out by queue and leave default a
			// third of them).
			p.Strategy = Permuted
			p.Why = fmt.Sprintf("%d sidekiq processes fit this machine: %d workers%s, each on default first, since a surge's statuses fan out to default, then %s in turn, and one small process for scheduler and mailers", w+1, w, p.perCoreWhy(w, sz.threadCap), strings.Join(orderingsBy(v, p.backlog())[0][1:], "/"))
			return permutedSmallLayout(v, w, p.backlog()), nil
		}
		if w := afford(1, smallConcurrency); w >= 1 {
			p.Strategy = Weighted
			p.Why = fmt.Sprintf("%d sidekiq processes fit this machine: too few for one per ordering, so %d weighted worker(s) and one small scheduler/mailers process", w+1, w)
			return weightedUp(weightedLayout(v, w), p.backlog()), nil
		}
		p.Strategy = Weighted
		p.Why = "one sidekiq process is all this machine affords: it listens on every queue with Mastodon's weights"
		return weightedLayout(v, 0), nil
	case PerQueue:
		ps := perQueueLayout(v)
		if len(ps) > sz.sidekiqProcs {
			return nil, fmt.Errorf("per-queue needs %d sidekiq processes but this machine's memory fits %d (about %s each, estimated): use --strategy auto, or a bigger machine", len(ps), sz.sidekiqProcs, FormatBytes(p.Estimates.SidekiqProcess))
		}
		p.Strategy = PerQueue
		return ps, nil
	case Permuted:
		w := permutedWorkers()
		if w < 1 {
			return nil, fmt.Errorf("permuted needs at least %d sidekiq processes but this machine fits %d: use --strategy weighted or auto", len(smalls)+1, sz.sidekiqProcs)
		}
		p.Strategy = Permuted
		if w == 1 {
			// One worker listens on every hot queue: the first full
			// ordering, default leading.
			return legacyPermutedLayout(v, 1), nil
		}
		return permutedLayoutBy(v, w, p.backlog()), nil
	case Weighted:
		p.Strategy = Weighted
		return weightedUp(weightedLayout(v, afford(1, smallConcurrency)), p.backlog()), nil
	case HandSplit:
		ps := p.correct(existing)
		smalls := 0
		for _, pr := range ps {
			if pr.Small {
				smalls += pr.processes()
			}
		}
		if afford(smalls, smalls*smallConcurrency) < 2 {
			// Fewer than two workers fit beside the small processes:
			// no split keeps its shape here, and auto's small-server
			// layout is what every file, split or not, comes to.
			p.Notes = append(p.Notes, fmt.Sprintf("the file's own split (%d sidekiq processes) does not fit this machine with two workers: replaced by the small-server layout", totalProcesses(ps)))
			return p.layout(Auto, existing, sz, cb)
		}
		p.Strategy = HandSplit
		if legacyPermuted(existing, v) {
			p.Notes = append(p.Notes, "default leads only some of these workers: in a federation surge its fan-out (one job per local follower) needs the threads of every worker (bench/surge, docs/performance.md); --strategy permuted leads every worker with default")
		}
		return p.fit(ps, afford), nil
	}
	return nil, fmt.Errorf("unknown strategy %q", strategy)
}

// perCoreWhy says why there are more workers than CPUs, when there are.
func (p *planning) perCoreWhy(workers, threads int) string {
	if workers <= p.Machine.CPUs {
		return ""
	}
	return fmt.Sprintf(" (more than one a CPU, each at %d threads: a surge's jobs mostly wait on other servers)", threads)
}

func smallNames(ps []Process) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	return strings.Join(n, " and ")
}

// correct keeps an admin's own split and fixes what would break it: a
// second scheduler listener is removed, a queue nobody listens on gets a
// service of its own.
func (p *planning) correct(existing []existingProcess) []Process {
	v := p.Version
	var ps []Process
	for _, e := range existing {
		qs := append([]Queue(nil), e.Queues...)
		if len(qs) == 0 {
			// No -q: config/sidekiq.yml's queues, every one of them.
			qs = append(qs, QueuesFor(v)...)
		}
		ps = append(ps, Process{Name: e.Service, Queues: qs, Replicas: e.Replicas})
	}
	if HasScheduler(v) {
		keep := -1
		for i, pr := range ps { // a dedicated scheduler service wins
			if len(pr.Queues) == 1 && pr.Queues[0].Name == "scheduler" {
				keep = i
				break
			}
		}
		for i, pr := range ps { // then one that drains it first
			if keep < 0 && len(pr.Queues) > 0 && pr.Queues[0].Name == "scheduler" {
				keep = i
			}
		}
		for i, pr := range ps {
			if keep < 0 && hasQueue(pr.Queues, "scheduler") {
				keep = i
			}
		}
		for i := range ps {
			if i != keep && hasQueue(ps[i].Queues, "scheduler") {
				ps[i].Queues = dropQueue(ps[i].Queues, "scheduler")
				p.Notes = append(p.Notes, fmt.Sprintf("%s: removed queue scheduler, which %s already listens on (two schedulers enqueue every cron job twice)", ps[i].Name, ps[keep].Name))
			}
		}
		// Replicas of the one listener are as many schedulers: it
		// becomes one process, or scheduler moves to a service of its own.
		if keep >= 0 && ps[keep].processes() > 1 {
			k := &ps[keep]
			if len(k.Queues) == 1 {
				p.Notes = append(p.Notes, fmt.Sprintf("%s: %d replicas listened on scheduler, %d schedulers: now one", k.Name, k.processes(), k.processes()))
				k.Replicas = 1
			} else {
				k.Queues = dropQueue(k.Queues, "scheduler")
				name := uniqueName(processName([]string{"scheduler"}), ps)
				p.Notes = append(p.Notes, fmt.Sprintf("%s: its %d replicas listened on scheduler, %d schedulers: scheduler moves to %s, one process", k.Name, k.processes(), k.processes(), name))
				ps = append(ps, Process{Name: name, Queues: []Queue{{Name: "scheduler"}}})
			}
		}
	}
	var kept []Process
	for _, pr := range ps {
		if len(pr.Queues) == 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: removed, it listened on no queue once the duplicate scheduler was dropped", pr.Name))
			continue
		}
		kept = append(kept, pr)
	}
	ps = kept
	for _, q := range QueuesFor(v) {
		listened := false
		for _, pr := range ps {
			listened = listened || hasQueue(pr.Queues, q.Name)
		}
		if !listened && q.Name == "fasp" {
			// Behind an experimental flag: never a process of its own,
			// a listener on the mailers process (else the last one).
			at := len(ps) - 1
			for i, pr := range ps {
				if hasQueue(pr.Queues, "mailers") {
					at = i
					break
				}
			}
			ps[at].Queues = append(ps[at].Queues, queueLike(ps[at].Queues, Queue{Name: "fasp"}))
			p.Notes = append(p.Notes, fmt.Sprintf("%s: now also listens on fasp, which nothing listened on (its jobs run only behind an experimental flag, so no process of its own)", ps[at].Name))
			continue
		}
		if !listened {
			ps = append(ps, Process{Name: processName([]string{q.Name}), Queues: []Queue{{Name: q.Name}}})
			p.Notes = append(p.Notes, fmt.Sprintf("%s: added, nothing listened on queue %s and its jobs would stall forever", processName([]string{q.Name}), q.Name))
		}
	}
	for i := range ps {
		small := true
		for _, q := range ps[i].Queues {
			small = small && mastodon.LowVolume[q.Name]
		}
		ps[i].Small = small
	}
	return ps
}

func hasQueue(qs []Queue, name string) bool {
	for _, q := range qs {
		if q.Name == name {
			return true
		}
	}
	return false
}

func dropQueue(qs []Queue, name string) []Queue {
	var out []Queue
	for _, q := range qs {
		if q.Name != name {
			out = append(out, q)
		}
	}
	return out
}

// assignThreads gives every process its -c: small ones 5, workers an equal
// share of what is left, at most the machine's thread cap. When the budget
// is too tight for that, everyone gets an equal share.
func assignThreads(ps []Process, budget, threadCap int) error {
	var small, workers int // processes: a replica is one
	for _, p := range ps {
		if p.Small {
			small += p.processes()
		} else {
			workers += p.processes()
		}
	}
	if budget < small+workers {
		return fmt.Errorf("%d connections cannot serve %d sidekiq processes", budget, small+workers)
	}
	smallC := smallConcurrency
	workerC := 0
	if workers > 0 {
		workerC = (budget - small*smallC) / workers
	}
	if workers > 0 && workerC < smallC || workers == 0 && budget < small*smallC {
		smallC = budget / (small + workers)
		workerC = smallC
	}
	workerC = min(workerC, threadCap)
	smallC = min(smallC, threadCap)
	for i := range ps {
		if ps[i].Small {
			ps[i].Concurrency = smallC
		} else {
			ps[i].Concurrency = workerC
		}
	}
	return nil
}

// assignConnections sizes every pool and picks max_connections.
func (p *planning) assignConnections(in Input, sz sizing, cb connectionBudget, web, streaming *Service) error {
	if err := assignThreads(p.Sidekiq, cb.sidekiq, sz.threadCap); err != nil {
		return fmt.Errorf("%v: raise --max-connections", err)
	}
	if web != nil {
		// Replicas share the planned Puma processes between them.
		replicas := max(web.Replicas, 1)
		procs := max(1, sz.webProcs/replicas)
		wc := procs
		if wc == 1 {
			wc = 0 // single mode: no cluster master beside the one worker
		}
		p.Web = &WebPlan{Service: web.Name, Processes: procs, WebConcurrency: wc, Threads: webThreads, Replicas: replicas}
	}
	if streaming != nil {
		p.Streaming = &StreamingPlan{
			Service:   streaming.Name,
			Processes: sz.streamProcs,
			Pool:      cb.streamPool,
			// An unknown version gets both: each is harmless where it
			// is not read, and together they hold the budget under
			// either streaming model.
			SetsPool:    p.Version.Unknown || p.Version.AtLeast(4, 1),
			SetsCluster: !p.Version.AtLeast(4, 2),
		}
		if !p.Streaming.SetsPool || p.Version.Unknown && !p.Version.AtLeast(4, 1) {
			p.Streaming.Pool = 10 // fixed in the streaming server before 4.1
		}
	}
	total := p.connectionsInUse() + in.ReservedConnections
	if p.throughBouncer() {
		if p.bouncer.generated {
			// A tenth more clients than the pools, rounded up to 50.
			p.bouncer.maxClientConn = (total*10/9 + 50) / 50 * 50
		}
		// What Postgres sees is PgBouncer's server pool plus the pools
		// that bypass it.
		total = p.bouncer.poolSize + p.bouncer.reservePool + p.directConnections()
	}
	maxConns := in.MaxConnections
	if maxConns == 0 && !p.hasDB {
		maxConns = postgresDefaultConnections
	}
	if maxConns == 0 {
		need := max((total*10+8)/9, total+looseConnections)
		maxConns = max(100, (need+9)/10*10)
		if maxConns > maxPlannedConnections && total <= usable(maxPlannedConnections) {
			maxConns = maxPlannedConnections
		}
	}
	p.Postgres = &PostgresPlan{MaxConnections: maxConns}
	return nil
}

func (p *planning) connectionsInUse() int {
	f := p.RailsPools
	total := 0
	if p.Web != nil {
		total += p.Web.Replicas * p.Web.Processes * p.Web.Threads * f
	}
	if p.Streaming != nil {
		total += p.Streaming.Processes * p.Streaming.Pool
	}
	for _, s := range p.Sidekiq {
		total += s.Concurrency * s.processes() * f
	}
	return total
}
